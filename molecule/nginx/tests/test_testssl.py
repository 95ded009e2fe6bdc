"""testssl.sh (Debian 13's package) against the deployed nginx: no finding of severity HIGH or CRITICAL.

Runs on the provided-mode VPS, whose certificate comes from the lab CA (given to testssl with --add-ca), so
the certificate checks judge a trusted chain as on a real host. Bounded: protocols, standard cipher
categories, forward secrecy, server defaults (certificate, session handling), vulnerabilities and HTTP
headers, but not the per-cipher enumeration (-E) nor the client simulation (-c), which take most of a full
run's time. docs/tls.md records the summary and the command.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import only_on

NAME = "chatwoot.lab.test"
REPORT = "/tmp/testssl.json"
COMMAND = (
    "timeout 900 testssl --quiet --color 0 --warnings off --ip 127.0.0.1 --add-ca /etc/ssl/lab/ca.crt "
    "--connect-timeout 10 --openssl-timeout 10 --protocols --std --fs --server-defaults --vulnerable --headers "
    f"--jsonfile {REPORT} https://{NAME}/"
)


@pytest.fixture(scope="module")
def findings(host) -> list[dict]:
    only_on(host, "cwlab-nginx-provided", "the lab CA's certificate is served there")
    host.run(f"rm -f {REPORT}")
    run = host.run(COMMAND)
    assert host.file(REPORT).exists, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(host.file(REPORT).content_string)


def test_testssl_finds_nothing_high_or_critical(host, findings):
    version = host.check_output("dpkg-query -W -f '${Version}' testssl.sh")
    by_severity = Counter(item["severity"] for item in findings)
    print(f"testssl.sh {version}: {COMMAND}")
    print("findings by severity:", dict(sorted(by_severity.items())))
    print("overall grade:", next((item["finding"] for item in findings if item["id"] == "overall_grade"), "?"))
    for item in findings:
        if item["severity"] not in ("OK", "INFO"):
            print(f"  {item['severity']:8} {item['id']}: {item['finding']}")
    assert by_severity["OK"] > 0, "testssl judged nothing: the scan did not run"
    serious = [item for item in findings if item["severity"] in ("HIGH", "CRITICAL")]
    assert serious == []


def test_testssl_covered_what_it_was_asked(findings):
    ids = {item["id"] for item in findings}
    # One id per check asked for (HSTS is "HSTS" when absent, "HSTS_time" and others when sent).
    for expected in ("TLS1_3", "SSLv3", "cipherlist_LOW", "FS", "cert_chain_of_trust", "heartbleed", "ROBOT", "HSTS"):
        assert any(found == expected or found.startswith(expected + "_") for found in ids), (expected, sorted(ids))
