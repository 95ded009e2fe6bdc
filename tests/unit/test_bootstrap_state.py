"""Pure logic of bootstrap's state_file: when the saved result may stand in for a Rails run, and what is kept."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.selfhost.chatwoot.plugins.module_utils import _bootstrap_state as bs

SCRIPT = "puts 1"
PARAMS = {"super_admin": {"email": "ada@example.com", "password": "Sup3r-Secret!"}, "accounts": ["Support"]}
RESULT = {
    "changes": ['create account "Support"'],
    "super_admin": {"id": 1, "email": "ada@example.com", "created": True},
    "accounts": {"Support": 1},
    "inboxes": [{"account": "Support", "name": "Website", "id": 1, "website_token": "tok", "created": True}],
    "installation_configs": ["INSTALLATION_NAME"],
    "onboarding_cleared": True,
    "rerun_reason": "no state from an earlier run",
    "diff": {"before": "", "after": ""},
}


def tables(**overrides) -> list:
    digests = {table: f"d-{table}" for table in bs.OBSERVED_TABLES}
    digests.update(overrides)
    return [digests[table] for table in bs.OBSERVED_TABLES]


def saved_state(salt="s1", image="sha256:aaa", observation=None):
    current = bs.fingerprint(SCRIPT, PARAMS, image, salt)
    seen = observation or bs.observation(tables(), False)
    return bs.parse_state(bs.state_text(salt, current, seen, RESULT, ["a warning"])), current, seen


def test_the_same_input_image_and_rows_reuse_the_result():
    saved, current, seen = saved_state()
    assert bs.reuse_problem(saved, current, seen) is None
    values, warnings = bs.saved_result(saved)
    assert warnings == ["a warning"]
    assert values["changes"] == [] and values["installation_configs"] == [] and values["onboarding_cleared"] is False
    assert values["super_admin"] == {"id": 1, "email": "ada@example.com", "created": False}
    assert values["inboxes"] == [dict(RESULT["inboxes"][0], created=False)]
    assert values["accounts"] == {"Support": 1}
    assert "rerun_reason" not in values and "diff" not in values


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"params": dict(PARAMS, accounts=["Support", "Sales"])}, "the input (or the bootstrap script) changed"),
        (
            {"params": dict(PARAMS, super_admin=dict(PARAMS["super_admin"], password="Other-S3cret!"))},
            "the input (or the bootstrap script) changed",
        ),
        ({"script": "puts 2"}, "the input (or the bootstrap script) changed"),
        ({"image": "sha256:bbb"}, "the rails container runs another image"),
        ({"image": None}, "the rails container's image could not be read"),
        ({"tables": {"channel_web_widgets": "x"}}, "rows changed since the last run in channel_web_widgets"),
        ({"tables": {"users": "x", "accounts": "y"}}, "rows changed since the last run in users, accounts"),
        ({"flag": True}, "the onboarding flag changed in Redis"),
        ({"unobservable": True}, "the database or Redis could not be read without Rails"),
    ],
)
def test_any_difference_runs_the_script(change, reason):
    saved, _current, _seen = saved_state()
    current = bs.fingerprint(
        change.get("script", SCRIPT), change.get("params", PARAMS), change.get("image", "sha256:aaa"), saved["salt"]
    )
    seen = (
        None
        if change.get("unobservable")
        else bs.observation(tables(**change.get("tables", {})), change.get("flag", False))
    )
    assert bs.reuse_problem(saved, current, seen) == reason


def test_no_state_or_a_foreign_one_runs_the_script():
    current = bs.fingerprint(SCRIPT, PARAMS, "sha256:aaa", "s1")
    seen = bs.observation(tables(), False)
    assert bs.reuse_problem(None, current, seen) == "no state from an earlier run"
    for text in ("", "not json", "[]", '{"version": 1}', json.dumps({"version": 2})):
        assert bs.parse_state(text) is None, text


def test_the_password_never_reaches_the_state_and_the_digest_is_salted():
    saved, current, _seen = saved_state()
    text = bs.state_text("s1", current, bs.observation(tables(), False), RESULT)
    assert "Sup3r-Secret!" not in text
    assert bs.fingerprint(SCRIPT, PARAMS, "i", "s1")["input"] != bs.fingerprint(SCRIPT, PARAMS, "i", "s2")["input"]
    assert bs.fingerprint(SCRIPT, PARAMS, "i", "s1") == bs.fingerprint(SCRIPT, PARAMS, "i", "s1")
    assert len(bs.new_salt()) == 32 and bs.new_salt() != bs.new_salt()
    assert saved["salt"] == "s1"


def test_observation_needs_one_digest_per_table():
    with pytest.raises(ValueError, match="expected 6 digests"):
        bs.observation(["a"], False)


def test_the_query_reads_every_column_the_script_compares():
    sql = bs.OBSERVATION_SQL
    for column in (
        "encrypted_password",
        "confirmed_at",
        "type",
        "role",
        "channel_type",
        "website_url",
        "widget_color",
        "welcome_title",
        "welcome_tagline",
        "website_token",
        "serialized_value",
        "locked",
    ):
        assert column in sql, column
    # never the columns that change at every sign-in or request
    for column in ("sign_in_count", "current_sign_in_at", "active_at", "updated_at"):
        assert column not in sql, column


class FakeCursor:
    def __init__(self, row):
        self.row, self.executed = row, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, params):
        self.executed.append((sql, params))

    def fetchone(self):
        return self.row


class FakeConnection:
    def __init__(self, row):
        self.cursor_ = FakeCursor(row)
        self.rolled_back = self.closed = False

    def cursor(self):
        return self.cursor_

    def rollback(self):
        self.rolled_back = True

    def close(self):
        self.closed = True


@pytest.mark.parametrize(("flag_value", "flag"), [(None, False), (b"", False), (b"true", True)])
def test_observe_reads_read_only_and_closes(flag_value, flag):
    conn = FakeConnection(tuple(tables()))
    seen = bs.observe(lambda: conn, {bs.ONBOARDING_KEY: flag_value}.get, "ada@example.com")
    assert seen == bs.observation(tables(), flag)
    assert conn.cursor_.executed == [(bs.OBSERVATION_SQL, {"email": "ada@example.com"})]
    assert conn.rolled_back and conn.closed


def test_state_file_is_written_whole_and_0600(tmp_path):
    path = tmp_path / "bootstrap.json"
    _saved, current, seen = saved_state()
    bs.write_state_file(str(path), bs.state_text("s1", current, seen, RESULT))
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert bs.read_state_file(str(path)) == bs.parse_state(path.read_text())
    assert bs.read_state_file(str(tmp_path / "missing.json")) is None
    assert [p.name for p in tmp_path.iterdir()] == ["bootstrap.json"]
