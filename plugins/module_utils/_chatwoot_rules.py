# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Chatwoot's own input rules, checked in Python before any container is contacted.

Read upstream at v4.10.1 and at v4.16.2 (docs/compatibility.md, "Exact details"); the same at both:

- Passwords: Devise's length (6 to 128 characters) plus devise-secure_password's counts (one each):
  an uppercase letter, a lowercase letter, a digit and one of Chatwoot's special characters.
- E-mail addresses of the first super admin, as ``AccountBuilder`` checks them (the installation onboarding
  form and sign-up): valid_email2 5.2.6's ``valid?`` (one plain address, ASCII only, a dot in the domain, no
  ``..``, domain not starting with ``.`` or ``-``, no ``-.``, no space, ``+``, ``!``, ``_``, ``/``, ``'``,
  ``#`` or backtick in the domain, local part not starting or ending with ``.`` and without ``..``) and
  Devise's ``email_regexp`` (``/\\A[^@\\s]+@[^@\\s]+\\z/``). Slightly stricter here: letters, digits,
  dots and hyphens only in the domain, no trailing ``.`` or ``-``, labels of at most 63 characters. Not
  checkable here: the disposable-domain list (and its DNS MX lookup) and the ``BLOCKED_EMAIL_DOMAINS``
  installation config. Devise strips and
  lower-cases e-mails before saving; so does :func:`normalize_email`.
- Inbox names: present (not blank) only; any characters, any length (the format rule ``^\\b[^/\\\\<>@]*\\b$`` was
  dropped in v4.3.0, #11597; names are only cleaned where e-mail needs it). Before v4.3.0 (never supported
  here) that rule applied to website, API and e-mail inboxes, and :func:`inbox_name_problem` still knows it.
- Installation config values: the super admin UI stores strings, and before v4.12.0 only the STRING
  ``"false"`` closes sign-up (a boolean ``false`` leaves it open). Booleans are therefore written as
  ``"true"``/``"false"`` (:func:`config_value_for_write`), and a stored value meaning the same as the one
  wanted (:func:`config_value_equivalents`) is left alone.

