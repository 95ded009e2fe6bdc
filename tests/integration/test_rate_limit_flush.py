"""selfhost.chatwoot.rate_limit_flush through Ansible against the lab's Redis.

Seeds 100,000 Rack::Attack counters among 10,000 Sidekiq jobs and alfred:* app state, then runs the
community.docker pattern (check -> apply -> idempotent check -> idempotent apply) and proves every key
that is not a counter survived with its value.
"""

from __future__ import annotations

import json
import uuid

import pytest
from support.playbook_runner import run_module

from ansible_collections.selfhost.chatwoot.plugins.module_utils._project import dotenv_quote

# No CHATWOOT_RELEASES here (unlike the other module suites, issue #9): this module talks to Redis only, and
# its one stack starts no Chatwoot container (prepare=False, services=False), so a second release ran the same
# lab Redis image through the same module calls twice.

redis_py = pytest.importorskip("redis", reason="the redis client is installed by `make setup`")

PREFIX = "velma:rack::attack:"
# Chatwoot's throttle names: '/' in all, ':' in the account-keyed API ones (their discriminators are account
# ids, or uid:account_id for the per-user ones).
THROTTLES = [
    "req/ip",
    "login/ip",
    "login/email",
    "reset_password/ip",
    "api/v1/widget/contacts",
    "/api/v1/accounts/:account_id/upload",
    "/api/v2/accounts/:account_id/reports",
    "/api/v2/accounts/:account_id/reports/user",
]
ACCOUNT_KEYED = {"/api/v1/accounts/:account_id/upload", "/api/v2/accounts/:account_id/reports"}
PER_USER = {"/api/v2/accounts/:account_id/reports/user"}
GLOB_EMAIL = "a*b?[c]\\d@example.com"
NOSCRIPT_USER, NOSCRIPT_PASSWORD = "noscript", "no-scripting-for-me"


def client(redis):
    return redis_py.Redis(host=redis.host, port=redis.port, password=redis.password, decode_responses=False)


def args(redis, **extra):
    return {"host": redis.host, "port": redis.port, "password": redis.password, **extra}


def discriminator(i: int) -> str:
    kind = i % 4
    if kind == 0:
        return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    if kind == 1:
        return f"2001:db8::{i:x}"
    if kind == 2:
        return f"user{i}@example.com"
    return f"u{i}*?[x]\\@example.com"  # glob characters are stored as they are


def counter_key(i: int) -> str:
    name = THROTTLES[i % len(THROTTLES)]
    account = i // len(THROTTLES)  # unique per key: the seeded keys never collide
    if name in ACCOUNT_KEYED:
        disc = str(account)
    elif name in PER_USER:
        disc = f"user{account % 7}@example.com:{account}"
    else:
        disc = discriminator(i)
    return f"{PREFIX}{29000000 + i % 3}:{name}:{disc}"


def seed_counters(r, count: int) -> None:
    pipe = r.pipeline(transaction=False)
    for i in range(count):
        pipe.set(counter_key(i), i % 9 + 1, ex=3600)
        if i % 10_000 == 9_999:
            pipe.execute()
    pipe.execute()


