#!/usr/bin/python
# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rate_limit_flush
short_description: Delete Chatwoot's Rack::Attack rate-limit counters from Redis, and nothing else
version_added: 0.1.0
description:
  - Deletes Chatwoot's Rack::Attack throttle counters (keys C(velma:rack::attack:*)) from the Redis
    database Chatwoot uses, for example to unblock users who all got HTTP 429 behind a misconfigured proxy.
  - Optionally only the counters of one O(discriminator) (an IP address or an email) and/or one
    O(throttle) name.
  - Keys are found with C(SCAN) (MATCH and COUNT) and deleted with C(UNLINK) in pipelined batches, so
    Redis never blocks. C(FLUSHALL) and C(FLUSHDB) are never used; Sidekiq's queues and the app's
    C(alfred:*) keys (among them the onboarding flag) always survive.
  - The glob sent to Redis only narrows the scan; every key is checked exactly before it is deleted, and
    glob characters in a discriminator (C(*?[]\\) in an email) are escaped, so they cannot widen the match.
  - Connection settings are discovered from O(project_src) (C(REDIS_URL) and C(REDIS_PASSWORD) in its
    C(.env); when the URL's host is a compose service name, the service container's address is used).
    Explicit options override what is discovered.
author:
  - selfhost.chatwoot contributors (@selfhost)
requirements:
  - redis (the Python client, 4.0 or later)
  - docker (the Docker SDK for Python), only to find the redis service container from O(project_src)
extends_documentation_fragment:
  - selfhost.chatwoot.attributes
  - selfhost.chatwoot.project
attributes:
  check_mode:
    support: full
    details:
      - Nothing is deleted; RV(deleted) is the number of keys that would be.
  diff_mode:
    support: none
    details:
      - The counts in RV(deleted) and RV(matched) say what went; the keys themselves name IP addresses and
        e-mails, and are listed only with O(list_keys=true).
