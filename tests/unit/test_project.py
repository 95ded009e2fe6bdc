"""_project: .env parsing (quotes, comments, export), compose project names, and service host rules."""

from __future__ import annotations

import pytest

from ansible_collections.selfhost.chatwoot.plugins.module_utils import _project as pr

ENV_TEXT = r"""
# a comment
   # an indented comment
export POSTGRES_HOST=postgres
POSTGRES_PASSWORD='s3cr#t with spaces'
REDIS_PASSWORD="dq \"quoted\" \n newline"
SECRET_KEY_BASE=abc # trailing comment
HASH_IN_VALUE=abc#def
EMPTY=
SPACED = value
SINGLE_NO_ESCAPES='a\nb'
QUOTED_THEN_COMMENT="x y" # note
1DIGIT=x
DUP=first
DUP=second
"""


def test_parse_env_file():
    env = pr.parse_env_file(ENV_TEXT)
    assert env["POSTGRES_HOST"] == "postgres"
    assert env["POSTGRES_PASSWORD"] == "s3cr#t with spaces"
    assert env["REDIS_PASSWORD"] == 'dq "quoted" \n newline'
    assert env["SECRET_KEY_BASE"] == "abc"
    assert env["HASH_IN_VALUE"] == "abc#def"
    assert env["EMPTY"] == ""
    assert env["SPACED"] == "value"
    assert env["SINGLE_NO_ESCAPES"] == "a\\nb"
    assert env["QUOTED_THEN_COMMENT"] == "x y"
    assert env["DUP"] == "second"
    assert env["1DIGIT"] == "x"  # compose reads it too (only its own os.environ loader skips such names)


@pytest.mark.parametrize(
    ("directory", "env", "compose", "name"),
    [
        ("/opt/chatwoot", {}, None, "chatwoot"),
        ("/opt/Chat.Woot_2/", {}, "services: {}\n", "chatwoot_2"),
        ("/srv/x", {}, "name: Support-Desk\nservices: {}\n", "support-desk"),
        ("/srv/x", {}, "name: 'quoted'\n", "quoted"),
        ("/srv/x", {}, "services:\n  app:\n    name: nested\n", "x"),
        ("/srv/x", {"COMPOSE_PROJECT_NAME": "FromEnv"}, "name: fromfile\n", "fromenv"),
        ("/srv/_x", {}, None, "x"),
    ],
)
def test_project_name(directory, env, compose, name):
    assert pr.project_name(directory, env, compose) == name


def test_project_name_that_normalises_to_nothing():
    with pytest.raises(pr.ProjectError, match="COMPOSE_PROJECT_NAME"):
        pr.project_name("/srv/___", {}, None)


def test_load_project(tmp_path):
    project = tmp_path / "Chatwoot"
    project.mkdir()
    with pytest.raises(pr.ProjectError, match="no compose file"):
        pr.load_project(str(project))
    (project / "compose.yaml").write_text("services:\n  rails: {}\n")
    loaded = pr.load_project(str(project))
    assert (loaded.name, loaded.env) == ("chatwoot", {})
    (project / ".env").write_text("COMPOSE_PROJECT_NAME=cw1\nREDIS_URL=redis://redis:6379\n")
    loaded = pr.load_project(str(project))
    assert loaded.name == "cw1" and loaded.env["REDIS_URL"] == "redis://redis:6379"
    assert loaded.compose_file.endswith("compose.yaml")


def test_load_project_missing_directory(tmp_path):
    with pytest.raises(pr.ProjectError, match="is not a directory"):
        pr.load_project(str(tmp_path / "absent"))


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost", "/var/run/postgresql", "", None])
def test_address_literals_need_no_lookup(host):
    assert pr.is_address_literal(host)
    assert pr.resolve_service_host("proj", host, client=object()) == (host, None)


def test_service_names_need_a_lookup():
    assert not pr.is_address_literal("postgres")
    assert pr.resolve_service_host(None, "postgres", client=object()) == ("postgres", None)


class FakeContainer:
    def __init__(self, name, status="running", ip="172.18.0.5", aliases=()):
        self.name, self.status = name, status
        self.attrs = {
            "Created": "2025-01-01",
            "NetworkSettings": {"Networks": {"net": {"IPAddress": ip, "Aliases": list(aliases)}}},
        }


class FakeContainers:
    def __init__(self, containers_by_labels):
        self.by = containers_by_labels

    def list(self, all=False, filters=None):
        labels = filters["label"]
        labels = tuple(labels) if isinstance(labels, list) else (labels,)
        return [c for key, cs in self.by.items() if set(labels) <= set(key) for c in cs]


class FakeClient:
    def __init__(self, by):
        self.containers = FakeContainers(by)


def labels(project, service):
    return (f"com.docker.compose.project={project}", f"com.docker.compose.service={service}")


def test_resolve_service_to_container_address():
    client = FakeClient({labels("cw", "redis"): [FakeContainer("cw-redis-1", ip="172.18.0.9")]})
    address, note = pr.resolve_service_host("cw", "redis", client=client)
    assert address == "172.18.0.9" and "cw-redis-1" in note


def test_resolve_unknown_name_keeps_it_with_a_note():
    client = FakeClient({labels("cw", "redis"): [FakeContainer("cw-redis-1")]})
    address, note = pr.resolve_service_host("cw", "db.example.com", client=client)
    assert address == "db.example.com" and "not a service" in note


def test_resolve_network_alias():
    client = FakeClient({labels("cw", "postgres"): [FakeContainer("x", ip="172.18.0.7", aliases=["cw-postgres"])]})
    address, note = pr.resolve_service_host("cw", "cw-postgres", client=client)
    assert address == "172.18.0.7" and "alias" in note


def test_resolve_stopped_service_fails_with_the_fix():
    client = FakeClient({labels("cw", "postgres"): [FakeContainer("cw-postgres-1", status="exited")]})
    with pytest.raises(pr.ContainerLookupError, match="docker compose up -d"):
        pr.resolve_service_host("cw", "postgres", client=client)
