"""chatwoot_secrets: which value each secret takes, and which server passwords a run has to change."""

from __future__ import annotations

import string

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.selfhost.chatwoot.plugins.filter.secrets import chatwoot_secrets

SERVERS = ["POSTGRES_PASSWORD", "REDIS_PASSWORD"]
UNSET = {"SECRET_KEY_BASE": "", "POSTGRES_PASSWORD": "", "REDIS_PASSWORD": ""}
KEPT = {"SECRET_KEY_BASE": "kept-skb", "POSTGRES_PASSWORD": "kept-pg", "REDIS_PASSWORD": "kept-rd"}


def choose(kept, given, **options):
    return chatwoot_secrets(kept, given, servers=SERVERS, **options)


def test_a_first_run_generates_every_secret_at_its_length():
    out = choose({}, UNSET, lengths={"SECRET_KEY_BASE": 128})
    assert len(out["secrets"]["SECRET_KEY_BASE"]) == 128
    assert len(out["secrets"]["POSTGRES_PASSWORD"]) == 32
    assert set("".join(out["secrets"].values())) <= set(string.ascii_letters + string.digits)
    assert out["secrets"]["POSTGRES_PASSWORD"] != out["secrets"]["REDIS_PASSWORD"]
    assert out["previous"] == {}, "nothing runs yet: no server has a password to change"


def test_the_kept_values_stay():
    assert choose(KEPT, UNSET) == {"secrets": KEPT, "previous": {}}


def test_a_vault_value_wins_and_its_server_change_is_reported():
    out = choose(KEPT, {**UNSET, "POSTGRES_PASSWORD": "from-vault"})
    assert out["secrets"]["POSTGRES_PASSWORD"] == "from-vault"
    assert out["previous"] == {"POSTGRES_PASSWORD": "kept-pg"}


def test_a_vault_value_equal_to_the_kept_one_changes_nothing():
    assert choose(KEPT, {**UNSET, "REDIS_PASSWORD": "kept-rd"})["previous"] == {}


def test_a_changed_app_key_is_not_a_server_change():
    out = choose(KEPT, {**UNSET, "SECRET_KEY_BASE": "new-skb"})
    assert out["secrets"]["SECRET_KEY_BASE"] == "new-skb"
    assert out["previous"] == {}


def test_rotation_generates_new_values_and_reports_the_old_ones():
    out = choose(KEPT, UNSET, rotate=SERVERS)
    for name in SERVERS:
        assert out["secrets"][name] not in ("", KEPT[name])
        assert len(out["secrets"][name]) == 32
    assert out["secrets"]["SECRET_KEY_BASE"] == "kept-skb"
    assert out["previous"] == {"POSTGRES_PASSWORD": "kept-pg", "REDIS_PASSWORD": "kept-rd"}


def test_rotating_a_vault_value_is_refused_with_the_fix():
    with pytest.raises(AnsibleFilterError, match=r"REDIS_PASSWORD.*Change it in the vault and re-run site\.yml"):
        choose(KEPT, {**UNSET, "REDIS_PASSWORD": "from-vault"}, rotate=SERVERS)


def test_rotating_an_unknown_name_is_refused():
    with pytest.raises(AnsibleFilterError, match="no such secret to rotate: NOPE"):
        choose(KEPT, UNSET, rotate=["NOPE"])


def test_an_unfinished_change_stays_pending_with_the_password_the_server_had():
    """secrets.json already holds the new value; _previous says the server may still have the old one."""
    kept = {**KEPT, "POSTGRES_PASSWORD": "new-pg", "_previous": {"POSTGRES_PASSWORD": "kept-pg"}}
    out = choose(kept, UNSET)
    assert out["secrets"]["POSTGRES_PASSWORD"] == "new-pg"
    assert out["previous"] == {"POSTGRES_PASSWORD": "kept-pg"}
    assert "_previous" not in out["secrets"]


def test_non_string_values_are_strings():
    out = choose({"POSTGRES_PASSWORD": 1234}, {**UNSET, "REDIS_PASSWORD": 5678})
    assert out["secrets"]["POSTGRES_PASSWORD"] == "1234"
    assert out["secrets"]["REDIS_PASSWORD"] == "5678"


def test_bad_input_is_refused():
    with pytest.raises(AnsibleFilterError, match="dictionaries"):
        chatwoot_secrets("not a dict", UNSET)
