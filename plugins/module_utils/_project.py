# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find a deployed Chatwoot compose project from its directory (``project_src``).

A project directory holds ``compose.yaml`` and ``.env``. From it the modules learn the compose project
name (to find service containers by compose's labels) and the stack's credentials, so playbooks never
repeat secrets. Pure logic here; Docker access lives in ``_docker_project``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
ENV_FILE_NAME = ".env"

_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
_DOUBLE_QUOTED_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


class ProjectError(Exception):
    """The project directory cannot be used; the message names the cause and the fix."""


@dataclass
class Project:
    directory: str
    name: str
    env: dict = field(default_factory=dict)
    compose_file: str | None = None


def _unquote_double(body: str) -> str:
    out = []
    chars = iter(body)
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            out.append(_DOUBLE_QUOTED_ESCAPES.get(nxt, "\\" + nxt))
        else:
            out.append(char)
    return "".join(out)


def parse_env_value(raw: str) -> str:
    """Value part of a ``KEY=value`` line, with compose's quoting rules for the common cases."""
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1]
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return _unquote_double(raw[1:-1])
    if raw[:1] in ("'", '"'):
        # An opening quote with text after the closing one, e.g. 'abc' # comment.
        quote = raw[0]
        end = raw.find(quote, 1)
        if end > 0:
            body = raw[1:end]
            return body if quote == "'" else _unquote_double(body)
        return raw
    # Unquoted: an inline comment starts at whitespace followed by '#'.
    match = re.search(r"\s#", raw)
    if match:
        raw = raw[: match.start()]
    return raw.strip()


def parse_env_file(text: str) -> dict:
    """Parse dotenv text into a dict. Later keys win, as in compose."""
    env = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if match:
            env[match.group(1)] = parse_env_value(match.group(2))
    return env


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
    with open(compose_file, encoding="utf-8") as handle:
        compose_text = handle.read()
    return Project(
        directory=project_src,
        name=project_name(project_src, env, compose_text),
        env=env,
        compose_file=compose_file,
    )
