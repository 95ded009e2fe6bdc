"""Pure logic of the pgvector module: version ordering, update-path decisions, connection settings."""

from __future__ import annotations

import pytest

from ansible_collections.selfhost.chatwoot.plugins.module_utils import _pgvector as pv

VERSIONS = ("0.5.1", "0.7.4", "0.8.0", "0.10.0")
# Synthetic update paths: upgrades only, and 0.5.1 cannot reach 0.10.0 directly (a gap in the scripts).
PATHS = frozenset(
    {("0.5.1", "0.7.4"), ("0.5.1", "0.8.0"), ("0.7.4", "0.8.0"), ("0.7.4", "0.10.0"), ("0.8.0", "0.10.0")}
)


def facts(installed=None, default="0.8.0", versions=VERSIONS, paths=PATHS, columns=()):
    return pv.ExtensionFacts(
        server_version="17.6",
        server_major=17,
        installed_version=installed,
        default_version=default,
        available_versions=list(versions),
        update_paths=set(paths),
        vector_columns=list(columns),
    )


def test_version_key_orders_numerically():
    assert sorted(["0.10.0", "0.9.1", "0.8.0", "0.8.0-rc1"], key=pv.version_key) == [
        "0.8.0",
        "0.8.0-rc1",
        "0.9.1",
        "0.10.0",
    ]
    assert pv.latest_version(facts()) == "0.10.0"


def test_present_creates_default_version_once():
    assert pv.plan(facts(), "present") == ["CREATE EXTENSION vector"]
    assert pv.plan(facts(installed="0.5.1"), "present") == []


def test_present_with_version():
    assert pv.plan(facts(), "present", "0.7.4") == ["CREATE EXTENSION vector VERSION '0.7.4'"]
    assert pv.plan(facts(installed="0.7.4"), "present", "0.7.4") == []
    assert pv.plan(facts(installed="0.7.4"), "present", "0.8.0") == ["ALTER EXTENSION vector UPDATE TO '0.8.0'"]


def test_update_needs_a_path():
    with pytest.raises(
        pv.PgvectorError, match=r"no update path .* from 0.5.1 to 0.10.0.*offers from 0.5.1: 0.7.4, 0.8.0"
    ):
        pv.plan(facts(installed="0.5.1"), "present", "0.10.0")


def test_downgrade_is_refused_with_the_reason():
    with pytest.raises(pv.PgvectorError, match="cannot be downgraded"):
        pv.plan(facts(installed="0.8.0"), "present", "0.7.4")


def test_unavailable_version_for_a_fresh_install():
    with pytest.raises(
        pv.PgvectorError, match=r"version 0.6.0 is not available .*available: 0.5.1, 0.7.4, 0.8.0, 0.10.0"
    ):
        pv.plan(facts(), "present", "0.6.0")


def test_latest():
    assert pv.plan(facts(installed="0.7.4"), "latest") == ["ALTER EXTENSION vector UPDATE TO '0.10.0'"]
    assert pv.plan(facts(installed="0.10.0"), "latest") == []
    assert pv.plan(facts(), "latest") == ["CREATE EXTENSION vector VERSION '0.10.0'"]
    assert pv.plan(facts(default="0.10.0"), "latest") == ["CREATE EXTENSION vector"]
    # Only one version shipped (Debian's postgresql-17-pgvector 0.8.0): nothing to update to.
    single = facts(installed="0.8.0", versions=["0.8.0"], paths=set())
    assert pv.plan(single, "latest") == []
    with pytest.raises(pv.PgvectorError, match="no update path"):
        pv.plan(facts(installed="0.5.1", paths={("0.5.1", "0.8.0")}), "latest")


def test_no_pgvector_names_the_same_major_image():
    bare = facts(default=None, versions=[], paths=set())
    for state, version in (("present", None), ("latest", None), ("present", "0.8.0")):
        with pytest.raises(pv.PgvectorError) as err:
            pv.plan(bare, state, version, where="db:5432/chatwoot as postgres")
        message = str(err.value)
        assert "PostgreSQL 17" in message and "pgvector/pgvector:pg17" in message
        assert "SAME major version" in message and "db:5432/chatwoot" in message
    assert pv.plan(bare, "absent") == []


