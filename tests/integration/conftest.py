# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for integration tests: namespaces and running real Ansible in them.

* ``netns_factory(name="ns", lo_up=True)`` -> Netns; every namespace it made is
  destroyed at teardown, also when the test failed.
* ``hv_ns`` -> a fresh "hypervisor" namespace with ``lo`` up.
* ``hostile_root`` -> namespaces made afterwards start with the sysctls a hostile root
  namespace would pass on (netns.HOSTILE_ROOT_SYSCTLS), before their baseline is set.
* ``run_module(ns, module, args, check=False, diff=False)`` -> the module's
  result dict.  ``module`` is ``vm_network`` (-> hypervisor.networking.vm_network)
  or any fully qualified name such as ``ansible.builtin.command``.
* ``run_playbook(ns, playbook, extra_vars, check=False, diff=False)`` ->
  ``(rc, stdout)``; the per-task results are also available as
  ``run_playbook.results`` (list of dicts, see tests/callback_plugins/hv_result.py).

How a module ends up inside the namespace: ansible runs on the controller in
the root namespace with ``-c local``, but ``ansible_python_interpreter`` points
at a tiny wrapper script ``exec ip netns exec NS <venv python> "$@"``; every
module process (and whatever it spawns) therefore lives in namespace NS.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from netns import HOSTILE_ROOT_SYSCTLS, Netns

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(TESTS_DIR)
COLLECTIONS_DIR = os.path.join(REPO_ROOT, ".collections")
CALLBACK_DIR = os.path.join(TESTS_DIR, "callback_plugins")
VENV_BIN = os.path.dirname(sys.executable)
COLLECTION = "hypervisor.networking"
ANSIBLE_TIMEOUT = int(os.environ.get("HV_ANSIBLE_TIMEOUT", "300"))


def _tool(name):
    """ansible / ansible-playbook from the running venv, else from PATH."""
    path = os.path.join(VENV_BIN, name)
    return path if os.access(path, os.X_OK) else name


def _fqcn(module_name):
    return module_name if "." in module_name else f"{COLLECTION}.{module_name}"