options:
  redis_url:
    description:
      - Redis URL (C(redis://[[user]:password@]host[:port][/db]) or C(rediss://) for TLS).
      - Replaces the URL discovered from O(project_src); O(host), O(port), O(password) and O(db) still
        override its parts.
    type: str
  host:
    description:
      - Redis host name or IP address. A compose service name is resolved to the service container's
        address when O(project_src) is given.
    type: str
  port:
    description: Redis port.
    type: int
  password:
    description: Redis password. Overrides C(REDIS_PASSWORD) and a password in the URL.
    type: str
  db:
    description: Redis database number.
    type: int
  throttle:
    description:
      - Only delete the counters of this Rack::Attack throttle, for example C(req/ip), C(login/ip),
        C(login/email) or C(/api/v1/accounts/:account_id/upload) (Chatwoot's account-keyed API throttles have
        C(:) and C(/) in their names).
      - Matched as the whole name (the key starts with C(<bucket>:<throttle>:)), so
        C(/api/v2/accounts/:account_id/reports) does not take the counters of C(.../reports/user).
    type: str
  discriminator:
    description:
      - Only delete the counters of this discriminator, for example an IP address (IPv4 or IPv6), the
        email address a login throttle counts, an account id, or C(uid:account_id) for Chatwoot's per-user
        API throttles.
      - Matched exactly, character for character, as the end of the key after a throttle name (emails are
        stored as Chatwoot received them, usually lower-cased); C(db8::1) does not match C(2001:db8::1), and
        an account id C(5) does not match C(agent@example.com:5).
    type: str
  list_keys:
    description:
      - Also return the matching keys in RV(keys) (in check mode, the keys that would be deleted). They name
        IP addresses and e-mails. The keys are then scanned from the client (RV(method) is C(client)).
    type: bool
    default: false
  scan_count:
    description: The C(COUNT) hint of each C(SCAN) call (keys examined per call).
    type: int
    default: 5000
  batch_size:
    description: Keys per C(UNLINK) command.
    type: int
    default: 1000
  timeout:
    description: Seconds to wait for the connection and for each Redis reply.
    type: float
    default: 10
notes:
  - Counters only delay requests; deleting them is always safe, Chatwoot recreates them on the next request.
seealso:
  - name: Rack::Attack
    description: The rate limiter whose counters this module deletes.
    link: https://github.com/rack/rack-attack
"""

EXAMPLES = r"""
- name: Unblock everyone (all Rack::Attack counters)
  selfhost.chatwoot.rate_limit_flush:
    project_src: /opt/chatwoot

- name: Unblock one IP address
  selfhost.chatwoot.rate_limit_flush:
    project_src: /opt/chatwoot
    discriminator: 203.0.113.7

- name: Reset the login throttle of one user
  selfhost.chatwoot.rate_limit_flush:
    project_src: /opt/chatwoot
    throttle: login/email
    discriminator: agent@example.com

- name: List the counters of one IP address that a flush would delete, without deleting them
  selfhost.chatwoot.rate_limit_flush:
    project_src: /opt/chatwoot
    discriminator: 203.0.113.7
    list_keys: true
  check_mode: true

- name: Count the counters of the global request throttle, without deleting them
  selfhost.chatwoot.rate_limit_flush:
    redis_url: redis://127.0.0.1:6379/0
    password: "{{ vault_redis_password }}"
    throttle: req/ip
  check_mode: true
  register: counters
"""

RETURN = r"""
deleted:
  description: Number of keys deleted; in check mode, the number of keys that would be deleted.
  returned: success
  type: int
  sample: 1832
matched:
  description: Number of keys the scan found that match the filters.
  returned: success
  type: int
  sample: 1832
pattern:
  description: The glob sent with C(SCAN MATCH) (keys are then checked exactly).
  returned: success
  type: str
  sample: "velma:rack::attack:[0-9]*:login/email:agent@example.com"
batches:
  description: Number of C(UNLINK) commands sent (0 in check mode).
  returned: success
  type: int
  sample: 2
scans:
  description: Number of C(SCAN) calls made.
  returned: success
  type: int
  sample: 40
method:
  description:
    - C(lua) when each SCAN step and its UNLINKs ran as one short server-side script, C(client) when the keys
      were scanned and checked here (check mode, or a server that refuses scripting).
  returned: success
  type: str
  sample: lua
keys:
  description: The matching keys, sorted (in check mode, the keys that would be deleted).
  returned: when O(list_keys=true)
  type: list
  elements: str
  sample: ["velma:rack::attack:29345678:login/ip:203.0.113.7"]
redis:
  description: The Redis server used (host, port and database; no credentials).
  returned: success
  type: str
  sample: 172.18.0.3:6379 db 0
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.selfhost.chatwoot.plugins.module_utils._project import (
    project_argument_spec,
    service_settings,
)
from ansible_collections.selfhost.chatwoot.plugins.module_utils._rate_limit import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_SCAN_COUNT,
    MODULE_OPTIONS,
    RedisSettingsError,
    flush,
    key_pattern,
    merge_settings,
    settings_from_env,
)

try:
    import redis

    HAS_REDIS = True
    REDIS_IMPORT_ERROR = None
except ImportError:
    HAS_REDIS = False
    REDIS_IMPORT_ERROR = traceback.format_exc()


def connection_settings(module):
    params = module.params
    explicit_address = bool(params["redis_url"] or params["host"])
    if not params["project_src"] and not explicit_address:
        module.fail_json(msg="no Redis to talk to: set project_src (the Chatwoot compose directory) or redis_url/host")

    def from_env(project):
        discovered = settings_from_env(project.env)
        if discovered is None and not explicit_address:
            raise RedisSettingsError(
                f"no REDIS_URL in {project.directory}/.env; set redis_url (or host) to say where Redis is"
            )
        return discovered

    return service_settings(module, from_env, merge_settings, MODULE_OPTIONS, (RedisSettingsError,))


def main():
    module = AnsibleModule(
        argument_spec=project_argument_spec(
            dict(
                redis_url=dict(type="str", no_log=True),
                host=dict(type="str"),
                port=dict(type="int"),
                password=dict(type="str", no_log=True),
                db=dict(type="int"),
                throttle=dict(type="str"),
                discriminator=dict(type="str"),
                list_keys=dict(type="bool", default=False),
                scan_count=dict(type="int", default=DEFAULT_SCAN_COUNT),
                batch_size=dict(type="int", default=DEFAULT_BATCH_SIZE),
                timeout=dict(type="float", default=10),
            )
        ),
        supports_check_mode=True,
    )
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMPORT_ERROR)
    params = module.params
    if params["scan_count"] < 1 or params["batch_size"] < 1:
        module.fail_json(msg="scan_count and batch_size must be positive integers")
    try:
        pattern = key_pattern(params["throttle"], params["discriminator"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    settings, note = connection_settings(module)

    where = settings.describe()
    client = redis.Redis(
        host=settings.host,
        port=settings.port,
        db=settings.db,
        username=settings.username,
        password=settings.password,
        ssl=settings.ssl,
        socket_timeout=params["timeout"],
        socket_connect_timeout=params["timeout"],
        decode_responses=False,
    )
    hint = f" ({note})" if note else ""
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        module.fail_json(
            msg=f"Redis at {where} rejected the credentials ({exc}); set password (or fix REDIS_PASSWORD / "
            "the password in REDIS_URL in project_src/.env)",
            pattern=pattern,
        )
    except redis.RedisError as exc:
        module.fail_json(
            msg=f"cannot connect to Redis at {where}{hint}: {exc}; is the redis service running, and are "
            "host/port (or REDIS_URL in project_src/.env) right?",
            pattern=pattern,
        )

    try:
        result = flush(
            client,
            throttle=params["throttle"],
            discriminator=params["discriminator"],
            scan_count=params["scan_count"],
            batch_size=params["batch_size"],
            check_mode=module.check_mode,
            list_keys=params["list_keys"],
        )
    except redis.RedisError as exc:
        module.fail_json(
            msg=f"flushing Rack::Attack counters on {where} failed: {exc}; the user needs SCAN and UNLINK "
            "(Redis 4.0 or later)",
            pattern=pattern,
            exception=traceback.format_exc(),
        )
    finally:
        client.close()

    module.exit_json(changed=result.deleted > 0, redis=where, **result.as_dict())


if __name__ == "__main__":
    main()
