# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the nginx role: header spellings an app server folds together, whether a certificate
on disk is the one the configured TLS mode and names call for, and the request body limit."""

from __future__ import annotations

import math
import re
from itertools import product

from ansible.errors import AnsibleFilterError

_SIZE = re.compile(r"^([0-9]+)([kKmMgG]?)$")
_SIZE_FACTORS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def header_spellings(names):
    """Every spelling of each header name that an app server reads as the same header.

    Puma (like CGI) turns a header name into an environment key by upper-casing it and turning ``-`` into
    ``_``, and takes ``_`` as it is, so ``X_Forwarded_For`` and ``X-Forwarded_For`` both land in
    ``HTTP_X_FORWARDED_FOR``. nginx (with ``underscores_in_headers on``, which Chatwoot's ``api_access_token``
    header needs) passes them on as distinct headers, and ``proxy_set_header`` replaces only the exact
    (case-insensitive) name. Returns, per name and in order, the name itself then its other spellings;
    no duplicates.
    """
    seen = []
    for name in names:
        parts = str(name).replace("_", "-").split("-")
        for separators in product("-_", repeat=len(parts) - 1):
            spelling = parts[0] + "".join(sep + part for sep, part in zip(separators, parts[1:], strict=True))
            if spelling.lower() not in (s.lower() for s in seen):
                seen.append(spelling)
    return seen


def certificate_problems(info, names):
    """Why the certificate described by ``info`` (community.crypto.x509_certificate_info's result) does not
    fit an ACME certificate for ``names``; empty when it fits.

    A self-signed certificate (the selfsigned mode's, left at the same path) and one whose DNS names differ
    from the configured names (a name added or removed) both call for a new order at once, whatever their
    remaining validity.
    """
    problems = []
    sans = sorted({entry[4:].lower() for entry in info.get("subject_alt_name") or [] if entry.startswith("DNS:")})
    wanted = sorted({str(name).lower() for name in names})
    if sans != wanted:
        problems.append(f"it names {', '.join(sans) or 'nothing'}, the configuration {', '.join(wanted)}")
    issuer = info.get("issuer_ordered", info.get("issuer"))
    if issuer and issuer == info.get("subject_ordered", info.get("subject")):
        problems.append("it is self-signed, not issued by the ACME CA")
    if info.get("expired"):
        problems.append("it has expired")
    return problems


def nginx_body_size(size, app_max_upload_mb):
    """nginx's ``client_max_body_size`` for an explicit ``size`` (``64m``, ``0``, or empty) and Chatwoot's
    upload limit in MiB.

    Returns ``derived`` (above Chatwoot's own limit, so that Chatwoot and not nginx's bare 413 answers a file
    that is too large: a quarter more plus 1 MiB for the multipart framing and the other form fields),
    ``value`` (``size`` when given, else ``derived``) and ``bytes`` (``size`` in bytes; 0 when empty or 0).
    """
    size = str(size or "").strip()
    try:
        upload_mb = int(app_max_upload_mb)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"nginx_body_size: the upload limit {app_max_upload_mb!r} is not a number") from exc
    derived = f"{math.ceil(upload_mb * 1.25) + 1}m"
    if not size:
        return {"derived": derived, "value": derived, "bytes": 0}
    match = _SIZE.match(size)
    if not match:
        raise AnsibleFilterError(f"nginx_body_size: {size!r} is not an nginx size like 64m, 512k, 1g or 0")
    return {
        "derived": derived,
        "value": size,
        "bytes": int(match.group(1)) * _SIZE_FACTORS[match.group(2).lower()],
    }


class FilterModule:
    def filters(self):
        return {
            "header_spellings": header_spellings,
            "certificate_problems": certificate_problems,
            "nginx_body_size": nginx_body_size,
        }
