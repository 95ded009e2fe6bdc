"""The lab VPS after site.yml: a production-shaped Chatwoot host, checked from inside and outside.

Traffic goes only to the scenario's own containers (the VPS and its neighbour) and to loopback inside them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import ssl
import subprocess
import time
from pathlib import Path

import outside_client
import pytest
import yaml
from lab_runs import container_address, docker_exec

testinfra_hosts = ["ansible://chatwoot"]

PROJECT = "/opt/chatwoot"
DOMAIN = "chatwoot.lab.test"
VPS = "cwlab-default-trixie"
NEIGHBOUR = "cwlab-default-neighbour"
SCENARIO_DIR = Path(__file__).resolve().parents[1]
REPO = SCENARIO_DIR.parents[1]


def vps_address() -> str:
    return container_address(VPS)


def molecule_inventory() -> str:
    return str(Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent)


def ansible_env() -> dict:
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = f"{REPO}/.collections:{REPO}/.venv/lib/python3.11/site-packages"
    env["ANSIBLE_NOCOLOR"] = "1"
    return env


def test_every_service_is_running_and_healthy(host, lab):
    listing = lab.compose("ps", "--all", "--format", "json").stdout
    services = [json.loads(line) for line in listing.splitlines() if line.strip()]
    by_service = {s["Service"]: s for s in services}
    assert set(by_service) == {"rails", "sidekiq", "postgres", "redis"}
    for name, service in by_service.items():
        assert service["State"] == "running", f"{name}: {service['State']}"
        assert service["Health"] == "healthy", f"{name}: {service['Health']}"


def test_env_file_is_private_and_compose_publishes_only_rails_on_loopback(host, lab):
    env_file = host.file(f"{PROJECT}/.env")
    assert env_file.mode == 0o600
    assert env_file.user == "root"
    assert host.file(f"{PROJECT}/secrets.json").mode == 0o600
    config = json.loads(lab.compose("config", "--format", "json").stdout)
    published = {
        name: [(p.get("host_ip"), p.get("published")) for p in svc.get("ports", [])]
        for name, svc in config["services"].items()
    }
    assert published == {"rails": [("127.0.0.1", "3000")], "sidekiq": [], "postgres": [], "redis": []}


def test_vault_secrets_with_any_printable_character_reach_every_service_unchanged(host, lab):
    """converge.yml gives passwords with $, #, quotes, spaces, backslash, /, @, : and %: postgres and redis get
    them verbatim, and rails (through DATABASE_URL / REDIS_URL) really connects with them."""
    wanted = yaml.safe_load((SCENARIO_DIR / "converge.yml").read_text())[0]["vars"]
    printed = {
        "POSTGRES_PASSWORD": lab.compose("exec", "-T", "postgres", "printenv", "POSTGRES_PASSWORD").stdout,
        "REDIS_PASSWORD": lab.compose("exec", "-T", "redis", "printenv", "REDIS_PASSWORD").stdout,
    }
    assert printed["POSTGRES_PASSWORD"].removesuffix("\n") == wanted["app_postgres_password"]
    assert printed["REDIS_PASSWORD"].removesuffix("\n") == wanted["app_redis_password"]
    status, body = lab.https_get("/api")
    assert status == 200, body
    assert (json.loads(body)["data_services"], json.loads(body)["queue_services"]) == ("ok", "ok")
    # Neither password is in the rails environment in clear (Chatwoot's YAML config files would mangle it).
    rails_env = lab.compose("exec", "-T", "rails", "env").stdout
    assert wanted["app_postgres_password"] not in rails_env
    assert wanted["app_redis_password"] not in rails_env


def test_only_http_and_https_answer_from_a_neighbour():
    address = vps_address()
    probe = "timeout 3 bash -c 'echo > /dev/tcp/%s/%d' 2>/dev/null && echo open || echo closed"
    states = {
        port: docker_exec(NEIGHBOUR, probe % (address, port)).stdout.strip() for port in (80, 443, 3000, 5432, 6379)
    }
    assert states == {80: "open", 443: "open", 3000: "closed", 5432: "closed", 6379: "closed"}


def test_plain_http_redirects_with_308_to_https(host):
    result = host.run(
        f"curl -s -o /dev/null -w '%{{http_code}} %{{redirect_url}}' -H 'Host: {DOMAIN}' http://127.0.0.1/api"
    )
    code, _sep, location = result.stdout.partition(" ")
    assert code == "308"
    assert location == f"https://{DOMAIN}/api"


def test_nginx_configuration_is_valid(host):
    result = host.run("nginx -t")
    assert result.rc == 0, result.stderr


def test_api_through_nginx_serves_the_pinned_version(host, lab):
    status, body = lab.https_get("/api")
    assert status == 200, body
    api = json.loads(body)
    assert api["version"] == lab.expected_version()
    assert api["queue_services"] == "ok"
    assert api["data_services"] == "ok"


def test_websocket_through_nginx_over_tls_gets_the_actioncable_welcome(host, lab):
    websockets = pytest.importorskip("websockets", reason="websockets is in tests/requirements.txt")
    context = ssl.create_default_context(cadata=host.file(lab.cert_path()).content_string)
    address = vps_address()

    async def handshake():
        # The URI names the site (Host header, SNI); host/port say where the VPS really is.
        async with websockets.connect(
            f"wss://{DOMAIN}/cable",
            host=address,
            port=443,
            ssl=context,
            origin=f"https://{DOMAIN}",
            open_timeout=20,
        ) as socket:
            return json.loads(await asyncio.wait_for(socket.recv(), 20))

    assert asyncio.run(handshake()) == {"type": "welcome"}


def test_super_admin_exists_and_onboarding_flag_is_gone(host, lab):
    assert lab.psql("SELECT count(*) FROM users WHERE type = 'SuperAdmin'") == "1"
    assert lab.psql("SELECT email FROM users WHERE type = 'SuperAdmin'") == f"admin@{DOMAIN}"
    assert lab.redis_cli("EXISTS", "alfred:CHATWOOT_INSTALLATION_ONBOARDING") == "0"
    credentials = json.loads((REPO / ".lab/credentials/cwlab-default-trixie-super-admin.json").read_text())
    assert credentials["email"] == f"admin@{DOMAIN}"
    assert (REPO / ".lab/credentials/cwlab-default-trixie-super-admin.json").stat().st_mode & 0o777 == 0o600


def test_pgvector_is_installed(host, lab):
    assert lab.psql("SELECT count(*) FROM pg_extension WHERE extname = 'vector'") == "1"


def test_a_rate_limited_ip_is_unblocked_by_the_flush_module_and_sidekiq_keys_survive(host, lab):
    token = lab.psql("SELECT website_token FROM channel_web_widgets ORDER BY id LIMIT 1")
    assert token
    # Two real clients, as Nginx ignores a client's X-Forwarded-For and loopback is safelisted: the controller
    # (like a visitor from the Internet) and the VPS itself through its network address. Their counters are
    # removed at the end: they live for an hour, and the verifier runs twice per scenario.
    path = f"/widget?website_token={token}"
    other_client_ip = outside_client.vps_address(host)

    def from_controller() -> int:
        return outside_client.https_from_outside(host, lab.cert_path(), path)[0]

    def from_vps() -> int:
        return int(
            host.check_output(
                "curl -sS -o /dev/null -w '%%{http_code}' --interface %s --resolve %s:443:%s --cacert %s %s",
                other_client_ip,
                DOMAIN,
                other_client_ip,
                lab.cert_path(),
                f"https://{DOMAIN}{path}",
            )
        )

    def forget(source: str) -> None:
        for key in lab.redis_cli("--scan", "--pattern", f"velma:rack::attack:*:{source}").splitlines():
            lab.redis_cli("DEL", key)

    client_ip = outside_client.https_from_outside(host, lab.cert_path(), "/api")[2]
    forget(client_ip)
    forget(other_client_ip)
    statuses = [from_controller() for _attempt in range(6)]
    assert statuses[:5] == [200] * 5 and statuses[5] == 429, statuses
    # Another client is not affected: the proxy passes the real client address on.
    assert from_vps() == 200

    lab.redis_cli("LPUSH", "queue:lab_probe", '{"class":"LabProbe","jid":"molecule"}')
    lab.redis_cli("SADD", "queues", "lab_probe")
    # Keys without an expiry only: Sidekiq's own expiring keys (process_cleanup, metrics) may vanish on their
    # own between the two reads, which says nothing about the flush.
    persistent = (
        "local r = {} for _, k in ipairs(redis.call('KEYS', '*')) do"
        " if redis.call('TTL', k) == -1 then r[#r + 1] = k end end return r"
    )
    other_keys_before = sorted(
        k for k in lab.redis_cli("EVAL", persistent, "0").splitlines() if not k.startswith("velma:rack::attack")
    )

    result = subprocess.run(
        [
            "ansible",
            "-i",
            molecule_inventory(),
            VPS,
            "-m",
            "selfhost.chatwoot.rate_limit_flush",
            "-a",
            json.dumps({"project_src": PROJECT, "discriminator": client_ip}),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=ansible_env(),
        cwd=SCENARIO_DIR,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"changed": true' in result.stdout

    assert from_controller() == 200
    forget(client_ip)
    forget(other_client_ip)
    other_keys_after = sorted(k for k in lab.redis_cli("--scan").splitlines() if not k.startswith("velma:rack::attack"))
    assert set(other_keys_before) <= set(other_keys_after)
    assert "queue:lab_probe" in other_keys_after
    assert lab.redis_cli("LLEN", "queue:lab_probe") == "1"
    lab.redis_cli("DEL", "queue:lab_probe")
    lab.redis_cli("SREM", "queues", "lab_probe")


def test_no_generated_secret_appears_in_ansible_output(host):
    secrets = json.loads(host.file(f"{PROJECT}/secrets.json").content_string)
    credentials = json.loads((REPO / ".lab/credentials/cwlab-default-trixie-super-admin.json").read_text())
    values = [*secrets.values(), credentials["password"]]
    assert all(len(v) >= 20 for v in values)
    started = time.monotonic()
    run = subprocess.run(
        ["ansible-playbook", "-i", molecule_inventory(), "--check", "--diff", "-v", str(SCENARIO_DIR / "converge.yml")],
        capture_output=True,
        text=True,
        check=False,
        env=ansible_env(),
        cwd=SCENARIO_DIR,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    leaked = [name for name, value in secrets.items() if value in output]
    assert not leaked, f"secrets printed by a converge in check mode: {leaked}"
    assert credentials["password"] not in output
    # A converged host in check mode has nothing to change.
    assert re.search(r"changed=0\s", output), output[-2000:]
    print(f"check-mode converge took {time.monotonic() - started:.0f} s")
