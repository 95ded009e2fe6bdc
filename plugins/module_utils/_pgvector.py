# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pgvector (the ``vector`` extension) in Chatwoot's PostgreSQL: what to do, and how to connect.

The decisions (``plan``) are pure functions over facts read from the server (``ExtensionFacts``), so they
are unit-tested without a database; ``read_facts`` and ``connection_settings`` are the I/O around them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

EXTENSION = "vector"
# Names under which some managed PostgreSQL services list pgvector instead (Yandex Cloud: chatwoot/chatwoot#13511).
# Chatwoot's migrations enable "vector", so such a server cannot run Chatwoot until it offers that name.
OTHER_NAMES = ("pgvector",)
_VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]*$")
# Tables, partitioned tables, materialized views and foreign tables: places a vector column holds data.
VECTOR_COLUMNS_SQL = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_extension e
JOIN pg_depend d ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
                 AND d.classid = 'pg_type'::regclass AND d.deptype = 'e'
JOIN pg_type et ON et.oid = d.objid
JOIN pg_attribute a ON a.atttypid = et.oid OR a.atttypid = et.typarray
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE e.extname = %s AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'm', 'f')
ORDER BY 1, 2, 3
"""


class PgvectorError(Exception):
    """The requested state cannot be reached; the message names the cause and the fix."""


def version_key(version: str) -> tuple:
    """Sort key for extension versions: numeric parts compare as numbers (0.10.0 > 0.9.1)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"[._-]", version))


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def validate_version(version: str) -> None:
    if not _VERSION_RE.match(version):
        raise PgvectorError(f"version {version!r} is not an extension version; use e.g. 0.8.0")


@dataclass
class ExtensionFacts:
    server_version: str
    server_major: int
    installed_version: str | None
    default_version: str | None
    available_versions: list = field(default_factory=list)
    # (source, target) pairs for which pg_extension_update_paths() returns a path
    update_paths: set = field(default_factory=set)
    vector_columns: list = field(default_factory=list)
    # (name, default_version, installed_version) of pgvector listed under another name (OTHER_NAMES)
    other_names: list = field(default_factory=list)

    @property
    def available(self) -> bool:
        return self.default_version is not None or bool(self.available_versions)


def pgvector_image_hint(server_major: int) -> str:
    return (
        f"run PostgreSQL {server_major} with pgvector: a pgvector-enabled image of the SAME major version, "
        f"e.g. pgvector/pgvector:pg{server_major} (a different major version cannot start on the existing data "
        f"directory), or install the postgresql-{server_major}-pgvector package on the server"
    )


def not_available_message(facts: ExtensionFacts, where: str) -> str:
    return (
        f"the PostgreSQL {facts.server_major} server at {where} has no pgvector: 'vector' is not in "
        f"pg_available_extensions (Chatwoot 4 needs it). Fix: {pgvector_image_hint(facts.server_major)}"
    )


def other_name_message(facts: ExtensionFacts, where: str) -> str:
    listed = ", ".join(
        f"'{name}' (default version {default or '?'}, " + (f"installed {installed})" if installed else "not installed)")
        for name, default, installed in facts.other_names
    )
    names = " / ".join(f"'{name}'" for name, _default, _installed in facts.other_names)
    return (
        f"the PostgreSQL {facts.server_major} server at {where} lists pgvector as {listed} in "
        f"pg_available_extensions, but not as 'vector', the name pgvector itself uses and the one Chatwoot's "
        f"migrations enable (CREATE EXTENSION vector), so Chatwoot cannot migrate there. Fix: have the provider "
        f"offer the extension as 'vector' (some managed services list it as {names}, chatwoot/chatwoot#13511), "
        f"or {pgvector_image_hint(facts.server_major)}"
    )


def latest_version(facts: ExtensionFacts) -> str | None:
    versions = list(facts.available_versions) or ([facts.default_version] if facts.default_version else [])
    return max(versions, key=version_key) if versions else None


def _update_sql(target: str) -> str:
    return f"ALTER EXTENSION {EXTENSION} UPDATE TO {quote_literal(target)}"


