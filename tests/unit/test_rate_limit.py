"""Pure logic of rate_limit_flush: glob escaping, key patterns, the exact key rule, settings, the flush loop."""

from __future__ import annotations

import fnmatch
import re

import pytest

from ansible_collections.selfhost.chatwoot.plugins.module_utils import _rate_limit as rl

P = rl.KEY_PREFIX


def redis_glob_match(pattern: str, key: str) -> bool:
    """Redis' stringmatchlen for the subset we emit (*, ?, [..], backslash escapes)."""
    regex, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            regex += re.escape(pattern[i + 1])
            i += 2
            continue
        if char == "*":
            regex += ".*"
        elif char == "?":
            regex += "."
        elif char == "[":
            end = pattern.index("]", i)
            regex += "[" + pattern[i + 1 : end] + "]"
            i = end
        else:
            regex += re.escape(char)
        i += 1
    return re.fullmatch(regex, key, flags=re.S) is not None


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a*b@x.com", r"a\*b@x.com"),
        ("a?b", r"a\?b"),
        ("[ab]", r"\[ab\]"),
        ("back\\slash", r"back\\slash"),
        ("x^y", r"x\^y"),
        ("2001:db8::1", "2001:db8::1"),
        ("req/ip", "req/ip"),
    ],
)
def test_escape_glob(raw, escaped):
    assert rl.escape_glob(raw) == escaped
    assert redis_glob_match(rl.escape_glob(raw), raw)


def test_patterns():
    assert rl.key_pattern() == "velma:rack::attack:*"
    assert rl.key_pattern(throttle="login/email") == "velma:rack::attack:[0-9]*:login/email:*"
    assert rl.key_pattern(discriminator="1.2.3.4") == "velma:rack::attack:*:1.2.3.4"
    assert rl.key_pattern("login/email", "a*b@x.com") == r"velma:rack::attack:[0-9]*:login/email:a\*b@x.com"


@pytest.mark.parametrize("email", ["*@x.com", "a?c@x.com", "[a-z]*@x.com", "a\\*@x.com", "*"])
def test_glob_characters_in_an_email_do_not_widen_the_match(email):
    others = ["abc@x.com", "zzz@x.com", "a\\b@x.com", "aXc@x.com", "*@y.com", "a", "anything"]
    for key_disc in others:
        if key_disc == email:
            continue
        key = f"{P}123:login/email:{key_disc}"
        for pattern in (rl.key_pattern(discriminator=email), rl.key_pattern("login/email", email)):
            assert not redis_glob_match(pattern, key), (pattern, key)
        assert not rl.key_matcher(discriminator=email)(key.encode())
    own = f"{P}123:login/email:{email}"
    assert redis_glob_match(rl.key_pattern(discriminator=email), own)
    assert redis_glob_match(rl.key_pattern("login/email", email), own)
    assert rl.key_matcher(discriminator=email)(own.encode())
    assert rl.key_matcher("login/email", email)(own.encode())


KEYS = [
    f"{P}2890001:req/ip:10.0.0.1",
    f"{P}2890001:req/ip:10.0.0.11",
    f"{P}2890001:req/ip:::1",
    f"{P}2890001:req/ip:2001:db8::1",
    f"{P}2890001:login/ip:10.0.0.1",
    f"{P}96300:login/email:agent@example.com",
    f"{P}96300:login/email:Agent@example.com",
    f"{P}fail2ban:ban:10.0.0.1",
    f"{P}2890001:api/v1/widget/contacts:10.0.0.1",
    f"{P}2890001:widget?website_token={{website_token}}&cw_conversation={{x-auth-token}}:10.0.0.1",
    # Chatwoot's account-keyed API throttles: ':' in the name, discriminator an account id or uid:account_id
    f"{P}28900:/api/v1/accounts/:account_id/upload:5",
    f"{P}28900:/api/v1/accounts/:account_id/upload:15",
    f"{P}28900:/api/v1/accounts/:account_id/conversations/:conversation_id/transcript:5",
    f"{P}28900:/api/v2/accounts/:account_id/reports:5",
    f"{P}28900:/api/v2/accounts/:account_id/reports/user:ada@example.com:5",
    f"{P}28900:/api/v1/accounts/:account_id/conversations/meta/user:tok3n:5",
    f"{P}28900:/api/v1/accounts/:account_id/conversations/:id DELETE:5",  # v4.16: a space in the name
    "velma:views/conversations/1",
    "alfred:CHATWOOT_INSTALLATION_ONBOARDING",
    "queue:default",
    "rack::attack:1:req/ip:10.0.0.1",
]


