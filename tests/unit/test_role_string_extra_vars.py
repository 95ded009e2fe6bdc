"""`-e key=value` strings behave exactly like the typed values in the docker, app and nginx roles.

Each case runs the role's validation for real on the controller (`include_role`, argument spec and cross-field
asserts), then renders what the role would write (nginx.conf, the site, the ACME renewal settings,
daemon.json) with the role's own defaults and vars, once with every bool/int option given as a
`-e key=value` string and once with the same values typed (JSON `-e`). Both must succeed and agree.
No host is touched: everything runs on localhost into a temporary directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
COLLECTIONS_PATH = f"{REPO / '.collections'}:{Path(sys.executable).parents[1] / 'lib/python3.11/site-packages'}"
ENTRY_POINT = "validate"

NGINX_PLAY = """
- name: Validate selfhost.chatwoot.nginx and render what it writes
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_managed: rendered by a unit test
    __nginx_https: true
    __nginx_http2_directive: true
    __nginx_curves: [X25519]
    __nginx_openssl_version: "3.5.0"
  tasks:
    - name: Run the role's validation
      ansible.builtin.include_role:
        name: selfhost.chatwoot.nginx
        tasks_from: {entry_point}
        public: true
    - name: Render the templates
      ansible.builtin.copy:
        content: "{{{{ lookup('ansible.builtin.template', '{repo}/roles/nginx/templates/' ~ item ~ '.j2') }}}}"
        dest: "{out}/{{{{ item }}}}"
        mode: "0644"
      loop: [nginx.conf, site.conf, selfhost-chatwoot-acme-renew.timer]
    - name: Render the renewal settings
      ansible.builtin.copy:
        content: "{{{{ __nginx_renew_settings | to_nice_json(indent=2) }}}}"
        dest: "{out}/acme-renew.json"
        mode: "0644"
"""

DOCKER_PLAY = """
- name: Validate selfhost.chatwoot.docker and render daemon.json
  hosts: localhost
  connection: local
  gather_facts: true
  tasks:
    - name: Run the role's validation
      ansible.builtin.include_role:
        name: selfhost.chatwoot.docker
        tasks_from: {entry_point}
        public: true
    - name: Render daemon.json
      ansible.builtin.copy:
        content: "{{{{ __docker_daemon_config | to_nice_json(indent=2) }}}}"
        dest: "{out}/daemon.json"
        mode: "0644"
