"""Stand-in for the get-pip bootstrap script ansible-test downloads from a host unreachable here.

ansible-test runs it in a fresh virtual environment with pip's install options and package pins as
arguments. The interpreter's bundled pip (ensurepip) installs first, then the requested packages
come from the package index like any other pip install.
"""

from __future__ import annotations

import subprocess
import sys

# get-pip's own switches; plain pip does not know them (and installs neither package unasked).
GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}


def main() -> int:
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], check=True, capture_output=True)
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--upgrade", "--force-reinstall", *args], check=False
    ).returncode


if __name__ == "__main__":
    sys.exit(main())
