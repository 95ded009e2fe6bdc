"""Pure logic of the info module: version comparison, /api parsing, health, error texts, the wait loop."""

from __future__ import annotations

import pytest

from ansible_collections.selfhost.chatwoot.plugins.module_utils import _chatwoot_http as ch


@pytest.mark.parametrize(
    ("served", "expected", "equal"),
    [
        ("4.10.1", "v4.10.1", True),
        ("v4.10.1", "4.10.1", True),
        ("4.10.1", "v4.10.1-ce", True),
        ("4.15.1", "4.15.1-ce", True),
        ("4.10.1", "4.10.10", False),
        ("4.11.0", "v4.10.1", False),
        ("4.11.0", "v4.11.0-ee", False),
        (None, "4.10.1", False),
        ("", "", False),
    ],
)
def test_version_matches(served, expected, equal):
    assert ch.version_matches(served, expected) is equal


@pytest.mark.parametrize("tag", ["v4.10.1", "4.10.1", "v4.10.1-ce", " v4.10.1 "])
def test_every_published_tag_form_is_an_expected_version(tag):
    assert ch.expected_version_problem(tag) is None
    assert ch.normalize_version(tag) == "4.10.1"


@pytest.mark.parametrize("tag", ["latest", "latest-ce", "v4.10", "4.10.1-beta", ""])
def test_tags_that_name_no_version_are_refused_with_the_forms(tag):
    problem = ch.expected_version_problem(tag)
    assert problem and "vX.Y.Z, X.Y.Z or vX.Y.Z-ce" in problem


@pytest.mark.parametrize(
    ("version", "required"),
    [("4.10.1", False), ("4.10.99", False), ("4.11.0", True), ("4.15.1", True), ("5.0.0", True), ("x", True)],
)
def test_health_route_is_required_from_4_11_0(version, required):
    assert ch.health_required(version) is required


def api_probe(body, status=200, health=200):
    probe = ch.Probe(url="http://x")
    ch.parse_api(probe, status, str(body), body if isinstance(body, dict) else None)
    probe.health_status_code = health
    return probe


GOOD = {"version": "4.10.1", "timestamp": "2025-01-01 00:00:00", "queue_services": "ok", "data_services": "ok"}
GOOD_411 = {**GOOD, "version": "4.11.0"}


def test_healthy_needs_both_services_on_every_release():
    for body in (GOOD, GOOD_411):
        assert api_probe(body).healthy
        assert not api_probe({**body, "queue_services": "failing"}).healthy
        assert not api_probe({**body, "data_services": "failing"}).healthy


def test_before_4_11_a_missing_health_route_is_healthy():
    # v4.10.x has no /health (404): /api alone decides, and the status is still reported.
    for health in (404, None, 503):
        probe = api_probe(GOOD, health=health)
        assert probe.healthy and probe.as_dict()["health_required"] is False
        assert probe.as_dict()["health_status_code"] == health
    assert "/health HTTP 404 (not needed before 4.11.0)" in ch.describe(api_probe(GOOD, health=404))


def test_from_4_11_health_must_answer_2xx():
    for health in (404, None, 503):
        probe = api_probe(GOOD_411, health=health)
        assert not probe.healthy and probe.as_dict()["health_required"] is True
    assert ch.unmet(api_probe(GOOD_411, health=404), True, None) == [
        "healthy (queue_services ok, data_services ok, and from 4.11.0 on /health 2xx)"
    ]
    assert api_probe({**GOOD, "version": "4.15.1"}, health=200).healthy


def test_parse_api_errors_name_the_cause():
    assert "HTTP 502" in api_probe(GOOD, status=502).error and "rails" in api_probe(GOOD, status=502).error
    not_chatwoot = api_probe("<html>Welcome to nginx</html>")
    assert not not_chatwoot.reached and "not with Chatwoot's JSON" in not_chatwoot.error
    assert "Welcome to nginx" in not_chatwoot.error
    assert not api_probe({"status": "woot"}).reached


def test_unmet_and_describe():
    assert ch.unmet(api_probe(GOOD), True, "v4.10.1") == []
    assert ch.unmet(api_probe(GOOD), True, "v4.10.1-ce") == []
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
    half = ch.probe(FakeSession({"api": FakeResponse(200, GOOD_411), "health": Timeout("t")}), "http://h", 1, True)
    assert half.reached and half.health_status_code is None and not half.healthy


def test_probe_of_a_4_10_server_without_health_route():
    session = FakeSession({"api": FakeResponse(200, GOOD), "health": FakeResponse(404, "<h1>Not Found</h1>")})
    probe = ch.probe(session, "http://127.0.0.1:3000", 3, True)
    assert probe.healthy and probe.health_status_code == 404 and probe.health_status is None
    assert [call[0].rsplit("/", 1)[1] for call in session.calls] == ["api", "health"]


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
