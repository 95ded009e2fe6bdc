"""The behaviour every release of the Chatwoot double shares, on the oldest and the newest release image.

Every check runs against real containers: the double's rails/sidekiq with the lab's PostgreSQL (pgvector)
and Redis images. Sources: /work/shared/chatwoot-contract.md ("contract") and upstream Chatwoot read at
v4.10.1 unless a test says otherwise; tests/lab/chatwoot-double/README.md lists them.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import tarfile
import uuid
from datetime import datetime

import pytest
import requests
from double_helpers import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    at_least,
    get,
    in_one_window,
    marker,
    post,
    redis_client,
    runner_json,
    sql,
    unique_ip,
)
from support.lab import container_logs, published_port, wait_for
from support.stack import RAILS_COMMAND, RAILS_ENTRYPOINT, compose_labels
from websockets.sync.client import connect as ws_connect

pytestmark = pytest.mark.lab

ALLOWED_IP = "198.51.100.77"
CHATWOOT_STACK_ENV = {
    # Non-default sizes, so the tests can tell the variables are honoured rather than defaults.
    "RAILS_MAX_THREADS": "3",
    "SIDEKIQ_CONCURRENCY": "4",
    "RACK_ATTACK_ALLOWED_IPS": f"{ALLOWED_IP}, 2001:db8::7",
    # The MFA columns' keys (upstream reads them in config/application.rb; the contract's "Environment").
    "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY": secrets.token_hex(16),
    "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY": secrets.token_hex(16),
    "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT": secrets.token_hex(16),
    # Upstream's flood limit per conversation and minute (lib/limits.rb, default 200), small enough to reach.
    "CONVERSATION_MESSAGE_PER_MINUTE_LIMIT": "5",
}
ENCRYPTION_KEYS = [name for name in CHATWOOT_STACK_ENV if name.startswith("ACTIVE_RECORD_ENCRYPTION_")]
WIDGET_THROTTLE = "widget?website_token={website_token}&cw_conversation={x-auth-token}"
VECTOR_MESSAGE = "Failed to enable 'vector' extension. Read more at https://chwt.app/v4/migration"
CAPTAIN_MIGRATION = "20250104200055"


def version_of(stack) -> str:
    return stack.image.rsplit(":", 1)[1].lstrip("v").removesuffix("-ce")


# --------------------------------------------------------------------------------------------- fixtures


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


def test_container_tools_like_the_real_image(stack):
    def sh(script: str):
        code, out = stack.rails.exec_run(["sh", "-c", script])
        return code, out.decode(errors="replace")

    assert sh("command -v curl")[0] != 0, "the real image has no curl; nothing may rely on it"
    assert sh("command -v pg_isready")[0] == 0
    code, out = sh("wget -q -O - http://127.0.0.1:3000/api")
    assert code == 0 and json.loads(out)["version"] == version_of(stack), out
    assert sh('test "$(pwd)" = /app && test "$(id -u)" = 0')[0] == 0


# --------------------------------------------------------------------------------------------- HTTP


def test_no_hsts_without_force_ssl(stack):
    """Strict-Transport-Security comes from Rails' force_ssl only (contract, HSTS); FORCE_SSL is off here."""
    assert "Strict-Transport-Security" not in get(stack.base_url, "/api").headers


def test_api_reports_version_and_live_services(stack):
    body = get(stack.base_url, "/api").json()
    assert body["version"] == version_of(stack)
    datetime.strptime(body["timestamp"], "%Y-%m-%d %H:%M:%S")
    assert body["queue_services"] == "ok"
    assert body["data_services"] == "ok"


