# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Size nginx's per-worker connection and descriptor limits for an expected number of WebSockets."""

from __future__ import annotations

import math

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: nginx_limits
short_description: Size nginx's worker_connections, worker_rlimit_nofile, LimitNOFILE and somaxconn for WebSockets
version_added: 0.1.0
author:
  - selfhost.chatwoot contributors (@selfhost)
description:
  - Every WebSocket proxied by nginx is two connections of one worker (client and upstream), each one open file.
    Connections are not spread evenly over the workers (without C(reuseport) the kernel wakes one waiting worker,
    and a lightly loaded nginx gives most new connections to the same few; bench/websocket_capacity.py measured
    one of four workers holding 2.1 times its even share), so by default each worker is sized for all the sockets
    (O(imbalance) = the number of workers). Unused connection slots cost a few hundred bytes each.
  - "C(worker_connections) = 2 * min(O(_input), ceil(O(_input) * O(imbalance) / workers)) + O(headroom)
    (ordinary requests, the upstream keepalive), rounded up to a multiple of 1024, at least 1024, unless
    O(worker_connections) is given (non-zero)."
  - C(worker_rlimit_nofile) = 2 * C(worker_connections) unless O(worker_rlimit_nofile) is given (non-zero);
    the role's validation refuses an explicit value below twice C(worker_connections).
  - C(limit_nofile) (systemd C(LimitNOFILE) of C(nginx.service)) = C(worker_rlimit_nofile), so that nginx starts
    with a hard limit its workers may raise their own limit to even without CAP_SYS_RESOURCE.
  - C(somaxconn) (C(net.core.somaxconn)) = the larger of O(current_somaxconn) and
    max(4096, O(_input) / 8 rounded up to a power of two, at most 65535); never below the current value.
  - C(workers) is O(worker_processes), or O(cpus) when it is C(auto).
positional: worker_processes, cpus
options:
  _input:
    description: The expected number of concurrent WebSockets (ActionCable connections) through nginx.
    type: int
    required: true
  worker_processes:
    description: nginx's C(worker_processes), a positive number or C(auto).
    type: raw
    default: auto
  cpus:
    description: The CPUs C(auto) starts one worker for (C(ansible_facts.processor_nproc)); unknown is 1.
    type: int
    default: 1
  worker_connections:
    description: An explicit C(worker_connections); 0 derives it.
    type: int
    default: 0
  worker_rlimit_nofile:
    description: An explicit C(worker_rlimit_nofile); 0 derives it.
    type: int
    default: 0
  current_somaxconn:
    description: The host's current C(net.core.somaxconn) (0 when unknown).
    type: int
    default: 0
  imbalance:
    description: How many times its even share of the sockets one worker is sized for; 0 is the number of workers
      (each worker may hold them all).
    type: float
    default: 0
  headroom:
    description: Connections per worker beyond the WebSockets.
    type: int
    default: 1024
"""

EXAMPLES = r"""
# roles/nginx/vars/main.yml
__nginx_limits: >-
  {{ __nginx_expected_websockets | selfhost.chatwoot.nginx_limits(nginx_worker_processes,
     ansible_facts.processor_nproc | default(1), worker_connections=__nginx_worker_connections,
     worker_rlimit_nofile=__nginx_worker_rlimit_nofile) }}
# 10000 sockets: worker_connections 21504, worker_rlimit_nofile 43008, limit_nofile 43008, somaxconn 4096.
"""

RETURN = r"""
_value:
  description: C(workers), C(worker_connections), C(worker_rlimit_nofile), C(limit_nofile), C(somaxconn) (ints).
  type: dict