def _reach(facts: ExtensionFacts, target: str) -> list:
    """SQL to move the installed extension to ``target`` (an update path must exist)."""
    installed = facts.installed_version
    if installed == target:
        return []
    if (installed, target) not in facts.update_paths:
        reachable = sorted((t for s, t in facts.update_paths if s == installed), key=version_key)
        raise PgvectorError(
            f"no update path for extension vector from {installed} to {target} on this server "
            f"(pg_extension_update_paths offers from {installed}: {', '.join(reachable) or 'none'}); "
            + (
                "pgvector cannot be downgraded: pick an installed-or-newer version"
                if version_key(target) < version_key(installed)
                else "install a pgvector package/image that ships the update scripts, or choose a reachable version"
            )
        )
    return [_update_sql(target)]


def plan(facts: ExtensionFacts, state: str, version: str | None = None, cascade: bool = False, where: str = "") -> list:
    """The SQL statements that bring the ``vector`` extension to the requested state ([] = nothing to do)."""
    if version is not None:
        validate_version(version)
        if state != "present":
            raise PgvectorError(f"version only goes with state=present (got state={state}); drop one of them")

    if state == "absent":
        if facts.installed_version is None:
            return []
        if facts.vector_columns and not cascade:
            shown = ", ".join(facts.vector_columns[:10]) + (" ..." if len(facts.vector_columns) > 10 else "")
            raise PgvectorError(
                f"refusing to drop extension vector: {len(facts.vector_columns)} column(s) of its types exist "
                f"({shown}); dropping it would destroy them. Set cascade: true to drop them too, "
                "or drop those columns first"
            )
        return [f"DROP EXTENSION {EXTENSION}" + (" CASCADE" if cascade else "")]

    if not facts.available and facts.installed_version is None:
        if facts.other_names:
            raise PgvectorError(other_name_message(facts, where))
        raise PgvectorError(not_available_message(facts, where))

    if state == "present" and version is None:
        if facts.installed_version is not None:
            return []
        return [f"CREATE EXTENSION {EXTENSION}"]

    if state == "present":
        if facts.installed_version is not None:
            return _reach(facts, version)
        if version not in facts.available_versions:
            raise PgvectorError(
                f"extension vector version {version} is not available on this server (available: "
                f"{', '.join(sorted(facts.available_versions, key=version_key)) or 'none'}); choose one of those "
                "or install a pgvector package/image that ships it"
            )
        return [f"CREATE EXTENSION {EXTENSION} VERSION {quote_literal(version)}"]

    if state == "latest":
        target = latest_version(facts)
        if facts.installed_version is None:
            if target is None or target == facts.default_version:
                return [f"CREATE EXTENSION {EXTENSION}"]
            return [f"CREATE EXTENSION {EXTENSION} VERSION {quote_literal(target)}"]
        if target is None or version_key(facts.installed_version) >= version_key(target):
            return []
        return _reach(facts, target)

    raise PgvectorError(f"unknown state {state!r}; use present, absent or latest")


def expected_installed(facts: ExtensionFacts, queries: list) -> str | None:
    """The installed version after ``queries`` ran (for check mode's report)."""
    version = facts.installed_version
    for query in queries:
        if query.startswith("DROP EXTENSION"):
            version = None
        elif " VERSION " in query or " UPDATE TO " in query:
            version = query.rsplit(" ", 1)[1].strip("'")
        elif query.startswith("CREATE EXTENSION"):
            version = facts.default_version
    return version


# --- connection settings -------------------------------------------------------------------------------


# merge_settings' keyword arguments -> the pgvector module's options that set them
MODULE_OPTIONS = {
    "host": "login_host",
    "port": "login_port",
    "user": "login_user",
    "password": "login_password",
    "dbname": "db",
    "sslmode": "ssl_mode",
}


@dataclass
class PgSettings:
    host: str | None = None
    port: int = 5432
    user: str | None = None
    password: str | None = None
    dbname: str | None = None
    sslmode: str | None = None

    def describe(self) -> str:
        return f"{self.host or 'localhost'}:{self.port}/{self.dbname or '?'} as {self.user or '?'}"


