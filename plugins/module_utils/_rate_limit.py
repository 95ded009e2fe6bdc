# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find and delete Chatwoot's Rack::Attack counters in Redis, and nothing else.

Chatwoot keeps everything in one Redis database: Sidekiq's queues (``queue:*``, ``schedule``,
``retry``, ...), app state (``alfred:*``) and Rack::Attack's throttle counters, whose keys are
``velma:rack::attack:<epoch-bucket>:<throttle-name>:<discriminator>``.

Neither part after the bucket can be found by splitting at ``:``. Throttle names contain ``/`` and, for
Chatwoot's account-keyed API throttles, ``:`` (``/api/v1/accounts/:account_id/upload``,
``/api/v2/accounts/:account_id/reports``); discriminators are IPs (IPv6 ones contain ``:``), e-mails,
account ids or ``uid:account_id``. So the filters are matched as whole strings, never by splitting:

- a throttle: the key starts with ``<prefix><digits>:<name>:`` and something follows;
- a discriminator: the key ends with ``:<discriminator>``, and what precedes it is ``<prefix><bucket>:<name>``
  with a non-empty bucket and a name that is a throttle name, one in which every ``:`` directly follows a
  ``/`` (as in ``/:account_id``). That is what keeps ``db8::1`` from matching ``2001:db8::1`` (the name would
  have to be ``req/ip:2001``) and an account id ``5`` from matching ``uid:5``;
- both: the key is exactly ``<prefix><digits>:<name>:<discriminator>``.

Keys are found with ``SCAN ... MATCH`` (a server-side glob that narrows the scan) and each returned key
is then checked exactly, by the Lua script on the server or by ``key_matcher`` on the client (the same
rule; the tests run both on the same keys), so a glob can never delete more than the exact rule allows.
Deletion is ``UNLINK`` in batches sent through a pipeline. Never FLUSHALL/FLUSHDB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

KEY_PREFIX = "velma:rack::attack:"
DEFAULT_SCAN_COUNT = 5000
DEFAULT_BATCH_SIZE = 1000
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\^])")


class RedisSettingsError(Exception):
    """Connection settings cannot be used; the message names the cause and the fix."""


def escape_glob(text: str) -> str:
    """Escape Redis glob metacharacters (``* ? [ ] \\ ^``) so ``text`` only matches itself."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


def validate_filter(name: str, value: str | None) -> None:
    if value is None:
        return
    if value == "":
        raise ValueError(f"{name} must not be empty; leave it out to flush every Rack::Attack counter")
    if any(ord(char) < 32 for char in value):
        raise ValueError(f"{name} {value!r} contains control characters; pass the IP address or email as logged")


def key_pattern(throttle: str | None = None, discriminator: str | None = None) -> str:
    """The SCAN MATCH glob for the requested counters (narrowing only; ``key_matches`` decides)."""
    validate_filter("throttle", throttle)
    validate_filter("discriminator", discriminator)
    if throttle is not None and discriminator is not None:
        return f"{KEY_PREFIX}[0-9]*:{escape_glob(throttle)}:{escape_glob(discriminator)}"
    if throttle is not None:
        return f"{KEY_PREFIX}[0-9]*:{escape_glob(throttle)}:*"
    if discriminator is not None:
        return f"{KEY_PREFIX}*:{escape_glob(discriminator)}"
    return f"{KEY_PREFIX}*"


def is_throttle_name(name: bytes) -> bool:
    """Non-empty, and every ``:`` in it directly follows a ``/`` (``/api/v1/accounts/:account_id/upload``)."""
    if not name:
        return False
    return all(index > 0 and name[index - 1 : index] == b"/" for index in _colon_positions(name))


def _colon_positions(text: bytes):
    index = text.find(b":")
    while index >= 0:
        yield index
        index = text.find(b":", index + 1)


def key_matcher(throttle: str | None = None, discriminator: str | None = None):
    """A predicate on raw key bytes implementing the exact rule (see the module docstring)."""
    prefix = KEY_PREFIX.encode()
    name = throttle.encode() if throttle is not None else None
    disc = discriminator.encode() if discriminator is not None else None
    if name is None and disc is None:
        return lambda key: key.startswith(prefix)
    plen = len(prefix)

    def matches(key: bytes) -> bool:
        if not key.startswith(prefix):
            return False
        tail = key[plen:]
        if name is not None:
            bucket, sep, rest = tail.partition(b":")
            if not sep or not bucket.isdigit():
                return False
            if disc is not None:
                return rest == name + b":" + disc
            return rest.startswith(name + b":") and len(rest) > len(name) + 1
        suffix = b":" + disc
        if not tail.endswith(suffix):
            return False
        bucket, sep, key_name = tail[: -len(suffix)].partition(b":")
        return bool(sep) and bool(bucket) and is_throttle_name(key_name)

    return matches


# One SCAN step plus UNLINK of the matching keys, run inside Redis: the keys never travel to the client,
# and each call is bounded by COUNT, so Redis is never blocked for long. The exact rule is the same as
# key_matcher's (tests check that both agree on tricky keys).
FLUSH_STEP_LUA = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local cursor, pattern, count = ARGV[1], ARGV[2], ARGV[3]
local prefix, name, disc = ARGV[4], ARGV[5], ARGV[6]
local has_name, has_disc = ARGV[7] == '1', ARGV[8] == '1'
local batch = tonumber(ARGV[9])
local reply = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', count)
local plen = #prefix
local matched = {}
for _, key in ipairs(reply[2]) do
  local ok = false
  if key:sub(1, plen) == prefix then
    if not has_name and not has_disc then
      ok = true
    else
      local tail = key:sub(plen + 1)
      if has_name then
        local sep = tail:find(':', 1, true)
        if sep then
          local bucket, rest = tail:sub(1, sep - 1), tail:sub(sep + 1)
          if bucket:match('^%d+$') then
            if has_disc then
              ok = (rest == name .. ':' .. disc)
            else
              ok = (#rest > #name + 1 and rest:sub(1, #name + 1) == name .. ':')
            end
          end
        end
      else
        local suffix = ':' .. disc
        if #tail > #suffix and tail:sub(-#suffix) == suffix then
          local head = tail:sub(1, #tail - #suffix)
          local sep = head:find(':', 1, true)
          if sep and sep > 1 and sep < #head then
            -- the throttle name: every ':' in it directly follows a '/'
            ok = true
            local at = head:find(':', sep + 1, true)
            while at do
              if head:sub(at - 1, at - 1) ~= '/' then
                ok = false
                break
              end
              at = head:find(':', at + 1, true)
            end
          end
        end
      end
    end
  end
  if ok then matched[#matched + 1] = key end
end
local deleted, batches = 0, 0
for i = 1, #matched, batch do
  deleted = deleted + redis.call('UNLINK', unpack(matched, i, math.min(i + batch - 1, #matched)))
  batches = batches + 1
end
return {reply[1], #matched, deleted, batches}
"""
MAX_LUA_BATCH = 5000  # unpack() stays far below Lua's stack limit


