"""sidekiq_alive's failure modes, on the newest release (the gem and its version are the same in every release
image the double stands in for: Gemfile.lock pins sidekiq_alive 2.5.0 since PR #12008).

Probes go to the port published on 127.0.0.1, as Docker's healthcheck would reach it from inside.
"""

from __future__ import annotations

import os
import socket
import time

import pytest
import requests
from support.lab import published_port, wait_for
from support.stack import SIDEKIQ_COMMAND, compose_labels, start_chatwoot_stack, wait_for_sidekiq_alive

pytestmark = pytest.mark.lab


@pytest.fixture
def sidekiq(containers):
    s = start_chatwoot_stack(containers, "newest", services=False)
    container = containers.run(
        s.image,
        f"{s.project}-sidekiq",
        entrypoint=[],
        command=SIDEKIQ_COMMAND,
        environment=s.env,
        labels=compose_labels(s.project, "sidekiq"),
        ports={"7433/tcp": ("127.0.0.1", None)},
    )
    wait_for_sidekiq_alive(container, 120)
    return s, container, f"http://127.0.0.1:{published_port(container, '7433/tcp')}/"


def probe(url: str) -> int | None:
    try:
        return requests.get(url, timeout=3).status_code
    except requests.RequestException:
        return None


def cpu_seconds(container) -> float:
    """CPU time (user + system) of every process in the container, from /proc: Docker's stats API reads
    zero on some cgroup v1 hosts like this lab's."""
    script = "cat /proc/[0-9]*/stat 2>/dev/null | awk '{t += $14 + $15} END {print t}'"
    code, out = container.exec_run(["sh", "-c", script])
    assert code == 0, out
    return float(out.decode().strip() or 0) / os.sysconf("SC_CLK_TCK")


def test_dead_redis_and_a_wedged_process_fail_the_probe(sidekiq):
    """The answer depends on Redis and on the process: with Redis gone the responder answers 500; with the
    process frozen (docker pause) nothing answers at all."""
    s, container, url = sidekiq
    assert probe(url) == 200
    container.pause()
    try:
        assert probe(url) is None
    finally:
        container.unpause()
    assert wait_for(lambda: probe(url) == 200, 20, "the probe after unpause")
    s.redis.container.stop(timeout=2)
    assert probe(url) == 500


def test_bug_15818_a_client_that_closes_early_wedges_the_responder(sidekiq):
    """chatwoot/chatwoot#15818 (sidekiq_alive 2.5.0): a client that connects and closes before ending its
    request headers sends the responder's handler thread into a 100% CPU loop; it serves nobody afterwards.
    The double logs a line naming #15818 when that happens."""
    _s, container, url = sidekiq
    port = int(url.rsplit(":", 1)[1].strip("/"))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(b"GET / HTTP/1.1\r\n")
    wait_for(lambda: "chatwoot/chatwoot#15818" in container.logs().decode(errors="replace"), 20, "the #15818 log line")
    before = cpu_seconds(container)
    time.sleep(3)
    assert cpu_seconds(container) - before > 1.5, "the handler thread spins"
    assert probe(url) is None, "nothing answers while it spins"
