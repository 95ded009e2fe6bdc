"""Probe a URL at a fixed interval until told to stop, and count what failed.

Used by the default scenario (a successful upgrade must not fail one request through nginx) and by
bench/upgrade_probe.py. Runs as a script so a playbook can start it in the background:

    python tests/support/probe.py --url https://127.0.0.1:8443/api --host chatwoot.lab.test \
        --interval 0.1 --out /tmp/probe.json --stop-file /tmp/probe.stop

It stops when the stop file appears (or on SIGTERM) and writes a JSON summary to --out: requests, failures
(status other than 200, or no answer), the first failures with their time, and the probe's wall time.
Traffic goes only to the URL given (loopback in every test).

With --write TOKEN the probe is a writer instead: it POSTs {"content": ...} as JSON with that
api_access_token to each --url in turn (Chatwoot's message API) and records the id of every message the
server acknowledged (200), so a test can check that none of them was lost.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import ssl
import sys
import time
import urllib.error
import urllib.request


def probe_once(
    url: str,
    host: str | None,
    timeout: float,
    context: ssl.SSLContext,
    token: str | None = None,
    body: dict | None = None,
) -> tuple[int, str, bytes]:
    headers = {"Host": host} if host else {}
    data = None
    if token is not None:
        headers.update({"api_access_token": token, "Content-Type": "application/json"})
        data = json.dumps(body or {}).encode()
    request = urllib.request.Request(url, headers=headers, data=data, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.status, "", response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.reason if isinstance(exc.reason, str) else str(exc.reason), b""
    except Exception as exc:
        return 0, f"{type(exc).__name__}: {exc}", b""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, action="append", help="more than one: used in turn")
    parser.add_argument("--host", help="Host header (the site's name when the URL names 127.0.0.1)")
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="stop anyway after this long")
    parser.add_argument("--write", metavar="TOKEN", help="POST messages with this api_access_token")
    args = parser.parse_args(argv)

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the lab's self-signed certificate; the tests verify TLS elsewhere

    stopping = False

    def stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    started = time.monotonic()
    requests = failures = 0
    first_failures: list[dict] = []
    statuses: dict[str, int] = {}
    acknowledged: list[int] = []
    next_at = started
    while not stopping and not os.path.exists(args.stop_file) and time.monotonic() - started < args.max_seconds:
        url = args.url[requests % len(args.url)]
        body = {"content": f"probe message {requests}"} if args.write else None
        status, error, answer = probe_once(url, args.host, args.timeout, context, args.write, body)
        if args.write and status == 200:
            try:
                acknowledged.append(json.loads(answer)["id"])
            except (ValueError, KeyError, TypeError):
                status, error = -1, f"200 without a message id: {answer[:200]!r}"
        requests += 1
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if status != 200:
            failures += 1
            if len(first_failures) < 20:
                first_failures.append({"t": round(time.monotonic() - started, 2), "status": status, "error": error})
        next_at += args.interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    summary = {
        "urls": args.url,
        "interval": args.interval,
        "requests": requests,
        "failures": failures,
        "statuses": statuses,
        "first_failures": first_failures,
        "seconds": round(time.monotonic() - started, 1),
    }
    if args.write:
        summary["acknowledged"] = acknowledged
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(summary, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
