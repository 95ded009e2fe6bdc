"""Concurrent ActionCable WebSockets through the deployed Nginx of a lab VPS, bounded in count and time.

Creates (or reuses, --reuse) its own lab VPS (tests/lab/lab.sh, LAB_NAME=cwws, ports on 127.0.0.1 only) with
Chatwoot deployed, then measures two upstreams behind the same Nginx (the nginx role, converged by
bench/websocket_nginx.yml, worker limits sized for 1.5 times each worker's even share, see below):
  echo   bench/ws_echo_upstream.py on 127.0.0.1:3100 in the VPS (aiohttp, one process): Nginx's own capacity;
  cable  the Chatwoot double's Puma (ActionCable on /cable, EchoChannel over Redis): end to end.
Each socket does the TLS and WebSocket handshake (101, subprotocol actioncable-v1-json) and waits for the
`welcome` (cable: also subscribes to EchoChannel and waits for `confirm_subscription`); all stay open at the
peak, are held --hold seconds while the Nginx workers' descriptors and memory are read from /proc, then each
sends one message and must read its own answer back (echo: the same text; cable: its broadcast through
Redis), then each closes (close handshake 1000). Any other outcome counts as an error, by cause.

Around the lab's hard limit of 20,000 open files per process: the client runs on the controller (not in the
VPS), connecting to the VPS's address on its own Docker network (no docker-proxy), and raises its own soft
limit to its hard limit; Nginx runs --workers workers, each with 2 descriptors per socket for 1.5 times its
even share (the role would size each for all sockets, beyond the limit), so no worker needs more than the limit.

Run from the repository root (the machine is shared: one run, minutes):
    .venv/bin/python bench/websocket_capacity.py --sockets 10000 --cable-sockets 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import ssl
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from _lab import lab_env, write_section
from websockets.asyncio.client import connect

REPO = Path(__file__).resolve().parent.parent
SECTION = "websocket_capacity"
DOMAIN = "chatwoot.lab.test"
NAME, HTTPS_PORT, HTTP_PORT = "cwws", 26443, 26080
ECHO_PORT = 3100


def sh(*argv: str, check: bool = True, env: dict | None = None, capture: bool = True) -> str:
    run = subprocess.run(argv, capture_output=capture, text=True, check=False, env=env, cwd=REPO)
    if check and run.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({run.returncode}):\n{(run.stdout or '')[-3000:]}{run.stderr or ''}")
    return run.stdout or ""


def vps(script: str, check: bool = True) -> str:
    return sh("docker", "exec", NAME, "sh", "-c", script, check=check)


def converge_nginx(env: dict, extra: dict) -> None:
    argv = ["ansible-playbook", "-i", "inventories/lab/hosts.yml", "bench/websocket_nginx.yml"]
    lab = {"lab_container": NAME, "lab_http_port": HTTP_PORT, "lab_https_port": HTTPS_PORT}
    for key, value in {**lab, **extra}.items():
        argv += ["-e", f"{key}={value}"]
    sh(*argv, env=env)


def nginx_workers() -> list[dict]:
    """PID, open descriptors, RSS (KiB) and open-files limit of each Nginx worker."""
    out = vps(
        "for p in $(pgrep --parent $(cat /run/nginx.pid) nginx); do "
        "echo $p $(ls /proc/$p/fd | wc -l) $(awk '/VmRSS/{print $2}' /proc/$p/status) "
        "$(awk '/Max open files/{print $4}' /proc/$p/limits); done"
    )
    rows = [line.split() for line in out.splitlines() if line.strip()]
    return [{"pid": int(p), "fds": int(f), "rss_kib": int(r), "nofile": int(n)} for p, f, r, n in rows]


def process_stats(pattern: str) -> str:
    """Descriptors and RSS of the processes matching `pattern` in the VPS (docker-proxy, puma)."""
    out = vps(
        f"for p in $(pgrep -f '{pattern}'); do [ $p = $$ ] && continue; "
        "echo $(ls /proc/$p/fd | wc -l) $(awk '/VmRSS/{print $2}' /proc/$p/status); done",
        check=False,
    )
    rows = [line.split() for line in out.splitlines() if len(line.split()) == 2]
    if not rows:
        return "none"
    return ", ".join(f"{int(f):,} FDs / {int(r) // 1024} MiB" for f, r in rows)


class Socket:
    def __init__(self, index: int) -> None:
        self.index = index
        self.ws = None
        # One EchoChannel room per socket: every subscriber of a room receives every broadcast into it.
        self.room = json.dumps({"channel": "EchoChannel", "room": f"bench-{index}"})


async def _recv_json(ws, timeout: float) -> dict:
    """The next ActionCable message that is not a ping."""
    while True:
        data = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if data.get("type") != "ping":
            return data


async def open_socket(sock: Socket, mode: str, address: str, ctx: ssl.SSLContext, errors: Counter) -> bool:
    try:
        ws = await connect(
            f"wss://{DOMAIN}/cable",
            host=address,
            port=443,
            ssl=ctx,
            server_hostname=DOMAIN,
            origin=f"https://{DOMAIN}",
            subprotocols=["actioncable-v1-json"],
            open_timeout=60,
            ping_interval=None,
            close_timeout=30,
            compression=None,
        )
    except Exception as exc:  # every failure is counted by its kind
        errors[f"handshake: {type(exc).__name__}: {str(exc)[:80]}"] += 1
        return False
    sock.ws = ws
    try:
        if ws.response.status_code != 101 or ws.subprotocol != "actioncable-v1-json":
            errors[f"handshake answer {ws.response.status_code} {ws.subprotocol}"] += 1
            return False
        if (await _recv_json(ws, 60)).get("type") != "welcome":
            errors["no welcome"] += 1
            return False
        if mode == "cable":
            await ws.send(json.dumps({"command": "subscribe", "identifier": sock.room}))
            if (await _recv_json(ws, 60)).get("type") != "confirm_subscription":
                errors["subscription not confirmed"] += 1
                return False
    except Exception as exc:
        errors[f"after handshake: {type(exc).__name__}: {str(exc)[:80]}"] += 1
        return False
    return True


async def exchange(sock: Socket, mode: str, errors: Counter) -> bool:
    """One message on the socket, and its own answer back."""
    ws, token = sock.ws, f"bench-{sock.index}"
    try:
        if mode == "echo":
            await ws.send(json.dumps({"n": token}))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if answer != {"n": token}:
                errors["wrong echo"] += 1
                return False
            return True
        await ws.send(json.dumps({"command": "message", "identifier": sock.room, "data": json.dumps({"n": token})}))
        while True:
            answer = await _recv_json(ws, 120)
            if answer.get("identifier") == sock.room and answer.get("message", {}).get("n") == token:
                return True
    except Exception as exc:
        errors[f"exchange: {type(exc).__name__}: {str(exc)[:80]}"] += 1
        return False


async def close_socket(sock: Socket, errors: Counter) -> bool:
    if sock.ws is None:
        return False
    try:
        await sock.ws.close()
        await asyncio.wait_for(sock.ws.wait_closed(), 60)
    except Exception as exc:
        errors[f"close: {type(exc).__name__}"] += 1
        return False
    if sock.ws.close_code != 1000:
        errors[f"close code {sock.ws.close_code}"] += 1
        return False
    return True


async def run(
    mode: str, count: int, address: str, parallel: int, hold: float, sample, max_errors: int, rate: float
) -> dict:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the lab's self-signed certificate
    errors: Counter = Counter()
    sockets = [Socket(i) for i in range(count)]
    gate = asyncio.Semaphore(parallel)

    skipped = 0
    begin = time.monotonic()

    async def opener(sock: Socket) -> bool:
        nonlocal skipped
        if rate:  # at most `rate` handshakes started per second
            await asyncio.sleep(max(0.0, begin + sock.index / rate - time.monotonic()))
        async with gate:
            # Past the ceiling: stop opening more (each failure may wait for its timeout).
            if sum(errors.values()) >= max_errors:
                skipped += 1
                return False
            return await open_socket(sock, mode, address, ctx, errors)

    started = time.monotonic()
    opened = await asyncio.gather(*(opener(s) for s in sockets))
    connect_s = time.monotonic() - started
    open_now = sum(1 for s in sockets if s.ws is not None and s.ws.state.name == "OPEN")
    await asyncio.sleep(hold)
    peak_sample = sample()
    still_open = [s for s, ok in zip(sockets, opened, strict=True) if ok and s.ws.state.name == "OPEN"]
    dropped = sum(opened) - len(still_open)
    if dropped:
        errors["closed by the server while held"] += dropped
    started_x = time.monotonic()
    answered = await asyncio.gather(*(exchange(s, mode, errors) for s in still_open))
    exchange_s = time.monotonic() - started_x
    closed = await asyncio.gather(*(close_socket(s, errors) for s in sockets))
    return {
        "mode": mode,
        "sockets": count,
        "opened": sum(opened),
        "skipped": skipped,
        "connect_s": connect_s,
        "rate": sum(opened) / connect_s if connect_s else 0.0,
        "peak_open": open_now,
        "held_open": len(still_open),
        "answered": sum(answered),
        "exchange_s": exchange_s,
        "closed_clean": sum(closed),
        "errors": errors,
        "sample": peak_sample,
    }


def vps_address() -> str:
    return sh("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", NAME).strip()


def sampler(mode: str, proxy: bool):
    def sample() -> dict:
        workers = nginx_workers()
        found = {"workers": workers}
        if mode == "cable":
            if proxy:
                found["docker_proxy"] = process_stats("^/usr/sbin/docker-proxy .*-host-port 3000 ")
            found["puma"] = process_stats("^puma ")
        else:
            found["upstream"] = process_stats("ws_echo_upstream.py")
        return found

    return sample


def describe(result: dict) -> list[str]:
    workers = result["sample"]["workers"]
    errors = sum(result["errors"].values())
    lines = [
        f"| {result['label']} | {result['sockets']:,} | {result['opened']:,} | {result['rate']:,.0f}/s "
        f"({result['connect_s']:.1f} s) | {result['held_open']:,} | {result['answered']:,} | "
        f"{result['closed_clean']:,} | {errors:,} |",
    ]
    per_worker = ", ".join(f"{w['fds']:,} FDs / {w['rss_kib'] // 1024} MiB (limit {w['nofile']:,})" for w in workers)
    notes = [f"- {result['label']}: Nginx workers at the peak: {per_worker}."]
    for key in ("upstream", "docker_proxy", "puma"):
        if key in result["sample"]:
            notes.append(f"  {key.replace('_', '-')} at the peak: {result['sample'][key]}.")
    if result["skipped"]:
        notes.append(
            f"  Not attempted once --max-errors handshakes had failed (the ceiling): {result['skipped']:,} sockets."
        )
    if errors:
        causes = "; ".join(f"{n:,} x {cause}" for cause, n in result["errors"].most_common(6))
        notes.append(f"  Errors: {causes}.")
    return lines, notes


def sizing(results: list[dict]) -> list[str]:
    """The "Sizing for WebSockets" paragraph, with what this run measured."""

    def busiest(result: dict) -> float:
        fds = [w["fds"] for w in result["sample"]["workers"]]
        return max(fds) / (sum(fds) / len(fds))

    held = [r for r in results if r["answered"]]
    measured = ""
    if held:
        shares = ", ".join(f"{busiest(r):.2f} ({r['label']}, {r['held_open']:,} open)" for r in held)
        measured = f" The busiest worker held this many times its even share here: {shares}."
    echo = next((r for r in held if r["mode"] == "echo"), None)
    if echo:
        rss = sum(w["rss_kib"] for w in echo["sample"]["workers"])
        measured += (
            f" The workers' memory came to about {rss / echo['held_open']:.0f} KiB per open TLS WebSocket "
            f"({rss // 1024} MiB for {echo['held_open']:,}, resident set sizes summed)."
        )
    return [
        "### Sizing for WebSockets",
        "",
        "Every open Chatwoot tab, widget visitor and mobile app holds one ActionCable socket; through Nginx it is "
        "two connections and two open files of one worker (client and upstream). Set `nginx_expected_websockets` "
        "(default 10000) to the peak you expect; unless set explicitly the nginx role sizes every worker for all "
        "of them, `worker_connections` = 2 x sockets + 1024 rounded up to a multiple of 1024 (21504), "
        "`worker_rlimit_nofile` and the `LimitNOFILE` of `nginx.service` (systemd drop-in) = 2 x "
        "`worker_connections` (43008), and keeps `net.core.somaxconn` at least max(4096, sockets / 8), never "
        "lowering it (`plugins/filter/nginx_limits.py`). Every worker, because the kernel hands a new connection "
        "to whichever worker it wakes and does not spread them evenly (no `reuseport`); an unused connection slot "
        f"costs a few hundred bytes, an open file nothing.{measured}",
        "",
        "On a KVM/Xen VPS systemd runs with CAP_SYS_RESOURCE and may raise the limit up to `fs.nr_open` "
        "(1048576). In a container or a container VPS (LXC, OpenVZ, this lab: hard limit 20,000, no "
        "CAP_SYS_RESOURCE) systemd silently clamps `LimitNOFILE` and the workers' `setrlimit` fails, so the role "
        "refuses such a host before it changes anything and names the largest values that fit; there, set "
        "`nginx_worker_connections` and `nginx_worker_rlimit_nofile` below the limit and run more workers "
        "(`nginx_worker_processes`), each holding a share, as this lab does. "
        "The upstream side needs room too: Puma holds one descriptor per socket, and Docker's userland proxy "
        "of the published 127.0.0.1:3000 six (two sockets and two splice pipes) under dockerd's own limit.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=10000, help="sockets through Nginx to the echo upstream")
    parser.add_argument("--cable-sockets", type=int, default=10000, help="sockets end to end to the double (0: skip)")
    parser.add_argument("--workers", type=int, default=4, help="nginx_worker_processes in the VPS")
    parser.add_argument("--parallel", type=int, default=200, help="handshakes in flight at once")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds all sockets stay open at the peak")
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="handshakes started per second at most (0: no cap); the double's Rack::Attack allows 3000/min per IP",
    )
    parser.add_argument("--max-errors", type=int, default=100, help="stop opening sockets after this many errors")
    parser.add_argument("--reuse", action="store_true", help="reuse a deployed lab VPS cwws")
    parser.add_argument("--keep", action="store_true", help="keep the lab VPS afterwards")
    parser.add_argument("--no-write", action="store_true", help="print, do not write docs/benchmarks.md")
    args = parser.parse_args()
    if max(args.sockets, args.cable_sockets) > 15000:
        raise SystemExit("at most 15,000 sockets per run (shared machine, bounded benchmark)")
    most = max(args.sockets, args.cable_sockets)
    # The client's own descriptors: one per socket, so its soft limit goes up to its hard limit.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < most + 1000:
        raise SystemExit(f"the client needs {most + 1000} open files; its hard limit is {hard} (raise it: ulimit -Hn)")

    env = lab_env(NAME, HTTPS_PORT, HTTP_PORT)
    load = os.getloadavg()[0]
    if not args.reuse:
        sh("tests/lab/lab.sh", "up", env=env, capture=False)
    limits = {"nginx_worker_processes": args.workers, "nginx_expected_websockets": most}
    # The role sizes every worker for all sockets (2 x 10000 + 1024 connections, 43008 files), beyond this lab's
    # 20,000 files per process, which it refuses; here each worker gets 1.5 times its even share instead
    # (nginx_limits with imbalance=1.5), like the role's sizing with four workers each below the limit.
    share = -(-most * 3 // (2 * args.workers))
    connections = max(1024, -(-(2 * min(most, share) + 1024) // 1024) * 1024)
    derived = {"nginx_worker_connections": connections, "nginx_worker_rlimit_nofile": 2 * connections}
    address = vps_address()
    results = []
    try:
        if args.sockets:
            vps(
                "command -v python3 >/dev/null && python3 -c 'import aiohttp' 2>/dev/null || "
                "(apt-get update -qq && apt-get install -y -qq python3-aiohttp >/dev/null)"
            )
            sh("docker", "cp", str(REPO / "bench/ws_echo_upstream.py"), f"{NAME}:/usr/local/bin/ws_echo_upstream.py")
            vps(
                "systemctl stop cwws-echo 2>/dev/null; systemctl reset-failed cwws-echo 2>/dev/null; "
                "systemd-run --unit=cwws-echo -p LimitNOFILE=20000 "
                f"python3 /usr/local/bin/ws_echo_upstream.py {ECHO_PORT}",
                check=True,
            )
            upstream = f"127.0.0.1:{ECHO_PORT}"
            converge_nginx(env, {**limits, **derived, "nginx_upstream": upstream, "nginx_upstream_standby": upstream})
            result = asyncio.run(
                run(
                    "echo",
                    args.sockets,
                    address,
                    args.parallel,
                    args.hold,
                    sampler("echo", False),
                    args.max_errors,
                    args.rate,
                )
            )
            results.append({**result, "label": "echo upstream (aiohttp)"})
            print(results[-1])
        if args.cable_sockets:
            # First Puma at its container address (the double's own ceiling), then through the published
            # 127.0.0.1:3000 as deployed (docker-proxy, whose descriptors count against the lab's limit too).
            rails = vps(
                "docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "
                "$(docker ps -q --filter publish=3000)"
            ).strip()
            phases = [
                (
                    "double, Puma at its container address",
                    {"nginx_upstream": f"{rails}:3000", "nginx_upstream_standby": f"{rails}:3000"},
                    False,
                ),
                ("double, published port (docker-proxy)", {}, True),
            ]
            for label, upstream_vars, proxy in phases:
                converge_nginx(env, {**limits, **derived, **upstream_vars})
                result = asyncio.run(
                    run(
                        "cable",
                        args.cable_sockets,
                        address,
                        args.parallel,
                        args.hold,
                        sampler("cable", proxy),
                        args.max_errors,
                        args.rate,
                    )
                )
                results.append({**result, "label": label})
                print(results[-1])
    finally:
        vps("systemctl stop cwws-echo 2>/dev/null || true", check=False)
        if not args.keep:
            sh("tests/lab/lab.sh", "down", env=env, check=False)

    body = [
        "## WebSocket capacity through Nginx",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()} ({_cpus()} CPUs, shared with other jobs), "
        f"lab VPS {NAME} (Debian 13, nginx 1.26), {args.workers} Nginx workers with `worker_connections "
        f"{connections}`, `worker_rlimit_nofile` and `LimitNOFILE` {2 * connections} (1.5 times the even share "
        f"of {most:,} sockets each, below the lab's 20,000 files per process); client on the controller "
        f"(Python websockets, {args.parallel} handshakes in flight, TLS), hold {args.hold:g} s at the peak; "
        f"load average {load:.1f} when it started.",
        "",
        "| upstream | sockets | handshakes (101 + welcome) | connect rate | open at the peak | answered | "
        "closed 1000 | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes: list[str] = []
    for result in results:
        line, note = describe(result)
        body += line
        notes += note
    body += [
        "",
        *notes,
        "",
        "Command: `.venv/bin/python bench/websocket_capacity.py " + _argv(args) + "`",
        "",
        *sizing(results),
    ]
    text = "\n".join(body)
    print(text)
    if not args.no_write:
        write_section(SECTION, text)


def _cpus() -> int:
    return os.cpu_count() or 0


def _argv(args: argparse.Namespace) -> str:
    return (
        f"--sockets {args.sockets} --cable-sockets {args.cable_sockets} --workers {args.workers} "
        f"--parallel {args.parallel} --hold {args.hold:g} --max-errors {args.max_errors}"
        + (f" --rate {args.rate:g}" if args.rate else "")
    )


if __name__ == "__main__":
    main()
