"""Benchmark selfhost.chatwoot.rate_limit_flush's flush logic on a large mixed Redis database.

Starts a throwaway Redis container from the lab image (port published on 127.0.0.1 only), seeds
1,000,000 Rack::Attack counters (velma:rack::attack:<bucket>:<throttle>:<discriminator>, with TTLs,
IPv4/IPv6/email discriminators) and 1,000,000 other keys (Sidekiq, alfred:*, other velma: cache keys),
runs the module's flush code, and reports keys deleted per second and the slowest single Redis command
of the flush from SLOWLOG (slowlog-log-slower-than 0, so every command is logged with its duration).
It then checks that exactly the counters went and every other key survived, and removes the container.

    .venv/bin/python bench/rate_limit_flush.py                  # default batch sizes, writes docs/benchmarks.md
    .venv/bin/python bench/rate_limit_flush.py --sweep          # try several SCAN COUNT / UNLINK batch sizes
    .venv/bin/python bench/rate_limit_flush.py --no-write       # print only

Not a timed test: numbers depend on the machine. Target: >= 200,000 keys/s, no command over 50 ms.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import secrets
import signal
import sys
import time
import uuid
from pathlib import Path

import docker
import redis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / ".collections"))

from ansible_collections.selfhost.chatwoot.plugins.module_utils._rate_limit import (  # noqa: E402
    DEFAULT_BATCH_SIZE,
    DEFAULT_SCAN_COUNT,
    flush,
)

DOC = REPO / "docs" / "benchmarks.md"
START = "<!-- bench:rate_limit_flush start -->"
END = "<!-- bench:rate_limit_flush end -->"
THROTTLES = [
    "req/ip",
    "login/ip",
    "login/email",
    "super_admin_login/ip",
    "reset_password/ip",
    "accounts/ip",
    "widget?website_token={website_token}",
    "api/v1/widget/conversations",
    "api/v1/widget/contacts",
]
SEED_CHUNK = 10_000


def lab_image(name: str) -> str:
    for line in (REPO / "tests/lab/images.env").read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1].strip()
    raise SystemExit(f"{name} missing from tests/lab/images.env")


def discriminator(i: int) -> str:
    kind = i % 3
    if kind == 0:
        return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    if kind == 1:
        return f"2001:db8:{(i >> 16) & 0xFFFF:x}::{i & 0xFFFF:x}"
    return f"user{i}@example.com"


def seed(client: redis.Redis, counters: int, others: int) -> None:
    """counters Rack::Attack keys (with TTL, as Rails' cache store writes them) + others other keys."""
    pipe = client.pipeline(transaction=False)
    bucket = int(time.time()) // 60
    for i in range(counters):
        throttle = THROTTLES[i % len(THROTTLES)]
        pipe.set(f"velma:rack::attack:{bucket - i % 5}:{throttle}:{discriminator(i)}", i % 50 + 1, ex=3600)
        if (i + 1) % SEED_CHUNK == 0:
            pipe.execute()
    pipe.execute()
    # Other keys: Sidekiq jobs/stats, app state (alfred:*), and other keys in the velma namespace.
    families = [
        lambda i: f"alfred:ONLINE_PRESENCE::{i}",
        lambda i: f"velma:views/conversations/{i}",
        lambda i: f"stat:processed:2025-{i % 12 + 1:02d}-{i % 28 + 1:02d}:{i}",
        lambda i: f"sidekiq:unique:{i}",
        lambda i: f"cron_job:job{i}",
    ]
    batch = {}
    for i in range(others - 10):
        batch[families[i % len(families)](i)] = str(i)
        if len(batch) == 1000:
            pipe.mset(batch)
            batch = {}
            if i % SEED_CHUNK == 0:
                pipe.execute()
    if batch:
        pipe.mset(batch)
    pipe.execute()
    # 10 Sidekiq structures holding many jobs: queue lists, the queues set, schedule/retry/dead zsets.
    for name in ("queue:default", "queue:mailers", "queue:low"):
        pipe.rpush(
            name, *[f'{{"class":"Job","jid":"{name}-{j}","queue":"{name[6:]}","args":[{j}]}}' for j in range(1000)]
        )
    pipe.sadd("queues", "default", "mailers", "low")
    for name in ("schedule", "retry", "dead"):
        pipe.zadd(name, {f'{{"jid":"{name}-{j}"}}': j for j in range(1000)})
    pipe.set("stat:processed", 123456)
    pipe.set("stat:failed", 12)
    pipe.set("alfred:CHATWOOT_INSTALLATION_ONBOARDING", "true")
    pipe.execute()


def start_redis(client):
    password = secrets.token_hex(16)
    container = client.containers.run(
        lab_image("LAB_REDIS"),
        command=[
            "redis-server",
            "--requirepass",
            password,
            "--save",
            "",
            "--appendonly",
            "no",
            "--slowlog-log-slower-than",
            "0",
            "--slowlog-max-len",
            "1000000",
        ],
        name=f"cw-bench-redis-{uuid.uuid4().hex[:8]}",
        detach=True,
        labels={"selfhost.chatwoot.bench": "1"},
        ports={"6379/tcp": ("127.0.0.1", None)},
    )
    deadline = time.monotonic() + 60
    while True:
        container.reload()
        ports = container.attrs["NetworkSettings"]["Ports"].get("6379/tcp")
        if ports:
            r = redis.Redis(host="127.0.0.1", port=int(ports[0]["HostPort"]), password=password, socket_timeout=120)
            try:
                r.ping()
                return container, r
            except redis.RedisError:
                pass
        if time.monotonic() > deadline:
            raise SystemExit(f"redis did not start: {container.logs(tail=20).decode(errors='replace')}")
        time.sleep(0.2)


def run_once(r: redis.Redis, counters: int, others: int, scan_count: int, batch_size: int, method: str) -> dict:
    r.flushall()  # the benchmark's own throwaway container; the module never does this
    r.config_set("slowlog-log-slower-than", -1)  # do not log the seeding
    seed(r, counters, others)
    total_before = r.dbsize()
    samples = {k: r.get(k) for k in ("alfred:CHATWOOT_INSTALLATION_ONBOARDING", "stat:processed")}
    r.slowlog_reset()
    r.config_set("slowlog-log-slower-than", 0)  # from here on every command is logged with its duration
    started = time.perf_counter()
    result = flush(r, scan_count=scan_count, batch_size=batch_size, method=method)
    elapsed = time.perf_counter() - started
    entries = r.slowlog_get(1_000_000)
    commands = [e for e in entries if not e["command"].upper().startswith((b"SLOWLOG", b"CONFIG"))]
    slowest = max(commands, key=lambda e: e["duration"]) if commands else None
    remaining = r.dbsize()
    assert result.deleted == counters, f"deleted {result.deleted}, expected {counters}"
    assert remaining == total_before - counters, f"{remaining} keys left, expected {total_before - counters}"
    assert not list(r.scan_iter(match="velma:rack::attack:*", count=10000)), "counters left behind"
    assert {k: r.get(k) for k in samples} == samples and r.llen("queue:default") == 1000
    return {
        "method": result.method,
        "scan_count": scan_count,
        "batch_size": batch_size,
        "deleted": result.deleted,
        "seconds": elapsed,
        "keys_per_s": result.deleted / elapsed,
        "scans": result.scans,
        "batches": result.batches,
        "commands_logged": len(commands),
        "slowest_us": slowest["duration"] if slowest else 0,
        "slowest_cmd": (slowest["command"][:60].decode(errors="replace") if slowest else ""),
        "survivors": remaining,
    }


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} x {cpu}{mem}"


