"""Switching TLS mode or names gets a matching certificate in the same run; leaving acme removes its timer.

All on cwlab-nginx-bookworm (acme against pebble inside the VPS). Every test ends back in the scenario's
configuration (acme, one name), which is itself a switch the next test starts from.
"""

from __future__ import annotations

import pytest
from conftest import inventory_name, only_on, run_converge

NAME = "chatwoot.lab.test"
HOST = "cwlab-nginx-bookworm"
CERT_DIR = f"/etc/ssl/selfhost-chatwoot/{NAME}"
TIMER_FILES = [
    "/etc/systemd/system/selfhost-chatwoot-acme-renew.timer",
    "/etc/systemd/system/selfhost-chatwoot-acme-renew.service",
    "/usr/local/sbin/selfhost-chatwoot-acme-renew",
    "/etc/selfhost-chatwoot/acme-renew.json",
]


@pytest.fixture(autouse=True)
def bookworm_only(host):
    only_on(host, HOST, "acme mode against pebble")


def served(host, field: str, name: str = NAME) -> str:
    return host.check_output(
        f"openssl s_client -connect 127.0.0.1:443 -servername {name} < /dev/null 2>/dev/null "
        f"| openssl x509 -noout {field}"
    )


def converge(host, extra_vars: dict) -> str:
    run = run_converge(inventory_name(host), extra_vars)
    assert run.returncode == 0, run.stdout[-4000:]
    return " ".join(run.stdout.split())  # the output callback may wrap long messages


def assert_pebble_certificate_for(host, names: list[str]) -> None:
    assert "Pebble Intermediate CA" in served(host, "-issuer")
    sans = served(host, "-ext subjectAltName")
    assert sorted(part.strip()[4:] for part in sans.splitlines()[1].split(",")) == sorted(names)
    host.check_output("curl --silent --fail https://localhost:15000/roots/0 -o /tmp/pebble-root.pem")
    for name in names:
        assert (
            host.run(f"curl -sS --fail --resolve {name}:443:127.0.0.1 --cacert /tmp/pebble-root.pem https://{name}/").rc
            == 0
        ), name


def assert_timer_absent(host) -> None:
    for path in TIMER_FILES:
        assert not host.file(path).exists, path
    assert host.run("systemctl is-enabled selfhost-chatwoot-acme-renew.timer").rc != 0
    assert host.run("systemctl is-active selfhost-chatwoot-acme-renew.timer").rc != 0
    assert "selfhost-chatwoot-acme-renew" not in host.check_output("systemctl list-timers --all --no-pager")


def test_selfsigned_then_acme_gets_an_acme_certificate_at_once(host):
    try:
        out = converge(host, {"nginx_tls_mode": "selfsigned"})
        issuer, subject = served(host, "-issuer"), served(host, "-subject")
        assert issuer.replace("issuer=", "") == subject.replace("subject=", ""), "not self-signed"
        # Leaving acme removes the renewal timer, its units, client and settings.
        assert_timer_absent(host)
    finally:
        # The self-signed certificate (365 days left) sits where acme keeps its own: it is replaced now.
        out = converge(host, {})
    assert "is self-signed, not issued by the ACME CA" in out
    assert_pebble_certificate_for(host, [NAME])
    timer = host.service("selfhost-chatwoot-acme-renew.timer")
    assert timer.is_enabled and timer.is_running


def test_adding_and_removing_a_name_reissues_at_once(host):
    try:
        out = converge(host, {"nginx_server_aliases": [f"www.{NAME}"]})
        assert f"it names {NAME}, the configuration {NAME}, www.{NAME}" in out
        assert_pebble_certificate_for(host, [NAME, f"www.{NAME}"])
    finally:
        out = converge(host, {})
    assert f"it names {NAME}, www.{NAME}, the configuration {NAME}" in out
    assert_pebble_certificate_for(host, [NAME])


def test_provided_then_acme_gets_an_acme_certificate_at_once(host):
    provided = {
        "nginx_tls_mode": "provided",
        # The lab CA's certificate of pebble's listener (prepare.yml): any valid pair will do here.
        "nginx_tls_certificate_path": "/etc/ssl/lab/pebble-listener.crt",
        "nginx_tls_key_path": "/etc/ssl/lab/pebble-listener.key",
    }
    try:
        converge(host, provided)
        assert "selfhost.chatwoot lab CA" in served(host, "-issuer")
        assert_timer_absent(host)
        # A host that never ran acme has no acme certificate yet: the first order goes through the
        # HTTP-only site while the provided one is still in place.
        host.check_output(f"rm -f {CERT_DIR}/fullchain.pem")
    finally:
        converge(host, {})
    assert_pebble_certificate_for(host, [NAME])
    assert host.service("selfhost-chatwoot-acme-renew.timer").is_running


def test_a_second_run_keeps_a_fitting_certificate(host):
    serial = served(host, "-serial")
    out = converge(host, {})
    assert "does not fit" not in out
    assert served(host, "-serial") == serial
