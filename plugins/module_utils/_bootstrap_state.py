# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""When ``selfhost.chatwoot.bootstrap`` may answer without booting Rails.

A rails runner boot costs tens of seconds on every run, and on an idempotent re-run the bootstrap script finds
nothing to do. The script's outcome depends on three things only: the script and its input, the Chatwoot code
it runs in (the rails container's image), and the rows and the Redis key it reads. So after a run that
succeeded, the module keeps in a state file (0600) a fingerprint of the first two and an observation of the
third taken right after the run, when the host is exactly as the script left it: nothing left to do.

On the next run both are taken again, without Rails (one SQL query and one Redis GET). When the fingerprint
and the observation are both unchanged, the script would find what it found last time, nothing to do, and
the module answers from the state file. Anything else (another input or password, another image, any of the
rows edited in the UI, the onboarding flag back, no state file, an observation that cannot be made) runs the
script. A wrong "unchanged" is the only unsafe answer, so the observation covers every column the script reads:

- users: the super admins and the user with the given e-mail (id, e-mail, name, type, confirmed_at,
  encrypted_password); not sign-in bookkeeping, which changes at every login and is never read;
- accounts (id, name), account_users (account, user, role; not active_at, which changes all the time);
- inboxes (id, account, name, channel type and id) and channel_web_widgets (the fields the script compares and
  the website_token it returns);
- installation_configs (name, value, locked);
- Redis: whether ``alfred:CHATWOOT_INSTALLATION_ONBOARDING`` holds a value (the flag the script clears).

The password never reaches the state file: the fingerprint holds a PBKDF2 digest of the input, salted per
state file.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile

STATE_VERSION = 1
PBKDF2_ROUNDS = 200_000
ONBOARDING_KEY = "alfred:CHATWOOT_INSTALLATION_ONBOARDING"

# One row of digests, one column per table, in this order. %(email)s: the super admin's e-mail (or NULL).
OBSERVED_TABLES = (
    "users",
    "accounts",
    "account_users",
    "inboxes",
    "channel_web_widgets",
    "installation_configs",
)
_DIGEST = "coalesce(md5(string_agg({columns}, E'\\n' ORDER BY {order})), '')"
OBSERVATION_SQL = "SELECT " + ", ".join(
    f"(SELECT {_DIGEST.format(columns=columns, order=order)} FROM {table}{where})"
    for table, columns, order, where in (
        (
            "users",
            "concat_ws('|', id, email, name, type, confirmed_at, encrypted_password)",
            "id",
            " WHERE type = 'SuperAdmin' OR email = %(email)s",
        ),
        ("accounts", "concat_ws('|', id, name)", "id", ""),
        ("account_users", "concat_ws('|', id, account_id, user_id, role)", "id", ""),
        ("inboxes", "concat_ws('|', id, account_id, name, channel_type, channel_id)", "id", ""),
        (
            "channel_web_widgets",
            "concat_ws('|', id, account_id, website_url, widget_color, welcome_title, welcome_tagline, website_token)",
            "id",
            "",
        ),
        ("installation_configs", "concat_ws('|', id, name, serialized_value::text, locked)", "id", ""),
    )
)


def input_digest(script: str, params: dict, salt: str) -> str:
    """A salted, slow digest of the script and its input (the input holds the super admin's password)."""
    canonical = json.dumps({"script": script, "params": params}, sort_keys=True, separators=(",", ":"))
    return hashlib.pbkdf2_hmac("sha256", canonical.encode(), salt.encode(), PBKDF2_ROUNDS).hex()


def fingerprint(script: str, params: dict, image_id: str | None, salt: str) -> dict:
    return {"input": input_digest(script, params, salt), "image": image_id}


def new_salt() -> str:
    return secrets.token_hex(16)


def observation(digests, onboarding_flag: bool) -> dict:
    """The observation from the query's row (one digest per OBSERVED_TABLES entry) and the Redis flag."""
    digests = list(digests)
    if len(digests) != len(OBSERVED_TABLES):
        raise ValueError(f"expected {len(OBSERVED_TABLES)} digests, got {len(digests)}")
    tables = dict(zip(OBSERVED_TABLES, digests))  # noqa: B905 (lengths checked above; strict= needs Python 3.10)
    return {"tables": tables, "onboarding_flag": bool(onboarding_flag)}


def parse_state(text: str | None) -> dict | None:
    """The saved state, or None when there is none or it is not one this code wrote."""
    if not text:
        return None
    try:
        state = json.loads(text)
    except ValueError:
        return None
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        return None
    if not all(isinstance(state.get(key), dict) for key in ("fingerprint", "observation", "result")):
        return None
    if not isinstance(state.get("salt"), str) or not state["salt"]:
        return None
    return state


def reuse_problem(saved: dict | None, current_fingerprint: dict, current_observation: dict | None) -> str | None:
    """Why the script must run (a sentence), or None when the saved result still holds."""
    if saved is None:
        return "no state from an earlier run"
    if current_observation is None:
        return "the database or Redis could not be read without Rails"
    if not current_fingerprint.get("image"):
        return "the rails container's image could not be read"
    if saved["fingerprint"].get("input") != current_fingerprint["input"]:
        return "the input (or the bootstrap script) changed"
    if saved["fingerprint"].get("image") != current_fingerprint["image"]:
        return "the rails container runs another image"
    if saved["observation"].get("onboarding_flag") != current_observation["onboarding_flag"]:
        return "the onboarding flag changed in Redis"
    before = saved["observation"].get("tables", {})
    changed = [table for table in OBSERVED_TABLES if before.get(table) != current_observation["tables"].get(table)]
    if changed:
        return f"rows changed since the last run in {', '.join(changed)}"
    return None


def saved_result(saved: dict) -> tuple[dict, list]:
    """``(values, warnings)`` from the state file: the records the last run found, none created now."""
    result = dict(saved["result"], changes=[], onboarding_cleared=False, installation_configs=[])
    warnings = [str(warning) for warning in result.pop("warnings", None) or []]
    if isinstance(result.get("super_admin"), dict):
        result["super_admin"] = dict(result["super_admin"], created=False)
    result["inboxes"] = [dict(inbox, created=False) for inbox in result.get("inboxes") or []]
    return result, warnings


def state_text(salt: str, current_fingerprint: dict, current_observation: dict, result: dict, warnings=()) -> str:
    """The state file after a run that succeeded (``result``: the module's values; warnings are repeated)."""
    per_run = ("changes", "onboarding_cleared", "diff", "rerun_reason")
    keep = {key: value for key, value in result.items() if key not in per_run}
    keep["warnings"] = list(warnings)
    return (
        json.dumps(
            {
                "version": STATE_VERSION,
                "salt": salt,
                "fingerprint": current_fingerprint,
                "observation": current_observation,
                "result": keep,
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )


def read_state_file(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_state(handle.read())
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return None


def write_state_file(path: str, text: str) -> None:
    """Atomically, 0600: a reader sees the old state or the new one, never half of one."""
    directory = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(prefix=".bootstrap-state.", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def observe(pg_connect, redis_get, email: str | None) -> dict:
    """Take the observation: ``pg_connect()`` returns a DB-API connection, ``redis_get(key)`` a value or None.

    Raises whatever the drivers raise; the caller treats any failure as "cannot tell" (the script runs).
    """
    conn = pg_connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(OBSERVATION_SQL, {"email": email})
            row = cursor.fetchone()
        conn.rollback()
    finally:
        conn.close()
    value = redis_get(ONBOARDING_KEY)
    return observation(row, value not in (None, b"", ""))
