#!/usr/bin/python
# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: bootstrap
short_description: Idempotently set up a fresh Chatwoot - first super admin, accounts, website inboxes, settings
version_added: 0.1.0
description:
  - Runs a Ruby script shipped in this collection in the running Chatwoot C(rails) container (as
    M(selfhost.chatwoot.rails_runner) does) to ensure, in one database transaction,
  - the first super admin, created like Chatwoot's onboarding form does (C(AccountBuilder) with C(super_admin)
    and C(confirmed)) only when no super admin exists yet; an existing super admin with that e-mail gets its
    name and confirmation ensured, and its password only with O(super_admin.update_password=always);
  - named accounts (created when missing; the super admin becomes an administrator of each);
  - website (web widget) inboxes, identified by account and name, returning their C(website_token);
  - installation configs (such as C(INSTALLATION_NAME) or C(ENABLE_ACCOUNT_SIGNUP)), written through the
    C(InstallationConfig) model only when the stored value means something else (booleans are written as the
    strings C("true")/C("false"), as the super admin UI stores them);
  - and, afterwards, clears the first-run onboarding flag (Redis key C(alfred:CHATWOOT_INSTALLATION_ONBOARDING)),
    so the public onboarding page no longer offers to create an administrator.
  - The e-mail address and password are checked against Chatwoot's rules before any container is contacted.
  - Nothing is written when any step fails (the transaction is rolled back).
author:
  - selfhost.chatwoot contributors (@selfhost)
requirements:
  - Docker SDK for Python (C(docker)) on the managed host
  - access to the Docker daemon running the Chatwoot stack
extends_documentation_fragment:
  - selfhost.chatwoot.attributes
  - selfhost.chatwoot.project
  - selfhost.chatwoot.project.CONTAINER
attributes:
  check_mode:
    support: full
    details:
      - The script runs inside a rolled-back transaction and leaves Redis alone; RV(changes) lists what would
        change.
  diff_mode:
    support: full
    details:
      - One line per change made (in check mode, that would be made) to the super admin, accounts, inboxes,
        installation configs and onboarding flag, naming the record and the changed fields; never a password or
        an installation config's value.
