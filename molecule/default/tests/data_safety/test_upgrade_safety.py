"""An upgrade cannot lose data: run once after the first converge (the oldest release), where the lab's
broken release (a migration that changes the schema and then dies, tests/lab/chatwoot-double/releases/broken)
is an upgrade. It runs in the first full verification; the later ones skip it, saying why.

1. A jump past a stepping stone is refused before any change.
2. The broken release fails its rehearsal: production untouched (rows, schema, files, containers).
3. Forced past the rehearsal (app_upgrade_rehearsal: false, the test-only switch), the production migration
   fails and is rolled back automatically: same rows and schema, the old version serving, and every message a
   writer got acknowledged through nginx during the run is still there; writes inside the freeze got 503.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from lab_runs import assert_refused, run_app_role, state

testinfra_hosts = ["ansible://chatwoot"]

VPS = "cwlab-default-trixie"
FINGERPRINT_SQL = Path(__file__).resolve().parents[2] / "files/fingerprint.sql"
PROBE = Path(__file__).resolve().parents[4] / "tests/support/probe.py"
SEED_RECORD = "/root/data-safety-seed.json"
SCHEMA_SQL = (
    "SELECT coalesce(json_agg(c ORDER BY c), '[]') FROM (SELECT table_name || '.' || column_name AS c "
    "FROM information_schema.columns WHERE table_schema = 'public') s"
)
# Seeds what a restore must bring back too: conversations to write to, an encrypted value, stored files.
SEED_RUBY = """
u = User.find_by!(email: 'admin@chatwoot.lab.test')
a = Account.order(:id).first
AccountUser.find_or_create_by!(account: a, user: u) { |m| m.role = :administrator }
inbox = a.inboxes.order(:id).first
token = (u.access_token || AccessToken.create!(owner: u)).token
u.update!(otp_secret: 'JBSWY3DPEHPK3PXP')
contact = Contact.create!(account: a, name: 'Lab writer', email: 'writer@lab.test')
ids = 3.times.map do |n|
  ci = ContactInbox.create!(contact: contact, inbox: inbox, source_id: "lab-writer-#{n}")
  Conversation.create!(account: a, inbox: inbox, contact: contact, contact_inbox: ci).display_id
end
puts({ token: token, account_id: a.id, conversations: ids, otp_secret: 'JBSWY3DPEHPK3PXP' }.to_json)
"""


@pytest.fixture
def oldest_step(lab, lab_images):
    oldest = lab_images["LAB_CHATWOOT_OLDEST"].rsplit(":", 1)[1]
    if lab.pinned_tag() != oldest:
        pytest.skip(f"runs after the first converge at {oldest}, where the broken release is an upgrade")
    return lab_images["LAB_CHATWOOT_BROKEN"].rsplit(":", 1)[1]


@pytest.fixture
def seed(host, lab, oldest_step):
    record = host.file(SEED_RECORD)
    if record.exists:
        return json.loads(record.content_string)
    run = lab.compose("exec", "-T", "rails", "bundle", "exec", "rails", "runner", SEED_RUBY)
    data = json.loads(run.stdout.strip().splitlines()[-1])
    files = {}
    for n in range(3):
        path = f"/opt/chatwoot/data/storage/lab/seed-{n}.bin"
        host.run("mkdir -p /opt/chatwoot/data/storage/lab && head -c %s /dev/urandom > %s", str(4096 * (n + 1)), path)
        files[path] = host.file(path).sha256sum
    data["files"] = files
    host.run("printf %s %s > %s", "%s", json.dumps(data), SEED_RECORD)
    return data


def snapshot(lab) -> dict:
    return {"rows": json.loads(lab.psql(FINGERPRINT_SQL.read_text())), "schema": json.loads(lab.psql(SCHEMA_SQL))}


def served_version(lab) -> str:
    status, body = lab.https_get("/api")
    assert status == 200, body
    return json.loads(body)["version"]


def test_a_jump_past_a_stepping_stone_is_refused(lab, oldest_step):
    before = state(lab)
    run = run_app_role(app_chatwoot_version="v4.14.2")
    assert_refused(
        lab, before, run, "skips the stepping stone v4.12.1", "app_allow_version_jump", "Nothing was changed"
    )


def test_a_failing_rehearsal_leaves_production_untouched(host, lab, seed, oldest_step):
    before, data, version = state(lab), snapshot(lab), served_version(lab)
    run = run_app_role(app_chatwoot_version=oldest_step)
    assert_refused(lab, before, run, "rehearsal of the upgrade", "production was not touched", "LabBrokenMigration")
    assert snapshot(lab) == data
    assert "accounts.lab_broken_partial" not in data["schema"]
    assert served_version(lab) == version
    databases = lab.psql("SELECT string_agg(datname, ',') FROM pg_database")
    assert "rehearsal" not in databases, databases
    assert lab.redis_cli("-n", "15", "dbsize").strip() == "0"
    snapshots = json.loads(host.check_output("/usr/local/sbin/selfhost-chatwoot-backup snapshots --tag pre-upgrade"))
    assert any(f"upgrade-to-{oldest_step}" in s["tags"] for s in snapshots["snapshots"]), snapshots


def test_a_failing_migration_is_rolled_back_and_no_acknowledged_write_is_lost(host, lab, seed, oldest_step):
    before, data, version = state(lab), snapshot(lab), served_version(lab)
    subprocess.run(["docker", "cp", str(PROBE), f"{VPS}:/root/probe.py"], check=True)
    urls = [
        f"--url=https://127.0.0.1/api/v1/accounts/{seed['account_id']}/conversations/{cid}/messages"
        for cid in seed["conversations"]
    ]
    host.run("rm -f /root/writer.stop /root/writer.json /root/writer.log")
    started = host.run(
        "nohup python3 /root/probe.py " + " ".join(["%s"] * len(urls)) + " --host chatwoot.lab.test --interval 0.2 "
        "--write %s --out /root/writer.json --stop-file /root/writer.stop --max-seconds 900 "
        ">/root/writer.log 2>&1 &",
        *urls,
        seed["token"],
    )
    assert started.rc == 0, started.stderr
    try:
        run = run_app_role(app_chatwoot_version=oldest_step, app_upgrade_rehearsal=False)
    finally:
        host.run("touch /root/writer.stop")
        deadline = time.monotonic() + 30
        while not host.file("/root/writer.json").exists and time.monotonic() < deadline:
            time.sleep(1)
    output = run.stdout + run.stderr
    assert run.returncode != 0, output[-3000:]
    assert "rolled back automatically" in output, output[-3000:]
    assert host.file("/root/writer.json").exists, host.run("cat /root/writer.log").stdout
    writer = json.loads(host.file("/root/writer.json").content_string)
    assert writer["acknowledged"], writer
    # The freeze was on: writes were refused, not lost.
    assert writer["statuses"].get("503", 0) > 0, writer
    ids = ",".join(map(str, writer["acknowledged"]))
    stored = lab.psql(f"SELECT coalesce(json_agg(id), '[]') FROM messages WHERE id IN ({ids})")
    assert sorted(json.loads(stored)) == sorted(writer["acknowledged"])
    assert snapshot(lab) == data
    assert "accounts.lab_broken_partial" not in json.loads(lab.psql(SCHEMA_SQL))
    assert served_version(lab) == version
    assert not host.file("/run/selfhost-chatwoot/write-freeze").exists
    compose_after = state(lab)["files"]["compose.yaml"]
    assert compose_after == before["files"]["compose.yaml"]