def test_pgvector_under_another_name_is_named_with_the_fix():
    # Some managed services (chatwoot/chatwoot#13511) list the extension as "pgvector", not "vector".
    renamed = facts(default=None, versions=[], paths=set())
    renamed.other_names = [("pgvector", "0.8.0", "0.8.0")]
    for state, version in (("present", None), ("latest", None), ("present", "0.8.0")):
        with pytest.raises(pv.PgvectorError) as err:
            pv.plan(renamed, state, version, where="db.example.net:6432/chatwoot as cw")
        message = str(err.value)
        assert "'pgvector' (default version 0.8.0, installed 0.8.0)" in message
        assert "not as 'vector'" in message and "CREATE EXTENSION vector" in message
        assert "offer the extension as 'vector'" in message and "#13511" in message
        assert "pgvector/pgvector:pg17" in message and "db.example.net:6432/chatwoot" in message
    renamed.other_names = [("pgvector", "0.7.0", None)]
    with pytest.raises(pv.PgvectorError, match=r"'pgvector' \(default version 0.7.0, not installed\)"):
        pv.plan(renamed, "present")
    assert pv.plan(renamed, "absent") == []


def test_other_names_query_is_constant_sql():
    assert pv.OTHER_NAMES_SQL.endswith("WHERE name IN ('pgvector') ORDER BY name")


def test_absent_refuses_while_vector_columns_exist():
    cols = ["public.article_embeddings.embedding (vector(1536))"]
    with pytest.raises(pv.PgvectorError, match=r"1 column\(s\).*article_embeddings.*cascade: true"):
        pv.plan(facts(installed="0.8.0", columns=cols), "absent")
    assert pv.plan(facts(installed="0.8.0", columns=cols), "absent", cascade=True) == ["DROP EXTENSION vector CASCADE"]
    assert pv.plan(facts(installed="0.8.0"), "absent") == ["DROP EXTENSION vector"]
    assert pv.plan(facts(), "absent") == []


def test_version_argument_rules():
    with pytest.raises(pv.PgvectorError, match="only goes with state=present"):
        pv.plan(facts(), "latest", "0.8.0")
    with pytest.raises(pv.PgvectorError, match="not an extension version"):
        pv.plan(facts(), "present", "0.8.0'; DROP TABLE users; --")


def test_expected_installed_for_check_mode():
    f = facts(installed="0.7.4")
    assert pv.expected_installed(f, ["ALTER EXTENSION vector UPDATE TO '0.8.0'"]) == "0.8.0"
    assert pv.expected_installed(facts(), ["CREATE EXTENSION vector"]) == "0.8.0"
    assert pv.expected_installed(facts(), ["CREATE EXTENSION vector VERSION '0.7.4'"]) == "0.7.4"
    assert pv.expected_installed(f, ["DROP EXTENSION vector CASCADE"]) is None
    assert pv.expected_installed(f, []) == "0.7.4"


def test_settings_from_env_postgres_vars_and_defaults():
    s = pv.settings_from_env(
        {"POSTGRES_HOST": "postgres", "POSTGRES_USERNAME": "cw", "POSTGRES_PASSWORD": "pw", "POSTGRES_PORT": "5433"}
    )
    assert (s.host, s.port, s.user, s.password, s.dbname) == ("postgres", 5433, "cw", "pw", "chatwoot_production")
    with pytest.raises(pv.PgvectorError, match="POSTGRES_PORT"):
        pv.settings_from_env({"POSTGRES_PORT": "x"})


def test_database_url_wins():
    s = pv.settings_from_env(
        {"DATABASE_URL": "postgresql://u%40x:p%2Fw@db.internal:6432/cw?sslmode=require", "POSTGRES_HOST": "ignored"}
    )
    assert (s.host, s.port, s.user, s.password, s.dbname, s.sslmode) == (
        "db.internal",
        6432,
        "u@x",
        "p/w",
        "cw",
        "require",
    )
    with pytest.raises(pv.PgvectorError):
        pv.parse_database_url("mysql://x@y/z")


def test_explicit_options_override_and_defaults_fill():
    s = pv.merge_settings(
        pv.settings_from_env({"POSTGRES_HOST": "postgres", "POSTGRES_PASSWORD": "pw"}), host="10.0.0.2", password=None
    )
    assert (s.host, s.password, s.user, s.dbname) == ("10.0.0.2", "pw", "postgres", "chatwoot_production")
    empty = pv.merge_settings(None, dbname="chatwoot")
    assert (empty.host, empty.port, empty.user, empty.dbname) == ("localhost", 5432, "postgres", "chatwoot")
    assert "pw" not in s.describe()
