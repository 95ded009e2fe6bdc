"""selfhost.chatwoot.pgvector through Ansible against the lab's PostgreSQL 17, with and without pgvector."""

from __future__ import annotations

import pytest
from support.playbook_runner import run_module

from ansible_collections.selfhost.chatwoot.plugins.module_utils._project import dotenv_quote

# No CHATWOOT_RELEASES here (unlike the other module suites, issue #9): this module talks to PostgreSQL only,
# and its stacks start no Chatwoot container (prepare=False, services=False), so a second release ran the same
# lab PostgreSQL image through the same module calls twice.

psycopg = pytest.importorskip("psycopg", reason="psycopg is installed by `make setup`")
sql_module = pytest.importorskip("psycopg.sql")


def login(pg, **extra):
    return {
        "login_host": pg.host,
        "login_port": pg.port,
        "login_user": pg.user,
        "login_password": pg.password,
        "db": pg.database,
        **extra,
    }


def installed(pg):
    with psycopg.connect(pg.dsn()) as conn:
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    return row[0] if row else None


def sql(pg, statement):
    with psycopg.connect(pg.dsn()) as conn:
        conn.execute(statement)


def ok(result):
    assert not result.get("failed"), result.get("msg")
    return result


@pytest.fixture
def pg(start_chatwoot):
    """PostgreSQL 17 + pgvector with compose labels (the stack helper also creates the `chatwoot` database)."""
    return start_chatwoot(prepare=False, services=False).postgres


@pytest.fixture
def pg_without_pgvector(start_chatwoot):
    return start_chatwoot(pgvector=False, prepare=False, services=False).postgres


@pytest.mark.lab
def test_present_check_apply_idempotent(pg):
    check = ok(run_module("pgvector", login(pg), check=True))
    assert check["changed"] is True and check["queries"] == ["CREATE EXTENSION vector"]
    assert check["prev_version"] is None and check["installed_version"] == check["default_version"]
    assert check["server_major_version"] == 17
    assert installed(pg) is None

    apply = ok(run_module("pgvector", login(pg)))
    assert apply["changed"] is True and apply["queries"] == ["CREATE EXTENSION vector"]
    assert installed(pg) == apply["installed_version"] == apply["default_version"]
    assert apply["default_version"] in apply["available_versions"]

    again_check = ok(run_module("pgvector", login(pg), check=True))
    assert again_check["changed"] is False and again_check["queries"] == []
    again = ok(run_module("pgvector", login(pg)))
    assert again["changed"] is False and again["prev_version"] == again["installed_version"] == installed(pg)

    latest = ok(run_module("pgvector", login(pg, state="latest")))
    assert latest["changed"] is (latest["installed_version"] != apply["installed_version"])
    pinned = ok(run_module("pgvector", login(pg, version=installed(pg))))
    assert pinned["changed"] is False


@pytest.mark.lab
def test_diff_shows_the_version_before_and_after(pg):
    check = ok(run_module("pgvector", login(pg), check=True, diff=True))
    version = check["default_version"]
    assert (check["diff"]["before"], check["diff"]["after"]) == ("vector absent\n", f"vector {version}\n")
    assert pg.database in check["diff"]["before_header"]
    assert installed(pg) is None  # check mode with diff still changes nothing

    apply = ok(run_module("pgvector", login(pg), diff=True))
    assert (apply["diff"]["before"], apply["diff"]["after"]) == ("vector absent\n", f"vector {version}\n")
    assert pg.password not in repr(apply["diff"])
    again = ok(run_module("pgvector", login(pg), diff=True))
    assert again["changed"] is False and again["diff"]["before"] == again["diff"]["after"] == f"vector {version}\n"
    drop = ok(run_module("pgvector", login(pg, state="absent"), check=True, diff=True))
    assert (drop["diff"]["before"], drop["diff"]["after"]) == (f"vector {version}\n", "vector absent\n")