def test_force_ssl_redirects_unless_proxy_says_https(stack):
    """FORCE_SSL = Rails force_ssl: redirect, and Rails' own Strict-Transport-Security (long max-age,
    includeSubDomains) on every HTTPS response (contract, "Environment" and HSTS)."""
    _container, base_url = stack.start_rails(env={**stack.env, "FORCE_SSL": "true"}, service="rails-forcessl")
    plain = get(base_url, "/api")
    assert plain.status_code == 301
    assert plain.headers["Location"].startswith("https://")
    proxied = get(base_url, "/api", headers={"X-Forwarded-Proto": "https"})
    assert proxied.status_code == 200 and proxied.json()["version"] == version_of(stack)
    hsts = proxied.headers["Strict-Transport-Security"]
    assert "includeSubDomains" in hsts
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31536000


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
    # From v4.11.0 /health is safelisted (#13386); before it the unrouted path counts like any other.
    health = [get(base_url, "/health", ip=ip).status_code for _attempt in range(5)]
    assert health == ([200] * 5 if at_least(version_of(stack), "4.11.0") else [429] * 5)


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
    # SIDEKIQ_CONCURRENCY plus sidekiq_alive's own capsule (2 threads): Sidekiq 7 reports the sum.
    assert [info["concurrency"] for info in infos] == [4 + 2]
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
    """The double refuses to boot without these (README: stricter than upstream, which fails later)."""
    env = {k: v for k, v in stack.env.items() if k != variable}
    # Without rails' entrypoint, as sidekiq runs: with it, a missing POSTGRES_HOST waits forever (next test).
    result = stack.run_once(["bundle", "exec", "rails", "runner", "puts 'BOOTED'"], env=env, timeout=120, entrypoint=[])
    assert result.exit_code != 0
    assert variable in result.output
    assert "BOOTED" not in result.output


def test_missing_variable_also_stops_sidekiq(stack):
    env = {k: v for k, v in stack.env.items() if k != "SECRET_KEY_BASE"}
    result = stack.run_once(["bundle", "exec", "sidekiq", "-C", "config/sidekiq.yml"], env=env, timeout=120)
    assert result.exit_code != 0
    assert "SECRET_KEY_BASE" in result.output


