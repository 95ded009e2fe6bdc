"""The built collection tarball installs and carries no lab or test artefacts."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# What build_ignore in galaxy.yml must keep out of the tarball.
FORBIDDEN_PREFIXES = (
    ".lab/",
    ".venv/",
    ".collections/",
    ".ci/",
    "molecule/",
    "tests/lab/",
    "tests/integration/",
    "bench/",
)


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        ["ansible-galaxy", "collection", "build", "--force", "--output-path", str(out), str(REPO)],
        check=True,
        capture_output=True,
        text=True,
    )
    (built,) = out.glob("selfhost-chatwoot-*.tar.gz")
    return built


def test_tarball_has_no_lab_or_test_artefacts(tarball):
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    leaked = [n for n in names if n.startswith(FORBIDDEN_PREFIXES) or "__pycache__" in n]
    assert not leaked, f"build_ignore misses: {leaked[:20]}"
    assert "MANIFEST.json" in names
    assert "meta/runtime.yml" in names


def test_tarball_installs(tarball, tmp_path):
    # Away from this checkout's ansible.cfg, which already links the collection and would make the
    # install a no-op.
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(tmp_path)}
    result = subprocess.run(
        ["ansible-galaxy", "collection", "install", "--no-deps", "-p", str(tmp_path), str(tarball)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    installed = tmp_path / "ansible_collections" / "selfhost" / "chatwoot"
    assert (installed / "MANIFEST.json").is_file()
    assert (installed / "meta" / "runtime.yml").is_file()