@pytest.mark.lab
def test_update_path_with_what_the_server_ships(pg):
    facts = ok(run_module("pgvector", login(pg), check=True))
    versions = facts["available_versions"]
    default = facts["default_version"]
    older = [v for v in versions if v != default]
    if not older:
        # Debian's postgresql-17-pgvector installs only the newest version (update scripts, one install
        # script): an older version cannot be created, so an update cannot be exercised for real here.
        refused = run_module("pgvector", login(pg, version="0.5.1"))
        assert refused["failed"] and "not available on this server" in refused["msg"] and installed(pg) is None
        ok(run_module("pgvector", login(pg)))
        down = run_module("pgvector", login(pg, version="0.5.1"))
        assert down["failed"] and "cannot be downgraded" in down["msg"] and installed(pg) == default
        pytest.skip(f"the server ships only pgvector {versions}; update decisions are covered by unit tests")
    old = older[0]
    ok(run_module("pgvector", login(pg, version=old)))
    assert installed(pg) == old
    check = ok(run_module("pgvector", login(pg, state="latest"), check=True))
    assert check["changed"] is True and check["queries"][0].startswith("ALTER EXTENSION vector UPDATE TO")
    assert installed(pg) == old
    ok(run_module("pgvector", login(pg, state="latest")))
    assert installed(pg) == max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))


@pytest.mark.lab
def test_absent_refuses_while_vector_columns_exist(pg):
    ok(run_module("pgvector", login(pg)))
    sql(pg, "CREATE TABLE article_embeddings (id bigserial PRIMARY KEY, embedding vector(3))")
    sql(pg, "INSERT INTO article_embeddings (embedding) VALUES ('[1,2,3]')")

    refused = run_module("pgvector", login(pg, state="absent"))
    assert refused["failed"] and "public.article_embeddings.embedding" in refused["msg"] and "cascade" in refused["msg"]
    assert installed(pg) is not None

    check = ok(run_module("pgvector", login(pg, state="absent", cascade=True), check=True))
    assert check["changed"] is True and check["queries"] == ["DROP EXTENSION vector CASCADE"]
    assert installed(pg) is not None

    dropped = ok(run_module("pgvector", login(pg, state="absent", cascade=True)))
    assert dropped["changed"] is True and dropped["installed_version"] is None and installed(pg) is None
    with psycopg.connect(pg.dsn()) as conn:
        columns = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'article_embeddings'"
            ).fetchall()
        ]
    assert columns == ["id"]
    again = ok(run_module("pgvector", login(pg, state="absent")))
    assert again["changed"] is False


@pytest.mark.lab
def test_server_without_pgvector_names_the_image(pg_without_pgvector):
    pg = pg_without_pgvector
    for args in (login(pg), login(pg, state="latest")):
        for check in (True, False):
            result = run_module("pgvector", args, check=check)
            assert result["failed"] and result["server_major_version"] == 17
            assert "pgvector/pgvector:pg17" in result["msg"] and "SAME major version" in result["msg"]
    assert installed(pg) is None
    absent = ok(run_module("pgvector", login(pg, state="absent")))
    assert absent["changed"] is False


@pytest.mark.lab
def test_bad_input_changes_nothing(pg, tmp_path):
    wrong = run_module("pgvector", login(pg, login_password="wrong-password"))
    assert wrong["failed"] and "password authentication failed" in wrong["msg"] and "login_password" in wrong["msg"]
    assert "wrong-password" not in str(wrong)
    missing = run_module("pgvector", {"project_src": str(tmp_path / "absent")})
    assert missing["failed"] and "is not a directory" in missing["msg"]
    nodb = run_module("pgvector", login(pg, db="no_such_db"))
    assert nodb["failed"] and "no_such_db" in nodb["msg"]
    assert installed(pg) is None


