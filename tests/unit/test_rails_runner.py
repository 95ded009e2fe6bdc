"""Unit tests of the rails runner's pure logic: the exec's command and environment, result parsing, errors."""

from __future__ import annotations

import json
import threading

import pytest

from ansible_collections.selfhost.chatwoot.plugins.module_utils import _rails_runner as rr

NONCE = "0123456789abcdef"
RESULT = rr.RESULT_PREFIX + NONCE + "="
ERROR = rr.ERROR_PREFIX + NONCE + "="


def result_line(payload) -> str:
    return RESULT + json.dumps(payload)


def outcome(stdout="", stderr="", rc=0, timed_out=False) -> rr.ExecOutcome:
    return rr.ExecOutcome(rc=rc, stdout=stdout, stderr=stderr, timed_out=timed_out)


# ------------------------------------------------------------------------------------------ command / env


def test_command_runs_rails_runner_with_the_fixed_wrapper_through_sh():
    command = rr.build_command()
    assert command[:2] == ["sh", "-c"]
    assert command[4:8] == ["bundle", "exec", "rails", "runner"]
    assert command[-1] == rr.WRAPPER
    # The script part reports the PID and execs the rest, so the PID is rails runner's own.
    assert 'exec "$@"' in command[2] and rr.PID_PREFIX in command[2]


def test_command_never_contains_code_or_params():
    environment = rr.build_environment("puts 'CODE-MARK'", {"secret": "PARAM-MARK"}, False, NONCE)
    joined = " ".join(rr.build_command())
    assert "CODE-MARK" not in joined and "PARAM-MARK" not in joined
    assert environment[rr.CODE_ENV] == "puts 'CODE-MARK'"
    assert json.loads(environment[rr.PARAMS_ENV]) == {"secret": "PARAM-MARK"}


def test_params_travel_as_json_verbatim_even_with_ruby_metacharacters():
    tricky = {"name": '#{system("id")}"; DROP TABLE users; --', "nested": {"list": [1, None, True]}}
    environment = rr.build_environment("x", tricky, False, NONCE)
    assert json.loads(environment[rr.PARAMS_ENV]) == tricky


@pytest.mark.parametrize(("check_mode", "flag"), [(True, "1"), (False, "0")])
def test_check_mode_and_nonce_are_passed(check_mode, flag):
    environment = rr.build_environment("x", None, check_mode, NONCE)
    assert environment[rr.CHECK_MODE_ENV] == flag
    assert environment[rr.NONCE_ENV] == NONCE
    assert json.loads(environment[rr.PARAMS_ENV]) == {}


def test_extra_env_is_passed_as_strings():
    environment = rr.build_environment("x", None, False, NONCE, {"LOG_LEVEL": "debug", "N": 3, "EMPTY": None})
    assert environment["LOG_LEVEL"] == "debug"
    assert environment["N"] == "3"
    assert environment["EMPTY"] == ""


@pytest.mark.parametrize("name", rr.RESERVED_ENV)
def test_extra_env_cannot_override_reserved_names(name):
    with pytest.raises(rr.RunnerError, match=name):
        rr.build_environment("x", None, False, NONCE, {name: "evil"})


def test_extra_env_rejects_invalid_names():
    with pytest.raises(rr.RunnerError, match="not a valid environment variable name"):
        rr.build_environment("x", None, False, NONCE, {"A=B": "1"})


def test_params_that_are_not_json_are_refused():
    with pytest.raises(rr.RunnerError, match="JSON"):
        rr.build_environment("x", {"when": object()}, False, NONCE)


@pytest.mark.parametrize("what", ["code", "params"])
def test_values_too_large_for_one_environment_variable_are_refused(what):
    big = "x" * (rr.MAX_ENV_VALUE_BYTES + 1)
    code, params = (big, None) if what == "code" else ("x", {"blob": big})
    with pytest.raises(rr.RunnerError, match=f"^{what} is"):
        rr.build_environment(code, params, False, NONCE)


def test_nonces_differ_between_runs():
    assert len({rr.new_nonce() for _attempt in range(50)}) == 50


