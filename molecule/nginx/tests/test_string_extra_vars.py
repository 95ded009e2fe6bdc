"""`-e key=value` gives strings: the role must treat "false", "no", "4096" like the typed values.

A check-mode run with --diff on the converged VPS shows what the role would write; nothing changes.
(tests/unit/test_role_string_extra_vars.py compares string and typed renderings of every option.)
"""

from __future__ import annotations

import re

from conftest import inventory_name, only_on, run_converge, state_fingerprint


def dash_e(**values: str) -> list[str]:
    return [arg for key, value in values.items() for arg in ("-e", f"{key}={value}")]


def planned(run) -> list[str]:
    """The +/- lines of the planned diffs (without the ---/+++ headers, which name temporary files)."""
    return [line.rstrip() for line in run.stdout.splitlines() if re.match(r"^[-+](?![-+]{2} )", line)]


def test_strings_from_the_command_line_act_as_typed_values(host):
    only_on(host, "cwlab-nginx-trixie", "HSTS, HTTP/2 and the IPv6 listener are on there")
    before = state_fingerprint(host)
    run = run_converge(
        inventory_name(host),
        {},
        check=True,
        diff=True,
        extra_args=dash_e(
            nginx_hsts_enabled="false",
            nginx_http2="off",
            nginx_listen_ipv6="no",
            nginx_remove_default_site="yes",
            nginx_worker_connections="4096",
            nginx_worker_rlimit_nofile="10000",
            nginx_proxy_read_timeout="120",
            nginx_selfsigned_days="365",
        ),
    )
    assert run.returncode == 0, run.stdout[-4000:]
    lines = planned(run)
    for expected in (
        '-    add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;',
        "-    listen [::]:443 ssl;",
        "-    http2 on;",
        "+    http2 off;",
        "-    worker_connections 8192;",
        "+    worker_connections 4096;",
        "+worker_rlimit_nofile 10000;",
        "+        proxy_read_timeout 120s;",
    ):
        assert expected in lines, "\n".join(lines)
    assert not [line for line in lines if line.startswith("+") and "Strict-Transport-Security" in line]
    # The self-signed certificate is kept: "365" days is the 365 it was made with.
    assert re.search(r"TASK \[[^\]]*Sign the certificate with its own key\][^\n]*\nok:", run.stdout), run.stdout
    assert state_fingerprint(host) == before


def test_acme_strings_reach_the_renewal_client_typed(host):
    only_on(host, "cwlab-nginx-bookworm", "acme mode with the renewal timer")
    before = state_fingerprint(host)
    run = run_converge(
        inventory_name(host),
        {},
        check=True,
        diff=True,
        extra_args=dash_e(
            nginx_acme_terms_agreed="yes",
            nginx_acme_renewal_timer="on",
            nginx_acme_validate_certs="false",
            nginx_acme_remaining_days="20",
        ),
    )
    assert run.returncode == 0, run.stdout[-4000:]
    lines = planned(run)
    # JSON false and 20, not the strings "false" (true for the client) and "20".
    assert '-  "verify_tls": true,' in lines and '+  "verify_tls": false,' in lines, "\n".join(lines)
    assert '-  "remaining_days": 30,' in lines and '+  "remaining_days": 20,' in lines, "\n".join(lines)
    assert state_fingerprint(host) == before