def selected(**filters):
    matcher = rl.key_matcher(**filters)
    pattern = rl.key_pattern(**filters)
    chosen = [k for k in KEYS if matcher(k.encode())]
    # The server-side glob never filters out a key the exact rule keeps.
    assert all(redis_glob_match(pattern, k) for k in chosen)
    return chosen


def test_all_counters_and_nothing_else():
    assert selected() == [k for k in KEYS if k.startswith(P)]


def test_discriminator_only_is_exact():
    assert selected(discriminator="10.0.0.1") == [
        f"{P}2890001:req/ip:10.0.0.1",
        f"{P}2890001:login/ip:10.0.0.1",
        f"{P}fail2ban:ban:10.0.0.1",
        f"{P}2890001:api/v1/widget/contacts:10.0.0.1",
        f"{P}2890001:widget?website_token={{website_token}}&cw_conversation={{x-auth-token}}:10.0.0.1",
    ]


def test_discriminator_of_throttles_whose_names_contain_colons():
    # An account id: the account-keyed counters of that account, not another account's, not uid:account_id.
    assert selected(discriminator="5") == [
        f"{P}28900:/api/v1/accounts/:account_id/upload:5",
        f"{P}28900:/api/v1/accounts/:account_id/conversations/:conversation_id/transcript:5",
        f"{P}28900:/api/v2/accounts/:account_id/reports:5",
        f"{P}28900:/api/v1/accounts/:account_id/conversations/:id DELETE:5",
    ]
    assert selected(discriminator="15") == [f"{P}28900:/api/v1/accounts/:account_id/upload:15"]
    # uid:account_id discriminators are matched whole.
    assert selected(discriminator="ada@example.com:5") == [
        f"{P}28900:/api/v2/accounts/:account_id/reports/user:ada@example.com:5"
    ]
    assert selected(discriminator="tok3n:5") == [
        f"{P}28900:/api/v1/accounts/:account_id/conversations/meta/user:tok3n:5"
    ]
    assert selected(discriminator="example.com:5") == []
    assert selected(discriminator="upload:5") == []


def test_throttle_names_with_colons_and_slashes_are_exact_prefixes():
    assert selected(throttle="/api/v1/accounts/:account_id/upload") == [
        f"{P}28900:/api/v1/accounts/:account_id/upload:5",
        f"{P}28900:/api/v1/accounts/:account_id/upload:15",
    ]
    # reports (account level) is a prefix of reports/user as text, not as a throttle name
    assert selected(throttle="/api/v2/accounts/:account_id/reports") == [
        f"{P}28900:/api/v2/accounts/:account_id/reports:5"
    ]
    assert selected(throttle="/api/v2/accounts/:account_id/reports/user") == [
        f"{P}28900:/api/v2/accounts/:account_id/reports/user:ada@example.com:5"
    ]
    assert selected(throttle="/api/v2/accounts/:account_id/reports/user", discriminator="ada@example.com:5") == [
        f"{P}28900:/api/v2/accounts/:account_id/reports/user:ada@example.com:5"
    ]
    assert selected(throttle="/api/v2/accounts/:account_id/reports/user", discriminator="5") == []
    assert selected(throttle="/api/v1/accounts/:account_id") == []
    assert selected(throttle="/api/v1/accounts/:account_id/conversations/:id DELETE", discriminator="5") == [
        f"{P}28900:/api/v1/accounts/:account_id/conversations/:id DELETE:5"
    ]
    glob_name = "widget?website_token={website_token}&cw_conversation={x-auth-token}"
    assert selected(throttle=glob_name) == [f"{P}2890001:{glob_name}:10.0.0.1"]


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        (b"req/ip", True),
        (b"/api/v1/accounts/:account_id/conversations/:conversation_id/transcript", True),
        (b"req/ip:2001", False),
        (b"req/ip::", False),
        (b":x", False),
        (b"", False),
    ],
)
def test_throttle_name_rule(name, valid):
    assert rl.is_throttle_name(name) is valid


