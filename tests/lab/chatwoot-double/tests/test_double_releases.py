"""What differs between the releases of the Chatwoot double, asserted on every release image.

Each test names its source; upstream files were read at tag v4.10.1 unless a test says otherwise
(README.md, "Per-release behaviour", lists the same facts).
"""

from __future__ import annotations

import uuid

import pytest
import requests
from double_helpers import at_least, post, redis_client, sql, unique_ip
from support.lab import LAB_IMAGES, chatwoot_release_images

pytestmark = pytest.mark.lab

RELEASES = list(chatwoot_release_images())
ALL_TAGS = [*RELEASES, LAB_IMAGES["LAB_CHATWOOT_BROKEN"].rsplit(":", 1)[1]]
# How config/installation_config.yml's values reach the row (YAML inside the jsonb column, as upstream).
ROW_VALUES = {
    "boolean false": "--- !ruby/hash:ActiveSupport::HashWithIndifferentAccess\nvalue: false\n",
    'string "false"': "--- !ruby/hash:ActiveSupport::HashWithIndifferentAccess\nvalue: 'false'\n",
    'string "true"': "--- !ruby/hash:ActiveSupport::HashWithIndifferentAccess\nvalue: 'true'\n",
}


@pytest.mark.parametrize("tag", ALL_TAGS)
def test_image_has_no_entrypoint_and_no_cmd(docker_client, tag):
    """Like the real image (contract: "The image has no ENTRYPOINT; compose sets one for rails only"), and
    no CMD: compose gives every service its command. Also WORKDIR /app, root, port 3000, the tag's version
    in org.opencontainers.image.version, and the vX.Y.Z-ce twin Chatwoot publishes is the same image."""
    image = docker_client.images.get(f"chatwoot-lab/chatwoot:{tag}")
    config = image.attrs["Config"]
    assert not config.get("Entrypoint")
    assert not config.get("Cmd")
    assert config["WorkingDir"] == "/app"
    assert config.get("User") in ("", "root", None)
    assert "3000/tcp" in config["ExposedPorts"]
    assert config["Labels"]["org.opencontainers.image.version"] == tag
    assert docker_client.images.get(f"chatwoot-lab/chatwoot:{tag}-ce").id == image.id


def test_release_images_share_their_layers(docker_client):
    """One Dockerfile, the release-specific part last: every tag shares all but its final layers."""
    layer_sets = [
        docker_client.images.get(f"chatwoot-lab/chatwoot:{tag}").attrs["RootFS"]["Layers"] for tag in ALL_TAGS
    ]
    shared = set.intersection(*(set(layers) for layers in layer_sets))
    assert all(len(set(layers) - shared) <= 2 for layers in layer_sets), "more than the last layers differ"


@pytest.mark.parametrize("tag", RELEASES)
def test_api_reports_the_release(fleet, tag):
    """GET /api answers on every release with the version without the tag's "v" (config/app.yml)."""
    api = requests.get(f"{fleet[tag].base_url}/api", timeout=30).json()
    assert api["version"] == tag.lstrip("v")
    assert (api["queue_services"], api["data_services"]) == ("ok", "ok")


@pytest.mark.parametrize("tag", RELEASES)
def test_health_route_only_from_v4_11(fleet, tag):
    """GET /health -> {"status": "woot"} from v4.11.0 (PR #13386, merged 2026-01-28); v4.10.x has no such
    route and answers 404 (contract, "What changes between releases")."""
    import requests

    response = requests.get(f"{fleet[tag].base_url}/health", timeout=30)
    if at_least(tag, "4.11.0"):
        assert response.status_code == 200
        assert response.json() == {"status": "woot"}
    else:
        assert response.status_code == 404


def _set_signup_row(site, raw_yaml: str | None) -> None:
    database = site.stack.env["POSTGRES_DATABASE"]
    if raw_yaml is None:
        sql(site.stack, "DELETE FROM installation_configs WHERE name = 'ENABLE_ACCOUNT_SIGNUP'", database=database)
    else:
        sql(
            site.stack,
            "UPDATE installation_configs SET serialized_value = to_jsonb(%s::text) "
            "WHERE name = 'ENABLE_ACCOUNT_SIGNUP'",
            (raw_yaml,),
            database=database,
        )
    # What InstallationConfig's after_commit does: drop the GlobalConfig cache.
    redis = redis_client(site.stack, site.redis_db)
    for key in redis.keys("alfred:V1:GLOBAL_CONFIG:*"):
        redis.delete(key)


def _sign_up(site):
    email = f"signup-{uuid.uuid4().hex[:8]}@example.com"
    response = post(
        site.base_url,
        "/api/v1/accounts",
        ip=unique_ip(),  # accounts/ip allows 5 sign-ups per 30 min per client
        json={"account_name": "Signup Co", "user_full_name": "Sig Nup", "email": email, "password": "Sign!Up123"},
    )
    return email, response


