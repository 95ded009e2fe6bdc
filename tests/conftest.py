"""Shared pytest fixtures: the lab images, and real containers started from them.

The helpers live in tests/support/ (``support.lab``, ``support.stack``); this file keeps their old names
importable from here and provides the fixtures. Every container a test starts is on a network the test
created and publishes its ports on 127.0.0.1 only, so test traffic stays on loopback and on containers the
test made.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    # `import support` from any test, whatever pytest's import mode.
    sys.path.insert(0, str(TESTS))

from support.lab import (  # noqa: E402  (needs the path above)
    LAB_IMAGES,
    REPO,
    ContainerFactory,
    Postgres,
    Redis,
    container_logs,
    published_port,
    read_lab_images,
    start_postgres,
    start_redis,
    wait_for,
)

__all__ = [
    "LAB_IMAGES",
    "REPO",
    "ContainerFactory",
    "Postgres",
    "Redis",
    "container_logs",
    "published_port",
    "read_lab_images",
    "start_postgres",
    "start_redis",
    "wait_for",
]

COLLECTIONS_DIR = REPO / ".collections"
if str(COLLECTIONS_DIR) not in sys.path:
    # Makes `ansible_collections.selfhost.chatwoot` importable in unit tests (see `make setup`).
    sys.path.insert(0, str(COLLECTIONS_DIR))


@pytest.fixture(scope="session")
def docker_client():
    docker = pytest.importorskip("docker", reason="the docker SDK is installed by `make setup`")
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # the daemon is a precondition, not an optional extra
        pytest.fail(f"no Docker daemon answers ({exc}); run the tests through `make integration`")
    for name, image in LAB_IMAGES.items():
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            pytest.fail(f"lab image {image} ({name}) is missing; run `make lab-images`")
    return client


@pytest.fixture(scope="session")
def lab_network(docker_client):
    network = docker_client.networks.create(f"cwtest-{uuid.uuid4().hex[:8]}", driver="bridge")
    yield network
    network.reload()
    for container in network.containers:
        network.disconnect(container, force=True)
    network.remove()


@pytest.fixture
def containers(docker_client, lab_network) -> Iterator[ContainerFactory]:
    factory = ContainerFactory(docker_client, lab_network)
    yield factory
    factory.cleanup()


@pytest.fixture
def postgres(containers) -> Postgres:
    """PostgreSQL 17 with pgvector, superuser `postgres`, database `chatwoot`."""
    return start_postgres(containers, pgvector=True)


@pytest.fixture
def postgres_without_pgvector(containers) -> Postgres:
    return start_postgres(containers, pgvector=False)


@pytest.fixture
def redis(containers) -> Redis:
    """Redis with a generated password."""
    return start_redis(containers)
