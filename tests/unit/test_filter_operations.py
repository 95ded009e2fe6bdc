from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.selfhost.chatwoot.plugins.filter.operations import chatwoot_status_report

NOW = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=datetime.UTC).timestamp()


def ok(stdout: str) -> dict:
    return {"rc": 0, "stdout": stdout, "stderr": "", "changed": False}


def compose_ps(**states) -> dict:
    lines = [
        json.dumps({"Service": name, "State": state, "Health": health}) for name, (state, health) in states.items()
    ]
    return ok("\n".join(lines))


HEALTHY_SERVICES = {name: ("running", "healthy") for name in ("rails", "sidekiq", "postgres", "redis")}


def readings(**changes) -> dict:
    base = {
        "pinned": "v4.16.2",
        "info": {"version": "4.16.2", "healthy": True, "queue_services": "ok", "data_services": "ok"},
        "services": compose_ps(**HEALTHY_SERVICES),
        "sidekiq": ok("queue default 3\nqueue mailers 0\nretry 1\ndead 2\nschedule 4"),
        "disk": ok("Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 1000000 500000 500000 50% /"),
        "certificate": ok("notAfter=Mar  2 12:00:00 2027 GMT"),
        "backup": ok(json.dumps({"status": {"last_success": "x", "age_seconds": 7200, "snapshot": "1a2b3c4d5e"}})),
    }
    base.update(changes)
    return base


def test_a_healthy_host_has_no_problems_and_its_table_shows_every_reading():
    report = chatwoot_status_report(readings(), {}, NOW)
    assert report["healthy"] and report["problems"] == []
    text = "\n".join(report["table"])
    for expected in (
        "served 4.16.2, pinned 4.16.2",
        "3 enqueued (default=3, mailers=0)",
        "2 dead, 1 retrying",
        "4 scheduled",
    ):
        assert expected in text
    assert "90 days left (until 2027-03-02)" in text
    assert "last success 2.0 h ago (snapshot 1a2b3c4d)" in text
    assert "(50 %)" in text
    assert [row[0] for row in report["rows"]][:3] == ["version", "http", "rails"]


def test_ce_tags_and_a_leading_v_compare_equal():
    report = chatwoot_status_report(readings(pinned="v4.16.2-ce"), {}, NOW)
    assert report["healthy"], report["problems"]


def test_a_stopped_sidekiq_and_a_missing_redis_are_named():
    services = dict(HEALTHY_SERVICES, sidekiq=("exited", ""))
    del services["redis"]
    report = chatwoot_status_report(readings(services=compose_ps(**services)), {}, NOW)
    assert not report["healthy"]
    assert any(p.startswith("sidekiq: exited") for p in report["problems"]), report["problems"]
    assert any(p.startswith("redis: no container") for p in report["problems"]), report["problems"]


def test_compose_json_array_output_is_read_too():
    array = ok(json.dumps([{"Service": n, "State": s, "Health": h} for n, (s, h) in HEALTHY_SERVICES.items()]))
    assert chatwoot_status_report(readings(services=array), {}, NOW)["healthy"]


def test_a_version_mismatch_and_an_unreachable_rails():
    mismatch = chatwoot_status_report(readings(info={"version": "4.14.2", "healthy": True}), {}, NOW)
    assert mismatch["problems"] == ["version: serves 4.14.2 but 4.16.2 is pinned"]
    down = chatwoot_status_report(readings(info={"failed": True, "msg": "connection refused"}), {}, NOW)
    assert down["problems"] == ["version: rails does not answer (connection refused)"]


def test_unhealthy_http_is_a_problem():
    info = {"version": "4.16.2", "healthy": False, "queue_services": "failing", "data_services": "ok"}
    report = chatwoot_status_report(readings(info=info), {}, NOW)
    assert len(report["problems"]) == 1 and report["problems"][0].startswith("http: unhealthy")


@pytest.mark.parametrize(
    ("changes", "limits", "check"),
    [
        ({"sidekiq": ok("queue default 1500\nretry 0\ndead 0\nschedule 0")}, {}, "sidekiq queues"),
        ({"sidekiq": ok("retry 0\ndead 11\nschedule 0")}, {"max_dead_jobs": 10}, "sidekiq dead"),
        ({}, {"min_disk_free_percent": 60}, "disk"),
        ({}, {"min_certificate_days": 91}, "certificate"),
        ({}, {"max_backup_age_hours": 1}, "backup"),
    ],
)
def test_each_limit_makes_its_check_a_problem(changes, limits, check):
    report = chatwoot_status_report(readings(**changes), limits, NOW)
    assert [p.split(":")[0] for p in report["problems"]] == [check], report["problems"]


def test_failed_or_unreadable_readings_are_problems_never_healthy():
    failed = {"rc": 1, "stdout": "", "stderr": "Could not connect to Redis"}
    report = chatwoot_status_report(
        readings(sidekiq=failed, disk=ok("nonsense"), certificate=ok("garbage"), backup=ok("not json")), {}, NOW
    )
    checks = [p.split(":")[0] for p in report["problems"]]
    assert checks == ["sidekiq jobs", "disk", "certificate", "backup"], report["problems"]
    assert "Could not connect to Redis" in report["problems"][0]


def test_no_backup_yet_is_a_problem_and_skipped_checks_have_no_row():
    report = chatwoot_status_report(readings(backup=ok(json.dumps({"status": {}}))), {}, NOW)
    assert report["problems"] == ["backup: no successful backup yet (playbooks/backup.yml)"]
    skipped = chatwoot_status_report(readings(certificate=None, backup=None), {}, NOW)
    assert skipped["healthy"] and {"certificate", "backup"}.isdisjoint(row[0] for row in skipped["rows"])


def test_an_expired_certificate_has_negative_days():
    report = chatwoot_status_report(readings(certificate=ok("notAfter=Nov 30 12:00:00 2026 GMT")), {}, NOW)
    assert report["problems"] == ["certificate: expires in -2 days, fewer than 14 (app_status_min_certificate_days)"]


def test_a_failed_compose_ps_is_one_problem_with_its_error():
    failed = {"rc": 1, "stdout": "", "stderr": "no configuration file provided: not found"}
    report = chatwoot_status_report(readings(services=failed), {}, NOW)
    assert report["problems"] == ["services: docker compose ps failed (no configuration file provided: not found)"]