"""

NGINX_FALSE = {
    "nginx_hsts_enabled": "false",
    "nginx_hsts_include_subdomains": "no",
    "nginx_hsts_preload": "off",
    "nginx_http2": "0",
    "nginx_listen_ipv6": "false",
    "nginx_acme_validate_certs": "no",
    "nginx_acme_renewal_timer": "false",
    "nginx_acme_terms_agreed": "false",
    "nginx_remove_default_site": "no",
    "nginx_worker_connections": "65536",
    "nginx_worker_rlimit_nofile": "131072",
    "nginx_proxy_read_timeout": "120",
    "nginx_hsts_max_age": "600",
    "nginx_selfsigned_days": "30",
    "nginx_acme_remaining_days": "20",
}
NGINX_TRUE = {
    **NGINX_FALSE,
    "nginx_hsts_enabled": "yes",
    "nginx_hsts_include_subdomains": "on",
    "nginx_hsts_preload": "1",
    "nginx_http2": "true",
    # Argument validation reads "y" as true (the `bool` filter would make it false).
    "nginx_listen_ipv6": "y",
    "nginx_acme_validate_certs": "True",
}
DOCKER = {
    "docker_live_restore": "false",
    "docker_log_max_file": "3",
    "docker_repository_only": "no",
    "docker_remove_conflicting_packages": "off",
}
TYPES = {
    "nginx_worker_connections": int,
    "nginx_worker_rlimit_nofile": int,
    "nginx_proxy_read_timeout": int,
    "nginx_hsts_max_age": int,
    "nginx_selfsigned_days": int,
    "nginx_acme_remaining_days": int,
    "docker_log_max_file": int,
}
TRUE = {"true", "yes", "on", "1", "y"}


def typed(values: dict[str, str]) -> dict:
    return {k: TYPES[k](v) if k in TYPES else v.lower() in TRUE for k, v in values.items()}


def run_ansible(tmp_path: Path, name: str, play: str, extra_args: list[str]) -> subprocess.CompletedProcess:
    """Run `play` on localhost; what it renders goes to tmp_path/name."""
    out = tmp_path / name
    out.mkdir()
    playbook = tmp_path / f"{name}.yml"
    playbook.write_text(play.format(entry_point=ENTRY_POINT, repo=REPO, out=out))
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
    }
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), *extra_args, str(playbook)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
        check=False,
    )


def run_play(tmp_path: Path, name: str, play: str, extra_args: list[str]) -> dict[str, str]:
    """Run `play`, which must succeed without deprecation warnings; the files it rendered, by name."""
    run = run_ansible(tmp_path, name, play, extra_args)
    assert run.returncode == 0, run.stdout[-4000:]
    assert "[DEPRECATION WARNING]" not in run.stdout, run.stdout[-4000:]
    return {path.name: path.read_text() for path in sorted((tmp_path / name).iterdir())}


def as_strings(values: dict[str, str]) -> list[str]:
    """One `-e key=value` per option, exactly as typed on a command line."""
    return [arg for key, value in values.items() for arg in ("-e", f"{key}={value}")]


@pytest.mark.parametrize("values", [NGINX_FALSE, NGINX_TRUE], ids=["false-forms", "true-forms"])
def test_nginx_strings_render_like_typed_values(tmp_path, values):
    common = ["-e", json.dumps({"nginx_server_name": "chat.example.test"})]
    from_strings = run_play(tmp_path, "strings", NGINX_PLAY, [*common, *as_strings(values)])
    from_types = run_play(tmp_path, "typed", NGINX_PLAY, [*common, "-e", json.dumps(typed(values))])
    assert from_strings == from_types

    site, nginx_conf = from_strings["site.conf"], from_strings["nginx.conf"]
    renew = json.loads(from_strings["acme-renew.json"])
    assert "worker_connections 65536;" in nginx_conf
    assert "worker_rlimit_nofile 131072;" in nginx_conf
    assert "proxy_read_timeout 120s;" in site
    assert renew["remaining_days"] == 20
    if values is NGINX_FALSE:
        assert "add_header Strict-Transport-Security" not in site
        assert "listen [::]" not in site
        assert "http2 off;" in site
        assert renew["verify_tls"] is False
    else:
        assert 'add_header Strict-Transport-Security "max-age=600; includeSubDomains; preload" always;' in site
        assert "listen [::]:443 ssl;" in site
        assert "http2 on;" in site
        assert renew["verify_tls"] is True


def test_docker_strings_render_like_typed_values(tmp_path):
    from_strings = run_play(tmp_path, "strings", DOCKER_PLAY, as_strings(DOCKER))
    from_types = run_play(tmp_path, "typed", DOCKER_PLAY, ["-e", json.dumps(typed(DOCKER))])
    assert from_strings == from_types
    daemon = json.loads(from_strings["daemon.json"])
    assert daemon["live-restore"] is False
    assert daemon["log-opts"]["max-file"] == "3"


def test_docker_string_int_is_validated_as_a_number(tmp_path):
    with pytest.raises(AssertionError, match=r"docker_log_max_file must be >= 1 \(given: 0\)"):
        run_play(tmp_path, "zero", DOCKER_PLAY, ["-e", "docker_log_max_file=0"])


def test_nginx_hsts_enabled_false_string_leaves_hsts_off(tmp_path):
    """The reported case: `-e nginx_hsts_enabled=false` turned HSTS on ("false" is a true string)."""
    rendered = run_play(
        tmp_path, "hsts", NGINX_PLAY, ["-e", "nginx_server_name=chat.example.test", "-e", "nginx_hsts_enabled=false"]
    )
    assert "add_header Strict-Transport-Security" not in rendered["site.conf"]
    # The app's own header (Rails under FORCE_SSL) is hidden either way.
    assert "proxy_hide_header Strict-Transport-Security;" in rendered["site.conf"]


APP_PLAY = """
- name: Validate selfhost.chatwoot.app and render what it writes
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_managed: rendered by a unit test
    __app_secrets:
      SECRET_KEY_BASE: base
      ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY: primary
      ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY: deterministic
      ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT: salt
      POSTGRES_PASSWORD: pg-password
      REDIS_PASSWORD: redis-password
  tasks:
    - name: Run the role's validation
      ansible.builtin.include_role:
        name: selfhost.chatwoot.app
        tasks_from: {entry_point}
        public: true
    - name: Render the templates
      ansible.builtin.copy:
        content: "{{{{ lookup('ansible.builtin.template', '{repo}/roles/app/templates/' ~ item ~ '.j2') }}}}"
        dest: "{out}/{{{{ item }}}}"
        mode: "0644"
      loop: [env, compose.yaml]
