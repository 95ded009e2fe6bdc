"""Database preparation, upgrades and failure modes of the Chatwoot double (fresh stacks per test).

Sources: contract "Database preparation and upgrades"; upstream lib/tasks (db:chatwoot_prepare) at v4.10.1.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests
from double_helpers import at_least, get, redis_client, sql
from support.lab import LAB_IMAGES, chatwoot_release_images, container_logs
from support.stack import RAILS_COMMAND, RAILS_ENTRYPOINT, start_chatwoot_stack

pytestmark = pytest.mark.lab

VECTOR_MESSAGE = "Failed to enable 'vector' extension. Read more at https://chwt.app/v4/migration"
CAPTAIN_MIGRATION = "20250104200055"
BROKEN_MIGRATION = "20251021000000"
RELEASES = list(chatwoot_release_images())


@pytest.fixture
def start_chatwoot(containers):
    def start(image: str = "oldest", **kwargs):
        return start_chatwoot_stack(containers, image, **kwargs)

    return start


def schema_dump(stack) -> str:
    code, out = stack.postgres.container.exec_run(
        ["pg_dump", "--schema-only", "-h", "127.0.0.1", "-U", "postgres", stack.postgres.database],
        environment={"PGPASSWORD": stack.postgres.password},
    )
    assert code == 0, out.decode(errors="replace")
    # pg_dump 17.6+ wraps its output in \restrict/\unrestrict lines with a random key per run.
    return "\n".join(line for line in out.decode().splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


@pytest.mark.parametrize("release", ["oldest", "newest"])
def test_prepare_fresh_database_then_idempotent(start_chatwoot, release):
    """db:chatwoot_prepare: schema + seed on an empty database (no user, the onboarding flag, the configs,
    pgvector's extension and columns), then only migrations; an operator's value survives, a missing key
    comes back, a prepared database is not re-seeded (contract)."""
    s = start_chatwoot(release, services=False)
    r = redis_client(s)
    assert r.get("alfred:CHATWOOT_INSTALLATION_ONBOARDING") == "true"
    assert sql(s, "SELECT count(*) FROM users") == [(0,)], "the production seed creates no user"
    names = {row[0] for row in sql(s, "SELECT name FROM installation_configs")}
    assert {"INSTALLATION_NAME", "BRAND_NAME", "ENABLE_ACCOUNT_SIGNUP", "MAXIMUM_FILE_UPLOAD_SIZE"} <= names
    extensions = {row[0] for row in sql(s, "SELECT extname FROM pg_extension")}
    assert {"vector", "pg_trgm", "pgcrypto", "pg_stat_statements", "plpgsql"} <= extensions
    assert sql(
        s,
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'article_embeddings'::regclass AND attname = 'embedding'",
    ) == [("vector(1536)",)]
    first_dump = schema_dump(s)
    first_versions = sql(s, "SELECT version FROM schema_migrations ORDER BY version")
    assert (CAPTAIN_MIGRATION,) in first_versions

    s.runner(
        "c = InstallationConfig.find_by!(name: 'INSTALLATION_NAME'); c.value = 'Kept'; c.save!;"
        "InstallationConfig.find_by!(name: 'BRAND_NAME').destroy!"
    )
    r.delete("alfred:CHATWOOT_INSTALLATION_ONBOARDING")
    second = s.prepare()
    assert second.exit_code == 0, second.output[-3000:]
    assert schema_dump(s) == first_dump
    assert sql(s, "SELECT version FROM schema_migrations ORDER BY version") == first_versions
    rows = dict(sql(s, "SELECT name, serialized_value #>> '{}' FROM installation_configs"))
    assert "value: Kept" in rows["INSTALLATION_NAME"] and "value: Chatwoot" in rows["BRAND_NAME"]
    assert r.get("alfred:CHATWOOT_INSTALLATION_ONBOARDING") is None


def test_prepare_creates_a_missing_database(start_chatwoot):
    s = start_chatwoot(services=False, prepare=False)
    result = s.prepare(env={**s.env, "POSTGRES_DATABASE": "chatwoot_created_by_prepare"})
    assert result.exit_code == 0, result.output[-3000:]
    assert sql(
        s,
        "SELECT count(*) FROM schema_migrations WHERE version = %s",
        (CAPTAIN_MIGRATION,),
        database="chatwoot_created_by_prepare",
    ) == [(1,)]


def test_prepare_without_pgvector_fails_with_chatwoots_message(start_chatwoot):
    s = start_chatwoot(pgvector=False, prepare=False, services=False)
    for _attempt in range(2):  # and it keeps failing: nothing half-done makes a second run pass
        result = s.prepare()
        assert result.exit_code != 0
        assert VECTOR_MESSAGE in result.output, result.output[-3000:]
    assert sql(s, "SELECT to_regclass('article_embeddings')") == [(None,)]


def test_api_reports_failing_services(start_chatwoot):
    """GET /api really contacts Redis (queue_services) and Postgres (data_services) (contract, Health)."""
    s = start_chatwoot(services=False)
    rails, base_url = s.start_rails()
    s.redis.container.stop(timeout=5)
    body = get(base_url, "/api").json()
    assert (body["queue_services"], body["data_services"]) == ("failing", "ok")
    s.postgres.container.stop(timeout=10)
    body = get(base_url, "/api").json()
    assert (body["queue_services"], body["data_services"]) == ("failing", "failing")
    rails.reload()
    assert rails.status == "running"


def test_upgrade_through_every_release(start_chatwoot):
    """Changing the image and running db:chatwoot_prepare applies that release's migrations and keeps the
    data (contract, upgrades). From v4.16.0 rails refuses to boot until the database has
    accounts.feature_flags_ext_1 (README: the double is stricter than upstream here), so the upgrade order
    must be: prepare with the new image, then start it."""
    s = start_chatwoot(RELEASES[0])
    s.runner("Account.create!(name: 'Before upgrade')")
    markers = []
    for tag in RELEASES[1:]:
        if tag == "v4.16.2":
            early = s.factory.run(
                LAB_IMAGES["LAB_CHATWOOT_V4_16_2"],
                f"{s.project}-early",
                entrypoint=RAILS_ENTRYPOINT,
                command=RAILS_COMMAND,
                environment=s.env,
            )
            result = early.wait(timeout=120)
            assert result["StatusCode"] != 0
            assert "needs accounts.feature_flags_ext_1" in container_logs(early)
        upgraded = s.prepare(image=tag)
        assert upgraded.exit_code == 0, f"{tag}:\n{upgraded.output[-3000:]}"
        markers += [m for m in ("4.11.0", "4.12.0", "4.14.0", "4.16.0") if at_least(tag, m)]
        assert [row[0] for row in sql(s, "SELECT version FROM lab_upgrade_markers ORDER BY version")] == sorted(
            set(markers)
        )
    assert sql(s, "SELECT name FROM accounts") == [("Before upgrade",)]
    _container, url = s.start_rails(image="newest", service="rails-newest")
    assert requests.get(f"{url}/api", timeout=30).json()["version"] == RELEASES[-1].lstrip("v")


def test_broken_release_fails_part_way(start_chatwoot):
    """The lab-only broken release: its migration changes the database, then fails outside a transaction,
    so the database is left between versions (what a rollback must restore from a backup)."""
    s = start_chatwoot(services=False)
    s.runner("Account.create!(name: 'Before upgrade')")
    broken = s.prepare(image="broken")
    assert broken.exit_code != 0
    assert "LabBrokenMigration failed part-way" in broken.output, broken.output[-3000:]
    assert sql(s, "SELECT count(*) FROM schema_migrations WHERE version = %s", (BROKEN_MIGRATION,)) == [(0,)]
    assert sql(s, "SELECT lab_broken_partial FROM accounts") == [(True,)]


def test_database_yml_is_as_fragile_as_upstreams(start_chatwoot):
    """Upstream's config/database.yml (v4.10.1 and v4.16.2) puts POSTGRES_PASSWORD inside a double-quoted YAML
    scalar, so a password holding `"` or `\\` cannot be passed that way; percent-encoded in DATABASE_URL (which
    Rails merges over database.yml and which wins) it works. The collection relies on the second form."""
    s = start_chatwoot("newest", services=False)
    tricky = 'pg "q" \\b #1 $x /@:'
    sql(s, "ALTER ROLE postgres PASSWORD '" + tricky.replace("'", "''") + "'")
    probe = [
        "bundle",
        "exec",
        "rails",
        "runner",
        "puts \"DB=#{ActiveRecord::Base.connection.select_value('SELECT 1')}\"",
    ]
    plain = s.run_once(probe, env={**s.env, "POSTGRES_PASSWORD": tricky})
    assert plain.exit_code != 0, plain.output[-2000:]
    assert "DB=1" not in plain.output
    url = f"postgres://postgres:{quote(tricky, safe='')}@{s.postgres.network_alias}:5432/{s.env['POSTGRES_DATABASE']}"
    encoded = s.run_once(
        probe, env={**{k: v for k, v in s.env.items() if k != "POSTGRES_PASSWORD"}, "DATABASE_URL": url}
    )
    assert encoded.exit_code == 0, encoded.output[-2000:]
    assert "DB=1" in encoded.output


def test_api_reads_a_wrong_redis_password_as_failing(start_chatwoot):
    """Upstream's ApiController#index reads "failing" only on Redis::CannotConnectError (docs/compatibility.md
    §2g) and lets other Redis errors through. With redis-rb 5 (upstream 5.0.6, Debian 5.3.0) a WRONG password
    fails the connection handshake and is raised as a CannotConnectError, so /api answers 200 with
    queue_services "failing" — checked here with the real library, as the double uses it."""
    s = start_chatwoot(services=False)
    wrong = {**s.env, "REDIS_URL": f"redis://:wrong-password@{s.redis.network_alias}:6379"}
    wrong.pop("REDIS_PASSWORD", None)
    _rails, wrong_url = s.start_rails(env=wrong, service="rails-wrong")
    response = requests.get(f"{wrong_url}/api", headers={"X-Forwarded-Proto": "https"}, timeout=30)
    assert (response.status_code, response.json()["queue_services"]) == (200, "failing")
