"""selfhost.chatwoot.rails_runner through Ansible against the Chatwoot double (a real Rails app in containers)."""

from __future__ import annotations

import hashlib
import time

import pytest
from support.playbook_runner import run_module

pytestmark = pytest.mark.lab

# The stack tests run against the oldest and the newest supported release (issue #9: the module suites
# cover both ends of the range; the double's own suite covers every release).
CHATWOOT_RELEASES = ("oldest", "newest")

# Ensures one installation config holds a value; honours check mode only through the rolled-back transaction.
ENSURE_CONFIG = """
name = SelfhostRunner.params["name"]
wanted = SelfhostRunner.params["value"]
config = InstallationConfig.find_by(name: name)
changed = config.value != wanted
if changed
  config.value = wanted
  config.save!
end
SelfhostRunner.result(changed: changed, stored_length: InstallationConfig.find_by(name: name).value.length)
"""


def write_project(directory, stack) -> str:
    """A compose project directory as the app role deploys it: compose.yaml (with the project name) + .env."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "compose.yaml").write_text(f"name: {stack.project}\nservices:\n  rails:\n    image: {stack.image}\n")
    (directory / ".env").write_text("".join(f"{key}={value}\n" for key, value in stack.env.items()))
    return str(directory)


@pytest.fixture(scope="module")
def stack(module_chatwoot_stack):
    return module_chatwoot_stack


@pytest.fixture
def project_src(tmp_path, stack):
    return write_project(tmp_path / "chatwoot", stack)


def config_value(stack, name: str) -> str:
    """Read a config with a plain `rails runner` in a one-off container (independent of the module)."""
    output = stack.runner(f'puts "VALUE=" + InstallationConfig.find_by(name: "{name}").value.to_s')
    return next(line[6:] for line in output.splitlines() if line.startswith("VALUE="))


def runner(project_src, code, check=False, **args):
    return run_module("rails_runner", {"project_src": project_src, "code": code, **args}, check=check)


def test_check_apply_idempotent_check_idempotent_apply(stack, project_src):
    args = {"params": {"name": "BRAND_NAME", "value": "Runner Test Brand"}}
    before = config_value(stack, "BRAND_NAME")
    assert before != "Runner Test Brand"

    check = runner(project_src, ENSURE_CONFIG, check=True, **args)
    assert not check.get("failed"), check
    assert check["changed"] is True
    assert config_value(stack, "BRAND_NAME") == before, "check mode wrote to the database"

    apply = runner(project_src, ENSURE_CONFIG, **args)
    assert not apply.get("failed"), apply
    assert apply["changed"] is True
    assert apply["result"]["stored_length"] == len("Runner Test Brand")
    assert config_value(stack, "BRAND_NAME") == "Runner Test Brand"

    again_check = runner(project_src, ENSURE_CONFIG, check=True, **args)
    assert again_check["changed"] is False and not again_check.get("failed"), again_check
    again = runner(project_src, ENSURE_CONFIG, **args)
    assert again["changed"] is False and not again.get("failed"), again
    assert again["rc"] == 0 and again["timed_out"] is False and again["error"] is None
    assert again["container"] == stack.rails.name


def test_params_arrive_verbatim_and_are_not_echoed(project_src):
    secret = """It's "quoted" #{`id`} %x(id) \\n ${HOME} ; DROP TABLE users; -- ✓"""
    code = """
    require "digest"
    value = SelfhostRunner.params["secret"]
    SelfhostRunner.result(changed: false, sha256: Digest::SHA256.hexdigest(value),
                          cls: value.class.name, number: SelfhostRunner.params["n"] + 1)
    """
    result = runner(project_src, code, params={"secret": secret, "n": 41})
    assert not result.get("failed"), result
    assert result["result"]["sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert result["result"]["cls"] == "String"
    # The params option is no_log: its values never appear in what Ansible reports.
    assert secret not in repr(result)


def test_check_mode_is_passed_to_the_script(project_src):
    code = "SelfhostRunner.result(changed: false, check: SelfhostRunner.check_mode?)"
    assert runner(project_src, code, check=True)["result"] == {"check": True}
    assert runner(project_src, code)["result"] == {"check": False}


def test_noise_around_the_result_and_stderr_are_returned(project_src):
    code = """
    puts "before the result"
    $stderr.puts "a warning on stderr"
    SelfhostRunner.warn("heads up")
    SelfhostRunner.result(changed: true, answer: 42)
    puts "after the result"
    """
    result = runner(project_src, code)
    assert not result.get("failed"), result
    assert result["changed"] is True and result["result"] == {"answer": 42}
    assert "before the result" in result["stdout"] and "after the result" in result["stdout"]
    assert "SELFHOST_RESULT_" not in result["stdout"]
    assert "a warning on stderr" in result["stderr"] and "SELFHOST_PID" not in result["stderr"]
    assert any("heads up" in warning for warning in result.get("warnings", []))


def test_script_option_reads_a_file_on_the_managed_host(tmp_path, project_src):
    script = tmp_path / "count.rb"
    script.write_text("SelfhostRunner.result(changed: false, accounts: Account.count)\n")
    result = run_module("rails_runner", {"project_src": project_src, "script": str(script)})
    assert not result.get("failed"), result
    assert isinstance(result["result"]["accounts"], int)


def test_explicit_container_and_env(stack):
    code = 'SelfhostRunner.result(changed: false, level: ENV["SELFHOST_TEST_LEVEL"], cwd: Dir.pwd)'
    result = run_module(
        "rails_runner", {"container": stack.rails.name, "code": code, "env": {"SELFHOST_TEST_LEVEL": "debug"}}
    )
    assert not result.get("failed"), result
    assert result["result"] == {"level": "debug", "cwd": "/app"}


def test_ruby_exception_is_surfaced(project_src):
    result = runner(project_src, 'x = 1\nraise ArgumentError, "the widget is broken"\n')
    assert result["failed"] is True
    assert "ArgumentError: the widget is broken" in result["msg"]
    assert "(selfhost code):2" in result["msg"]
    assert result["error"]["class"] == "ArgumentError" and result["rc"] == 1


def test_syntax_error_is_surfaced(project_src):
    result = runner(project_src, "def broken(\n")
    assert result["failed"] is True and "SyntaxError" in result["msg"], result


def test_nonzero_exit_is_surfaced(project_src):
    result = runner(project_src, '$stderr.puts "giving up now"\nexit 3\n')
    assert result["failed"] is True
    assert result["rc"] == 3
    assert "exited with status 3" in result["msg"] and "giving up now" in result["msg"]


def test_missing_result_line_is_surfaced(project_src):
    result = runner(project_src, 'puts "I forgot to report"\n')
    assert result["failed"] is True and "no result line" in result["msg"]
    assert "I forgot to report" in result["stdout"]


def test_several_result_lines_are_refused(project_src):
    code = "SelfhostRunner.result(changed: false)\nSelfhostRunner.result(changed: true)\n"
    result = runner(project_src, code)
    assert result["failed"] is True
    assert "may be called only once" in result["msg"]


def test_timeout_stops_the_script(stack, project_src):
    started = time.monotonic()
    result = runner(project_src, "sleep 600\nSelfhostRunner.result(changed: true)\n", timeout=20)
    elapsed = time.monotonic() - started
    assert result["failed"] is True and result["timed_out"] is True
    assert "did not finish within the timeout of 20 s" in result["msg"]
    assert elapsed < 300, "the module waited for the script instead of stopping it"

    def runner_processes():
        _code, out = stack.rails.exec_run(["sh", "-c", "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '"])
        return out.decode(errors="replace").count("SelfhostRunner")

    deadline = time.monotonic() + 30
    while runner_processes() and time.monotonic() < deadline:
        time.sleep(1)
    assert runner_processes() == 0, "the timed-out rails runner still runs in the container"


def test_missing_project_src_fails_clearly(tmp_path):
    result = runner(str(tmp_path / "nowhere"), "SelfhostRunner.result(changed: true)")
    assert result["failed"] is True and "is not a directory" in result["msg"]


def test_container_that_does_not_exist_fails_clearly():
    result = run_module("rails_runner", {"container": "cw-no-such-container", "code": "1"})
    assert result["failed"] is True and "no container named 'cw-no-such-container'" in result["msg"]


def test_wrong_service_fails_clearly(project_src):
    result = runner(project_src, "SelfhostRunner.result(changed: true)", service="web")
    assert result["failed"] is True and "no container for service 'web'" in result["msg"]


def test_failed_script_changes_nothing_in_the_database(stack, project_src):
    before = config_value(stack, "INSTALLATION_NAME")
    code = """
    config = InstallationConfig.find_by(name: "INSTALLATION_NAME")
    config.value = "half-done"
    config.save!
    raise "failure after a write"
    """
    # Outside check mode the runner does not wrap the code in a transaction: the write is the code's business.
    # In check mode it is always rolled back, even when the code raises.
    result = runner(project_src, code, check=True)
    assert result["failed"] is True and "failure after a write" in result["msg"]
    assert config_value(stack, "INSTALLATION_NAME") == before
