"""nginx sized for nginx_expected_websockets: systemd's LimitNOFILE, the workers' limit, somaxconn, and the
refusal of a limit this host (a container without CAP_SYS_RESOURCE, hard limit 20000) cannot give."""

from __future__ import annotations

import re

from conftest import inventory_name, run_converge, state_fingerprint

DROP_IN = "/etc/systemd/system/nginx.service.d/selfhost-chatwoot-limits.conf"
SYSCTL = "/etc/sysctl.d/60-selfhost-chatwoot-nginx.conf"


def rlimit_of(host) -> int:
    # molecule.yml sets the worker limits explicitly (this lab's hard limit); the role's default is derived.
    return int(host.ansible.get_variables()["nginx_worker_rlimit_nofile"])


def test_nginx_service_gets_the_workers_open_files_from_systemd(host):
    rlimit = rlimit_of(host)
    assert f"LimitNOFILE={rlimit}\n" in host.file(DROP_IN).content_string
    assert host.check_output("systemctl show nginx.service -p LimitNOFILE") == f"LimitNOFILE={rlimit}"
    master = host.check_output("cat /run/nginx.pid")
    hard = host.check_output(f"grep 'Max open files' /proc/{master}/limits").split()[4]
    assert int(hard) == rlimit, "the master's hard limit is what the workers may raise theirs to"


def test_somaxconn_is_persisted_and_not_lowered(host):
    current = int(host.check_output("cat /proc/sys/net/core/somaxconn"))
    persisted = re.search(r"^net\.core\.somaxconn\s*=\s*(\d+)$", host.file(SYSCTL).content_string, re.M)
    assert persisted, host.file(SYSCTL).content_string
    assert int(persisted.group(1)) >= max(current, 4096)


def test_a_limit_the_host_cannot_give_is_refused_before_anything_changes(host):
    before = state_fingerprint(host)
    # One worker for 10000 sockets needs 43008 open files; this container's init has 20000 and cannot raise it.
    run = run_converge(
        inventory_name(host),
        {
            "nginx_expected_websockets": 10000,
            "nginx_worker_processes": "1",
            "nginx_worker_connections": 0,
            "nginx_worker_rlimit_nofile": 0,
        },
    )
    assert run.returncode != 0, run.stdout[-3000:]
    assert "nginx needs 43008 open files per worker" in run.stdout, run.stdout[-3000:]
    assert "no CAP_SYS_RESOURCE" in run.stdout
    assert re.search(r"nginx_worker_rlimit_nofile <= 20000", run.stdout)
    assert state_fingerprint(host) == before
