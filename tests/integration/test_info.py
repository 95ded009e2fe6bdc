"""selfhost.chatwoot.info through Ansible: a local HTTP(S) server on 127.0.0.1, and the Chatwoot double."""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import threading

import pytest
from support.playbook_runner import run_module

from ansible_collections.selfhost.chatwoot.plugins.module_utils._releases import HEALTH_ROUTE_SINCE, parse_version


class FakeChatwoot:
    """/api and /health with answers a test can change while the module polls."""

    def __init__(self):
        self.version = "4.10.1"
        self.queue = "ok"
        self.data = "ok"
        self.api_status = 200
        self.ready_after = 0  # /api answers 503 for the first N requests
        self.health_route = True  # False: /health is a 404, as on Chatwoot before 4.11.0
        self.api_requests = 0
        self.seen_headers = []

    def handler(self):
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.seen_headers.append(dict(self.headers))
                if self.path == "/api":
                    fake.api_requests += 1
                    if fake.api_requests <= fake.ready_after:
                        return self.reply(503, {"error": "starting"})
                    body = {
                        "version": fake.version,
                        "timestamp": "2025-06-01 12:00:00",
                        "queue_services": fake.queue,
                        "data_services": fake.data,
                    }
                    return self.reply(fake.api_status, body)
                if self.path == "/health" and fake.health_route:
                    return self.reply(200, {"status": "woot"})
                return self.reply(404, {"error": "not found"})

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def serve(fake, tls_context=None):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    if tls_context is not None:
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if tls_context else "http"
    return server, f"{scheme}://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def chatwoot_http():
    fake = FakeChatwoot()
    server, url = serve(fake)
    yield fake, url
    server.shutdown()
    server.server_close()


def ok(result):
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False
    return result


def test_reads_version_and_health(chatwoot_http):
    fake, url = chatwoot_http
    for check in (True, False):
        result = ok(run_module("info", {"base_url": url + "/"}, check=check))
        assert result["version"] == "4.10.1" and result["healthy"] is True
        assert (result["queue_services"], result["data_services"]) == ("ok", "ok")
        assert result["health_status"] == "woot" and result["api_status_code"] == 200
        assert result["response_time_ms"] >= 0 and result["attempts"] == 1 and result["url"] == url
    fake.data = "failing"
    unhealthy = ok(run_module("info", {"base_url": url}))
    assert unhealthy["healthy"] is False and unhealthy["data_services"] == "failing"


def test_expected_version_in_every_published_tag_form(chatwoot_http):
    _fake, url = chatwoot_http
    for tag in ("v4.10.1", "4.10.1", "v4.10.1-ce"):
        ok(run_module("info", {"base_url": url, "expected_version": tag}))
    wrong = run_module("info", {"base_url": url, "expected_version": "v4.11.0-ce"})
    assert wrong["failed"] and "serves version 4.10.1, expected 4.11.0" in wrong["msg"] and wrong["changed"] is False
    latest = run_module("info", {"base_url": url, "expected_version": "latest"})
    assert latest["failed"] and "not a release version" in latest["msg"] and "vX.Y.Z-ce" in latest["msg"]


def test_health_route_is_needed_only_from_4_11(chatwoot_http):
    fake, url = chatwoot_http
    fake.health_route = False  # Chatwoot 4.10.x: /health is a 404
    old = ok(run_module("info", {"base_url": url, "wait": True, "wait_timeout": 10, "expected_version": "v4.10.1"}))
    assert old["healthy"] is True and old["health_required"] is False
    assert old["health_status_code"] == 404 and old["attempts"] == 1

    fake.version = "4.11.0"
    new = ok(run_module("info", {"base_url": url}))
    assert new["healthy"] is False and new["health_required"] is True and new["health_status_code"] == 404
    waited = run_module("info", {"base_url": url, "wait": True, "wait_timeout": 2, "wait_interval": 0.5})
    assert waited["failed"] and "/health 2xx" in waited["msg"] and "/health HTTP 404" in waited["msg"]
    fake.health_route = True
    assert ok(run_module("info", {"base_url": url}))["healthy"] is True


def test_headers_are_sent(chatwoot_http):
    fake, url = chatwoot_http
    ok(run_module("info", {"base_url": url, "headers": {"X-Forwarded-Proto": "https"}}))
    assert fake.seen_headers and all(h.get("X-Forwarded-Proto") == "https" for h in fake.seen_headers)


