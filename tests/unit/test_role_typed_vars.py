"""Every bool/int/float role option is used through its typed copy, never raw.

`-e key=value` passes strings. Role argument validation accepts "false" for a bool and "65536" for an int
but leaves the variable a string, so a raw `{% if nginx_hsts_enabled %}` is true for "false" and
`nginx_worker_connections >= 512` fails for "65536". Each role therefore defines, in vars/main.yml,
`__<option>: "{{ <option> | selfhost.chatwoot.argspec_type('<type>') }}"` for every such option of any
entry point, and its tasks, templates, handlers and vars use only that copy. This test keeps it so.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TYPED = ("bool", "int", "float")
# Roles whose bool/int options are not converted yet; remove a role from here once it is.
PENDING: set[str] = set()
ROLES = sorted(p.parent.parent.name for p in REPO.glob("roles/*/meta/argument_specs.yml"))
# Task keywords whose whole value is a Jinja expression.
CONDITIONALS = {"when", "that", "changed_when", "failed_when", "until"}
JINJA = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.DOTALL)


class _Loader(yaml.SafeLoader):
    """Safe loading that tolerates Ansible's tags (!vault, !unsafe) by reading their scalar."""


_Loader.add_multi_constructor("!", lambda loader, _suffix, node: loader.construct_scalar(node))


def load_yaml(path: Path):
    return yaml.load(path.read_text(), Loader=_Loader)  # a SafeLoader subclass


def typed_options(role: str, repo: Path = REPO) -> dict[str, str]:
    specs = load_yaml(repo / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]
    found: dict[str, str] = {}
    for entry in specs.values():
        for name, spec in ((entry or {}).get("options") or {}).items():
            kind = (spec or {}).get("type", "str")
            if kind in TYPED:
                assert found.setdefault(name, kind) == kind, f"{name} has different types in different entry points"
    return found


def typed_copy(name: str, kind: str) -> str:
    return f"{{{{ {name} | selfhost.chatwoot.argspec_type('{kind}') }}}}"


def expressions(value, key: str | None = None):
    """The Jinja expressions in a loaded YAML document."""
    if isinstance(value, dict):
        for child_key, child in value.items():
            yield from expressions(child, str(child_key))
    elif isinstance(value, list):
        for child in value:
            yield from expressions(child, key)
    elif isinstance(value, str):
        if key in CONDITIONALS:
            yield value
        else:
            yield from (a or b for a, b in JINJA.findall(value))


def raw_uses(role: str, options: dict[str, str], repo: Path = REPO) -> list[str]:
    pattern = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, sorted(options))) + r")(?!\w)")
    role_dir = repo / "roles" / role
    problems = []
    for path in sorted(role_dir.rglob("*")):
        relative = path.relative_to(role_dir)
        if not path.is_file() or relative.parts[0] not in {"tasks", "handlers", "templates", "vars", "defaults"}:
            continue
        if path.suffix in {".yml", ".yaml"}:
            data = load_yaml(path)
            if relative == Path("vars/main.yml") and isinstance(data, dict):
                # The typed copies themselves are the one place the raw option is read.
                data = {k: v for k, v in data.items() if not (k.startswith("__") and k[2:] in options)}
            found = list(expressions(data))
        else:
            text = re.sub(r"\{#.*?#\}", "", path.read_text(), flags=re.DOTALL)
            found = [a or b for a, b in JINJA.findall(text)]
        for expression in found:
            for match in pattern.finditer(expression):
                name = match.group(1)
                problems.append(f"{relative}: raw {name} in {{{{{expression.strip()}}}}}; use __{name}")
    return problems


@pytest.mark.parametrize("role", [r for r in ROLES if r not in PENDING])
def test_every_typed_option_has_a_typed_copy(role):
    options = typed_options(role)
    assert options, f"{role}: no bool/int/float options found; is the spec readable?"
    role_vars = load_yaml(REPO / "roles" / role / "vars" / "main.yml") or {}
    missing = {
        f"__{name}": typed_copy(name, kind)
        for name, kind in options.items()
        if role_vars.get(f"__{name}") != typed_copy(name, kind)
    }
    assert not missing, f"roles/{role}/vars/main.yml needs these lines:\n" + "\n".join(
        f'{key}: "{value}"' for key, value in missing.items()
    )


@pytest.mark.parametrize("role", [r for r in ROLES if r not in PENDING])
def test_no_raw_use_of_a_typed_option(role):
    problems = raw_uses(role, typed_options(role))
    assert not problems, "\n".join(problems)


def test_the_guard_sees_raw_uses(tmp_path):
    """The scanner itself: a raw use in a template, a `when` and a `{{ }}` is found, prose is not."""
    role = tmp_path / "roles" / "demo"
    (role / "meta").mkdir(parents=True)
    (role / "tasks").mkdir()
    (role / "templates").mkdir()
    (role / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    options:\n      demo_flag: {type: bool}\n      demo_name: {type: str}\n"
    )
    (role / "tasks" / "main.yml").write_text(
        "- name: A\n  ansible.builtin.debug:\n    msg: 'demo_flag is {{ demo_flag }}'\n  when: demo_flag\n"
        "- name: B\n  ansible.builtin.debug:\n    msg: 'demo_flag (prose) {{ __demo_flag }} {{ demo_name }}'\n"
    )
    (role / "templates" / "t.j2").write_text("{# demo_flag #}{% if demo_flag %}x{% endif %} demo_flag\n")
    problems = raw_uses("demo", typed_options("demo", tmp_path), tmp_path)
    assert len(problems) == 3, problems
    assert [p.split(":")[0] for p in problems] == ["tasks/main.yml", "tasks/main.yml", "templates/t.j2"]


def assigned_names(value) -> set[str]:
    """Variables a task file assigns at run time: `register:` and `set_fact:` keys (and block children)."""
    names: set[str] = set()
    if isinstance(value, list):
        for item in value:
            names |= assigned_names(item)
    elif isinstance(value, dict):
        if isinstance(value.get("register"), str):
            names.add(value["register"])
        facts = value.get("ansible.builtin.set_fact") or value.get("set_fact")
        if isinstance(facts, dict):
            names |= set(facts)
        for key in ("block", "rescue", "always"):
            names |= assigned_names(value.get(key))
    return names


@pytest.mark.parametrize("role", ROLES)
def test_no_task_overwrites_a_typed_copy(role):
    """A `register: __app_bootstrap` once replaced the typed copy of app_bootstrap with a module result (a
    dict), and `when: __app_bootstrap` failed at run time: typed copies must never be assigned by a task."""
    copies = {f"__{name}" for name in typed_options(role)}
    role_dir = REPO / "roles" / role
    clashes = {
        f"{path.relative_to(role_dir)}: {name}"
        for path in sorted((role_dir / "tasks").glob("*.yml"))
        for name in assigned_names(load_yaml(path)) & copies
    }
    assert not clashes, sorted(clashes)
