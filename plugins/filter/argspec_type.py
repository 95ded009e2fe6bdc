# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Convert a role variable to its argument spec type, with the conversion role validation itself applies."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.validation import check_type_bool, check_type_float, check_type_int

DOCUMENTATION = r"""
name: argspec_type
short_description: Convert a value to a role argument spec type exactly as role argument validation does
version_added: 0.1.0
author:
  - selfhost.chatwoot contributors (@selfhost)
description:
  - Role argument validation (C(meta/argument_specs.yml)) accepts C("false") for a C(bool) and C("65536") for an
    C(int), as C(-e key=value) passes them, but leaves the variable a string; a string C("false") is true in a
    template. This filter returns the typed value, using the same conversion as the validation, so that what the
    validation accepts and what the role does always agree.
  - C(bool) accepts C(true)/C(false), C(yes)/C(no), C(on)/C(off), C(1)/C(0), C(y)/C(n), C(t)/C(f) in any case,
    the integers 1 and 0 and booleans; C(int) accepts integers, integral floats and strings of them; C(float)
    accepts numbers and numeric strings.
  - Fails naming the value when it is not of the type (role validation refuses such values first).
positional: type_name
options:
  _input:
    description: The value to convert.
    type: raw
    required: true
  type_name:
    description: The argument spec type.
    type: str
    required: true
    choices: [bool, int, float]
"""

EXAMPLES = r"""
# roles/<role>/vars/main.yml: an internal typed copy of each bool/int option, used everywhere instead of the option.
__nginx_hsts_enabled: "{{ nginx_hsts_enabled | selfhost.chatwoot.argspec_type('bool') }}"
__nginx_worker_connections: "{{ nginx_worker_connections | selfhost.chatwoot.argspec_type('int') }}"
"""

RETURN = r"""
_value:
  description: The value as a Python C(bool), C(int) or C(float).
  type: raw
"""

_CONVERTERS = {
    "bool": lambda value: bool(check_type_bool(value)),
    "int": lambda value: int(check_type_int(value)),
    "float": lambda value: float(check_type_float(value)),
}


def argspec_type(value, type_name):
    """``value`` as the argument spec type ``type_name`` (bool, int or float)."""
    try:
        convert = _CONVERTERS[type_name]
    except (KeyError, TypeError):
        raise AnsibleFilterError(
            f"argspec_type: unknown type {type_name!r}; expected one of {', '.join(_CONVERTERS)}"
        ) from None
    try:
        return convert(value)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"argspec_type: {value!r} is not a valid {type_name} ({exc})") from exc


class FilterModule:
    def filters(self):
        return {"argspec_type": argspec_type}
