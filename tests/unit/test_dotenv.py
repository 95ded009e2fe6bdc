"""_project's .env reader (compose-go's dotenv rules) and dotenv_quote: what the app role writes reads back."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from ansible_collections.selfhost.chatwoot.plugins.module_utils._project import (
    DotenvError,
    dotenv_quote,
    parse_env_file,
)

TRICKY = [
    "",
    "plain",
    "redis://redis:6379/0",
    "p@ss$word",
    "$HOME",
    "${HOME}",
    "$$",
    "$",
    "ends with $",
    "a#b",
    "a #b",
    "#",
    " # leading hash",
    "it's",
    "'",
    "''",
    '"',
    'say "hi"',
    "\\",
    "back\\slash",
    "ends with a backslash\\",
    "two at the end\\\\",
    "\\'",
    '\\"',
    "\\n is not a line break",
    "\\$HOME",
    "\\0123",
    " leading space",
    "trailing space ",
    "tab\there",
    "line1\nline2",
    "crlf\r\nline",
    "ünïcödé ✓ 密码",
    "\xa0no-break space\xa0",
    "a=b",
    "KEY=value",
    ":colon",
    "{{ jinja }}",
    "%(percent)s",
    "`id` $(id) ;&|<>*?[]~!",
    "' \" $ # \\ all of them '\"$#\\",
    "x" * 300,
]


@pytest.mark.parametrize("value", TRICKY)
def test_quote_then_parse_round_trips(value):
    quoted = dotenv_quote(value)
    assert parse_env_file(f"SECRET={quoted}\n") == {"SECRET": value}
    # also between other lines, without a final newline, and with CRLF line ends after it
    text = f"A=1\nSECRET={quoted}\nB='two'"
    assert parse_env_file(text) == {"A": "1", "SECRET": value, "B": "two"}
    if "\n" not in value and "\r" not in value:
        assert parse_env_file(f"SECRET={quoted}\r\nB=2\r\n")["SECRET"] == value


def test_all_tricky_values_in_one_file():
    env = {f"V{i}": value for i, value in enumerate(TRICKY)}
    text = "".join(f"{key}={dotenv_quote(value)}\n" for key, value in env.items())
    assert parse_env_file(text) == env


def test_quoting_choices_are_readable():
    assert dotenv_quote("production") == "production"
    assert dotenv_quote("https://chat.example.com") == "https://chat.example.com"
    assert dotenv_quote("p@ss word") == "'p@ss word'"
    assert dotenv_quote("$ecret#1") == "'$ecret#1'"
    assert dotenv_quote("it's $5") == '"it\'s $$5"'
    assert dotenv_quote("trailing\\") == '"trailing\\\\"'
    assert dotenv_quote(True) == "true" and dotenv_quote(False) == "false"
    assert dotenv_quote(587) == "587"


@pytest.mark.parametrize("bad", [None, ["x"], {"a": 1}, "nul\x00byte"])
def test_quote_refuses_what_no_environment_holds(bad):
    with pytest.raises(ValueError):
        dotenv_quote(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("K=v", "v"),
        ("K = v  ", "v"),
        ("export K=v", "v"),
        ("K: v", "v"),  # YAML style
        ("K=a#b", "a#b"),
        ("K=a #b", "a"),
        ("K=a\t#b", "a\t#b"),  # only a space before # starts a comment
        ("K=", ""),
        ("K='a b' # note", "a b"),
        ("K='$HOME \\n \\\\'", "$HOME \\n \\\\"),  # single quotes: literal
        ("K='it\\'s'", "it's"),  # ... except a backslash before the quote
        ('K="a\\nb"', "a\nb"),
        ('K="tab\\tx"', "tab\tx"),
        ('K="q\\"q"', 'q"q'),
        ('K="back\\\\slash"', "back\\slash"),
        ('K="\\x stays"', "\\x stays"),
        ('K="\\$HOME"', "$HOME"),
        ('K="$$HOME"', "$HOME"),
        ('K="\\0123"', "S"),
        ('K="multi\nline"', "multi\nline"),
        ("\ufeffK=bom", "bom"),
    ],
)
def test_compose_reading_rules(text, expected):
    assert parse_env_file(text + "\n")["K"] == expected


def test_interpolation_uses_keys_defined_above():
    text = (
        "USER=ada\nA=$USER\nB=${USER}-x\nC=${NOPE:-fallback}\nD=${EMPTY:-soft}\nE=${EMPTY-hard}\nEMPTY=\n"
        "F=${EMPTY:-soft}\nG=${EMPTY-hard}\nH=\"${USER}@$USER\"\nI='${USER}'\nJ=${NOPE}\nK=${NOPE:-${USER}}\n"
    )
    env = parse_env_file(text)
    assert (env["A"], env["B"], env["C"], env["D"], env["E"]) == ("ada", "ada-x", "fallback", "soft", "hard")
    assert (env["F"], env["G"], env["H"], env["I"], env["J"], env["K"]) == ("soft", "", "ada@ada", "${USER}", "", "ada")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("K=a$", "starts no variable"),
        ("K=$%x", "starts no variable"),
        ('K="price $5"', "starts no variable"),
        ("K=${NOPE:?set it}", "required variable NOPE is missing a value: set it"),
        ("K='unterminated\n", "not terminated"),
        ('K="unterminated\\"\n', "not terminated"),
        ("BAD KEY=x", "cannot contain a space"),
        ("K-X=1", "unexpected character"),
    ],
)
def test_what_compose_refuses_is_refused_without_showing_the_value(text, message):
    with pytest.raises(DotenvError, match=message) as caught:
        parse_env_file("OTHER=1\n" + text)
    assert "line 2" in str(caught.value)


def compose_command():
    """`docker compose` (the plugin) or a standalone `docker-compose` of Compose v2, else None."""
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        probe = subprocess.run([*command, "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0 and re.search(r"\bv?2\.\d+", probe.stdout):
            return command
    return None


def test_docker_compose_itself_reads_what_dotenv_quote_writes(tmp_path):
    """The real thing, where Compose v2 is installed: env_file values and ${} interpolation both."""
    command = compose_command()
    if command is None:
        pytest.skip("no Docker Compose v2 here (docker compose / docker-compose)")
    env = {f"V{i}": value for i, value in enumerate(TRICKY)}
    (tmp_path / ".env").write_text("".join(f"{key}={dotenv_quote(value)}\n" for key, value in env.items()))
    labels = "".join(f"      {key}: ${{{key}}}\n" for key in env)
    (tmp_path / "compose.yaml").write_text(
        f"name: dotenv-proof\nservices:\n  app:\n    image: busybox\n    env_file: .env\n    labels:\n{labels}"
    )
    result = subprocess.run(
        [*command, "--project-directory", str(tmp_path), "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    service = json.loads(result.stdout)["services"]["app"]
    # `config` prints a literal $ as $$ (so that its output can be read again); undo only that.
    for key, value in env.items():
        assert service["environment"][key].replace("$$", "$") == value, key
        assert service["labels"][key].replace("$$", "$") == value, key


def test_the_filter_plugin_quotes_and_refuses_with_a_filter_error():
    from ansible.errors import AnsibleFilterError

    from ansible_collections.selfhost.chatwoot.plugins.filter.dotenv_quote import FilterModule

    quote = FilterModule().filters()["dotenv_quote"]
    assert parse_env_file(f"K={quote(TRICKY[-2])}\n")["K"] == TRICKY[-2]
    with pytest.raises(AnsibleFilterError, match="NUL"):
        quote("a\x00b")
