# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection settings for a module that talks to one service of a deployed Chatwoot stack.

The pgvector and rate_limit_flush modules do the same four steps, in this order:

1. read the compose project in ``project_src`` when it is given (its name and its ``.env``);
2. take the service's settings from that ``.env`` the way Chatwoot reads them (``from_env``);
3. let the module's explicit options override them (``merge``);
4. replace a host that names a compose service (``postgres``, ``redis``) with that container's address,
   since the module runs on the Docker host, outside the project's network.
"""

from __future__ import annotations

from ansible_collections.selfhost.chatwoot.plugins.module_utils._discovery import resolve_service_host
from ansible_collections.selfhost.chatwoot.plugins.module_utils._project import load_project


def project_connection(project_src, from_env, merge, resolve=resolve_service_host):
    """``(settings, note)`` for a service of the stack.

    ``from_env(project)`` returns the discovered settings (or None) and may raise when the ``.env`` cannot
    say where the service is; ``merge(discovered)`` applies the explicit options (``discovered`` is None
    without ``project_src``) and returns a settings object with a ``host`` attribute; ``resolve(project_name,
    host)`` returns ``(address, note)`` (``note`` explains the lookup, for connection error messages).
    Raises ProjectError (unusable directory or .env), and whatever ``from_env``, ``merge`` and ``resolve``
    raise (ContainerLookupError when the service's containers are stopped).
    """
    discovered = None
    project_name = None
    if project_src:
        project = load_project(project_src)
        project_name = project.name
        discovered = from_env(project)
    settings = merge(discovered)
    settings.host, note = resolve(project_name, settings.host)
    return settings, note
