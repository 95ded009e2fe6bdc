"""selfhost.chatwoot.bootstrap through Ansible against the Chatwoot double (a real Rails app in containers).

State is checked independently of the module: counts and tokens with psql in the stack's postgres container,
the onboarding flag with redis-cli in its redis container, passwords with a plain `rails runner`.
"""

from __future__ import annotations

import time

import docker
import pytest
import requests
from support.playbook_runner import run_module

from ansible_collections.selfhost.chatwoot.plugins.module_utils._releases import SIGNUP_BOOLEAN_SINCE, parse_version

pytestmark = pytest.mark.lab

# The main flows run against the oldest and the newest supported release (issue #9: the module suites cover
# both ends of the range; the double's own suite covers every release); the failure paths, which do not depend
# on the release, on the oldest only (each of these tests needs a pristine stack of its own).
BOTH_ENDS = pytest.mark.parametrize("chatwoot_image", ["oldest", "newest"], indirect=True)

PASSWORD = "Sup3r-Secret!"
ONBOARDING_KEY = "alfred:CHATWOOT_INSTALLATION_ONBOARDING"


def write_project(directory, stack) -> str:
    """A compose project directory as the app role deploys it: compose.yaml (with the project name) + .env."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "compose.yaml").write_text(f"name: {stack.project}\nservices:\n  rails:\n    image: {stack.image}\n")
    (directory / ".env").write_text("".join(f"{key}={value}\n" for key, value in stack.env.items()))
    return str(directory)


def sql(stack, query: str) -> str:
    pg = stack.postgres
    code, out = pg.container.exec_run(
        ["psql", "-h", "127.0.0.1", "-U", pg.user, "-d", pg.database, "-tAc", query],
        environment={"PGPASSWORD": pg.password},
    )
    assert code == 0, out.decode(errors="replace")
    return out.decode().strip()


def counts(stack) -> dict:
    return {
        table: int(sql(stack, f"SELECT count(*) FROM {table}"))
        for table in ("users", "accounts", "account_users", "inboxes", "channel_web_widgets")
    }


def installation_config(stack, name: str) -> str:
    output = stack.runner(f'puts "VALUE=" + InstallationConfig.find_by(name: "{name}").value.inspect')
    return next(line[6:] for line in output.splitlines() if line.startswith("VALUE="))


def onboarding_flag(stack) -> bool:
    redis = stack.redis
    code, out = redis.container.exec_run(
        ["redis-cli", "-a", redis.password, "--no-auth-warning", "EXISTS", ONBOARDING_KEY]
    )
    assert code == 0, out
    return out.decode().strip() == "1"


def password_matches(stack, email: str, password: str) -> bool:
    # The password goes in through the environment of the one-off container, not into the code.
    output = stack.runner(
        f'puts "MATCH=" + User.find_by(email: "{email}").valid_password?(ENV["CHECK_PASSWORD"]).to_s',
        env={**stack.env, "CHECK_PASSWORD": password},
    )
    return "MATCH=true" in output


def bootstrap_args(project_src, **overrides) -> dict:
    args = {
        "project_src": project_src,
        "super_admin": {"name": "Ada Admin", "email": "Ada@Example.com", "password": PASSWORD},
        "accounts": ["Example Support"],
        "inboxes": [{"account": "Example Support", "name": "Website", "website_url": "https://www.example.com"}],
        "installation_configs": {"INSTALLATION_NAME": "Example Support Desk", "ENABLE_ACCOUNT_SIGNUP": False},
    }
    args.update(overrides)
    return args


def ok(result: dict) -> dict:
    assert not result.get("failed"), result
    return result


@pytest.fixture
def project_src(tmp_path, chatwoot_stack):
    return write_project(tmp_path / "chatwoot", chatwoot_stack)


@BOTH_ENDS
def test_bootstrap_check_apply_idempotent(chatwoot_stack, project_src):
    stack = chatwoot_stack
    empty = counts(stack)
    assert empty["users"] == 0 and empty["accounts"] == 0
    assert onboarding_flag(stack), "db:chatwoot_prepare should have set the onboarding flag"
    args = bootstrap_args(project_src)

    # 1. check mode: reports what it would do, writes nothing (database and Redis).
    check = ok(run_module("bootstrap", args, check=True))
    assert check["changed"] is True
    assert any(change.startswith("create super admin ada@example.com") for change in check["changes"])
    assert any("create website inbox" in change for change in check["changes"])
    assert "INSTALLATION_NAME" in check["installation_configs"]
    assert any("onboarding flag" in change for change in check["changes"])
    assert check["super_admin"] == {"id": None, "email": "ada@example.com", "created": True}
    assert check["inboxes"][0]["website_token"] is None
    assert check["onboarding_cleared"] is False
    assert counts(stack) == empty
    assert onboarding_flag(stack)
    assert installation_config(stack, "INSTALLATION_NAME") == '"Chatwoot"'

    # 2. apply.
    apply = ok(run_module("bootstrap", args))
    assert apply["changed"] is True
    assert apply["changes"] == check["changes"]
    assert apply["super_admin"]["created"] is True and apply["super_admin"]["email"] == "ada@example.com"
    admin_id = apply["super_admin"]["id"]
    account_id = apply["accounts"]["Example Support"]
    inbox = apply["inboxes"][0]
    token = inbox["website_token"]
    assert token and inbox["created"] is True and inbox["name"] == "Website"
    assert apply["onboarding_cleared"] is True
    assert PASSWORD not in repr(apply)

    assert counts(stack) == {"users": 1, "accounts": 1, "account_users": 1, "inboxes": 1, "channel_web_widgets": 1}
    assert sql(stack, "SELECT id, type, email, name, confirmed_at IS NOT NULL FROM users") == (
        f"{admin_id}|SuperAdmin|ada@example.com|Ada Admin|t"
    )
    assert sql(stack, "SELECT account_id, user_id, role FROM account_users") == f"{account_id}|{admin_id}|1"
    assert sql(stack, "SELECT website_token, website_url, widget_color FROM channel_web_widgets") == (
        f"{token}|https://www.example.com|#1f93ff"
    )
    assert (
        sql(stack, "SELECT account_id, name, channel_type FROM inboxes") == f"{account_id}|Website|Channel::WebWidget"
    )
    assert not onboarding_flag(stack)
    assert installation_config(stack, "INSTALLATION_NAME") == '"Example Support Desk"'
    # the string, as the super admin UI stores it: a boolean false would leave sign-up open before v4.12
    assert installation_config(stack, "ENABLE_ACCOUNT_SIGNUP") == '"false"'
    assert password_matches(stack, "ada@example.com", PASSWORD)

    # 3. idempotent check, 4. idempotent apply: nothing to do, same ids and the same website_token.
    for check_mode in (True, False):
        again = ok(run_module("bootstrap", args, check=check_mode))
        assert again["changed"] is False, again["changes"]
        assert again["changes"] == [] and again["installation_configs"] == []
        assert again["super_admin"] == {"id": admin_id, "email": "ada@example.com", "created": False}
        assert again["accounts"] == {"Example Support": account_id}
        assert again["inboxes"] == [
            {
                "account": "Example Support",
                "name": "Website",
                "id": inbox["id"],
                "website_token": token,
                "created": False,
            }
        ]
    assert counts(stack) == {"users": 1, "accounts": 1, "account_users": 1, "inboxes": 1, "channel_web_widgets": 1}
    assert sql(stack, "SELECT website_token FROM channel_web_widgets") == token


@pytest.mark.parametrize("chatwoot_image", ["newest"], indirect=True)
def test_diff_names_what_changed_and_never_a_secret(chatwoot_stack, project_src):
    args = bootstrap_args(project_src)
    check = ok(run_module("bootstrap", args, check=True, diff=True))
    lines = check["diff"]["prepared"].splitlines()
    assert lines[0] == f"bootstrap would change {len(check['changes'])} things:"
    assert lines[1:] == [f"  ~ {change}" for change in check["changes"]]
    assert counts(chatwoot_stack)["users"] == 0  # check mode with diff still writes nothing

    ok(run_module("bootstrap", args))
    rotate = dict(args, super_admin={**args["super_admin"], "password": "An0ther-Secret!", "update_password": "always"})
    rotate["installation_configs"] = {"INSTALLATION_NAME": "Renamed Desk"}
    changed = ok(run_module("bootstrap", rotate, diff=True))
    text = changed["diff"]["prepared"]
    assert text.startswith("bootstrap changed 2 things:")
    assert "update super admin ada@example.com: password" in text and "INSTALLATION_NAME" in text
    assert "An0ther-Secret!" not in text and PASSWORD not in text and "Renamed Desk" not in text
    assert ok(run_module("bootstrap", rotate, diff=True))["diff"] == {"prepared": ""}


@BOTH_ENDS
def test_updates_password_accounts_inboxes_and_configs(chatwoot_stack, project_src):
    stack = chatwoot_stack
    ok(run_module("bootstrap", bootstrap_args(project_src)))

    # on_create (the default) leaves an existing password alone.
    other = "An0ther-Secret?"
    same = ok(
        run_module(
            "bootstrap",
            bootstrap_args(
                project_src, super_admin={"name": "Ada Admin", "email": "ada@example.com", "password": other}
            ),
        )
    )
    assert same["changed"] is False
    assert password_matches(stack, "ada@example.com", PASSWORD)

    # always: check mode reports it, apply sets it, the next run has nothing to do.
    rotate = bootstrap_args(
        project_src,
        super_admin={
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "password": other,
            "update_password": "always",
        },
    )
    check = ok(run_module("bootstrap", rotate, check=True))
    assert check["changes"] == ["update super admin ada@example.com: name, password"]
    assert password_matches(stack, "ada@example.com", PASSWORD)
    applied = ok(run_module("bootstrap", rotate))
    assert applied["changes"] == ["update super admin ada@example.com: name, password"]
    assert password_matches(stack, "ada@example.com", other)
    assert not password_matches(stack, "ada@example.com", PASSWORD)
    assert sql(stack, "SELECT name FROM users") == "Ada Lovelace"
    assert ok(run_module("bootstrap", rotate))["changed"] is False

    # A second account and inbox, a changed widget colour, a new config value.
    more = bootstrap_args(
        project_src,
        super_admin=rotate["super_admin"],
        accounts=["Example Support", "Example Sales"],
        inboxes=[
            {
                "account": "Example Support",
                "name": "Website",
                "website_url": "https://www.example.com",
                "widget_color": "#000000",
            },
            {"account": "Example Sales", "name": "Shop", "website_url": "https://shop.example.com"},
        ],
        installation_configs={"INSTALLATION_NAME": "Example Support Desk", "ENABLE_ACCOUNT_SIGNUP": True},
    )
    result = ok(run_module("bootstrap", more))
    assert sorted(result["changes"]) == sorted(
        [
            'create account "Example Sales"',
            'make ada@example.com an administrator of account "Example Sales"',
            'update website inbox "Website" in account "Example Support": widget_color',
            'create website inbox "Shop" in account "Example Sales"',
            "set installation config ENABLE_ACCOUNT_SIGNUP",
        ]
    )
    assert result["installation_configs"] == ["ENABLE_ACCOUNT_SIGNUP"]
    assert [inbox["created"] for inbox in result["inboxes"]] == [False, True]
    assert counts(stack) == {"users": 1, "accounts": 2, "account_users": 2, "inboxes": 2, "channel_web_widgets": 2}
    assert sql(stack, "SELECT widget_color FROM channel_web_widgets ORDER BY id LIMIT 1") == "#000000"
    assert installation_config(stack, "ENABLE_ACCOUNT_SIGNUP") == '"true"'
    assert ok(run_module("bootstrap", more))["changed"] is False


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"super_admin": {"name": "A", "email": "admin@localhost", "password": PASSWORD}}, "super_admin.email"),
        ({"super_admin": {"name": "A", "email": "not-an-email", "password": PASSWORD}}, "super_admin.email"),
        ({"super_admin": {"name": "A", "email": "a@example.com", "password": "weakpassword"}}, "password policy"),
        ({"super_admin": {"name": "A", "email": "a@example.com", "password": "Sh0rt"}}, "shorter than 6"),
        ({"accounts": []}, "at least one entry in accounts"),
        ({"inboxes": [{"account": "Example Support", "name": "W", "website_url": "example.com"}]}, "http(s) URL"),
    ],
)
def test_bad_input_fails_before_contacting_anything(tmp_path, overrides, message):
    # No stack at all: the rules are checked in Python first; a container lookup would fail differently.
    args = bootstrap_args(str(tmp_path / "no-such-project"), **overrides)
    result = run_module("bootstrap", args)
    assert result["failed"] is True
    assert message in result["msg"]
    assert "is not a directory" not in result["msg"]
    assert "weakpassword" not in result["msg"]


def test_bad_input_and_failures_change_nothing(chatwoot_stack, project_src):
    stack = chatwoot_stack
    before = counts(stack)

    weak = run_module(
        "bootstrap",
        bootstrap_args(project_src, super_admin={"name": "A", "email": "a@example.com", "password": "weakpassw0rd"}),
    )
    assert weak["failed"] is True and "password policy" in weak["msg"]

    invalid = run_module(
        "bootstrap",
        bootstrap_args(project_src, super_admin={"name": "A", "email": "a@exa_mple.com", "password": PASSWORD}),
    )
    assert invalid["failed"] is True and "not an e-mail address Chatwoot accepts" in invalid["msg"]

    missing = run_module("bootstrap", bootstrap_args(str(project_src) + "-missing"))
    assert missing["failed"] is True and "is not a directory" in missing["msg"]

    ghost = run_module("bootstrap", {**bootstrap_args(project_src), "container": "cw-no-such-rails"})
    assert ghost["failed"] is True and "no container named 'cw-no-such-rails'" in ghost["msg"]

    # Fails half-way in Ruby (the super admin and account come first): the transaction undoes everything.
    halfway = run_module(
        "bootstrap",
        bootstrap_args(
            project_src, inboxes=[{"account": "Nobody's Account", "name": "W", "website_url": "https://e.com"}]
        ),
    )
    assert halfway["failed"] is True
    assert 'there is no account "Nobody\'s Account"' in halfway["msg"]
    assert "changed nothing" in halfway["msg"]

    assert counts(stack) == before
    assert onboarding_flag(stack)


def test_only_the_first_super_admin_is_created(chatwoot_stack, project_src):
    stack = chatwoot_stack
    ok(run_module("bootstrap", bootstrap_args(project_src)))
    before = counts(stack)
    second = run_module(
        "bootstrap",
        bootstrap_args(
            project_src,
            super_admin={"name": "Bob", "email": "bob@example.com", "password": PASSWORD},
            accounts=["Another Account"],
        ),
    )
    assert second["failed"] is True
    assert "a super admin already exists (ada@example.com)" in second["msg"]
    assert counts(stack) == before


def test_without_super_admin_the_onboarding_flag_is_kept(chatwoot_stack, project_src):
    stack = chatwoot_stack
    result = ok(run_module("bootstrap", {"project_src": project_src, "accounts": ["Lonely"]}))
    assert result["changed"] is True and result["changes"] == ['create account "Lonely"']
    assert result["super_admin"] is None
    assert any("kept the onboarding flag" in warning for warning in result.get("warnings", []))
    assert onboarding_flag(stack)

    # Later, a super admin for that existing account: created on it (no duplicate account), flag cleared.
    later = ok(run_module("bootstrap", bootstrap_args(project_src, accounts=["Lonely"], inboxes=[])))
    assert later["changes"][0] == 'create super admin ada@example.com as administrator of the existing account "Lonely"'
    assert counts(stack)["accounts"] == 1
    assert sql(stack, "SELECT role FROM account_users") == "1"
    assert not onboarding_flag(stack)


def sign_up(stack) -> int:
    """An anonymous POST /api/v1/accounts, as the public sign-up form sends it; the HTTP status."""
    response = requests.post(
        f"{stack.base_url}/api/v1/accounts",
        json={
            "account_name": "Intruder Inc",
            "user_full_name": "Eve",
            "email": "eve@intruder.example.com",
            "password": "Intrud3r-Pass!",
        },
        headers={"X-Forwarded-Proto": "https"},
        timeout=30,
    )
    return response.status_code


def set_installation_config(stack, name: str, ruby_value: str) -> None:
    stack.runner(f'c = InstallationConfig.find_by(name: "{name}"); c.value = {ruby_value}; c.save!')


# The two releases either side of the change (#13745, v4.12): the double's own suite proves the sign-up rule of
# every release (test_double_releases), so the module's answer to it is checked where the rule flips.
@pytest.mark.parametrize("chatwoot_image", ["v4.11.2", "v4.12.1"], indirect=True)
def test_signup_is_closed_on_every_release(chatwoot_stack, tmp_path):
    """Chatwoot seeds ENABLE_ACCOUNT_SIGNUP as a boolean false, which leaves sign-up OPEN before v4.12; the
    module writes the string "false", which closes it on every release, and then has nothing more to do."""
    stack = chatwoot_stack
    open_before = parse_version(stack.image.rsplit(":", 1)[1]) < SIGNUP_BOOLEAN_SINCE
    project_src = write_project(tmp_path / "chatwoot", stack)
    assert installation_config(stack, "ENABLE_ACCOUNT_SIGNUP") == "false"  # the seed: a boolean
    assert (sign_up(stack) != 404) is open_before

    args = bootstrap_args(project_src, installation_configs={"ENABLE_ACCOUNT_SIGNUP": False})
    first = ok(run_module("bootstrap", args))
    assert "set installation config ENABLE_ACCOUNT_SIGNUP" in first["changes"]
    assert installation_config(stack, "ENABLE_ACCOUNT_SIGNUP") == '"false"'
    assert sign_up(stack) == 404
    again = ok(run_module("bootstrap", args))
    assert again["changed"] is False and again["installation_configs"] == []

    # Stored values with the same meaning as the wanted ones are never rewritten: the UI's string "false"
    # for false, "40" for 40 and 40 for "40".
    set_installation_config(stack, "MAXIMUM_FILE_UPLOAD_SIZE", '"40"')
    same = bootstrap_args(
        project_src, installation_configs={"ENABLE_ACCOUNT_SIGNUP": "false", "MAXIMUM_FILE_UPLOAD_SIZE": 40}
    )
    for check_mode in (True, False):
        result = ok(run_module("bootstrap", same, check=check_mode))
        assert result["changed"] is False and result["installation_configs"] == [], result["changes"]
    assert installation_config(stack, "MAXIMUM_FILE_UPLOAD_SIZE") == '"40"'
    set_installation_config(stack, "MAXIMUM_FILE_UPLOAD_SIZE", "40")
    text = bootstrap_args(project_src, installation_configs={"MAXIMUM_FILE_UPLOAD_SIZE": "40"})
    assert ok(run_module("bootstrap", text))["changed"] is False
    assert installation_config(stack, "MAXIMUM_FILE_UPLOAD_SIZE") == "40"
    assert sign_up(stack) == 404


def rails_execs(stack, since: int) -> list[str]:
    """The execs started in the rails container since `since` (Docker's own event log, not the module's word)."""
    client = docker.from_env()
    try:
        events = client.events(
            since=since,
            until=int(time.time()) + 1,
            decode=True,
            filters={"container": stack.rails.id, "event": "exec_start"},
        )
        return [event.get("Action", "") for event in events]
    finally:
        client.close()


@pytest.mark.parametrize("chatwoot_image", ["newest"], indirect=True)
def test_state_file_skips_rails_only_while_nothing_changed(chatwoot_stack, project_src, tmp_path):
    """With state_file, a run that finds the same input, image and rows answers without an exec in rails;
    a row edited behind its back or the onboarding flag set again makes the script run again."""
    stack = chatwoot_stack
    state_file = tmp_path / "bootstrap.json"
    args = bootstrap_args(project_src, state_file=str(state_file))

    first = ok(run_module("bootstrap", args))
    assert first["changed"] is True and first["rails_booted"] is True
    assert first["rerun_reason"] == "no state from an earlier run"
    assert state_file.stat().st_mode & 0o777 == 0o600
    assert PASSWORD not in state_file.read_text()
    token = first["inboxes"][0]["website_token"]

    # Nothing changed: answered from the state file, with the same records, and no exec in the rails container.
    for check_mode in (True, False):
        since = int(time.time())
        again = ok(run_module("bootstrap", args, check=check_mode))
        assert again["changed"] is False and again["rails_booted"] is False, again
        assert again["changes"] == [] and again["rerun_reason"] is None
        assert again["super_admin"] == {"id": first["super_admin"]["id"], "email": "ada@example.com", "created": False}
        assert again["accounts"] == first["accounts"]
        assert again["inboxes"] == [dict(first["inboxes"][0], created=False)]
        assert rails_execs(stack, since) == []

    # A widget edited behind the module's back (as in the UI): the script runs and puts the wanted colour back.
    sql(stack, "UPDATE channel_web_widgets SET widget_color = '#000000'")
    repaired = ok(run_module("bootstrap", args))
    assert repaired["rails_booted"] is True and repaired["changed"] is True
    assert repaired["rerun_reason"] == "rows changed since the last run in channel_web_widgets"
    assert sql(stack, "SELECT widget_color FROM channel_web_widgets") == "#1f93ff"
    assert ok(run_module("bootstrap", args))["rails_booted"] is False

    # The onboarding flag set again (a re-seeded database would): the script runs and clears it.
    stack.redis.container.exec_run(
        ["redis-cli", "-a", stack.redis.password, "--no-auth-warning", "SET", ONBOARDING_KEY, "true"]
    )
    cleared = ok(run_module("bootstrap", args))
    assert cleared["rails_booted"] is True and cleared["onboarding_cleared"] is True
    assert cleared["rerun_reason"] == "the onboarding flag changed in Redis"
    assert not onboarding_flag(stack)
    assert sql(stack, "SELECT website_token FROM channel_web_widgets") == token
    # (Another input, another image, a state file this code did not write: tests/unit/test_bootstrap_state.py.)
