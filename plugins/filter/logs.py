# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""chatwoot_log_excerpt: the end of a failed command's output, safe to show (documented in chatwoot_log_excerpt.yml)."""

from __future__ import annotations

import re

# NAME=value for the secret-bearing variables Chatwoot's environment holds, and user:password@ in URLs.
_SECRET_ASSIGNMENT = re.compile(r"\b([A-Z0-9_]*(?:PASSWORD|SECRET|KEY|SALT|TOKEN)[A-Z0-9_]*)=(\S+)")
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@", re.IGNORECASE)


def redact(text: str) -> str:
    text = _SECRET_ASSIGNMENT.sub(r"\1=<hidden>", text)
    return _URL_PASSWORD.sub(r"\1<hidden>@", text)


def chatwoot_log_excerpt(result, limit=2000):
    """The last ``limit`` characters of a task result's stderr (else stdout, else msg), secrets hidden."""
    if isinstance(result, dict):
        text = ""
        for key in ("stderr", "stdout", "msg"):
            value = result.get(key)
            if isinstance(value, str) and value.strip():
                text = value
                break
    else:
        text = "" if result is None else str(result)
    text = redact(text.strip())
    limit = int(limit)
    if len(text) > limit:
        text = "..." + text[-limit:]
    return text or "(no output)"


class FilterModule:
    def filters(self):
        return {"chatwoot_log_excerpt": chatwoot_log_excerpt}
