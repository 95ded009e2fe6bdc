"""The lab VPS after site.yml: a production-shaped Chatwoot host, checked from inside and outside.

Traffic goes only to the scenario's own containers (the VPS and its neighbour) and to loopback inside them.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import ssl
import subprocess
import time
from pathlib import Path

import pytest

testinfra_hosts = ["ansible://chatwoot"]

PROJECT = "/opt/chatwoot"
DOMAIN = "chatwoot.lab.test"
VPS = "cwlab-default-trixie"
NEIGHBOUR = "cwlab-default-neighbour"
SCENARIO_DIR = Path(__file__).resolve().parents[1]
REPO = SCENARIO_DIR.parents[1]
# Documentation addresses, only ever sent as X-Forwarded-For. Fresh ones each run: throttle counters
# live for an hour, and the verifier runs twice per scenario.
CLIENT_IP, OTHER_CLIENT_IP = (f"203.0.113.{n}" for n in random.sample(range(1, 255), 2))


def compose(host, *args: str, check: bool = True):
    result = host.run("docker compose --project-directory " + " ".join(["%s"] * (len(args) + 1)), PROJECT, *args)
    if check:
        assert result.rc == 0, result.stderr
    return result


def psql(host, sql: str) -> str:
    result = host.run(
        "docker compose --project-directory %s exec -T postgres psql -U postgres -d chatwoot_production -Atc %s",
        PROJECT,
        sql,
    )
    assert result.rc == 0, result.stderr
    return result.stdout.strip()


def redis_cli(host, *args: str) -> str:
    result = host.run(
        "docker compose --project-directory %s exec -T redis sh -c "
        '\'redis-cli -a "$REDIS_PASSWORD" --no-auth-warning "$@"\' redis-cli ' + " ".join(["%s"] * len(args)),
        PROJECT,
        *args,
    )
    assert result.rc == 0, result.stderr
    return result.stdout.strip()


def expected_version(host) -> str:
    compose_file = host.file(f"{PROJECT}/compose.yaml").content_string
    tags = set(re.findall(r"image: \S+/chatwoot:v(\d+\.\d+\.\d+)", compose_file))
    assert len(tags) == 1, tags
    return tags.pop()


def https_get(host, path: str, headers: dict | None = None) -> tuple[int, str]:
    header_args = " ".join(f"-H '{k}: {v}'" for k, v in (headers or {}).items())
    result = host.run(
        f"curl -sS -o /tmp/body -w '%{{http_code}}' --cacert {cert_path(host)} --resolve {DOMAIN}:443:127.0.0.1 "
        f"{header_args} 'https://{DOMAIN}{path}'; echo; cat /tmp/body"
    )
    assert result.rc == 0, result.stderr
    status, _sep, body = result.stdout.partition("\n")
    return int(status), body


def cert_path(host) -> str:
    path = f"/etc/ssl/selfhost-chatwoot/{DOMAIN}/fullchain.pem"
    assert host.file(path).is_file, "the nginx role wrote no certificate"
    return path


def docker_exec(container: str, script: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", "exec", container, "bash", "-c", script], capture_output=True, text=True, check=False, timeout=60
    )


def vps_address() -> str:
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", VPS],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out, "the VPS container has no address"
    return out[0]


def molecule_inventory() -> str:
    return str(Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent)


def ansible_env() -> dict:
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = f"{REPO}/.collections:{REPO}/.venv/lib/python3.11/site-packages"
    env["ANSIBLE_NOCOLOR"] = "1"
    return env


def test_every_service_is_running_and_healthy(host):
    listing = compose(host, "ps", "--all", "--format", "json").stdout
    services = [json.loads(line) for line in listing.splitlines() if line.strip()]
    by_service = {s["Service"]: s for s in services}
    assert set(by_service) == {"rails", "sidekiq", "postgres", "redis"}
    for name, service in by_service.items():
        assert service["State"] == "running", f"{name}: {service['State']}"
        assert service["Health"] == "healthy", f"{name}: {service['Health']}"


def test_env_file_is_private_and_compose_publishes_only_rails_on_loopback(host):
    env_file = host.file(f"{PROJECT}/.env")
    assert env_file.mode == 0o600
    assert env_file.user == "root"
    assert host.file(f"{PROJECT}/secrets.json").mode == 0o600
    config = json.loads(compose(host, "config", "--format", "json").stdout)
    published = {
        name: [(p.get("host_ip"), p.get("published")) for p in svc.get("ports", [])]
        for name, svc in config["services"].items()
    }
    assert published == {"rails": [("127.0.0.1", "3000")], "sidekiq": [], "postgres": [], "redis": []}


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


def test_api_through_nginx_serves_the_pinned_version(host):
    status, body = https_get(host, "/api")
    assert status == 200, body
    api = json.loads(body)
    assert api["version"] == expected_version(host)
    assert api["queue_services"] == "ok"
    assert api["data_services"] == "ok"


def test_websocket_through_nginx_over_tls_gets_the_actioncable_welcome(host):
    websockets = pytest.importorskip("websockets", reason="websockets is in tests/requirements.txt")
    context = ssl.create_default_context(cadata=host.file(cert_path(host)).content_string)
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


def test_super_admin_exists_and_onboarding_flag_is_gone(host):
    assert psql(host, "SELECT count(*) FROM users WHERE type = 'SuperAdmin'") == "1"
    assert psql(host, "SELECT email FROM users WHERE type = 'SuperAdmin'") == f"admin@{DOMAIN}"
    assert redis_cli(host, "EXISTS", "alfred:CHATWOOT_INSTALLATION_ONBOARDING") == "0"
    credentials = json.loads((REPO / ".lab/credentials/cwlab-default-trixie-super-admin.json").read_text())
    assert credentials["email"] == f"admin@{DOMAIN}"
    assert (REPO / ".lab/credentials/cwlab-default-trixie-super-admin.json").stat().st_mode & 0o777 == 0o600


def test_pgvector_is_installed(host):
    assert psql(host, "SELECT count(*) FROM pg_extension WHERE extname = 'vector'") == "1"


def test_a_rate_limited_ip_is_unblocked_by_the_flush_module_and_sidekiq_keys_survive(host):
    token = psql(host, "SELECT website_token FROM channel_web_widgets ORDER BY id LIMIT 1")
    assert token
    headers = {"X-Forwarded-For": CLIENT_IP}
    statuses = [https_get(host, f"/widget?website_token={token}", headers)[0] for _attempt in range(6)]
    assert statuses[:5] == [200] * 5 and statuses[5] == 429, statuses
    # Another client is not affected: the proxy passes the real client address on.
    assert https_get(host, f"/widget?website_token={token}", {"X-Forwarded-For": OTHER_CLIENT_IP})[0] == 200

    redis_cli(host, "LPUSH", "queue:lab_probe", '{"class":"LabProbe","jid":"molecule"}')
    redis_cli(host, "SADD", "queues", "lab_probe")
    other_keys_before = sorted(
        k for k in redis_cli(host, "--scan").splitlines() if not k.startswith("velma:rack::attack")
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
            json.dumps({"project_src": PROJECT, "discriminator": CLIENT_IP}),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=ansible_env(),
        cwd=SCENARIO_DIR,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"changed": true' in result.stdout

    assert https_get(host, f"/widget?website_token={token}", headers)[0] == 200
    other_keys_after = sorted(
        k for k in redis_cli(host, "--scan").splitlines() if not k.startswith("velma:rack::attack")
    )
    assert set(other_keys_before) <= set(other_keys_after)
    assert "queue:lab_probe" in other_keys_after
    assert redis_cli(host, "LLEN", "queue:lab_probe") == "1"
    redis_cli(host, "DEL", "queue:lab_probe")
    redis_cli(host, "SREM", "queues", "lab_probe")


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


def test_upgrade_applied_the_new_migration_and_kept_every_row(host):
    if expected_version(host) != "4.11.0":
        pytest.skip("runs after the side effect upgraded the host to v4.11.0")
    assert psql(host, "SELECT version FROM lab_upgrade_markers") == "4.11.0"
    before = json.loads(host.file("/root/pre-upgrade-fingerprint.json").content_string)
    after = json.loads(psql(host, (SCENARIO_DIR / "files/fingerprint.sql").read_text()))
    assert after == before
    assert psql(host, "SELECT count(*) FROM users WHERE type = 'SuperAdmin'") == "1"