def test_wrapper_reads_every_variable_it_is_given():
    for name in rr.RESERVED_ENV:
        assert f'ENV.delete("{name}")' in rr.WRAPPER
    assert rr.RESULT_PREFIX in rr.WRAPPER and rr.ERROR_PREFIX in rr.WRAPPER


# ------------------------------------------------------------------------------------------ result parsing


def test_result_is_found_among_noise_before_and_after():
    stdout = "\n".join(
        [
            "I, [2025-01-01] INFO -- : booting",
            'SELFHOST_RESULT_othernonce={"changed": true}',  # a forged line with another nonce
            result_line({"changed": True, "result": {"users": 3}, "warnings": ["careful"]}),
            "I, [2025-01-01] INFO -- : shutting down",
        ]
    )
    parsed = rr.parse_result_line(stdout, NONCE)
    assert parsed == {"changed": True, "result": {"users": 3}, "warnings": ["careful"]}


def test_missing_result_line_names_the_fix():
    with pytest.raises(rr.RunnerError, match=r"no result line.*SelfhostRunner\.result"):
        rr.parse_result_line("just logs\nmore logs\n", NONCE)


def test_marker_must_start_the_line():
    with pytest.raises(rr.RunnerError, match="no result line"):
        rr.parse_result_line("log: " + result_line({"changed": False}), NONCE)


def test_several_result_lines_are_ambiguous():
    stdout = result_line({"changed": False}) + "\n" + result_line({"changed": True}) + "\n"
    with pytest.raises(rr.RunnerError, match="2 result lines"):
        rr.parse_result_line(stdout, NONCE)


@pytest.mark.parametrize("body", ["{not json", '{"changed": true', ""])
def test_invalid_json_is_reported(body):
    with pytest.raises(rr.RunnerError, match="not valid JSON"):
        rr.parse_result_line(RESULT + body, NONCE)


@pytest.mark.parametrize(("body", "kind"), [("[1, 2]", "list"), ('"text"', "str"), ("3", "int")])
def test_result_must_be_an_object(body, kind):
    with pytest.raises(rr.RunnerError, match=f"JSON {kind}"):
        rr.parse_result_line(RESULT + body, NONCE)


@pytest.mark.parametrize("changed", ['"yes"', "1", "null"])
def test_changed_must_be_boolean(changed):
    with pytest.raises(rr.RunnerError, match="must be true or false"):
        rr.parse_result_line(RESULT + '{"changed": ' + changed + "}", NONCE)


def test_changed_defaults_to_false_and_warnings_to_empty():
    assert rr.parse_result_line(RESULT + "{}", NONCE) == {"changed": False, "result": None, "warnings": []}


def test_crlf_line_endings_are_tolerated():
    stdout = "noise\r\n" + result_line({"changed": True, "result": {"a": 1}}) + "\r\n"
    assert rr.parse_result_line(stdout, NONCE)["result"] == {"a": 1}


def test_error_line_is_parsed_and_garbage_still_reported():
    payload = {"class": "RuntimeError", "message": "boom", "backtrace": ["(selfhost code):3:in `<main>'"]}
    assert rr.parse_error_line("x\n" + ERROR + json.dumps(payload) + "\n", NONCE) == payload
    assert rr.parse_error_line("nothing here", NONCE) is None
    assert rr.parse_error_line(ERROR + "{broken", NONCE)["message"] == "{broken"


def test_marked_lines_and_their_blank_line_are_stripped_from_stdout():
    stdout = "before\n\n" + result_line({"changed": False}) + "\nafter\n"
    assert rr.strip_marked_lines(stdout, NONCE) == "before\nafter\n"


def test_pid_line_is_removed_from_stderr():
    stderr, pid = rr.strip_pid_line(rr.PID_PREFIX + "4711\nwarning: x\n")
    assert (stderr, pid) == ("warning: x\n", "4711")
    assert rr.strip_pid_line("no pid\n") == ("no pid\n", None)
    # A line that only looks like it is kept.
    assert rr.strip_pid_line(rr.PID_PREFIX + "abc\n") == (rr.PID_PREFIX + "abc\n", None)


