"""The lab's Chatwoot double honours the contract the collection deploys against.

Every check runs against real containers: the double's rails/sidekiq images with the lab's PostgreSQL
(pgvector) and Redis images. See tests/lab/chatwoot-double/README.md and /work/shared/chatwoot-contract.md.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import tarfile
import time
import uuid
from datetime import datetime

import psycopg
import pytest
import redis as redis_lib
import requests
from selfhost_chatwoot_stack import (  # registered by tests/integration/conftest.py
    LAB_IMAGES,
    RAILS_COMMAND,
    compose_labels,
    container_logs,
    published_port,
    wait_for,
)
from websockets.sync.client import connect as ws_connect

pytestmark = pytest.mark.lab

ALLOWED_IP = "198.51.100.77"
CHATWOOT_STACK_ENV = {
    # Non-default sizes, so the tests can tell the variables are honoured rather than defaults.
    "RAILS_MAX_THREADS": "3",
    "SIDEKIQ_CONCURRENCY": "4",
    "RACK_ATTACK_ALLOWED_IPS": f"{ALLOWED_IP}, 2001:db8::7",
}
ADMIN_EMAIL = "ada@example.test"
ADMIN_PASSWORD = "Str0ng!Passw0rd"
WIDGET_THROTTLE = "widget?website_token={website_token}&cw_conversation={x-auth-token}"
VECTOR_MESSAGE = "Failed to enable 'vector' extension. Read more at https://chwt.app/v4/migration"
CAPTAIN_MIGRATION = "20250104200055"
NEXT_MIGRATION = "20251020000000"
BROKEN_MIGRATION = "20251021000000"


# --------------------------------------------------------------------------------------------- helpers


_ip_counter = itertools.count(1)


def unique_ip() -> str:
    """A fresh documentation address (TEST-NET-3, then TEST-NET-1), used only as an X-Forwarded-For value.

    Private ranges would not do: Rails treats them as trusted proxies and skips them in X-Forwarded-For.
    """
    n = next(_ip_counter)
    return f"203.0.113.{n}" if n < 255 else f"192.0.2.{n - 254}"


def redis_client(stack) -> redis_lib.Redis:
    return redis_lib.Redis(
        host="127.0.0.1", port=stack.redis.port, password=stack.redis.password, decode_responses=True
    )


def sql(stack, query: str, params=(), database: str | None = None):
    with psycopg.connect(stack.postgres.dsn(database), autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def schema_dump(stack) -> str:
    code, out = stack.postgres.container.exec_run(
        ["pg_dump", "--schema-only", "-h", "127.0.0.1", "-U", "postgres", stack.postgres.database],
        environment={"PGPASSWORD": stack.postgres.password},
    )
    assert code == 0, out.decode(errors="replace")
    # pg_dump 17.6+ wraps its output in \restrict/\unrestrict lines with a random key per run.
    return "\n".join(line for line in out.decode().splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def marker(output: str, name: str) -> str:
    """Value of the last `NAME=...` line a runner script printed."""
    values = re.findall(rf"^{name}=(.*)$", output, flags=re.MULTILINE)
    assert values, f"{name}= not found in runner output:\n{output[-3000:]}"
    return values[-1]


def in_one_window(period: int, attempt):
    """Run attempt(i) so that all its requests fall into one Rack::Attack time bucket.

    Rack::Attack counts per bucket (epoch // period); a burst that straddles a boundary restarts the
    count. Retry with a fresh attempt when the bucket changed, instead of trusting timing.
    """
    for i in range(3):
        bucket = int(time.time()) // period
        result = attempt(i)
        if int(time.time()) // period == bucket:
            return result
    pytest.fail("three bursts in a row crossed a Rack::Attack time bucket")


def get(base_url: str, path: str, ip: str | None = None, **kwargs) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if ip:
        headers["X-Forwarded-For"] = ip
    return requests.get(f"{base_url}{path}", headers=headers, timeout=30, allow_redirects=False, **kwargs)


# --------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def stack(module_chatwoot_stack):
    return module_chatwoot_stack


@pytest.fixture(scope="module")
def widget_token(stack) -> str:
    out = stack.runner(
        "account = Account.create!(name: 'Widget Co');"
        "widget = Channel::WebWidget.create!(account: account, website_url: 'https://shop.example.test');"
        "Inbox.create!(account: account, channel: widget, name: 'Website', timezone: 'Europe/Berlin');"
        'puts "TOKEN=#{widget.website_token}"'
    )
    return marker(out, "TOKEN")


@pytest.fixture(scope="module")
def super_admin(stack) -> dict:
    out = stack.runner(
        f"user, account = AccountBuilder.new(account_name: 'Acme', user_full_name: 'Ada Admin', email: '{ADMIN_EMAIL}',"
        f" user_password: '{ADMIN_PASSWORD}', super_admin: true, confirmed: true).perform;"
        'puts "RESULT=#{{user_id: user.id, account_id: account.id, klass: user.class.name}.to_json}"'
    )
    return json.loads(marker(out, "RESULT"))


# --------------------------------------------------------------------------------------------- image


@pytest.mark.parametrize(
    ("image_key", "version"),
    [("LAB_CHATWOOT", "v4.10.1"), ("LAB_CHATWOOT_NEXT", "v4.11.0"), ("LAB_CHATWOOT_BROKEN", "v4.11.1")],
)
def test_image_layout_matches_the_real_image(docker_client, image_key, version):
    config = docker_client.images.get(LAB_IMAGES[image_key]).attrs["Config"]
    assert config["WorkingDir"] == "/app"
    assert config.get("User") in ("", "root", None)
    assert "3000/tcp" in config["ExposedPorts"]
    assert config["Entrypoint"] == ["/app/docker/entrypoints/rails.sh"]
    assert config["Cmd"] == RAILS_COMMAND
    assert config["Labels"]["org.opencontainers.image.version"] == version


def test_container_tools_like_the_real_image(stack):
    def sh(script: str):
        code, out = stack.rails.exec_run(["sh", "-c", script])
        return code, out.decode(errors="replace")

    assert sh("command -v curl")[0] != 0, "the real image has no curl; nothing may rely on it"
    assert sh("command -v pg_isready")[0] == 0
    code, out = sh("wget -q -O - http://127.0.0.1:3000/health")
    assert code == 0 and json.loads(out) == {"status": "woot"}, out
    assert sh('test "$(pwd)" = /app && test "$(id -u)" = 0')[0] == 0


# --------------------------------------------------------------------------------------------- HTTP


def test_health_is_woot(stack):
    response = get(stack.base_url, "/health")
    assert response.status_code == 200
    assert response.json() == {"status": "woot"}
    assert "Strict-Transport-Security" not in response.headers  # FORCE_SSL is off in this stack


def test_api_reports_version_and_live_services(stack):
    body = get(stack.base_url, "/api").json()
    assert body["version"] == "4.10.1"
    datetime.strptime(body["timestamp"], "%Y-%m-%d %H:%M:%S")
    assert body["queue_services"] == "ok"
    assert body["data_services"] == "ok"


def test_api_reports_failing_services(start_chatwoot):
    s = start_chatwoot(services=False)
    rails, base_url = s.start_rails()
    s.redis.container.stop(timeout=5)
    body = get(base_url, "/api").json()
    assert (body["queue_services"], body["data_services"]) == ("failing", "ok")
    s.postgres.container.stop(timeout=10)
    body = get(base_url, "/api").json()
    assert (body["queue_services"], body["data_services"]) == ("failing", "failing")
    rails.reload()
    assert rails.status == "running"


def test_force_ssl_redirects_unless_proxy_says_https(stack):
    _container, base_url = stack.start_rails(env={**stack.env, "FORCE_SSL": "true"}, service="rails-forcessl")
    plain = get(base_url, "/health")
    assert plain.status_code == 301
    assert plain.headers["Location"].startswith("https://")
    proxied = get(base_url, "/health", headers={"X-Forwarded-Proto": "https"})
    assert proxied.status_code == 200 and proxied.json() == {"status": "woot"}
    assert "max-age" in proxied.headers["Strict-Transport-Security"]


def test_frontend_url_reaches_the_widget_page(stack, widget_token):
    page = get(stack.base_url, f"/widget?website_token={widget_token}", ip=unique_ip())
    assert page.status_code == 200
    assert f'content="{stack.env["FRONTEND_URL"]}"' in page.text
    assert get(stack.base_url, "/widget?website_token=nope", ip=unique_ip()).status_code == 404


def test_onboarding_page_follows_the_redis_flag(stack):
    r = redis_client(stack)
    assert r.get("alfred:CHATWOOT_INSTALLATION_ONBOARDING") == "true"
    assert get(stack.base_url, "/installation/onboarding", ip=unique_ip()).status_code == 200
    r.delete("alfred:CHATWOOT_INSTALLATION_ONBOARDING")
    try:
        assert get(stack.base_url, "/installation/onboarding", ip=unique_ip()).status_code == 302
    finally:
        r.set("alfred:CHATWOOT_INSTALLATION_ONBOARDING", "true")


# --------------------------------------------------------------------------------------------- ActionCable


def test_cable_welcome_and_echo_through_redis(stack):
    room = uuid.uuid4().hex[:8]
    identifier = json.dumps({"channel": "EchoChannel", "room": room})
    ws_url = stack.base_url.replace("http://", "ws://") + "/cable"

    def receive(ws) -> dict:
        while True:  # ActionCable pings every 3 s; skip them
            message = json.loads(ws.recv(timeout=20))
            if message.get("type") != "ping":
                return message

    # Any Origin is accepted, as in Chatwoot (widgets live on customers' sites).
    with ws_connect(ws_url, origin="https://customer-site.example", open_timeout=20) as ws:
        assert receive(ws) == {"type": "welcome"}
        ws.send(json.dumps({"command": "subscribe", "identifier": identifier}))
        assert receive(ws) == {"identifier": identifier, "type": "confirm_subscription"}

        channel = f"chatwoot_production_action_cable:lab_echo:{room}"
        wait_for(lambda: channel in redis_client(stack).pubsub_channels(), 20, f"redis channel {channel}")

        payload = {"text": f"hello {room}"}
        ws.send(json.dumps({"command": "message", "identifier": identifier, "data": json.dumps(payload)}))
        assert receive(ws) == {"identifier": identifier, "message": payload}


# --------------------------------------------------------------------------------------------- Rack::Attack


def test_widget_throttle_per_forwarded_ip(stack, widget_token):
    path = f"/widget?website_token={widget_token}"

    def burst(_attempt):
        ip = unique_ip()
        return ip, [get(stack.base_url, path, ip=ip).status_code for _attempt in range(6)]

    ip, codes = in_one_window(3600, burst)
    assert codes == [200] * 5 + [429]
    assert get(stack.base_url, path, ip=unique_ip()).status_code == 200, "another IP is not throttled"

    pattern = re.compile(rf"^velma:rack::attack:\d+:{re.escape(WIDGET_THROTTLE)}:{re.escape(ip)}$")
    keys = redis_client(stack).keys("velma:rack::attack:*")
    assert any(pattern.match(key) for key in keys), keys
    wait_for(lambda: f'[Rack::Attack][Blocked] remote_ip: "{ip}"' in stack.rails.logs().decode(), 10, "block log")


def test_safelisted_clients_are_never_throttled(stack, widget_token):
    path = f"/widget?website_token={widget_token}"
    assert [get(stack.base_url, path, ip=ALLOWED_IP).status_code for _attempt in range(7)] == [200] * 7
    # Requests from localhost inside the container (e.g. a healthcheck) are safelisted too.
    script = f"for i in 1 2 3 4 5 6 7; do wget -q -O /dev/null 'http://127.0.0.1:3000{path}' || exit 1; done"
    code, out = stack.rails.exec_run(["sh", "-c", script])
    assert code == 0, out.decode(errors="replace")


def test_login_throttle(stack, super_admin):
    def burst(_attempt):
        ip = unique_ip()
        codes = [
            requests.post(
                f"{stack.base_url}/auth/sign_in",
                json={"email": f"nobody{uuid.uuid4().hex[:6]}@example.test", "password": "Wr0ng!pass"},
                headers={"X-Forwarded-For": ip},
                timeout=30,
            ).status_code
            for _attempt in range(6)
        ]
        return ip, codes

    ip, codes = in_one_window(300, burst)
    assert codes == [401] * 5 + [429]
    keys = redis_client(stack).keys(f"velma:rack::attack:*:login/ip:{ip}")
    assert keys, "login/ip counter missing"

    ok = requests.post(
        f"{stack.base_url}/auth/sign_in",
        json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        headers={"X-Forwarded-For": unique_ip()},
        timeout=30,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["data"]["type"] == "SuperAdmin"
    assert ok.json()["data"]["accounts"] == [{"id": super_admin["account_id"], "role": "administrator"}]


def test_rack_attack_limit_and_health_safelist(stack):
    _container, base_url = stack.start_rails(env={**stack.env, "RACK_ATTACK_LIMIT": "3"}, service="rails-limit")

    def burst(_attempt):
        ip = unique_ip()
        return ip, [get(base_url, "/api", ip=ip).status_code for _attempt in range(4)]

    ip, codes = in_one_window(60, burst)
    assert codes == [200, 200, 200, 429]
    assert [get(base_url, "/health", ip=ip).status_code for _attempt in range(5)] == [200] * 5


def test_rack_attack_can_be_disabled(stack, widget_token):
    _container, base_url = stack.start_rails(env={**stack.env, "ENABLE_RACK_ATTACK": "false"}, service="rails-norack")
    ip = unique_ip()
    codes = [get(base_url, f"/widget?website_token={widget_token}", ip=ip).status_code for _attempt in range(7)]
    assert codes == [200] * 7


def test_rack_attack_reset_deletes_only_its_counters(stack, widget_token):
    path = f"/widget?website_token={widget_token}"

    def burst(_attempt):
        ip = unique_ip()
        return ip, [get(stack.base_url, path, ip=ip).status_code for _attempt in range(6)]

    ip, codes = in_one_window(3600, burst)
    assert codes[-1] == 429
    r = redis_client(stack)
    r.set("velma:lab-sentinel", "keep")
    assert r.keys("velma:rack::attack:*")

    stack.runner("Rack::Attack.reset!")

    assert r.keys("velma:rack::attack:*") == []
    assert r.get("velma:lab-sentinel") == "keep"
    assert r.get("alfred:CHATWOOT_INSTALLATION_ONBOARDING") == "true"
    assert get(stack.base_url, path, ip=ip).status_code == 200


# --------------------------------------------------------------------------------------------- Sidekiq


def _echo_from(stack, token: str) -> dict:
    raw = wait_for(lambda: redis_client(stack).get(f"alfred:LAB_ECHO:{token}"), 60, f"LabEchoJob {token}")
    return json.loads(raw)


def test_sidekiq_runs_job_enqueued_by_web(stack):
    token = uuid.uuid4().hex
    response = requests.post(f"{stack.base_url}/lab/jobs", data={"token": token}, timeout=30)
    assert response.status_code == 202, response.text
    echo = _echo_from(stack, token)
    stack.sidekiq.reload()
    assert echo["source"] == "web"
    assert echo["sidekiq"] is True
    assert echo["hostname"] == stack.sidekiq.attrs["Config"]["Hostname"]


def test_sidekiq_runs_job_enqueued_by_runner(stack):
    token = uuid.uuid4().hex
    stack.runner(f"LabEchoJob.perform_later('{token}', 'runner')")
    echo = _echo_from(stack, token)
    assert echo["source"] == "runner"
    assert echo["hostname"] == stack.sidekiq.attrs["Config"]["Hostname"]


def test_sidekiq_uses_unnamespaced_keys_and_concurrency(stack):
    r = redis_client(stack)
    processes = wait_for(lambda: r.smembers("processes"), 60, "sidekiq to register in `processes`")
    infos = [json.loads(r.hget(identity, "info")) for identity in processes]
    assert [info["concurrency"] for info in infos] == [4]
    assert "default" in infos[0]["queues"]


# --------------------------------------------------------------------------------------------- sizing, env


def test_thread_and_pool_sizes_follow_env(stack):
    logs = stack.rails.logs().decode()
    assert re.search(r"Min threads:\s*3", logs) and re.search(r"Max threads:\s*3", logs), logs[-2000:]
    out = stack.runner(
        'puts "POOL=#{ActiveRecord::Base.connection_pool.size}";'
        "puts \"TIMEOUT=#{ActiveRecord::Base.connection.select_value('SHOW statement_timeout')}\""
    )
    assert marker(out, "POOL") == "3"
    assert marker(out, "TIMEOUT") == "14s"  # Chatwoot's default
    out = stack.runner(
        "puts \"TIMEOUT=#{ActiveRecord::Base.connection.select_value('SHOW statement_timeout')}\"",
        env={**stack.env, "POSTGRES_STATEMENT_TIMEOUT": "600s"},
    )
    assert marker(out, "TIMEOUT") == "10min"


def test_database_url_wins(stack):
    pg = stack.postgres
    env = {
        **stack.env,
        "DATABASE_URL": f"postgres://{pg.user}:{pg.password}@{pg.network_alias}:5432/{pg.database}",
        "POSTGRES_HOST": "no-such-host.invalid",
        "POSTGRES_DATABASE": "no_such_database",
    }
    out = stack.runner('puts "DB=#{ActiveRecord::Base.connection.current_database}"', env=env)
    assert marker(out, "DB") == pg.database


@pytest.mark.parametrize("variable", ["SECRET_KEY_BASE", "FRONTEND_URL", "REDIS_URL", "POSTGRES_HOST"])
def test_missing_required_variable_fails_at_boot(stack, variable):
    env = {k: v for k, v in stack.env.items() if k != variable}
    result = stack.run_once(["bundle", "exec", "rails", "runner", "puts 'BOOTED'"], env=env, timeout=120)
    assert result.exit_code != 0
    assert variable in result.output
    assert "BOOTED" not in result.output


def test_missing_variable_also_stops_sidekiq(stack):
    env = {k: v for k, v in stack.env.items() if k != "SECRET_KEY_BASE"}
    result = stack.run_once(["bundle", "exec", "sidekiq", "-C", "config/sidekiq.yml"], env=env, timeout=120)
    assert result.exit_code != 0
    assert "SECRET_KEY_BASE" in result.output


def test_entrypoint_removes_stale_pid_and_cache(stack):
    client = stack.factory.client
    container = client.containers.create(
        stack.image,
        command=RAILS_COMMAND,
        environment=stack.env,
        network=stack.factory.network.name,
        labels={**compose_labels(stack.project, "rails-restarted"), stack.factory.LABEL: "1"},
        ports={"3000/tcp": ("127.0.0.1", None)},
    )
    stack.factory.started.append(container)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name, data in (("pids/server.pid", b"1\n"), ("cache/lab-stale", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert container.put_archive("/app/tmp", archive.getvalue())
    container.start()
    base_url = f"http://127.0.0.1:{published_port(container, '3000/tcp')}"

    def healthy():
        container.reload()
        if container.status == "exited":
            pytest.fail(f"rails did not start over a stale pid file:\n{container_logs(container)}")
        return get(base_url, "/health").status_code == 200

    wait_for(healthy, 120, "rails with a stale pid file")
    assert container.exec_run(["test", "-e", "/app/tmp/cache/lab-stale"]).exit_code == 1


# --------------------------------------------------------------------------------------------- models


def test_models_and_account_builder(stack, super_admin):
    out = stack.runner(
        f"""
        def attempt
          yield
          'ok'
        rescue StandardError => e
          "#{{e.class}}: #{{e.message}}"
        end
        before = Account.count
        build = ->(email, password) {{
          AccountBuilder.new(account_name: 'X', email: email, user_password: password, user_full_name: 'X',
                             super_admin: true, confirmed: true).perform
        }}
        weak = attempt {{ build.call('weak@example.test', 'password') }}
        short = attempt {{ build.call('short@example.test', 'A1!a') }}
        dup = attempt {{ build.call('{ADMIN_EMAIL}', 'An0ther!pass') }}
        bad = attempt {{ build.call('not-an-email', 'An0ther!pass') }}
        user = User.find_by(email: '{ADMIN_EMAIL}')
        membership = user.account_users.first
        account = Account.find({super_admin["account_id"]})
        widget = Channel::WebWidget.new(account: account, website_url: nil, widget_color: nil)
        widget.valid?
        saved_widget = Channel::WebWidget.create!(account: account, website_url: 'https://a.example.test')
        bad_inbox = Inbox.new(account: account, channel: saved_widget, name: 'X', timezone: 'Mars/Olympus')
        bad_inbox.valid?
        result = {{
          weak: weak, short: short, dup: dup, bad: bad, accounts_added: Account.count - before,
          weak_user: User.exists?(email: 'weak@example.test'),
          klass: user.class.name, type: user.type, super_admins: SuperAdmin.count, confirmed: user.confirmed?,
          bcrypt: user.encrypted_password.start_with?('$2'), role: membership.role,
          role_raw: membership.role_before_type_cast, availability: membership.availability,
          roles: AccountUser.roles, availabilities: AccountUser.availabilities, statuses: Account.statuses,
          account_status: account.status, account_locale: account.locale,
          widget_errors: widget.errors.attribute_names.map(&:to_s).sort,
          website_token: saved_widget.website_token.to_s.size, hmac_token: saved_widget.hmac_token.to_s.size,
          inbox_errors: bad_inbox.errors.attribute_names.map(&:to_s)
        }}
        puts "RESULT=#{{result.to_json}}"
        """
    )
    result = json.loads(marker(out, "RESULT"))
    assert "ActiveRecord::RecordInvalid" in result["weak"]
    assert "uppercase" in result["weak"] and "digit" in result["weak"] and "special" in result["weak"]
    assert "too short" in result["short"]
    assert "already signed up" in result["dup"] and ADMIN_EMAIL in result["dup"]
    assert "Invalid email" in result["bad"]
    assert result["accounts_added"] == 0, "a refused AccountBuilder must not leave an account behind"
    assert result["weak_user"] is False
    assert (result["klass"], result["type"], result["super_admins"]) == ("SuperAdmin", "SuperAdmin", 1)
    assert result["confirmed"] is True and result["bcrypt"] is True
    assert (result["role"], result["role_raw"], result["availability"]) == ("administrator", 1, "online")
    assert result["roles"] == {"agent": 0, "administrator": 1}
    assert result["availabilities"] == {"online": 0, "offline": 1, "busy": 2}
    assert result["statuses"] == {"active": 0, "suspended": 1}
    assert (result["account_status"], result["account_locale"]) == ("active", "en")
    assert result["widget_errors"] == ["website_url", "widget_color"]
    assert result["website_token"] >= 24 and result["hmac_token"] >= 24
    assert result["inbox_errors"] == ["timezone"]

    rows = sql(
        stack,
        "SELECT u.type, u.confirmed_at IS NOT NULL, au.role FROM users u JOIN account_users au ON au.user_id = u.id "
        "WHERE u.email = %s",
        (ADMIN_EMAIL,),
    )
    assert rows == [("SuperAdmin", True, 1)]


def test_installation_config_through_the_model(stack):
    out = stack.runner(
        """
        config = InstallationConfig.find_by!(name: 'INSTALLATION_NAME')
        before = GlobalConfig.get('INSTALLATION_NAME')['INSTALLATION_NAME']
        cached = $alfred.with { |c| c.get('V1:GLOBAL_CONFIG:INSTALLATION_NAME') }
        config.value = 'Acme Support'
        config.save!
        after = GlobalConfig.get('INSTALLATION_NAME')['INSTALLATION_NAME']
        puts "RESULT=#{{before: before, cached: cached, after: after, locked: config.locked}.to_json}"
        """
    )
    result = json.loads(marker(out, "RESULT"))
    assert result["before"] == "Chatwoot"
    assert json.loads(result["cached"]) == {"value": "Chatwoot"}
    assert result["after"] == "Acme Support", "saving through the model clears the GlobalConfig cache"
    assert result["locked"] is False
    # As in Chatwoot, the jsonb column holds a YAML dump of {value: ...}.
    [(raw,)] = sql(stack, "SELECT serialized_value #>> '{}' FROM installation_configs WHERE name = 'INSTALLATION_NAME'")
    assert "value: Acme Support" in raw


# --------------------------------------------------------------------------------------------- db:chatwoot_prepare


def test_prepare_fresh_database_then_idempotent(start_chatwoot):
    s = start_chatwoot(services=False)  # runs db:chatwoot_prepare once on the empty database
    r = redis_client(s)
    assert r.get("alfred:CHATWOOT_INSTALLATION_ONBOARDING") == "true"
    assert sql(s, "SELECT count(*) FROM users") == [(0,)], "the production seed creates no user"
    names = {row[0] for row in sql(s, "SELECT name FROM installation_configs")}
    assert {"INSTALLATION_NAME", "BRAND_NAME", "ENABLE_ACCOUNT_SIGNUP", "MAXIMUM_FILE_UPLOAD_SIZE"} <= names
    extensions = {row[0] for row in sql(s, "SELECT extname FROM pg_extension")}
    assert {"vector", "pg_trgm", "pgcrypto", "pg_stat_statements", "plpgsql"} <= extensions
    assert sql(
        s,
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'article_embeddings'::regclass AND attname = 'embedding'",
    ) == [("vector(1536)",)]
    first_dump = schema_dump(s)
    first_versions = sql(s, "SELECT version FROM schema_migrations ORDER BY version")
    assert (CAPTAIN_MIGRATION,) in first_versions

    # An operator's value survives, a missing key comes back, and a prepared database is not re-seeded.
    s.runner(
        "c = InstallationConfig.find_by!(name: 'INSTALLATION_NAME'); c.value = 'Kept'; c.save!;"
        "InstallationConfig.find_by!(name: 'BRAND_NAME').destroy!"
    )
    r.delete("alfred:CHATWOOT_INSTALLATION_ONBOARDING")

    second = s.prepare()
    assert second.exit_code == 0, second.output[-3000:]
    assert schema_dump(s) == first_dump
    assert sql(s, "SELECT version FROM schema_migrations ORDER BY version") == first_versions
    out = s.runner(
        "puts \"NAME=#{InstallationConfig.find_by!(name: 'INSTALLATION_NAME').value}\";"
        "puts \"BRAND=#{InstallationConfig.find_by(name: 'BRAND_NAME')&.value}\""
    )
    assert marker(out, "NAME") == "Kept"
    assert marker(out, "BRAND") == "Chatwoot"
    assert r.get("alfred:CHATWOOT_INSTALLATION_ONBOARDING") is None


def test_prepare_creates_a_missing_database(start_chatwoot):
    s = start_chatwoot(services=False, prepare=False)
    env = {**s.env, "POSTGRES_DATABASE": "chatwoot_created_by_prepare"}
    result = s.prepare(env=env)
    assert result.exit_code == 0, result.output[-3000:]
    assert sql(
        s,
        "SELECT count(*) FROM schema_migrations WHERE version = %s",
        (CAPTAIN_MIGRATION,),
        database="chatwoot_created_by_prepare",
    ) == [(1,)]


def test_prepare_without_pgvector_fails_with_chatwoots_message(start_chatwoot):
    s = start_chatwoot(pgvector=False, prepare=False, services=False)
    for _attempt in range(2):  # and it keeps failing: nothing half-done makes a second run pass
        result = s.prepare()
        assert result.exit_code != 0
        assert VECTOR_MESSAGE in result.output, result.output[-3000:]
    assert sql(s, "SELECT to_regclass('article_embeddings')") == [(None,)]
    assert sql(s, "SELECT count(*) FROM schema_migrations WHERE version = %s", (CAPTAIN_MIGRATION,)) == [(0,)]


# --------------------------------------------------------------------------------------------- versions


def test_upgrade_to_next_then_broken_release(start_chatwoot):
    s = start_chatwoot()
    assert get(s.base_url, "/api").json()["version"] == "4.10.1"
    s.runner("Account.create!(name: 'Before upgrade')")

    upgraded = s.prepare(image=LAB_IMAGES["LAB_CHATWOOT_NEXT"])
    assert upgraded.exit_code == 0, upgraded.output[-3000:]
    assert sql(s, "SELECT version FROM lab_upgrade_markers") == [("4.11.0",)]
    assert sql(s, "SELECT count(*) FROM schema_migrations WHERE version = %s", (NEXT_MIGRATION,)) == [(1,)]
    assert sql(s, "SELECT name FROM accounts") == [("Before upgrade",)]
    _container, next_url = s.start_rails(image=LAB_IMAGES["LAB_CHATWOOT_NEXT"], service="rails-next")
    assert get(next_url, "/api").json()["version"] == "4.11.0"

    broken = s.prepare(image=LAB_IMAGES["LAB_CHATWOOT_BROKEN"])
    assert broken.exit_code != 0
    assert "LabBrokenMigration failed part-way" in broken.output, broken.output[-3000:]
    assert sql(s, "SELECT count(*) FROM schema_migrations WHERE version = %s", (BROKEN_MIGRATION,)) == [(0,)]
    # The part that ran before the failure stays: the database is between versions.
    assert sql(s, "SELECT lab_broken_partial FROM accounts") == [(True,)]
