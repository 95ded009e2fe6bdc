"""The firewall role's filters: input problems, the allow list, and the lock-out guard."""

from __future__ import annotations

import pytest

from ansible_collections.selfhost.chatwoot.plugins.filter.firewall import (
    firewall_lockout_problem,
    firewall_problems,
    firewall_rules,
)

DEFAULTS = {
    "ssh_port": 22,
    "ssh_sources": [],
    "http_sources": [],
    "tcp_ports": [],
    "udp_ports": [],
    "sources": [],
    "container_interfaces": ["docker0", "br-*"],
}


def config(**changes):
    return {**DEFAULTS, **changes}


def test_defaults_are_valid_and_open_ssh_http_https_to_everyone():
    assert firewall_problems(DEFAULTS) == []
    assert [(r["proto"], r["ports"], r["any"]) for r in firewall_rules(DEFAULTS)] == [
        ("tcp", [22], True),
        ("tcp", [80, 443], True),
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ssh_port": 0}, "firewall_ssh_port: 0 is out of range"),
        ({"ssh_port": 65536}, "firewall_ssh_port: 65536 is out of range"),
        ({"tcp_ports": [80, "http"]}, "firewall_allowed_tcp_ports: 'http' is not a port number"),
        ({"udp_ports": [True]}, "firewall_allowed_udp_ports: True is not a port number"),
        ({"udp_ports": [-1]}, "firewall_allowed_udp_ports: -1 is not a port number"),
        ({"ssh_sources": ["10.0.0.300/8"]}, "firewall_ssh_sources: '10.0.0.300/8' is not an IPv4 or IPv6"),
        ({"http_sources": ["2001:db8::/129"]}, "firewall_http_sources: '2001:db8::/129' is not"),
        ({"sources": ["example.com"]}, "firewall_allowed_sources: 'example.com' is not"),
        ({"container_interfaces": ['br"; drop']}, "firewall_container_interfaces: 'br\"; drop' is not"),
        ({"container_interfaces": ["a-very-long-interface"]}, "is not an interface name"),
    ],
)
def test_bad_input_is_named(changes, message):
    problems = firewall_problems(config(**changes))
    assert len(problems) == 1 and message in problems[0], problems


def test_every_problem_is_reported_at_once():
    assert len(firewall_problems(config(ssh_port=0, tcp_ports=[70000], sources=["x"]))) == 3


def test_ports_and_strings_of_ports_are_accepted_and_sorted_once():
    cfg = config(ssh_port="2222", tcp_ports=["8443", 8443, 25], udp_ports=[51820])
    assert firewall_problems(cfg) == []
    rules = {r["comment"]: r for r in firewall_rules(cfg)}
    assert rules["ssh"]["ports"] == [2222]
    assert rules["extra tcp ports"]["ports"] == [25, 8443]
    assert rules["extra udp ports"]["proto"] == "udp"


def test_sources_are_split_by_family_collapsed_and_host_bits_cleared():
    cfg = config(ssh_sources=["10.0.0.1/8", "10.2.0.0/16", "192.0.2.7", "2001:db8::1/32", "::ffff:0:0/96"])
    ssh = firewall_rules(cfg)[0]
    assert ssh["any"] is False
    assert ssh["ipv4"] == ["10.0.0.0/8", "192.0.2.7/32"]
    assert ssh["ipv6"] == ["::ffff:0:0/96", "2001:db8::/32"]


def test_only_ipv4_sources_close_the_port_over_ipv6():
    ssh = firewall_rules(config(ssh_sources=["198.51.100.0/24"]))[0]
    assert (ssh["any"], ssh["ipv6"]) == (False, [])


def test_no_extra_rules_without_extra_ports():
    assert [r["comment"] for r in firewall_rules(config(sources=["10.0.0.0/8"]))] == ["ssh", "http and https"]


@pytest.mark.parametrize("connection", ["", "   ", None])
def test_without_ssh_there_is_nothing_to_guard(connection):
    assert firewall_lockout_problem(firewall_rules(config(ssh_port=2222)), connection) == ""


@pytest.mark.parametrize(
    ("changes", "connection"),
    [
        ({}, "203.0.113.9 50022 192.0.2.1 22"),
        ({"ssh_sources": ["203.0.113.0/24"]}, "203.0.113.9 50022 192.0.2.1 22"),
        ({"ssh_sources": ["2001:db8::/32"]}, "2001:db8::5 50022 2001:db8::1 22"),
        ({"ssh_sources": ["203.0.113.0/24"]}, "::ffff:203.0.113.9 50022 ::ffff:192.0.2.1 22"),
        ({"ssh_port": 2222}, "203.0.113.9 50022 2222"),  # SSH_CLIENT: client, client port, server port
        ({"tcp_ports": [2222], "sources": ["203.0.113.9"]}, "203.0.113.9 50022 192.0.2.1 2222"),
        ({"http_sources": ["198.51.100.0/24"]}, "203.0.113.9 50022 192.0.2.1 22"),
        ({}, "fe80::1%eth0 50022 fe80::2%eth0 22"),
    ],
)
def test_rules_that_keep_the_session_open_pass(changes, connection):
    assert firewall_lockout_problem(firewall_rules(config(**changes)), connection) == ""


@pytest.mark.parametrize(
    ("changes", "connection", "words"),
    [
        ({"ssh_port": 2222}, "203.0.113.9 50022 192.0.2.1 22", ["to port 22", "firewall_ssh_port"]),
        ({"ssh_sources": ["198.51.100.0/24"]}, "203.0.113.9 50022 192.0.2.1 22", ["from 203.0.113.9", "include"]),
        ({"ssh_sources": ["198.51.100.0/24"]}, "2001:db8::5 50022 2001:db8::1 22", ["from 2001:db8::5"]),
        ({"udp_ports": [2222]}, "203.0.113.9 50022 192.0.2.1 2222", ["to port 2222"]),
    ],
)
def test_rules_that_would_drop_the_session_are_refused(changes, connection, words):
    problem = firewall_lockout_problem(firewall_rules(config(**changes)), connection)
    assert problem.startswith("The firewall would drop the SSH connection Ansible is using"), problem
    assert "Nothing was changed" in problem
    for word in words:
        assert word in problem


@pytest.mark.parametrize("connection", ["garbage", "1.2.3.4 5 6 7 8", "300.1.1.1 1 2.2.2.2 22", "1.2.3.4 1 2 x"])
def test_an_unreadable_connection_is_refused_rather_than_guessed(connection):
    assert "Cannot read the SSH connection" in firewall_lockout_problem(firewall_rules(DEFAULTS), connection)