def test_tail_keeps_the_end_and_says_how_much_was_cut():
    text = "a" * 50 + "END"
    assert rr.tail(text, 1000) == text
    cut = rr.tail(text, 10)
    assert cut.endswith("a" * 7 + "END") and "43 characters cut" in cut


# ------------------------------------------------------------------------------------------ interpret


def test_success_returns_changed_and_result_and_clean_stdout():
    run = rr.interpret(outcome(stdout="log\n\n" + result_line({"changed": True, "result": {"n": 1}}) + "\n"), NONCE, 9)
    assert run.ok and run.changed is True and run.result == {"n": 1}
    assert run.stdout == "log\n" and run.rc == 0 and run.error is None


def test_ruby_exception_is_named_with_class_message_and_location():
    error = {"class": "ActiveRecord::RecordInvalid", "message": "Name can't be blank", "backtrace": ["x.rb:7"]}
    run = rr.interpret(outcome(stdout=ERROR + json.dumps(error) + "\n", rc=1), NONCE, 9)
    assert not run.ok
    assert run.msg == "the script raised ActiveRecord::RecordInvalid: Name can't be blank (at x.rb:7)"
    assert run.error == error and run.rc == 1


def test_nonzero_exit_without_exception_quotes_the_end_of_stderr():
    run = rr.interpret(outcome(stderr="line1\nline2\n\nfatal: it broke\n", rc=3), NONCE, 9)
    assert not run.ok and run.rc == 3
    assert "exited with status 3" in run.msg and "fatal: it broke" in run.msg


def test_nonzero_exit_wins_over_a_printed_result():
    stdout = result_line({"changed": True}) + "\n"
    run = rr.interpret(outcome(stdout=stdout, rc=2, stderr=""), NONCE, 9)
    assert not run.ok and "status 2" in run.msg and "stderr is empty" in run.msg


def test_timeout_is_reported_first_with_the_limit():
    run = rr.interpret(outcome(stdout=result_line({"changed": True}), rc=None, timed_out=True), NONCE, 42)
    assert not run.ok and run.timed_out and "42 s" in run.msg and "raise `timeout`" in run.msg


def test_exit_zero_without_result_fails_with_the_fix():
    run = rr.interpret(outcome(stdout="done\n"), NONCE, 9)
    assert not run.ok and "no result line" in run.msg and run.stdout == "done\n"


def test_as_return_has_every_documented_key():
    run = rr.interpret(outcome(stdout=result_line({"changed": False, "result": {}})), NONCE, 9)
    assert set(run.as_return()) == {"result", "rc", "stdout", "stderr", "timed_out", "error"}


# ------------------------------------------------------------------------------------------ exec with a fake SDK


class FakeContainer:
    def __init__(self, name="cw-rails-1", status="running"):
        self.id = name + "-id"
        self.name = name
        self.status = status
        self.attrs = {"Created": "2025-01-01T00:00:00Z"}


class FakeAPI:
    """Low-level API double: the first exec streams `chunks` (optionally hanging), later execs are kill calls."""

    def __init__(self, chunks, hang=False, exit_code=0):
        self.chunks = chunks
        self.hang = hang
        self.exit_code = exit_code
        self.released = threading.Event()
        self.created = []
        self.kills = []

    def exec_create(self, container_id, cmd, **kwargs):
        self.created.append((cmd, kwargs))
        return {"Id": f"exec{len(self.created)}"}

    def exec_start(self, exec_id, stream=False, demux=False):
        if exec_id == "exec1":
            return self._stream()
        cmd = self.created[int(exec_id[4:]) - 1][0]
        self.kills.append(cmd[-2])
        if cmd[-2] == "KILL" or (cmd[-2] == "TERM" and self.hang == "term"):
            self.released.set()
        return b""

    def _stream(self):
        yield from self.chunks
        if self.hang:
            self.released.wait(30)

    def exec_inspect(self, exec_id):
        return {"Running": False, "ExitCode": None if self.hang else self.exit_code}


