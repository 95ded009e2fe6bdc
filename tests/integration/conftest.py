"""Fixtures for integration tests: a Chatwoot stack (the lab's contract double) on real containers.

`start_chatwoot_stack()` starts PostgreSQL + Redis (the lab images, via tests/conftest.py), runs
`db:chatwoot_prepare` as a one-off container, then starts `rails` and `sidekiq` from a Chatwoot image.
Every container carries the labels Docker Compose would set (`com.docker.compose.project`,
`com.docker.compose.service`, `com.docker.compose.oneoff`), so the collection's modules find it exactly
as they would find a compose-deployed stack. Ports are published on 127.0.0.1 only.

Test modules get stacks through the fixtures below (`chatwoot_stack`, `start_chatwoot`,
`module_chatwoot_stack`); the helpers themselves are importable as `selfhost_chatwoot_stack`
(this conftest registers itself under that name, since pytest imports conftests outside any package).
"""

from __future__ import annotations

import importlib.util
import secrets
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests


def _root_conftest():
    """tests/conftest.py as a module (pytest loads conftests without a package, so import it by path)."""
    name = "_selfhost_chatwoot_tests_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


_root = _root_conftest()
sys.modules.setdefault("selfhost_chatwoot_stack", sys.modules[__name__])
LAB_IMAGES = _root.LAB_IMAGES
ContainerFactory = _root.ContainerFactory
Postgres = _root.Postgres
Redis = _root.Redis
container_logs = _root.container_logs
published_port = _root.published_port
start_postgres = _root.start_postgres
start_redis = _root.start_redis
wait_for = _root.wait_for

RAILS_COMMAND = ["bundle", "exec", "rails", "s", "-p", "3000", "-b", "0.0.0.0"]
SIDEKIQ_COMMAND = ["bundle", "exec", "sidekiq", "-C", "config/sidekiq.yml"]
PREPARE_COMMAND = ["bundle", "exec", "rails", "db:chatwoot_prepare"]


def compose_labels(project: str, service: str, oneoff: bool = False) -> dict[str, str]:
    return {
        "com.docker.compose.project": project,
        "com.docker.compose.service": service,
        "com.docker.compose.oneoff": "True" if oneoff else "False",
    }


class _Labelled:
    """Wraps a ContainerFactory so helpers that only take a factory (start_postgres, ...) add compose labels."""

    def __init__(self, factory: ContainerFactory, labels: dict[str, str]):
        self.factory = factory
        self.labels = labels

    def run(self, image: str, alias: str, **kwargs):
        kwargs["labels"] = {**self.labels, **kwargs.pop("labels", {})}
        return self.factory.run(image, alias, **kwargs)


def chatwoot_env(project: str, postgres: Postgres, redis: Redis) -> dict[str, str]:
    """The .env a Chatwoot deployment uses, pointing at the stack's own postgres and redis."""
    return {
        "RAILS_ENV": "production",
        "NODE_ENV": "production",
        "INSTALLATION_ENV": "docker",
        "SECRET_KEY_BASE": secrets.token_hex(32),
        "FRONTEND_URL": f"https://{project}.chat.example.test",
        "POSTGRES_HOST": postgres.network_alias,
        "POSTGRES_PORT": "5432",
        "POSTGRES_USERNAME": postgres.user,
        "POSTGRES_PASSWORD": postgres.password,
        "POSTGRES_DATABASE": postgres.database,
        "REDIS_URL": f"redis://{redis.network_alias}:6379",
        "REDIS_PASSWORD": redis.password,
        "RAILS_LOG_TO_STDOUT": "true",
        "ENABLE_RACK_ATTACK": "true",
    }


@dataclass
class OneOff:
    exit_code: int
    output: str


