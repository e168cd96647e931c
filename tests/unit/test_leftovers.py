"""leftovers.py: the runtime files of named namespaces that are gone, planned for removal like any change."""

import os
import subprocess
import sys

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils import leftovers, lock
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ApplyError
from ansible_collections.hypervisor.networking.plugins.module_utils.plan import Plan


@pytest.fixture
def roots(tmp_path):
    paths = {name: str(tmp_path / name) for name in ("run", "netns", "var")}
    for path in paths.values():
        os.makedirs(path, mode=0o755)
    return paths


def _write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, mode)


def _tree(root):
    found = {}
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, encoding="utf-8") as handle:
                found[os.path.relpath(path, root)] = (handle.read(), os.stat(path).st_mode & 0o777)
    return found


def _plan(roots):
    plan = Plan()
    vanished = leftovers.plan_removal(plan, runtime_root=roots["run"], netns_dir=roots["netns"], lock_dir=roots["run"])
    return plan, vanished


def _scope(roots, name):
    directory = os.path.join(roots["run"], "netns", name)
    _write(os.path.join(directory, "dnsmasq", "n1.conf"), "conf of %s\n" % name)
    _write(os.path.join(directory, "dnsmasq", "n1.leases"), "lease\n", mode=0o600)
    _write(os.path.join(directory, "sysctl-originals.json"), "{}\n")
    return directory


def test_only_vanished_namespaces_are_planned_and_removed(roots):
    gone, live = _scope(roots, "gone"), _scope(roots, "live")
    _scope(roots, "unnamed-4026532000")
    _write(os.path.join(roots["netns"], "live"), "")
    plan, vanished = _plan(roots)
    assert vanished == ["gone"]
    assert plan.commands == ["remove the runtime files of network namespace gone, which no longer exists "
                             "(its saved intent, if any, is kept)"]
    assert os.path.isdir(gone)  # planning changes nothing
    plan.execute()
    assert not os.path.exists(gone) and _tree(live) and os.path.isdir(os.path.join(roots["run"], "netns", "unnamed-4026532000"))
    assert _plan(roots)[0].commands == []


def test_a_rollback_puts_the_files_back(roots):
    gone = _scope(roots, "gone")
    before = _tree(gone)
    plan, _vanished = _plan(roots)

    def fail():
        raise OSError(5, "later step failed")
    plan.add("a later step", fail)
    with pytest.raises(ApplyError, match="rolled back 1 of 1"):
        plan.execute()
    assert _tree(gone) == before


def test_a_running_dnsmasq_or_a_held_lock_keeps_the_files(roots):
    gone = _scope(roots, "gone")
    conf = "--conf-file=%s" % os.path.join(gone, "dnsmasq", "n1.conf")
    # a process whose command line names a configuration of the directory, as dnsmasq's does
    proc = subprocess.Popen([sys.executable, "-c", "import time; print(flush=True); time.sleep(30)", conf],  # pylint: disable=consider-using-with
                            stdout=subprocess.PIPE)
    try:
        proc.stdout.readline()  # it runs with that command line now
        plan, vanished = _plan(roots)
        assert vanished == [] and plan.commands == []
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    with lock.ScopeLock([lock.netns_scope("gone")], directory=roots["run"]):
        assert _plan(roots)[1] == []
    assert _plan(roots)[1] == ["gone"]


def test_stale_lock_files_of_vanished_namespaces_go_held_ones_stay(roots):
    _write(os.path.join(roots["netns"], "live"), "")
    for name in ("netns-gone.lock", "netns-live.lock", "host.lock"):
        _write(os.path.join(roots["run"], name), "123\n", mode=0o600)
    with lock.ScopeLock([lock.netns_scope("busy")], directory=roots["run"]):
        plan, _vanished = _plan(roots)
        assert plan.commands == ["remove the lock file netns-gone.lock left by a run in a network namespace that no longer exists"]
        plan.execute()
        assert sorted(os.listdir(roots["run"])) == ["host.lock", "netns-busy.lock", "netns-live.lock"]