"""

SOMAXCONN_FLOOR = 4096
SOMAXCONN_CEILING = 65535


def _int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise AnsibleFilterError(f"nginx_limits: {name} must be an integer, got {value!r}") from None
    if value < minimum:
        raise AnsibleFilterError(f"nginx_limits: {name} must be at least {minimum}, got {value}")
    return value


def _round_up(value, step):
    return -(-value // step) * step


def nginx_limits(
    expected_websockets,
    worker_processes="auto",
    cpus=1,
    worker_connections=0,
    worker_rlimit_nofile=0,
    current_somaxconn=0,
    imbalance=0,
    headroom=1024,
):
    """The nginx limits for ``expected_websockets`` concurrent WebSockets (see DOCUMENTATION)."""
    sockets = _int("the expected WebSockets", expected_websockets, 0)
    if str(worker_processes).strip() == "auto":
        workers = _int("cpus", cpus or 1, 1)
    else:
        workers = _int("worker_processes", worker_processes, 1)
    explicit_connections = _int("worker_connections", worker_connections, 0)
    explicit_rlimit = _int("worker_rlimit_nofile", worker_rlimit_nofile, 0)
    current = _int("current_somaxconn", current_somaxconn or 0, 0)
    headroom = _int("headroom", headroom, 0)
    imbalance = float(imbalance) or float(workers)
    if math.isnan(imbalance) or imbalance < 1:
        raise AnsibleFilterError(f"nginx_limits: imbalance must be at least 1, got {imbalance}")

    per_worker = min(sockets, math.ceil(sockets * imbalance / workers))
    derived = max(1024, _round_up(2 * per_worker + headroom, 1024))
    connections = explicit_connections or derived
    rlimit = explicit_rlimit or 2 * connections
    wanted = min(SOMAXCONN_CEILING, max(SOMAXCONN_FLOOR, 1 << max(0, math.ceil(sockets / 8) - 1).bit_length()))
    return {
        "workers": workers,
        "worker_connections": connections,
        "worker_rlimit_nofile": rlimit,
        "limit_nofile": rlimit,
        "somaxconn": max(current, wanted),
    }


CAP_SYS_RESOURCE = 24


def _proc_field(text, label):
    for line in str(text).splitlines():
        if line.startswith(label):
            return line[len(label) :].split()
    return []


def nginx_nofile_problem(limit_nofile, proc1_limits, proc1_status, nr_open):
    """Why systemd cannot give nginx.service ``limit_nofile`` open files on this host ('' when it can).

    ``proc1_limits`` and ``proc1_status`` are /proc/1/limits and /proc/1/status (systemd, which applies
    LimitNOFILE), ``nr_open`` is /proc/sys/fs/nr_open. Without CAP_SYS_RESOURCE (a container or a container
    VPS) systemd cannot raise a service above its own hard limit: it clamps LimitNOFILE, and the workers'
    setrlimit to worker_rlimit_nofile fails, so nginx would run with fewer connections than it was sized for.
    """
    wanted = _int("limit_nofile", limit_nofile, 0)
    ceiling = _int("nr_open", str(nr_open).strip() or 0, 0)
    if ceiling and wanted > ceiling:
        return (
            f"nginx needs {wanted} open files per worker but the kernel allows at most {ceiling} (fs.nr_open); "
            "lower nginx_expected_websockets, or raise fs.nr_open first"
        )
    hard = _proc_field(proc1_limits, "Max open files")
    caps = _proc_field(proc1_status, "CapEff:")
    if len(hard) < 2 or not caps:
        return ""  # unknown: systemd decides
    hard_limit = ceiling if hard[1] == "unlimited" else int(hard[1])
    can_raise = bool(int(caps[0], 16) >> CAP_SYS_RESOURCE & 1)
    if wanted > hard_limit and not can_raise:
        return (
            f"nginx needs {wanted} open files per worker (worker_rlimit_nofile, systemd LimitNOFILE) but this host's "
            f"init has a hard limit of {hard_limit} and no CAP_SYS_RESOURCE to raise it (a container or container "
            f"VPS): lower nginx_expected_websockets, or set "
            f"nginx_worker_rlimit_nofile <= {hard_limit} and nginx_worker_connections <= {hard_limit // 2}, or raise "
            "the container's open-files limit on its host"
        )
    return ""


class FilterModule:
    def filters(self):
        return {"nginx_limits": nginx_limits, "nginx_nofile_problem": nginx_nofile_problem}
