# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The dotenv_quote filter (documented in dotenv_quote.yml; logic in module_utils/_project.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.selfhost.chatwoot.plugins.module_utils._project import dotenv_quote as _dotenv_quote


def dotenv_quote(value):
    """``value`` quoted for a compose ``.env`` (module_utils._project.dotenv_quote)."""
    try:
        return _dotenv_quote(value)
    except ValueError as exc:
        raise AnsibleFilterError(f"dotenv_quote: {exc}") from None


class FilterModule:
    def filters(self):
        return {"dotenv_quote": dotenv_quote}
