# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Chatwoot's input rules as filters (documented in chatwoot_input_problems.yml; logic in _chatwoot_rules.py)."""

from __future__ import annotations

from ansible_collections.selfhost.chatwoot.plugins.module_utils._chatwoot_rules import input_problems


def chatwoot_input_problems(admin_email, admin_password="", inboxes=None, version=None):
    """What Chatwoot ``version`` would refuse among the app role's inputs: a list of messages, empty when none."""
    return input_problems(admin_email, admin_password, inboxes, version)


class FilterModule:
    def filters(self):
        return {"chatwoot_input_problems": chatwoot_input_problems}
