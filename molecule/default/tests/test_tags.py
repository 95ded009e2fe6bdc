"""`--tags docker|firewall|backup|app|nginx` runs just that part of site.yml; the validation always runs."""

from __future__ import annotations

import re

import pytest
from lab_runs import SCENARIO_DIR, run_playbook

ROLES = ("docker", "firewall", "backup", "app", "nginx")
DEPLOY_PLAY = "PLAY [Deploy Chatwoot]"
# Ansible tags every role's argument-spec check `always`: the validation of every role runs with any tag.
ALWAYS = "Validating arguments against arg spec"


def is_validation(name: str) -> bool:
    return ALWAYS in name


def converge(*args: str) -> str:
    run = run_playbook(SCENARIO_DIR / "converge.yml", *args)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    return output


def deploy_tasks(output: str) -> list[tuple[str, bool]]:
    """(task name, changed) of every task the deploy play ran (after the validation play)."""
    assert DEPLOY_PLAY in output, output[-2000:]
    deploy = output.split(DEPLOY_PLAY, 1)[1].split("PLAY RECAP", 1)[0]
    tasks = []
    for block in re.split(r"\nTASK \[", deploy)[1:]:
        name, body = block.split("]", 1) if "]" in block else (block, "")
        tasks.append((name, bool(re.search(r"^changed: ", body, re.M))))
    return tasks


@pytest.mark.parametrize("tag", ROLES)
def test_listed_tasks_of_a_tag_belong_to_its_role(tag):
    listing = converge("--tags", tag, "--list-tasks")
    deploy = listing.split("play #2", 1)[1]
    names = re.findall(r"^\s{6}(\S.*?)\s+TAGS: \[", deploy, re.M)
    assert names, listing[-2000:]
    foreign = [
        n
        for n in names
        if not n.startswith(f"selfhost.chatwoot.{tag} : ") and not n.startswith("Summary") and not is_validation(n)
    ]
    assert not foreign, f"--tags {tag} also lists: {foreign}"


def test_tags_nginx_changes_only_nginx():
    # Check mode with an Nginx setting changed: what would change is Nginx's alone (check mode leaves the host
    # as the next verifier files expect it).
    output = converge("--tags", "nginx", "--check", "-e", "nginx_client_max_body_size=321m")
    tasks = deploy_tasks(output)
    ran_roles = {name.split(" : ", 1)[0] for name, _changed in tasks if " : " in name and not is_validation(name)}
    assert ran_roles == {"selfhost.chatwoot.nginx"}, ran_roles
    changed = [name for name, was_changed in tasks if was_changed]
    assert changed, "a changed Nginx setting must show as a change"
    assert all(name.startswith("selfhost.chatwoot.nginx : ") for name in changed), changed
    # And a real run of that part alone, with nothing changed, changes nothing.
    assert re.search(r"changed=0\s", converge("--tags", "nginx")), "--tags nginx re-run changed the host"
