# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ask a Chatwoot server how it is: ``GET /api`` (version, Redis and Postgres status) and ``GET /health``.

``/api`` answers ``{"version": ..., "timestamp": ..., "queue_services": "ok"|"failing", "data_services":
"ok"|"failing"}`` on every release (readiness). ``/health`` answers ``{"status": "woot"}`` without touching
the database (liveness), but only from Chatwoot 4.11.0 on (chatwoot/chatwoot#13386); before that it is a 404.

Healthy therefore means: ``/api`` answers Chatwoot's JSON with both services ``ok`` and, when the version
``/api`` reports is 4.11.0 or newer (or cannot be read), ``/health`` answers 2xx. ``/health`` is asked and
reported on every release. ``probe`` never raises: what went wrong is recorded in the ``Probe`` so that a wait
loop can report what it last saw. The decisions are pure functions, unit-tested without a server.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ansible_collections.selfhost.chatwoot.plugins.module_utils._releases import (
    HEALTH_ROUTE_SINCE,
    parse_version,
    same_version,
)

API_PATH = "/api"
HEALTH_PATH = "/health"
HEALTH_SINCE_TEXT = ".".join(str(part) for part in HEALTH_ROUTE_SINCE)


def normalize_version(version) -> str:
    """``X.Y.Z`` for every tag form the image is published under (``v4.10.1``, ``4.10.1``, ``v4.10.1-ce``).

    Text that is no release tag comes back stripped (and without a leading ``v``), for messages.
    """
    try:
        return ".".join(str(part) for part in parse_version(version))
    except ValueError:
        text = str(version or "").strip()
        return text[1:] if text[:1] in ("v", "V") else text


def expected_version_problem(expected) -> str | None:
    """Why ``expected`` cannot be compared with a served version (``latest`` is no version), or None."""
    try:
        parse_version(expected)
    except ValueError:
        return (
            f"expected_version {expected!r} is not a release version; use the tag the stack runs, as vX.Y.Z, "
            "X.Y.Z or vX.Y.Z-ce (latest and latest-ce name no version)"
        )
    return None


def version_matches(served, expected) -> bool:
    return bool(str(served or "").strip()) and same_version(served, expected)


def health_required(version) -> bool:
    """Whether ``/health`` must answer 2xx: from 4.11.0 on, and when the version cannot be read."""
    try:
        return parse_version(version) >= HEALTH_ROUTE_SINCE
    except ValueError:
        return True


def join_url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


@dataclass
class Probe:
    url: str
    version: str | None = None
    timestamp: str | None = None
    queue_services: str | None = None
    data_services: str | None = None
    api_status_code: int | None = None
    health_status_code: int | None = None
    health_status: str | None = None
    response_time_ms: float | None = None
    error: str | None = None  # /api could not be read as Chatwoot's JSON

    @property
    def reached(self) -> bool:
        return self.error is None

    @property
    def health_required(self) -> bool:
        return health_required(self.version)

    @property
    def health_ok(self) -> bool:
        return self.health_status_code is not None and 200 <= self.health_status_code < 300

    @property
    def healthy(self) -> bool:
        return (
            self.reached
            and self.queue_services == "ok"
            and self.data_services == "ok"
            and (self.health_ok or not self.health_required)
        )

    def as_dict(self) -> dict:
        return {
            "url": self.url,
            "version": self.version,
            "timestamp": self.timestamp,
            "queue_services": self.queue_services,
            "data_services": self.data_services,
            "api_status_code": self.api_status_code,
            "health_status_code": self.health_status_code,
            "health_status": self.health_status,
            "health_required": self.reached and self.health_required,
            "response_time_ms": self.response_time_ms,
            "healthy": self.healthy,
        }


def describe(probe: Probe) -> str:
    """One line on what the server last showed, for failure messages."""
    if probe.error:
        return probe.error
    parts = [
        f"version {probe.version}",
        f"queue_services {probe.queue_services}",
        f"data_services {probe.data_services}",
    ]
    if probe.health_status_code is None:
        parts.append("/health unreachable")
    else:
        parts.append(f"/health HTTP {probe.health_status_code}")
    if not probe.health_required:
        parts[-1] += f" (not needed before {HEALTH_SINCE_TEXT})"
    return ", ".join(parts)


def unmet(probe: Probe, require_healthy: bool, expected_version: str | None) -> list:
    """The conditions not (yet) met; [] means done."""
    missing = []
    if not probe.reached:
        missing.append("a Chatwoot /api answer")
        return missing
    if require_healthy and not probe.healthy:
        missing.append(f"healthy (queue_services ok, data_services ok, and from {HEALTH_SINCE_TEXT} on /health 2xx)")
    if expected_version and not version_matches(probe.version, expected_version):
        missing.append(f"version {normalize_version(expected_version)}")
    return missing


def parse_api(probe: Probe, status: int, body_text: str, json_value) -> None:
    """Fill ``probe`` from /api's answer (``json_value`` is the decoded JSON, or None if it was not JSON)."""
    probe.api_status_code = status
    if not 200 <= status < 300:
        probe.error = f"{probe.url}{API_PATH} answered HTTP {status}"
        if status in (502, 503, 504):
            probe.error += " (the proxy is up, Chatwoot's rails service is not answering)"
        return
    if not isinstance(json_value, dict) or "version" not in json_value:
        snippet = " ".join(body_text[:80].split())
        probe.error = (
            f"{probe.url}{API_PATH} answered HTTP {status} but not with Chatwoot's JSON (starts with {snippet!r}); "
            "does base_url point at Chatwoot?"
        )
        return
    probe.version = None if json_value.get("version") is None else str(json_value.get("version"))
    probe.timestamp = None if json_value.get("timestamp") is None else str(json_value.get("timestamp"))
    probe.queue_services = json_value.get("queue_services")
    probe.data_services = json_value.get("data_services")


def explain_request_error(url: str, exc: Exception, timeout: float) -> str:
    """Cause and fix for a requests exception (matched by class name: works with or without requests)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "SSLError" in names:
        return (
            f"TLS verification of {url} failed ({exc}); pass ca_path with the CA that signed the server "
            "certificate, or fix the certificate (validate_certs: false only for throwaway tests)"
        )
    if "Timeout" in names:
        return f"{url} did not answer within {timeout} s; is Chatwoot overloaded or is a firewall dropping packets?"
    if "ConnectionError" in names:
        return f"cannot connect to {url} ({exc}); is Chatwoot (or Nginx in front of it) running and is base_url right?"
    if "InvalidURL" in names or "MissingSchema" in names or "InvalidSchema" in names:
        return f"base_url {url!r} is not a usable URL ({exc}); use e.g. https://chat.example.com"
    return f"request to {url} failed: {exc}"


def probe(session, base_url: str, timeout: float, verify, headers: dict | None = None) -> Probe:
    """GET /api and /health once. Never raises for network errors."""
    result = Probe(url=base_url.rstrip("/"))
    api_url = join_url(base_url, API_PATH)
    started = time.monotonic()
    try:
        response = session.get(api_url, timeout=timeout, verify=verify, headers=headers or {})
    except Exception as exc:  # requests.RequestException and friends; classified by name
        result.error = explain_request_error(api_url, exc, timeout)
        return result
    result.response_time_ms = round((time.monotonic() - started) * 1000, 1)
    try:
        value = response.json()
    except ValueError:
        value = None
    parse_api(result, response.status_code, response.text, value)
    try:
        health = session.get(join_url(base_url, HEALTH_PATH), timeout=timeout, verify=verify, headers=headers or {})
    except Exception:  # /health unreachable while /api answered: recorded as no status
        return result
    result.health_status_code = health.status_code
    try:
        body = health.json()
        result.health_status = body.get("status") if isinstance(body, dict) else None
    except ValueError:
        result.health_status = None
    return result


def wait_for(
    probe_once,
    require_healthy: bool,
    expected_version: str | None,
    wait_timeout: float,
    interval: float = 2.0,
    clock=time.monotonic,
    sleep=time.sleep,
):
    """Probe until nothing is unmet or ``wait_timeout`` passed. Returns (last probe, unmet list, attempts, waited)."""
    started = clock()
    attempts = 0
    while True:
        attempts += 1
        last = probe_once()
        missing = unmet(last, require_healthy, expected_version)
        waited = clock() - started
        if not missing or waited >= wait_timeout:
            return last, missing, attempts, round(waited, 1)
        sleep(min(interval, max(0.0, wait_timeout - waited)))