@pytest.mark.lab
def test_discovery_from_project_src(start_chatwoot, tmp_path):
    """POSTGRES_* from .env, POSTGRES_HOST naming the compose service `postgres`."""
    stack = start_chatwoot(prepare=False, services=False)
    pg = stack.postgres
    project = tmp_path / "chatwoot"
    project.mkdir()
    (project / "compose.yaml").write_text("services:\n  postgres:\n    image: pgvector/pgvector:pg17\n")
    (project / ".env").write_text(
        f"COMPOSE_PROJECT_NAME={stack.project}\nPOSTGRES_HOST=postgres\nPOSTGRES_USERNAME={pg.user}\n"
        f'POSTGRES_PASSWORD="{pg.password}"\nPOSTGRES_DATABASE={pg.database}\n'
    )
    check = ok(run_module("pgvector", {"project_src": str(project)}, check=True))
    assert check["changed"] is True and installed(pg) is None
    ok(run_module("pgvector", {"project_src": str(project)}))
    assert installed(pg) is not None
    again = ok(run_module("pgvector", {"project_src": str(project)}))
    assert again["changed"] is False
    # explicit options win over .env
    wrong = run_module("pgvector", {"project_src": str(project), "login_password": "nope"})
    assert wrong["failed"] and "password authentication failed" in wrong["msg"]

    # a password with every character .env quoting must survive, written as the app role writes it
    tricky = "p@ss $HOME #1 'q' \"d\" \\ ${X} end\\"
    with psycopg.connect(pg.dsn()) as conn:
        conn.execute(sql_module.SQL("ALTER USER postgres PASSWORD {}").format(sql_module.Literal(tricky)))
    (project / ".env").write_text(
        f"COMPOSE_PROJECT_NAME={stack.project}\nPOSTGRES_HOST=postgres\nPOSTGRES_USERNAME={pg.user}\n"
        f"POSTGRES_PASSWORD={dotenv_quote(tricky)}\nPOSTGRES_DATABASE={pg.database}\n"
    )
    found = ok(run_module("pgvector", {"project_src": str(project)}))
    assert found["changed"] is False and tricky not in str(found)


def list_extension_as(pg, name: str, version: str = "0.8.0") -> None:
    """Make the server list pgvector's control file under another name, as some managed services do."""
    script = (
        'dir=$(dirname "$(find /usr -name plpgsql.control | head -n1)") && '
        f"printf \"comment = 'pgvector under another name'\\ndefault_version = '{version}'\\nrelocatable = true\\n\" "
        f'> "$dir/{name}.control"'
    )
    code, output = pg.container.exec_run(["sh", "-c", script], user="root")
    assert code == 0, output.decode(errors="replace")


@pytest.mark.lab
def test_pgvector_listed_under_another_name_is_named_before_any_change(pg_without_pgvector):
    pg = pg_without_pgvector
    list_extension_as(pg, "pgvector")
    with psycopg.connect(pg.dsn()) as conn:
        listed = conn.execute("SELECT name FROM pg_available_extensions WHERE name LIKE '%vector%'").fetchall()
    assert listed == [("pgvector",)]
    for check in (True, False):
        for state in ("present", "latest"):
            result = run_module("pgvector", login(pg, state=state), check=check)
            assert result["failed"] and result["queries"] == [] and result["changed"] is False
            assert "lists pgvector as 'pgvector' (default version 0.8.0, not installed)" in result["msg"]
            assert "not as 'vector'" in result["msg"] and "offer the extension as 'vector'" in result["msg"]
            assert "pgvector/pgvector:pg17" in result["msg"]
    assert installed(pg) is None


def hide(tmp_path, *names) -> dict:
    """extra_env that makes `import <name>` fail in the module's Python, as on a host without that library."""
    stubs = tmp_path / "hidden-libraries"
    for name in names:
        (stubs / name).mkdir(parents=True, exist_ok=True)
        (stubs / name / "__init__.py").write_text(f"raise ImportError('{name} is hidden by the test')\n")
    return {"PYTHONPATH": str(stubs)}


@pytest.mark.lab
def test_psycopg2_when_psycopg_3_is_missing(pg, tmp_path):
    """Ubuntu 22.04 packages only psycopg2: the module falls back to it, with the same results."""
    pytest.importorskip("psycopg2", reason="psycopg2-binary is in tests/requirements.txt")
    env = hide(tmp_path, "psycopg")
    check = ok(run_module("pgvector", login(pg), check=True, extra_env=env))
    assert check["changed"] is True and check["queries"] == ["CREATE EXTENSION vector"] and installed(pg) is None
    apply = ok(run_module("pgvector", login(pg), extra_env=env))
    assert apply["changed"] is True and installed(pg) == apply["installed_version"] == apply["default_version"]
    again = ok(run_module("pgvector", login(pg), extra_env=env))
    assert again["changed"] is False
    wrong = run_module("pgvector", login(pg, login_password="wrong-password"), extra_env=env)
    assert wrong["failed"] and "password authentication failed" in wrong["msg"]
    assert "wrong-password" not in str(wrong)

    neither = run_module("pgvector", login(pg), extra_env=hide(tmp_path, "psycopg", "psycopg2"))
    assert neither["failed"] and "psycopg (psycopg 3) or psycopg2" in neither["msg"]
    assert "python3-psycopg2 (Ubuntu 22.04)" in neither["msg"]
