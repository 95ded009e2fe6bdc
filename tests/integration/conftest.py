"""Fixtures for integration tests: a Chatwoot stack (the lab's contract double) on real containers.

The helpers live in tests/support/stack.py (see its docstring); they stay importable from here and as
`selfhost_chatwoot_stack` (registered below, since pytest imports conftests outside any package).

Fixtures: `chatwoot_stack` (a fresh stack for one test), `start_chatwoot` (stacks a test shapes itself),
`module_chatwoot_stack` (one stack per module; a module sets `CHATWOOT_STACK_ENV = {...}` to override its
environment). Which release they run: the `chatwoot_image` fixture, by default the oldest release. A module
that sets `CHATWOOT_RELEASES = ("oldest", "newest")` (or release tags) runs each of its tests that use these
fixtures once per release; a single test can use `@pytest.mark.parametrize("chatwoot_image", [...],
indirect=True)`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from support import lab as _lab
from support import stack as _stack
from support.lab import (
    LAB_IMAGES,
    ContainerFactory,
    Postgres,
    Redis,
    chatwoot_release_images,
    container_logs,
    published_port,
    start_postgres,
    start_redis,
    wait_for,
)
from support.stack import (
    BOOT_ALLOWANCE,
    PREPARE_COMMAND,
    RAILS_COMMAND,
    RAILS_ENTRYPOINT,
    SIDEKIQ_COMMAND,
    ChatwootStack,
    OneOff,
    chatwoot_env,
    compose_labels,
    sidekiq_alive_status,
    start_chatwoot_stack,
    wait_for_rails,
    wait_for_sidekiq_alive,
)

__all__ = [
    "BOOT_ALLOWANCE",
    "LAB_IMAGES",
    "PREPARE_COMMAND",
    "RAILS_COMMAND",
    "RAILS_ENTRYPOINT",
    "SIDEKIQ_COMMAND",
    "ChatwootStack",
    "ContainerFactory",
    "OneOff",
    "Postgres",
    "Redis",
    "chatwoot_env",
    "chatwoot_release_images",
    "compose_labels",
    "container_logs",
    "published_port",
    "sidekiq_alive_status",
    "start_chatwoot_stack",
    "start_postgres",
    "start_redis",
    "wait_for",
    "wait_for_rails",
    "wait_for_sidekiq_alive",
]
sys.modules.setdefault("selfhost_chatwoot_stack", sys.modules[__name__])
assert _lab and _stack  # the modules behind the names above


def pytest_generate_tests(metafunc):
    releases = getattr(metafunc.module, "CHATWOOT_RELEASES", None)
    if releases and "chatwoot_image" in metafunc.fixturenames:
        marks = metafunc.definition.iter_markers("parametrize")
        if not any(mark.args and "chatwoot_image" in str(mark.args[0]) for mark in marks):
            metafunc.parametrize("chatwoot_image", list(releases), indirect=True, scope="module")


@pytest.fixture(scope="module")
def chatwoot_image(request) -> str:
    """The Chatwoot double image the stack fixtures start (default: the oldest release)."""
    return _lab.chatwoot_image(getattr(request, "param", None) or getattr(request.module, "CHATWOOT_RELEASE", None))


@pytest.fixture
def chatwoot_stack(containers, chatwoot_image) -> ChatwootStack:
    """A fresh, prepared Chatwoot stack with rails and sidekiq, for one test."""
    return start_chatwoot_stack(containers, chatwoot_image)


@pytest.fixture
def start_chatwoot(containers, chatwoot_image):
    """start_chatwoot(image=..., pgvector=..., env=..., prepare=..., services=...) for stacks a test shapes itself.

    `image` defaults to the `chatwoot_image` fixture. Everything it starts is removed after the test.
    """

    def start(image: str | None = None, **kwargs) -> ChatwootStack:
        return start_chatwoot_stack(containers, image or chatwoot_image, **kwargs)

    return start


@pytest.fixture(scope="module")
def module_chatwoot_stack(request, docker_client, lab_network, chatwoot_image) -> Iterator[ChatwootStack]:
    """One prepared stack shared by all tests of a module (for checks that do not need a pristine stack).

    A module can set `CHATWOOT_STACK_ENV = {...}` to override variables of the stack's environment.
    """
    factory = ContainerFactory(docker_client, lab_network)
    try:
        yield start_chatwoot_stack(factory, chatwoot_image, env=getattr(request.module, "CHATWOOT_STACK_ENV", None))
    finally:
        factory.cleanup()
