# Copyright: selfhost.chatwoot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run Ruby in the Chatwoot rails container with ``bundle exec rails runner``.

How a run works:

- The caller's Ruby code travels in the environment variable ``SELFHOST_RUNNER_CODE`` and its parameters as
  JSON in ``SELFHOST_RUNNER_PARAMS``; neither is ever interpolated into code. The only code on the command line
  is the fixed :data:`WRAPPER` below, which reads both variables, removes them from ``ENV``, defines the
  ``SelfhostRunner`` helper module and evaluates the caller's code.
- The code reports its result with ``SelfhostRunner.result(changed: true/false, **data)``, which prints ONE line
  ``SELFHOST_RESULT_<nonce>=<json>``. The nonce is fresh for every run, so nothing else the process prints (Rails
  logs, user data) can be mistaken for the result. An exception escaping the code is printed the same way as
  ``SELFHOST_ERROR_<nonce>=<json>`` (class, message, backtrace) and the process exits 1.
- In check mode ``SelfhostRunner.check_mode?`` is true and the code runs inside a database transaction that is
  rolled back, whatever the code does; side effects outside the database (Redis, files, HTTP) are the code's job
  to skip.
- The command runs under ``sh``, which first reports its PID and then ``exec``s rails, so a run that passes its
  deadline can be stopped (TERM, then KILL) with a second exec, without relying on a ``timeout`` binary.

Pure logic (building the exec, parsing the output) is separated from Docker access for unit tests.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
import traceback
from dataclasses import dataclass, field

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.selfhost.chatwoot.plugins.module_utils._project import (
    DEFAULT_SERVICE,
    DEFAULT_TIMEOUT,
    DOCKER_IMPORT_ERROR,
    HAS_DOCKER,
    ContainerLookupError,
    DockerException,
    ProjectError,
    docker_client,
    find_service_container,
    load_project,
)

try:
    from docker.errors import NotFound
except ImportError:  # the module reports the missing SDK before anything here runs

    class NotFound(Exception):
        """Placeholder so except clauses work without the SDK."""


CODE_ENV = "SELFHOST_RUNNER_CODE"
PARAMS_ENV = "SELFHOST_RUNNER_PARAMS"
NONCE_ENV = "SELFHOST_RUNNER_NONCE"
CHECK_MODE_ENV = "SELFHOST_RUNNER_CHECK_MODE"
RESERVED_ENV = (CODE_ENV, PARAMS_ENV, NONCE_ENV, CHECK_MODE_ENV)
RESULT_PREFIX = "SELFHOST_RESULT_"
ERROR_PREFIX = "SELFHOST_ERROR_"
PID_PREFIX = "SELFHOST_PID="
DEFAULT_WORKDIR = "/app"
TAIL_CHARS = 20000
# Bytes of each stream kept in memory; the result line is printed last, so the tail is what matters.
MAX_CAPTURE_BYTES = 8 * 1024 * 1024
# Linux caps a single argument or environment string at 128 KiB (MAX_ARG_STRLEN).
MAX_ENV_VALUE_BYTES = 128 * 1024 - 64
KILL_GRACE_SECONDS = 10

