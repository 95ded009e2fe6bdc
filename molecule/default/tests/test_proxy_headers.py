"""End to end through the VPS's Nginx to Chatwoot (the double, which reads `Forwarded` before
X-Forwarded-For like Rack 3): a client cannot choose the address Rack::Attack counts it as, and the HSTS
header the browser gets is the one nginx_hsts_* describe, however many Rails sends under FORCE_SSL.

The client is the controller, reaching the VPS over its network like a visitor from the Internet (not
loopback, which Chatwoot safelists); the test removes the counters it made.
"""

from __future__ import annotations

import random
import uuid

from outside_client import https_from_outside

testinfra_hosts = ["ansible://chatwoot"]

DOMAIN = "chatwoot.lab.test"


def spoofing_headers() -> dict:
    """A different made-up client address in every header a client could use to pick one."""
    fake = [f"198.51.100.{n}" for n in random.sample(range(1, 255), 5)]
    return {
        "Forwarded": f"for={fake[0]};proto=https",
        "X-Forwarded-For": fake[1],
        "X_Forwarded_For": fake[2],
        "X-Real-IP": fake[3],
        "Client-IP": fake[4],
    }


def test_a_client_is_throttled_as_its_real_address_whatever_it_claims(host, lab):
    email = f"nobody-{uuid.uuid4().hex[:8]}@{DOMAIN}"
    form = f"email={email}&password=Wrong-pass-1"
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    claimed, statuses, sources = [], [], set()
    try:
        for _attempt in range(6):
            headers = spoofing_headers()
            claimed += [value.split(";")[0].removeprefix("for=") for value in headers.values()]
            status, _headers, source = https_from_outside(
                host, lab.cert_path(), "/auth/sign_in", {**form_type, **headers}, "POST", form
            )
            statuses.append(status)
            sources.add(source)
        assert len(sources) == 1, sources
        (source,) = sources
        # login/ip allows 5 per 5 minutes: with a new claimed address each time, only the real one adds up.
        assert statuses == [401] * 5 + [429], statuses
        keys = lab.redis_cli("--scan", "--pattern", "velma:rack::attack:*login/ip:*").splitlines()
        assert any(key.endswith(f"login/ip:{source}") for key in keys), (source, keys)
        assert not [key for key in keys if any(key.endswith(f":{fake}") for fake in claimed)], keys
    finally:
        for pattern in [f"velma:rack::attack:*:{address}" for address in sources] + [f"velma:rack::attack:*:{email}"]:
            for key in lab.redis_cli("--scan", "--pattern", pattern).splitlines():
                lab.redis_cli("DEL", key)


def test_one_hsts_header_or_none_as_nginx_hsts_enabled_says(host, lab):
    # Rails itself sends one under FORCE_SSL (app_force_ssl, on by default) to a request that came over https.
    direct = host.check_output(
        "curl -sS -o /dev/null -D - -H 'X-Forwarded-Proto: https' -H 'Host: %s' http://127.0.0.1:3000/api", DOMAIN
    ).lower()
    app_sends = [line for line in direct.splitlines() if line.startswith("strict-transport-security:")]
    force_ssl = host.ansible.get_variables().get("app_force_ssl", True)
    assert len(app_sends) == (1 if str(force_ssl).lower() in ("true", "yes", "1", "on") else 0), direct

    status, headers, _source = https_from_outside(host, lab.cert_path(), "/api")
    assert status == 200
    hsts = headers.get("strict-transport-security", [])
    enabled = str(host.ansible.get_variables().get("nginx_hsts_enabled", False)).lower() in ("true", "yes", "1", "on")
    if enabled:
        max_age = host.ansible.get_variables().get("nginx_hsts_max_age", 63072000)
        assert len(hsts) == 1 and hsts[0].startswith(f"max-age={max_age}"), hsts
    else:
        assert hsts == [], "nginx_hsts_enabled is off: Rails' header must not get through either"
