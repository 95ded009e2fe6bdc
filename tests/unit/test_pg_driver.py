"""_pg_driver: psycopg 3 when it imports, else psycopg2, exercised with the real libraries (no server needed)."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.selfhost.chatwoot.plugins.module_utils import _pg_driver as pd

pytest.importorskip("psycopg", reason="psycopg is in tests/requirements.txt")
pytest.importorskip("psycopg2", reason="psycopg2-binary is in tests/requirements.txt")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_psycopg_3_is_preferred():
    driver, error = pd.load_driver()
    assert error is None and driver.name == "psycopg" and driver.version.startswith("3.")


def test_psycopg2_when_psycopg_3_is_missing():
    driver, error = pd.load_driver(("selfhost_no_such_psycopg", "psycopg2"))
    assert error is None and driver.name == "psycopg2" and driver.version.startswith("2.")


def test_neither_library_names_what_to_install():
    driver, error = pd.load_driver(("selfhost_no_such_psycopg", "selfhost_no_such_psycopg2"))
    assert driver is None and "selfhost_no_such_psycopg2" in error
    assert "psycopg2" in pd.REQUIREMENT and "python3-psycopg2 (Ubuntu 22.04)" in pd.INSTALL_HINT


@pytest.mark.parametrize("name", ["psycopg", "psycopg2"])
def test_both_libraries_connect_with_libpq_keywords_and_raise_their_error(name):
    driver, _error = pd.load_driver((name,))
    port = closed_port()
    with pytest.raises(driver.Error) as caught:
        driver.connect(
            host="127.0.0.1",
            port=port,
            user="chatwoot",
            password=None,  # left out: libpq's default applies
            dbname="chatwoot",
            sslmode=None,
            connect_timeout=3,
            application_name="selfhost.chatwoot.test",
        )
    assert str(port) in str(caught.value)
    assert issubclass(type(caught.value), driver.module.Error)


@pytest.mark.parametrize("name", ["psycopg", "psycopg2"])
def test_an_unknown_keyword_is_the_library_s_error_not_a_crash(name):
    driver, _error = pd.load_driver((name,))
    with pytest.raises(driver.Error):
        driver.connect(host="127.0.0.1", port=closed_port(), dbname="x", sslmode="sometimes", connect_timeout=3)