Messages never contain the password itself.
"""

from __future__ import annotations

import math
import re

from ansible_collections.selfhost.chatwoot.plugins.module_utils._releases import NEWEST, parse_version

PASSWORD_MIN = 6
PASSWORD_MAX = 128
# Chatwoot's list (app/models/concerns/... password_complexity): !@#$%^&*()_+-=[]{}|"/\.,`<>:;?~'
PASSWORD_SPECIALS = "!@#$%^&*()_+-=[]{}|\"/\\.,`<>:;?~'"
EMAIL_MAX = 255
DEFAULT_WIDGET_COLOR = "#1f93ff"
UPDATE_PASSWORD_CHOICES = ("on_create", "always")

_DEVISE_EMAIL = re.compile(r"\A[^@\s]+@[^@\s]+\Z")
_LOCAL_PART = re.compile(r"\A[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+\Z")
_DOMAIN_CHARS = re.compile(r"\A[A-Za-z0-9.-]+\Z")
_PROHIBITED_DOMAIN = re.compile(r"[+!_/\s'#`]")
_WIDGET_COLOR = re.compile(r"\A#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})\Z")
_URL = re.compile(r"\Ahttps?://[^\s/?#]+(?::\d+)?(?:[/?#]\S*)?\Z", re.IGNORECASE)


class ValidationError(Exception):
    """Input Chatwoot would reject; the message names the rule and the fix."""


def password_problems(password: str) -> list:
    """The rules ``password`` breaks (empty when Chatwoot accepts it)."""
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append(f"is shorter than {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        problems.append(f"is longer than {PASSWORD_MAX} characters")
    if not re.search(r"[A-Z]", password):
        problems.append("has no uppercase letter (A-Z)")
    if not re.search(r"[a-z]", password):
        problems.append("has no lowercase letter (a-z)")
    if not re.search(r"[0-9]", password):
        problems.append("has no digit (0-9)")
    if not any(char in PASSWORD_SPECIALS for char in password):
        problems.append(f"has no special character (one of {PASSWORD_SPECIALS})")
    return problems


def password_message(problems: list, what: str) -> str:
    return (
        f"{what} does not meet Chatwoot's password policy: it {', '.join(problems)}; use 6-128 characters "
        "with at least one uppercase letter, one lowercase letter, one digit and one special character"
    )


def validate_password(password: str, what: str = "super_admin.password") -> None:
    problems = password_problems(password)
    if problems:
        raise ValidationError(password_message(problems, what))


def normalize_email(email: str) -> str:
    """What Devise stores: surrounding whitespace stripped, lower case."""
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    """Why Chatwoot would reject ``email`` (already normalised), or None."""
    if not email:
        return "is empty"
    if len(email) > EMAIL_MAX:
        return f"is longer than {EMAIL_MAX} characters"
    if not _DEVISE_EMAIL.match(email):
        return "is not of the form local@domain (exactly one @, no spaces)"
    local, domain = email.split("@", 1)
    if not _LOCAL_PART.match(local):
        return "has characters not allowed before the @"
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return "has a dot at the start or end of the part before the @, or two dots in a row"
    if _PROHIBITED_DOMAIN.search(domain):
        return "has a character not allowed in a domain (+ ! _ / ' # ` or a space)"
    if not _DOMAIN_CHARS.match(domain):
        return "has characters not allowed in the domain (letters, digits, dots and hyphens only)"
    if "." not in domain:
        return "has a domain without a dot"
    if ".." in domain or domain.startswith((".", "-")) or domain.endswith((".", "-")) or "-." in domain:
        return "has a malformed domain (empty label, or a label starting or ending with a hyphen)"
    if any(len(label) > 63 for label in domain.split(".")):
        return "has a domain label longer than 63 characters"
    return None


def validate_email(email: str, what: str = "super_admin.email") -> str:
    """The normalised address; raises ValidationError when Chatwoot would reject it."""
    normalized = normalize_email(email)
    problem = email_problem(normalized)
    if problem:
        raise ValidationError(f"{what} {email!r} is not an e-mail address Chatwoot accepts: it {problem}")
    return normalized


# The inbox name format rule of v4.2 and older (app/models/inbox.rb before #11597), Ruby's ^^\b[^/\\<>@]*\b$
# with multiline: true: a name that starts and ends with a word character and holds none of / \ < > @.
INBOX_NAME_FORMAT_UNTIL = (4, 3, 0)
_OLD_INBOX_NAME = re.compile(r"\A\b[^/\\<>@]*\b\Z")


def inbox_name_problem(name, version=None) -> str | None:
    """Why Chatwoot ``version`` (a tag; the newest supported when None) would refuse an inbox ``name``, or None."""
    if name is None or not str(name).strip():
        return "is empty (Chatwoot requires a name)"
    release = parse_version(version or NEWEST)
    if release < INBOX_NAME_FORMAT_UNTIL and not _OLD_INBOX_NAME.match(str(name)):
        return (
            f"is not accepted by Chatwoot {version}: before v4.3.0 a website inbox name must start and end with "
            "a letter or digit and contain none of / \\ < > @"
        )
    return None


def config_value_for_write(value):
    """What is written for a desired installation config value: booleans as the strings the super admin UI
    stores (``true`` -> ``"true"``); everything else as given."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def config_value_equivalents(value) -> list:
    """Stored values that mean the same as the desired ``value`` (none of them is rewritten).

    The written form itself, and for numbers their decimal text and back (``40`` and ``"40"``): Chatwoot reads
    numeric configs with ``to_i``. A stored boolean is NOT the same as ``"true"``/``"false"``: before v4.12.0 a
    boolean ``false`` leaves sign-up open where the string closes it, so it is rewritten as the string.
    """
    written = config_value_for_write(value)
    same = [written]
    if isinstance(written, int) and not isinstance(written, bool):
        same.append(str(written))
    elif isinstance(written, float) and not math.isnan(written):
        same.append(repr(written))
        if written.is_integer():
            same += [int(written), str(int(written))]
    elif isinstance(written, str) and re.fullmatch(r"-?(0|[1-9][0-9]*)", written):
        same.append(int(written))
    return same


def validate_widget_color(color: str, what: str) -> str:
    if not _WIDGET_COLOR.match(color or ""):
        raise ValidationError(f"{what} {color!r} is not a CSS hex colour; use the form #1f93ff")
    return color


def validate_website_url(url: str, what: str) -> str:
    if not _URL.match(url or ""):
        raise ValidationError(f"{what} {url!r} is not an http(s) URL; use the site's address, e.g. https://example.com")
    return url


def _text(value, what: str) -> str:
    if value is None or not str(value).strip():
        raise ValidationError(f"{what} is empty; give it a name")
    return str(value).strip()