def test_entrypoint_removes_stale_pid_and_cache(stack):
    """docker/entrypoints/rails.sh removes tmp/pids/server.pid and tmp/cache/* first (contract)."""
    client = stack.factory.client
    container = client.containers.create(
        stack.image,
        entrypoint=RAILS_ENTRYPOINT,
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
        return get(base_url, "/api").status_code == 200

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
    assert "You have entered an invalid email" in result["bad"]
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


# --------------------------------------------------------------------------------------------- entrypoint, image


def test_missing_postgres_host_makes_rails_entrypoint_wait(stack):
    """Upstream's rails.sh builds `pg_isready -h $POSTGRES_HOST -p $POSTGRES_PORT -U $POSTGRES_USERNAME`
    unquoted and loops until it succeeds: with POSTGRES_HOST unset it never does, and the command never runs."""
    env = {k: v for k, v in stack.env.items() if k != "POSTGRES_HOST"}
    container = stack.factory.run(
        stack.image,
        f"{stack.project}-nohost-{uuid.uuid4().hex[:4]}",
        entrypoint=RAILS_ENTRYPOINT,
        command=["bundle", "exec", "rails", "runner", "puts 'BOOTED'"],
        environment=env,
    )
    wait_for(lambda: "pg_isready -h -p 5432" in container.logs().decode(), 30, "the entrypoint's pg_isready loop")
    container.reload()
    assert container.status == "running"
    assert "BOOTED" not in container.logs().decode()
    container.remove(force=True)


def test_rails_entrypoint_runs_bundle_install_and_check_offline(stack):
    """rails.sh runs `bundle install` then loops on `bundle check` before exec (contract); both succeed in
    the image without network (the test network reaches no gem server)."""
    logs = stack.rails.logs().decode(errors="replace")
    assert "+ bundle install" in logs and "Bundle complete!" in logs, logs[-3000:]
    assert "+ bundle check" in logs and "The Gemfile's dependencies are satisfied" in logs
    assert "Database ready to accept connections." in logs
    # sidekiq has no entrypoint: none of that in its log.
    assert "bundle install" not in stack.sidekiq.logs().decode(errors="replace")


def test_redis_alfred_like_upstream(stack):
    """The onboarding helper is Redis::Alfred (lib/redis/alfred.rb upstream: a module nested under Redis,
    constants from Redis::RedisKeys, get/set/delete over the alfred: namespace); there is no RedisAlfred."""
    result = runner_json(
        stack,
        """
        key = Redis::Alfred::CHATWOOT_INSTALLATION_ONBOARDING
        Redis::Alfred.set('LAB_PROBE', 'x')
        probe = Redis::Alfred.get('LAB_PROBE')
        Redis::Alfred.delete('LAB_PROBE')
        result = { key: key, onboarding: Redis::Alfred.get(key), probe: probe, gone: Redis::Alfred.get('LAB_PROBE'),
                   top_level: defined?(::RedisAlfred).inspect, nested: Redis::Alfred.name }
        """,
    )
    assert result == {
        "key": "CHATWOOT_INSTALLATION_ONBOARDING",
        "onboarding": "true",
        "probe": "x",
        "gone": None,
        "top_level": "nil",
        "nested": "Redis::Alfred",
    }


# --------------------------------------------------------------------------------------------- users, inboxes


def test_users_are_devise_confirmable(stack):
    """Devise confirmable (contract: users are Devise `confirmable`): skip_confirmation! confirms without
    mail; confirm sets confirmed_at and SAVES the record (Devise's confirm does save(validate: false)), and
    answers false once confirmed; an unconfirmed new user gets a token and a confirmation mail queued."""
    result = runner_json(
        stack,
        """
        pw = 'Conf!rm123'
        skipped = User.new(email: "skip-#{SecureRandom.hex(3)}@example.com", name: 'S', password: pw,
                           password_confirmation: pw)
        skipped.skip_confirmation!
        skipped.save!
        confirmed_new = User.new(email: "conf-#{SecureRandom.hex(3)}@example.com", name: 'C', password: pw,
                                 password_confirmation: pw)
        confirm_result = confirmed_new.confirm
        again = confirmed_new.confirm
        plain = User.create!(email: "plain-#{SecureRandom.hex(3)}@example.com", name: 'P', password: pw,
                             password_confirmation: pw)
        result = { skipped: skipped.confirmed?, skipped_token: skipped.confirmation_token,
                   confirm_saved: confirm_result, persisted_by_confirm: confirmed_new.persisted?,
                   again: again, again_error: confirmed_new.errors[:email].first,
                   plain_confirmed: plain.confirmed?, plain_token: plain.confirmation_token.present?,
                   plain_email: plain.email }
        """,
    )
    assert (result["skipped"], result["skipped_token"]) == (True, None)
    assert (result["confirm_saved"], result["persisted_by_confirm"]) == (True, True)
    assert result["again"] is False and "already confirmed" in result["again_error"]
    assert (result["plain_confirmed"], result["plain_token"]) == (False, True)


def test_account_builder_email_rules(stack):
    """AccountBuilder's e-mail rules (Account::SignUpEmailValidationService, v4.10.1): valid_email2's
    address rules, then BLOCKED_EMAIL_DOMAINS (one regexp per line), then disposable domains; an existing
    user is refused by exact e-mail. Each failure creates nothing."""
    result = runner_json(
        stack,
        """
        c = InstallationConfig.find_or_initialize_by(name: 'BLOCKED_EMAIL_DOMAINS')
        c.value = "blocked\\\\.test"
        c.save!
        attempt = lambda do |email|
          AccountBuilder.new(account_name: 'R', email: email, user_password: 'Rul3s!abc', user_full_name: 'R').perform
          'ok'
        rescue StandardError => e
          e.message
        end
        before = Account.count
        result = { no_dot: attempt.('user@localhost'), dots: attempt.('a..b@example.com'),
                   lead_dot: attempt.('.a@example.com'), space: attempt.('a b@example.com'),
                   blocked: attempt.('x@blocked.test'), disposable: attempt.('x@mailinator.com'),
                   added: Account.count - before, ok: attempt.("fine-#{SecureRandom.hex(3)}@example.com") }
        c.destroy!
        """,
    )
    invalid = "You have entered an invalid email"
    assert [result[k] for k in ("no_dot", "dots", "lead_dot", "space")] == [invalid] * 4
    assert result["blocked"].startswith("This domain is not allowed")
    assert result["disposable"] == "We do not allow disposable emails"
    assert (result["added"], result["ok"]) == (0, "ok")


def test_inbox_validations(stack):
    """Inbox at v4.10.1: name present (any characters: the old < > / \\ @ rule was removed in #11597), an
    account, a known timezone, greeting and out-of-office messages of at most 10,000 characters."""
    result = runner_json(
        stack,
        """
        account = Account.create!(name: 'Inboxes')
        widget = Channel::WebWidget.create!(account: account, website_url: 'https://i.example.test')
        check = ->(attrs) {
          inbox = Inbox.new({ account: account, channel: widget, name: 'Ok', timezone: 'UTC' }.merge(attrs))
          inbox.valid?
          inbox.errors.attribute_names.map(&:to_s)
        }
        result = { symbols: check.({ name: '-Sales <b> @ / \\\\ -' }), blank: check.({ name: '' }),
                   tz: check.({ timezone: 'Mars/Olympus' }), long: check.({ greeting_message: 'x' * 10_001 }),
                   max: check.({ out_of_office_message: 'x' * 10_000 }) }
        """,
    )
    assert result == {"symbols": [], "blank": ["name"], "tz": ["timezone"], "long": ["greeting_message"], "max": []}


# --------------------------------------------------------------------------------------------- Rack::Attack, proxies


def test_account_keyed_throttle_names_contain_colons_and_slashes(stack):
    """Account-keyed API throttles are named after their routes (e.g. /api/v1/accounts/:account_id/upload,
    60/h, discriminator: the account id; .../reports/user keyed `uid:account_id`), so a counter key has
    colons inside the throttle name (contract, "Redis key spaces")."""
    account_id = 4242
    statuses = [post(stack.base_url, f"/api/v1/accounts/{account_id}/upload", ip=unique_ip()).status_code]
    get(stack.base_url, f"/api/v2/accounts/{account_id}/reports/summary", headers={"uid": "ada@example.test"})
    keys = redis_client(stack).keys("velma:rack::attack:*")
    assert statuses == [404]  # counted before routing: the double serves no upload API
    assert any(
        re.fullmatch(rf"velma:rack::attack:\d+:/api/v1/accounts/:account_id/upload:{account_id}", k) for k in keys
    )
    assert any(k.endswith(f":/api/v2/accounts/:account_id/reports/user:ada@example.test:{account_id}") for k in keys)
    assert any(
        re.fullmatch(rf"velma:rack::attack:\d+:/api/v2/accounts/:account_id/reports:{account_id}", k) for k in keys
    )


def test_throttles_read_forwarded_before_x_forwarded_for(stack):
    """Rack 3's Request#ip reads `Forwarded` before X-Forwarded-For (Debian's ruby-rack 3.1 default,
    pinned in config/initializers/rack_forwarded.rb): a client that sends its own Forwarded header picks
    the address it is throttled as (contract)."""
    chosen, real = unique_ip(), unique_ip()
    get(stack.base_url, "/api", headers={"Forwarded": f"for={chosen}", "X-Forwarded-For": real})
    keys = redis_client(stack).keys("velma:rack::attack:*:req/ip:*")
    assert any(k.endswith(f":req/ip:{chosen}") for k in keys)
    assert not any(k.endswith(f":req/ip:{real}") for k in keys)


# --------------------------------------------------------------------------------------------- mail


def _sidekiq_failures(stack, needle: str) -> list[dict]:
    r = redis_client(stack)
    return [job for job in map(json.loads, r.zrange("retry", 0, -1)) if needle in json.dumps(job["args"])]


def test_password_reset_mail_fails_in_sidekiq_without_smtp(stack, super_admin):
    """POST /auth/password (DeviseOverrides::PasswordsController#create): 200 with Chatwoot's message for a
    known e-mail, 404 otherwise. The mail goes out later in Sidekiq; with SMTP_ADDRESS blank Chatwoot uses
    :sendmail with raise_delivery_errors, and the image has no sendmail, so the job fails (contract, Mail)."""
    unknown = post(stack.base_url, "/auth/password", ip=unique_ip(), json={"email": "nobody@example.test"})
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "Uh ho! We could not find any user with the specified email."}
    known = post(stack.base_url, "/auth/password", ip=unique_ip(), json={"email": ADMIN_EMAIL})
    assert known.status_code == 200
    assert known.json()["message"].startswith("Woot! Request for password reset is successful.")
    [(token,)] = sql(stack, "SELECT reset_password_token FROM users WHERE email = %s", (ADMIN_EMAIL,))
    assert token
    failed = wait_for(lambda: _sidekiq_failures(stack, "reset_password_instructions"), 60, "the failed mail job")
    assert failed[0]["error_class"] == "Errno::ENOENT"
    assert "sendmail" in failed[0]["error_message"]