@dataclass
class ChatwootStack:
    project: str
    image: str
    env: dict[str, str]
    postgres: Postgres
    redis: Redis
    factory: ContainerFactory
    rails: object | None = None
    sidekiq: object | None = None
    base_url: str = ""
    extra: list = field(default_factory=list)

    def run_once(
        self,
        command: list[str],
        env: dict[str, str] | None = None,
        image: str | None = None,
        timeout: float = 300,
    ) -> OneOff:
        """Like `docker compose run --rm rails <command>`: a fresh container through the entrypoint."""
        container = self.factory.run(
            image or self.image,
            f"{self.project}-run-{uuid.uuid4().hex[:4]}",
            command=command,
            environment=env if env is not None else self.env,
            labels=compose_labels(self.project, "rails", oneoff=True),
        )
        result = container.wait(timeout=timeout)
        output = container.logs().decode(errors="replace")
        return OneOff(int(result["StatusCode"]), output)

    def prepare(self, image: str | None = None, env: dict[str, str] | None = None) -> OneOff:
        return self.run_once(PREPARE_COMMAND, env=env, image=image)

    def runner(self, code: str, env: dict[str, str] | None = None) -> str:
        """`bundle exec rails runner <code>`; fails the test on a non-zero exit.

        Like `docker compose exec rails ...` when the stack's rails container runs and env is not overridden
        (faster), otherwise like `docker compose run --rm rails ...`.
        """
        command = ["bundle", "exec", "rails", "runner", code]
        if env is None and self.rails is not None:
            self.rails.reload()
            if self.rails.status == "running":
                exit_code, output = self.rails.exec_run(command, workdir="/app")
                result = OneOff(exit_code, output.decode(errors="replace"))
            else:
                result = self.run_once(command)
        else:
            result = self.run_once(command, env=env)
        if result.exit_code != 0:
            pytest.fail(f"rails runner failed ({result.exit_code}):\n{result.output[-4000:]}")
        return result.output

    def start_rails(self, env: dict[str, str] | None = None, image: str | None = None, service: str = "rails"):
        """Start a web container (published on 127.0.0.1) and wait for /health; returns (container, base_url)."""
        container = self.factory.run(
            image or self.image,
            f"{self.project}-{service}-{uuid.uuid4().hex[:4]}",
            command=RAILS_COMMAND,
            environment=env if env is not None else self.env,
            labels=compose_labels(self.project, service),
            ports={"3000/tcp": ("127.0.0.1", None)},
        )
        base_url = f"http://127.0.0.1:{published_port(container, '3000/tcp')}"

        def healthy():
            container.reload()
            if container.status == "exited":
                pytest.fail(f"rails exited:\n{container_logs(container)}")
            # /health answers 301 under FORCE_SSL unless the proxy header says https.
            return requests.get(f"{base_url}/health", headers={"X-Forwarded-Proto": "https"}, timeout=5).ok

        wait_for(healthy, 120, f"{service} /health")
        return container, base_url

    def start_sidekiq(self, env: dict[str, str] | None = None, image: str | None = None):
        return self.factory.run(
            image or self.image,
            f"{self.project}-sidekiq-{uuid.uuid4().hex[:4]}",
            command=SIDEKIQ_COMMAND,
            environment=env if env is not None else self.env,
            labels=compose_labels(self.project, "sidekiq"),
        )


def start_chatwoot_stack(
    factory: ContainerFactory,
    image: str | None = None,
    *,
    project: str | None = None,
    pgvector: bool = True,
    env: dict[str, str] | None = None,
    prepare: bool = True,
    services: bool = True,
) -> ChatwootStack:
    """Start postgres + redis, then (optionally) db:chatwoot_prepare, rails and sidekiq.

    `env` entries override the default Chatwoot environment (a value of None removes the variable).
    """
    project = project or f"cw{uuid.uuid4().hex[:8]}"
    image = image or LAB_IMAGES["LAB_CHATWOOT"]
    postgres = start_postgres(
        _Labelled(factory, compose_labels(project, "postgres")), pgvector=pgvector, alias=f"{project}-postgres"
    )
    redis = start_redis(_Labelled(factory, compose_labels(project, "redis")), alias=f"{project}-redis")
    stack_env = chatwoot_env(project, postgres, redis)
    for name, value in (env or {}).items():
        if value is None:
            stack_env.pop(name, None)
        else:
            stack_env[name] = value
    stack = ChatwootStack(project, image, stack_env, postgres, redis, factory)
    if prepare:
        result = stack.prepare()
        if result.exit_code != 0:
            pytest.fail(f"db:chatwoot_prepare failed ({result.exit_code}):\n{result.output[-4000:]}")
    if services:
        stack.rails, stack.base_url = stack.start_rails()
        stack.sidekiq = stack.start_sidekiq()
    return stack


@pytest.fixture
def chatwoot_stack(containers) -> ChatwootStack:
    """A fresh, prepared Chatwoot stack (default lab image) with rails and sidekiq, for one test."""
    return start_chatwoot_stack(containers)


@pytest.fixture
def start_chatwoot(containers):
    """start_chatwoot(image=..., pgvector=..., env=..., prepare=..., services=...) for stacks a test shapes itself.

    Everything it starts is removed after the test.
    """

    def start(image: str | None = None, **kwargs) -> ChatwootStack:
        return start_chatwoot_stack(containers, image, **kwargs)

    return start


@pytest.fixture(scope="module")
def module_chatwoot_stack(request, docker_client, lab_network) -> Iterator[ChatwootStack]:
    """One prepared stack shared by all tests of a module (for checks that do not need a pristine stack).

    A module can set `CHATWOOT_STACK_ENV = {...}` to override variables of the stack's environment.
    """
    factory = ContainerFactory(docker_client, lab_network)
    try:
        yield start_chatwoot_stack(factory, env=getattr(request.module, "CHATWOOT_STACK_ENV", None))
    finally:
        factory.cleanup()
