"""Generate the variables section of a role's README.md from its meta/argument_specs.yml.

Usage:
    python docs/tools/role_readme.py roles/NAME [roles/OTHER ...]          rewrite the generated section
    python docs/tools/role_readme.py --check roles/NAME [roles/OTHER ...]  exit 1 if a README is stale

Only the text between the BEGIN/END markers is generated; everything around it is kept as written.
A README without markers gets the section appended; a missing README is created.
Both modes also check that defaults/main.yml and the main entry point agree (same names, same defaults,
no default for a required option) and exit 1 when they do not.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

BEGIN = "<!-- BEGIN GENERATED FROM meta/argument_specs.yml: edit that file, then run docs/tools/role_readme.py -->"
END = "<!-- END GENERATED FROM meta/argument_specs.yml -->"

# Ansible documentation markup -> Markdown.
_MARKUP = [
    (re.compile(r"C\(([^()]*(?:\([^()]*\)[^()]*)*)\)"), r"`\1`"),
    (re.compile(r"V\(([^()]*(?:\([^()]*\)[^()]*)*)\)"), r"`\1`"),
    (re.compile(r"O\(([^()]*)\)"), r"`\1`"),
    (re.compile(r"I\(([^()]*)\)"), r"*\1*"),
    (re.compile(r"B\(([^()]*)\)"), r"**\1**"),
    (re.compile(r"U\(([^()]*)\)"), r"<\1>"),
    (re.compile(r"L\(([^(),]*),\s*([^()]*)\)"), r"[\1](\2)"),
]


def markup(text: str) -> str:
    for pattern, replacement in _MARKUP:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def show_value(value: Any) -> str:
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    return f"`{json.dumps(value)}`"


def option_rows(options: dict[str, Any]) -> list[str]:
    rows = [
        "| Variable | Type | Required | Default | Choices | Description |",
        "|----------|------|----------|---------|---------|-------------|",
    ]
    for name in sorted(options):
        spec = options[name] or {}
        kind = spec.get("type", "str")
        if kind == "list" and spec.get("elements"):
            kind = f"list of {spec['elements']}"
        required = "yes" if spec.get("required") else "no"
        default = show_value(spec["default"]) if "default" in spec else ""
        choices = ", ".join(f"`{choice}`" for choice in spec.get("choices", []))
        description = " ".join(markup(line) for line in as_list(spec.get("description")))
        rows.append(f"| `{name}` | {kind} | {required} | {cell(default)} | {cell(choices)} | {cell(description)} |")
    return rows


def generate(role: Path) -> str:
    specs_file = role / "meta" / "argument_specs.yml"
    data = yaml.safe_load(specs_file.read_text()) or {}
    entry_points = data.get("argument_specs") or {}
    if not entry_points:
        raise SystemExit(f"{specs_file}: no argument_specs")
    lines = [BEGIN, ""]
    for entry in sorted(entry_points, key=lambda name: (name != "main", name)):
        spec = entry_points[entry] or {}
        title = "Variables" if entry == "main" else f"Variables of the `{entry}` entry point"
        lines.append(f"## {title}")
        lines.append("")
        if spec.get("short_description"):
            lines += [markup(spec["short_description"]) + ".", ""]
        for paragraph in as_list(spec.get("description")):
            lines += [f"- {markup(paragraph)}"]
        if spec.get("description"):
            lines.append("")
        options = spec.get("options") or {}
        if entry != "main" and options and options == (entry_points.get("main") or {}).get("options"):
            lines += ["Takes the same variables as the main entry point.", ""]
        else:
            lines += [*option_rows(options), ""] if options else ["This entry point takes no variables.", ""]
    lines.append(END)
    return "\n".join(lines) + "\n"


def render(role: Path, current: str | None) -> str:
    section = generate(role)
    if current is None:
        return f"# Role `{role.name}`\n\n{section}"
    start, end = current.find(BEGIN), current.find(END)
    if start == -1 or end == -1 or end < start:
        return current.rstrip("\n") + "\n\n" + section
    after = current[end + len(END) :].lstrip("\n")
    return current[:start] + section + ("\n" + after if after else "")


def defaults_mismatches(role: Path) -> list[str]:
    """Differences between defaults/main.yml and the options of the main entry point."""
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text()) or {}
    options = ((specs.get("argument_specs") or {}).get("main") or {}).get("options") or {}
    defaults_file = role / "defaults" / "main.yml"
    defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.exists() else {}
    problems = [f"{name}: in defaults/main.yml but not in argument_specs" for name in defaults if name not in options]
    for name, spec in options.items():
        spec = spec or {}
        if spec.get("required"):
            if name in defaults:
                problems.append(f"{name}: required, so it must not have a default in defaults/main.yml")
        elif name not in defaults:
            problems.append(f"{name}: in argument_specs but not in defaults/main.yml")
        elif "default" not in spec:
            problems.append(f"{name}: argument_specs has no default (defaults/main.yml: {defaults[name]!r})")
        elif spec["default"] != defaults[name]:
            problems.append(f"{name}: default {spec['default']!r} in argument_specs, {defaults[name]!r} in defaults")
    return [f"{role}: {problem}" for problem in problems]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roles", nargs="+", type=Path, help="role directories (containing meta/argument_specs.yml)")
    parser.add_argument("--check", action="store_true", help="only report stale READMEs (exit 1), write nothing")
    args = parser.parse_args(argv)
    stale = []
    mismatches = [problem for role in args.roles for problem in defaults_mismatches(role)]
    for problem in mismatches:
        print(problem, file=sys.stderr)
    for role in args.roles:
        readme = role / "README.md"
        current = readme.read_text() if readme.exists() else None
        wanted = render(role, current)
        if wanted == current:
            continue
        if args.check:
            stale.append(str(readme))
        else:
            readme.write_text(wanted)
            print(f"wrote {readme}")
    if stale:
        print("stale (run docs/tools/role_readme.py on the role): " + ", ".join(stale), file=sys.stderr)
    return 1 if stale or mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
