"""Backups on the converged lab VPS: the timer, what a snapshot holds, retention, and refusals before any change.

Runs against the `chatwoot` group with the real restic and PostgreSQL of the lab. The retention check runs the
scheduled service several times against a scratch copy of the configuration (its own repository, a policy of
2 daily snapshots), so the real repository's snapshots are not touched.
"""

from __future__ import annotations

import json

import pytest
from lab_runs import run_lab_playbook

testinfra_hosts = ["ansible://chatwoot"]

TOOL = "/usr/local/sbin/selfhost-chatwoot-backup"
CONFIG = "/etc/selfhost-chatwoot/backup.json"
UNIT = "selfhost-chatwoot-backup"


def tool(host, *args: str, config: str = CONFIG):
    result = host.run(" ".join([TOOL, "--config", "%s", *["%s"] * len(args)]), config, *args)
    return result.rc, json.loads(result.stdout or "{}"), result.stderr


def restic(host, *args: str):
    cmd = (
        'RESTIC_REPOSITORY=$(python3 -c \'import json;print(json.load(open("%s"))["repository"])\') '
        "RESTIC_PASSWORD_FILE=/etc/selfhost-chatwoot/restic-password restic " + " ".join(["%s"] * len(args))
    )
    result = host.run(cmd, CONFIG, *args)
    assert result.rc == 0, result.stderr
    return result.stdout


def test_timer_exists_is_enabled_and_ran(host):
    timer = host.service(f"{UNIT}.timer")
    assert timer.is_enabled
    assert timer.is_running
    unit = host.file(f"/etc/systemd/system/{UNIT}.timer").content_string
    assert "Persistent=true" in unit
    assert "RandomizedDelaySec=" in unit
    # Make it run now, as the timer would, and check the unit succeeded and left a status.
    run = host.run(f"systemctl start {UNIT}.service")
    assert run.rc == 0, host.run(f"journalctl -u {UNIT}.service -n 50 --no-pager").stdout
    result = host.run(f"systemctl show {UNIT}.service -p Result -p ExecMainStatus")
    assert "Result=success" in result.stdout
    assert "ExecMainStatus=0" in result.stdout
    rc, status, _err = tool(host, "status")
    assert rc == 0
    assert status["status"]["last_result"] == "ok"
    assert status["status"]["age_seconds"] < 600


def test_config_and_password_are_private(host):
    for path in (CONFIG, "/etc/selfhost-chatwoot/restic-password", "/etc/selfhost-chatwoot/backup-repository-env.json"):
        f = host.file(path)
        assert f.mode == 0o600, path
        assert f.user == "root"


def test_a_snapshot_holds_dump_storage_secrets_and_manifest(host):
    host.run("mkdir -p /opt/chatwoot/data/storage/zz/yy && echo kept > /opt/chatwoot/data/storage/zz/yy/blob")
    host.run("chown -R 1000:1000 /opt/chatwoot/data/storage/zz && chmod 0640 /opt/chatwoot/data/storage/zz/yy/blob")
    rc, out, err = tool(host, "backup", "--tag", "manual")
    assert rc == 0, err
    assert out["tags"][0] == "manual"
    assert out["tags"][1].startswith("chatwoot-v")
    listing = restic(host, "ls", "--json", out["snapshot"])
    paths = {json.loads(line).get("path") for line in listing.splitlines() if line.startswith("{")}
    staging = json.loads(host.file(CONFIG).content_string)["staging_dir"]
    for name in ("chatwoot.dump", "manifest.json", "secrets.json", ".env", "compose.yaml", "state/prepared-version"):
        assert f"{staging}/{name}" in paths, name
    assert "/opt/chatwoot/data/storage/zz/yy/blob" in paths
    blob = next(
        json.loads(line)
        for line in listing.splitlines()
        if line.startswith("{") and json.loads(line).get("path") == "/opt/chatwoot/data/storage/zz/yy/blob"
    )
    assert (blob["uid"], blob["gid"], blob["mode"] & 0o777) == (1000, 1000, 0o640)
    rc, manifest, _err = tool(host, "manifest", "--snapshot", out["snapshot"])
    assert rc == 0
    manifest = manifest["manifest"]
    assert manifest["chatwoot_version"] == "v" + host.file(
        "/opt/chatwoot/state/prepared-version"
    ).content_string.strip().lstrip("v")
    assert manifest["image_ref"].endswith(":" + manifest["chatwoot_version"])
    assert manifest["row_counts"]["users"] >= 1
    assert host.run("ls -A %s", staging).stdout.strip() == "", "the staging dir was not emptied"


