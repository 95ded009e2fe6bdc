"""_project.project_connection: the one path from project_src to a service address, for both modules."""

from __future__ import annotations

import pytest

from ansible_collections.selfhost.chatwoot.plugins.module_utils import _pgvector as pv
from ansible_collections.selfhost.chatwoot.plugins.module_utils import _rate_limit as rl
from ansible_collections.selfhost.chatwoot.plugins.module_utils._project import (
    ProjectError,
    dotenv_quote,
    project_connection,
)

SECRET = "pa$$ 'w0rd' #1 \\"


@pytest.fixture
def project(tmp_path):
    directory = tmp_path / "chatwoot"
    directory.mkdir()
    (directory / "compose.yaml").write_text("name: cw1\nservices: {}\n")
    (directory / ".env").write_text(
        f"POSTGRES_HOST=postgres\nPOSTGRES_USERNAME=cw\nPOSTGRES_PASSWORD={dotenv_quote(SECRET)}\n"
        f"REDIS_URL=redis://redis:6379/2\nREDIS_PASSWORD={dotenv_quote(SECRET)}\n"
    )
    return str(directory)


class Resolver:
    def __init__(self, addresses):
        self.addresses, self.calls = addresses, []

    def __call__(self, project_name, host):
        self.calls.append((project_name, host))
        if host in self.addresses:
            return self.addresses[host], f"{host!r} is the service container"
        return host, None


def test_discovered_settings_are_merged_and_the_service_resolved(project):
    resolve = Resolver({"postgres": "172.18.0.2", "redis": "172.18.0.3"})
    pg, note = project_connection(
        project, lambda p: pv.settings_from_env(p.env), lambda d: pv.merge_settings(d, dbname="chatwoot"), resolve
    )
    assert (pg.host, pg.user, pg.password, pg.dbname) == ("172.18.0.2", "cw", SECRET, "chatwoot")
    assert "service container" in note
    redis, _note = project_connection(
        project, lambda p: rl.settings_from_env(p.env), lambda d: rl.merge_settings(d, db=5), resolve
    )
    assert (redis.host, redis.port, redis.db, redis.password) == ("172.18.0.3", 6379, 5, SECRET)
    assert resolve.calls == [("cw1", "postgres"), ("cw1", "redis")]


def test_explicit_options_win_and_literal_hosts_pass_through(project):
    resolve = Resolver({"postgres": "172.18.0.2"})
    pg, note = project_connection(
        project,
        lambda p: pv.settings_from_env(p.env),
        lambda d: pv.merge_settings(d, host="10.0.0.9", password="explicit"),
        resolve,
    )
    assert (pg.host, pg.password, note) == ("10.0.0.9", "explicit", None)


def test_without_project_src_nothing_is_discovered():
    resolve = Resolver({})
    seen = []

    def merge(discovered):
        seen.append(discovered)
        return pv.merge_settings(discovered, host="db.example.com")

    pg, _note = project_connection(None, lambda p: pytest.fail("no project to read"), merge, resolve)
    assert seen == [None] and pg.host == "db.example.com" and resolve.calls == [(None, "db.example.com")]


def test_errors_name_the_cause(project, tmp_path):
    with pytest.raises(ProjectError, match="is not a directory"):
        project_connection(str(tmp_path / "absent"), lambda p: None, lambda d: d, Resolver({}))

    def refuse(project):
        raise rl.RedisSettingsError(f"no REDIS_URL in {project.directory}/.env")

    with pytest.raises(rl.RedisSettingsError, match=r"no REDIS_URL in .*chatwoot/\.env"):
        project_connection(project, refuse, lambda d: d, Resolver({}))


def test_an_env_compose_cannot_read_is_a_project_error(project, tmp_path):
    (tmp_path / "chatwoot" / ".env").write_text("POSTGRES_PASSWORD=unbalanced$\n")
    with pytest.raises(ProjectError, match=r"not a \.env Docker Compose can read") as caught:
        project_connection(project, lambda p: pv.settings_from_env(p.env), pv.merge_settings, Resolver({}))
    assert "unbalanced" not in str(caught.value)