def write_doc(text: str) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    current = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    section = f"{START}\n{text.rstrip()}\n{END}\n"
    if START in current and END in current:
        head, rest = current.split(START, 1)
        current = head + section + rest.split(END, 1)[1].lstrip("\n")
    else:
        current = current.rstrip() + "\n\n" + section
    DOC.write_text(current)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counters", type=int, default=1_000_000)
    parser.add_argument("--others", type=int, default=1_000_000)
    parser.add_argument("--scan-count", type=int, default=DEFAULT_SCAN_COUNT)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--method", choices=["auto", "lua", "client"], default="auto")
    parser.add_argument("--sweep", action="store_true", help="also try other SCAN COUNT / UNLINK batch sizes")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()

    combos = [(args.scan_count, args.batch_size, args.method)]
    if args.sweep:
        combos += [(500, 1000, "lua"), (2000, 1000, "lua"), (5000, 1000, "lua"), (5000, 1000, "client")]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` removes the container
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    client = docker.from_env()
    container, r = start_redis(client)
    try:
        version = r.info("server")["redis_version"]
        runs = []
        for scan_count, batch_size, method in combos:
            run = run_once(r, args.counters, args.others, scan_count, batch_size, method)
            runs.append(run)
            print(
                f"{run['method']:>6}: SCAN COUNT {scan_count:>6} UNLINK batch {batch_size:>5}: "
                f"{run['deleted']:,} keys in "
                f"{run['seconds']:.2f} s = {run['keys_per_s']:,.0f} keys/s; slowest command "
                f"{run['slowest_us'] / 1000:.2f} ms ({run['slowest_cmd']}); {run['scans']} SCAN, "
                f"{run['batches']} UNLINK; {run['survivors']:,} other keys intact",
                flush=True,
            )
    finally:
        container.remove(force=True, v=True)

    load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())
    chosen = runs[0]
    ok = chosen["keys_per_s"] >= 200_000 and chosen["slowest_us"] <= 50_000
    rows = "\n".join(
        f"| {r_['method']} | {r_['scan_count']:,} | {r_['batch_size']:,} | {r_['seconds']:.2f} | "
        f"{r_['keys_per_s']:,.0f} | "
        f"{r_['slowest_us'] / 1000:.2f} ({r_['slowest_cmd'].split(' ')[0]}) | {r_['scans']} / {r_['batches']} |"
        for r_ in runs
    )
    cmd = "`.venv/bin/python bench/rate_limit_flush.py" + (" --sweep`" if args.sweep else "`")
    text = f"""## rate_limit_flush: deleting 1,000,000 Rack::Attack counters among 1,000,000 other keys

- Command: {cmd} (starts and removes its own Redis container).
- Date: {datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")}
- Machine: {machine()}; Redis {version} in a container ({lab_image("LAB_REDIS")}), client over 127.0.0.1.
- Data: {args.counters:,} `velma:rack::attack:<bucket>:<throttle>:<discriminator>` keys with TTLs (9 throttles,
  IPv4 / IPv6 / email discriminators) and {args.others:,} other keys (`alfred:*`, other `velma:` keys, Sidekiq
  queues/zsets/stats). Every other key survived each run (checked).
- Method `lua` (the module's default): each step is one short server-side script doing `SCAN <cursor> MATCH
  <glob> COUNT <n>`, the exact key check and `UNLINK` of the matches, so keys never travel to the client;
  `client` (the fallback when the server refuses scripting) scans from Python and pipelines `UNLINK`s.
- Load while measuring: {load_before} before, {load_after} after (1/5/15 min load averages; other jobs shared the
  machine, and a descheduled Redis process inflates single-command durations).
- Figures: keys/s = deleted keys / wall time of the whole flush;
  slowest command = the largest duration in SLOWLOG during the flush (`slowlog-log-slower-than 0`, every
  command logged).
- Chosen defaults: method {chosen["method"]}, SCAN COUNT {chosen["scan_count"]:,}, UNLINK batch {chosen["batch_size"]:,}
  (the module's `scan_count` / `batch_size` defaults). Target >= 200,000 keys/s and no command over 50 ms:
  **{"met" if ok else "NOT met"}** ({chosen["keys_per_s"]:,.0f} keys/s, slowest {chosen["slowest_us"] / 1000:.2f} ms).

| method | SCAN COUNT | UNLINK batch | seconds | keys/s | slowest command, ms | SCAN steps / UNLINK calls |
|---|---:|---:|---:|---:|---|---|
{rows}
"""
    print(text)
    if not args.no_write:
        write_doc(text)
        print(f"wrote {DOC.relative_to(REPO)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
