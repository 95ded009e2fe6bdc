"""The shared pieces of the modules: the argument-spec helper, the connection tail, and the diffs they show."""

from __future__ import annotations

import pytest

from ansible_collections.selfhost.chatwoot.plugins.module_utils import _pgvector as pv
from ansible_collections.selfhost.chatwoot.plugins.module_utils import _rate_limit as rl
from ansible_collections.selfhost.chatwoot.plugins.module_utils._bootstrap_script import bootstrap_diff
from ansible_collections.selfhost.chatwoot.plugins.module_utils._project import (
    DEFAULT_SERVICE,
    DEFAULT_TIMEOUT,
    project_argument_spec,
    service_settings,
)


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, **params):
        self.params = params

    def fail_json(self, **values):
        raise Failed(values)


def test_every_project_module_gets_project_src_and_its_own_options():
    spec = project_argument_spec({"state": {"type": "str"}})
    assert spec == {"project_src": {"type": "path"}, "state": {"type": "str"}}


def test_container_modules_get_the_container_options():
    spec = project_argument_spec({"code": {"type": "str"}}, container=True)
    assert list(spec) == ["project_src", "service", "container", "docker_host", "timeout", "code"]
    assert spec["service"]["default"] == DEFAULT_SERVICE == "rails"
    assert spec["timeout"] == {"type": "int", "default": DEFAULT_TIMEOUT}


def test_a_module_cannot_redefine_a_shared_option():
    with pytest.raises(ValueError, match="timeout"):
        project_argument_spec({"timeout": {"type": "float"}}, container=True)
    # without the container options, a module's own timeout is its own
    assert project_argument_spec({"timeout": {"type": "float"}})["timeout"] == {"type": "float"}


def test_service_settings_maps_module_options_onto_the_merge():
    module = FakeModule(project_src=None, login_host="10.0.0.5", login_port=6432, login_user=None,
                        login_password="pw", db="cw", ssl_mode=None)  # fmt: skip
    settings, note = service_settings(module, pv.settings_from_env, pv.merge_settings, pv.MODULE_OPTIONS)
    assert (settings.host, settings.port, settings.user, settings.password, settings.dbname) == (
        "10.0.0.5",
        6432,
        "postgres",
        "pw",
        "cw",
    )
    assert note is None


def test_service_settings_fails_the_module_with_the_cause(tmp_path):
    module = FakeModule(project_src=str(tmp_path / "absent"), redis_url=None, host=None, port=None, password=None,
                        db=None)  # fmt: skip
    with pytest.raises(Failed) as failed:
        service_settings(module, lambda p: None, rl.merge_settings, rl.MODULE_OPTIONS, (rl.RedisSettingsError,), x=1)
    values = failed.value.args[0]
    assert "is not a directory" in values["msg"] and values["x"] == 1


def test_service_settings_reports_the_settings_modules_own_errors():
    module = FakeModule(project_src=None, redis_url="http://nope", host=None, port=None, password=None, db=None)
    with pytest.raises(Failed, match="unsupported Redis URL scheme"):
        service_settings(module, lambda p: None, rl.merge_settings, rl.MODULE_OPTIONS, (rl.RedisSettingsError,))


def test_every_module_option_name_is_one_the_merge_accepts():
    assert set(pv.MODULE_OPTIONS) <= set(pv.PgSettings.__dataclass_fields__)
    assert set(rl.MODULE_OPTIONS) - {"redis_url"} <= set(rl.RedisSettings.__dataclass_fields__)


def test_pgvector_diff_shows_the_version_before_and_after():
    diff = pv.version_diff("0.7.4", "0.8.0", "db:5432/cw as postgres")
    assert (diff["before"], diff["after"]) == ("vector 0.7.4\n", "vector 0.8.0\n")
    assert "db:5432/cw" in diff["before_header"]
    assert pv.version_diff(None, "0.8.0", "x")["before"] == "vector absent\n"
    assert pv.version_diff("0.8.0", None, "x")["after"] == "vector absent\n"


def test_bootstrap_diff_lists_the_changes_and_says_whether_they_happened():
    changes = ['create account "Support"', "update super admin a@example.com: password"]
    done = bootstrap_diff(changes)["prepared"]
    assert done.splitlines() == [
        "bootstrap changed 2 things:",
        '  ~ create account "Support"',
        "  ~ update super admin a@example.com: password",
    ]
    assert bootstrap_diff(changes[:1], check_mode=True)["prepared"].startswith("bootstrap would change 1 thing:")
    assert bootstrap_diff([]) == {"prepared": ""}