@pytest.mark.parametrize("tag", RELEASES)
def test_signup_setting_per_release(fleet, tag):
    """POST /api/v1/accounts is gated by ENABLE_ACCOUNT_SIGNUP read through GlobalConfigService.load (the
    installation_configs row rules; GlobalConfig typecasts this `type: boolean` config, and false.present?
    is false). Before v4.12 (accounts_controller check_signup_enabled: `load(...) == 'false'`) only the
    STRING "false" blocks and a boolean false -- what a fresh install seeds -- lets sign-up through; from
    v4.12 (#13745, `load(...).to_s != 'false'`) both block. The string "true" opens it everywhere."""
    site = fleet[tag]
    seeded = sql(
        site.stack,
        "SELECT serialized_value #>> '{}' FROM installation_configs WHERE name = 'ENABLE_ACCOUNT_SIGNUP'",
        database=site.stack.env["POSTGRES_DATABASE"],
    )
    assert seeded == [(ROW_VALUES["boolean false"],)], "db:chatwoot_prepare seeds a boolean false"

    outcomes = {}
    for label, raw in ROW_VALUES.items():
        _set_signup_row(site, raw)
        _email, response = _sign_up(site)
        outcomes[label] = response.status_code
    boolean_blocks = at_least(tag, "4.12.0")
    assert outcomes == {
        "boolean false": 404 if boolean_blocks else 200,
        'string "false"': 404,
        'string "true"': 200,
    }


@pytest.mark.parametrize("tag", RELEASES)
def test_signup_creates_account_like_account_builder(fleet, tag):
    """A sign-up creates account + administrator user through AccountBuilder and answers the user as JSON
    with devise_token_auth headers (accounts_controller#create, v4.10.1). The user is unconfirmed and Devise
    queues a confirmation mail. From v4.14 AccountBuilder also starts the account's onboarding:
    custom_attributes['onboarding_step'] = 'account_details' (contract table; the dashboard reads the step
    from custom_attributes, see Api::V1::AccountsController#update)."""
    site = fleet[tag]
    _set_signup_row(site, ROW_VALUES['string "true"'])
    email, response = _sign_up(site)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["email"], data["role"], data["confirmed"]) == (email, "administrator", False)
    assert response.headers["access-token"] and response.headers["uid"] == email
    database = site.stack.env["POSTGRES_DATABASE"]
    [(user_id, step, confirmation_token)] = sql(
        site.stack,
        "SELECT u.id, a.custom_attributes ->> 'onboarding_step', u.confirmation_token FROM accounts a "
        "JOIN account_users au ON au.account_id = a.id JOIN users u ON u.id = au.user_id WHERE u.email = %s",
        (email,),
        database=database,
    )
    assert step == ("account_details" if at_least(tag, "4.14.0") else None)
    assert confirmation_token, "an unconfirmed user gets a confirmation token (and mail)"
    queued = redis_client(site.stack, site.redis_db).lrange("queue:default", 0, -1)
    mail_jobs = [job for job in queued if '"Devise::Mailer","confirmation_instructions"' in job]
    assert any(f"gid://chatwoot/User/{user_id}" in job for job in mail_jobs), queued


@pytest.mark.parametrize("tag", RELEASES)
def test_migrations_and_schema_per_release(fleet, tag):
    """Each release adds at least one additive migration (lab marker rows from v4.11.0 on), so an upgrade
    visibly migrates; v4.16.0 adds accounts.feature_flags_ext_1 (upstream PR #14947: a second feature-flag
    bitset, bigint default 0) and the messages index (sender_type, sender_id, created_at) (upstream
    20260630000000_add_sender_created_index_to_messages, PR #14889, built concurrently). Every release has
    upstream's message tables and the conversation display-id trigger (db/schema.rb)."""
    site = fleet[tag]
    database = site.stack.env["POSTGRES_DATABASE"]
    expected_markers = [release for release in ("4.11.0", "4.12.0", "4.14.0", "4.16.0") if at_least(tag, release)]
    if expected_markers:
        rows = sql(site.stack, "SELECT version FROM lab_upgrade_markers ORDER BY version", database=database)
        assert [row[0] for row in rows] == expected_markers
    else:
        assert sql(site.stack, "SELECT to_regclass('lab_upgrade_markers')", database=database) == [(None,)]
    column = sql(
        site.stack,
        "SELECT data_type, column_default FROM information_schema.columns "
        "WHERE table_name = 'accounts' AND column_name = 'feature_flags_ext_1'",
        database=database,
    )
    assert column == ([("bigint", "0")] if at_least(tag, "4.16.0") else [])
    index = sql(
        site.stack,
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'index_messages_on_sender_and_created'",
        database=database,
    )
    assert [row[0].split(" USING ")[1] for row in index] == (
        ["btree (sender_type, sender_id, created_at)"] if at_least(tag, "4.16.0") else []
    )
    triggers = sql(
        site.stack,
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname",
        database=database,
    )
    assert [row[0] for row in triggers] == ["accounts_after_insert_row_tr", "conversations_before_insert_row_tr"]
