"""Each role has a `validate` entry point with the main entry point's options, and it refuses bad input.

playbooks/site.yml runs `tasks_from: validate` of every role on every host before any role changes one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from test_role_string_extra_vars import DOCKER_PLAY, NGINX_PLAY, run_ansible

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent.name for p in REPO.glob("roles/*/meta/argument_specs.yml"))


@pytest.mark.parametrize("role", ROLES)
def test_validate_entry_point_takes_the_main_options(role):
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    assert "validate" in specs, f"roles/{role}/meta/argument_specs.yml has no validate entry point"
    assert specs["validate"].get("options") == specs["main"].get("options")
    assert (REPO / "roles" / role / "tasks" / "validate.yml").is_file()


@pytest.mark.parametrize(
    ("play", "extra_args", "message"),
    [
        (
            NGINX_PLAY,
            ["-e", "nginx_server_name=chat.example.test", "-e", "nginx_tls_mode=bogus"],
            "value of nginx_tls_mode must be one of: acme, provided, selfsigned, got: bogus",
        ),
        (
            NGINX_PLAY,
            ["-e", "nginx_server_name=chat.example.test", "-e", "nginx_worker_rlimit_nofile=1000"],
            "nginx_worker_rlimit_nofile (1000) must be at least twice",
        ),
        (DOCKER_PLAY, ["-e", "docker_source=snap"], "value of docker_source must be one of: official, distro"),
    ],
    ids=["nginx-choice", "nginx-cross-field", "docker-choice"],
)
def test_validate_entry_point_refuses_bad_input(tmp_path, play, extra_args, message):
    run = run_ansible(tmp_path, "bad", play, extra_args)
    assert run.returncode == 2, run.stdout[-3000:]
    failed_task = run.stdout.rsplit("\nTASK [", 1)[-1]
    assert failed_task.startswith("selfhost.chatwoot."), failed_task[:3000]
    assert "arg spec 'validate'" in failed_task or "Check the cross-field rules" in failed_task, failed_task[:3000]
    assert message in failed_task, failed_task[:3000]
    assert not list((tmp_path / "bad").iterdir()), "the play went on after the refusal"