# The one piece of Ruby on the command line. It never changes between runs: everything variable comes in
# through the environment. Kept free of single quotes only for readability in `ps`; it is passed as one argv
# element, not through a shell.
WRAPPER = r"""
require "json"
module SelfhostRunner
  NONCE = ENV.delete("SELFHOST_RUNNER_NONCE").to_s
  CODE = ENV.delete("SELFHOST_RUNNER_CODE").to_s
  PARAMS = JSON.parse(ENV.delete("SELFHOST_RUNNER_PARAMS") || "{}")
  CHECK_MODE = ENV.delete("SELFHOST_RUNNER_CHECK_MODE") == "1"
  @emitted = false
  @warnings = []
  def self.params; PARAMS; end
  def self.check_mode?; CHECK_MODE; end
  def self.warn(message); @warnings << message.to_s; nil; end
  def self.emitted?; @emitted; end
  def self.emit(kind, payload)
    $stdout.flush
    $stdout.write("\n" + kind + NONCE + "=" + JSON.generate(payload) + "\n")
    $stdout.flush
  end
  def self.result(changed: false, **data)
    raise ArgumentError, "SelfhostRunner.result may be called only once" if @emitted
    @emitted = true
    emit("SELFHOST_RESULT_", { "changed" => changed ? true : false, "result" => data, "warnings" => @warnings })
    nil
  end
  def self.error(exc)
    trace = exc.backtrace || []
    own = trace.take_while { |line| !line.include?("/rails/commands/runner/") }
    own = trace if own.empty?
    trace = own.each_with_index.reject { |line, i| i.positive? && line.include?("/gems/") }.map(&:first).first(15)
    emit("SELFHOST_ERROR_", { "class" => exc.class.name, "message" => exc.message.to_s, "backtrace" => trace })
  end
  def self.run
    if CHECK_MODE
      ActiveRecord::Base.transaction do
        TOPLEVEL_BINDING.eval(CODE, "(selfhost code)", 1)
        raise ActiveRecord::Rollback
      end
    else
      TOPLEVEL_BINDING.eval(CODE, "(selfhost code)", 1)
    end
  end
end
begin
  SelfhostRunner.run
rescue SystemExit
  raise
rescue Exception => e
  SelfhostRunner.error(e)
  $stdout.flush
  exit 1
end
"""


class RunnerError(Exception):
    """The run could not start or its output makes no sense; the message names the cause and the fix."""


@dataclass
class ExecOutcome:
    """What the exec produced."""

    rc: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    pid: str | None = None
    stdout_truncated: bool = False
    stderr_truncated: bool = False


@dataclass
class RunResult:
    """A run's outcome as the module reports it."""

    ok: bool
    msg: str
    changed: bool = False
    result: object = None
    warnings: list = field(default_factory=list)
    error: dict | None = None
    rc: int | None = None
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    container: str | None = None

    def as_return(self) -> dict:
        """Values the module returns (``changed`` and ``msg`` are the module's business)."""
        return {
            "result": self.result,
            "rc": self.rc,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "timed_out": self.timed_out,
            "error": self.error,
        }


def new_nonce() -> str:
    return secrets.token_hex(8)


def build_command() -> list:
    """argv of the exec: sh reports its PID on stderr, then becomes `bundle exec rails runner WRAPPER`."""
    return [
        "sh",
        "-c",
        'echo "' + PID_PREFIX + '$$" >&2; exec "$@"',
        "sh",
        "bundle",
        "exec",
        "rails",
        "runner",
        WRAPPER,
    ]


