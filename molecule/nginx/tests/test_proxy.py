"""nginx in front of the stand-in upstream: redirect, TLS, proxy headers, WebSockets, limits (all three VPSs).

Every request goes to 127.0.0.1 inside the VPS; chatwoot.lab.test resolves to loopback there (prepare.yml).
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import inventory_name, run_converge, state_fingerprint

NAME = "chatwoot.lab.test"
CURL = f"curl --silent --show-error --resolve {NAME}:443:127.0.0.1 --resolve {NAME}:80:127.0.0.1"


@pytest.fixture
def cafile(host) -> str | None:
    """The CA that must verify the served certificate (None: self-signed, checked separately)."""
    name = inventory_name(host)
    if name == "cwlab-nginx-provided":
        return "/etc/ssl/lab/ca.crt"
    if name == "cwlab-nginx-bookworm":
        # pebble makes a new root at every start; its management API (loopback) hands it out.
        host.check_output("curl --silent --fail https://localhost:15000/roots/0 -o /tmp/pebble-root.pem")
        return "/tmp/pebble-root.pem"
    return None


def tls_option(cafile: str | None) -> str:
    return f"--cacert {cafile}" if cafile else "--insecure"


def headers_named(seen: dict, name: str) -> list[str]:
    return [value for key, value in seen["headers"] if key.lower() == name.lower()]


def test_nginx_is_running_with_a_valid_configuration(host):
    assert host.service("nginx").is_running
    assert host.service("nginx").is_enabled
    assert host.run("nginx -t").rc == 0
    assert not host.file("/etc/nginx/sites-enabled/default").exists


def test_http_redirects_to_https_with_308(host):
    out = host.check_output(
        f"{CURL} --output /dev/null --write-out '%{{http_code}} %{{redirect_url}}' 'http://{NAME}/app/login?x=1'"
    )
    assert out == f"308 https://{NAME}/app/login?x=1"


def test_post_is_redirected_with_308_too(host):
    out = host.check_output(
        f"{CURL} --output /dev/null --write-out '%{{http_code}}' --data a=b 'http://{NAME}/api/v1/x'"
    )
    assert out == "308"


def test_acme_challenge_path_is_served_not_redirected(host):
    probe = "/var/www/acme-challenge/.well-known/acme-challenge/cwlab-probe"
    host.check_output(f"echo probe-content > {probe}")
    try:
        out = host.check_output(
            f"{CURL} --write-out ' %{{http_code}}' 'http://{NAME}/.well-known/acme-challenge/cwlab-probe'"
        )
    finally:
        host.run(f"rm -f {probe}")
    assert out == "probe-content\n 200"


def test_https_forwards_the_client_and_scheme(host, cafile):
    out = host.check_output(
        f"{CURL} --fail {tls_option(cafile)} -H 'api_access_token: tok-123' 'https://{NAME}/api/v1/profile?x=1'"
    )
    seen = json.loads(out)
    assert seen["path"] == "/api/v1/profile?x=1"
    assert headers_named(seen, "Host") == [NAME]
    assert headers_named(seen, "X-Real-IP") == ["127.0.0.1"]
    assert headers_named(seen, "X-Forwarded-For") == ["127.0.0.1"]
    assert headers_named(seen, "X-Forwarded-Proto") == ["https"]
    assert headers_named(seen, "X-Forwarded-Host") == [NAME]
    assert headers_named(seen, "X-Forwarded-Port") == ["443"]
    assert headers_named(seen, "api_access_token") == ["tok-123"], "underscores_in_headers is off"
    assert headers_named(seen, "Connection") == ["close"]


# What a client sends to choose the address, scheme, host or port it is seen with: Forwarded (read by Rack 3
# before X-Forwarded-For), the X-Forwarded-* family, the Client-IP family, and the spellings with "_" that
# Puma folds into the same header.
SPOOFED = {
    "Forwarded": "for=198.51.100.9;proto=http;host=evil.test",
    "X-Forwarded-For": "198.51.100.9",
    "X_Forwarded_For": "198.51.100.10",
    "X-Forwarded_For": "198.51.100.11",
    "X-Real-IP": "198.51.100.12",
    "X_Real_IP": "198.51.100.13",
    "X-Forwarded-Host": "evil.test",
    "X_Forwarded_Host": "evil.test",
    "X-Forwarded-Port": "8443",
    "X-Forwarded-Proto": "http",
    "X-Forwarded-Ssl": "off",
    "X_Forwarded_Ssl": "off",
    "X-Forwarded-Scheme": "http",
    "Client-IP": "198.51.100.14",
    "Client_IP": "198.51.100.15",
    "X-Client-IP": "198.51.100.16",
    "X-Cluster-Client-IP": "198.51.100.17",
    "X_Cluster_Client_IP": "198.51.100.18",
    "True-Client-IP": "198.51.100.19",
}
# What the upstream must see instead: nginx's own values, nothing else of the family.
FORWARDED_BY_NGINX = {
    "x-real-ip": ["127.0.0.1"],
    "x-forwarded-for": ["127.0.0.1"],
    "x-forwarded-proto": ["https"],
    "x-forwarded-host": [NAME],
    "x-forwarded-port": ["443"],
}


def forwarding_headers(seen: dict) -> dict[str, list[str]]:
    """The upstream's view, keyed the way Puma keys them (lower case, '_' for '-')."""
    family = {key.lower().replace("_", "-") for key in SPOOFED} | set(FORWARDED_BY_NGINX)
    found: dict[str, list[str]] = {}
    for key, value in seen["headers"]:
        folded = key.lower().replace("_", "-")
        if folded in family:
            found.setdefault(folded, []).append(value)
    return found


