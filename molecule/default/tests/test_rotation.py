"""playbooks/rotate_secrets.yml and a changed vault password on the converged lab VPS (final verification).

After the rotation PostgreSQL and Redis accept only the new passwords, every service is healthy with them,
/api answers through Nginx (rails reaches both), a job queued in Redis before is still there and the app
keys are untouched. Then the old passwords come back through the vault path (-e app_postgres_password /
app_redis_password and the app role), the way an operator changes them in the vault: no drift (rails
connects, a second run changes nothing), and the host ends as the scenario's inventory has it, so the
restore step after this verification restores the secrets converge.yml set.

Against another lab: FIREWALL_TEST_VPS (the VPS container, as for test_firewall.py), MOLECULE_INVENTORY_FILE
(a file in the inventory directory lab_runs runs playbooks with) and ROTATION_TEST_EXTRA_VARS (JSON extra vars
that lab's runs need, e.g. {"lab_container": "rotate-lab", "lab_https_port": 18543}).
"""

from __future__ import annotations

import json
import os
import re

import pytest
from lab_runs import assert_refused, run_app_role, run_lab_playbook, state

testinfra_hosts = ["ansible://chatwoot"]

PROJECT = "/opt/chatwoot"
PASSWORDS = ("POSTGRES_PASSWORD", "REDIS_PASSWORD")
APP_KEYS = (
    "SECRET_KEY_BASE",
    "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY",
    "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY",
    "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT",
)
# A job in a queue no Sidekiq of the stack fetches from: it must still be there after every change.
PROBE_QUEUE = "queue:selfhost_rotation_probe"
PROBE_JOB = json.dumps({"class": "RotationProbeJob", "args": [], "jid": "rotationprobe0001", "queue": "probe"})
EXTRA_VARS = json.loads(os.environ.get("ROTATION_TEST_EXTRA_VARS") or "{}")


def secrets(host) -> dict:
    return json.loads(host.file(f"{PROJECT}/secrets.json").content_string)


def postgres_accepts(lab, password: str) -> bool:
    """A password login over TCP inside the postgres container (the local socket would trust anyone)."""
    result = lab.host.run(
        "docker compose --project-directory %s exec -T -e PGPASSWORD=%s postgres "
        "psql -X -h 127.0.0.1 -U postgres -d chatwoot_production -Atc 'select 1'",
        PROJECT,
        password,
    )
    return result.rc == 0 and result.stdout.strip() == "1"


def redis_accepts(lab, password: str) -> bool:
    result = lab.host.run(
        "docker compose --project-directory %s exec -T -e REDISCLI_AUTH=%s redis redis-cli --no-auth-warning ping",
        PROJECT,
        password,
    )
    return result.stdout.strip() == "PONG"


def assert_healthy_with(lab, wanted: dict) -> None:
    """Only the wanted passwords open the servers, every service is healthy and rails reaches both."""
    for name, accepts in (("POSTGRES_PASSWORD", postgres_accepts), ("REDIS_PASSWORD", redis_accepts)):
        assert accepts(lab, wanted[name]), f"the server does not accept the new {name}"
    listing = lab.compose("ps", "--all", "--format", "json").stdout
    services = {s["Service"]: s for s in map(json.loads, filter(str.strip, listing.splitlines()))}
    assert set(services) == {"rails", "sidekiq", "postgres", "redis"}, set(services)
    for name, service in services.items():
        assert (service["State"], service["Health"]) == ("running", "healthy"), name
    status, body = lab.https_get("/api")
    assert status == 200, body
    api = json.loads(body)
    assert (api["data_services"], api["queue_services"]) == ("ok", "ok"), api
    # The services' env files and .env carry the new values (a recreated container reads them).
    assert (
        lab.compose("exec", "-T", "redis", "printenv", "REDIS_PASSWORD").stdout.removesuffix("\n")
        == (wanted["REDIS_PASSWORD"])
    )
    assert (
        lab.compose("exec", "-T", "postgres", "printenv", "POSTGRES_PASSWORD").stdout.removesuffix("\n")
        == (wanted["POSTGRES_PASSWORD"])
    )