@dataclass
class FlushResult:
    pattern: str
    matched: int = 0
    deleted: int = 0
    batches: int = 0
    scans: int = 0
    method: str = "client"
    keys: list[str] | None = None

    def as_dict(self) -> dict:
        found = {
            "pattern": self.pattern,
            "matched": self.matched,
            "deleted": self.deleted,
            "batches": self.batches,
            "scans": self.scans,
            "method": self.method,
        }
        if self.keys is not None:
            found["keys"] = self.keys
        return found


def scripting_unavailable(exc: Exception) -> bool:
    """True when Redis refuses EVAL itself (ACL, renamed/disabled command), not when the script failed."""
    text = str(exc).lower()
    return any(s in text for s in ("noperm", "unknown command", "no permissions", "noscript", "disabled"))


def flush(
    client,
    throttle: str | None = None,
    discriminator: str | None = None,
    scan_count: int = DEFAULT_SCAN_COUNT,
    batch_size: int = DEFAULT_BATCH_SIZE,
    check_mode: bool = False,
    method: str = "auto",
    list_keys: bool = False,
) -> FlushResult:
    """Find the counters with SCAN and UNLINK them in batches; in check mode only count them.

    ``client`` is a redis-py client with ``decode_responses=False``. ``method``: ``lua`` runs each SCAN
    step and its UNLINKs in one short server-side script (fast: keys never reach the client), ``client``
    scans from here and pipelines UNLINKs, ``auto`` uses ``lua`` and falls back to ``client`` when the
    server refuses scripting. Check mode always scans from the client and counts distinct keys.
    In apply mode ``deleted`` is the sum of UNLINK's replies (keys that really went away).
    ``list_keys`` also returns the matching keys (sorted, decoded), which needs the ``client`` method.
    """
    if scan_count < 1 or batch_size < 1:
        raise ValueError("scan_count and batch_size must be positive")
    if method not in ("auto", "lua", "client"):
        raise ValueError(f"unknown method {method!r}")
    if check_mode or method == "client" or list_keys:
        return _flush_client(client, throttle, discriminator, scan_count, batch_size, check_mode, list_keys)
    try:
        return _flush_lua(client, throttle, discriminator, scan_count, batch_size)
    except Exception as exc:  # redis.ResponseError; this module must import without redis installed
        if (
            method == "auto"
            and type(exc).__name__ in ("ResponseError", "NoPermissionError")
            and scripting_unavailable(exc)
        ):
            result = _flush_client(client, throttle, discriminator, scan_count, batch_size, False)
            return result
        raise


