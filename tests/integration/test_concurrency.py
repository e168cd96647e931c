# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs that share something serialize; runs that share nothing run in parallel (lock.py).

- Two `ansible-playbook` runs against one namespace "host" at the same time both finish, one
  after the other: their changes (seen by `ip monitor`) do not interleave and the saved state
  holds the objects of both (no lost update).
- A run that cannot get the lock within `lock_timeout` fails, says why, and changes nothing.
- A held lock of one namespace does not delay a run in another one; a held OVSDB lock delays
  every run that talks to that database, from any namespace, and so does a held sysfs lock every
  hugepages or pci_driver run (tests/integration/test_fleet.py: 20 namespaces in one forked run).

The lock is held by a helper process that takes it exactly as a run does (nethelpers.LockHolder:
lock.ScopeLock inside the namespace), so the test decides when it is released.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position

COLLECTIONS_DIR = nh.COLLECTIONS_DIR
TAPS_PER_RUN = 12
WAIT_LIMIT = 120.0  # seconds any wait of this file may take

IN_PROCESS = textwrap.dedent("""\
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from ansible_collections.hypervisor.networking.plugins.module_utils.engine import converge
    from ansible_collections.hypervisor.networking.plugins.module_utils.entry import RESOURCES
    from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HvnetError
    try:
        result = converge(RESOURCES[sys.argv[2]], json.loads(sys.argv[3]), check_mode=False)
        print(json.dumps({"failed": False, "changed": result["changed"]}))
    except HvnetError as exc:
        print(json.dumps({"failed": True, "msg": str(exc)}))
""")


@pytest.fixture
def holders():
    started = []

    def hold(ns, *scopes):
        holder = nh.LockHolder(ns, *scopes)
        started.append(holder)
        return holder

    yield hold
    for holder in started:
        holder.release()


def in_process(ns, kind, params, timeout=60):
    """converge() of one module inside `ns`, without Ansible: {"failed", "changed"/"msg"}."""
    proc = ns.run(sys.executable, "-c", IN_PROCESS, COLLECTIONS_DIR, kind, json.dumps(params), timeout=timeout)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def taps(prefix):
    return [{"name": "%s%d" % (prefix, index)} for index in range(TAPS_PER_RUN)]


def write_playbook(directory, prefix, lock_timeout=None):
    args = {"config": taps(prefix)}
    if lock_timeout is not None:
        args["lock_timeout"] = lock_timeout
    path = os.path.join(directory, "taps-%s.yml" % prefix)
    play = [{"name": "taps " + prefix, "hosts": "all", "gather_facts": False,
             "tasks": [{"name": "taps", "hypervisor.networking.vm_interface": args}]}]
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(play, handle)  # JSON is YAML
    return path


def module_processes(ns, module):
    """Pids of AnsiballZ processes of `module` running inside `ns`."""
    found = []
    for pid in ns.pids():
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if ("AnsiballZ_%s.py" % module).encode() in cmdline:
            found.append(pid)
    return found


def wait_for(predicate, what, limit=WAIT_LIMIT):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out after %d s waiting for %s" % (limit, what))


def saved_names(ns, kind):
    try:
        with open(nh.intent_file(ns, kind), encoding="utf-8") as handle:
            return sorted(item["name"] for item in json.load(handle)["config"])
    except FileNotFoundError:
        return []


