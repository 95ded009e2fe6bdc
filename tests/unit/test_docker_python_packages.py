"""The docker role installs the modules' Python libraries under the names each supported release ships.

Ubuntu 22.04 has no python3-psycopg (psycopg 3); the pgvector module falls back to psycopg2 there
(plugins/module_utils/_pg_driver.py), so the role installs python3-psycopg2 instead. Rendered with the role's
own defaults and vars on localhost, with the distribution facts of each release.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SITE_PACKAGES = Path(sys.executable).parents[1] / "lib/python3.11/site-packages"
PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [{repo}/roles/docker/defaults/main.yml, {repo}/roles/docker/vars/main.yml]
  tasks:
    - ansible.builtin.copy:
        content: "{{{{ __docker_python_packages | to_json }}}}"
        dest: "{out}"
        mode: "0644"
      vars:
        ansible_facts: {{distribution: {distribution}, distribution_major_version: "{major}"}}
"""


@pytest.mark.parametrize(
    ("distribution", "major", "psycopg"),
    [
        ("Debian", "12", "python3-psycopg"),
        ("Debian", "13", "python3-psycopg"),
        ("Ubuntu", "22", "python3-psycopg2"),
        ("Ubuntu", "24", "python3-psycopg"),
    ],
)
def test_psycopg_package_per_release(tmp_path, distribution, major, psycopg):
    out = tmp_path / "packages.json"
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY.format(repo=REPO, out=out, distribution=distribution, major=major))
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": f"{REPO / '.collections'}:{SITE_PACKAGES}",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
    }
    run = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    packages = json.loads(out.read_text())
    assert packages == ["python3-docker", "python3-requests", psycopg, "python3-redis"]
