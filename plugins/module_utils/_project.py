# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one home of "find the Chatwoot compose project and its settings" (``project_src``).

A project directory holds ``compose.yaml`` and ``.env``. From it the modules learn the compose project name
(to find service containers by compose's labels) and the stack's credentials, so playbooks never repeat
secrets. This file holds, in order:

- the options every project module shares (``project_argument_spec``, documented by the doc fragment
  ``selfhost.chatwoot.project``);
- reading the directory: ``.env`` parsed as Docker Compose reads it, the compose project name (pure logic);
- finding the project's containers through the Docker SDK for Python (compose labels);
- turning a host name from ``.env`` (a compose service such as ``postgres``) into an address the Docker host
  can reach;
- ``project_connection`` / ``service_settings``: the one path from ``project_src`` to a service's connection
  settings, for pgvector (PostgreSQL) and rate_limit_flush (Redis).
"""

from __future__ import annotations

import ipaddress
import os
import re
import traceback
from dataclasses import dataclass, field

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


# --- the options the project modules share ---------------------------------------------------------------

DEFAULT_SERVICE = "rails"
DEFAULT_TIMEOUT = 300


def project_argument_spec(options: dict | None = None, container: bool = False) -> dict:
    """The argument_spec of a module that works on the compose project: the shared options, then ``options``.

    Every such module takes ``project_src``. With ``container=True`` (modules that run code in a container of
    the stack) also ``service``, ``container``, ``docker_host`` and ``timeout``. The doc fragments
    ``selfhost.chatwoot.project`` and ``selfhost.chatwoot.project.CONTAINER`` document them; a module's own
    ``options`` may not redefine them.
    """
    spec = {"project_src": {"type": "path"}}
    if container:
        spec.update(
            service={"type": "str", "default": DEFAULT_SERVICE},
            container={"type": "str"},
            docker_host={"type": "str"},
            timeout={"type": "int", "default": DEFAULT_TIMEOUT},
        )
    clash = sorted(set(spec) & set(options or {}))
    if clash:
        raise ValueError(f"options {', '.join(clash)} are shared project options; do not define them again")
    spec.update(options or {})
    return spec


# --- reading the project directory -----------------------------------------------------------------------

COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
ENV_FILE_NAME = ".env"


class ProjectError(Exception):
    """The project directory cannot be used; the message names the cause and the fix."""


@dataclass
class Project:
    directory: str
    name: str
    env: dict = field(default_factory=dict)
    compose_file: str | None = None


class DotenvError(ValueError):
    """A ``.env`` Docker Compose would refuse too; the message names the line and the key, never a value."""


_BLANK = "\t\v\f\r \x85\xa0"  # compose-go's isSpace: whitespace that is not a line break
_ESCAPE = re.compile(r"\\(?:[abcfnrtv$\"\\]|0\d{0,3})")
_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    '"': '"',
    "\\": "\\",
}
_NAME = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")


def _expand_escape(match) -> str:
    text = match.group(0)
    if text == "\\$":
        return "$$"  # left for interpolation, which makes it one literal $
    if text[1] == "0":
        digits = text[2:]
        if len(digits) == 3 and all(d in "01234567" for d in digits) and int(digits, 8) <= 0o377:
            return chr(int(digits, 8))
        return text
    return _SIMPLE_ESCAPES[text[1]]


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``${`` at ``start`` (nested ``${`` counted), or -1."""
    depth, index = 0, start
    while index < len(text):
        if text.startswith("${", index):
            depth += 1
            index += 2
            continue
        if text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


def interpolate(value: str, lookup, where: str = "") -> str:
    """Compose's variable substitution over ``value``; ``lookup(name)`` returns a string or None."""
    out, index = [], 0
    while True:
        dollar = value.find("$", index)
        if dollar < 0:
            out.append(value[index:])
            return "".join(out)
        out.append(value[index:dollar])
        nxt = value[dollar + 1 : dollar + 2]
        if nxt == "$":
            out.append("$")
            index = dollar + 2
            continue
        named = _NAME.match(value, dollar + 1)
        if named:
            out.append(lookup(named.group(0)) or "")
            index = named.end()
            continue
        close = _closing_brace(value, dollar) if nxt == "{" else -1
        body = value[dollar + 2 : close] if close > 0 else ""
        name = _NAME.match(body)
        if not name:
            raise DotenvError(
                f"{where}a '$' that starts no variable; write $$ for a literal $, or quote the value in single quotes"
            )
        rest = body[name.end() :]
        current = lookup(name.group(0))
        if not rest:
            out.append(current or "")
        else:
            op = next((o for o in (":-", ":?", "-", "?") if rest.startswith(o)), None)
            if op is None:
                raise DotenvError(f"{where}${{{body[: name.end() + 1]}...}} is not a substitution compose knows")
            arg = interpolate(rest[len(op) :], lookup, where)
            missing = current is None or (op[0] == ":" and current == "")
            if op.endswith("-"):
                out.append(arg if missing else current)
            elif missing:
                raise DotenvError(f"{where}required variable {name.group(0)} is missing a value: {arg}")
            else:
                out.append(current)
        index = close + 1


def parse_env_file(text: str) -> dict:
    r"""Parse dotenv text into a dict exactly as Docker Compose v2 does (compose-go's dotenv package).

    Statements: blank lines and lines whose first non-blank character is ``#`` are skipped; ``export `` before
    a key is ignored; a key is letters, digits, ``_``, ``.``, ``[`` and ``]``, ended by ``=`` (or ``:``, YAML
    style); a key alone on its line takes its value from the environment (here: nothing). Blanks (not line
    breaks) around the key and after the ``=`` are dropped. Then the value:

    - unquoted: the rest of the line, cut at the first `` #`` (a SPACE then ``#``: ``a#b`` keeps its ``#``,
      ``a #b`` is ``a``), trailing whitespace removed, then interpolated (below);
    - single-quoted ``'...'``: taken literally up to the closing quote, line breaks included: no escapes
      except ``\'`` (a quote that does not close; its backslash goes), no interpolation;
    - double-quoted ``"..."``: up to the closing quote, ``\"`` a quote that does not close; then the escapes
      ``\\ \" \n \r \t \a \b \f \v \0NNN`` (octal) are replaced, ``\$`` becomes a literal ``$``, any other
      backslash stays as it is; then interpolated.

    Interpolation (unquoted and double-quoted values): ``$$`` is a literal ``$``; ``$NAME`` and ``${NAME}``
    are NAME's value; ``${NAME:-default}`` / ``${NAME-default}`` fall back when NAME is unset-or-empty / unset;
    ``${NAME:?message}`` / ``${NAME?message}`` are errors when NAME is unset-or-empty / unset; any other ``$``
    is an error. Compose looks NAME up in the environment of whoever runs it, then among the keys above it in
    the file; the modules only see the file, so only keys defined earlier in it count here.
    Text after a closing quote on the same line is read as the next statement, as compose does.

    Later keys win. Raises DotenvError where compose would refuse the file.
    """
    env: dict = {}
    text = text[1:] if text.startswith("\ufeff") else text
    pos, size, line = 0, len(text), 1

    def lookup(name):
        return env.get(name)

    while True:
        # the start of the next statement: skip whitespace and comment lines
        while pos < size and (text[pos].isspace() or text[pos] == "#"):
            if text[pos] == "#":
                newline = text.find("\n", pos)
                pos = size if newline < 0 else newline
                continue
            line += text[pos] == "\n"
            pos += 1
        if pos >= size:
            return env
        if re.match(r"export\s", text[pos:]):
            pos += len("export")
            while pos < size and text[pos] in _BLANK:
                pos += 1
        # the key
        end = pos
        while end < size and text[end] not in "=:\n":
            char = text[end]
            if not (char in _BLANK or char in "_.[]" or char.isalpha() or char.isnumeric()):
                raise DotenvError(f"line {line}: unexpected character {char!r} in a variable name")
            end += 1
        key = text[pos:end].rstrip()
        if " " in key:
            raise DotenvError(f"line {line}: a variable name cannot contain a space ({key!r})")
        if end >= size or text[end] == "\n":
            pos = end  # a name alone takes its value from the environment, which compose has and we do not
            continue
        pos = end + 1
        while pos < size and text[pos] in _BLANK:
            pos += 1
        where = f"line {line}, {key}: "
        quote = text[pos : pos + 1]
        if quote not in ("'", '"'):
            newline = text.find("\n", pos)
            raw = text[pos:] if newline < 0 else text[pos:newline]
            pos = size if newline < 0 else newline
            env[key] = interpolate(raw.split(" #", 1)[0].rstrip(), lookup, where)
            continue
        chars, escaped, index = [], False, pos + 1
        while index < size:
            char = text[index]
            if char != quote:
                if not escaped and char == "\\":
                    escaped = True
                else:
                    if escaped:
                        escaped = False
                        chars.append("\\")
                    chars.append(char)
                index += 1
                continue
            if escaped:
                escaped = False
                chars.append(char)
                index += 1
                continue
            break
        else:
            raise DotenvError(f"{where}the quoted value is not terminated; close its {quote}")
        value = "".join(chars)
        line += value.count("\n")
        if quote == '"':
            value = interpolate(_ESCAPE.sub(_expand_escape, value), lookup, where)
        env[key] = value
        pos = index + 1


_PLAIN_VALUE = re.compile(r"\A[A-Za-z0-9_./:@%+,=-]*\Z")


def dotenv_quote(value) -> str:
    r"""``value`` written for a ``.env`` so that Docker Compose reads it back unchanged, never interpolating.

        Plain values (letters, digits and ``_ . / : @ % + , = -``) stay as they are. Others go in single quotes,
        which compose takes literally (``$``, ``#``, ``"``, spaces and backslashes included), unless the value
        holds a ``'`` or a line break or ends with a backslash (which would escape the closing quote): then in
        double quotes, a backslash written ``\``, a double quote ``"``, a line break ``
    ``, a carriage return
        ``
    `` and every ``$`` as ``$$``. (Compose releases built on compose-go v1, before 2.2x, mis-read a
        backslash right before the closing double quote; single quotes are read the same by all of them.)
        Booleans become ``true``/``false``, numbers their decimal text. A NUL cannot be in an environment.
    """
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise ValueError(f"dotenv_quote takes a string, number or boolean, not {type(value).__name__}")
    if "\x00" in text:
        raise ValueError("a value for .env cannot contain a NUL character")
    if _PLAIN_VALUE.match(text):
        return text
    if "'" not in text and "\n" not in text and "\r" not in text and not text.endswith("\\"):
        return f"'{text}'"
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$").replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def normalize_project_name(name: str) -> str:
    """Compose's rule: lower case, only [a-z0-9_-], starting with a letter or digit."""
    normalized = re.sub(r"[^a-z0-9_-]", "", name.lower())
    normalized = normalized.lstrip("_-")
    if not normalized:
        raise ProjectError(f"cannot derive a compose project name from {name!r}; set COMPOSE_PROJECT_NAME in .env")
    return normalized


def top_level_name(compose_text: str) -> str | None:
    """The top-level ``name:`` of a compose file, without needing a YAML parser for the whole file."""
    for line in compose_text.splitlines():
        match = re.match(r"^name:\s*(.+?)\s*$", line)
        if match:
            value = match.group(1)
            if value[:1] in ("'", '"') and value[-1:] == value[:1]:
                value = value[1:-1]
            return value
    return None


def project_name(directory: str, env: dict, compose_text: str | None) -> str:
    """COMPOSE_PROJECT_NAME from .env, else the compose file's ``name:``, else the directory's name."""
    if env.get("COMPOSE_PROJECT_NAME"):
        return normalize_project_name(env["COMPOSE_PROJECT_NAME"])
    if compose_text:
        name = top_level_name(compose_text)
        if name:
            return normalize_project_name(name)
    return normalize_project_name(os.path.basename(os.path.normpath(directory)))


def load_project(project_src: str) -> Project:
    """Read a compose project directory. Raises ProjectError with the cause and the fix."""
    if not os.path.isdir(project_src):
        raise ProjectError(
            f"project_src {project_src!r} is not a directory; point it at the Chatwoot compose project "
            "(the app role's app_project_dir, /opt/chatwoot by default)"
        )
    compose_file = next(
        (os.path.join(project_src, n) for n in COMPOSE_FILE_NAMES if os.path.isfile(os.path.join(project_src, n))),
        None,
    )
    if compose_file is None:
        raise ProjectError(
            f"no compose file ({', '.join(COMPOSE_FILE_NAMES)}) in {project_src!r}; is Chatwoot deployed there?"
        )
    env = {}
    env_path = os.path.join(project_src, ENV_FILE_NAME)
    if os.path.isfile(env_path):
        try:
            with open(env_path, encoding="utf-8") as handle:
                env = parse_env_file(handle.read())
        except OSError as exc:
            raise ProjectError(f"cannot read {env_path}: {exc}; run the module as the user that owns it") from exc
        except DotenvError as exc:
            raise ProjectError(
                f"{env_path} is not a .env Docker Compose can read ({exc}); fix that line (the app role "
                "writes every value quoted for compose)"
            ) from None
    with open(compose_file, encoding="utf-8") as handle:
        compose_text = handle.read()
    return Project(
        directory=project_src,
        name=project_name(project_src, env, compose_text),
        env=env,
        compose_file=compose_file,
    )


# --- the project's containers (Docker SDK for Python) ----------------------------------------------------
# Compose labels every container with com.docker.compose.project and com.docker.compose.service; looking them
# up by label finds the same containers whatever compose named them.

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


# --- a host name from .env, as an address the Docker host can reach --------------------------------------
# Inside the stack, POSTGRES_HOST=postgres and REDIS_URL=redis://redis:6379 name compose services, which only
# resolve on the project's network. Modules run on the Docker host, so a service name is replaced by the
# service container's IP address (the container port then applies unchanged).

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


# --- from project_src to a service's connection settings --------------------------------------------------


def project_connection(project_src, from_env, merge, resolve=resolve_service_host):
    """``(settings, note)`` for a service of the stack, in four steps.

    1. read the compose project in ``project_src`` when it is given (its name and its ``.env``);
    2. ``from_env(project)`` takes the service's settings from that ``.env`` the way Chatwoot reads them (or
       returns None), and may raise when the ``.env`` cannot say where the service is;
    3. ``merge(discovered)`` applies the module's explicit options (``discovered`` is None without
       ``project_src``) and returns a settings object with a ``host`` attribute;
    4. ``resolve(project_name, host)`` replaces a host that names a compose service with that container's
       address and returns ``(address, note)`` (``note`` explains the lookup, for connection error messages).

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


def service_settings(module, from_env, merge, options: dict, errors=(), **fail_values):
    """``(settings, note)`` for the service an AnsibleModule talks to, or ``fail_json`` with the cause.

    ``options`` maps ``merge``'s keyword arguments to the module's option names (``{"host": "login_host"}``);
    those options override what ``from_env`` discovered in ``project_src``'s ``.env``. ``errors`` are the
    settings module's own exceptions, reported like ProjectError and ContainerLookupError; ``fail_values``
    are returned with the failure.
    """
    params = module.params
    explicit = {keyword: params[option] for keyword, option in options.items()}
    try:
        return project_connection(params["project_src"], from_env, lambda discovered: merge(discovered, **explicit))
    except (ProjectError, ContainerLookupError, *errors) as exc:
        module.fail_json(msg=str(exc), **fail_values)