def test_two_playbooks_at_once_serialize_and_both_converge(hv_ns, holders, ansible_runner, tmp_path):
    ns = hv_ns
    runners = []
    for name in ("a", "b"):  # one runner each: a runner keeps the results of its last run
        os.makedirs(tmp_path / name)
        runners.append(type(ansible_runner)(tmp_path / name))
    books = {"ca": write_playbook(str(tmp_path), "ca"), "cb": write_playbook(str(tmp_path), "cb")}
    monitor = ns.popen("ip", "-o", "monitor", "link", stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        holder = holders(ns, ("netns", None))
        outcomes = {}

        def play(prefix, runner):
            started = time.monotonic()
            rc, out = runner.run_playbook(ns, books[prefix])
            outcomes[prefix] = (rc, out, runner.results, time.monotonic() - started)

        started_at = time.monotonic()
        threads = [threading.Thread(target=play, args=(prefix, runner)) for prefix, runner in zip(("ca", "cb"), runners)]
        for thread in threads:
            thread.start()
        # Both module processes are running in the namespace while the lock is held...
        wait_for(lambda: len(module_processes(ns, "vm_interface")) >= 2, "both vm_interface modules to start")
        time.sleep(1.0)
        # ...and neither has changed anything: they wait for the lock.
        assert nh.marked_links(ns) == []
        released = time.monotonic()
        holder.release()
        for thread in threads:
            thread.join(timeout=WAIT_LIMIT)
        assert set(outcomes) == {"ca", "cb"}, "a run did not finish in %d s" % WAIT_LIMIT
    finally:
        monitor.terminate()
        events = monitor.communicate(timeout=10)[0]

    for prefix, (rc, out, results, _took) in outcomes.items():
        assert rc == 0, "run %s failed:\n%s" % (prefix, out[-3000:])
        assert [r["result"]["changed"] for r in results if r["task"] == "taps"] == [True]
    # Real state: the taps of both runs, and the saved state of both (no lost update).
    expected = sorted(item["name"] for prefix in ("ca", "cb") for item in taps(prefix))
    assert nh.marked_links(ns, "vm_interface") == expected
    assert saved_names(ns, "vm_interface") == expected
    # The changes of one run all came before those of the other: creation order of the taps.
    created = []
    for line in events.splitlines():
        fields = line.split()
        if len(fields) > 1 and line[0].isdigit():
            name = fields[1].rstrip(":").split("@")[0]
            if name in expected and name not in created:
                created.append(name)
    assert sorted(created) == expected, "ip monitor missed creations: %s" % created
    owners = [name[:2] for name in created]
    switches = sum(1 for before, after in zip(owners, owners[1:]) if before != after)
    assert switches == 1, "the two runs' changes interleaved: %s" % owners
    print("runs took %s s (lock held by the test for the first %.1f s); %s's taps created first"
          % ({prefix: round(took, 1) for prefix, (_rc, _out, _res, took) in outcomes.items()},
             released - started_at, owners[0]))

    cleanup = in_process(ns, "vm_interface", {"state": "deleted", "config": []})
    assert cleanup["failed"] is False
    assert nh.marked_links(ns) == []
    nh.remove_state_dir(ns)


def test_a_run_that_cannot_get_the_lock_in_time_fails_and_changes_nothing(hv_ns, holders, run_module):
    ns = hv_ns
    before = nh.kernel_state(ns)
    holders(ns, ("netns", None))
    started = time.monotonic()
    result = run_module(ns, "vm_interface", {"config": taps("ct"), "lock_timeout": 2})
    took = time.monotonic() - started
    msg = nh.assert_failed(result, "vm_interface: another hypervisor.networking run (process ",
                           "held the lock on network namespace %s" % ns.name, "lock_timeout (2 s)",
                           "nothing was changed", "raise lock_timeout")
    assert took >= 2, msg
    assert nh.kernel_state(ns) == before
    assert not os.path.exists(nh.state_dir(ns))


def test_namespaces_lock_apart_and_one_ovsdb_locks_all_its_users(netns_factory, holders, tmp_path):
    ns1, ns2 = netns_factory("lk1"), netns_factory("lk2")
    holder = holders(ns1, ("netns", None))
    # Another namespace proceeds while ns1's lock is held; lock_timeout 0 means "do not wait".
    done = in_process(ns2, "vm_interface", {"config": [{"name": "tap-free"}], "lock_timeout": 0})
    assert done == {"failed": False, "changed": True}
    assert nh.marked_links(ns2, "vm_interface") == ["tap-free"]
    # The same namespace waits: gives up after its lock_timeout, nothing made.
    blocked = in_process(ns1, "vm_interface", {"config": [{"name": "tap-held"}], "lock_timeout": 1})
    assert blocked["failed"] and "held the lock on network namespace %s" % ns1.name in blocked["msg"]
    assert nh.marked_links(ns1) == []
    holder.release()
    assert in_process(ns1, "vm_interface", {"config": [{"name": "tap-held"}], "lock_timeout": 0})["changed"] is True

    # One OVSDB is shared by every namespace: a holder in ns1 keeps ovs_dpdk_port in ns2 waiting
    # (the lock comes before any OVSDB access, so no Open vSwitch is needed to see it).
    database = "unix:%s" % (tmp_path / "db.sock")
    holders(ns1, ("ovsdb", database))
    port = {"config": [{"name": "dpdk-x", "bridge": "br-x", "devargs": "net_null0"}],
            "database": database, "lock_timeout": 1}
    waited = in_process(ns2, "ovs_dpdk_port", port)
    assert waited["failed"] and "the Open vSwitch database %s" % database in waited["msg"], waited
    # while ns2's own namespace lock stays free for runs that do not use that OVSDB
    assert in_process(ns2, "vm_interface", {"config": [{"name": "tap-free"}], "lock_timeout": 0}) == {"failed": False, "changed": False}

    for ns in (ns1, ns2):
        assert in_process(ns, "vm_interface", {"state": "deleted", "config": []})["failed"] is False
        nh.remove_state_dir(ns)
    # lock files exist only while held: nothing of these namespaces is left in the lock directory
    leftovers = [name for name in os.listdir("/run/hypervisor-networking") if ns1.name in name or ns2.name in name]
    assert leftovers == []


def test_one_sysfs_is_locked_for_every_namespace(netns_factory, holders, tmp_path):
    """Hugepage pools and PCI drivers belong to the machine: a run in another namespace waits too
    (the lock comes before sysfs is read, so an empty directory stands in for the tree)."""
    ns1, ns2 = netns_factory("sf1"), netns_factory("sf2")
    root = str(tmp_path / "sys")
    os.makedirs(root)
    holder = holders(ns1, ("sysfs", root))
    pools = {"config": [{"size": "2M", "count": 1}], "sysfs_root": root, "lock_timeout": 1, "persist": False}
    waited = in_process(ns2, "hugepages", pools)
    assert waited["failed"] and "held the lock on sysfs at %s" % os.path.realpath(root) in waited["msg"], waited
    bind = {"config": [{"address": "0000:01:00.0", "driver": "vfio-pci"}], "sysfs_root": root, "lock_timeout": 1, "persist": False}
    assert "held the lock on sysfs at" in in_process(ns2, "pci_driver", bind).get("msg", "")
    holder.release()
    # free again: the run gets past the lock and fails on the empty tree, naming it
    after = in_process(ns2, "hugepages", pools)
    assert after["failed"] and "held the lock" not in after["msg"], after
