"""The lab images and real containers started from them.

Every container a test starts is on a network the test created and publishes its ports on 127.0.0.1 only,
so test traffic stays on loopback and on containers the test made.
"""

from __future__ import annotations

import os
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGES_ENV = REPO / "tests/lab/images.env"
_REFERENCE = re.compile(r"\$\{(\w+)\}")


def read_lab_images(path: Path = IMAGES_ENV) -> dict[str, str]:
    """NAME=value pairs of tests/lab/images.env, with ``${NAME}`` references to earlier names expanded."""
    images: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _sep, value = line.partition("=")
            images[name] = _REFERENCE.sub(lambda match: images[match.group(1)], value)
    return images


LAB_IMAGES = read_lab_images()


def chatwoot_release_images() -> dict[str, str]:
    """Every release image of the Chatwoot double, oldest first: ``{"v4.10.1": "chatwoot-lab/chatwoot:v4.10.1"}``."""
    return {image.rsplit(":", 1)[1]: image for name, image in LAB_IMAGES.items() if name.startswith("LAB_CHATWOOT_V")}


def chatwoot_image(which: str | None = None) -> str:
    """A Chatwoot double image: ``"oldest"`` (the default), ``"newest"``, ``"broken"``, a release tag
    (``"v4.12.1"``, ``"v4.12.1-ce"``), an images.env key (``"LAB_CHATWOOT_V4_12_1"``) or a full image name."""
    which = which or "oldest"
    if which in ("oldest", "newest", "broken"):
        return LAB_IMAGES[f"LAB_CHATWOOT_{which.upper()}"]
    if which in LAB_IMAGES:
        return LAB_IMAGES[which]
    tag, suffix = which.removesuffix("-ce"), "-ce" if which.endswith("-ce") else ""
    broken = LAB_IMAGES["LAB_CHATWOOT_BROKEN"]
    releases = {**chatwoot_release_images(), broken.rsplit(":", 1)[1]: broken}
    if tag in releases:
        return releases[tag] + suffix
    if ":" in which:
        return which
    raise KeyError(f"{which!r} names no Chatwoot double image (known: oldest, newest, broken, {', '.join(releases)})")


@dataclass
class Postgres:
    container: object
    host: str
    port: int
    user: str
    password: str
    database: str
    network_alias: str

    def dsn(self, database: str | None = None) -> str:
        return (
            f"host={self.host} port={self.port} user={self.user} "
            f"password={self.password} dbname={database or self.database}"
        )


@dataclass
class Redis:
    container: object
    host: str
    port: int
    password: str
    network_alias: str

    def url(self, db: int = 0) -> str:
        return f"redis://:{self.password}@{self.host}:{self.port}/{db}"


class ContainerFactory:
    """Starts labelled containers on the test network and removes them afterwards."""

    LABEL = "selfhost.chatwoot.test"

    def __init__(self, client, network):
        self.client = client
        self.network = network
        self.started = []

    def run(self, image: str, alias: str, **kwargs):
        # selfhost.chatwoot.run: set by .ci/run, whose cleanup removes only its own run's containers.
        labels = {
            self.LABEL: "1",
            "selfhost.chatwoot.run": os.environ.get("SELFHOST_CHATWOOT_RUN", ""),
            **kwargs.pop("labels", {}),
        }
        container = self.client.containers.run(
            image,
            name=f"{self.network.name}-{alias}-{uuid.uuid4().hex[:6]}",
            detach=True,
            labels=labels,
            network=self.network.name,
            **kwargs,
        )
        self.started.append(container)
        # A second attach gives the container a stable DNS alias on the test network.
        self.network.disconnect(container)
        self.network.connect(container, aliases=[alias])
        return container

    def cleanup(self):
        for container in reversed(self.started):
            try:
                container.remove(force=True, v=True)
            except Exception as exc:  # keep removing the others
                print(f"could not remove {container.name}: {exc}")
        self.started.clear()


def published_port(container, port: str) -> int:
    container.reload()
    bindings = container.attrs["NetworkSettings"]["Ports"][port]
    return int(bindings[0]["HostPort"])


def wait_for(predicate, timeout: float, what: str, interval: float = 0.3):
    """Poll predicate() until it returns a truthy value; fail with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except pytest.fail.Exception:
            raise
        except Exception as exc:  # remember why, report it on timeout
            last_error = exc
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error})")


def container_logs(container, tail: int = 80) -> str:
    return container.logs(tail=tail).decode(errors="replace")


def start_postgres(containers: ContainerFactory, pgvector: bool = True, alias: str = "postgres") -> Postgres:
    password = secrets.token_hex(12)
    image = LAB_IMAGES["LAB_POSTGRES" if pgvector else "LAB_POSTGRES_NO_PGVECTOR"]
    container = containers.run(
        image,
        alias,
        environment={"POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": password, "POSTGRES_DB": "chatwoot"},
        ports={"5432/tcp": ("127.0.0.1", None)},
    )

    def ready():
        container.reload()
        if container.status == "exited":
            pytest.fail(f"postgres exited:\n{container_logs(container)}")
        code, _output = container.exec_run(["pg_isready", "-h", "127.0.0.1", "-U", "postgres"])
        return code == 0

    wait_for(ready, 90, f"{image} to accept connections")
    return Postgres(
        container, "127.0.0.1", published_port(container, "5432/tcp"), "postgres", password, "chatwoot", alias
    )


def start_redis(containers: ContainerFactory, alias: str = "redis") -> Redis:
    password = secrets.token_hex(12)
    container = containers.run(
        LAB_IMAGES["LAB_REDIS"],
        alias,
        command=["redis-server", "--requirepass", password],
        ports={"6379/tcp": ("127.0.0.1", None)},
    )

    def ready():
        code, out = container.exec_run(["redis-cli", "-a", password, "--no-auth-warning", "ping"])
        return code == 0 and b"PONG" in out

    wait_for(ready, 60, "redis to answer PING")
    return Redis(container, "127.0.0.1", published_port(container, "6379/tcp"), password, alias)
