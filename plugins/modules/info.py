#!/usr/bin/python
# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: info
short_description: Query a Chatwoot server's version and health, optionally waiting until it is ready
version_added: 0.1.0
description:
  - Queries a Chatwoot base URL (through Nginx or directly on the rails port) for C(/api) (version,
    C(queue_services) = Redis, C(data_services) = PostgreSQL) and C(/health) (liveness).
  - Returns the version, the service states, the response time of C(/api) and whether the server is
    healthy (C(/api) answers, both services C(ok), and on Chatwoot 4.11.0 or newer C(/health) answers 2xx).
  - C(/health) only exists from Chatwoot 4.11.0 on (older releases answer 404), so it is required only when
    C(/api) reports 4.11.0 or newer (or a version that cannot be read); its status is reported on every release.
  - Can wait until the server is healthy and, with O(expected_version), serves that version; fails after
    O(wait_timeout) seconds naming what it last saw.
  - Verifies TLS certificates by default; O(ca_path) names the CA to trust.
  - Read-only, it never reports a change.
author:
  - selfhost.chatwoot contributors (@selfhost)
requirements:
  - requests
extends_documentation_fragment:
  - selfhost.chatwoot.attributes
  - selfhost.chatwoot.attributes.READ_ONLY
options:
  base_url:
    description:
      - Chatwoot's base URL without a path, for example C(https://chat.example.com) or C(http://127.0.0.1:3000).
    type: str
    required: true
  validate_certs:
    description: Verify the server's TLS certificate. Only turn this off for throwaway tests.
    type: bool
    default: true
  ca_path:
    description: PEM file with the CA certificate(s) to verify the server with, instead of the system's.
    type: path
  timeout:
    description: Seconds to wait for each HTTP answer.
    type: float
    default: 10
  headers:
    description:
      - Extra request headers, for example C(X-Forwarded-Proto=https) when querying the rails port directly
        while C(FORCE_SSL) is on (otherwise Rails redirects to https).
    type: dict
  wait:
    description:
      - Wait until the server is healthy (and serves O(expected_version) when given), probing every
        O(wait_interval) seconds for at most O(wait_timeout) seconds.
      - Without it a single probe is made; an unreachable server or a different version is a failure,
        an unhealthy one is reported through RV(healthy).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait at most with O(wait=true).
    type: int
    default: 300
  wait_interval:
    description: Seconds between probes with O(wait=true).
    type: float
    default: 2
  expected_version:
    description:
      - The version the server must report, in any form the image is tagged with, C(vX.Y.Z), C(X.Y.Z) or
        C(vX.Y.Z-ce) (C(v4.10.1), C(4.10.1) and C(v4.10.1-ce) are equal; C(/api) reports C(4.10.1)).
      - C(latest) and C(latest-ce) name no version and are refused.
    type: str
"""

EXAMPLES = r"""
- name: Read Chatwoot's version and health through Nginx
  selfhost.chatwoot.info:
    base_url: https://chat.example.com
  register: chatwoot

- name: Wait for the upgraded version to be served and healthy
  selfhost.chatwoot.info:
    base_url: http://127.0.0.1:3000
    headers:
      X-Forwarded-Proto: https
    wait: true
    wait_timeout: 600
    expected_version: v4.11.0

- name: Check a staging server signed by a private CA
  selfhost.chatwoot.info:
    base_url: https://chat.staging.internal
    ca_path: /etc/ssl/private-ca.pem
"""

RETURN = r"""
url:
  description: The base URL queried (without a trailing slash).
  returned: always
  type: str
  sample: https://chat.example.com
version:
  description: The version Chatwoot reports in C(/api).
  returned: success
  type: str
  sample: 4.10.1
timestamp:
  description: The server time Chatwoot reports in C(/api).
  returned: success
  type: str
  sample: "2025-06-01 12:00:00 UTC"
