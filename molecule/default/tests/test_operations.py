"""The day-2 playbooks against the converged lab VPS: status, restart, logs and flush_rate_limits.

Each ansible-playbook run costs 10-30 s, so they run once, in the final verification (fixture
final_verification), and as few as prove the point. The host is left healthy: sidekiq is stopped only between
a status run and the restart that must bring it back, and the restore step later backs up from this host.

Against another lab (not Molecule's): MOLECULE_INVENTORY_FILE names an inventory with literal connection
settings (group_vars of inventories/lab beside it) and FIREWALL_TEST_VPS the lab's VPS container, e.g.
  MOLECULE_INVENTORY_FILE=/tmp/inv/hosts.yml FIREWALL_TEST_VPS=day2-lab \\
    pytest --connection=ansible --ansible-inventory=/tmp/inv/hosts.yml molecule/default/tests/test_operations.py
"""

from __future__ import annotations

import json
import re
import time

from lab_runs import run_lab_playbook

testinfra_hosts = ["ansible://chatwoot"]

# A client address no real request of the scenario comes from (TEST-NET-2), and a neighbour whose counter
# must survive the flush of the first.
FLUSHED_IP = "198.51.100.77"
KEPT_IP = "198.51.100.78"
# Keys without an expiry, but Rack::Attack's: Sidekiq's own expiring keys may vanish on their own meanwhile.
PERSISTENT_KEYS = (
    "local r = {} for _, k in ipairs(redis.call('KEYS', '*')) do"
    " if redis.call('TTL', k) == -1 and string.sub(k, 1, 19) ~= 'velma:rack::attack:' then r[#r + 1] = k end"
    " end return r"
)


def output(run) -> str:
    """stdout and stderr with line wraps undone (a failed task's message goes to stderr, wrapped)."""
    return " ".join((run.stdout + run.stderr).split())


def recap_changed(run) -> int:
    counts = re.findall(r"changed=(\d+)", run.stdout)
    assert counts, run.stdout[-2000:]
    return sum(int(count) for count in counts)


def service_states(lab) -> dict[str, tuple[str, str]]:
    listing = lab.compose("ps", "--all", "--format", "json").stdout
    entries = [json.loads(line) for line in listing.splitlines() if line.strip()]
    return {e["Service"]: (e["State"], e["Health"]) for e in entries}


def started_at(lab, service: str) -> str:
    cid = lab.compose("ps", "-q", service).stdout.strip()
    assert cid, f"no {service} container"
    return lab.host.check_output("docker inspect -f '{{.State.StartedAt}}' %s", cid)


def test_status_exits_0_on_the_healthy_host_and_shows_the_pinned_version(lab, final_verification):
    run = run_lab_playbook("status", timeout=300)
    text = output(run)
    assert run.returncode == 0, text[-3000:]
    version = lab.expected_version()
    assert f"served {version}, pinned {version}" in text, text[-3000:]
    assert ": healthy" in text
    # One row per check, each ok.
    for check in (
        "rails",
        "sidekiq",
        "postgres",
        "redis",
        "sidekiq queues",
        "sidekiq dead",
        "disk",
        "certificate",
        "backup",
    ):
        assert re.search(rf'"{re.escape(check)} +ok ', text), f"no ok row for {check}: {text[-3000:]}"
    assert "PROBLEM" not in text
    assert recap_changed(run) == 0


