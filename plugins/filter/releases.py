# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the supported Chatwoot releases (logic in module_utils/_releases.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.selfhost.chatwoot.plugins.module_utils import _releases


def chatwoot_version(tag):
    """``X.Y.Z`` for a release tag (``v4.10.1-ce`` -> ``4.10.1``)."""
    try:
        return _releases.version_string(tag)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def chatwoot_at_least(tag, since):
    """Whether the release ``tag`` is ``since`` (a tag) or newer."""
    try:
        return _releases.parse_version(tag) >= _releases.parse_version(since)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def chatwoot_next_stepping_stone(tag):
    """The release an upgrade from ``tag`` should go to next (docs/compatibility.md, "Stepping stones")."""
    try:
        return _releases.next_stepping_stone(tag)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def chatwoot_version_problems(tag, allow_unsupported=False):
    """Why ``tag`` cannot be deployed: a list of messages, empty when it can."""
    return _releases.version_problems(tag, bool(allow_unsupported))


def chatwoot_downgrade_problem(new, current):
    """A message when deploying ``new`` over a database last migrated by ``current`` is a downgrade, else ''."""
    return _releases.downgrade_problem(current, new)


def chatwoot_jump_problem(new, current):
    """A message when upgrading from ``current`` to ``new`` skips a stepping stone, else ''."""
    return _releases.jump_problem(current, new)


def chatwoot_schema_downgrade_problem(image, database_version, image_version):
    """A message when the database's newest migration is newer than every migration ``image`` ships, else ''."""
    return _releases.schema_downgrade_problem(database_version, image_version, image)


class FilterModule:
    def filters(self):
        return {
            "chatwoot_version": chatwoot_version,
            "chatwoot_at_least": chatwoot_at_least,
            "chatwoot_next_stepping_stone": chatwoot_next_stepping_stone,
            "chatwoot_version_problems": chatwoot_version_problems,
            "chatwoot_downgrade_problem": chatwoot_downgrade_problem,
            "chatwoot_schema_downgrade_problem": chatwoot_schema_downgrade_problem,
            "chatwoot_jump_problem": chatwoot_jump_problem,
        }