def seed_others(r) -> None:
    """10,000 Sidekiq 7 jobs in their real shapes, Sidekiq stats, alfred:* state, near-miss keys."""
    pipe = r.pipeline(transaction=False)

    def job(n, queue="default"):
        return json.dumps(
            {
                "class": "Conversations::ReopenSnoozedConversationsJob",
                "args": [n],
                "retry": True,
                "queue": queue,
                "jid": uuid.UUID(int=n).hex[:24],
                "created_at": 1.7e9 + n,
                "enqueued_at": 1.7e9 + n,
            }
        )

    for n in range(0, 7000, 500):
        pipe.lpush("queue:default", *[job(k) for k in range(n, n + 500)])
    pipe.lpush("queue:mailers", *[job(k, "mailers") for k in range(7000, 7500)])
    pipe.sadd("queues", "default", "mailers", "low")
    pipe.zadd("schedule", {job(k): 1.8e9 + k for k in range(7500, 8500)})
    pipe.zadd("retry", {job(k): 1.8e9 + k for k in range(8500, 9500)})
    pipe.zadd("dead", {job(k): 1.7e9 + k for k in range(9500, 10000)})
    pipe.set("stat:processed", 123456)
    pipe.set("stat:failed", 42)
    pipe.set("stat:processed:2025-06-01", 100)
    pipe.sadd("processes", "host:1:abc")
    pipe.hset("host:1:abc", mapping={"busy": 0, "beat": 1.7e9, "info": "{}"})
    pipe.hset("cron_job:trigger_scheduled_items", mapping={"cron": "*/5 * * * *", "klass": "TriggerJob"})
    pipe.set("alfred:CHATWOOT_INSTALLATION_ONBOARDING", "true")
    for n in range(300):
        pipe.set(f"alfred:ONLINE_PRESENCE::ACCOUNT::1::USERS::{n}", n)
    pipe.hset("alfred:ASSIGNMENT::INBOX::1", mapping={"1": "a", "2": "b"})
    pipe.set("alfred:GLOBAL_CONFIG::INSTALLATION_NAME", "Chatwoot")
    # near misses that must survive: other cache keys in the namespace, rack-attack without the namespace
    pipe.set("velma:views/conversations/1", "cached")
    pipe.set("velma:rack::attackers", "not a counter")
    pipe.set("rack::attack:29000000:req/ip:10.0.0.1", 1)
    pipe.execute()


def snapshot(r) -> dict:
    """Type and full value of every key that is not a Rack::Attack counter."""
    state = {}
    for key in r.scan_iter(count=5000):
        if key.startswith(PREFIX.encode()):
            continue
        kind = r.type(key)
        if kind == b"string":
            value = r.get(key)
        elif kind == b"list":
            value = tuple(r.lrange(key, 0, -1))
        elif kind == b"set":
            value = frozenset(r.smembers(key))
        elif kind == b"zset":
            value = tuple(r.zrange(key, 0, -1, withscores=True))
        elif kind == b"hash":
            value = tuple(sorted(r.hgetall(key).items()))
        else:
            value = kind
        state[key] = (kind, value)
    return state


def parts(key: bytes) -> tuple[str, str, str]:
    """(bucket, throttle, discriminator) of a counter key, by the throttle names the test seeded (names and
    discriminators both contain ':', so the key cannot be split)."""
    bucket, rest = key.decode()[len(PREFIX) :].split(":", 1)
    name = max((n for n in THROTTLES if rest.startswith(n + ":")), key=len)
    return bucket, name, rest[len(name) + 1 :]


def counters(r) -> set:
    return set(r.scan_iter(match=f"{PREFIX}*", count=5000))


@pytest.mark.lab
def test_flush_all_counters_keeps_every_other_key(redis):
    r = client(redis)
    seed_counters(r, 100_000)
    seed_others(r)
    before = snapshot(r)
    assert len(counters(r)) == 100_000
    assert (
        r.llen("queue:default") + r.llen("queue:mailers") + sum(r.zcard(z) for z in ("schedule", "retry", "dead"))
        == 10_000
    )

    check = run_module("rate_limit_flush", args(redis), check=True)
    assert not check.get("failed"), check.get("msg")
    assert check["changed"] is True
    assert check["deleted"] == 100_000 and check["batches"] == 0
    assert len(counters(r)) == 100_000, "check mode deleted keys"

    apply = run_module("rate_limit_flush", args(redis))
    assert not apply.get("failed"), apply.get("msg")
    assert apply["changed"] is True
    assert apply["deleted"] == 100_000 and apply["pattern"] == f"{PREFIX}*"
    assert apply["batches"] >= 100_000 // apply["invocation"]["module_args"]["batch_size"]
    assert counters(r) == set()
    assert snapshot(r) == before
    assert r.get("alfred:CHATWOOT_INSTALLATION_ONBOARDING") == b"true"

    again_check = run_module("rate_limit_flush", args(redis), check=True)
    assert again_check["changed"] is False and again_check["deleted"] == 0
    again = run_module("rate_limit_flush", args(redis))
    assert again["changed"] is False and again["deleted"] == 0
    assert snapshot(r) == before