SMTP_SINK = r"""
require 'socket'
server = TCPServer.new('0.0.0.0', 2525)
$stdout.sync = true
loop do
  client = server.accept
  client.write "220 sink ESMTP\r\n"
  data = false
  while (line = client.gets)
    if data
      data = false if line == ".\r\n"
      puts "DATA #{line.strip}" if line.start_with?('Subject:', 'To:')
      client.write "250 queued\r\n" unless data
      next
    end
    puts "CMD #{line.strip}"
    case line
    when /\AEHLO/i then client.write "250-sink\r\n250-AUTH PLAIN LOGIN\r\n250 OK\r\n"
    when /\AAUTH PLAIN/i then client.write "235 ok\r\n"
    when /\AAUTH LOGIN/i
      client.write "334 VXNlcm5hbWU6\r\n"
      client.gets
      client.write "334 UGFzc3dvcmQ6\r\n"
      client.gets
      client.write "235 ok\r\n"
    when /\ADATA/i then data = true; client.write "354 go\r\n"
    when /\AQUIT/i then client.write "221 bye\r\n"; break
    else client.write "250 OK\r\n"
    end
  end
  client.close
end
"""


def test_smtp_delivery_and_empty_authentication(stack, super_admin):
    """With SMTP_ADDRESS set, mail goes by SMTP (config/initializers/mailer.rb upstream). SMTP_AUTHENTICATION
    is only passed on when non-empty, so empty means no AUTH -- as long as SMTP_USERNAME is unset too: Ruby's
    net-smtp authenticates (PLAIN) whenever a user name is given, even with no authentication type."""
    sink = stack.factory.run(stack.image, f"{stack.project}-smtp", entrypoint=["ruby", "-e", SMTP_SINK])
    wait_for(lambda: sink.status == "running" or sink.reload(), 10, "the SMTP sink")
    smtp = {**stack.env, "SMTP_ADDRESS": f"{stack.project}-smtp", "SMTP_PORT": "2525", "SMTP_AUTHENTICATION": ""}
    send = "Devise::Mailer.reset_password_instructions(User.find_by!(email: '" + ADMIN_EMAIL + "'), 'tok').deliver_now"

    stack.runner(send, env=smtp)
    stack.runner(send, env={**smtp, "SMTP_USERNAME": "relay-user", "SMTP_PASSWORD": "pw"})
    stack.runner(send, env={**smtp, "SMTP_AUTHENTICATION": "login", "SMTP_USERNAME": "u", "SMTP_PASSWORD": "pw"})
    log = sink.logs().decode()
    sessions = log.split("CMD EHLO")[1:]
    assert len(sessions) == 3, log
    assert "AUTH" not in sessions[0] and f"DATA To: {ADMIN_EMAIL}" in sessions[0]
    assert "CMD AUTH PLAIN" in sessions[1]
    assert "CMD AUTH LOGIN" in sessions[2]


