"""A real client for the lab VPS's Nginx: HTTPS from the controller to the VPS's network address.

Requests from inside the VPS come from loopback (safelisted by Chatwoot) or, through an inner Docker
bridge address, get masqueraded; Nginx takes no client-supplied address. A request from the controller
arrives like one from the Internet, from the Docker network's gateway address, which it reports.
"""

from __future__ import annotations

import http.client
import socket
import ssl

DOMAIN = "chatwoot.lab.test"


def vps_address(host) -> str:
    """The VPS's address on its own network (eth0), where the controller reaches it."""
    out = host.check_output("ip -4 -o addr show dev eth0").split()
    return out[out.index("inet") + 1].split("/")[0]


def https_from_outside(host, cert_path: str, path: str, headers: dict | None = None, method: str = "GET", body=None):
    """(status, {lower-case header: [values]}, client address) of one request, certificate and name verified."""
    context = ssl.create_default_context(cadata=host.file(cert_path).content_string)
    raw = socket.create_connection((vps_address(host), 443), timeout=30)
    connection = http.client.HTTPSConnection(DOMAIN, 443, context=context, timeout=30)
    connection.sock = context.wrap_socket(raw, server_hostname=DOMAIN)
    try:
        source = connection.sock.getsockname()[0]
        connection.request(method, path, body=body, headers={"Host": DOMAIN, **(headers or {})})
        response = connection.getresponse()
        response.read()
        found: dict[str, list[str]] = {}
        for key, value in response.getheaders():
            found.setdefault(key.lower(), []).append(value)
        return response.status, found, source
    finally:
        connection.close()
