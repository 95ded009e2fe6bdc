"""Fixtures of the Chatwoot double's contract suite: real containers from every release image.

- `stack`: one prepared stack (rails + sidekiq) per module and release, for the behaviour all releases share;
  a module picks the releases with `STACK_RELEASES` (default: the oldest and the newest) and may override
  the environment with `CHATWOOT_STACK_ENV`.
- `fleet`: every release image at once, each with its own database and Redis database on ONE PostgreSQL and
  ONE Redis, prepared and serving rails, for the cheap per-release checks.

Boot delay: these stacks inherit `LAB_BOOT_DELAY=0` from support.stack.chatwoot_env (they test what runs on
the double, not how long it boots); test_double_boot.py measures the delay itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from support.lab import ContainerFactory, chatwoot_image, chatwoot_release_images
from support.stack import ChatwootStack, start_chatwoot_stack

pytestmark = pytest.mark.lab

RELEASES = list(chatwoot_release_images())  # oldest first


def pytest_generate_tests(metafunc):
    if "stack" in metafunc.fixturenames:
        releases = getattr(metafunc.module, "STACK_RELEASES", ("oldest", "newest"))
        metafunc.parametrize("stack", list(releases), indirect=True, scope="module")


@pytest.fixture(scope="module")
def stack(request, docker_client, lab_network) -> Iterator[ChatwootStack]:
    factory = ContainerFactory(docker_client, lab_network)
    try:
        yield start_chatwoot_stack(
            factory,
            request.param,
            env=getattr(request.module, "CHATWOOT_STACK_ENV", None),
            wait_sidekiq=True,
        )
    finally:
        factory.cleanup()


@dataclass
class ReleaseSite:
    """One release of the fleet: its own database and Redis database, and a rails server on them."""

    tag: str
    stack: ChatwootStack
    redis_db: int

    @property
    def base_url(self) -> str:
        return self.stack.base_url


@pytest.fixture(scope="session")
def fleet(docker_client, lab_network) -> Iterator[dict[str, ReleaseSite]]:
    factory = ContainerFactory(docker_client, lab_network)
    try:
        base = start_chatwoot_stack(factory, "oldest", prepare=False, services=False)

        def bring_up(index_tag):
            index, tag = index_tag
            db = index + 1
            env = {
                **base.env,
                "POSTGRES_DATABASE": f"chatwoot_{tag.replace('.', '_')}",
                "REDIS_URL": f"redis://{base.redis.network_alias}:6379/{db}",
            }
            site = ChatwootStack(f"{base.project}{db}", chatwoot_image(tag), env, base.postgres, base.redis, factory)
            result = site.prepare()
            assert result.exit_code == 0, f"{tag}: db:chatwoot_prepare failed:\n{result.output[-3000:]}"
            site.rails, site.base_url = site.start_rails()
            return tag, ReleaseSite(tag, site, db)

        # Two at a time: this is a 2-core machine and each boot is CPU-bound.
        with ThreadPoolExecutor(max_workers=2) as pool:
            yield dict(pool.map(bring_up, enumerate(RELEASES)))
    finally:
        factory.cleanup()
