"""Boot timing of the Chatwoot double: every Rails boot waits LAB_BOOT_DELAY seconds (image default 15 s).

Why the delay exists (README.md, "Boot delay"): a real Chatwoot boot takes tens of seconds; the Helm chart
allows about 10 minutes for start-up (failureThreshold 60). Start orders, health checks and timeouts that
only pass against an instant boot must fail here.
"""

from __future__ import annotations

import time

import pytest
from support.lab import LAB_IMAGES
from support.stack import start_chatwoot_stack, wait_for_rails

pytestmark = pytest.mark.lab


def test_image_default_boot_delay(docker_client):
    config = docker_client.images.get(LAB_IMAGES["LAB_CHATWOOT_NEWEST"]).attrs["Config"]
    assert "LAB_BOOT_DELAY=15" in config["Env"]


def test_every_boot_waits_the_delay(containers):
    """rails runner (and so rake, rails s and sidekiq, which boot the same way) waits the delay first."""
    s = start_chatwoot_stack(containers, "newest", services=False)
    env = {**s.env, "LAB_BOOT_DELAY": "6"}
    started = time.monotonic()
    result = s.run_once(["bundle", "exec", "rails", "runner", "puts 'BOOTED'"], env=env)
    took = time.monotonic() - started
    assert result.exit_code == 0 and "BOOTED" in result.output
    assert "waiting LAB_BOOT_DELAY=6 s" in result.output
    assert took >= 6

    started = time.monotonic()
    rails, base_url = s.start_rails(env=env, wait=False)
    wait_for_rails(rails, base_url, 120, "rails with a boot delay")
    assert time.monotonic() - started >= 6
    assert "waiting LAB_BOOT_DELAY=6 s" in rails.logs().decode()


def test_bad_delay_is_refused(containers):
    s = start_chatwoot_stack(containers, "oldest", services=False, prepare=False)
    result = s.run_once(["bundle", "exec", "rails", "runner", "puts 1"], env={**s.env, "LAB_BOOT_DELAY": "soon"})
    assert result.exit_code != 0 and "LAB_BOOT_DELAY must be a number of seconds" in result.output
