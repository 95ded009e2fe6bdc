"""Pure logic of the host backup tool (roles/backup/files/selfhost_chatwoot_backup.py) and its refusals.

The tool is a stdlib-only script (installed with a /bin/sh wrapper); it is loaded as a module here. The refusal tests
replace the host (restic, docker compose, disk) with fakes: they check the exit codes of the interface in
.lab/spec-backup-tool.md and that nothing ran before a refusal.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

TOOL = Path(__file__).resolve().parents[2] / "roles/backup/files/selfhost_chatwoot_backup.py"


def _load():
    loader = importlib.machinery.SourceFileLoader("selfhost_chatwoot_backup", str(TOOL))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


tool = _load()


# ------------------------------------------------------------------------------------------ retention


def test_retention_arguments_follow_the_policy():
    assert tool.retention_args({"daily": 7, "weekly": 4, "monthly": 6, "yearly": 0}) == [
        "--keep-daily",
        "7",
        "--keep-weekly",
        "4",
        "--keep-monthly",
        "6",
    ]


def test_forget_touches_only_scheduled_snapshots_and_prunes():
    args = tool.forget_args({"daily": 2})
    assert args[:3] == ["forget", "--tag", "scheduled"]
    assert args[-1] == "--prune"
    assert "--keep-daily" in args


@pytest.mark.parametrize("policy", [{}, {"daily": 0, "weekly": 0}, {"daily": -1}])
def test_a_policy_that_keeps_nothing_is_a_usage_error(policy):
    with pytest.raises(tool.ToolError) as err:
        tool.retention_args(policy)
    assert err.value.code == tool.EXIT_USAGE


# ------------------------------------------------------------------------------------------------ disk


def test_dump_need_is_the_table_size_plus_a_margin():
    assert tool.dump_need(1000) == 1000 + tool.DISK_MARGIN
    assert tool.dump_need(-5) == tool.DISK_MARGIN


def test_restore_need_covers_the_expanded_dump_or_the_old_database():
    assert tool.restore_need(100) == 100 * tool.RESTORE_EXPANSION + tool.DISK_MARGIN
    assert tool.restore_need(100, 10**9) == 10**9 + tool.DISK_MARGIN


def test_disk_problem_gives_the_numbers_and_the_path():
    assert tool.disk_problem("/x", 10, 10) is None
    message = tool.disk_problem("/var/lib/staging", 2048, 1024)
    assert "/var/lib/staging" in message
    assert "2048 bytes needed" in message
    assert "1024 bytes free" in message


# ------------------------------------------------------------------------------------------------ tags


def test_tags_carry_the_kind_and_the_version():
    assert tool.build_tags("pre-upgrade", ["to-v4.16.2"], "v4.14.2") == [
        "pre-upgrade",
        "chatwoot-v4.14.2",
        "to-v4.16.2",
    ]
    assert tool.build_tags("scheduled", [], "") == ["scheduled", "chatwoot-unknown"]
    assert tool.kind_of(["chatwoot-v4.16.2", "manual"]) == "manual"


@pytest.mark.parametrize(
    ("kind", "extra"),
    [("daily", []), ("manual", ["scheduled"]), ("manual", ["has space"]), ("manual", ["a,b"])],
)
def test_bad_tags_are_usage_errors(kind, extra):
    with pytest.raises(tool.ToolError) as err:
        tool.build_tags(kind, extra, "v4.16.2")
    assert err.value.code == tool.EXIT_USAGE


# -------------------------------------------------------------------------------------------- manifest


def _manifest(**over):
    fields = {
        "version": "v4.16.2",
        "image_ref": "chatwoot/chatwoot:v4.16.2",
        "image_id": "sha256:" + "a" * 64,
        "postgres_image": "pgvector/pgvector:pg16",
        "database": "chatwoot_production",
        "schema_version": "20250101000000",
        "row_counts": {"users": 2, "accounts": 1},
        "created": "2026-12-01T10:00:00+00:00",
        "kind": "manual",
        "tags": ["manual", "chatwoot-v4.16.2"],
        "project_dir": "/opt/chatwoot",
        "hostname": "vps",
        "dump_bytes": 123,
    }
    fields.update(over)
    return tool.make_manifest(**fields)


def test_manifest_records_version_image_and_row_counts():
    manifest = _manifest()
    assert manifest["chatwoot_version"] == "v4.16.2"
    assert manifest["image_ref"] == "chatwoot/chatwoot:v4.16.2"
    assert manifest["image_id"].startswith("sha256:")
    assert list(manifest["row_counts"]) == ["accounts", "users"]
    assert manifest["dump"] == tool.DUMP_NAME
    json.dumps(manifest)  # serialisable


def test_image_refs_are_read_from_compose_yaml():
    compose = (
        "name: chatwoot\nx-chatwoot: &chatwoot\n  image: chatwoot/chatwoot:v4.16.2\nservices:\n"
        "  rails:\n    <<: *chatwoot\n  postgres:\n    image: pgvector/pgvector:pg16\n    restart: x\n"
    )
    assert tool.image_ref_from_compose(compose) == "chatwoot/chatwoot:v4.16.2"
    assert tool.service_image_from_compose(compose, "postgres") == "pgvector/pgvector:pg16"


def test_newer_data_on_the_target_is_named():
    manifest = _manifest()
    assert tool.newer_data_problems(manifest, {"installed": False}) == []
    same = {"installed": True, "version": "v4.16.2", "schema_version": "20250101000000", "last_change": ""}
    assert tool.newer_data_problems(manifest, same) == []
    newer = {
        "installed": True,
        "version": "v4.17.0",
        "schema_version": "20260101000000",
        "last_change": "2026-12-01 11:00:00.123456789+00",
    }
    problems = tool.newer_data_problems(manifest, newer)
    assert len(problems) == 3
    assert "v4.17.0" in problems[0]
    assert "20260101000000" in problems[1]
    assert "after the snapshot" in problems[2]


def test_snapshots_sort_oldest_first_and_pick_by_prefix():
    entries = [
        {"id": "bbbb2222", "time": "2026-12-02T01:00:00.5Z", "tags": ["manual"], "paths": ["/a"]},
        {"id": "aaaa1111", "time": "2026-12-01T01:00:00Z", "tags": ["scheduled"], "paths": ["/a"]},
    ]
    ordered = tool.sort_snapshots(entries)
    assert [s["id"] for s in ordered] == ["aaaa1111", "bbbb2222"]
    assert tool.pick_snapshot(ordered, "latest")["id"] == "bbbb2222"
    assert tool.pick_snapshot(ordered, "aaaa")["id"] == "aaaa1111"
    assert tool.pick_snapshot(ordered, "cccc") is None
    assert tool.pick_snapshot([], "latest") is None


def test_the_staging_path_is_the_snapshot_path_that_is_not_storage():
    snapshot = {"paths": ["/opt/chatwoot/data/storage", "/srv/staging"]}
    assert tool.staging_path_of(snapshot, "/default") == "/srv/staging"
    assert tool.staging_path_of({"paths": []}, "/default/") == "/default"


def test_redaction_hides_secret_assignments():
    text = "connect failed POSTGRES_PASSWORD=hunter2 SECRET_KEY_BASE: abc plain words"
    cleaned = tool.redact(text)
    assert "hunter2" not in cleaned
    assert "abc" not in cleaned
    assert "plain words" in cleaned


def test_row_count_sql_quotes_every_table():
    sql = tool.row_count_sql(["users", 'we"ird'])
    assert 'FROM public."users"' in sql
    assert 'FROM public."we""ird"' in sql
    assert tool.row_count_sql([]).endswith("WHERE false")


def test_env_files_are_parsed_with_quotes():
    assert tool.parse_env_file("# c\nPOSTGRES_PASSWORD='a b'\nX=1\n") == {"POSTGRES_PASSWORD": "a b", "X": "1"}


# ----------------------------------------------------------------------------- refusals and exit codes


@pytest.fixture
def config(tmp_path):
    project = tmp_path / "project"
    (project / "state").mkdir(parents=True)
    (project / "compose.yaml").write_text("x-chatwoot:\n  image: chatwoot/chatwoot:v4.16.2\n")
    (project / "state" / "prepared-version").write_text("v4.16.2\n")
    path = tmp_path / "backup.json"
    values = {
        "project_dir": str(project),
        "project_name": "chatwoot",
        "postgres_user": "postgres",
        "postgres_database": "chatwoot_production",
        "repository": str(tmp_path / "repo"),
        "password_file": str(tmp_path / "password"),
        "repository_env_file": str(tmp_path / "env.json"),
        "staging_dir": str(tmp_path / "staging"),
        "status_file": str(tmp_path / "status.json"),
        "retention": {"daily": 7},
    }
    path.write_text(json.dumps(values))
    return path


def run(capsys, config, *argv):
    code = tool.main(["--config", str(config), *argv])
    out = capsys.readouterr().out
    return code, json.loads(out)


class FakeHost(tool.Host):
    """No restic, no docker: answers from the attributes, records what would have run."""

    repo_state = "ok"
    running = True
    tables_bytes = 10
    free = 10**12
    calls: list

    def __init__(self, config):
        super().__init__(config)
        self.calls = []

    def repository_state(self):
        return self.repo_state

    def postgres_running(self):
        return self.running

    def table_bytes(self):
        return self.tables_bytes

    def free_bytes(self, path):
        return self.free

    def snapshots(self, tag=None):
        return []

    def pg_dump(self, out):
        self.calls.append("pg_dump")
        return 0

    def restic(self, *args, **kwargs):
        self.calls.append("restic " + args[0])
        return SimpleNamespace(returncode=0, stdout="", stderr="")


@pytest.fixture
def fake(monkeypatch):
    hosts = []

    def make(config):
        host = FakeHost(config)
        for key, value in make.settings.items():
            setattr(host, key, value)
        hosts.append(host)
        return host

    make.settings = {}
    make.hosts = hosts
    monkeypatch.setattr(tool, "Host", make)
    return make


def test_wrong_password_exits_3_and_names_the_variable(capsys, config, fake):
    fake.settings = {"repo_state": "wrong-password"}
    code, out = run(capsys, config, "check")
    assert code == tool.EXIT_REPOSITORY == 3
    assert "backup_restic_password" in out["error"]


def test_backup_with_a_wrong_password_changes_nothing(capsys, config, fake):
    fake.settings = {"repo_state": "wrong-password"}
    code, _out = run(capsys, config, "backup", "--tag", "manual")
    assert code == 3
    assert fake.hosts[0].calls == []
    status = json.loads(Path(json.loads(config.read_text())["status_file"]).read_text())
    assert status["last_result"] == "failed"
    assert "backup_restic_password" in status["error"]


def test_not_enough_disk_exits_4_with_the_numbers_before_any_dump(capsys, config, fake):
    fake.settings = {"tables_bytes": 10**9, "free": 1000}
    code, out = run(capsys, config, "backup", "--tag", "manual")
    assert code == tool.EXIT_DISK == 4
    assert out["free"] == 1000
    assert out["needed"] == 10**9 + tool.DISK_MARGIN
    assert out["path"].endswith("staging")
    assert fake.hosts[0].calls == []


def test_missing_snapshot_exits_5(capsys, config, fake):
    code, out = run(capsys, config, "manifest", "--snapshot", "deadbeef")
    assert code == tool.EXIT_NO_SNAPSHOT == 5
    assert "backup_restore_snapshot" in out["error"]


def test_unknown_kind_exits_2(capsys, config, fake):
    code, _out = run(capsys, config, "backup", "--tag", "hourly")
    assert code == tool.EXIT_USAGE == 2
    assert fake.hosts[0].calls == []


def test_usage_errors_exit_2(capsys, config):
    code, out = run(capsys, config, "no-such-command")
    assert code == 2
    assert out["error"] == "usage"


def test_the_production_database_is_never_dropped(capsys, config, fake):
    code, out = run(capsys, config, "drop-database", "--database", "chatwoot_production")
    assert code == 2
    assert "never dropped" in out["error"]


def test_postgres_down_exits_6(capsys, config, fake):
    fake.settings = {"running": False}
    code, _out = run(capsys, config, "backup", "--tag", "manual")
    assert code == tool.EXIT_DATABASE == 6


def test_before_the_first_deployment_a_scheduled_run_notes_nothing_to_back_up(capsys, config, fake):
    project = Path(json.loads(config.read_text())["project_dir"])
    (project / "compose.yaml").unlink()
    (project / "state" / "prepared-version").unlink()
    code, out = run(capsys, config, "backup", "--tag", "scheduled")
    assert code == 0
    assert out["snapshot"] is None
    assert "nothing to back up yet" in out["note"]
    # ... but a manual one (or any run after a deployment) fails.
    code, _out = run(capsys, config, "backup", "--tag", "manual")
    assert code == 1


def test_a_missing_config_is_a_usage_error(capsys, tmp_path):
    code, out = run(capsys, tmp_path / "absent.json", "check")
    assert code == 2
    assert "selfhost.chatwoot.backup" in out["error"]
