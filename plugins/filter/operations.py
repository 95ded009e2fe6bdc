# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""chatwoot_status_report: the day-2 status table of one host and what is wrong (documented in
chatwoot_status_report.yml). roles/app/tasks/status.yml collects the raw readings; this turns them into rows."""

from __future__ import annotations

import datetime
import json
import re

SERVICES = ("rails", "sidekiq", "postgres", "redis")
_VERSION = re.compile(r"^v?(\d+\.\d+\.\d+)(?:-ce)?$")


def _version(text) -> str:
    match = _VERSION.match(str(text or "").strip())
    return match.group(1) if match else str(text or "").strip()


def _compose_services(text) -> dict:
    """`docker compose ps --all --format json`: one object a line (Compose >= 2.21) or one JSON array."""
    text = (text or "").strip()
    if not text:
        return {}
    if text.startswith("["):
        entries = json.loads(text)
    else:
        entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    return {entry.get("Service"): entry for entry in entries}


def _sidekiq(text) -> dict:
    """Lines `queue NAME SIZE`, `retry N`, `dead N`, `schedule N` (status.yml's Lua script)."""
    found = {"queues": {}, "retry": None, "dead": None, "schedule": None}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "queue" and parts[2].isdigit():
            found["queues"][parts[1]] = int(parts[2])
        elif len(parts) == 2 and parts[0] in ("retry", "dead", "schedule") and parts[1].isdigit():
            found[parts[0]] = int(parts[1])
    return found


def _disk(text):
    """(available KiB, size KiB) from `df -P -k DIR`, or None."""
    lines = [line.split() for line in (text or "").splitlines() if line.strip()]
    if len(lines) < 2 or len(lines[-1]) < 4 or not lines[-1][1].isdigit() or not lines[-1][3].isdigit():
        return None
    return int(lines[-1][3]), int(lines[-1][1])


def _not_after(text):
    """The expiry from `openssl x509 -noout -enddate` (notAfter=Mar  2 14:00:00 2027 GMT), or None."""
    match = re.search(r"notAfter=(.+)", text or "")
    if not match:
        return None
    try:
        parsed = datetime.datetime.strptime(match.group(1).strip(), "%b %d %H:%M:%S %Y GMT")
    except ValueError:
        return None
    return parsed.replace(tzinfo=datetime.UTC)


def _human(kib: int) -> str:
    size = float(kib)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


def _result_text(result, key="stdout"):
    return result.get(key, "") if isinstance(result, dict) else ""


def _failed(result) -> bool:
    return not isinstance(result, dict) or bool(result.get("failed")) or result.get("rc", 0) != 0


def _error(result) -> str:
    if not isinstance(result, dict):
        return "no reading"
    text = (result.get("stderr") or result.get("msg") or result.get("stdout") or "").strip()
    return " ".join(text.split())[:200] or f"exit {result.get('rc')}"


def chatwoot_status_report(readings, limits=None, now=None):
    """Rows (check, value, ok) and the problems, from the raw readings of status.yml.

    ``readings``: pinned (the pinned tag), info (the info module's result), services (result of compose ps),
    sidekiq (result of the Redis script), disk (result of df), certificate (result of openssl, or None when
    not checked), backup (result of the backup tool's status, or None when not checked).
    ``limits``: min_disk_free_percent, min_certificate_days, max_backup_age_hours, max_queue_size,
    max_dead_jobs. ``now``: seconds since the epoch (UTC), for the certificate's days left.
    """
    limits = limits or {}
    now_dt = datetime.datetime.fromtimestamp(float(now), datetime.UTC) if now is not None else None
    if now_dt is None:
        now_dt = datetime.datetime.now(datetime.UTC)
    rows: list[list] = []
    problems: list[str] = []

    def row(check: str, value: str, ok: bool, problem: str = "") -> None:
        rows.append([check, value, ok])
        if not ok:
            problems.append(f"{check}: {problem or value}")

    pinned = _version(readings.get("pinned"))
    info = readings.get("info") or {}
    served = info.get("version")
    if served:
        served = _version(served)
        ok = served == pinned
        row("version", f"served {served}, pinned {pinned}", ok, f"serves {served} but {pinned} is pinned")
        healthy = bool(info.get("healthy"))
        detail = (
            f"/api queue_services={info.get('queue_services')} data_services={info.get('data_services')}"
            f" /health {info.get('health_status_code')}"
        )
        row("http", ("healthy " if healthy else "unhealthy ") + detail, healthy)
    else:
        row("version", f"served unknown, pinned {pinned}", False, f"rails does not answer ({_error(info)})")

    services_result = readings.get("services")
    try:
        services = {} if _failed(services_result) else _compose_services(_result_text(services_result))
    except ValueError:
        services = {}
    for name in SERVICES if services or not _failed(services_result) else ():
        entry = services.get(name)
        if entry is None:
            row(name, "not running (no container)", False, "no container; restart it (playbooks/restart.yml)")
            continue
        state, health = entry.get("State", "?"), entry.get("Health") or "no healthcheck"
        ok = state == "running" and health == "healthy"
        value = f"{state}, {health}" if state == "running" else f"{state} ({entry.get('Status') or 'stopped'})"
        row(name, value, ok, value + ("" if ok else "; restart it (playbooks/restart.yml)"))

    if not services and _failed(services_result):
        row("services", "unreadable", False, f"docker compose ps failed ({_error(services_result)})")

    sidekiq_result = readings.get("sidekiq")
    if _failed(sidekiq_result):
        row("sidekiq jobs", "unreadable", False, f"Redis did not answer ({_error(sidekiq_result)})")
    else:
        jobs = _sidekiq(_result_text(sidekiq_result))
        queues = ", ".join(f"{name}={size}" for name, size in sorted(jobs["queues"].items())) or "none"
        enqueued = sum(jobs["queues"].values())
        max_queue = int(limits.get("max_queue_size", 1000))
        row(
            "sidekiq queues",
            f"{enqueued} enqueued ({queues})",
            enqueued <= max_queue,
            f"{enqueued} jobs enqueued, more than {max_queue} (app_status_max_queue_size): is sidekiq processing?",
        )
        dead = jobs["dead"] or 0
        max_dead = int(limits.get("max_dead_jobs", 1000))
        row(
            "sidekiq dead",
            f"{dead} dead, {jobs['retry'] or 0} retrying, {jobs['schedule'] or 0} scheduled",
            dead <= max_dead,
            f"{dead} dead jobs, more than {max_dead} (app_status_max_dead_jobs)",
        )

    disk_result = readings.get("disk")
    disk = None if _failed(disk_result) else _disk(_result_text(disk_result))
    if disk is None:
        row("disk", "unreadable", False, f"df gave no answer ({_error(disk_result)})")
    else:
        available, size = disk
        percent = 100.0 * available / size if size else 0.0
        minimum = float(limits.get("min_disk_free_percent", 10))
        row(
            "disk",
            f"{_human(available)} free of {_human(size)} ({percent:.0f} %)",
            percent >= minimum,
            f"only {percent:.1f} % free ({_human(available)}), "
            f"less than {minimum:g} % (app_status_min_disk_free_percent)",
        )

    cert_result = readings.get("certificate")
    if cert_result is not None:
        expiry = None if _failed(cert_result) else _not_after(_result_text(cert_result))
        if expiry is None:
            row("certificate", "unreadable", False, f"cannot read it ({_error(cert_result)})")
        else:
            days = int((expiry - now_dt).total_seconds() // 86400)
            minimum = int(limits.get("min_certificate_days", 14))
            row(
                "certificate",
                f"{days} days left (until {expiry:%Y-%m-%d})",
                days >= minimum,
                f"expires in {days} days, fewer than {minimum} (app_status_min_certificate_days)",
            )

    backup_result = readings.get("backup")
    if backup_result is not None:
        status = None
        if not _failed(backup_result):
            try:
                status = json.loads(_result_text(backup_result)).get("status")
            except (ValueError, AttributeError):
                status = None
        if not isinstance(status, dict):
            row("backup", "unreadable", False, f"the backup tool gave no status ({_error(backup_result)})")
        elif status.get("age_seconds") is None:
            row("backup", "no successful backup yet", False, "no successful backup yet (playbooks/backup.yml)")
        else:
            hours = int(status["age_seconds"]) / 3600
            maximum = float(limits.get("max_backup_age_hours", 26))
            row(
                "backup",
                f"last success {hours:.1f} h ago (snapshot {str(status.get('snapshot') or '?')[:8]})",
                hours <= maximum,
                f"the last successful backup is {hours:.1f} h old, more than {maximum:g} h "
                "(app_status_max_backup_age_hours); see systemctl status selfhost-chatwoot-backup.service",
            )

    width = max(len(r[0]) for r in rows)
    table = [f"{check:<{width}}  {'ok     ' if ok else 'PROBLEM'}  {value}" for check, value, ok in rows]
    return {"rows": rows, "problems": problems, "table": table, "healthy": not problems}


class FilterModule:
    def filters(self):
        return {"chatwoot_status_report": chatwoot_status_report}