# --------------------------------------------------------------------------------------------- sidekiq_alive


def _alive(stack, path: str = "/") -> str:
    _code, out = stack.sidekiq.exec_run(["sh", "-c", f"wget -S -O - http://127.0.0.1:7433{path} 2>&1"])
    return out.decode(errors="replace")


def test_sidekiq_alive_answers_while_its_key_is_fresh(stack):
    """sidekiq_alive (PR #12008, gem 2.5.0, no initializer): every Sidekiq process answers on 0.0.0.0:7433
    (SIDEKIQ_ALIVE_HOST/PORT) with 200 "Alive!" while SIDEKIQ::LIVENESS_PROBE_TIMESTAMP::<hostname> exists
    (TTL 10 min), 404 when it does not; a job on the process's own queue sidekiq-alive-<hostname> rewrites
    it and schedules itself again."""
    hostname = stack.sidekiq.attrs["Config"]["Hostname"]
    key = f"SIDEKIQ::LIVENESS_PROBE_TIMESTAMP::{hostname}"
    r = redis_client(stack)
    # Rewritten every TIME_TO_LIVE / 2 (5 min), so between about 300 and 600 s are left, whenever we look.
    assert 290 < r.ttl(key) <= 600
    assert r.exists(f"SIDEKIQ_REGISTERED_INSTANCE::{hostname}")
    answer = _alive(stack)
    assert "200 OK" in answer and "Alive!" in answer
    assert "404" in _alive(stack, "/other")
    _code, out = stack.sidekiq.exec_run(["sh", "-c", "cat /proc/net/tcp | awk '$4 == \"0A\" {print $2}'"])
    assert "00000000:1D09" in out.decode(), "listens on 0.0.0.0:7433"

    r.delete(key)
    assert "404 Not Found" in _alive(stack)  # body "Can't find the alive key" (wget hides it)
    # The worker's next run (scheduled 5 min ahead) writes it again; run it now.
    scheduled = [json.loads(j) for j in r.zrange("schedule", 0, -1)]
    mine = [j for j in scheduled if j["class"] == "SidekiqAlive::Worker" and j["queue"] == f"sidekiq-alive-{hostname}"]
    assert mine, scheduled
    stack.runner(
        "require 'sidekiq/api'; "
        "Sidekiq::ScheduledSet.new.each { |job| job.add_to_queue if job.klass == 'SidekiqAlive::Worker' }"
    )
    wait_for(lambda: r.exists(key), 30, "the alive job to rewrite its key")
    assert "Alive!" in _alive(stack)