def normalize_bootstrap(
    super_admin: dict | None,
    accounts: list | None,
    inboxes: list | None,
    installation_configs: dict | None,
    clear_onboarding: bool,
) -> dict:
    """Validate the bootstrap module's options and build the parameters of the Ruby script.

    Raises ValidationError (nothing has been contacted yet). The result holds the password, so it must only be
    passed as runner params (which are never logged).
    """
    accounts = [_text(name, f"accounts[{index}]") for index, name in enumerate(accounts or [])]
    seen = set()
    for name in accounts:
        if name in seen:
            raise ValidationError(f"account {name!r} is listed twice in accounts; list each account once")
        seen.add(name)

    admin = None
    if super_admin:
        email = super_admin.get("email")
        if email is None:
            raise ValidationError("super_admin.email is required")
        password = super_admin.get("password")
        if password is None:
            raise ValidationError("super_admin.password is required")
        validate_password(password)
        update_password = super_admin.get("update_password") or "on_create"
        if update_password not in UPDATE_PASSWORD_CHOICES:
            raise ValidationError(
                f"super_admin.update_password is {update_password!r}; use one of {', '.join(UPDATE_PASSWORD_CHOICES)}"
            )
        if not accounts:
            raise ValidationError(
                "super_admin needs at least one entry in accounts: Chatwoot creates the first super admin "
                "together with its account (the first one listed)"
            )
        admin = {
            "name": _text(super_admin.get("name"), "super_admin.name"),
            "email": validate_email(email),
            "password": password,
            "update_password": update_password,
        }

    normalized_inboxes = []
    keys = set()
    for index, inbox in enumerate(inboxes or []):
        what = f"inboxes[{index}]"
        if not isinstance(inbox, dict):
            raise ValidationError(f"{what} must be a dict with account, name and website_url")
        name_problem = inbox_name_problem(inbox.get("name"))
        if name_problem:
            raise ValidationError(f"{what}.name {name_problem}; give the inbox a name")
        entry = {
            "account": _text(inbox.get("account"), f"{what}.account"),
            "name": _text(inbox.get("name"), f"{what}.name"),
            "website_url": validate_website_url(inbox.get("website_url"), f"{what}.website_url"),
            "widget_color": validate_widget_color(
                inbox.get("widget_color") or DEFAULT_WIDGET_COLOR, f"{what}.widget_color"
            ),
        }
        for optional in ("welcome_title", "welcome_tagline"):
            if inbox.get(optional) is not None:
                entry[optional] = str(inbox[optional])
        key = (entry["account"], entry["name"])
        if key in keys:
            raise ValidationError(f"inbox {entry['name']!r} of account {entry['account']!r} is listed twice")
        keys.add(key)
        normalized_inboxes.append(entry)

    configs = {}
    for name, value in (installation_configs or {}).items():
        name = _text(name, "an installation_configs name")
        if not re.match(r"\A[A-Z][A-Z0-9_]*\Z", name):
            raise ValidationError(
                f"installation_configs name {name!r} is not an installation config name; "
                "they are upper case, e.g. INSTALLATION_NAME"
            )
        configs[name] = {"value": config_value_for_write(value), "same": config_value_equivalents(value)}

    return {
        "super_admin": admin,
        "accounts": accounts,
        "inboxes": normalized_inboxes,
        "installation_configs": configs,
        "clear_onboarding": bool(clear_onboarding),
    }


def input_problems(admin_email, admin_password, inboxes, version=None) -> list:
    """Everything Chatwoot ``version`` would refuse among the app role's inputs, as messages (empty: all good).

    ``admin_email`` is the first super admin's e-mail, ``admin_password`` its password ('' or None when the
    role generates one, which always meets the policy), ``inboxes`` the website inboxes (dicts with ``name``,
    ``website_url`` and optionally ``widget_color``), ``version`` the Chatwoot tag to deploy (the newest
    supported when empty). Nothing is contacted: the role can refuse before any change.
    """
    problems = []
    if version:
        try:
            parse_version(version)
        except ValueError as exc:
            problems.append(f"cannot check the input against Chatwoot {version!r}: {exc}")
            version = None
    if admin_email is None or not str(admin_email).strip():
        problems.append("the super admin e-mail is empty; set the address the first super admin signs in with")
    else:
        problem = email_problem(normalize_email(str(admin_email)))
        if problem:
            problems.append(
                f"the super admin e-mail {admin_email!r} is not an address Chatwoot's installation accepts: it "
                f"{problem}"
            )
    if admin_password:
        found = password_problems(str(admin_password))
        if found:
            problems.append(password_message(found, "the super admin password"))
    if inboxes is None:
        inboxes = []
    if not isinstance(inboxes, (list, tuple)):
        return [*problems, "the inboxes must be a list of dicts with name and website_url"]
    seen = {}
    for index, inbox in enumerate(inboxes):
        if not isinstance(inbox, dict):
            problems.append(f"inbox {index + 1} is not a dict; give each inbox a name and a website_url")
            continue
        name = inbox.get("name")
        label = f"inbox {index + 1}" + (f" ({str(name).strip()!r})" if name is not None and str(name).strip() else "")
        problem = inbox_name_problem(name, version)
        if problem:
            problems.append(f"the name of {label} {problem}")
        elif str(name).strip() in seen:
            problems.append(
                f"{label} has the same name as inbox {seen[str(name).strip()] + 1}; inboxes are told apart by "
                "name, give each its own"
            )
        else:
            seen[str(name).strip()] = index
        url = inbox.get("website_url")
        if not _URL.match(str(url or "")):
            problems.append(
                f"the website_url of {label} ({url!r}) is not an http(s) URL; use the site's address, e.g. "
                "https://www.example.com"
            )
        color = inbox.get("widget_color")
        if color is not None and not _WIDGET_COLOR.match(str(color)):
            problems.append(f"the widget_color of {label} ({color!r}) is not a CSS hex colour; use the form #1f93ff")
    return problems
