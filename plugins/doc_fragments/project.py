# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options the project modules share; the argument_spec is module_utils._project.project_argument_spec."""

from __future__ import annotations


class ModuleDocFragment:
    # Every module that works on the compose project (bootstrap, pgvector, rails_runner, rate_limit_flush), all
    # members of meta/runtime.yml's action group `project`.
    DOCUMENTATION = r"""
options:
  project_src:
    description:
      - Directory of the Chatwoot Docker Compose project (holds C(compose.yaml) and C(.env); the app role's
        C(app_project_dir), C(/opt/chatwoot) by default).
      - The module reads the compose project name from it (to find the stack's containers by compose's labels)
        and the settings it needs from its C(.env), read as Docker Compose reads it, so that playbooks never
        repeat the stack's secrets.
      - Set it once for a play with C(module_defaults) and the action group C(group/selfhost.chatwoot.project).
    type: path
attributes:
  action_group:
    description: Use C(group/selfhost.chatwoot.project) in C(module_defaults) to set defaults (such as
      O(project_src)) for this module.
    support: full
    membership:
      - selfhost.chatwoot.project
"""

    # The modules that run code in a container of the stack (bootstrap, rails_runner).
    CONTAINER = r"""
options:
  service:
    description:
      - Compose service of O(project_src) whose running container runs the code.
    type: str
    default: rails
  container:
    description:
      - Name or ID of the container to run in, instead of discovering it from O(project_src).
      - One of O(project_src) and O(container) is required; O(container) wins when both are set.
    type: str
  docker_host:
    description:
      - Docker daemon address, for example V(unix:///var/run/docker.sock). Defaults to the environment
        (C(DOCKER_HOST)) or the local socket.
    type: str
  timeout:
    description:
      - Seconds the run may take, Rails boot included. When they pass, the process is stopped (TERM, then KILL)
        and the module fails.
    type: int
    default: 300
"""