def test_client_forwarding_headers_never_reach_the_app(host, cafile):
    spoof = " ".join(f"-H '{key}: {value}'" for key, value in SPOOFED.items())
    seen = json.loads(host.check_output(f"{CURL} --fail {tls_option(cafile)} {spoof} 'https://{NAME}/api/v1/x'"))
    assert forwarding_headers(seen) == FORWARDED_BY_NGINX, seen["headers"]


def test_client_forwarding_headers_never_reach_the_app_on_cable(host, cafile):
    spoof = " ".join(f"'{key}={value}'" for key, value in SPOOFED.items())
    out = host.check_output(f"python3 /usr/local/bin/ws_client.py wss://{NAME}/cable '{cafile or ''}' {spoof}")
    seen = json.loads(out)["upstream_saw"]
    assert forwarding_headers(seen) == FORWARDED_BY_NGINX, seen["headers"]


def test_every_location_that_proxies_clears_the_same_headers(host):
    dump = host.check_output("nginx -T 2>/dev/null")
    assert dump.count("proxy_pass http://selfhost_chatwoot;") == 2
    for spelling in ["Forwarded", "X_Forwarded_For", "X-Forwarded_For", "Client_IP", "X_Cluster-Client_IP"]:
        assert dump.count(f'proxy_set_header {spelling} "";') == 2, spelling
    assert dump.count("proxy_set_header X-Forwarded-For $remote_addr;") == 2
    assert "$proxy_add_x_forwarded_for" not in dump


def test_websocket_upgrade_on_cable(host, cafile):
    out = host.check_output(f"python3 /usr/local/bin/ws_client.py wss://{NAME}/cable {cafile or ''}")
    result = json.loads(out)
    assert result["echo"] == "ping through nginx"
    seen = result["upstream_saw"]
    assert seen["path"] == "/cable"
    assert headers_named(seen, "Connection") == ["upgrade"], "exactly one Connection header, and it is upgrade"
    assert [v.lower() for v in headers_named(seen, "Upgrade")] == ["websocket"]
    assert headers_named(seen, "X-Forwarded-Proto") == ["https"]
    assert headers_named(seen, "X-Real-IP") == ["127.0.0.1"]


