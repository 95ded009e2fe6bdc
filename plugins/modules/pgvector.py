#!/usr/bin/python
# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pgvector
short_description: Ensure the pgvector extension (vector) in Chatwoot's PostgreSQL database
version_added: 0.1.0
description:
  - Ensures the C(vector) extension (pgvector, mandatory since Chatwoot 4.0) is present, absent, at the
    latest version the server offers, or at a given version, in a database.
  - Updates with C(ALTER EXTENSION vector UPDATE TO) only after checking that
    C(pg_extension_update_paths('vector')) offers a path from the installed version.
  - When the server has no pgvector at all, fails before any change, naming the fix, a pgvector-enabled
    image of the SAME PostgreSQL major version (for example C(pgvector/pgvector:pg17)).
  - When the server lists pgvector under another name (C(pgvector) instead of C(vector), as some managed
    PostgreSQL services do), fails before any change naming both, since Chatwoot's migrations need C(vector).
  - Refuses O(state=absent) while columns of the extension's types exist, unless O(cascade=true).
  - Connection settings are discovered from O(project_src) (C(DATABASE_URL), else C(POSTGRES_HOST),
    C(POSTGRES_PORT), C(POSTGRES_USERNAME), C(POSTGRES_PASSWORD), C(POSTGRES_DATABASE) in its C(.env); when the
    host is a compose service name, the service container's address is used). Explicit options override them.
author:
  - selfhost.chatwoot contributors (@selfhost)
requirements:
  - psycopg (psycopg 3), or else psycopg2 (tried in that order, as community.postgresql does; Ubuntu 22.04
    packages only psycopg2 as C(python3-psycopg2))
  - docker (the Docker SDK for Python), only to find the postgres service container from O(project_src)
extends_documentation_fragment:
  - selfhost.chatwoot.attributes
  - selfhost.chatwoot.project
attributes:
  check_mode:
    support: full
    details:
      - Nothing is executed; RV(queries) lists the SQL that would run and RV(installed_version) the version
        there would be.
  diff_mode:
    support: full
    details:
      - The extension's version before and after (C(absent) when not installed).
options:
  login_host:
    description:
      - Database host. A compose service name is resolved to the service container's address when
        O(project_src) is given. Defaults to the discovered host, else C(localhost).
    type: str
  login_port:
    description: Database port. Defaults to the discovered port, else C(5432).
    type: int
  login_user:
    description: Database user. Defaults to the discovered user, else C(postgres).
    type: str
  login_password:
    description: Password of O(login_user). Defaults to the discovered password.
    type: str
  db:
    description: Database to act in. Defaults to the discovered database, else C(chatwoot_production).
    type: str
    aliases: [login_db]
  ssl_mode:
    description: libpq C(sslmode). Defaults to the one in C(DATABASE_URL), else libpq's default (C(prefer)).
    type: str
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  ca_cert:
    description: CA certificate file to verify the server with (libpq C(sslrootcert)).
    type: path
    aliases: [ssl_rootcert]
  connect_timeout:
    description: Seconds to wait for the connection.
    type: int
    default: 10
  state:
    description:
      - V(present) creates the extension when missing (at O(version) when given, else the default version).
      - V(latest) creates or updates it to the highest version the server offers.
      - V(absent) drops it.
    type: str
    choices: [present, absent, latest]
    default: present
  version:
    description:
      - The extension version to have, with O(state=present). An installed extension is updated to it
        when an update path exists; pgvector has no downgrade paths.
    type: str
  cascade:
    description:
      - With O(state=absent), also drop the columns (and indexes) of the extension's types
        (C(DROP EXTENSION vector CASCADE)). Without it the module refuses while such columns exist.
    type: bool
    default: false
notes:
  - Creating the extension needs a superuser or, with pgvector's trusted extension, the database owner.
"""

EXAMPLES = r"""
- name: Make sure Chatwoot's database has pgvector (credentials come from /opt/chatwoot/.env)
  selfhost.chatwoot.pgvector:
    project_src: /opt/chatwoot

- name: Update pgvector to the newest version the server ships
  selfhost.chatwoot.pgvector:
    project_src: /opt/chatwoot
    state: latest
  register: pgvector

- name: Pin a version on a database reached directly
  selfhost.chatwoot.pgvector:
    login_host: 127.0.0.1
    login_port: 5432
    login_user: postgres
    login_password: "{{ vault_postgres_password }}"
    db: chatwoot
    version: 0.8.0

- name: Remove pgvector and every vector column
  selfhost.chatwoot.pgvector:
    project_src: /opt/chatwoot
    state: absent
    cascade: true
"""

RETURN = r"""
installed_version:
  description: Version installed after the task (in check mode, the version it would be); null when absent.
  returned: success
  type: str
  sample: 0.8.0
prev_version:
  description: Version installed before the task; null when it was absent.
  returned: success
  type: str
  sample: 0.7.4
default_version:
  description: The default version of the server's pgvector (C(pg_available_extensions)); null without pgvector.
  returned: success
  type: str
  sample: 0.8.0
available_versions:
  description: Versions of pgvector the server offers, oldest first.
  returned: success
  type: list
  elements: str
  sample: [0.7.4, 0.8.0]
server_version:
  description: The PostgreSQL server version.
  returned: always when connected
  type: str
  sample: "17.6 (Debian 17.6-1)"
server_major_version:
  description: The PostgreSQL server major version, the one a pgvector image must match.
  returned: always when connected
  type: int
  sample: 17
vector_columns:
  description: Columns of the extension's types (C(schema.table.column (type))) found before the task.
  returned: success
  type: list
  elements: str
  sample: ["public.article_embeddings.embedding (vector(1536))"]
queries:
  description: SQL executed, in order; in check mode, the SQL that would be executed.
  returned: always
  type: list
  elements: str
  sample: ["ALTER EXTENSION vector UPDATE TO '0.8.0'"]
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.selfhost.chatwoot.plugins.module_utils._pg_driver import (
    INSTALL_HINT,
    REQUIREMENT,
    load_driver,
)
from ansible_collections.selfhost.chatwoot.plugins.module_utils._pgvector import (
    MODULE_OPTIONS,
    PgvectorError,
    expected_installed,
    merge_settings,
    plan,
    read_facts,
    settings_from_env,
    version_diff,
)
from ansible_collections.selfhost.chatwoot.plugins.module_utils._project import (
    project_argument_spec,
    service_settings,
)

# psycopg 3, else psycopg2: (driver, None), or (None, the import errors)
DRIVER_LOAD = load_driver()


def from_env(project):
    return settings_from_env(project.env)


def main():
    module = AnsibleModule(
        argument_spec=project_argument_spec(
            dict(
                login_host=dict(type="str"),
                login_port=dict(type="int"),
                login_user=dict(type="str"),
                login_password=dict(type="str", no_log=True),
                db=dict(type="str", aliases=["login_db"]),
                ssl_mode=dict(
                    type="str", choices=["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
                ),
                ca_cert=dict(type="path", aliases=["ssl_rootcert"]),
                connect_timeout=dict(type="int", default=10),
                state=dict(type="str", default="present", choices=["present", "absent", "latest"]),
                version=dict(type="str"),
                cascade=dict(type="bool", default=False),
            )
        ),
        supports_check_mode=True,
    )
    driver, import_error = DRIVER_LOAD
    if driver is None:
        module.fail_json(msg=f"{missing_required_lib(REQUIREMENT)} ({INSTALL_HINT})", exception=import_error)
    database_error = driver.Error
    params = module.params
    result = dict(changed=False, queries=[])

    settings, note = service_settings(module, from_env, merge_settings, MODULE_OPTIONS, (PgvectorError,), **result)

    where = settings.describe()
    connect_args = dict(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        password=settings.password,
        dbname=settings.dbname,
        connect_timeout=params["connect_timeout"],
        application_name="selfhost.chatwoot.pgvector",
    )
    if settings.sslmode:
        connect_args["sslmode"] = settings.sslmode
    if params["ca_cert"]:
        connect_args["sslrootcert"] = params["ca_cert"]
    try:
        conn = driver.connect(**connect_args)
    except database_error as exc:
        hint = f" ({note})" if note else ""
        module.fail_json(
            msg=f"cannot connect to PostgreSQL at {where}{hint}: {str(exc).strip()}; check login_host, login_port, "
            "login_user, login_password and db (or DATABASE_URL / POSTGRES_* in project_src/.env) and that the "
            "postgres service is running",
            **result,
        )

    try:
        with conn:
            facts = read_facts(conn)
            result.update(
                server_version=facts.server_version,
                server_major_version=facts.server_major,
                prev_version=facts.installed_version,
                default_version=facts.default_version,
                available_versions=facts.available_versions,
                vector_columns=facts.vector_columns,
            )
            try:
                queries = plan(facts, params["state"], params["version"], params["cascade"], where=where)
            except PgvectorError as exc:
                module.fail_json(msg=str(exc), **result)
            result["queries"] = queries
            result["changed"] = bool(queries)
            if module.check_mode or not queries:
                result["installed_version"] = expected_installed(facts, queries)
                if module._diff:
                    result["diff"] = version_diff(facts.installed_version, result["installed_version"], where)
                module.exit_json(**result)
            with conn.cursor() as cur:
                for query in queries:
                    try:
                        cur.execute(query)
                    except database_error as exc:
                        conn.rollback()
                        result.update(changed=False, queries=[])
                        module.fail_json(
                            msg=f"{query} failed on {where}: {str(exc).strip()}; creating or changing pgvector "
                            "needs a superuser (or the database owner); nothing was changed",
                            **result,
                        )
            conn.commit()
            result["installed_version"] = read_facts(conn).installed_version
            if module._diff:
                result["diff"] = version_diff(facts.installed_version, result["installed_version"], where)
    except database_error as exc:
        module.fail_json(
            msg=f"reading extension state on {where} failed: {str(exc).strip()}",
            exception=traceback.format_exc(),
            **result,
        )
    finally:
        conn.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
