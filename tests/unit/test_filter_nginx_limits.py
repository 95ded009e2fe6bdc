"""nginx_limits and nginx_nofile_problem: nginx sized for the expected WebSockets, and refused where the host
cannot give it the open files."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.selfhost.chatwoot.plugins.filter.nginx_limits import (
    FilterModule,
    nginx_limits,
    nginx_nofile_problem,
)

# /proc/1/limits and /proc/1/status as a KVM VPS (systemd with every capability) and a container without
# CAP_SYS_RESOURCE (bit 24) show them.
HEADER = "Limit                     Soft Limit           Hard Limit           Units     \n"
LIMITS_VPS = HEADER + "Max open files            1024                 524288               files     \n"
LIMITS_LAB = HEADER + "Max open files            20000                20000                files     \n"
STATUS_ALL_CAPS = "Name:\tsystemd\nCapEff:\t000001ffffffffff\n"
STATUS_NO_SYS_RESOURCE = "Name:\tsystemd\nCapEff:\t0000003ffeffffff\n"


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"nginx_limits", "nginx_nofile_problem"}


@pytest.mark.parametrize(
    ("sockets", "workers", "cpus"),
    [(10000, "auto", 2), (10000, "auto", 1), (10000, "4", 2), (100000, "auto", 8), (10, "auto", 64)],
)
def test_by_default_every_worker_can_hold_every_socket(sockets, workers, cpus):
    # Measured: one of four workers held 2.1 times its even share; the kernel promises no spread.
    limits = nginx_limits(sockets, workers, cpus)
    assert limits["workers"] == (int(workers) if workers != "auto" else cpus)
    connections = limits["worker_connections"]
    assert connections % 1024 == 0
    assert connections >= 2 * sockets + 1024
    assert connections < 2 * sockets + 2048
    assert limits["worker_rlimit_nofile"] == limits["limit_nofile"] == 2 * connections


@pytest.mark.parametrize(
    ("sockets", "workers", "imbalance", "connections"),
    [
        (10000, 4, 1.5, 9216),  # 2 x 3750 + 1024 -> 9216 (what the lab benchmark used, below its 20000 files)
        (10000, 2, 1.5, 16384),
        (10000, 2, 5, 21504),  # never more than all the sockets
        (0, 1, 0, 1024),  # never below 1024
    ],
)
def test_an_explicit_imbalance_sizes_for_that_share(sockets, workers, imbalance, connections):
    assert nginx_limits(sockets, workers, imbalance=imbalance)["worker_connections"] == connections


def test_explicit_values_win():
    limits = nginx_limits(10000, "auto", 2, worker_connections=8192, worker_rlimit_nofile=16384)
    explicit = (limits["worker_connections"], limits["worker_rlimit_nofile"], limits["limit_nofile"])
    assert explicit == (8192, 16384, 16384)
    only_connections = nginx_limits(10000, "auto", 2, worker_connections=4096)
    assert only_connections["worker_rlimit_nofile"] == 8192


def test_an_explicit_rlimit_below_twice_the_connections_is_left_to_the_role_validation():
    # validate.yml's assert names both options; the filter returns the values it was given.
    limits = nginx_limits(10000, "auto", 2, worker_rlimit_nofile=1000)
    assert limits["worker_rlimit_nofile"] == 1000
    assert limits["worker_connections"] == 21504


@pytest.mark.parametrize(
    ("sockets", "current", "expected"),
    [
        (10000, 4096, 4096),
        (10000, 128, 4096),  # an old kernel's default is raised
        (100000, 4096, 16384),  # 12500 -> next power of two
        (1000000, 4096, 65535),
        (10000, 65535, 65535),  # never lowered
        (10000, 0, 4096),  # unknown current value
    ],
)
def test_somaxconn_is_raised_never_lowered(sockets, current, expected):
    assert nginx_limits(sockets, "auto", 2, current_somaxconn=current)["somaxconn"] == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1,), "expected WebSockets must be at least 0"),
        (("many",), "expected WebSockets must be an integer"),
        ((100, "0"), "worker_processes must be at least 1"),
        ((100, "lots"), "worker_processes must be an integer"),
        ((100, "auto", 2, -5), "worker_connections must be at least 0"),
        ((100, "auto", 2, 0, 0, 0, 0.5), "imbalance must be at least 1"),
    ],
)
def test_bad_input_is_named(args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        nginx_limits(*args)


def test_a_vps_with_every_capability_can_raise_its_limit():
    assert nginx_nofile_problem(32768, LIMITS_VPS, STATUS_ALL_CAPS, "1048576\n") == ""
    # Above its own hard limit, too: systemd may raise it with CAP_SYS_RESOURCE.
    assert nginx_nofile_problem(600000, LIMITS_VPS, STATUS_ALL_CAPS, "1048576\n") == ""


def test_a_container_cannot_go_above_its_hard_limit():
    assert nginx_nofile_problem(18432, LIMITS_LAB, STATUS_NO_SYS_RESOURCE, "1048576") == ""
    assert nginx_nofile_problem(20000, LIMITS_LAB, STATUS_NO_SYS_RESOURCE, "1048576") == ""
    problem = nginx_nofile_problem(32768, LIMITS_LAB, STATUS_NO_SYS_RESOURCE, "1048576")
    assert "32768 open files" in problem
    assert "hard limit of 20000" in problem
    assert "CAP_SYS_RESOURCE" in problem
    assert "nginx_expected_websockets" in problem
    assert "nginx_worker_rlimit_nofile <= 20000" in problem
    assert "nginx_worker_connections <= 10000" in problem


def test_nobody_goes_above_nr_open():
    problem = nginx_nofile_problem(2000000, LIMITS_VPS, STATUS_ALL_CAPS, "1048576")
    assert "at most 1048576 (fs.nr_open)" in problem


def test_unlimited_and_unreadable_values():
    unlimited = "Max open files            unlimited            unlimited            files\n"
    assert nginx_nofile_problem(32768, unlimited, STATUS_NO_SYS_RESOURCE, "1048576") == ""
    assert nginx_nofile_problem(32768, "", "", "") == ""  # unknown: left to systemd
