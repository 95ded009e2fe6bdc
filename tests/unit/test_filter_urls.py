"""url_userinfo: any printable secret survives a round trip through a postgres:// or redis:// URL."""

from __future__ import annotations

import string
from urllib.parse import unquote, urlsplit

import pytest

from ansible_collections.selfhost.chatwoot.plugins.filter.urls import url_userinfo

TRICKY = ["plain", "with space", "a/b:c@d#e?f", "per%cent", "$HOME ${X} $$", "qu'o\"te\\back", string.printable.strip()]


@pytest.mark.parametrize("secret", TRICKY)
def test_round_trip_through_a_url(secret):
    url = f"postgres://postgres:{url_userinfo(secret)}@postgres:5432/chatwoot_production"
    parts = urlsplit(url)
    assert parts.hostname == "postgres"
    assert parts.port == 5432
    assert parts.path == "/chatwoot_production"
    assert unquote(parts.password) == secret


def test_only_unreserved_characters_remain():
    encoded = url_userinfo(string.printable.strip())
    assert set(encoded) <= set(string.ascii_letters + string.digits + "-._~%")
