"""missing_images (app role), row_count_mismatch (backup role) and nginx_body_size (nginx role): the Jinja
programs that used to live in set_fact and vars."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.selfhost.chatwoot.plugins.filter.backup import row_count_mismatch
from ansible_collections.selfhost.chatwoot.plugins.filter.images import missing_images
from ansible_collections.selfhost.chatwoot.plugins.filter.nginx_proxy import nginx_body_size

OLD = "a" * 64
NEW = "b" * 64
REFS = ["chatwoot/chatwoot:v4.1.0", "pgvector/pgvector:pg16", "redis:7-alpine"]


def host(tag: str, image_id: str) -> dict:
    return {"Id": f"sha256:{image_id}", "RepoTags": [tag]}


def manifest(*entries: tuple[str, str]) -> str:
    """A `docker save` manifest.json: Config names the image's config blob by its ID."""
    return json.dumps(
        [{"Config": f"blobs/sha256/{image_id}", "RepoTags": [tag], "Layers": []} for tag, image_id in entries]
    )


def test_pull_lists_what_the_host_lacks_in_the_stack_order():
    assert missing_images(REFS, [host(REFS[1], OLD)]) == [REFS[0], REFS[2]]


def test_nothing_missing_when_the_host_has_every_tag():
    assert missing_images(REFS, [host(ref, OLD) for ref in REFS], "") == []


def test_a_rebuilt_image_under_the_same_tag_is_loaded_again():
    on_host = [host(ref, OLD) for ref in REFS]
    assert missing_images(REFS, on_host, manifest((REFS[0], NEW), (REFS[1], OLD))) == [REFS[0]]


def test_the_old_manifest_config_spelling_is_read_too():
    # Docker before 25 wrote "Config": "<id>.json".
    text = json.dumps([{"Config": f"{NEW}.json", "RepoTags": [REFS[2]]}])
    assert missing_images(REFS, [host(ref, OLD) for ref in REFS], text) == [REFS[2]]


def test_an_untagged_host_image_does_not_count():
    assert missing_images(REFS[:1], [{"Id": f"sha256:{OLD}", "RepoTags": None}]) == REFS[:1]


def test_a_manifest_that_is_not_json_is_refused():
    with pytest.raises(AnsibleFilterError, match="not JSON"):
        missing_images(REFS, [], "tar: manifest.json: Not found")


def test_row_counts_that_agree_give_nothing():
    assert row_count_mismatch({"users": 2, "messages": 7}, {"messages": 7, "users": 2}) == []


def test_row_count_differences_are_named_sorted_with_absent_tables():
    then = {"users": 2, "messages": 7, "contacts": 1}
    now = {"users": 2, "messages": 6, "webhooks": 0}
    assert row_count_mismatch(then, now) == ["contacts: 1 -> absent", "messages: 7 -> 6", "webhooks: absent -> 0"]


@pytest.mark.parametrize(("upload_mb", "derived"), [(40, "51m"), (1, "3m"), (4, "6m"), (100, "126m")])
def test_the_derived_body_limit_is_a_quarter_more_plus_one_mib_rounded_up(upload_mb, derived):
    sizes = nginx_body_size("", upload_mb)
    assert sizes == {"derived": derived, "value": derived, "bytes": 0}
    assert int(derived[:-1]) * 1024**2 > upload_mb * 1024**2 * 1.25


@pytest.mark.parametrize(
    ("size", "expected"), [("0", 0), ("512", 512), ("64k", 65536), ("64m", 64 * 1024**2), ("2G", 2 * 1024**3)]
)
def test_an_explicit_body_limit_wins_and_is_counted_in_bytes(size, expected):
    sizes = nginx_body_size(size, "40")
    assert sizes["value"] == size
    assert sizes["bytes"] == expected
    assert sizes["derived"] == "51m"


@pytest.mark.parametrize("size", ["64mb", "1.5m", "-1", "m"])
def test_a_malformed_body_limit_is_refused(size):
    with pytest.raises(AnsibleFilterError, match="not an nginx size"):
        nginx_body_size(size, 40)