class AnsibleRunner:
    """Runs ansible / ansible-playbook with modules executing inside a netns."""

    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.counter = 0
        self.last_stdout = ""
        self.last_stderr = ""

    def _next(self, what):
        self.counter += 1
        return os.path.join(self.workdir, f"{self.counter:03d}-{what}")

    def interpreter(self, ns):
        """Write (once per namespace) the interpreter wrapper for ``ns``."""
        name = ns.name if isinstance(ns, Netns) else str(ns)
        path = os.path.join(self.workdir, f"python-in-{name}")
        if not os.path.exists(path):
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(f'#!/bin/sh\nexec ip netns exec {name} {sys.executable} "$@"\n')
            os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return path

    def env(self, result_file):
        env = dict(os.environ)
        env.update(
            {
                "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_DIR,
                "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
                "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
                "ANSIBLE_CALLBACK_PLUGINS": CALLBACK_DIR,
                "ANSIBLE_CALLBACKS_ENABLED": "hv_result",
                "ANSIBLE_HOST_KEY_CHECKING": "False",
                "ANSIBLE_RETRY_FILES_ENABLED": "False",
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_LOCAL_TEMP": os.path.join(self.workdir, "ansible-local-tmp"),
                "ANSIBLE_REMOTE_TEMP": os.path.join(self.workdir, "ansible-remote-tmp"),
                "HV_RESULT_FILE": result_file,
            }
        )
        return env

    def _exec(self, argv, result_file):
        proc = subprocess.run(
            argv,
            env=self.env(result_file),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=ANSIBLE_TIMEOUT,
            check=False,
        )
        self.last_stdout, self.last_stderr = proc.stdout, proc.stderr
        results = []
        if os.path.exists(result_file):
            with open(result_file, encoding="utf-8") as handle:
                results = [json.loads(line) for line in handle if line.strip()]
        return proc, results

    def run_module(self, ns, module_name, args=None, check=False, diff=False):
        """Run one module inside ``ns``; return its result dict exactly."""
        argv = [
            _tool("ansible"), "localhost",
            "-i", "localhost,",
            "-c", "local",
            "-e", f"ansible_python_interpreter={self.interpreter(ns)}",
            "-m", _fqcn(module_name),
        ]
        if args:
            # JSON is accepted as module args by ansible's ad-hoc -a
            argv += ["-a", json.dumps(args)]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        proc, results = self._exec(argv, self._next("module.jsonl"))
        if not results:
            raise AssertionError(
                f"ansible produced no result (rc={proc.returncode})\n"
                f"argv: {argv}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return results[-1]["result"]

    def run_playbook(self, ns, playbook_path, extra_vars=None, check=False, diff=False):
        """Run a playbook (hosts: localhost/all) inside ``ns``; -> (rc, stdout)."""
        vars_file = self._next("extra-vars.json")
        with open(vars_file, "w", encoding="utf-8") as handle:
            json.dump(dict(extra_vars or {}), handle)
        argv = [
            _tool("ansible-playbook"),
            "-i", "localhost,",
            "-c", "local",
            "-e", f"ansible_python_interpreter={self.interpreter(ns)}",
            "-e", f"@{vars_file}",
            str(playbook_path),
        ]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        proc, results = self._exec(argv, self._next("playbook.jsonl"))
        self.results = results  # pylint: disable=attribute-defined-outside-init
        return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def store(tmp_path, monkeypatch):
    """Saved state under tmp (a namespace-style store: no unit, no bundle outside tmp), for
    modules run in-process against an emulated host (sysfs_emulator)."""
    from ansible_collections.hypervisor.networking.plugins.module_utils import persist  # pylint: disable=import-outside-toplevel
    real = persist.Store
    root = str(tmp_path / "state")
    tmp_layout = persist.Layout("emulated", persistent_root=root, runtime_root=root + "/run", legacy_root=root + "/legacy")
    monkeypatch.setattr(persist, "Store", lambda layout=None: real(layout or tmp_layout))
    return tmp_path / "state"


@pytest.fixture
def netns_factory():
    """Create namespaces on demand; all are destroyed at teardown."""
    created = []

    def factory(name="ns", lo_up=True):
        ns = Netns.create(name, lo_up=lo_up)
        created.append(ns)
        return ns

    yield factory
    errors = []
    for ns in reversed(created):
        try:
            ns.destroy()
        except Exception as exc:  # pylint: disable=broad-exception-caught
            errors.append(f"{ns.name}: {exc}")
    if errors:
        pytest.fail("namespace cleanup failed:\n" + "\n".join(errors))


@pytest.fixture
def hostile_root(monkeypatch):
    """Namespaces made after this start as if the root namespace had hostile sysctls
    (ip_forward=1, strict rp_filter, IPv6 off...: netns.HOSTILE_ROOT_SYSCTLS), written inside
    each new namespace only; list it before the fixtures that make namespaces."""
    monkeypatch.setattr(Netns, "inherited", HOSTILE_ROOT_SYSCTLS)
    return HOSTILE_ROOT_SYSCTLS


@pytest.fixture
def hv_ns(netns_factory):  # pylint: disable=redefined-outer-name
    """A fresh 'hypervisor' namespace with lo up."""
    return netns_factory("hv")


@pytest.fixture
def ansible_runner(tmp_path):
    return AnsibleRunner(tmp_path)


@pytest.fixture
def run_module(ansible_runner):  # pylint: disable=redefined-outer-name
    """run_module(ns, module_name, args, check=False, diff=False) -> result dict."""
    return ansible_runner.run_module


@pytest.fixture
def run_playbook(ansible_runner):  # pylint: disable=redefined-outer-name
    """run_playbook(ns, playbook, extra_vars, check=False, diff=False) -> (rc, out)."""

    def _run(ns, playbook_path, extra_vars=None, check=False, diff=False):
        rc, out = ansible_runner.run_playbook(ns, playbook_path, extra_vars, check, diff)
        _run.results = ansible_runner.results
        return rc, out

    _run.results = []
    return _run
