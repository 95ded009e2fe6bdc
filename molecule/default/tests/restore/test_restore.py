"""The fresh VPS after molecule/default/restore.yml restored the source's latest backup onto it.

Compared with the source VPS (group `chatwoot`): the same rows (files/fingerprint.sql), the same stored
files with their owners and modes, the super admin signs in through nginx with the source's password, the
served version is the snapshot's, and users.otp_secret, written through Active Record encryption on the
source before the backup, reads back through Rails (the ACTIVE_RECORD_ENCRYPTION_* keys came back).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

testinfra_hosts = ["ansible://restore_targets"]

SCENARIO_DIR = Path(__file__).resolve().parents[2]
REPO = SCENARIO_DIR.parents[1]
PROJECT = "/opt/chatwoot"
DOMAIN = "chatwoot.lab.test"
FINGERPRINT = (SCENARIO_DIR / "files/fingerprint.sql").read_text()


@pytest.fixture(scope="module")
def source():
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    name = AnsibleRunner(inventory).get_hosts("chatwoot")[0]
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory}"), name


@pytest.fixture(scope="module")
def record(source):
    host, _name = source
    path = host.file("/root/restore-source.json")
    if not path.exists:
        # The full verifications run before the side effect; molecule.yml runs `verify tests/restore` after it.
        pytest.skip("molecule/default/restore.yml has not run yet (it runs after the final verification)")
    return json.loads(path.content_string)


@pytest.fixture(autouse=True)
def restored(record):
    """Every check here needs the restore; `record` skips them all until it ran."""
    return record


def psql(host, sql: str) -> str:
    result = host.run(
        f"docker compose --project-directory {PROJECT} exec -T postgres "
        "psql -U postgres -d chatwoot_production -Atc %s",
        sql,
    )
    assert result.rc == 0, result.stderr
    return result.stdout.strip()


def files_of(host) -> list[str]:
    result = host.run(
        f"cd {PROJECT}/data/storage && find . -type f -printf '%P %U %G %m %s\\n' | sort && "
        "find . -type f -print0 | sort -z | xargs -0r sha256sum"
    )
    assert result.rc == 0, result.stderr
    return result.stdout.splitlines()


def test_the_rows_are_the_sources(host, source):
    source_host, _name = source
    assert json.loads(psql(host, FINGERPRINT)) == json.loads(psql(source_host, FINGERPRINT))


def test_the_row_counts_are_the_manifests(host, record):
    manifest = json.loads(
        host.run("/usr/local/sbin/selfhost-chatwoot-backup manifest --snapshot %s", record["snapshot"]).stdout
    )
    counts = json.loads(host.run("/usr/local/sbin/selfhost-chatwoot-backup row-counts").stdout)["row_counts"]
    assert counts == manifest["manifest"]["row_counts"]


def test_the_stored_files_are_the_sources(host, source):
    source_host, _name = source
    assert files_of(host) == files_of(source_host)


def test_the_secrets_are_the_sources(host, source):
    source_host, _name = source
    assert host.file(f"{PROJECT}/secrets.json").content == source_host.file(f"{PROJECT}/secrets.json").content
    assert host.file(f"{PROJECT}/secrets.json").mode == 0o600


def test_the_served_version_is_the_snapshots(host, record):
    version = re.sub(r"^chatwoot-v|-ce$", "", record["tags"][1])
    result = host.run(f"curl -sS -k --resolve {DOMAIN}:443:127.0.0.1 https://{DOMAIN}/api")
    assert result.rc == 0, result.stderr
    assert json.loads(result.stdout)["version"] == version


def test_the_super_admin_signs_in_with_the_sources_password(host, source):
    _source_host, name = source
    credentials = json.loads((REPO / f".lab/credentials/{name}-super-admin.json").read_text())
    body = json.dumps({"email": credentials["email"], "password": credentials["password"]})
    result = host.run(
        f"curl -sS -k -o /dev/null -w '%%{{http_code}}' --resolve {DOMAIN}:443:127.0.0.1 "
        f"-H 'Content-Type: application/json' --data-raw %s https://{DOMAIN}/auth/sign_in",
        body,
    )
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "200"


def test_an_encrypted_value_reads_back(host, record):
    """users.otp_secret is encrypted at rest; only the restored keys decrypt it."""
    otp = record["otp"]
    raw = psql(host, f"SELECT otp_secret FROM users WHERE id = {int(otp['user_id'])}")
    assert otp["otp_secret"] not in raw, "otp_secret is stored in clear: the double does not encrypt it"
    result = host.run(
        f"docker compose --project-directory {PROJECT} exec -T rails bundle exec rails runner %s",
        f"print User.find({int(otp['user_id'])}).otp_secret",
    )
    assert result.rc == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == otp["otp_secret"]