options:
  super_admin:
    description:
      - The super admin to ensure. Requires at least one entry in O(accounts); the first one is the account
        the super admin is created with.
      - When another super admin exists and none has O(super_admin.email), the module fails (it only creates
        the first super admin).
    type: dict
    suboptions:
      name:
        description: Full name.
        type: str
        required: true
      email:
        description:
          - E-mail address (the login). Stored in lower case, as Chatwoot does.
        type: str
        required: true
      password:
        description:
          - Password; Chatwoot requires 6 to 128 characters with at least one uppercase letter, one lowercase
            letter, one digit and one special character.
        type: str
        required: true
      update_password:
        description:
          - V(on_create) sets the password only when the super admin is created.
          - V(always) also sets it on an existing super admin whose password does not match.
        type: str
        choices: [on_create, always]
        default: on_create
  accounts:
    description:
      - Names of accounts to ensure. The first is the super admin's account when the super admin is created.
      - When several accounts share a name, the oldest is used.
    type: list
    elements: str
    default: []
  inboxes:
    description:
      - Website (web widget) inboxes to ensure, identified by O(inboxes[].account) and O(inboxes[].name).
    type: list
    elements: dict
    default: []
    suboptions:
      account:
        description: Name of the account the inbox belongs to (from O(accounts) or already existing).
        type: str
        required: true
      name:
        description: Name of the inbox.
        type: str
        required: true
      website_url:
        description: Address of the website the widget is embedded in.
        type: str
        required: true
      widget_color:
        description: Colour of the widget, as C(#rrggbb).
        type: str
        default: '#1f93ff'
      welcome_title:
        description: Title of the widget's welcome screen; left alone when not set.
        type: str
      welcome_tagline:
        description: Tagline of the widget's welcome screen; left alone when not set.
        type: str
  installation_configs:
    description:
      - Installation configs to set, name to value (for example C(INSTALLATION_NAME), C(ENABLE_ACCOUNT_SIGNUP)).
      - Booleans are written as the strings V("true") and V("false"), which is what the super admin UI stores
        and what closes sign-up on every release (before Chatwoot 4.12.0 only the STRING V("false") blocks
        C(ENABLE_ACCOUNT_SIGNUP); a boolean V(false), which Chatwoot itself seeds, leaves sign-up OPEN). A
        stored boolean is therefore rewritten as the string.
      - A stored value meaning the same as the wanted one is left alone and reports no change (the string
        V("false") for V(false), V("40") for V(40) and the other way round). Other values are written as given.
    type: dict
    default: {}
  clear_onboarding:
    description:
      - Delete the onboarding flag once a super admin exists. With no super admin, the flag is kept and a
        warning is given.
    type: bool
    default: true
  state_file:
    description:
      - A file on the managed host (0600) where the module keeps, after each run that succeeded, a salted digest
        of its input and the rails image ID, an observation of every row and the Redis flag the script reads,
        and the result.
      - When the next run finds the same input, the same image and the same rows, the script would find
        nothing to do, and the module answers from this file without booting Rails (RV(rails_booted) is
        false); anything else, or an observation that cannot be made, runs the script. No password is kept.
      - Needs O(project_src) (the observation reads the database and Redis the way Chatwoot does, from its
        C(.env)), psycopg (or psycopg2) and redis-py on the managed host; without them the script always runs.
    type: path
notes:
  - Change descriptions in RV(changes) name records, never values (passwords and installation config values may
    be secret).
seealso:
  - module: selfhost.chatwoot.rails_runner
"""

EXAMPLES = r"""
- name: First super admin, one account with a website inbox, sign-up closed
  selfhost.chatwoot.bootstrap:
    project_src: /opt/chatwoot
    super_admin:
      name: Ada Admin
      email: admin@example.com
      password: "{{ vault_chatwoot_admin_password }}"
    accounts:
      - Example Support
    inboxes:
      - account: Example Support
        name: Website
        website_url: https://www.example.com
    installation_configs:
      INSTALLATION_NAME: Example Support
      ENABLE_ACCOUNT_SIGNUP: false  # written as the string "false": closed on every release
  register: chatwoot_bootstrap

- name: Show the widget token for the website snippet
  ansible.builtin.debug:
    msg: "{{ chatwoot_bootstrap.inboxes[0].website_token }}"

- name: Rotate the super admin's password
  selfhost.chatwoot.bootstrap:
    project_src: /opt/chatwoot
    super_admin:
      name: Ada Admin
      email: admin@example.com
      password: "{{ vault_chatwoot_admin_password_new }}"
      update_password: always
    accounts:
      - Example Support
"""

RETURN = r"""
changes:
  description: What changed (in check mode, what would change), one human-readable line each, without secrets.
  returned: success
  type: list
  elements: str
  sample: ["create super admin admin@example.com with account \"Example Support\"", "clear the onboarding flag"]
super_admin:
  description: The super admin; null when O(super_admin) is not set. C(id) is null in check mode for a super
    admin that would be created.
  returned: success
  type: dict
  sample: {"id": 1, "email": "admin@example.com", "created": true}
accounts:
  description: Account name to ID (null in check mode for accounts that would be created).
  returned: success
  type: dict
  sample: {"Example Support": 1}
inboxes:
  description: The website inboxes, in the order of O(inboxes). C(id) and C(website_token) are null in check mode
    for inboxes that would be created.
  returned: success
  type: list
  elements: dict
  sample: [{"account": "Example Support", "name": "Website", "id": 1, "website_token": "x3Gd8yq2oZ1Jtp6SnmD4A5bE",
            "created": true}]
installation_configs:
  description: Names of the installation configs that were (or would be) created or changed.
  returned: success
  type: list
  elements: str
  sample: ["ENABLE_ACCOUNT_SIGNUP"]
onboarding_cleared:
  description: Whether the onboarding flag was deleted by this run (always false in check mode).
  returned: success
  type: bool
  sample: true
rails_booted:
  description: Whether the script ran in Rails; false when O(state_file) showed that nothing changed since the
    last run.
  returned: success
  type: bool
  sample: false
rerun_reason:
  description: Why the script ran although O(state_file) was given (null when it did not run).
  returned: when O(state_file) is set
  type: str
  sample: rows changed since the last run in channel_web_widgets
container:
  description: Name of the container the script ran in.
  returned: when the container was found
  type: str
  sample: chatwoot-rails-1
rc:
  description: Exit status of rails runner.
  returned: when the script ran
  type: int
  sample: 0
stderr:
  description: The last 20,000 characters of the script's standard error.
  returned: when the script failed
  type: str
  sample: ""
error:
  description: The exception the script raised (class, message, backtrace).
  returned: when the script raised an exception
  type: dict
  sample: {"class": "RuntimeError", "message": "inbox \"Website\": there is no account \"Sales\"", "backtrace": []}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.selfhost.chatwoot.plugins.module_utils._bootstrap_script import BOOTSTRAP_RUBY, bootstrap_diff
from ansible_collections.selfhost.chatwoot.plugins.module_utils._bootstrap_state import (
    fingerprint,
    new_salt,
    read_state_file,
    reuse_problem,
    saved_result,
    state_text,
    write_state_file,
)
from ansible_collections.selfhost.chatwoot.plugins.module_utils._bootstrap_state import observe as observe_rows
from ansible_collections.selfhost.chatwoot.plugins.module_utils._chatwoot_rules import (
    DEFAULT_WIDGET_COLOR,
    ValidationError,
    normalize_bootstrap,
)
from ansible_collections.selfhost.chatwoot.plugins.module_utils._pg_driver import load_driver
from ansible_collections.selfhost.chatwoot.plugins.module_utils._pgvector import merge_settings as pg_merge_settings
from ansible_collections.selfhost.chatwoot.plugins.module_utils._pgvector import (
    settings_from_env as pg_settings_from_env,
)
from ansible_collections.selfhost.chatwoot.plugins.module_utils._project import (
    docker_client,
    project_argument_spec,
    project_connection,
)
from ansible_collections.selfhost.chatwoot.plugins.module_utils._rails_runner import (
    WRAPPER,
    locate_container,
    module_run,
)
from ansible_collections.selfhost.chatwoot.plugins.module_utils._rate_limit import (
    merge_settings as redis_merge_settings,
)
from ansible_collections.selfhost.chatwoot.plugins.module_utils._rate_limit import (
    settings_from_env as redis_settings_from_env,
)


def rails_image_id(module) -> str | None:
    """The image ID of the container the script would run in, or None when it cannot be read."""
    options = module.params
    try:
        client = docker_client(base_url=options["docker_host"])
        try:
            return locate_container(client, options["project_src"], options["service"], options["container"]).attrs[
                "Image"
            ]
        finally:
            client.close()
    except Exception:  # no SDK, no daemon, no container: the script's own run reports that
        return None


def observe(module, script_params: dict) -> dict | None:
    """The rows and the Redis flag the script reads, read without Rails; None when they cannot be read."""
    driver, import_error = load_driver()
    if driver is None or import_error:
        return None
    try:
        # Optional: without redis-py the observation cannot be made and the script runs, as without state_file.
        import redis  # pylint: disable=import-outside-toplevel

        src = module.params["project_src"]
        pg, _note = project_connection(src, lambda project: pg_settings_from_env(project.env), pg_merge_settings)
        rd, _note = project_connection(src, lambda project: redis_settings_from_env(project.env), redis_merge_settings)

        def pg_connect():
            return driver.connect(
                host=pg.host,
                port=pg.port,
                user=pg.user,
                password=pg.password,
                dbname=pg.dbname,
                sslmode=pg.sslmode,
                connect_timeout=10,
                application_name="selfhost.chatwoot.bootstrap",
            )

        client = redis.Redis(
            host=rd.host,
            port=rd.port,
            db=rd.db,
            username=rd.username,
            password=rd.password,
            ssl=rd.ssl,
            socket_timeout=10,
            socket_connect_timeout=10,
        )
        try:
            return observe_rows(pg_connect, client.get, (script_params.get("super_admin") or {}).get("email"))
        finally:
            client.close()
    except Exception:  # any failure means "cannot tell": the script runs, as without state_file
        return None


RESULT_KEYS = ("changes", "super_admin", "accounts", "inboxes", "installation_configs", "onboarding_cleared")


def main():
    module = AnsibleModule(
        argument_spec=project_argument_spec(
            {
                "super_admin": {
                    "type": "dict",
                    "options": {
                        "name": {"type": "str", "required": True},
                        "email": {"type": "str", "required": True},
                        "password": {"type": "str", "required": True, "no_log": True},
                        "update_password": {"type": "str", "choices": ["on_create", "always"], "default": "on_create"},
                    },
                },
                "accounts": {"type": "list", "elements": "str", "default": []},
                "inboxes": {
                    "type": "list",
                    "elements": "dict",
                    "default": [],
                    "options": {
                        "account": {"type": "str", "required": True},
                        "name": {"type": "str", "required": True},
                        "website_url": {"type": "str", "required": True},
                        "widget_color": {"type": "str", "default": DEFAULT_WIDGET_COLOR},
                        "welcome_title": {"type": "str"},
                        "welcome_tagline": {"type": "str"},
                    },
                },
                "installation_configs": {"type": "dict", "default": {}},
                "clear_onboarding": {"type": "bool", "default": True},
                "state_file": {"type": "path"},
            },
            container=True,
        ),
        required_one_of=[("project_src", "container")],
        supports_check_mode=True,
    )
    # Chatwoot's rules first: a bad e-mail or weak password fails before any container is contacted.
    try:
        script_params = normalize_bootstrap(
            module.params["super_admin"],
            module.params["accounts"],
            module.params["inboxes"],
            module.params["installation_configs"],
            module.params["clear_onboarding"],
        )
    except ValidationError as exc:
        module.fail_json(msg=str(exc))

    state_file = module.params["state_file"]
    if state_file and not module.params["project_src"]:
        module.fail_json(msg="state_file needs project_src (the observation reads the stack's .env)")
    saved = read_state_file(state_file) if state_file else None
    salt = saved["salt"] if saved else new_salt()
    current = None
    if state_file:
        current = fingerprint(BOOTSTRAP_RUBY + WRAPPER, script_params, rails_image_id(module), salt)
        reason = reuse_problem(saved, current, observe(module, script_params))
        if reason is None:
            values, warnings = saved_result(saved)
            for warning in warnings:
                module.warn(warning)
            module.exit_json(changed=False, rails_booted=False, rerun_reason=None, **values)

    run = module_run(module, BOOTSTRAP_RUBY, script_params, what="the bootstrap script")
    for warning in run.warnings:
        module.warn(warning)
    if not run.ok:
        module.fail_json(
            msg=f"bootstrap failed and changed nothing (its transaction was rolled back): {run.msg}",
            container=run.container,
            rc=run.rc,
            stderr=run.stderr,
            error=run.error,
            timed_out=run.timed_out,
        )
    data = run.result if isinstance(run.result, dict) else {}
    missing = [key for key in RESULT_KEYS if key not in data]
    if missing:
        module.fail_json(
            msg=f"the bootstrap script's result lacks {', '.join(missing)}; this is a bug in the collection"
        )
    values = {key: data[key] for key in RESULT_KEYS}
    if state_file:
        values["rerun_reason"] = reason
        if not module.check_mode:
            after = observe(module, script_params)
            if after is not None:
                write_state_file(state_file, state_text(salt, current, after, values, run.warnings))
            elif os.path.exists(state_file):
                os.unlink(state_file)  # a stale state must not be trusted next time
    if module._diff:
        values["diff"] = bootstrap_diff(data["changes"], module.check_mode)
    module.exit_json(changed=run.changed, rails_booted=True, container=run.container, rc=run.rc, **values)


if __name__ == "__main__":
    main()
