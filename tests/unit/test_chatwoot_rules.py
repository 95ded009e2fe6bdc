"""Unit tests of Chatwoot's input rules and the bootstrap module's option normalisation."""

from __future__ import annotations

import re

import pytest

from ansible_collections.selfhost.chatwoot.plugins.module_utils import _chatwoot_rules as rules
from ansible_collections.selfhost.chatwoot.plugins.module_utils._bootstrap_script import BOOTSTRAP_RUBY
from ansible_collections.selfhost.chatwoot.plugins.modules.bootstrap import RESULT_KEYS

GOOD_PASSWORD = "Sup3r-Secret"


# ------------------------------------------------------------------------------------------ passwords


@pytest.mark.parametrize(
    "password",
    [
        "Aa1!aa",  # exactly 6
        "A" + "a" * 125 + "1!",  # exactly 128
        "Passw0rd.",
        "Ünï1code~X",  # non-ASCII letters are fine when the ASCII classes are present too
        "Aa1'xyz",
        'Aa1"xyz',
        "Aa1\\xyz",
        "Aa1`xyz",
    ],
)
def test_passwords_chatwoot_accepts(password):
    assert rules.password_problems(password) == []
    rules.validate_password(password)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Aa1!a", "shorter than 6"),
        ("A" + "a" * 126 + "1!", "longer than 128"),
        ("aaaa1!aa", "no uppercase"),
        ("AAAA1!AA", "no lowercase"),
        ("Aaaaa!aa", "no digit"),
        ("Aaaaa1aa", "no special character"),
        ("Aaaa1 aa", "no special character"),  # a space is not one of Chatwoot's specials
        ("Aaaa1€aa", "no special character"),  # nor is a non-ASCII symbol
    ],
)
def test_passwords_chatwoot_rejects(password, problem):
    problems = rules.password_problems(password)
    assert len(problems) == 1 and problem in problems[0]


def test_all_problems_are_listed_and_the_password_is_never_quoted():
    secret = "abc"
    with pytest.raises(rules.ValidationError) as caught:
        rules.validate_password(secret)
    message = str(caught.value)
    for part in ("shorter than 6", "no uppercase", "no digit", "no special character", "password policy"):
        assert part in message
    assert "no lowercase" not in message
    assert secret not in message.replace("characters", "")


# ------------------------------------------------------------------------------------------ e-mail


