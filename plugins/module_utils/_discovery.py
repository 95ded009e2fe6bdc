# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn a host name from a compose project's ``.env`` into an address the Docker host can reach.

Inside the stack, ``POSTGRES_HOST=postgres`` and ``REDIS_URL=redis://redis:6379`` name compose services,
which only resolve on the project's network. Modules run on the Docker host, so a service name is
replaced by the service container's IP address (the container port then applies unchanged).
"""

from __future__ import annotations

import ipaddress

from ansible_collections.selfhost.chatwoot.plugins.module_utils._docker_project import (
    HAS_DOCKER,
    PROJECT_LABEL,
    SERVICE_LABEL,
    ContainerLookupError,
    DockerException,
    container_address,
    docker_client,
    find_service_container,
)

LOCAL_NAMES = ("localhost", "localhost.localdomain")


def is_address_literal(host: str | None) -> bool:
    """True for IP addresses, loopback names and unix socket paths: nothing to look up."""
    if not host or host.startswith("/") or host.lower() in LOCAL_NAMES:
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def resolve_service_host(project_name: str | None, host: str | None, client=None) -> tuple[str | None, str | None]:
    """(address, note). ``address`` is the container IP when ``host`` names a service of the project.

    When no container of that name exists the host is returned unchanged (it may be a real DNS name)
    with a ``note`` explaining why, for the connection error message. A service whose containers are
    all stopped raises ContainerLookupError: connecting could not work and the fix is to start it.
    """
    if is_address_literal(host) or not project_name:
        return host, None
    if client is None:
        if not HAS_DOCKER:
            return host, f"{host!r} was used as a host name: the Docker SDK for Python is not installed"
        try:
            client = docker_client()
        except ContainerLookupError as exc:
            return host, f"{host!r} was used as a host name: {exc}"
    try:
        containers = client.containers.list(
            all=True, filters={"label": [f"{PROJECT_LABEL}={project_name}", f"{SERVICE_LABEL}={host}"]}
        )
    except DockerException as exc:
        return host, f"{host!r} was used as a host name: listing containers failed ({exc})"
    if not containers:
        aliased = _container_by_alias(client, project_name, host)
        if aliased is not None:
            return container_address(aliased), f"{host!r} is a network alias of {aliased.name}"
        return host, f"{host!r} is not a service of compose project {project_name!r}, so it was used as a host name"
    container = find_service_container(client, project_name, host)
    return container_address(container), f"{host!r} is the service container {container.name}"


def _container_by_alias(client, project_name: str, name: str):
    """A running container of the project whose container name or network alias is ``name``."""
    try:
        candidates = client.containers.list(filters={"label": f"{PROJECT_LABEL}={project_name}"})
    except DockerException:
        return None
    for container in candidates:
        if container.name == name:
            return container
        networks = container.attrs.get("NetworkSettings", {}).get("Networks", {}) or {}
        if any(name in (settings.get("Aliases") or []) for settings in networks.values()):
            return container
    return None
