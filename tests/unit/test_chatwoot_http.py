"""Pure logic of the info module: version comparison, /api parsing, health, error texts, the wait loop."""

from __future__ import annotations

import pytest

from ansible_collections.selfhost.chatwoot.plugins.module_utils import _chatwoot_http as ch


@pytest.mark.parametrize(
    ("served", "expected", "equal"),
    [
        ("4.10.1", "v4.10.1", True),
        ("v4.10.1", "4.10.1", True),
        ("4.10.1", "4.10.10", False),
        ("4.11.0", "v4.10.1", False),
        (None, "4.10.1", False),
        ("", "", False),
    ],
)
def test_version_matches(served, expected, equal):
    assert ch.version_matches(served, expected) is equal


def api_probe(body, status=200, health=200):
    probe = ch.Probe(url="http://x")
    ch.parse_api(probe, status, str(body), body if isinstance(body, dict) else None)
    probe.health_status_code = health
    return probe


GOOD = {"version": "4.10.1", "timestamp": "2025-01-01 00:00:00", "queue_services": "ok", "data_services": "ok"}


def test_healthy_needs_both_services_and_health():
    assert api_probe(GOOD).healthy
    assert not api_probe({**GOOD, "queue_services": "failing"}).healthy
    assert not api_probe({**GOOD, "data_services": "failing"}).healthy
    assert not api_probe(GOOD, health=None).healthy
    assert not api_probe(GOOD, health=503).healthy


def test_parse_api_errors_name_the_cause():
    assert "HTTP 502" in api_probe(GOOD, status=502).error and "rails" in api_probe(GOOD, status=502).error
    not_chatwoot = api_probe("<html>Welcome to nginx</html>")
    assert not not_chatwoot.reached and "not with Chatwoot's JSON" in not_chatwoot.error
    assert "Welcome to nginx" in not_chatwoot.error
    assert not api_probe({"status": "woot"}).reached


def test_unmet_and_describe():
    assert ch.unmet(api_probe(GOOD), True, "v4.10.1") == []
    assert ch.unmet(api_probe(GOOD), True, "4.11.0") == ["version 4.11.0"]
    failing = api_probe({**GOOD, "data_services": "failing"})
    assert ch.unmet(failing, False, None) == []
    assert ch.unmet(failing, True, None)[0].startswith("healthy")
    assert "data_services failing" in ch.describe(failing)
    down = ch.Probe(url="http://x", error="cannot connect")
    assert ch.unmet(down, False, None) == ["a Chatwoot /api answer"]
    assert ch.describe(down) == "cannot connect"


requests = pytest.importorskip("requests")
SSLError = requests.exceptions.SSLError
ConnectTimeout = requests.exceptions.ConnectTimeout
Timeout = requests.exceptions.ReadTimeout
ConnectionError_ = requests.exceptions.ConnectionError


def test_explain_request_error():
    assert "ca_path" in ch.explain_request_error("https://x/api", SSLError("bad cert"), 5)
    assert "within 5 s" in ch.explain_request_error("https://x/api", ConnectTimeout("t"), 5)
    assert "is Chatwoot" in ch.explain_request_error("https://x/api", ConnectionError_("refused"), 5)


class FakeResponse:
    def __init__(self, status, body):
        self.status_code, self._body = status, body
        self.text = body if isinstance(body, str) else "json"

    def json(self):
        if isinstance(self._body, str):
            raise ValueError("not json")
        return self._body


class FakeSession:
    def __init__(self, answers):
        self.answers, self.calls = answers, []

    def get(self, url, timeout, verify, headers):
        self.calls.append((url, verify, headers))
        answer = self.answers[url.rsplit("/", 1)[1]]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_probe_reads_api_and_health_with_options():
    session = FakeSession({"api": FakeResponse(200, GOOD), "health": FakeResponse(200, {"status": "woot"})})
    probe = ch.probe(session, "https://chat.example.test/", 3, "/ca.pem", {"X-Forwarded-Proto": "https"})
    assert probe.healthy and probe.version == "4.10.1" and probe.health_status == "woot"
    assert probe.response_time_ms is not None and probe.response_time_ms >= 0
    assert session.calls[0] == ("https://chat.example.test/api", "/ca.pem", {"X-Forwarded-Proto": "https"})
    assert session.calls[1][0] == "https://chat.example.test/health"


def test_probe_records_network_errors():
    probe = ch.probe(FakeSession({"api": ConnectionError_("refused")}), "http://127.0.0.1:9", 1, True)
    assert not probe.reached and "cannot connect" in probe.error
    half = ch.probe(FakeSession({"api": FakeResponse(200, GOOD), "health": Timeout("t")}), "http://h", 1, True)
    assert half.reached and half.health_status_code is None and not half.healthy


def test_wait_for_stops_when_met_and_times_out_otherwise():
    now = [0.0]
    sequence = [ch.Probe(url="u", error="refused"), api_probe({**GOOD, "queue_services": "failing"}), api_probe(GOOD)]

    def probe_once():
        return sequence.pop(0) if len(sequence) > 1 else sequence[0]

    def sleep(seconds):
        now[0] += seconds

    last, missing, attempts, waited = ch.wait_for(probe_once, True, None, 60, 2, clock=lambda: now[0], sleep=sleep)
    assert missing == [] and attempts == 3 and waited == 4.0 and last.healthy

    now[0] = 0.0
    last, missing, attempts, waited = ch.wait_for(
        lambda: api_probe(GOOD), True, "4.11.0", 10, 3, clock=lambda: now[0], sleep=sleep
    )
    assert missing == ["version 4.11.0"] and waited == 10.0 and attempts == 5