def no_scripting_user(r) -> None:
    """An ACL user that may do everything but EVAL: the module falls back to scanning from the client."""
    r.acl_setuser(
        NOSCRIPT_USER,
        enabled=True,
        passwords=[f"+{NOSCRIPT_PASSWORD}"],
        keys=["*"],
        categories=["+@all", "-@scripting"],
    )


@pytest.mark.lab
@pytest.mark.parametrize(
    ("method", "method_batch"),
    [("lua", 1), ("lua", 1000), ("client", 1), ("client", 1000)],
    ids=["lua-unlink-1", "lua-unlink-1000", "client-unlink-1", "client-unlink-1000"],
)
def test_targeted_flushes_delete_exactly_the_right_keys(redis, method, method_batch):
    r = client(redis)
    no_scripting_user(r)

    def module_args(**filters):
        if method == "client":
            url = f"redis://{NOSCRIPT_USER}:{NOSCRIPT_PASSWORD}@{redis.host}:{redis.port}/0"
            return {"redis_url": url, "batch_size": method_batch, **filters}
        return args(redis, batch_size=method_batch, **filters)

    seed_counters(r, 2_000)
    seed_others(r)
    special = {
        f"{PREFIX}29000000:login/email:{GLOB_EMAIL}".encode(),
        f"{PREFIX}29000001:login/email:{GLOB_EMAIL}".encode(),
        f"{PREFIX}29000001:login/ip:{GLOB_EMAIL}".encode(),
    }
    lookalikes = {  # would be deleted if the glob characters of GLOB_EMAIL were not escaped
        f"{PREFIX}29000000:login/email:aXbY[c]\\d@example.com".encode(),
        f"{PREFIX}29000000:login/email:ab?c\\d@example.com".encode(),
        f"{PREFIX}29000000:login/email:a*b?c\\d@example.com".encode(),
    }
    for key in special | lookalikes:
        r.set(key, 1)
    r.set(f"{PREFIX}29000002:login/ip:{discriminator(0)}", 1)  # the same IP under a second throttle
    others = snapshot(r)
    everything = counters(r)

    def flush(**filters):
        before = counters(r)
        check = run_module("rate_limit_flush", module_args(**filters), check=True)
        assert not check.get("failed"), check.get("msg")
        assert counters(r) == before
        result = run_module("rate_limit_flush", module_args(**filters))
        assert not result.get("failed"), result.get("msg")
        assert result["method"] == method
        gone = before - counters(r)
        assert result["deleted"] == len(gone) == check["deleted"]
        assert result["changed"] is (len(gone) > 0)
        repeat = run_module("rate_limit_flush", module_args(**filters))
        assert repeat["changed"] is False and repeat["deleted"] == 0
        return gone

    # the email with glob characters: exactly its own counters, across throttles and buckets
    assert flush(discriminator=GLOB_EMAIL) == special
    assert lookalikes <= counters(r)

    # one IPv6 discriminator (contains ':'), all throttles
    v6 = discriminator(1)
    expected = {k for k in counters(r) if parts(k)[2] == v6}
    assert expected
    assert flush(discriminator=v6) == expected

    # one throttle name (contains '/')
    expected = {k for k in counters(r) if parts(k)[1] == "login/email"}
    assert flush(throttle="login/email") == expected
    assert not any(parts(k)[1] == "login/email" for k in counters(r))

    # an account id: the account-keyed counters of that account only (not uid:account_id, not account 17)
    expected = {k for k in counters(r) if parts(k)[2] == "7"}
    assert expected and {parts(k)[1] for k in expected} == set(ACCOUNT_KEYED)
    assert flush(discriminator="7") == expected
    assert any(parts(k)[2].endswith(":7") for k in counters(r)), "uid:7 counters must stay"

    # a uid:account_id discriminator (contains ':'), and a throttle name containing ':' and '/'
    uid = next(parts(k)[2] for k in counters(r) if parts(k)[1] in PER_USER)
    expected = {k for k in counters(r) if parts(k)[2] == uid}
    assert flush(discriminator=uid) == expected
    reports = "/api/v2/accounts/:account_id/reports"
    expected = {k for k in counters(r) if parts(k)[1] == reports}
    assert expected and flush(throttle=reports) == expected
    assert any(parts(k)[1] == reports + "/user" for k in counters(r)), "reports/user is another throttle"

    # throttle + discriminator
    ip = discriminator(0)
    expected = {k for k in counters(r) if parts(k)[1:] == ("req/ip", ip)}
    assert expected and flush(throttle="req/ip", discriminator=ip) == expected
    assert any(parts(k)[2] == ip for k in counters(r)), "other throttles of that IP must stay"

    assert counters(r) < everything
    assert snapshot(r) == others


