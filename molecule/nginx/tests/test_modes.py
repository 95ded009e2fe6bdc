"""What differs between the TLS modes: the served certificate, HSTS, body size, refusals, ACME renewal."""

from __future__ import annotations

import json
import re

import pytest
from conftest import inventory_name, only_on, run_converge, state_fingerprint

NAME = "chatwoot.lab.test"
CURL = f"curl --silent --show-error --resolve {NAME}:443:127.0.0.1"
SITE = "/etc/nginx/conf.d/selfhost-chatwoot.conf"


def served_certificate(host, field: str) -> str:
    return host.check_output(
        f"openssl s_client -connect 127.0.0.1:443 -servername {NAME} < /dev/null 2>/dev/null "
        f"| openssl x509 -noout {field}"
    )


def response_headers(host, options: str = "--insecure") -> str:
    return host.check_output(f"{CURL} {options} --output /dev/null --dump-header - https://{NAME}/").lower()


# --- selfsigned (trixie) ----------------------------------------------------------------------------------


def test_selfsigned_certificate_names(host):
    only_on(host, "cwlab-nginx-trixie", "selfsigned mode")
    subject = served_certificate(host, "-subject")
    issuer = served_certificate(host, "-issuer")
    assert f"CN = {NAME}" in subject or f"CN={NAME}" in subject
    assert subject.replace("subject=", "") == issuer.replace("issuer=", ""), "not self-signed"
    sans = served_certificate(host, "-ext subjectAltName")
    assert f"DNS:{NAME}" in sans and f"DNS:www.{NAME}" in sans
    key = host.file(f"/etc/ssl/selfhost-chatwoot/{NAME}/privkey.pem")
    assert key.mode == 0o600 and key.user == "root"


APP_HSTS = "max-age=600; includesubdomains; preload"  # what files/echo_upstream.py sends, like Rails' FORCE_SSL


def hsts_lines(headers: str) -> list[str]:
    return [line.strip() for line in headers.splitlines() if line.startswith("strict-transport-security:")]


def test_the_upstream_sends_its_own_hsts(host):
    """Without this, the two tests below would pass with an upstream that sends nothing."""
    direct = host.check_output("curl --silent --output /dev/null --dump-header - http://127.0.0.1:3000/").lower()
    assert hsts_lines(direct) == [f"strict-transport-security: {APP_HSTS}"]


def test_hsts_when_enabled(host):
    only_on(host, "cwlab-nginx-trixie", "HSTS is enabled there")
    # Exactly one header, nginx's: the app's is hidden.
    assert hsts_lines(response_headers(host)) == ["strict-transport-security: max-age=63072000; includesubdomains"]


def test_hsts_also_on_the_write_freeze_answer(host):
    only_on(host, "cwlab-nginx-trixie", "HSTS is enabled there")
    host.check_output("mkdir -p /run/selfhost-chatwoot && touch /run/selfhost-chatwoot/write-freeze")
    try:
        headers = host.check_output(
            f"{CURL} --insecure --output /dev/null --dump-header - --data x=1 https://{NAME}/api/v1/x"
        ).lower()
    finally:
        host.run("rm -f /run/selfhost-chatwoot/write-freeze")
    assert headers.startswith("http/") and " 503" in headers.splitlines()[0]
    assert hsts_lines(headers) == ["strict-transport-security: max-age=63072000; includesubdomains"]


def test_hsts_off_means_none_even_when_the_app_sends_one(host):
    only_on(host, "cwlab-nginx-provided", "HSTS is left at its default (off) there")
    assert hsts_lines(response_headers(host, "--cacert /etc/ssl/lab/ca.crt")) == []


def test_client_max_body_size_is_above_the_app_limit(host):
    only_on(host, "cwlab-nginx-trixie", "nginx_app_max_upload_mb is 1 there (so 3m)")
    assert "client_max_body_size 3m;" in host.check_output("nginx -T 2>/dev/null")
    # Over the app's 1 MB: still reaches the app, which answers with its own message.
    over_app_limit = host.check_output(
        f"head -c 2097152 /dev/zero | {CURL} --insecure --fail --data-binary @- https://{NAME}/api/v1/upload"
    )
    assert json.loads(over_app_limit)["body_length"] == 2097152
    big = host.check_output(
        f"head -c 4194304 /dev/zero | {CURL} --insecure --output /dev/null --write-out '%{{http_code}}' "
        f"--data-binary @- https://{NAME}/api/v1/upload"
    )
    assert big == "413"