"""
APP_FALSE = {
    "app_force_ssl": "false",
    "app_disable_telemetry": "no",
    "app_publish_postgres": "off",
    "app_publish_redis": "0",
    "app_rack_attack_enabled": "false",
    "app_smtp_enable_starttls_auto": "no",
    "app_allow_unsupported_version": "false",
    "app_bootstrap": "false",
    "app_rails_port": "3005",
    "app_redis_db": "2",
    "app_rack_attack_limit": "100",
    "app_smtp_port": "2525",
    "app_web_concurrency": "2",
    "app_rails_max_threads": "4",
    "app_sidekiq_concurrency": "6",
    "app_malloc_arena_max": "0",
    "app_wait_timeout": "120",
}
APP_INTS = {k for k in APP_FALSE if APP_FALSE[k].isdigit() and k not in ("app_publish_redis",)}


def app_args(tmp_path: Path, *args: str) -> list[str]:
    """An inventory of its own: the app role's spec defaults name inventory_dir (app_credentials_dir)."""
    inventory = tmp_path / "inventory" / "hosts.ini"
    if not inventory.exists():
        inventory.parent.mkdir()
        inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    return ["-i", str(inventory), *args]


def test_app_strings_render_like_typed_values(tmp_path):
    """The app role: `-e app_force_ssl=false` must not turn FORCE_SSL on, `-e app_publish_postgres=off` must not
    publish PostgreSQL, integers arrive as numbers (issue #9)."""
    common = ["-e", json.dumps({"app_domain": "chat.example.test"})]
    typed_values = {k: int(v) if k in APP_INTS else v.lower() in TRUE for k, v in APP_FALSE.items()}
    from_strings = run_play(tmp_path, "strings", APP_PLAY, app_args(tmp_path, *common, *as_strings(APP_FALSE)))
    from_types = run_play(tmp_path, "typed", APP_PLAY, app_args(tmp_path, *common, "-e", json.dumps(typed_values)))
    assert from_strings == from_types
    env, compose = from_strings["env"], from_strings["compose.yaml"]
    assert "FORCE_SSL=false" in env
    assert "DISABLE_TELEMETRY" not in env, "Chatwoot disables telemetry when the variable is present at all"
    assert "ENABLE_RACK_ATTACK=false" in env
    assert "RACK_ATTACK_LIMIT=100" in env
    assert "SMTP_PORT=2525" in env
    assert "@redis:6379/2" in env
    assert "MALLOC_ARENA_MAX" not in env
    assert '"127.0.0.1:3005:3000"' in compose
    assert "5432:5432" not in compose
    assert "6379:6379" not in compose


def test_app_relay_without_smtp_auth_leaves_username_out(tmp_path):
    """Chatwoot passes SMTP_USERNAME to net-smtp, which logs in whenever a user name is given, even an empty
    one: a relay without SMTP AUTH needs SMTP_USERNAME, SMTP_PASSWORD and SMTP_AUTHENTICATION absent."""
    common = {"app_domain": "chat.example.test", "app_smtp_address": "relay.example.test"}
    relay = run_play(tmp_path, "relay", APP_PLAY, app_args(tmp_path, "-e", json.dumps(common)))["env"]
    assert "SMTP_ADDRESS=relay.example.test" in relay
    for name in ("SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_AUTHENTICATION"):
        assert f"{name}=" not in relay
    with_auth = {
        **common,
        "app_smtp_username": "mailer",
        "app_smtp_password": "p w",
        "app_smtp_authentication": "login",
    }
    authed = run_play(tmp_path, "authed", APP_PLAY, app_args(tmp_path, "-e", json.dumps(with_auth)))["env"]
    assert "SMTP_USERNAME=mailer" in authed
    assert "SMTP_PASSWORD='p w'" in authed
    assert "SMTP_AUTHENTICATION=login" in authed


def test_app_smtp_username_without_authentication_is_refused(tmp_path):
    values = {"app_domain": "chat.example.test", "app_smtp_address": "smtp.example.test", "app_smtp_username": "u"}
    run = run_ansible(tmp_path, "noauth", APP_PLAY, app_args(tmp_path, "-e", json.dumps(values)))
    assert run.returncode != 0
    assert "app_smtp_authentication is empty" in run.stdout
