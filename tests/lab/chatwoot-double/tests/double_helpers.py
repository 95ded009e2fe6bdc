"""Small helpers for the Chatwoot double's contract suite (this directory is on sys.path for its tests)."""

from __future__ import annotations

import itertools
import json
import re
import time

import psycopg
import pytest
import redis as redis_lib
import requests

ADMIN_EMAIL = "ada@example.test"
ADMIN_PASSWORD = "Str0ng!Passw0rd"

_ip_counter = itertools.count(1)


def unique_ip() -> str:
    """A fresh documentation address (TEST-NET-3, then TEST-NET-1, then TEST-NET-2), used only as a header value.

    Private ranges would not do: Rails treats them as trusted proxies and skips them in X-Forwarded-For.
    """
    n = next(_ip_counter)
    if n < 255:
        return f"203.0.113.{n}"
    if n < 509:
        return f"192.0.2.{n - 254}"
    return f"198.51.100.{(n - 508) % 250 + 1}"


def redis_client(stack, db: int = 0) -> redis_lib.Redis:
    return redis_lib.Redis(
        host="127.0.0.1", port=stack.redis.port, password=stack.redis.password, db=db, decode_responses=True
    )


def sql(stack, query: str, params=(), database: str | None = None):
    with psycopg.connect(stack.postgres.dsn(database), autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def marker(output: str, name: str) -> str:
    """Value of the last `NAME=...` line a runner script printed."""
    values = re.findall(rf"^{name}=(.*)$", output, flags=re.MULTILINE)
    assert values, f"{name}= not found in runner output:\n{output[-3000:]}"
    return values[-1]


def runner_json(stack, code: str, env=None) -> dict:
    """Run Ruby that ends by setting `result`; returns it parsed."""
    out = stack.runner(f'{code}\nputs "RESULT=#{{result.to_json}}"', env=env)
    return json.loads(marker(out, "RESULT"))


def in_one_window(period: int, attempt):
    """Run attempt(i) so that all its requests fall into one Rack::Attack time bucket.

    Rack::Attack counts per bucket (epoch // period); a burst that straddles a boundary restarts the
    count. Retry with a fresh attempt when the bucket changed, instead of trusting timing.
    """
    for i in range(3):
        bucket = int(time.time()) // period
        result = attempt(i)
        if int(time.time()) // period == bucket:
            return result
    pytest.fail("three bursts in a row crossed a Rack::Attack time bucket")


def get(base_url: str, path: str, ip: str | None = None, **kwargs) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if ip:
        headers["X-Forwarded-For"] = ip
    return requests.get(f"{base_url}{path}", headers=headers, timeout=30, allow_redirects=False, **kwargs)


def post(base_url: str, path: str, ip: str | None = None, **kwargs) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if ip:
        headers["X-Forwarded-For"] = ip
    return requests.post(f"{base_url}{path}", headers=headers, timeout=30, allow_redirects=False, **kwargs)


def version_tuple(tag: str) -> tuple[int, ...]:
    return tuple(int(part) for part in tag.lstrip("v").removesuffix("-ce").split("."))


def at_least(tag: str, release: str) -> bool:
    return version_tuple(tag) >= version_tuple(release)
