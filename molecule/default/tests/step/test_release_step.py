"""One step of the release matrix: after installing a release or upgrading to the next stepping stone.

Runs after every step (molecule.yml: `verify tests/step`) and in the full verifications.
"""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import pytest

testinfra_hosts = ["ansible://chatwoot"]

FINGERPRINT_SQL = Path(__file__).resolve().parents[2] / "files/fingerprint.sql"
SIGNUP_EMAIL = "stranger@signup.example.test"


def test_api_serves_the_pinned_release_with_live_services(lab):
    status, body = lab.https_get("/api")
    assert status == 200, body
    api = json.loads(body)
    assert api["version"] == lab.expected_version()
    assert (api["queue_services"], api["data_services"]) == ("ok", "ok")


def test_before_any_upgrade_the_oldest_release_runs(host, lab, lab_images):
    """The matrix starts at the oldest release: a pin left by an interrupted earlier run must not skip it (it
    did once: the first converge installed the newest release, and every upgrade step was a no-op)."""
    if host.file("/root/pre-upgrade-fingerprint.json").exists:
        pytest.skip("an upgrade step ran: tests/step's other checks verify the release it pinned")
    oldest = lab_images["LAB_CHATWOOT_OLDEST"].rsplit(":", 1)[1]
    assert lab.pinned_tag().removesuffix("-ce") == oldest


def test_every_healthcheck_is_green(lab):
    # A restarted container needs a probe interval or two; wait a little instead of racing it.
    deadline = time.monotonic() + 60
    while True:
        services = [json.loads(line) for line in lab.compose("ps", "--all", "--format", "json").stdout.splitlines()]
        health = {s["Service"]: (s["State"], s["Health"]) for s in services}
        if all(state == ("running", "healthy") for state in health.values()) or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert health == {name: ("running", "healthy") for name in ("rails", "sidekiq", "postgres", "redis")}


def test_every_migration_the_image_ships_is_applied(lab):
    shipped = lab.compose("exec", "-T", "rails", "ls", "db/migrate").stdout.split()
    shipped_versions = {name.split("_", 1)[0] for name in shipped if name.endswith(".rb")}
    applied = set(lab.psql("SELECT version FROM schema_migrations").split())
    assert shipped_versions, "the image ships no migrations?"
    assert shipped_versions <= applied, f"not applied: {sorted(shipped_versions - applied)}"


def test_public_sign_up_is_closed(lab):
    """ENABLE_ACCOUNT_SIGNUP must block POST /api/v1/accounts on every release (before v4.12 only the
    string "false" does, chatwoot/chatwoot#13745); the lab inventory gives a YAML boolean on purpose."""
    payload = json.dumps(
        {"account_name": "Stranger", "email": SIGNUP_EMAIL, "password": "Str4nger!pass", "user_full_name": "S"}
    )
    status, body = lab.https_request(
        "/api/v1/accounts",
        # A fresh documentation address each time: accounts/ip allows 5 sign-ups per 30 minutes per IP.
        {"Content-Type": "application/json", "X-Forwarded-For": f"198.51.100.{random.randint(1, 254)}"},
        method="POST",
        data=payload,
    )
    assert not 200 <= status < 300, f"sign-up is open: {status} {body[:300]}"
    assert lab.psql(f"SELECT count(*) FROM users WHERE email = '{SIGNUP_EMAIL}'") == "0"
    stored = lab.psql("SELECT serialized_value FROM installation_configs WHERE name = 'ENABLE_ACCOUNT_SIGNUP'")
    # Stored as the string the super admin UI writes, which every release reads as "closed".
    assert re.search(r"value: ['\"]false['\"]", stored), stored


def test_every_earlier_row_survived_the_upgrade(host, lab):
    """Every row that existed before the step is still there with every column it had unchanged (a release may
    add columns: v4.16 adds accounts.feature_flags_ext_1)."""
    record = host.file("/root/pre-upgrade-fingerprint.json")
    if not record.exists:
        pytest.skip("no upgrade yet: the first converge installed the oldest release")
    before = json.loads(record.content_string)
    assert lab.expected_version() == before["to"].lstrip("v").removesuffix("-ce")
    after = json.loads(lab.psql(FINGERPRINT_SQL.read_text()))
    changed = []
    for table, rows in before["tables"].items():
        now = {row["id"]: row for row in after[table]}
        for row in rows:
            current = now.get(row["id"])
            if current is None:
                changed.append(f"{table} {row['id']}: gone")
                continue
            differing = sorted(column for column, value in row.items() if current.get(column, object()) != value)
            if differing:
                changed.append(f"{table} {row['id']}: {differing}")
    assert not changed, f"rows changed by the upgrade {before['from']} -> {before['to']}: {changed}"
    assert sum(len(rows) for rows in before["tables"].values()) > 5, "the fingerprint holds too few rows to mean much"
    assert lab.psql(f"SELECT count(*) FROM accounts WHERE name = 'written by {before['from']}'") == "1"
    assert lab.psql("SELECT count(*) FROM users WHERE type = 'SuperAdmin'") == "1"


def test_the_upgrade_failed_no_request_through_nginx(host):
    """upgrade.yml probed /api through nginx every 100 ms during the whole converge (zero-downtime switch)."""
    result = host.file("/root/probe.json")
    if not result.exists:
        pytest.skip("no probe ran: this step was the first install, not an upgrade")
    probe = json.loads(result.content_string)
    assert probe["requests"] > 100, probe
    assert probe["failures"] == 0, probe
