"""docker_source=official on Debian 12, as far as this network allows, and the refusal of the distro source."""

from __future__ import annotations

import pytest
from conftest import BOOKWORM, SCENARIO_DIR, only_on, run_converge, state_fingerprint

testinfra_hosts = [BOOKWORM]

HOST = "cwlab-docker-bookworm"


@pytest.fixture(autouse=True)
def _bookworm_only(host):
    only_on(host, HOST, "the official repository path and the Debian 12 refusal are tested on Debian 12")


def test_deb822_source_with_signed_by(host):
    source = host.file("/etc/apt/sources.list.d/docker.sources")
    assert source.mode == 0o644
    fields = dict(
        line.split(": ", 1) for line in source.content_string.splitlines() if line and not line.startswith("#")
    )
    arch = host.check_output("dpkg --print-architecture")
    assert fields == {
        "Types": "deb",
        "URIs": "https://download.docker.com/linux/debian",
        "Suites": "bookworm",
        "Components": "stable",
        "Architectures": arch,
        "Signed-By": "/etc/apt/keyrings/docker.asc",
    }


def test_apt_reads_the_source(host):
    # Parses sources.list.d without any download.
    targets = host.check_output("apt-get indextargets --no-release-info --format '$(SITE) $(RELEASE) $(TARGET_OF)'")
    assert "https://download.docker.com/linux/debian bookworm deb" in targets


def test_key_comes_from_the_given_content(host):
    expected = (SCENARIO_DIR / "files/test-repo-key.asc").read_text().strip()
    key = host.file("/etc/apt/keyrings/docker.asc")
    assert key.content_string.strip() == expected
    assert key.mode == 0o644
    shown = host.run("gpg --show-keys /etc/apt/keyrings/docker.asc")
    assert shown.rc == 0, shown.stderr
    assert "molecule test repository key" in shown.stdout


def test_repository_only_left_the_host_without_docker(host):
    assert not host.package("docker-ce").is_installed
    assert not host.file("/etc/docker/daemon.json").exists


def test_official_packages_install(host):
    pytest.skip(
        "not exercised: download.docker.com is unreachable from this lab (only package registries are), so "
        "docker_repository_only=true stops after the key and the deb822 source; installing docker-ce and "
        "docker-compose-plugin from it was not run. daemon.json, the service and Compose v2 are tested on "
        "cwlab-docker-trixie with the distro source."
    )


def test_distro_source_refused_on_debian_12_before_any_change(host):
    before = state_fingerprint(host)
    run = run_converge(HOST, {"docker_source": "distro", "docker_repository_only": False})
    assert run.returncode != 0, run.stdout
    assert "docker_source=distro needs a distribution that ships Docker Compose v2" in run.stdout
    assert "Debian 12" in run.stdout
    assert "changed=0" in run.stdout
    assert state_fingerprint(host) == before


def test_bad_choice_refused_by_argument_specs(host):
    before = state_fingerprint(host)
    run = run_converge(HOST, {"docker_source": "snap"})
    assert run.returncode != 0
    assert "docker_source" in run.stdout and "official, distro" in run.stdout, run.stdout[-2000:]
    assert state_fingerprint(host) == before
