# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that build connection URLs safe for any printable secret."""

from __future__ import annotations

from urllib.parse import quote


def url_userinfo(value):
    """Percent-encode ``value`` for the user or password part of a URL: everything but RFC 3986's unreserved
    characters (A-Z a-z 0-9 - . _ ~) is encoded, ``/``, ``:``, ``@``, ``#`` and ``%`` included.

    Jinja's own ``urlencode`` keeps ``/``, which would end the authority part of a ``postgres://`` URL.
    """
    return quote(str(value), safe="")


class FilterModule:
    def filters(self):
        return {"url_userinfo": url_userinfo}
