# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which value each of the app role's secrets takes: the vault one, else the kept one, else a new one."""

from __future__ import annotations

import secrets as _random
import string

from ansible.errors import AnsibleFilterError

# secrets.json key holding the passwords the servers had before a change that is not applied yet.
PREVIOUS = "_previous"
ALPHABET = string.ascii_letters + string.digits


def _new_value(length):
    return "".join(_random.choice(ALPHABET) for _position in range(int(length)))


def chatwoot_secrets(kept, given, rotate=None, servers=None, lengths=None, default_length=32):
    """Choose every secret and say which server passwords change.

    ``kept`` is secrets.json (an empty dict when there is none), ``given`` maps each secret to its inventory
    (vault) value, empty when unset. A given value wins, else the kept one, else a new random one; a name in
    ``rotate`` gets a new random value (refused when the inventory sets it). For the names in ``servers``
    (passwords that PostgreSQL and Redis also hold), ``previous`` maps each one whose value changes to the
    value the server still has: the kept one, or the one a change that did not finish left in
    ``kept['_previous']``.
    """
    if not isinstance(kept, dict) or not isinstance(given, dict):
        raise AnsibleFilterError("chatwoot_secrets: kept and given must be dictionaries")
    rotate = list(rotate or [])
    servers = list(servers or [])
    lengths = dict(lengths or {})
    unknown = sorted(set(rotate) - set(given))
    if unknown:
        raise AnsibleFilterError(f"chatwoot_secrets: no such secret to rotate: {', '.join(unknown)}")
    from_inventory = [name for name in rotate if str(given[name] or "")]
    if from_inventory:
        raise AnsibleFilterError(
            f"Refusing to rotate {', '.join(from_inventory)}: the inventory (vault) sets it. Change it in the "
            "vault and re-run site.yml; that applies it the same way. Nothing was changed."
        )
    chosen = {}
    for name, value in given.items():
        value = str(value or "")
        if name in rotate:
            chosen[name] = _new_value(lengths.get(name, default_length))
        elif value:
            chosen[name] = value
        elif str(kept.get(name) or ""):
            chosen[name] = str(kept[name])
        else:
            chosen[name] = _new_value(lengths.get(name, default_length))
    unfinished = kept.get(PREVIOUS) if isinstance(kept.get(PREVIOUS), dict) else {}
    previous = {}
    for name in servers:
        if name in unfinished:
            previous[name] = str(unfinished[name])
        elif str(kept.get(name) or "") and str(kept[name]) != chosen.get(name):
            previous[name] = str(kept[name])
    return {"secrets": chosen, "previous": previous}


class FilterModule:
    def filters(self):
        return {"chatwoot_secrets": chatwoot_secrets}