def test_cable_config_uses_the_upgrade_map_and_no_empty_connection_header(host):
    dump = host.check_output("nginx -T 2>/dev/null")
    assert "map $http_upgrade $connection_upgrade" in dump
    assert 'Connection ""' not in dump and "Connection ''" not in dump
    assert "proxy_buffering off;" in dump
    assert "proxy_read_timeout 3600s;" in dump


def s_client(host, options: str):
    return host.run(f"openssl s_client -connect 127.0.0.1:443 -servername {NAME} {options} < /dev/null 2>&1")


def test_tls_1_2_and_1_3_only(host):
    assert s_client(host, "-tls1_3").rc == 0
    assert s_client(host, "-tls1_2").rc == 0
    # The client is allowed to speak TLS 1.1 (security level 0), so a failure is the server's refusal.
    old = s_client(host, "-tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'")
    assert old.rc != 0
    assert "Cipher is (NONE)" in old.stdout or "alert" in old.stdout.lower()


def test_intermediate_ciphers_only(host):
    assert s_client(host, "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256").rc == 0
    assert s_client(host, "-tls1_2 -cipher 'AES128-SHA:@SECLEVEL=0'").rc != 0  # static RSA, CBC


def test_curves_follow_the_hosts_openssl(host):
    openssl = host.check_output("openssl version").split()[1]
    major, minor = (int(part) for part in openssl.split(".")[:2])
    dump = host.check_output("nginx -T 2>/dev/null")
    if (major, minor) >= (3, 5):
        assert "ssl_ecdh_curve X25519MLKEM768:X25519:prime256v1:secp384r1;" in dump
        result = s_client(host, "-tls1_3 -groups X25519MLKEM768")
        assert result.rc == 0, result.stdout
        assert "X25519MLKEM768" in result.stdout
    else:
        assert "ssl_ecdh_curve X25519:prime256v1:secp384r1;" in dump
        assert "MLKEM" not in dump
        result = s_client(host, "-tls1_3 -groups X25519")
        assert result.rc == 0, result.stdout
        assert "X25519" in result.stdout


def test_worker_limits_for_many_websockets(host):
    connections = host.ansible.get_variables().get("nginx_worker_connections", 16384)
    rlimit = host.ansible.get_variables().get("nginx_worker_rlimit_nofile", 65536)
    dump = host.check_output("nginx -T 2>/dev/null")
    assert f"worker_connections {connections};" in dump
    workers = host.check_output("pgrep --parent $(cat /run/nginx.pid) nginx").split()
    assert workers
    for pid in workers:
        limits = host.check_output(f"grep 'Max open files' /proc/{pid}/limits").split()
        assert int(limits[3]) == rlimit and int(limits[4]) >= rlimit


def test_ipv6_listener_follows_the_setting(host):
    listening = host.check_output("ss --listening --tcp --numeric --no-header")
    ipv6 = host.ansible.get_variables().get("nginx_listen_ipv6", True)
    assert ("[::]:443" in listening) == ipv6
    assert "0.0.0.0:443" in listening


def test_staging_copies_are_cleaned_up(host):
    assert host.check_output("ls /tmp | grep -c selfhost-chatwoot-nginx || true") == "0"


def test_check_mode_changes_nothing(host):
    before = state_fingerprint(host)
    site = host.file("/etc/nginx/conf.d/selfhost-chatwoot.conf").content_string
    run = run_converge(inventory_name(host), {"nginx_client_max_body_size": "77m"}, check=True)
    assert run.returncode == 0, run.stdout[-3000:]
    assert re.search(r"changed=[1-9]", run.stdout), "check mode should report the pending change"
    assert host.file("/etc/nginx/conf.d/selfhost-chatwoot.conf").content_string == site
    assert state_fingerprint(host) == before


@pytest.mark.parametrize("path", ["/cable", "/"])
def test_location_blocks_exist(host, path):
    dump = host.check_output("nginx -T 2>/dev/null")
    assert f"location {path} {{" in dump
