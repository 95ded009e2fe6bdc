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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.selfhost.chatwoot.plugins.module_utils._bootstrap_script import BOOTSTRAP_RUBY, bootstrap_diff
from ansible_collections.selfhost.chatwoot.plugins.module_utils._chatwoot_rules import (
    DEFAULT_WIDGET_COLOR,
    ValidationError,
    normalize_bootstrap,
)
from ansible_collections.selfhost.chatwoot.plugins.module_utils._project import project_argument_spec
from ansible_collections.selfhost.chatwoot.plugins.module_utils._rails_runner import module_run

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
    if module._diff:
        values["diff"] = bootstrap_diff(data["changes"], module.check_mode)
    module.exit_json(changed=run.changed, container=run.container, rc=run.rc, **values)


if __name__ == "__main__":
    main()