def test_the_default_body_limit_is_above_chatwoots_40_mb(host):
    only_on(host, "cwlab-nginx-provided", "the defaults apply there")
    assert "client_max_body_size 51m;" in host.check_output("nginx -T 2>/dev/null")


def test_broken_config_never_goes_live(host):
    only_on(host, "cwlab-nginx-trixie", "one VPS is enough to prove it")
    site = host.file(SITE).content_string
    master = host.check_output("cat /run/nginx.pid")
    run = run_converge(inventory_name(host), {"nginx_server_extra_config": "this_is_not_a_directive on;"})
    assert run.returncode != 0, run.stdout[-3000:]
    assert "failed to validate" in run.stdout
    assert "unknown directive" in run.stdout and "this_is_not_a_directive" in run.stdout
    assert host.file(SITE).content_string == site
    assert host.run("grep -r this_is_not_a_directive /etc/nginx").rc == 1
    assert backups_left(host) == "", "the refused write left a copy of the live file behind"
    assert host.run("nginx -t").rc == 0
    assert host.check_output("cat /run/nginx.pid") == master
    assert json.loads(host.check_output(f"{CURL} --insecure --fail https://{NAME}/still-up"))["path"] == "/still-up"


def backups_left(host) -> str:
    return host.check_output("find /etc/nginx -name '*~' | sort")


def test_a_reload_nginx_cannot_apply_puts_the_previous_file_back(host):
    """`nginx -t` accepts a listen address already in use (the upstream's port); only the reload fails, which
    systemd reports as a success. The role notices, puts the previous file back and says so."""
    only_on(host, "cwlab-nginx-trixie", "one VPS is enough to prove it")
    site = host.file(SITE).content_string
    assert host.run("ss --listening --tcp --numeric | grep -q '127.0.0.1:3000 '").rc == 0
    run = run_converge(inventory_name(host), {"nginx_server_extra_config": "listen 127.0.0.1:3000;"})
    assert run.returncode != 0, run.stdout[-3000:]
    said = " ".join(run.stdout.split())  # the output callback may wrap long messages
    assert "nginx did not apply the new /etc/nginx/conf.d/selfhost-chatwoot.conf" in said, run.stdout[-3000:]
    assert "The previous file is back in place and live" in said
    assert host.file(SITE).content_string == site
    assert backups_left(host) == ""
    assert json.loads(host.check_output(f"{CURL} --insecure --fail https://{NAME}/still-up"))["path"] == "/still-up"
    # Nothing is pending: the next run with the same input has nothing to do.
    again = run_converge(inventory_name(host), {})
    assert again.returncode == 0 and re.search(r"changed=0 ", again.stdout), again.stdout[-3000:]


def test_a_valid_change_goes_live(host):
    only_on(host, "cwlab-nginx-trixie", "one VPS is enough to prove it")
    try:
        run = run_converge(inventory_name(host), {"nginx_server_extra_config": "add_header X-Lab-Marker yes always;"})
        assert run.returncode == 0, run.stdout[-3000:]
        assert "x-lab-marker: yes" in response_headers(host)
    finally:
        assert run_converge(inventory_name(host), {}).returncode == 0
    assert "x-lab-marker" not in response_headers(host)


# --- provided (trixie) ------------------------------------------------------------------------------------


def test_provided_certificate_is_served_and_verifies(host):
    only_on(host, "cwlab-nginx-provided", "provided mode")
    served = served_certificate(host, "-fingerprint -sha256")
    given = host.check_output("openssl x509 -noout -fingerprint -sha256 -in /etc/ssl/lab/chatwoot.crt")
    assert served == given
    assert host.run(f"{CURL} --cacert /etc/ssl/lab/ca.crt --fail https://{NAME}/").rc == 0


def test_no_hsts_by_default(host):
    only_on(host, "cwlab-nginx-provided", "HSTS is left at its default (off) there")
    assert "strict-transport-security" not in response_headers(host, "--cacert /etc/ssl/lab/ca.crt")