# --------------------------------------------------------------------------------------------- encryption


OTP_SECRET = "JBSWY3DPEHPK3PXP"
BACKUP_CODES = ["1a2b3c4d", "5e6f7a8b"]


def test_mfa_columns_are_encrypted_and_read_back_only_with_the_same_keys(stack, super_admin):
    """Upstream app/models/user.rb (v4.10.1-v4.16.2): `encrypts :otp_secret, deterministic: true` and
    `encrypts :otp_backup_codes` (serialized Array); config/application.rb configures the keys from
    ACTIVE_RECORD_ENCRYPTION_* only when the primary key is set, with support_unencrypted_data,
    extend_queries and store_key_references. So: written with keys A, the columns hold ciphertext; with A
    they read back; with other keys Rails' decryption raises Errors::Decryption, which
    support_unencrypted_data turns into the stored ciphertext: otp_secret reads as that text (a restore with
    the wrong keys silently breaks MFA) and otp_backup_codes, YAML-loaded from it, as a Hash, which the Array
    serializer refuses (SerializationTypeMismatch). Without keys the app still boots, and reading or writing
    the columns raises Errors::Configuration."""
    user_id = super_admin["user_id"]
    stack.runner(
        f"User.find({user_id}).update!(otp_secret: '{OTP_SECRET}', otp_backup_codes: {json.dumps(BACKUP_CODES)})"
    )
    raw_secret, raw_codes = sql(stack, "SELECT otp_secret, otp_backup_codes FROM users WHERE id = %s", (user_id,))[0]
    for raw in (raw_secret, raw_codes):
        message = json.loads(raw)
        assert set(message) == {"p", "h"} and "i" in message["h"], raw  # payload + headers with a key reference
    assert OTP_SECRET not in raw_secret and BACKUP_CODES[0] not in raw_codes

    read = (
        f"u = User.find({user_id}); result = {{secret: u.otp_secret, codes: u.otp_backup_codes,"
        f" by_secret: User.find_by(otp_secret: '{OTP_SECRET}')&.id, mfa: Chatwoot.mfa_enabled?}}"
    )
    same_keys = runner_json(stack, read)
    assert same_keys == {"secret": OTP_SECRET, "codes": BACKUP_CODES, "by_secret": user_id, "mfa": True}

    other_env = {**stack.env, **{name: secrets.token_hex(16) for name in ENCRYPTION_KEYS}}
    other_keys = runner_json(
        stack,
        f"u = User.find({user_id}); result = {{secret: u.otp_secret, by_secret: User.find_by(otp_secret:"
        f" '{OTP_SECRET}')&.id}}\nbegin; u.otp_backup_codes; rescue => e; result[:codes] = e.class.name; end\n"
        "begin; ActiveRecord::Encryption.encryptor.decrypt(u.otp_secret_before_type_cast);"
        " result[:decrypt] = 'decrypted'; rescue => e; result[:decrypt] = e.class.name; end",
        env=other_env,
    )
    assert other_keys == {
        "secret": raw_secret,  # the ciphertext, as if it were a plaintext secret
        "by_secret": None,
        "codes": "ActiveRecord::SerializationTypeMismatch",  # the ciphertext's JSON is no Array
        "decrypt": "ActiveRecord::Encryption::Errors::Decryption",
    }

    no_keys_env = {name: value for name, value in stack.env.items() if name not in ENCRYPTION_KEYS}
    no_keys = runner_json(
        stack,
        f"u = User.find({user_id}); result = {{mfa: Chatwoot.mfa_enabled?}}\n"
        "begin; u.otp_secret; rescue => e; result[:read] = e.class.name; end\n"
        "begin; u.update!(otp_secret: 'X'); rescue => e; result[:write] = e.class.name; end",
        env=no_keys_env,
    )
    assert no_keys == {
        "mfa": False,
        "read": "ActiveRecord::Encryption::Errors::Configuration",
        "write": "ActiveRecord::Encryption::Errors::Configuration",
    }


