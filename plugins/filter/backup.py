# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter for the backup role: how restored row counts differ from the snapshot's manifest."""

from __future__ import annotations

ABSENT = "absent"


def row_count_mismatch(then, now):
    """``table: then -> now`` for every table whose row count differs between ``then`` (the manifest's
    ``row_counts``) and ``now`` (the restored database's); a table missing on one side counts as ``absent``.
    Sorted by table name; empty when all agree."""
    then = then or {}
    now = now or {}
    return [
        f"{table}: {then.get(table, ABSENT)} -> {now.get(table, ABSENT)}"
        for table in sorted(set(then) | set(now))
        if then.get(table, ABSENT) != now.get(table, ABSENT)
    ]


class FilterModule:
    def filters(self):
        return {"row_count_mismatch": row_count_mismatch}
