#!/usr/bin/python
# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rails_runner
short_description: Run Ruby in the running Chatwoot rails container with rails runner
version_added: 0.1.0
description:
  - Runs Ruby code with C(bundle exec rails runner) inside the running Chatwoot C(rails) container, through the
    Docker SDK for Python's exec API (working directory C(/app)).
  - The container is found from the Docker Compose project in O(project_src) (its compose project name) and
    O(service), or named directly with O(container).
  - The code and O(params) reach Ruby through environment variables; parameters are never interpolated into
    code. In Ruby, C(SelfhostRunner.params) is the parameters as a Hash (string keys) and
    C(SelfhostRunner.check_mode?) tells whether Ansible runs in check mode.
  - The code reports its outcome by calling C(SelfhostRunner.result) exactly once, with the keyword argument
    C(changed) (V(true) or V(false)) and any other keyword arguments it wants to return; the module reads them
    from one marked line of the output (the marker holds a random value unique to the run, so logs or data cannot
    forge it). C(SelfhostRunner.warn) with a message adds an Ansible warning.
  - A run fails when the code raises (the exception's class, message and backtrace are returned), when rails
    runner exits with a non-zero status, when no or several result lines were printed, or when the run passes
    O(timeout) (the process is then stopped with TERM, then KILL).
  - In check mode the code still runs, but inside a database transaction that is always rolled back; effects
    outside the database (Redis, files, HTTP calls, e-mail) are the code's job to skip when
    C(SelfhostRunner.check_mode?) is true.
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
      - The code runs with C(SelfhostRunner.check_mode?) true inside a rolled-back database transaction; effects
        outside the database are the code's to skip.
  diff_mode:
    support: none
    details:
      - The module does not know what the code changes; the code can return a description in RV(result).
options:
  code:
    description:
      - Ruby source to run. Use P(ansible.builtin.file#lookup) to run a file kept on the controller.
      - Mutually exclusive with O(script).
    type: str
  script:
    description:
      - Path of a Ruby file B(on the managed host) (where the module runs, not in the container) whose content
        is run like O(code).
      - Mutually exclusive with O(code).
    type: path
  params:
    description:
      - Parameters for the code, passed as JSON in an environment variable and available as
        C(SelfhostRunner.params).
      - May hold secrets. The option is C(no_log), so Ansible replaces every one of its values (strings and
        numbers) with C(********) wherever it appears in the module's output, even inside longer strings; do not
        return parameter values from the code, and keep non-secret values out of O(params) when you need them
        in the output.
    type: dict
    default: {}
  env:
    description:
      - Extra environment variables for the run (not secret; use O(params) for secrets).
      - The names C(SELFHOST_RUNNER_CODE), C(SELFHOST_RUNNER_PARAMS), C(SELFHOST_RUNNER_NONCE) and
        C(SELFHOST_RUNNER_CHECK_MODE) are reserved.
    type: dict
    default: {}
notes:
  - The module does not know what the code does; RV(ignore:changed) is what the code reports.
  - C(SelfhostRunner.result) takes keyword arguments; they are returned as RV(result).
  - The parameters stay in the environment of the rails runner process inside the container (readable by root
    in the container) until it ends; Ruby's C(ENV) no longer holds them once the wrapper has read them.
seealso:
  - module: selfhost.chatwoot.bootstrap
"""

EXAMPLES = r"""
- name: Count the users of the deployed Chatwoot
  selfhost.chatwoot.rails_runner:
    project_src: /opt/chatwoot
    code: |
      SelfhostRunner.result(changed: false, users: User.count)
  register: users

- name: Rename an account, honouring check mode through the rolled-back transaction
  selfhost.chatwoot.rails_runner:
    project_src: /opt/chatwoot
    params:
      account_id: 1
      name: Support
    code: |
      account = Account.find(SelfhostRunner.params["account_id"])
      account.update!(name: SelfhostRunner.params["name"]) if account.name != SelfhostRunner.params["name"]
      SelfhostRunner.result(changed: account.saved_changes?, name: account.name)

- name: Reset all Rack::Attack counters (skipped in check mode; Redis is outside the transaction)
  selfhost.chatwoot.rails_runner:
    project_src: /opt/chatwoot
    code: |
      Rack::Attack.reset! unless SelfhostRunner.check_mode?
      SelfhostRunner.result(changed: true)

- name: Run a Ruby file kept next to the playbook
  selfhost.chatwoot.rails_runner:
    container: chatwoot-rails-1
    code: "{{ lookup('ansible.builtin.file', 'files/report.rb') }}"
    timeout: 600
"""

RETURN = r"""
result:
  description: The keyword arguments the code passed to C(SelfhostRunner.result).
  returned: success
  type: dict
  sample: {"users": 3}
rc:
  description: Exit status of rails runner; null when it could not be read (for example after a timeout).
  returned: when the code ran
  type: int
  sample: 0
stdout:
  description: The last 20,000 characters of standard output, without the result line.
  returned: when the code ran
  type: str
  sample: ""
stderr:
  description: The last 20,000 characters of standard error.
  returned: when the code ran
  type: str
  sample: ""
timed_out:
  description: Whether the run passed O(timeout) and was stopped.
  returned: when the code ran
  type: bool
  sample: false
error:
  description: The exception the code raised (class, message, backtrace), or null.
  returned: when the code ran
  type: dict
  sample: {"class": "RuntimeError", "message": "boom", "backtrace": ["(selfhost code):1:in `<main>'"]}
container:
  description: Name of the container the code ran in.
  returned: when the container was found
  type: str
  sample: chatwoot-rails-1
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.selfhost.chatwoot.plugins.module_utils._project import project_argument_spec
from ansible_collections.selfhost.chatwoot.plugins.module_utils._rails_runner import module_run


def main():
    module = AnsibleModule(
        argument_spec=project_argument_spec(
            {
                "code": {"type": "str"},
                "script": {"type": "path"},
                "params": {"type": "dict", "default": {}, "no_log": True},
                "env": {"type": "dict", "default": {}},
            },
            container=True,
        ),
        mutually_exclusive=[("code", "script")],
        required_one_of=[("code", "script"), ("project_src", "container")],
        supports_check_mode=True,
    )
    code = module.params["code"]
    if module.params["script"]:
        try:
            with open(module.params["script"], encoding="utf-8") as handle:
                code = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            module.fail_json(
                msg=f"cannot read script {module.params['script']}: {exc}; the path is on the managed host "
                "(use code with a file lookup for a file on the controller)"
            )
    if not code or not code.strip():
        module.fail_json(msg="the Ruby code is empty; set code or script")

    run = module_run(module, code, module.params["params"], env=module.params["env"])
    for warning in run.warnings:
        module.warn(warning)
    values = run.as_return()
    values["container"] = run.container
    if not run.ok:
        module.fail_json(msg=run.msg, **values)
    module.exit_json(changed=run.changed, **values)


if __name__ == "__main__":
    main()