def _flush_lua(client, throttle, discriminator, scan_count, batch_size) -> FlushResult:
    result = FlushResult(pattern=key_pattern(throttle, discriminator), method="lua")
    step = client.register_script(FLUSH_STEP_LUA)
    args_tail = [
        KEY_PREFIX,
        throttle or "",
        discriminator or "",
        "1" if throttle is not None else "0",
        "1" if discriminator is not None else "0",
        min(batch_size, MAX_LUA_BATCH),
    ]
    cursor = b"0"
    while True:
        cursor, matched, deleted, batches = step(keys=[], args=[cursor, result.pattern, scan_count, *args_tail])
        result.scans += 1
        result.matched += int(matched)
        result.deleted += int(deleted)
        result.batches += int(batches)
        if int(cursor) == 0:
            return result


def _flush_client(client, throttle, discriminator, scan_count, batch_size, check_mode, list_keys=False) -> FlushResult:
    result = FlushResult(pattern=key_pattern(throttle, discriminator), method="client")
    matches = key_matcher(throttle, discriminator)
    seen = set() if check_mode or list_keys else None
    pending: list[bytes] = []

    def send(keys: list[bytes]) -> None:
        pipe = client.pipeline(transaction=False)
        for start in range(0, len(keys), batch_size):
            pipe.unlink(*keys[start : start + batch_size])
            result.batches += 1
        result.deleted += sum(int(n) for n in pipe.execute())

    cursor = 0
    while True:
        cursor, keys = client.scan(cursor=cursor, match=result.pattern, count=scan_count)
        result.scans += 1
        for key in keys:
            if isinstance(key, str):
                key = key.encode()
            if not matches(key):
                continue
            result.matched += 1
            if seen is not None:
                seen.add(key)
            if not check_mode:
                pending.append(key)
        if not check_mode and len(pending) >= batch_size:
            full = len(pending) - len(pending) % batch_size
            send(pending[:full])
            del pending[:full]
        if int(cursor) == 0:
            break
    if check_mode:
        result.matched = len(seen)
        result.deleted = len(seen)
    elif pending:
        send(pending)
    if list_keys:
        result.keys = sorted(key.decode(errors="backslashreplace") for key in seen)
    return result


# merge_settings' keyword arguments -> the rate_limit_flush module's options that set them
MODULE_OPTIONS = {"redis_url": "redis_url", "host": "host", "port": "port", "password": "password", "db": "db"}


@dataclass
class RedisSettings:
    host: str = "localhost"
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = None
    ssl: bool = False

    def describe(self) -> str:
        # Deliberately not a URL: a URL equal to a no_log redis_url would be masked in the module's output.
        return f"{self.host}:{self.port} db {self.db}" + (" (TLS)" if self.ssl else "")


def parse_redis_url(url: str) -> RedisSettings:
    """redis:// or rediss:// URL -> RedisSettings (``/N`` path or ``?db=N`` selects the database)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RedisSettingsError(f"cannot parse Redis URL ({exc}); use redis://[:password@]host[:port][/db]") from None
    if parts.scheme not in ("redis", "rediss"):
        raise RedisSettingsError(
            f"unsupported Redis URL scheme {parts.scheme!r}; use redis://[:password@]host[:port][/db] or rediss://"
        )
    db_text = parts.path.lstrip("/")
    if not db_text:
        match = re.search(r"(?:^|&)db=(\d+)", parts.query)
        db_text = match.group(1) if match else "0"
    if not db_text.isdigit():
        raise RedisSettingsError(f"Redis URL database {db_text!r} is not a number; use /0, /1, ...")
    return RedisSettings(
        host=parts.hostname or "localhost",
        port=port or 6379,
        db=int(db_text),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        ssl=parts.scheme == "rediss",
    )


def settings_from_env(env: dict) -> RedisSettings | None:
    """What Chatwoot itself uses: REDIS_URL, with REDIS_PASSWORD taking precedence when set."""
    url = env.get("REDIS_URL")
    if not url:
        return None
    settings = parse_redis_url(url)
    if env.get("REDIS_PASSWORD"):
        settings.password = env["REDIS_PASSWORD"]
    return settings


def merge_settings(
    discovered: RedisSettings | None,
    redis_url: str | None = None,
    host: str | None = None,
    port: int | None = None,
    password: str | None = None,
    db: int | None = None,
) -> RedisSettings:
    """Explicit options override the discovered settings: redis_url as a whole, then single fields."""
    settings = parse_redis_url(redis_url) if redis_url else (discovered or RedisSettings())
    if host is not None:
        settings.host = host
    if port is not None:
        settings.port = port
    if password is not None:
        settings.password = password
    if db is not None:
        settings.db = db
    return settings