def test_status_names_a_stopped_sidekiq_and_restart_brings_it_back(lab, final_verification):
    rails_before = started_at(lab, "rails")
    lab.compose("stop", "sidekiq")
    try:
        stopped = run_lab_playbook("status", timeout=300)
        text = output(stopped)
        assert stopped.returncode != 0, text[-3000:]
        assert "is unhealthy: sidekiq: exited" in text, text[-3000:]
        assert re.search(r'"sidekiq +PROBLEM +exited', text), text[-3000:]
        # Only sidekiq is named: the rest of the host is healthy.
        assert not re.search(r'"(rails|postgres|redis|disk|certificate|backup) +PROBLEM', text), text[-3000:]

        # rails too, so the run goes through the zero-downtime switch (standby up, rails and sidekiq replaced).
        restarted = run_lab_playbook("restart", timeout=900, app_restart_services=["rails", "sidekiq"])
        assert restarted.returncode == 0, output(restarted)[-3000:]
        assert "Start the standby rails" in restarted.stdout
        states = service_states(lab)
        assert states["sidekiq"] == ("running", "healthy"), states
        assert states["rails"] == ("running", "healthy"), states
        assert "rails-standby" not in states, "the standby was left running"
        assert started_at(lab, "rails") != rails_before, "rails was not restarted"
    finally:
        if service_states(lab).get("sidekiq", ("", ""))[0] != "running":
            lab.compose("up", "-d", "--wait", "sidekiq")

    again = run_lab_playbook("status", timeout=300)
    assert again.returncode == 0, output(again)[-3000:]


def test_logs_fetches_at_most_n_lines_of_the_service_to_the_controller(lab, final_verification, tmp_path):
    run = run_lab_playbook("logs", timeout=300, app_logs_service="rails", app_logs_lines=5, app_logs_dest=str(tmp_path))
    assert run.returncode == 0, output(run)[-3000:]
    files = list(tmp_path.glob("*/rails-*.log"))
    assert len(files) == 1, list(tmp_path.rglob("*"))
    lines = files[0].read_text().splitlines()
    # rails has logged far more than 5 lines by now (boot, every health check), so exactly 5 come back.
    assert len(lines) == 5, lines
    assert all(re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", line) for line in lines), lines
    assert str(files[0]) in output(run)


def test_flush_dry_run_lists_a_throttle_key_and_the_flush_removes_only_it(lab, final_verification):
    bucket = int(time.time()) // 60
    flushed = f"velma:rack::attack:{bucket}:login/ip:{FLUSHED_IP}"
    kept = f"velma:rack::attack:{bucket}:login/ip:{KEPT_IP}"
    lab.redis_cli("SET", flushed, "3", "EX", "600")
    lab.redis_cli("SET", kept, "3", "EX", "600")
    lab.redis_cli("LPUSH", "queue:ops_probe", '{"class":"OpsProbe","jid":"molecule"}')
    lab.redis_cli("SADD", "queues", "ops_probe")
    try:
        before = set(lab.redis_cli("EVAL", PERSISTENT_KEYS, "0").splitlines())
        assert "queue:ops_probe" in before

        dry = run_lab_playbook("flush_rate_limits", timeout=300, app_flush_ip=FLUSHED_IP, app_flush_dry_run=True)
        text = output(dry)
        assert dry.returncode == 0, text[-3000:]
        assert f"Would delete 1 Rack::Attack counter(s): {flushed}" in text, text[-3000:]
        assert lab.redis_cli("EXISTS", flushed) == "1", "the dry run deleted the key"

        real = run_lab_playbook("flush_rate_limits", timeout=300, app_flush_ip=FLUSHED_IP)
        text = output(real)
        assert real.returncode == 0, text[-3000:]
        assert f"Deleted 1 Rack::Attack counter(s): {flushed}" in text, text[-3000:]
        assert lab.redis_cli("EXISTS", flushed) == "0"
        assert lab.redis_cli("EXISTS", kept) == "1", "the flush took another client's counter"
        after = set(lab.redis_cli("EVAL", PERSISTENT_KEYS, "0").splitlines())
        assert before <= after, f"keys gone: {sorted(before - after)}"
        assert lab.redis_cli("LLEN", "queue:ops_probe") == "1"
    finally:
        lab.redis_cli("DEL", flushed, kept, "queue:ops_probe")
        lab.redis_cli("SREM", "queues", "ops_probe")
