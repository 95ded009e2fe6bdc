"""argspec_type: accepts what role argument validation accepts, and converts it the same way."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.selfhost.chatwoot.plugins.filter.argspec_type import FilterModule, argspec_type

BOOL_INPUTS = [
    *("true", "false", "yes", "no", "on", "off", "1", "0", "y", "n", "t", "f"),
    *("True", "FALSE", "Yes", "NO", "On", "OFF", "Y"),
    True,
    False,
    1,
    0,
    1.0,
    0.0,
    *("", "2", "maybe", "truthy", " true", 2, -1, 0.5, None, [], {}),
]
INT_INPUTS = [
    *("65536", "0", "-5", "+7", " 42 ", "1_000", "1e3", "42.0", "042"),
    65536,
    0,
    42.0,
    *("42.5", "0x10", "", "abc", "4 2", 42.5, None, []),
]
FLOAT_INPUTS = ["3.5", "1e3", "7", 2, 2.5, "nan-ish", "", None]


def validated(kind: str, value):
    """What role argument validation makes of `value` for an option of type `kind` (an error: None)."""
    result = ArgumentSpecValidator({"x": {"type": kind}}).validate({"x": value})
    return None if result.error_messages else result.validated_parameters["x"]


@pytest.mark.parametrize(
    ("kind", "value"),
    [("bool", v) for v in BOOL_INPUTS] + [("int", v) for v in INT_INPUTS] + [("float", v) for v in FLOAT_INPUTS],
)
def test_agrees_with_role_argument_validation(kind, value):
    expected = validated(kind, value)
    if expected is None:
        with pytest.raises(AnsibleFilterError, match=f"is not a valid {kind}"):
            argspec_type(value, kind)
    else:
        converted = argspec_type(value, kind)
        assert converted == expected
        assert isinstance(converted, {"bool": bool, "int": int, "float": float}[kind])
        assert kind == "bool" or not isinstance(converted, bool), "an int or float, not a bool"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("false", False), ("no", False), ("off", False), ("0", False), ("true", True), ("yes", True), ("on", True)],
)
def test_the_forms_people_type_after_dash_e(value, expected):
    assert argspec_type(value, "bool") is expected


def test_y_is_true_as_validation_says_not_false_like_the_bool_filter():
    # The `bool` filter coerces "y" to False (with a deprecation warning); validation reads it as true.
    assert validated("bool", "y") is True
    assert argspec_type("y", "bool") is True


def test_int_from_string():
    assert argspec_type("65536", "int") == 65536
    converted = argspec_type("65536", "int")
    assert isinstance(converted, int) and not isinstance(converted, bool)


def test_unknown_type():
    with pytest.raises(AnsibleFilterError, match="unknown type 'str'"):
        argspec_type("x", "str")


def test_registered_name():
    assert FilterModule().filters() == {"argspec_type": argspec_type}