@pytest.fixture
def scratch_config(host):
    """A copy of the configuration with its own repository and a 2-daily policy; removed afterwards."""
    config = json.loads(host.file(CONFIG).content_string)
    config.update(
        repository="/var/tmp/cwlab-retention-repo",
        status_file="/var/tmp/cwlab-retention-status.json",
        retention={"daily": 2},
    )
    path = "/root/backup-retention.json"
    host.run("printf '%%s' %s > %s && chmod 600 %s", json.dumps(config), path, path)
    rc, _out, err = tool(host, "init", config=path)
    assert rc == 0, err
    yield path
    host.run("rm -rf /var/tmp/cwlab-retention-repo /var/tmp/cwlab-retention-status.json %s", path)


def test_retention_keeps_what_the_policy_says(host, scratch_config):
    """Four scheduled runs on one day with keep-daily 2: restic keeps the day's newest (0.17+ also keeps the
    oldest while fewer than 2 days have snapshots), so at most 2 of the 4 remain; a manual one is never forgotten."""
    rc, manual, err = tool(host, "backup", "--tag", "manual", config=scratch_config)
    assert rc == 0, err
    scheduled = []
    for _run in range(4):
        rc, out, err = tool(host, "backup", "--tag", "scheduled", config=scratch_config)
        assert rc == 0, err
        scheduled.append(out["snapshot"])
    rc, listing, _err = tool(host, "snapshots", config=scratch_config)
    ids = [s["id"] for s in listing["snapshots"]]
    kept = [i for i in scheduled if i in ids]
    assert manual["snapshot"] in ids
    assert scheduled[-1] in ids
    assert 1 <= len(kept) <= 2, listing
    assert set(scheduled[1:-1]).isdisjoint(ids), "a middle run of the day survived keep-daily"


def test_wrong_password_is_refused_before_any_change(host):
    config = json.loads(host.file(CONFIG).content_string)
    config.update(password_file="/root/wrong-restic-password", status_file="/var/tmp/cwlab-wrong-status.json")
    path = "/root/backup-wrong.json"
    host.run("printf wrong > /root/wrong-restic-password && printf '%%s' %s > %s", json.dumps(config), path)
    before = restic(host, "snapshots", "--json")
    rc, out, _err = tool(host, "backup", "--tag", "manual", config=path)
    assert rc == 3
    assert "backup_restic_password" in out["error"]
    assert restic(host, "snapshots", "--json") == before
    host.run("rm -f %s /root/wrong-restic-password /var/tmp/cwlab-wrong-status.json", path)


def test_missing_snapshot_is_refused(host):
    rc, out, _err = tool(host, "manifest", "--snapshot", "deadbeef")
    assert rc == 5
    assert "backup_restore_snapshot" in out["error"]


def test_not_enough_disk_is_refused_with_the_numbers(host):
    """The tool against a 1 MiB tmpfs staging dir: refused before pg_dump, nothing in the repository."""
    config = json.loads(host.file(CONFIG).content_string)
    config.update(staging_dir="/mnt/cwlab-tiny", status_file="/var/tmp/cwlab-tiny-status.json")
    path = "/root/backup-tiny.json"
    mount = host.run("mkdir -p /mnt/cwlab-tiny && mount -t tmpfs -o size=1m tmpfs /mnt/cwlab-tiny")
    assert mount.rc == 0, mount.stderr
    try:
        host.run("printf '%%s' %s > %s", json.dumps(config), path)
        before = restic(host, "snapshots", "--json")
        rc, out, _err = tool(host, "backup", "--tag", "manual", config=path)
        assert rc == 4, out
        assert out["path"] == "/mnt/cwlab-tiny"
        assert out["needed"] > out["free"]
        assert str(out["needed"]) in out["error"]
        assert str(out["free"]) in out["error"]
        assert host.run("ls -A /mnt/cwlab-tiny").stdout.strip() == ""
        assert restic(host, "snapshots", "--json") == before
        rc, out, _err = tool(host, "dump", "--out", "/mnt/cwlab-tiny/x.dump", config=path)
        assert rc == 4
    finally:
        host.run("umount /mnt/cwlab-tiny; rm -f %s /var/tmp/cwlab-tiny-status.json", path)


def test_the_role_refuses_a_wrong_password_before_writing_it(host):
    """The role checks backup_restic_password against the existing repository before it writes anything."""
    password_before = host.file("/etc/selfhost-chatwoot/restic-password").content
    run = run_lab_playbook("backup", timeout=600, backup_restic_password="not-the-password")
    output = run.stdout + run.stderr
    assert run.returncode != 0, output[-3000:]
    assert "rejects the password" in output
    assert "backup_restic_password" in output
    assert "not-the-password" not in output
    assert host.file("/etc/selfhost-chatwoot/restic-password").content == password_before