def assert_no_change(run) -> None:
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    recap = re.search(r"changed=(\d+)", run.stdout.rsplit("PLAY RECAP", 1)[-1])
    assert recap and recap.group(1) == "0", "the second run changed the host:\n" + run.stdout[-4000:]


def redis(host, *args: str) -> str:
    """redis-cli in the redis container with its own password (host: testinfra's module-scoped fixture)."""
    result = host.run(
        "docker compose --project-directory %s exec -T redis sh -c "
        '\'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli "$@"\' redis-cli ' + " ".join(["%s"] * len(args)),
        PROJECT,
        *args,
    )
    assert result.rc == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def probe_job(host):
    redis(host, "del", PROBE_QUEUE)
    assert redis(host, "lpush", PROBE_QUEUE, PROBE_JOB) == "1"
    yield PROBE_JOB
    redis(host, "del", PROBE_QUEUE)


@pytest.fixture(scope="module")
def before(host) -> dict:
    return secrets(host)


def test_rotating_a_password_the_vault_sets_is_refused_before_any_change(final_verification, lab, before):
    kept = secrets(lab.host)
    snapshot = state(lab)
    run = run_lab_playbook("rotate_secrets", app_redis_password=kept["REDIS_PASSWORD"], **EXTRA_VARS)
    assert_refused(lab, snapshot, run, "Refusing to rotate", "app_redis_password")


def test_rotation_changes_both_passwords_in_the_servers_and_keeps_jobs_and_app_keys(
    final_verification, lab, before, probe_job
):
    run = run_lab_playbook("rotate_secrets", **EXTRA_VARS)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    after = secrets(lab.host)
    assert "_previous" not in after, "the change was not recorded as done"
    for name in PASSWORDS:
        assert after[name] and after[name] != before[name], f"{name} was not rotated"
    assert {k: after[k] for k in APP_KEYS} == {k: before[k] for k in APP_KEYS}, "app keys changed without the flag"
    assert "app_rotate_app_keys=true gives" not in run.stdout, "the app-key warning printed without the flag"
    assert_healthy_with(lab, after)
    assert not postgres_accepts(lab, before["POSTGRES_PASSWORD"]), "PostgreSQL still takes the old password"
    assert not redis_accepts(lab, before["REDIS_PASSWORD"]), "Redis still takes the old password"
    assert redis(lab.host, "lrange", PROBE_QUEUE, "0", "-1") == probe_job, "the queued job is gone"
    # No secret in the output (every task that touches one is no_log).
    for name in PASSWORDS:
        assert after[name] not in run.stdout + run.stderr
        assert before[name] not in run.stdout + run.stderr


def test_a_rotated_host_converges_without_change(final_verification, lab, before):
    assert_no_change(run_app_role(**EXTRA_VARS))


def test_a_changed_vault_password_is_applied_like_the_rotation_and_leaves_no_drift(
    final_verification, lab, before, probe_job
):
    """The old values come back as vault values: the same path, and the host ends as the inventory says."""
    rotated = secrets(lab.host)
    vault = {"app_postgres_password": before["POSTGRES_PASSWORD"], "app_redis_password": before["REDIS_PASSWORD"]}
    run = run_app_role(**vault, **EXTRA_VARS)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    after = secrets(lab.host)
    assert after == before, "secrets.json does not hold the vault values (or changed another secret)"
    assert_healthy_with(lab, after)
    assert not postgres_accepts(lab, rotated["POSTGRES_PASSWORD"])
    assert not redis_accepts(lab, rotated["REDIS_PASSWORD"])
    assert redis(lab.host, "lrange", PROBE_QUEUE, "0", "-1") == probe_job, "the queued job is gone"
    # The same vault values again: nothing to do.
    assert_no_change(run_app_role(**vault, **EXTRA_VARS))
