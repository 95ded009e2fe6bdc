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
        "installation_configs": {
            "INSTALLATION_NAME": {"value": "Example", "same": ["Example"]},
            "ENABLE_ACCOUNT_SIGNUP": {"value": "false", "same": ["false"]},
        },
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


# ------------------------------------------------------------------------------------------ installation configs


@pytest.mark.parametrize(
    ("wanted", "written", "same"),
    [
        (False, "false", ["false"]),  # a boolean false leaves sign-up open before v4.12: write the string
        (True, "true", ["true"]),
        ("false", "false", ["false"]),
        (40, 40, [40, "40"]),
        ("40", "40", ["40", 40]),
        ("040", "040", ["040"]),
        (1.5, 1.5, [1.5, "1.5"]),
        (2.0, 2.0, [2.0, "2.0", 2, "2"]),
        ("Example", "Example", ["Example"]),
        (None, None, [None]),
        (["a"], ["a"], [["a"]]),
    ],
)
def test_config_values_are_written_as_the_ui_stores_them(wanted, written, same):
    assert rules.config_value_for_write(wanted) == written
    assert rules.config_value_equivalents(wanted) == same


def test_a_stored_boolean_is_not_the_same_as_the_string_that_closes_signup():
    assert False not in rules.config_value_equivalents(False)
    assert False not in rules.config_value_equivalents("false")
    assert True not in rules.config_value_equivalents(True)


def test_normalized_configs_carry_what_to_write_and_what_counts_as_the_same():
    params = normalize(configs={"ENABLE_ACCOUNT_SIGNUP": False, "MAXIMUM_FILE_UPLOAD_SIZE": 40})
    assert params["installation_configs"] == {
        "ENABLE_ACCOUNT_SIGNUP": {"value": "false", "same": ["false"]},
        "MAXIMUM_FILE_UPLOAD_SIZE": {"value": 40, "same": [40, "40"]},
    }


# ------------------------------------------------------------------------------------------ inbox names


@pytest.mark.parametrize("name", ["Website", "Support @ Example", "a/b <c> \\ d", "-x-", "Ünïcode ✓", "x" * 500])
def test_inbox_names_are_free_text_on_supported_releases(name):
    for version in ("v4.10.1", "v4.16.2", None):
        assert rules.inbox_name_problem(name, version) is None


@pytest.mark.parametrize("name", ["", "   ", None])
def test_inbox_names_must_not_be_blank(name):
    assert "is empty" in rules.inbox_name_problem(name, "v4.10.1")


def test_the_old_inbox_name_format_rule_before_4_3():
    assert rules.inbox_name_problem("Website", "v4.2.0") is None
    for name in ("a/b", "x@y", "-x", "x-"):
        assert "before v4.3.0" in rules.inbox_name_problem(name, "v4.2.0")


def test_blank_inbox_names_are_refused_by_the_module_options_too():
    with pytest.raises(rules.ValidationError, match=r"inboxes\[0\]\.name is empty"):
        normalize(accounts=["S"], inboxes=[{"account": "S", "name": " ", "website_url": "https://e.com"}])


# ------------------------------------------------------------------------------------------ the app role's check


GOOD_INBOX = {"name": "Website", "website_url": "https://www.example.com"}


def test_good_input_has_no_problems():
    assert rules.input_problems("Admin@Example.com", GOOD_PASSWORD, [GOOD_INBOX], "v4.10.1") == []
    assert rules.input_problems("admin@example.com", "", [], "v4.16.2-ce") == []  # '' = generated password
    assert rules.input_problems("admin@example.com", None, None, None) == []


def test_every_problem_is_listed_with_its_fix_and_never_the_password():
    secret = "weakpass"
    problems = rules.input_problems(
        "admin@localhost",
        secret,
        [
            GOOD_INBOX,
            {"name": "Website", "website_url": "https://shop.example.com"},
            {"name": " ", "website_url": "example.com", "widget_color": "blue"},
            "not a dict",
        ],
        "v4.10.1",
    )
    text = "\n".join(problems)
    assert len(problems) == 7, problems
    assert "the super admin e-mail 'admin@localhost' is not an address" in problems[0] and "dot" in problems[0]
    assert "the super admin password does not meet Chatwoot's password policy" in problems[1]
    assert "no uppercase" in problems[1] and "no digit" in problems[1]
    assert "inbox 2 ('Website') has the same name as inbox 1" in text
    assert "the name of inbox 3 is empty" in text
    assert "the website_url of inbox 3 ('example.com') is not an http(s) URL" in text
    assert "the widget_color of inbox 3 ('blue') is not a CSS hex colour" in text
    assert "inbox 4 is not a dict" in text
    assert secret not in text


@pytest.mark.parametrize("email", ["", None, "  "])
def test_an_empty_admin_email_is_a_problem(email):
    assert rules.input_problems(email, "", [], "v4.10.1") == [
        "the super admin e-mail is empty; set the address the first super admin signs in with"
    ]


def test_an_unknown_version_is_named():
    problems = rules.input_problems("admin@example.com", "", [GOOD_INBOX], "latest")
    assert len(problems) == 1 and "cannot check the input against Chatwoot 'latest'" in problems[0]


def test_the_filter_plugin():
    from ansible_collections.selfhost.chatwoot.plugins.filter.chatwoot_rules import FilterModule

    check = FilterModule().filters()["chatwoot_input_problems"]
    assert check("admin@example.com", "", [GOOD_INBOX], "v4.10.1") == []
    assert check("admin@example.com", "", [GOOD_INBOX]) == []
    assert len(check("admin@localhost", "short", [{"name": ""}], "v4.12.1")) == 4


# ------------------------------------------------------------------------------------------ script contract


def test_the_script_confirms_users_without_devise_confirm_and_uses_redis_alfred():
    # Devise's confirm saves at once without validations; skip_confirmation! only marks the user confirmed.
    assert re.search(r"\.confirm(?![\w?!])", BOOTSTRAP_RUBY) is None
    assert BOOTSTRAP_RUBY.count("mark_confirmed.call(admin)") == 2
    assert "RedisAlfred" not in BOOTSTRAP_RUBY.replace("Redis::Alfred", "")
    assert "::Redis::Alfred::CHATWOOT_INSTALLATION_ONBOARDING" in BOOTSTRAP_RUBY
    assert 'wanted["same"].include?' in BOOTSTRAP_RUBY


def test_the_ruby_script_reads_every_normalised_option_and_returns_every_documented_key():
    for option in normalize(clear=True):
        assert f'params["{option}"]' in BOOTSTRAP_RUBY, option
    for key in ("name", "email", "password", "update_password"):
        assert f'spec["{key}"]' in BOOTSTRAP_RUBY, key
    returned = set(re.findall(r'out\["([a-z_]+)"\]', BOOTSTRAP_RUBY))
    assert returned == set(RESULT_KEYS)
