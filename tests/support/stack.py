"""A Chatwoot stack (the lab's contract double) on real containers, started the way Docker Compose starts one.

`start_chatwoot_stack()` starts PostgreSQL + Redis, runs `db:chatwoot_prepare` as a one-off container, then
starts `rails` and `sidekiq` from a Chatwoot double image. Like the real image, the double has no ENTRYPOINT
and no CMD, so these helpers do what Chatwoot's compose file does: the rails service and its one-offs run
through `docker/entrypoints/rails.sh` (waits for Postgres, `bundle install`, `bundle check`), sidekiq runs
`bundle exec sidekiq -C config/sidekiq.yml` directly. Every container carries the labels Docker Compose would
set (`com.docker.compose.project`, `.service`, `.oneoff`), so the collection's modules find the stack exactly
as they would find a compose-deployed one. Ports are published on 127.0.0.1 only.

Which release: `image=` takes anything `support.lab.chatwoot_image()` does ("oldest" -- the default --,
"newest", "v4.12.1", an images.env key or a full image name).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field

import pytest
import requests

from support.lab import (
    ContainerFactory,
    Postgres,
    Redis,
    chatwoot_image,
    container_logs,
    published_port,
    start_postgres,
    start_redis,
    wait_for,
)

RAILS_ENTRYPOINT = ["docker/entrypoints/rails.sh"]
RAILS_COMMAND = ["bundle", "exec", "rails", "s", "-p", "3000", "-b", "0.0.0.0"]
SIDEKIQ_COMMAND = ["bundle", "exec", "sidekiq", "-C", "config/sidekiq.yml"]
PREPARE_COMMAND = ["bundle", "exec", "rails", "db:chatwoot_prepare"]
# How long a rails container may take to answer after LAB_BOOT_DELAY (a Rails boot plus the entrypoint's
# pg_isready and bundle steps; generous for a loaded 2-core CI machine).
BOOT_ALLOWANCE = 120


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
        # These stacks test what runs on Chatwoot, not how long it takes to boot: without this every rails,
        # sidekiq, runner and rake start would wait the image's default LAB_BOOT_DELAY (15 s) first. Suites
        # that measure start-up set it back (tests/lab/chatwoot-double/tests/test_boot_delay.py).
        "LAB_BOOT_DELAY": "0",
    }


def boot_delay(env: dict[str, str]) -> float:
    """The LAB_BOOT_DELAY a container started with `env` waits (the image's default, 15 s, when unset)."""
    return float(env.get("LAB_BOOT_DELAY", "15"))


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
        entrypoint: list[str] | None = None,
    ) -> OneOff:
        """Like `docker compose run --rm rails <command>`: a fresh container through rails' entrypoint
        (`entrypoint=[]` runs the command without it, as the sidekiq service does)."""
        container = self.factory.run(
            chatwoot_image(image) if image else self.image,
            f"{self.project}-run-{uuid.uuid4().hex[:4]}",
            command=command,
            entrypoint=RAILS_ENTRYPOINT if entrypoint is None else entrypoint,
            environment=env if env is not None else self.env,
            labels=compose_labels(self.project, "rails", oneoff=True),
        )
        try:
            result = container.wait(timeout=timeout)
        except Exception as exc:  # requests' ReadTimeout: report what the container was doing
            pytest.fail(f"{command} did not finish within {timeout:.0f} s ({exc}):\n{container_logs(container)}")
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

    def start_rails(
        self,
        env: dict[str, str] | None = None,
        image: str | None = None,
        service: str = "rails",
        wait: bool = True,
    ):
        """Start a web container (published on 127.0.0.1) through rails' entrypoint and wait until GET /api
        answers (it exists on every release; /health only from v4.11.0). Returns (container, base_url)."""
        env = env if env is not None else self.env
        container = self.factory.run(
            chatwoot_image(image) if image else self.image,
            f"{self.project}-{service}-{uuid.uuid4().hex[:4]}",
            entrypoint=RAILS_ENTRYPOINT,
            command=RAILS_COMMAND,
            environment=env,
            labels=compose_labels(self.project, service),
            ports={"3000/tcp": ("127.0.0.1", None)},
        )
        base_url = f"http://127.0.0.1:{published_port(container, '3000/tcp')}"
        if wait:
            wait_for_rails(container, base_url, BOOT_ALLOWANCE + boot_delay(env), service)
        return container, base_url

    def start_sidekiq(self, env: dict[str, str] | None = None, image: str | None = None, wait: bool = False):
        """Start a sidekiq container the way compose does: its command directly, no entrypoint (nothing waits
        for Postgres). With wait=True, until its sidekiq_alive port answers 200."""
        env = env if env is not None else self.env
        container = self.factory.run(
            chatwoot_image(image) if image else self.image,
            f"{self.project}-sidekiq-{uuid.uuid4().hex[:4]}",
            entrypoint=[],
            command=SIDEKIQ_COMMAND,
            environment=env,
            labels=compose_labels(self.project, "sidekiq"),
        )
        if wait:
            wait_for_sidekiq_alive(container, BOOT_ALLOWANCE + boot_delay(env))
        return container


def wait_for_rails(container, base_url: str, timeout: float, what: str = "rails") -> None:
    def answering():
        container.reload()
        if container.status == "exited":
            pytest.fail(f"{what} exited:\n{container_logs(container)}")
        # FORCE_SSL answers 301 unless the proxy header says https.
        return requests.get(f"{base_url}/api", headers={"X-Forwarded-Proto": "https"}, timeout=5).status_code == 200

    wait_for(answering, timeout, f"{what} GET /api")


def sidekiq_alive_status(container, path: str = "/", timeout: int = 5) -> tuple[int, str]:
    """(exit code, output) of a whole HTTP request to the container's own sidekiq_alive port, from inside it
    (BusyBox wget: a complete request, unlike a bare TCP probe, which trips chatwoot/chatwoot#15818)."""
    _code, out = container.exec_run(
        ["sh", "-c", f"wget -q -T {timeout} -O - http://127.0.0.1:7433{path} 2>&1; echo; echo rc=$?"]
    )
    text = out.decode(errors="replace")
    return (0 if text.rstrip().endswith("rc=0") else 1), text


def wait_for_sidekiq_alive(container, timeout: float) -> None:
    def alive():
        container.reload()
        if container.status == "exited":
            pytest.fail(f"sidekiq exited:\n{container_logs(container)}")
        code, text = sidekiq_alive_status(container)
        return code == 0 and "Alive!" in text

    wait_for(alive, timeout, "sidekiq_alive to answer 200 on :7433", interval=1)


def start_chatwoot_stack(
    factory: ContainerFactory,
    image: str | None = None,
    *,
    project: str | None = None,
    pgvector: bool = True,
    env: dict[str, str] | None = None,
    prepare: bool = True,
    services: bool = True,
    wait_sidekiq: bool = False,
) -> ChatwootStack:
    """Start postgres + redis, then (optionally) db:chatwoot_prepare, rails and sidekiq.

    `image` is anything `chatwoot_image()` accepts (default: the oldest release). `env` entries override the
    default Chatwoot environment (a value of None removes the variable).
    """
    project = project or f"cw{uuid.uuid4().hex[:8]}"
    image = chatwoot_image(image)
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
        stack.sidekiq = stack.start_sidekiq()
        stack.rails, stack.base_url = stack.start_rails()
        if wait_sidekiq:
            wait_for_sidekiq_alive(stack.sidekiq, BOOT_ALLOWANCE + boot_delay(stack.env))
    return stack