queue_services:
  description: State of Redis as Chatwoot sees it (C(ok) or C(failing)).
  returned: success
  type: str
  sample: ok
data_services:
  description: State of PostgreSQL as Chatwoot sees it (C(ok) or C(failing)).
  returned: success
  type: str
  sample: ok
api_status_code:
  description: HTTP status of C(/api).
  returned: when the server answered
  type: int
  sample: 200
health_status_code:
  description: HTTP status of C(/health) (404 before Chatwoot 4.11.0); null when it did not answer.
  returned: success
  type: int
  sample: 200
health_status:
  description: The C(status) field of C(/health) (C(woot) when alive).
  returned: success
  type: str
  sample: woot
health_required:
  description: Whether C(/health) had to answer 2xx for RV(healthy), that is whether the reported version is
    4.11.0 or newer (or could not be read).
  returned: always
  type: bool
  sample: true
response_time_ms:
  description: Time until C(/api) answered, in milliseconds (of the last probe).
  returned: success
  type: float
  sample: 42.7
healthy:
  description: C(/api) answered, C(queue_services) and C(data_services) are C(ok), and (from Chatwoot 4.11.0
    on) C(/health) answered 2xx.
  returned: always
  type: bool
  sample: true
attempts:
  description: Number of probes made.
  returned: always
  type: int
  sample: 1
waited:
  description: Seconds spent waiting (0 without O(wait)).
  returned: always
  type: float
  sample: 0.0
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.selfhost.chatwoot.plugins.module_utils._chatwoot_http import (
    describe,
    expected_version_problem,
    normalize_version,
    probe,
    unmet,
    version_matches,
    wait_for,
)

try:
    import requests

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            base_url=dict(type="str", required=True),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
            timeout=dict(type="float", default=10),
            headers=dict(type="dict"),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=300),
            wait_interval=dict(type="float", default=2),
            expected_version=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    params = module.params
    base_url = params["base_url"].strip()
    if not base_url.lower().startswith(("http://", "https://")):
        module.fail_json(msg=f"base_url {base_url!r} must start with http:// or https://", changed=False)
    if params["timeout"] <= 0 or params["wait_timeout"] < 0 or params["wait_interval"] <= 0:
        module.fail_json(msg="timeout and wait_interval must be positive and wait_timeout not negative", changed=False)
    verify = params["ca_path"] if params["validate_certs"] and params["ca_path"] else params["validate_certs"]
    headers = {str(k): str(v) for k, v in (params["headers"] or {}).items()}
    expected = params["expected_version"]
    if expected is not None and expected_version_problem(expected):
        module.fail_json(msg=expected_version_problem(expected), changed=False)

    session = requests.Session()
    session.trust_env = False  # no proxy from the environment between us and the server we check

    def probe_once():
        return probe(session, base_url, params["timeout"], verify, headers)

    if params["wait"]:
        last, missing, attempts, waited = wait_for(
            probe_once, True, expected, params["wait_timeout"], interval=params["wait_interval"]
        )
    else:
        last = probe_once()
        missing = unmet(last, False, expected)
        attempts, waited = 1, 0.0
    session.close()

    result = dict(changed=False, attempts=attempts, waited=waited, **last.as_dict())
    if not last.reached:
        if params["wait"]:
            module.fail_json(
                msg=f"timed out after {waited} s waiting for {base_url} to be healthy; last seen: {last.error}",
                **result,
            )
        module.fail_json(msg=last.error, **result)
    if missing:
        if params["wait"]:
            module.fail_json(
                msg=f"timed out after {waited} s ({attempts} probes) waiting for {base_url}: still not "
                f"{' and '.join(missing)}; last seen: {describe(last)}",
                **result,
            )
        if expected and not version_matches(last.version, expected):
            module.fail_json(
                msg=f"{base_url} serves version {last.version}, expected {normalize_version(expected)}; "
                "deploy that version or use wait: true to wait for a rollout",
                **result,
            )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
