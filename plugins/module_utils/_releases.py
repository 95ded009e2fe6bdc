# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Chatwoot releases this collection supports, and the rules that follow from them.

One home for: which releases are supported (docs/compatibility.md explains each row and its source), the
default pin, the tag forms the image is published under, and version comparisons (supported range,
downgrades, per-release features). Pure functions, unit-tested in tests/unit/test_releases.py.
"""

from __future__ import annotations

import re

# Oldest and newest supported release (inclusive). The newest is the default pin of the app role.
# v4.17.0 and v4.18.0 exist upstream, but their code could not be read (docs/compatibility.md), so they are
# not claimed.
SUPPORTED_MIN = (4, 10, 0)
SUPPORTED_MAX_MINOR = (4, 16)
NEWEST = "v4.16.2"
# The path an upgrade takes from the oldest supported release to the newest: at most two minors per step,
# each the newest patch of its minor (docs/compatibility.md, "Stepping stones").
STEPPING_STONES = ("v4.10.1", "v4.12.1", "v4.14.2", NEWEST)
# Tags upstream fixed within days; refused like unsupported ones (docs/compatibility.md, "Known bad tags").
KNOWN_BAD = {
    (4, 14, 0): "no way to allow private-network webhooks (fixed in v4.14.1); empty message history reported "
    "(chatwoot/chatwoot#14541)",
    (4, 15, 0): "reverted the same day by v4.15.1",
    (4, 16, 0): "token-authenticated agent_bots, labels and Captain APIs answer 500 (fixed in v4.16.1, #15088)",
}
# The override a person who knows what they are doing sets to deploy a release outside that range.
OVERRIDE_VARIABLE = "app_allow_unsupported_version"
# Lets an upgrade go further than the next stepping stone.
JUMP_OVERRIDE_VARIABLE = "app_allow_version_jump"

# Per-release facts a host must act on (docs/compatibility.md, "What changes between releases").
HEALTH_ROUTE_SINCE = (4, 11, 0)  # GET /health, chatwoot/chatwoot#13386
SIGNUP_BOOLEAN_SINCE = (4, 12, 0)  # boolean false blocks sign-up, chatwoot/chatwoot#13745

# Chatwoot publishes vX.Y.Z and vX.Y.Z-ce (and latest, latest-ce, which this collection refuses).
_TAG = re.compile(r"\Av?(\d+)\.(\d+)\.(\d+)(-ce)?\Z")


def parse_version(tag) -> tuple:
    """``(major, minor, patch)`` of a tag such as ``v4.10.1``, ``4.10.1`` or ``v4.10.1-ce``.

    Raises ValueError naming the accepted forms for anything else (``latest`` included: it resolves to
    whatever is newest on the day of the pull, chatwoot/chatwoot#11614).
    """
    match = _TAG.match(str(tag).strip())
    if not match:
        raise ValueError(
            f"{tag!r} is not a Chatwoot release tag; use vX.Y.Z or vX.Y.Z-ce (for example {NEWEST}), "
            "never latest: it moves to unplanned releases"
        )
    return tuple(int(part) for part in match.groups()[:3])


def version_string(tag) -> str:
    """``X.Y.Z`` as Chatwoot's ``/api`` reports it, for any accepted tag form."""
    return ".".join(str(part) for part in parse_version(tag))


def same_version(left, right) -> bool:
    """Whether two tags or reported versions name the same release (``v4.10.1-ce`` == ``4.10.1``)."""
    try:
        return parse_version(left) == parse_version(right)
    except ValueError:
        return str(left).strip() == str(right).strip()


def at_least(tag, since: tuple) -> bool:
    return parse_version(tag) >= since


def next_stepping_stone(current) -> str:
    """The stepping stone after ``current`` (the newest release when ``current`` is past the last one)."""
    version = parse_version(current)
    for stone in STEPPING_STONES:
        if parse_version(stone) > version:
            return stone
    return NEWEST


def supported_range() -> str:
    return f"v{'.'.join(map(str, SUPPORTED_MIN))} to v{SUPPORTED_MAX_MINOR[0]}.{SUPPORTED_MAX_MINOR[1]}.x"


def version_problems(tag, allow_unsupported: bool = False) -> list:
    """Why ``tag`` cannot be deployed (empty when it can)."""
    try:
        version = parse_version(tag)
    except ValueError as exc:
        return [str(exc)]
    if allow_unsupported:
        return []
    if version < SUPPORTED_MIN or version[:2] > SUPPORTED_MAX_MINOR:
        return [
            f"Chatwoot {tag} is outside the supported releases {supported_range()} (docs/compatibility.md). "
            f"Pin a supported release, or set {OVERRIDE_VARIABLE}: true if you have checked that release's "
            "host requirements yourself."
        ]
    if version in KNOWN_BAD:
        return [
            f"Chatwoot {tag} is a known bad release: {KNOWN_BAD[version]}. Pin the next patch of "
            f"v{version[0]}.{version[1]} (docs/compatibility.md), or set {OVERRIDE_VARIABLE}: true to deploy it anyway."
        ]
    return []


def downgrade_problem(current, new) -> str:
    """A message when going from ``current`` to ``new`` is a downgrade, else ''.

    Migrations are not reversible by re-deploying an older image: an older Chatwoot on a newer schema is
    not supported upstream. Going back means restoring a backup taken on that version.
    """
    if not current:
        return ""
    try:
        old, target = parse_version(current), parse_version(new)
    except ValueError:
        return ""
    if target >= old:
        return ""
    return (
        f"Refusing to downgrade Chatwoot from {current} to {new}: the database was migrated by {current} and "
        f"{new} does not know its schema. To go back, restore a backup taken on {new} (playbooks/restore.yml "
        f"once backups exist), or pin {current} or newer."
    )


def furthest_upgrade(current) -> tuple:
    """The newest (major, minor) an upgrade from ``current`` may go to in one step.

    That is the minor of the next stepping stone; when ``current`` is an earlier patch of that stone's minor
    (v4.10.0 before the stone v4.10.1), the stone after it.
    """
    version = parse_version(current)
    stone = next_stepping_stone(current)
    if parse_version(stone)[:2] == version[:2]:
        stone = next_stepping_stone(stone)
    return parse_version(stone)[:2]


def jump_problem(current, new) -> str:
    """A message when going from ``current`` to ``new`` skips a stepping stone, else ''."""
    if not current:
        return ""
    try:
        old, target = parse_version(current), parse_version(new)
        limit = furthest_upgrade(current)
    except ValueError:
        return ""
    if target <= old or target[:2] <= limit:
        return ""
    stone = next_stepping_stone(current)
    if parse_version(stone)[:2] == old[:2]:
        stone = next_stepping_stone(stone)
    return (
        f"Refusing to upgrade Chatwoot from {current} straight to {new}: that skips the stepping stone {stone} "
        f'(docs/compatibility.md, "Stepping stones"; long jumps are where upstream migrations fail part-way). '
        f"Pin {stone}, run the playbook, then pin the next stone. Set {JUMP_OVERRIDE_VARIABLE}: true to jump "
        "anyway (the pre-upgrade backup, the rehearsal and the rollback still protect the data)."
    )


def schema_downgrade_problem(database_version, image_version, image: str) -> str:
    """A message when the database's newest migration is newer than every migration ``image`` ships."""
    try:
        database, shipped = int(str(database_version).strip() or 0), int(str(image_version).strip() or 0)
    except ValueError:
        return ""
    if not database or not shipped or database <= shipped:
        return ""
    return (
        f"Refusing to deploy {image}: the database's newest migration ({database}) is newer than every migration "
        f"that image ships (newest {shipped}), so it is older than the Chatwoot that last migrated this database. "
        "Pin that newer release again, or restore a backup taken on the release you want to run."
    )