@pytest.mark.lab
def test_bad_input_fails_clearly_and_changes_nothing(redis, tmp_path):
    r = client(redis)
    seed_counters(r, 100)
    wrong = run_module("rate_limit_flush", args(redis, password="wrong-password"))
    assert wrong["failed"] and "rejected the credentials" in wrong["msg"] and "password" in wrong["msg"]
    assert "wrong-password" not in json.dumps(wrong)

    missing = run_module("rate_limit_flush", {"project_src": str(tmp_path / "nowhere")})
    assert missing["failed"] and "is not a directory" in missing["msg"]

    nothing = run_module("rate_limit_flush", {})
    assert nothing["failed"] and "project_src" in nothing["msg"]

    empty = run_module("rate_limit_flush", args(redis, discriminator=""))
    assert empty["failed"] and "must not be empty" in empty["msg"]

    closed = run_module("rate_limit_flush", {"host": "127.0.0.1", "port": 9, "timeout": 3})
    assert closed["failed"] and "cannot connect to Redis at 127.0.0.1:9" in closed["msg"]
    assert len(counters(r)) == 100


@pytest.mark.lab
def test_discovery_from_project_src(start_chatwoot, tmp_path):
    """A compose project directory: REDIS_URL names the `redis` service; the module finds its container."""
    stack = start_chatwoot(prepare=False, services=False)
    project = tmp_path / "chatwoot"
    project.mkdir()
    (project / "compose.yaml").write_text(f"name: {stack.project}\nservices:\n  redis:\n    image: redis\n")
    (project / ".env").write_text(f"REDIS_URL=redis://redis:6379\nREDIS_PASSWORD='{stack.redis.password}'\n")
    r = client(stack.redis)
    seed_counters(r, 500)
    r.set("alfred:CHATWOOT_INSTALLATION_ONBOARDING", "true")

    check = run_module("rate_limit_flush", {"project_src": str(project)}, check=True)
    assert not check.get("failed"), check.get("msg")
    assert check["changed"] is True and check["deleted"] == 500
    assert check["redis"].endswith(":6379 db 0") and not check["redis"].startswith("redis:")
    result = run_module("rate_limit_flush", {"project_src": str(project)})
    assert result["changed"] is True and result["deleted"] == 500
    assert counters(r) == set() and r.get("alfred:CHATWOOT_INSTALLATION_ONBOARDING") == b"true"

    # explicit options override what is discovered
    bad = run_module("rate_limit_flush", {"project_src": str(project), "password": "not-it"})
    assert bad["failed"] and "rejected the credentials" in bad["msg"]

    # a password with every character .env quoting must survive, written as the app role writes it
    tricky = "p@ss $HOME #1 'q' \"d\" \\ ${X} end\\"
    r.config_set("requirepass", tricky)
    (project / ".env").write_text(f"REDIS_URL=redis://redis:6379\nREDIS_PASSWORD={dotenv_quote(tricky)}\n")
    tricky_client = redis_py.Redis(host=stack.redis.host, port=stack.redis.port, password=tricky)
    seed_counters(tricky_client, 50)
    found = run_module("rate_limit_flush", {"project_src": str(project)})
    assert not found.get("failed"), found.get("msg")
    assert found["deleted"] == 50 and tricky not in str(found)

    # the service's container is stopped: the message says how to fix it
    stack.redis.container.stop(timeout=2)
    stopped = run_module("rate_limit_flush", {"project_src": str(project)})
    assert stopped["failed"] and "not running" in stopped["msg"] and "docker compose up -d" in stopped["msg"]