class FakeClient:
    def __init__(self, api):
        self.api = api


def test_exec_collects_both_streams_and_the_exit_code():
    api = FakeAPI([(None, rr.PID_PREFIX.encode() + b"77\n"), (b"out\n", b"err\n")], exit_code=5)
    got = rr.exec_with_deadline(FakeClient(api), FakeContainer(), ["cmd"], {"A": "1"}, "/app", timeout=5)
    assert got.rc == 5 and got.stdout == "out\n" and got.stderr == "err\n" and got.pid == "77"
    assert not got.timed_out and api.kills == []
    _cmd, kwargs = api.created[0]
    assert kwargs["workdir"] == "/app" and kwargs["environment"] == {"A": "1"} and not kwargs["tty"]


def test_exec_past_its_deadline_is_terminated_then_killed(monkeypatch):
    monkeypatch.setattr(rr, "KILL_GRACE_SECONDS", 0.2)
    api = FakeAPI([(None, rr.PID_PREFIX.encode() + b"4242\n"), (b"working\n", None)], hang=True)
    got = rr.exec_with_deadline(FakeClient(api), FakeContainer(), ["cmd"], {}, "/app", timeout=0.3)
    assert got.timed_out and got.pid == "4242"
    assert api.kills == ["TERM", "KILL"]
    assert got.stdout == "working\n" and got.stderr == ""
    kill_cmd = api.created[1][0]
    assert kill_cmd[:2] == ["sh", "-c"] and kill_cmd[-1] == "4242"


def test_exec_stopped_by_term_does_not_need_kill(monkeypatch):
    monkeypatch.setattr(rr, "KILL_GRACE_SECONDS", 5)
    api = FakeAPI([(None, rr.PID_PREFIX.encode() + b"9\n")], hang="term")
    got = rr.exec_with_deadline(FakeClient(api), FakeContainer(), ["cmd"], {}, "/app", timeout=0.2)
    assert got.timed_out and api.kills == ["TERM"]


def test_capture_keeps_only_the_tail_of_huge_output(monkeypatch):
    monkeypatch.setattr(rr, "MAX_CAPTURE_BYTES", 10)
    api = FakeAPI([(b"0123456789", None), (b"abcdef", None)])
    got = rr.exec_with_deadline(FakeClient(api), FakeContainer(), ["cmd"], {}, "/app", timeout=5)
    assert got.stdout == "6789abcdef" and got.stdout_truncated and not got.stderr_truncated


# ------------------------------------------------------------------------------------------ container lookup


class FakeContainers:
    def __init__(self, by_name):
        self.by_name = by_name

    def get(self, name):
        if name not in self.by_name:
            raise rr.NotFound("no such container")
        return self.by_name[name]


class LookupClient:
    def __init__(self, by_name):
        self.containers = FakeContainers(by_name)


def test_named_container_missing_names_the_fix():
    with pytest.raises(rr.ContainerLookupError, match=r"no container named 'ghost'.*docker ps"):
        rr.locate_container(LookupClient({}), None, "rails", "ghost")


def test_named_container_not_running_is_refused():
    client = LookupClient({"cw": FakeContainer("cw", status="exited")})
    with pytest.raises(rr.ContainerLookupError, match="exited, not running"):
        rr.locate_container(client, None, "rails", "cw")


def test_named_container_wins_over_project_src(tmp_path):
    client = LookupClient({"cw": FakeContainer("cw")})
    assert rr.locate_container(client, str(tmp_path / "missing"), "rails", "cw").name == "cw"


def test_missing_project_src_directory_is_a_project_error(tmp_path):
    with pytest.raises(rr.ProjectError, match="not a directory"):
        rr.locate_container(LookupClient({}), str(tmp_path / "missing"), "rails", None)


def test_neither_project_src_nor_container():
    with pytest.raises(rr.RunnerError, match="project_src"):
        rr.locate_container(LookupClient({}), None, "rails", None)