def parse_database_url(url: str) -> PgSettings:
    """postgres:// or postgresql:// URL -> PgSettings."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise PgvectorError(f"cannot parse DATABASE_URL ({exc}); use postgres://user:password@host:port/db") from None
    if parts.scheme not in ("postgres", "postgresql"):
        raise PgvectorError(f"DATABASE_URL scheme {parts.scheme!r} is not postgres:// or postgresql://")
    query = parse_qs(parts.query)
    return PgSettings(
        host=unquote(parts.hostname) if parts.hostname else None,
        port=port or 5432,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        dbname=unquote(parts.path.lstrip("/")) or None,
        sslmode=query.get("sslmode", [None])[0],
    )


def settings_from_env(env: dict) -> PgSettings:
    """What Chatwoot uses: DATABASE_URL when set, else POSTGRES_* with Rails' production defaults."""
    if env.get("DATABASE_URL"):
        return parse_database_url(env["DATABASE_URL"])
    port = env.get("POSTGRES_PORT") or "5432"
    if not port.isdigit():
        raise PgvectorError(f"POSTGRES_PORT {port!r} in .env is not a number; fix it or set login_port")
    return PgSettings(
        host=env.get("POSTGRES_HOST") or None,
        port=int(port),
        user=env.get("POSTGRES_USERNAME") or None,
        password=env.get("POSTGRES_PASSWORD") or None,
        dbname=env.get("POSTGRES_DATABASE") or "chatwoot_production",
    )


def merge_settings(discovered: PgSettings | None, **explicit) -> PgSettings:
    """Explicit (non-None) values override the discovered ones."""
    settings = discovered or PgSettings()
    for name, value in explicit.items():
        if value is not None:
            setattr(settings, name, value)
    if settings.host is None:
        settings.host = "localhost"
    if settings.user is None:
        settings.user = "postgres"
    if settings.dbname is None:
        settings.dbname = "chatwoot_production"
    return settings


# --- reading the server ----------------------------------------------------------------------------------


OTHER_NAMES_SQL = (
    "SELECT name, default_version, installed_version FROM pg_available_extensions WHERE name IN ("
    + ", ".join(quote_literal(name) for name in OTHER_NAMES)
    + ") ORDER BY name"
)


def read_facts(conn) -> ExtensionFacts:
    """Everything ``plan`` needs, from a psycopg or psycopg2 connection (see _pg_driver)."""
    with conn.cursor() as cur:
        cur.execute("SELECT current_setting('server_version'), current_setting('server_version_num')::int")
        server_version, version_num = cur.fetchone()
        cur.execute("SELECT extversion FROM pg_extension WHERE extname = %s", (EXTENSION,))
        row = cur.fetchone()
        installed = row[0] if row else None
        cur.execute("SELECT default_version FROM pg_available_extensions WHERE name = %s", (EXTENSION,))
        row = cur.fetchone()
        default = row[0] if row else None
        available, paths, columns = [], set(), []
        if default is not None:
            cur.execute("SELECT version FROM pg_available_extension_versions WHERE name = %s", (EXTENSION,))
            available = sorted((r[0] for r in cur.fetchall()), key=version_key)
            cur.execute("SELECT source, target FROM pg_extension_update_paths(%s) WHERE path IS NOT NULL", (EXTENSION,))
            paths = {(r[0], r[1]) for r in cur.fetchall()}
        if installed is not None:
            cur.execute(VECTOR_COLUMNS_SQL, (EXTENSION,))
            columns = [f"{r[0]}.{r[1]}.{r[2]} ({r[3]})" for r in cur.fetchall()]
        others = []
        if default is None and installed is None:
            cur.execute(OTHER_NAMES_SQL)
            others = [(r[0], r[1], r[2]) for r in cur.fetchall()]
    return ExtensionFacts(
        server_version=server_version,
        server_major=version_num // 10000,
        installed_version=installed,
        default_version=default,
        available_versions=available,
        update_paths=paths,
        vector_columns=columns,
        other_names=others,
    )


def version_diff(before: str | None, after: str | None, where: str) -> dict:
    """The diff Ansible shows with ``--diff``: the extension's version before and after, in ``where``."""

    def line(version):
        return f"{EXTENSION} {version}\n" if version else f"{EXTENSION} absent\n"

    return {
        "before": line(before),
        "after": line(after),
        "before_header": f"extension {EXTENSION} in {where}",
        "after_header": f"extension {EXTENSION} in {where}",
    }