def test_mismatched_key_never_goes_live(host):
    only_on(host, "cwlab-nginx-provided", "provided mode")
    site = host.file(SITE).content_string
    run = run_converge(inventory_name(host), {"nginx_tls_key_path": "/etc/ssl/lab/other.key"})
    assert run.returncode != 0
    assert "failed to validate" in run.stdout and "key values mismatch" in run.stdout, run.stdout[-3000:]
    assert host.file(SITE).content_string == site
    assert host.run(f"{CURL} --cacert /etc/ssl/lab/ca.crt --fail https://{NAME}/").rc == 0


@pytest.mark.parametrize(
    ("extra_vars", "message"),
    [
        ({"nginx_tls_key_path": ""}, "nginx_tls_mode=provided needs absolute nginx_tls_certificate_path AND"),
        ({"nginx_tls_certificate_path": "/etc/ssl/lab/missing.crt"}, "/etc/ssl/lab/missing.crt missing"),
        ({"nginx_worker_rlimit_nofile": 5000}, "must be at least twice"),
        ({"nginx_tls_mode": "acme"}, "needs nginx_acme_terms_agreed=true"),
        ({"nginx_tls_mode": "letsencrypt"}, "value of nginx_tls_mode must be one of: acme, provided, selfsigned"),
        ({"nginx_client_max_body_size": "40m"}, "nginx_client_max_body_size=40m is at or below Chatwoot's upload"),
        ({"nginx_client_max_body_size": "2m", "nginx_app_max_upload_mb": 2}, "set it above 2m"),
    ],
)
def test_bad_input_fails_before_any_change(host, extra_vars, message):
    only_on(host, "cwlab-nginx-provided", "one VPS is enough to prove it")
    before = state_fingerprint(host)
    run = run_converge(inventory_name(host), extra_vars)
    assert run.returncode != 0
    assert message in " ".join(run.stdout.split()), run.stdout[-3000:]
    assert re.search(r"changed=0 ", run.stdout)
    assert state_fingerprint(host) == before


# --- acme (bookworm, pebble) ------------------------------------------------------------------------------


def test_acme_certificate_from_pebble(host):
    only_on(host, "cwlab-nginx-bookworm", "acme mode against pebble")
    issuer = served_certificate(host, "-issuer")
    assert "Pebble Intermediate CA" in issuer
    assert f"DNS:{NAME}" in served_certificate(host, "-ext subjectAltName")
    host.check_output("curl --silent --fail https://localhost:15000/roots/0 -o /tmp/pebble-root.pem")
    assert host.run(f"{CURL} --cacert /tmp/pebble-root.pem --fail https://{NAME}/").rc == 0
    # No challenge response is left behind.
    assert host.check_output("ls -A /var/www/acme-challenge/.well-known/acme-challenge/") == ""


def test_acme_renewal_timer(host):
    only_on(host, "cwlab-nginx-bookworm", "acme mode against pebble")
    timer = host.service("selfhost-chatwoot-acme-renew.timer")
    assert timer.is_enabled and timer.is_running
    config = json.loads(host.file("/etc/selfhost-chatwoot/acme-renew.json").content_string)
    assert config["directory_url"] == "https://localhost:14000/dir"


def test_renewal_client_waits_until_due(host):
    only_on(host, "cwlab-nginx-bookworm", "acme mode against pebble")
    serial = served_certificate(host, "-serial")
    host.check_output("systemctl start selfhost-chatwoot-acme-renew.service")
    out = host.check_output("journalctl --unit selfhost-chatwoot-acme-renew.service --lines 5 --no-pager")
    assert "nothing to do" in out
    assert served_certificate(host, "-serial") == serial


def test_renewal_client_renews_against_pebble_and_reloads(host):
    only_on(host, "cwlab-nginx-bookworm", "acme mode against pebble")
    serial = served_certificate(host, "-serial")
    result = host.run("python3 /usr/local/sbin/selfhost-chatwoot-acme-renew --force")
    assert result.rc == 0, result.stderr
    assert "renewed" in result.stdout
    assert served_certificate(host, "-serial") != serial
    assert "Pebble Intermediate CA" in served_certificate(host, "-issuer")
    assert host.check_output("ls -A /var/www/acme-challenge/.well-known/acme-challenge/") == ""