def build_environment(code: str, params: dict | None, check_mode: bool, nonce: str, env: dict | None = None) -> dict:
    """Environment of the exec; raises RunnerError for reserved names or values too large for Linux."""
    environment = {}
    for name, value in (env or {}).items():
        if name in RESERVED_ENV:
            raise RunnerError(f"env may not set {name}: the module uses it to pass the code and its parameters")
        if not name or "=" in name:
            raise RunnerError(f"env name {name!r} is not a valid environment variable name")
        environment[name] = "" if value is None else str(value)
    try:
        params_json = json.dumps(params or {}, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise RunnerError(
            f"params cannot be encoded as JSON ({exc}); pass only strings, numbers, lists, dicts"
        ) from exc
    for name, value in ((CODE_ENV, code), (PARAMS_ENV, params_json)):
        if len(value.encode("utf-8")) > MAX_ENV_VALUE_BYTES:
            what = "code" if name == CODE_ENV else "params"
            raise RunnerError(
                f"{what} is {len(value.encode('utf-8'))} bytes, more than Linux passes in one environment variable "
                f"({MAX_ENV_VALUE_BYTES}); make it smaller (e.g. load large data inside the script)"
            )
    environment[CODE_ENV] = code
    environment[PARAMS_ENV] = params_json
    environment[NONCE_ENV] = nonce
    environment[CHECK_MODE_ENV] = "1" if check_mode else "0"
    return environment


def _marked_lines(text: str, prefix: str) -> list:
    return [line[len(prefix) :] for line in text.splitlines() if line.startswith(prefix)]


def strip_marked_lines(text: str, nonce: str) -> str:
    """Output without the result/error lines and the blank line the wrapper puts before them."""
    markers = (RESULT_PREFIX + nonce + "=", ERROR_PREFIX + nonce + "=")
    lines = text.splitlines(keepends=True)
    kept = []
    for index, line in enumerate(lines):
        if line.startswith(markers):
            continue
        nxt = lines[index + 1] if index + 1 < len(lines) else ""
        if line in ("\n", "\r\n") and nxt.startswith(markers):
            continue
        kept.append(line)
    return "".join(kept)


def strip_pid_line(text: str) -> tuple:
    """(stderr without the PID line, the PID or None)."""
    pid = None
    kept = []
    for line in text.splitlines(keepends=True):
        if pid is None and line.startswith(PID_PREFIX):
            candidate = line[len(PID_PREFIX) :].strip()
            if candidate.isdigit():
                pid = candidate
                continue
        kept.append(line)
    return "".join(kept), pid


def tail(text: str, limit: int = TAIL_CHARS) -> str:
    if len(text) <= limit:
        return text
    return "[... " + str(len(text) - limit) + " characters cut ...]\n" + text[-limit:]


def _parse_json_line(body: str, what: str):
    try:
        return json.loads(body)
    except ValueError as exc:
        raise RunnerError(
            f"the {what} line is not valid JSON ({exc}); did something else write to stdout mid-line?"
        ) from exc


def parse_error_line(stdout: str, nonce: str) -> dict | None:
    """The Ruby exception the wrapper reported, or None."""
    found = _marked_lines(stdout, ERROR_PREFIX + nonce + "=")
    if not found:
        return None
    try:
        payload = json.loads(found[-1])
    except ValueError:
        return {"class": "unknown", "message": found[-1][:500], "backtrace": []}
    if not isinstance(payload, dict):
        return {"class": "unknown", "message": str(payload)[:500], "backtrace": []}
    return payload


def parse_result_line(stdout: str, nonce: str) -> dict:
    """The result the script printed: {"changed": bool, "result": ..., "warnings": [...]}.

    Raises RunnerError when there is no result line, more than one, or it is not a JSON object with a boolean
    ``changed``.
    """
    found = _marked_lines(stdout, RESULT_PREFIX + nonce + "=")
    if not found:
        raise RunnerError(
            "the script printed no result line; end it with "
            "`SelfhostRunner.result(changed: true_or_false, key: value, ...)`"
        )
    if len(found) > 1:
        raise RunnerError(
            f"the script printed {len(found)} result lines; call SelfhostRunner.result exactly once "
            "(the result would be ambiguous)"
        )
    payload = _parse_json_line(found[0], "result")
    if not isinstance(payload, dict):
        raise RunnerError(f"the result line holds a JSON {type(payload).__name__}, expected an object")
    changed = payload.get("changed", False)
    if not isinstance(changed, bool):
        raise RunnerError(f"the result's `changed` is {changed!r}; it must be true or false")
    warnings = payload.get("warnings") or []
    if not isinstance(warnings, list):
        warnings = [str(warnings)]
    return {"changed": changed, "result": payload.get("result"), "warnings": [str(w) for w in warnings]}


def describe_error(error: dict) -> str:
    where = ""
    backtrace = error.get("backtrace") or []
    if backtrace:
        where = f" (at {backtrace[0]})"
    return f"{error.get('class', 'exception')}: {error.get('message', '')}{where}"


def interpret(outcome: ExecOutcome, nonce: str, timeout: float) -> RunResult:
    """Turn the exec's outcome into the module's answer. Pure."""
    error = parse_error_line(outcome.stdout, nonce)
    stdout = tail(strip_marked_lines(outcome.stdout, nonce))
    stderr = tail(outcome.stderr)
    base = {"rc": outcome.rc, "stdout": stdout, "stderr": stderr, "timed_out": outcome.timed_out, "error": error}
    if outcome.timed_out:
        return RunResult(
            ok=False,
            msg=(
                f"the script did not finish within the timeout of {timeout:g} s and was stopped; "
                "raise `timeout` if it needs longer, or look at stderr for where it hangs"
            ),
            **base,
        )
    if error is not None:
        return RunResult(ok=False, msg=f"the script raised {describe_error(error)}", **base)
    if outcome.rc != 0:
        last = [line for line in outcome.stderr.strip().splitlines() if line.strip()][-3:]
        hint = ("; stderr ends with: " + " | ".join(last)) if last else "; stderr is empty"
        return RunResult(
            ok=False,
            msg=f"`bundle exec rails runner` exited with status {outcome.rc}{hint}",
            **base,
        )
    try:
        parsed = parse_result_line(outcome.stdout, nonce)
    except RunnerError as exc:
        return RunResult(ok=False, msg=str(exc), **base)
    return RunResult(
        ok=True,
        msg="",
        changed=parsed["changed"],
        result=parsed["result"],
        warnings=parsed["warnings"],
        **base,
    )


# ---------------------------------------------------------------------------------------------- Docker side


def get_named_container(client, name: str):
    """A running container by name or id."""
    try:
        container = client.containers.get(name)
    except NotFound as exc:
        raise ContainerLookupError(
            f"no container named {name!r}; check the name with `docker ps` or use project_src instead"
        ) from exc
    if container.status != "running":
        raise ContainerLookupError(
            f"container {name!r} is {container.status}, not running; start it (`docker compose up -d`)"
        )
    return container


def locate_container(client, project_src: str | None, service: str, container: str | None):
    """The container to run in: ``container`` when given, else ``service`` of the project in ``project_src``.

    Raises ProjectError or ContainerLookupError.
    """
    if container:
        return get_named_container(client, container)
    if not project_src:
        raise RunnerError("set project_src (the Chatwoot compose project directory) or container")
    project = load_project(project_src)
    return find_service_container(client, project.name, service)


class _Capture:
    """Reads the exec's multiplexed stream, keeping the tail of each side."""

    def __init__(self, stream):
        self.stream = stream
        self.out = bytearray()
        self.err = bytearray()
        self.out_truncated = False
        self.err_truncated = False
        self.exception = None
        self.thread = threading.Thread(target=self._run, name="selfhost-rails-runner", daemon=True)

    def _keep(self, buffer: bytearray, chunk: bytes) -> bool:
        buffer.extend(chunk)
        if len(buffer) > MAX_CAPTURE_BYTES:
            del buffer[: len(buffer) - MAX_CAPTURE_BYTES]
            return True
        return False

    def _run(self):
        try:
            for out_chunk, err_chunk in self.stream:
                if out_chunk:
                    self.out_truncated |= self._keep(self.out, out_chunk)
                if err_chunk:
                    self.err_truncated |= self._keep(self.err, err_chunk)
        except Exception as exc:  # reported by the caller
            self.exception = exc

    def pid(self) -> str | None:
        head = bytes(self.err[:200]).decode("utf-8", "replace")
        return strip_pid_line(head)[1] if PID_PREFIX in head else None


def _signal(client, container, pid: str, signal: str):
    exec_id = client.api.exec_create(container.id, ["sh", "-c", 'kill -s "$1" "$2"', "sh", signal, pid])["Id"]
    client.api.exec_start(exec_id)


def exec_with_deadline(client, container, command, environment, workdir: str, timeout: float) -> ExecOutcome:
    """Run ``command`` in ``container``; stop it (TERM, then KILL) when it passes ``timeout`` seconds."""
    exec_id = client.api.exec_create(
        container.id,
        command,
        stdout=True,
        stderr=True,
        stdin=False,
        tty=False,
        environment=environment,
        workdir=workdir,
    )["Id"]
    stream = client.api.exec_start(exec_id, stream=True, demux=True)
    capture = _Capture(stream)
    capture.thread.start()
    capture.thread.join(timeout)
    timed_out = capture.thread.is_alive()
    pid = capture.pid()
    if timed_out:
        for signal in ("TERM", "KILL"):
            if pid is not None:
                with contextlib.suppress(DockerException):  # the process may have ended meanwhile
                    _signal(client, container, pid, signal)
            capture.thread.join(KILL_GRACE_SECONDS)
            if not capture.thread.is_alive():
                break
    if capture.exception is not None and not timed_out:
        raise RunnerError(f"lost the connection to the Docker daemon while reading the output: {capture.exception}")
    rc = None
    for _attempt in range(20):
        info = client.api.exec_inspect(exec_id)
        if not info.get("Running"):
            rc = info.get("ExitCode")
            break
        time.sleep(0.25)
    stderr, found_pid = strip_pid_line(bytes(capture.err).decode("utf-8", "replace"))
    return ExecOutcome(
        rc=rc,
        stdout=bytes(capture.out).decode("utf-8", "replace"),
        stderr=stderr,
        timed_out=timed_out,
        pid=found_pid or pid,
        stdout_truncated=capture.out_truncated,
        stderr_truncated=capture.err_truncated,
    )


def run_ruby(
    code: str,
    params: dict | None = None,
    check_mode: bool = False,
    project_src: str | None = None,
    service: str = DEFAULT_SERVICE,
    container: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    env: dict | None = None,
    docker_host: str | None = None,
    workdir: str = DEFAULT_WORKDIR,
) -> RunResult:
    """Run ``code`` through rails runner in the Chatwoot rails container.

    Raises RunnerError, ProjectError or ContainerLookupError when the run cannot start (nothing ran then);
    returns a RunResult (``ok`` false with ``msg``) for everything that happened once it started.
    """
    nonce = new_nonce()
    environment = build_environment(code, params, check_mode, nonce, env)
    client = docker_client(base_url=docker_host)
    try:
        target = locate_container(client, project_src, service, container)
        try:
            outcome = exec_with_deadline(client, target, build_command(), environment, workdir, timeout)
        except DockerException as exc:
            raise RunnerError(f"the Docker daemon refused the exec in {target.name}: {exc}") from exc
    finally:
        client.close()
    run = interpret(outcome, nonce, timeout)
    run.container = target.name
    run.warnings = list(run.warnings)
    if outcome.stdout_truncated or outcome.stderr_truncated:
        run.warnings.append(f"the output was longer than {MAX_CAPTURE_BYTES} bytes; only its end was kept")
    return run


def module_run(module, code: str, params: dict | None, what: str = "the code", env: dict | None = None) -> RunResult:
    """``run_ruby`` with an AnsibleModule's shared container options (``project_argument_spec(container=True)``).

    Fails the module, before anything runs, without the Docker SDK, with a timeout that is not positive, or
    when the run cannot start (``what`` names the run in that message); returns the RunResult otherwise.
    """
    options = module.params
    if not HAS_DOCKER:
        module.fail_json(msg=missing_required_lib("docker"), exception=DOCKER_IMPORT_ERROR)
    if options["timeout"] <= 0:
        module.fail_json(msg=f"timeout must be a positive number of seconds, not {options['timeout']}")
    try:
        return run_ruby(
            code,
            params=params,
            check_mode=module.check_mode,
            project_src=options["project_src"],
            service=options["service"],
            container=options["container"],
            timeout=options["timeout"],
            env=env,
            docker_host=options["docker_host"],
        )
    except (ProjectError, ContainerLookupError, RunnerError) as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # an SDK or daemon failure we did not foresee: report it, with the trace
        module.fail_json(msg=f"running {what} failed unexpectedly: {exc}", exception=traceback.format_exc())


__all__ = [
    "DEFAULT_SERVICE",
    "DEFAULT_TIMEOUT",
    "ContainerLookupError",
    "ExecOutcome",
    "ProjectError",
    "RunResult",
    "RunnerError",
    "build_command",
    "build_environment",
    "interpret",
    "module_run",
    "parse_error_line",
    "parse_result_line",
    "run_ruby",
]