def test_ipv6_discriminators_with_colons():
    assert selected(discriminator="::1") == [f"{P}2890001:req/ip:::1"]
    assert selected(discriminator="2001:db8::1") == [f"{P}2890001:req/ip:2001:db8::1"]
    assert selected(discriminator="db8::1") == []
    assert selected(discriminator="1") == []


def test_throttle_only_and_both():
    assert selected(throttle="req/ip") == [
        f"{P}2890001:req/ip:10.0.0.1",
        f"{P}2890001:req/ip:10.0.0.11",
        f"{P}2890001:req/ip:::1",
        f"{P}2890001:req/ip:2001:db8::1",
    ]
    assert selected(throttle="req") == []
    assert selected(throttle="login/email", discriminator="agent@example.com") == [
        f"{P}96300:login/email:agent@example.com"
    ]
    assert selected(throttle="req/ip", discriminator="::1") == [f"{P}2890001:req/ip:::1"]


@pytest.mark.parametrize("bad", ["", "a\nb", "x\x00"])
def test_invalid_filters(bad):
    with pytest.raises(ValueError):
        rl.key_pattern(discriminator=bad)
    with pytest.raises(ValueError):
        rl.key_pattern(throttle=bad)


def test_fnmatch_sanity_of_helper():
    # the helper agrees with fnmatch on plain globs, so the escaping tests above mean something
    for pattern, key in [("a*", "abc"), ("a?c", "abc"), ("[ab]x", "bx"), ("a*", "b")]:
        assert redis_glob_match(pattern, key) == fnmatch.fnmatchcase(key, pattern)


class FakePipeline:
    def __init__(self, store):
        self.store, self.calls = store, []

    def unlink(self, *keys):
        self.calls.append(keys)

    def execute(self):
        out = []
        for keys in self.calls:
            out.append(sum(1 for k in keys if self.store.pop(k, None) is not None))
            self.store.setdefault("__unlink_sizes__", []).append(len(keys))
        return out


class FakeRedis:
    """SCAN over a dict in pages (returning one key twice, as SCAN may), glob MATCH, pipelined UNLINK."""

    def __init__(self, keys, page=7):
        self.store = {k.encode(): b"1" for k in keys}
        self.page = page
        self.scans = []

    def scan(self, cursor=0, match=None, count=10):
        self.scans.append(count)
        keys = sorted(k for k in self.store if k != "__unlink_sizes__")
        start = int(cursor)
        page = keys[start : start + self.page]
        if start and keys[start - 1 : start]:
            page = keys[start - 1 : start] + page  # a duplicate
        nxt = start + self.page
        found = [k for k in page if redis_glob_match(match, k.decode())]
        return (0 if nxt >= len(keys) else nxt), found

    def pipeline(self, transaction=True):
        return FakePipeline(self.store)

    def register_script(self, text):
        raise AssertionError("client method must not use scripts")


def test_flush_client_deletes_exactly_and_counts_once():
    client = FakeRedis(KEYS)
    result = rl.flush(client, discriminator="10.0.0.1", batch_size=2, method="client")
    assert result.deleted == 5 and result.method == "client"
    left = {k.decode() for k in client.store if isinstance(k, bytes)}
    assert left == set(KEYS) - set(selected(discriminator="10.0.0.1"))
    assert max(client.store["__unlink_sizes__"]) <= 2
    assert result.batches == len(client.store["__unlink_sizes__"])


def test_check_mode_counts_distinct_and_deletes_nothing():
    client = FakeRedis(KEYS, page=3)
    result = rl.flush(client, check_mode=True)
    assert result.deleted == result.matched == len([k for k in KEYS if k.startswith(P)])
    assert result.batches == 0
    assert len([k for k in client.store if isinstance(k, bytes)]) == len(KEYS)


def test_flush_rejects_bad_sizes():
    with pytest.raises(ValueError):
        rl.flush(FakeRedis(KEYS), scan_count=0)
    with pytest.raises(ValueError):
        rl.flush(FakeRedis(KEYS), method="fast")


class RefusingScripts(FakeRedis):
    def __init__(self, keys, message):
        super().__init__(keys)
        self.message = message

    def register_script(self, text):
        class ResponseError(Exception):
            pass

        message = self.message

        def call(keys, args):
            raise ResponseError(message)

        return call