@pytest.mark.parametrize(
    ("email", "normalized"),
    [
        ("admin@example.com", "admin@example.com"),
        ("  Admin@Example.COM ", "admin@example.com"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
        ("o'neil@example-domain.com", "o'neil@example-domain.com"),
        ("x@a.io", "x@a.io"),
        ("user_1@xn--bcher-kva.example", "user_1@xn--bcher-kva.example"),
    ],
)
def test_emails_chatwoot_accepts(email, normalized):
    assert rules.validate_email(email) == normalized


@pytest.mark.parametrize(
    ("email", "problem"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("admin", "local@domain"),
        ("admin@", "local@domain"),
        ("@example.com", "local@domain"),
        ("a@b@example.com", "local@domain"),
        ("ad min@example.com", "local@domain"),
        ("admin@localhost", "without a dot"),
        (".admin@example.com", "dot at the start or end"),
        ("admin.@example.com", "dot at the start or end"),
        ("ad..min@example.com", "two dots"),
        ("admin@example..com", "malformed domain"),
        ("admin@.example.com", "malformed domain"),
        ("admin@-example.com", "malformed domain"),
        ("admin@example-.com", "malformed domain"),
        ("admin@example.com.", "malformed domain"),
        ("admin@exa_mple.com", "not allowed in a domain"),
        ("admin@exa+mple.com", "not allowed in a domain"),
        ("admin@exa#mple.com", "not allowed in a domain"),
        ("admin@exämple.com", "letters, digits, dots and hyphens"),
        ("ad(min)@example.com", "not allowed before the @"),
        ("a" * 250 + "@example.com", "longer than 255"),
        ("admin@" + "a" * 64 + ".com", "longer than 63"),
    ],
)
def test_emails_chatwoot_rejects(email, problem):
    with pytest.raises(rules.ValidationError, match="not an e-mail address Chatwoot accepts") as caught:
        rules.validate_email(email)
    assert problem in str(caught.value)


# ------------------------------------------------------------------------------------------ widget details


@pytest.mark.parametrize("color", ["#1f93ff", "#FFF", "#a1B2c3"])
def test_widget_colors_accepted(color):
    assert rules.validate_widget_color(color, "c") == color


@pytest.mark.parametrize("color", ["1f93ff", "#1f93f", "#1f93ffff", "blue", "#ggg", ""])
def test_widget_colors_rejected(color):
    with pytest.raises(rules.ValidationError, match="hex colour"):
        rules.validate_widget_color(color, "c")


@pytest.mark.parametrize("url", ["https://example.com", "http://www.example.com:8080/shop?x=1", "HTTPS://EX.COM/"])
def test_website_urls_accepted(url):
    assert rules.validate_website_url(url, "u") == url


@pytest.mark.parametrize("url", ["example.com", "ftp://example.com", "https://", "https://exa mple.com", None])
def test_website_urls_rejected(url):
    with pytest.raises(rules.ValidationError, match="http\\(s\\) URL"):
        rules.validate_website_url(url, "u")


# ------------------------------------------------------------------------------------------ bootstrap options


def admin(**overrides):
    spec = {"name": "Ada Admin", "email": "Ada@Example.com", "password": GOOD_PASSWORD, "update_password": "on_create"}
    spec.update(overrides)
    return spec


def normalize(super_admin=None, accounts=None, inboxes=None, configs=None, clear=True):
    return rules.normalize_bootstrap(super_admin, accounts, inboxes, configs, clear)


def test_full_options_are_normalised_for_the_script():
    params = normalize(
        admin(),
        ["Support", "Sales "],
        [
            {"account": "Support", "name": "Website", "website_url": "https://example.com", "widget_color": None},
            {
                "account": "Sales",
                "name": "Shop",
                "website_url": "https://shop.example.com",
                "widget_color": "#000000",
                "welcome_title": "Hi",
                "welcome_tagline": None,
            },
        ],
        {"INSTALLATION_NAME": "Example", "ENABLE_ACCOUNT_SIGNUP": False},
    )
    assert params == {
        "super_admin": {
            "name": "Ada Admin",
            "email": "ada@example.com",
            "password": GOOD_PASSWORD,
            "update_password": "on_create",
        },
        "accounts": ["Support", "Sales"],
        "inboxes": [
            {"account": "Support", "name": "Website", "website_url": "https://example.com", "widget_color": "#1f93ff"},
            {
                "account": "Sales",
                "name": "Shop",
                "website_url": "https://shop.example.com",
                "widget_color": "#000000",
                "welcome_title": "Hi",
            },
        ],
        "installation_configs": {"INSTALLATION_NAME": "Example", "ENABLE_ACCOUNT_SIGNUP": False},
        "clear_onboarding": True,
    }


def test_nothing_to_do_is_valid():
    assert normalize(clear=False) == {
        "super_admin": None,
        "accounts": [],
        "inboxes": [],
        "installation_configs": {},
        "clear_onboarding": False,
    }


def test_weak_password_is_refused_without_showing_it():
    with pytest.raises(rules.ValidationError, match="password policy") as caught:
        normalize(admin(password="weakpass"), ["Support"])
    assert "weakpass" not in str(caught.value)


def test_invalid_email_is_refused():
    with pytest.raises(rules.ValidationError, match=r"super_admin\.email 'admin@localhost'"):
        normalize(admin(email="admin@localhost"), ["Support"])


def test_super_admin_needs_an_account():
    with pytest.raises(rules.ValidationError, match="at least one entry in accounts"):
        normalize(admin(), [])


@pytest.mark.parametrize("missing", ["email", "password"])
def test_super_admin_needs_email_and_password(missing):
    spec = admin()
    spec[missing] = None
    with pytest.raises(rules.ValidationError, match=f"super_admin.{missing} is required"):
        normalize(spec, ["Support"])


def test_super_admin_name_may_not_be_blank():
    with pytest.raises(rules.ValidationError, match=r"super_admin\.name is empty"):
        normalize(admin(name="  "), ["Support"])


def test_update_password_choice_is_checked_and_defaults_to_on_create():
    with pytest.raises(rules.ValidationError, match="on_create, always"):
        normalize(admin(update_password="sometimes"), ["Support"])
    assert normalize(admin(update_password=None), ["S"])["super_admin"]["update_password"] == "on_create"


def test_duplicate_accounts_and_inboxes_are_refused():
    with pytest.raises(rules.ValidationError, match="listed twice in accounts"):
        normalize(accounts=["Support", " Support"])
    inbox = {"account": "Support", "name": "Web", "website_url": "https://example.com"}
    with pytest.raises(rules.ValidationError, match="listed twice"):
        normalize(accounts=["Support"], inboxes=[inbox, dict(inbox)])


@pytest.mark.parametrize(
    ("inbox", "message"),
    [
        ({"name": "Web", "website_url": "https://e.com"}, r"inboxes\[0\].account is empty"),
        ({"account": "S", "website_url": "https://e.com"}, r"inboxes\[0\].name is empty"),
        ({"account": "S", "name": "Web", "website_url": "e.com"}, "http\\(s\\) URL"),
        ({"account": "S", "name": "Web", "website_url": "https://e.com", "widget_color": "red"}, "hex colour"),
        ("not a dict", "must be a dict"),
    ],
)
def test_inbox_problems_are_named(inbox, message):
    with pytest.raises(rules.ValidationError, match=message):
        normalize(accounts=["S"], inboxes=[inbox])


@pytest.mark.parametrize("name", ["installation_name", "1ABC", "INSTALLATION NAME", ""])
def test_installation_config_names_must_look_like_chatwoots(name):
    with pytest.raises(rules.ValidationError):
        normalize(configs={name: "x"})


# ------------------------------------------------------------------------------------------ script contract


def test_the_ruby_script_reads_every_normalised_option_and_returns_every_documented_key():
    for option in normalize(clear=True):
        assert f'params["{option}"]' in BOOTSTRAP_RUBY, option
    for key in ("name", "email", "password", "update_password"):
        assert f'spec["{key}"]' in BOOTSTRAP_RUBY, key
    returned = set(re.findall(r'out\["([a-z_]+)"\]', BOOTSTRAP_RUBY))
    assert returned == set(RESULT_KEYS)
