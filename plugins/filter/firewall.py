# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall role's input rules, its allow list and its lock-out guard (documented in firewall_*.yml)."""

from __future__ import annotations

import ipaddress
import re

# An interface name nft accepts in iifname "...": up to 15 characters, optionally ending in the wildcard *.
_INTERFACE = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}\*?$")


def _port_problem(name, port):
    if isinstance(port, bool) or not re.fullmatch(r"[0-9]+", str(port).strip()):
        return f"{name}: {port!r} is not a port number (an integer from 1 to 65535)"
    if not 1 <= int(str(port).strip()) <= 65535:
        return f"{name}: {port!r} is out of range (ports are 1 to 65535)"
    return None


def _network(value):
    """An ip_network for ``value`` (an address or CIDR; host bits are cleared), or None."""
    try:
        return ipaddress.ip_network(str(value).strip(), strict=False)
    except ValueError:
        return None


def firewall_problems(config):
    """Messages for every invalid value of the firewall role's input, empty when all are valid.

    ``config`` holds ssh_port, ssh_sources, http_sources, tcp_ports, udp_ports, sources and container_interfaces.
    """
    problems = []
    ports = [("firewall_ssh_port", config.get("ssh_port"))]
    ports += [("firewall_allowed_tcp_ports", p) for p in config.get("tcp_ports") or []]
    ports += [("firewall_allowed_udp_ports", p) for p in config.get("udp_ports") or []]
    problems += [msg for msg in (_port_problem(name, port) for name, port in ports) if msg]
    for name, key in (
        ("firewall_ssh_sources", "ssh_sources"),
        ("firewall_http_sources", "http_sources"),
        ("firewall_allowed_sources", "sources"),
    ):
        for value in config.get(key) or []:
            if _network(value) is None:
                problems.append(
                    f"{name}: {value!r} is not an IPv4 or IPv6 address or CIDR range "
                    "(like 203.0.113.0/24 or 2001:db8::/32)"
                )
    for value in config.get("container_interfaces") or []:
        if not _INTERFACE.match(str(value)):
            problems.append(
                f"firewall_container_interfaces: {value!r} is not an interface name (at most 15 letters, digits or "
                "_.:@-, optionally ending in *)"
            )
    return problems


def _split(sources):
    networks = [n for n in (_network(s) for s in sources or []) if n is not None]
    ipv4 = [str(n) for n in ipaddress.collapse_addresses(n for n in networks if n.version == 4)]
    ipv6 = [str(n) for n in ipaddress.collapse_addresses(n for n in networks if n.version == 6)]
    return ipv4, ipv6


def firewall_rules(config):
    """The inbound allow list: one entry per group of ports with the same sources.

    Each entry is ``{comment, proto, ports, any, ipv4, ipv6}``: ``any`` when every source is allowed, else the
    collapsed IPv4 and IPv6 networks (a family without networks is closed to those ports).
    """
    rules = []

    def add(comment, proto, ports, sources):
        ports = sorted({int(str(p).strip()) for p in ports})
        if not ports:
            return
        ipv4, ipv6 = _split(sources)
        rules.append(
            {"comment": comment, "proto": proto, "ports": ports, "any": not sources, "ipv4": ipv4, "ipv6": ipv6}
        )

    add("ssh", "tcp", [config["ssh_port"]], config.get("ssh_sources"))
    add("http and https", "tcp", [80, 443], config.get("http_sources"))
    add("extra tcp ports", "tcp", config.get("tcp_ports") or [], config.get("sources"))
    add("extra udp ports", "udp", config.get("udp_ports") or [], config.get("sources"))
    return rules


def _parse_connection(value):
    """(client address, server port) from SSH_CONNECTION ("cip cport sip sport") or SSH_CLIENT ("cip cport sport")."""
    fields = str(value or "").split()
    if len(fields) not in (3, 4):
        return None
    try:
        address = ipaddress.ip_address(fields[0].split("%", 1)[0])
        port = int(fields[-1])
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address, port


def firewall_lockout_problem(rules, connection):
    """A refusal when ``rules`` (firewall_rules) would drop the SSH connection Ansible uses, else ``""``.

    ``connection`` is the remote session's SSH_CONNECTION or SSH_CLIENT; empty (a connection other than SSH)
    means there is nothing to guard.
    """
    if not str(connection or "").strip():
        return ""
    parsed = _parse_connection(connection)
    if parsed is None:
        return (
            f"Cannot read the SSH connection Ansible uses from {connection!r} (expected SSH_CONNECTION "
            "'client-address client-port server-address server-port'); refusing to change the firewall blind."
        )
    address, port = parsed
    for rule in rules:
        if rule["proto"] != "tcp" or port not in rule["ports"]:
            continue
        if rule["any"]:
            return ""
        networks = rule["ipv4"] if address.version == 4 else rule["ipv6"]
        if any(address in ipaddress.ip_network(n) for n in networks):
            return ""
    return (
        f"The firewall would drop the SSH connection Ansible is using (from {address} to port {port} on the host), "
        "locking Ansible out. Nothing was changed. Set firewall_ssh_port to the port sshd really listens on "
        f"({port}) and make firewall_ssh_sources (empty: any source) include {address}, or allow it through "
        "firewall_allowed_tcp_ports and firewall_allowed_sources."
    )


class FilterModule:
    def filters(self):
        return {
            "firewall_problems": firewall_problems,
            "firewall_rules": firewall_rules,
            "firewall_lockout_problem": firewall_lockout_problem,
        }
