"""What the app role refuses on the converged lab VPS, each time before it changes anything.

Each check runs playbooks/app.yml with one bad input against the real host and asserts the error and that
compose.yaml, .env and the running containers are exactly as before. They run in the final verification
(the newest release, so a downgrade exists to try); the first one skips them and says why.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from lab_runs import assert_refused, run_app_role, state

testinfra_hosts = ["ansible://chatwoot"]

VPS = "cwlab-default-trixie"


@pytest.fixture(scope="module")
def final_step(host, lab_images):
    record = host.file("/root/pre-upgrade-fingerprint.json")
    if not record.exists:
        pytest.skip("runs in the final verification, after the matrix reached the newest release")
    newest = lab_images["LAB_CHATWOOT_NEWEST"].rsplit(":", 1)[1]
    stepped_to = json.loads(record.content_string)["to"]
    if stepped_to != newest:
        pytest.skip(f"runs once the matrix reached {newest} (now at {stepped_to})")
    return json.loads(record.content_string)


def load_into_vps(*images: str) -> None:
    save = subprocess.Popen(["docker", "save", *images], stdout=subprocess.PIPE)
    subprocess.run(["docker", "exec", "-i", VPS, "docker", "load"], stdin=save.stdout, check=True, capture_output=True)
    assert save.wait() == 0


def test_a_downgrade_is_refused(lab, final_step):
    before = state(lab)
    run = run_app_role(app_chatwoot_version=final_step["from"])
    assert_refused(lab, before, run, "Refusing to downgrade", "restore a backup", "Nothing was changed")


def test_an_image_older_than_the_schema_is_refused_even_without_the_release_record(host, lab, final_step):
    """The state file can be lost (or predate this check): the schema itself still says no."""
    record = "/opt/chatwoot/state/prepared-version"
    saved = host.file(record).content_string
    host.run("mv %s %s.saved", record, record)
    try:
        before = state(lab)
        run = run_app_role(app_chatwoot_version=final_step["from"])
        assert_refused(lab, before, run, "newest migration", "Nothing was changed")
    finally:
        host.run("mv %s.saved %s", record, record)
    assert host.file(record).content_string == saved


def test_a_postgres_image_without_pgvector_is_refused_on_an_existing_install(lab, final_step, lab_images):
    load_into_vps(lab_images["LAB_POSTGRES_NO_PGVECTOR"])
    before = state(lab)
    run = run_app_role(app_postgres_image=lab_images["LAB_POSTGRES_NO_PGVECTOR"])
    assert_refused(lab, before, run, "has no pgvector extension", "nothing was changed")


def test_a_postgres_image_without_pgvector_is_refused_on_a_fresh_install(host, lab, final_step, lab_images):
    load_into_vps(lab_images["LAB_POSTGRES_NO_PGVECTOR"])
    before = state(lab)
    run = run_app_role(
        app_postgres_image=lab_images["LAB_POSTGRES_NO_PGVECTOR"],
        app_project_dir="/opt/chatwoot-fresh",
        app_project_name="chatwootfresh",
        app_rails_port=3999,
    )
    assert_refused(lab, before, run, "has no pgvector extension")
    assert not host.file("/opt/chatwoot-fresh").exists, "the refused fresh install created its project directory"


def test_a_postgresql_18_image_is_refused(host, lab, final_step, lab_images):
    """PostgreSQL 18+ images keep data under /var/lib/postgresql/<major>/docker (docker-library/postgres#1259).
    The stand-in carries the official images' PG_MAJOR=18 label of the new layout; it is never started."""
    base = lab_images["LAB_POSTGRES"]
    dockerfile = f"FROM {base}\nENV PG_MAJOR=18 PGDATA=/var/lib/postgresql/18/docker\n"
    build = host.run("printf %s %s | docker build -q -t lab/postgres:18 -", "%s", dockerfile)
    assert build.rc == 0, build.stderr
    before = state(lab)
    run = run_app_role(app_postgres_image="lab/postgres:18")
    assert_refused(lab, before, run, "runs PostgreSQL 18", "nothing was changed")


def test_an_unsupported_release_is_refused_naming_the_range_and_the_override(lab, final_step):
    before = state(lab)
    run = run_app_role(app_chatwoot_version="v4.18.0")
    assert_refused(lab, before, run, "outside the supported releases", "app_allow_unsupported_version")


def test_input_chatwoot_would_refuse_is_refused_before_any_change(lab, final_step):
    """Super admin e-mail and password and inbox names are checked against the release's rules first."""
    before = state(lab)
    run = run_app_role(
        app_super_admin_email="admin@localhost",
        app_super_admin_password="zqxwvpass",
        app_inboxes=[{"name": "  ", "website_url": "https://www.lab.test"}],
    )
    output = run.stdout + run.stderr
    assert_refused(lab, before, run, "would refuse this input", "admin@localhost")
    assert "zqxwvpass" not in output, "the refused password was printed"