def test_wait_until_healthy_and_version(chatwoot_http):
    fake, url = chatwoot_http
    fake.ready_after = 2
    result = ok(run_module("info", {"base_url": url, "wait": True, "wait_timeout": 60, "wait_interval": 0.2}))
    assert result["healthy"] is True and result["attempts"] == 3

    fake.api_requests, fake.ready_after, fake.queue = 0, 0, "failing"
    timeout = run_module(
        "info",
        {"base_url": url, "wait": True, "wait_timeout": 2, "wait_interval": 0.5, "expected_version": "4.11.0"},
    )
    assert timeout["failed"] and "timed out after" in timeout["msg"]
    assert "healthy" in timeout["msg"] and "version 4.11.0" in timeout["msg"]
    assert "last seen: version 4.10.1, queue_services failing" in timeout["msg"]
    assert timeout["attempts"] >= 2


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_down_url_fails_clearly():
    url = f"http://127.0.0.1:{free_port()}"
    down = run_module("info", {"base_url": url, "timeout": 3})
    assert down["failed"] and "cannot connect to" in down["msg"] and "is Chatwoot" in down["msg"]
    assert down["healthy"] is False and down["changed"] is False
    waited = run_module("info", {"base_url": url, "wait": True, "wait_timeout": 2, "wait_interval": 0.5})
    assert waited["failed"] and "timed out after" in waited["msg"] and "last seen: cannot connect" in waited["msg"]
    bad = run_module("info", {"base_url": "chat.example.com"})
    assert bad["failed"] and "must start with http:// or https://" in bad["msg"]


def test_not_chatwoot(chatwoot_http):
    _fake, url = chatwoot_http
    result = run_module("info", {"base_url": url + "/nothing-here"})
    assert result["failed"] and "HTTP 404" in result["msg"]


def test_tls_verification_and_ca_path(tmp_path):
    trustme = pytest.importorskip("trustme", reason="trustme is installed by `make setup`")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    other_ca_file = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca_file))

    fake = FakeChatwoot()
    server, url = serve(fake, context)
    try:
        untrusted = run_module("info", {"base_url": url, "timeout": 5})
        assert untrusted["failed"] and "TLS verification" in untrusted["msg"] and "ca_path" in untrusted["msg"]
        wrong_ca = run_module("info", {"base_url": url, "ca_path": str(other_ca_file), "timeout": 5})
        assert wrong_ca["failed"] and "TLS verification" in wrong_ca["msg"]
        trusted = ok(run_module("info", {"base_url": url, "ca_path": str(ca_file)}))
        assert trusted["healthy"] is True and trusted["version"] == "4.10.1"
        unverified = ok(run_module("info", {"base_url": url, "validate_certs": False}))
        assert unverified["version"] == "4.10.1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.lab
# Both branches of /health: the oldest release has no route, the newest has it (from v4.11.0).
@pytest.mark.parametrize("chatwoot_image", ["oldest", "newest"], indirect=True)
def test_against_the_chatwoot_double(chatwoot_stack):
    base = chatwoot_stack.base_url
    headers = {"X-Forwarded-Proto": "https"}
    tag = chatwoot_stack.image.rsplit(":", 1)[1]
    has_health_route = parse_version(tag) >= HEALTH_ROUTE_SINCE
    result = ok(run_module("info", {"base_url": base, "headers": headers, "wait": True, "wait_timeout": 120}))
    assert result["healthy"] is True and result["queue_services"] == "ok" and result["data_services"] == "ok"
    assert result["attempts"] == 1, "the stack fixture waited for /api already"
    assert result["health_required"] is has_health_route
    assert result["health_status_code"] == (200 if has_health_route else 404)
    served = result["version"]
    assert served and f"v{served}" == tag
    for form in (tag, tag[1:], f"{tag}-ce"):
        ok(run_module("info", {"base_url": base, "headers": headers, "expected_version": form}))

    # Redis down: the double reports queue_services failing; waiting for health then times out naming it.
    chatwoot_stack.redis.container.stop(timeout=2)
    failing = ok(run_module("info", {"base_url": base, "headers": headers}))
    assert failing["healthy"] is False and failing["queue_services"] != "ok"
    timeout = run_module(
        "info", {"base_url": base, "headers": headers, "wait": True, "wait_timeout": 3, "wait_interval": 1}
    )
    assert timeout["failed"] and "queue_services" in timeout["msg"] and "timed out" in timeout["msg"]