# --------------------------------------------------------------------------------------------- message API


@pytest.fixture(scope="module")
def api_site(stack, super_admin) -> dict:
    """The super admin's API token (upstream: every user gets an access_tokens row on create), a web widget
    inbox in its account and a contact there."""
    return runner_json(
        stack,
        f"account = Account.find({super_admin['account_id']}); user = User.find({super_admin['user_id']});"
        "widget = Channel::WebWidget.create!(account: account, website_url: 'https://api.example.test');"
        "inbox = Inbox.create!(account: account, channel: widget, name: 'API writes');"
        "contact = Contact.create!(account: account, name: 'Carla Contact', email: 'carla@example.test');"
        "result = {token: user.access_token.token, account_id: account.id, inbox_id: inbox.id,"
        " contact_id: contact.id, tokens: AccessToken.where(owner: user).count}",
    )


def api_post(stack, path: str, token: str | None, **json_body) -> requests.Response:
    headers = {"api_access_token": token} if token is not None else {}
    return post(stack.base_url, path, ip=unique_ip(), headers=headers, json=json_body)


def test_conversation_and_message_write_through_the_api(stack, api_site):
    """Upstream ConversationsController#create (inbox_id + contact_id) and
    Conversations::MessagesController#create (v4.10.1, v4.16.2), api_access_token header: 200 with the
    conversation's display id, then the message JSON (views/api/v1/models/_message); the rows are upstream's
    (messages.account_id/inbox_id/conversation_id/message_type/content; display_id from the database trigger)."""
    assert api_site["tokens"] == 1
    account = api_site["account_id"]
    created = api_post(
        stack,
        f"/api/v1/accounts/{account}/conversations",
        api_site["token"],
        inbox_id=api_site["inbox_id"],
        contact_id=api_site["contact_id"],
    )
    assert created.status_code == 200, created.text
    conversation = created.json()
    assert conversation["status"] == "open" and conversation["messages"] == []
    assert conversation["inbox_id"] == api_site["inbox_id"] and conversation["account_id"] == account
    assert conversation["meta"]["sender"]["id"] == api_site["contact_id"]
    (conversation_pk, display_id), *_ = sql(
        stack, "SELECT id, display_id FROM conversations WHERE uuid = %s", (conversation["uuid"],)
    )
    assert conversation["id"] == display_id

    content = f"acknowledged write {uuid.uuid4().hex[:8]}"
    answer = api_post(
        stack, f"/api/v1/accounts/{account}/conversations/{display_id}/messages", api_site["token"], content=content
    )
    assert answer.status_code == 200, answer.text
    message = answer.json()
    assert message["content"] == content and message["conversation_id"] == display_id
    assert (message["message_type"], message["content_type"], message["status"], message["private"]) == (
        1,
        "text",
        "sent",
        False,
    )
    assert message["sender"]["type"] == "user" and isinstance(message["created_at"], int)
    row = sql(
        stack,
        "SELECT content, account_id, inbox_id, conversation_id, message_type, sender_type FROM messages WHERE id = %s",
        (message["id"],),
    )
    assert row == [(content, account, api_site["inbox_id"], conversation_pk, 1, "User")]


