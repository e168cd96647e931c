# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip.py script ansible-test downloads.

``ansible-test ... --venv`` creates its virtual environments without pip and
bootstraps pip by running ``get-pip-<version>.py`` downloaded from
ci-files.testing.ansible.com, which is not reachable from our machines (only
PyPI is).  ansible-test first looks for a cached copy in
``~/.ansible/test/cache/get_pip_<version>.py``; scripts/bootstrap.sh installs
this file there.

It is invoked like get-pip.py: ``python get_pip_X_Y.py [pip options]
pip==X.Y [--no-setuptools] [--no-wheel]``.  It bootstraps the pip bundled
with the interpreter (``ensurepip``, Debian package python3-venv), then lets
that pip install the requested packages from the configured index (PyPI).
"""

from __future__ import annotations

import subprocess
import sys


def main():
    args = sys.argv[1:]
    no_setuptools = "--no-setuptools" in args
    no_wheel = "--no-wheel" in args
    args = [arg for arg in args if arg not in ("--no-setuptools", "--no-wheel")]

    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade", *args])

    # like get-pip.py: setuptools / wheel only when not refused
    unwanted = []
    if no_setuptools:
        unwanted.append("setuptools")
    if no_wheel:
        unwanted.append("wheel")
    if unwanted:
        subprocess.call(
            [sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", *unwanted],
            stderr=subprocess.DEVNULL,
        )


if __name__ == "__main__":
    main()
