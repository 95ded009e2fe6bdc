"""_releases: tag forms, the supported range, downgrades; the default pin is the newest supported release."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
import yaml
from support.lab import chatwoot_release_images  # tests/conftest.py puts tests/ on the path

from ansible_collections.selfhost.chatwoot.plugins.filter import releases as filters
from ansible_collections.selfhost.chatwoot.plugins.module_utils import _releases as rel

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("v4.10.1", (4, 10, 1)), ("4.10.1", (4, 10, 1)), ("v4.16.2-ce", (4, 16, 2)), (" v4.12.1 ", (4, 12, 1))],
)
def test_parse_every_published_tag_form(tag, expected):
    assert rel.parse_version(tag) == expected


@pytest.mark.parametrize("tag", ["latest", "latest-ce", "v4.10", "v4.10.1-ee", "4.10.1.2", "", "v4.10.1 x"])
def test_parse_refuses_other_tags(tag):
    with pytest.raises(ValueError, match=r"vX\.Y\.Z or vX\.Y\.Z-ce"):
        rel.parse_version(tag)


def test_same_version_ignores_v_and_ce():
    assert rel.same_version("v4.10.1-ce", "4.10.1")
    assert rel.same_version("v4.10.1", "v4.10.1-ce")
    assert not rel.same_version("v4.10.1", "4.10.2")


@pytest.mark.parametrize("tag", ["v4.10.0", "v4.10.1", "v4.14.2-ce", rel.NEWEST, "v4.16.9"])
def test_supported_releases_pass(tag):
    assert rel.version_problems(tag) == []


@pytest.mark.parametrize("tag", ["v4.9.2", "v3.16.0", "v4.17.0", "v4.18.0", "v5.0.0"])
def test_outside_the_range_is_refused_naming_range_and_override(tag):
    (problem,) = rel.version_problems(tag)
    assert rel.supported_range() in problem
    assert rel.OVERRIDE_VARIABLE in problem
    assert rel.version_problems(tag, allow_unsupported=True) == []


@pytest.mark.parametrize("tag", ["v4.14.0", "v4.15.0-ce", "v4.16.0"])
def test_known_bad_tags_are_refused_naming_why_and_the_override(tag):
    (problem,) = rel.version_problems(tag)
    assert "known bad release" in problem
    assert rel.OVERRIDE_VARIABLE in problem
    assert rel.version_problems(tag, allow_unsupported=True) == []


def test_the_override_does_not_accept_a_non_release_tag():
    assert rel.version_problems("latest", allow_unsupported=True)


def test_downgrade_detection():
    assert rel.downgrade_problem("", "v4.10.1") == ""
    assert rel.downgrade_problem("v4.12.1", "v4.12.1-ce") == ""
    assert rel.downgrade_problem("v4.12.1", "v4.14.0") == ""
    message = rel.downgrade_problem("v4.14.0", "v4.12.1")
    assert "v4.14.0" in message
    assert "restore a backup taken on v4.12.1" in message


def test_schema_downgrade_detection():
    assert rel.schema_downgrade_problem("20260101000000", "20260101000000", "img") == ""
    assert rel.schema_downgrade_problem("", "20260101000000", "img") == ""
    message = rel.schema_downgrade_problem("20260301000000", "20260101000000", "chatwoot/chatwoot:v4.12.1")
    assert "20260301000000" in message
    assert "chatwoot/chatwoot:v4.12.1" in message


def test_features_by_release():
    assert not rel.at_least("v4.10.1", rel.HEALTH_ROUTE_SINCE)
    assert rel.at_least("v4.11.0-ce", rel.HEALTH_ROUTE_SINCE)
    assert not rel.at_least("v4.11.2", rel.SIGNUP_BOOLEAN_SINCE)
    assert rel.at_least("v4.12.0", rel.SIGNUP_BOOLEAN_SINCE)


def test_the_default_pin_is_the_newest_supported_release():
    defaults = yaml.safe_load((REPO / "roles/app/defaults/main.yml").read_text())
    specs = yaml.safe_load((REPO / "roles/app/meta/argument_specs.yml").read_text())
    assert defaults["app_chatwoot_version"] == rel.NEWEST
    assert specs["argument_specs"]["main"]["options"]["app_chatwoot_version"]["default"] == rel.NEWEST
    assert rel.parse_version(rel.NEWEST)[:2] == rel.SUPPORTED_MAX_MINOR


def test_filters_wrap_the_rules():
    assert filters.chatwoot_version("v4.10.1-ce") == "4.10.1"
    assert filters.chatwoot_at_least("v4.12.1", "v4.12.0")
    assert filters.chatwoot_version_problems("v4.9.0")
    assert filters.chatwoot_downgrade_problem("v4.10.1", "v4.12.1")
    with pytest.raises(Exception, match="release tag"):
        filters.chatwoot_version("latest")


def test_stepping_stones_lead_from_the_oldest_to_the_newest():
    stones = rel.STEPPING_STONES
    assert rel.parse_version(stones[0])[:2] == rel.SUPPORTED_MIN[:2]
    assert stones[-1] == rel.NEWEST
    assert list(stones) == sorted(stones, key=rel.parse_version)
    for older, newer in pairwise(stones):
        assert rel.parse_version(newer)[1] - rel.parse_version(older)[1] <= 2, (older, newer)
    path, current = [], stones[0]
    while current != rel.NEWEST:
        current = rel.next_stepping_stone(current)
        path.append(current)
    assert path == list(stones[1:])
    assert filters.chatwoot_next_stepping_stone(rel.NEWEST) == rel.NEWEST


def test_the_lab_matrix_walks_every_stepping_stone():
    """molecule/default installs the oldest stone and runs upgrade.yml once per later stone."""
    scenario = yaml.safe_load((REPO / "molecule/default/molecule.yml").read_text())
    steps = scenario["scenario"]["test_sequence"]
    assert steps.count("side_effect upgrade.yml") == len(rel.STEPPING_STONES) - 1
    lab = yaml.safe_load((REPO / "inventories/lab/group_vars/chatwoot/main.yml").read_text())
    assert lab["lab_oldest_version"] == rel.STEPPING_STONES[0]
    tags = set(chatwoot_release_images())
    assert set(rel.STEPPING_STONES) <= tags, "every stepping stone needs a double image (tests/lab/images.env)"


def test_jump_past_a_stepping_stone_is_refused():
    # First install, same release, the next stone and patches within its minor: allowed.
    assert rel.jump_problem("", "v4.16.2") == ""
    assert rel.jump_problem("v4.10.1", "v4.10.1-ce") == ""
    assert rel.jump_problem("v4.10.1", "v4.12.1") == ""
    assert rel.jump_problem("v4.10.1", "v4.11.2") == ""
    assert rel.jump_problem("v4.12.1", "v4.14.2") == ""
    assert rel.jump_problem("v4.14.2", "v4.16.2") == ""
    # An earlier patch of a stone's minor may go on to the stone after it.
    assert rel.jump_problem("v4.10.0", "v4.12.1") == ""
    # Downgrades are another guard's business.
    assert rel.jump_problem("v4.14.2", "v4.12.1") == ""
    problem = rel.jump_problem("v4.10.1", "v4.14.2")
    assert "v4.12.1" in problem and rel.JUMP_OVERRIDE_VARIABLE in problem
    assert "v4.14.2" in rel.jump_problem("v4.12.1", "v4.16.2")
    assert "v4.12.1" in rel.jump_problem("v4.10.0", "v4.16.2")
    # Unparseable input is the version guard's business.
    assert rel.jump_problem("v4.10.1", "latest") == ""