def test_auto_falls_back_when_scripting_is_refused():
    client = RefusingScripts(KEYS, "NOPERM this user has no permissions to run the 'evalsha' command")
    result = rl.flush(client)
    assert result.method == "client" and result.deleted == len([k for k in KEYS if k.startswith(P)])


def test_lua_errors_other_than_refusal_propagate():
    client = RefusingScripts(KEYS, "ERR user_script:1: Script attempted to access nonexistent global variable")
    with pytest.raises(Exception, match="nonexistent global"):
        rl.flush(client)
    with pytest.raises(Exception, match="NOPERM"):
        rl.flush(RefusingScripts(KEYS, "NOPERM no"), method="lua")


def test_lua_script_mirrors_the_python_rule():
    # The script is exercised against real Redis in the integration tests (both methods on the same keys);
    # here: it never calls anything destructive besides UNLINK, and it matches a discriminator as a suffix
    # with the throttle-name rule instead of splitting the key at its first ':'.
    script = rl.FLUSH_STEP_LUA
    assert "FLUSH" not in script.upper().replace("FLUSH_STEP", "")
    assert re.findall(r"redis\.call\('(\w+)'", script) == ["SCAN", "UNLINK"]
    assert "tail:sub(-#suffix) == suffix" in script and "~= '/'" in script


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://redis:6379", rl.RedisSettings("redis", 6379, 0, None, None, False)),
        ("redis://:s3cret@redis:6380/2", rl.RedisSettings("redis", 6380, 2, None, "s3cret", False)),
        ("rediss://user:p%40ss@10.0.0.5/1", rl.RedisSettings("10.0.0.5", 6379, 1, "user", "p@ss", True)),
        ("redis://[::1]:6379?db=3", rl.RedisSettings("::1", 6379, 3, None, None, False)),
    ],
)
def test_parse_redis_url(url, expected):
    assert rl.parse_redis_url(url) == expected


@pytest.mark.parametrize("url", ["http://redis:6379", "redis://redis:notaport", "redis://redis/abc"])
def test_parse_redis_url_errors(url):
    with pytest.raises(rl.RedisSettingsError):
        rl.parse_redis_url(url)


def test_env_and_explicit_precedence():
    env = {"REDIS_URL": "redis://:inurl@redis:6379/1", "REDIS_PASSWORD": "fromenv"}
    discovered = rl.settings_from_env(env)
    assert (discovered.host, discovered.db, discovered.password) == ("redis", 1, "fromenv")
    assert rl.settings_from_env({"REDIS_PASSWORD": "x"}) is None
    merged = rl.merge_settings(rl.settings_from_env(env), host="127.0.0.1", port=7000, password="explicit", db=4)
    assert (merged.host, merged.port, merged.password, merged.db) == ("127.0.0.1", 7000, "explicit", 4)
    replaced = rl.merge_settings(rl.settings_from_env(env), redis_url="redis://other:1234")
    assert (replaced.host, replaced.port, replaced.password, replaced.db) == ("other", 1234, None, 0)
    assert "fromenv" not in discovered.describe() and "inurl" not in discovered.describe()


def test_list_keys_names_what_check_mode_would_delete_and_deletes_nothing():
    client = FakeRedis(KEYS, page=3)
    result = rl.flush(client, discriminator="10.0.0.1", check_mode=True, list_keys=True)
    assert result.keys == sorted(selected(discriminator="10.0.0.1"))
    assert result.as_dict()["keys"] == result.keys and result.deleted == len(result.keys)
    assert len([k for k in client.store if isinstance(k, bytes)]) == len(KEYS)


def test_list_keys_in_apply_mode_names_what_went_without_scripts():
    client = FakeRedis(KEYS)  # register_script raises: list_keys must scan from the client
    result = rl.flush(client, discriminator="10.0.0.1", list_keys=True)
    assert result.method == "client" and result.keys == sorted(selected(discriminator="10.0.0.1"))
    left = {k.decode() for k in client.store if isinstance(k, bytes)}
    assert left == set(KEYS) - set(result.keys)


def test_keys_are_not_returned_unless_asked():
    assert "keys" not in rl.flush(FakeRedis(KEYS), check_mode=True).as_dict()