def test_message_api_refuses_without_a_valid_token_and_for_unknown_conversations(stack, api_site):
    """Upstream: no api_access_token -> devise_token_auth's 401 {"errors": [...]}; an unknown token -> 401
    "Invalid Access Token"; an unknown conversation display id or account -> 404 "Resource could not be
    found" (handle_with_exception); nothing is written."""
    account = api_site["account_id"]
    path = f"/api/v1/accounts/{account}/conversations/999999/messages"
    before = sql(stack, "SELECT count(*) FROM messages")[0][0]

    missing = api_post(stack, path, None, content="x")
    assert missing.status_code == 401
    assert missing.json() == {"errors": ["You need to sign in or sign up before continuing."]}
    invalid = api_post(stack, path, "not-a-token", content="x")
    assert (invalid.status_code, invalid.json()) == (401, {"error": "Invalid Access Token"})
    unknown = api_post(stack, path, api_site["token"], content="x")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Resource could not be found"})
    no_account = api_post(stack, "/api/v1/accounts/999999/conversations/1/messages", api_site["token"], content="x")
    assert no_account.status_code == 404
    assert sql(stack, "SELECT count(*) FROM messages")[0][0] == before


def test_message_flood_limit_per_conversation(stack, api_site):
    """Upstream Message#prevent_message_flooding (lib/limits.rb): at most CONVERSATION_MESSAGE_PER_MINUTE_LIMIT
    messages per conversation in the last minute (5 here, default 200); the next is refused with 422
    {"error": "Validation failed: Too many messages"} (the controller rescues it) and not stored."""
    account = api_site["account_id"]
    conversation = api_post(
        stack,
        f"/api/v1/accounts/{account}/conversations",
        api_site["token"],
        inbox_id=api_site["inbox_id"],
        contact_id=api_site["contact_id"],
    ).json()
    path = f"/api/v1/accounts/{account}/conversations/{conversation['id']}/messages"
    codes = [api_post(stack, path, api_site["token"], content=f"m{i}").status_code for i in range(6)]
    assert codes == [200] * 5 + [422]
    refused = api_post(stack, path, api_site["token"], content="again")
    assert refused.json() == {"error": "Validation failed: Too many messages"}
