# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find the running containers of a compose project through the Docker SDK for Python.

Compose labels every container with ``com.docker.compose.project`` and ``com.docker.compose.service``;
looking them up by label finds the same containers whatever compose named them.
"""

from __future__ import annotations

import traceback

try:
    import docker
    from docker.errors import DockerException

    HAS_DOCKER = True
    DOCKER_IMPORT_ERROR = None
except ImportError:
    HAS_DOCKER = False
    DOCKER_IMPORT_ERROR = traceback.format_exc()

    class DockerException(Exception):
        """Placeholder so except clauses work without the SDK."""


PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


class ContainerLookupError(Exception):
    """No usable container; the message names the cause and the fix."""


def docker_client(base_url: str | None = None, timeout: int = 60):
    """A Docker client; raises ContainerLookupError when the daemon does not answer."""
    try:
        client = (
            docker.DockerClient(base_url=base_url, timeout=timeout) if base_url else docker.from_env(timeout=timeout)
        )
        client.ping()
    except DockerException as exc:
        raise ContainerLookupError(
            f"cannot reach the Docker daemon ({exc}); is Docker running and may this user use its socket?"
        ) from exc
    return client


def find_service_container(client, project: str, service: str):
    """The running container of ``service`` in compose project ``project``."""
    filters = {"label": [f"{PROJECT_LABEL}={project}", f"{SERVICE_LABEL}={service}"]}
    containers = client.containers.list(all=True, filters=filters)
    if not containers:
        raise ContainerLookupError(
            f"no container for service {service!r} of compose project {project!r}; "
            "deploy the stack first (selfhost.chatwoot.app) or check project_src / the service name"
        )
    running = [c for c in containers if c.status == "running"]
    if not running:
        states = ", ".join(f"{c.name}: {c.status}" for c in containers)
        raise ContainerLookupError(
            f"service {service!r} of compose project {project!r} is not running ({states}); "
            "start it with `docker compose up -d`"
        )
    # Several replicas are interchangeable for our purposes; take the oldest for stable results.
    return sorted(running, key=lambda c: c.attrs.get("Created", ""))[0]


def container_address(container) -> str:
    """An IP address of the container on one of its networks, reachable from the Docker host."""
    networks = container.attrs.get("NetworkSettings", {}).get("Networks", {}) or {}
    for name in sorted(networks):
        address = networks[name].get("IPAddress")
        if address:
            return address
    raise ContainerLookupError(
        f"container {container.name} has no IP address on a Docker network; is it using network_mode: host?"
    )
