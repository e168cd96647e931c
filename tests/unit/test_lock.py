# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lock's scopes, order and protections (plugins/module_utils/lock.py), in a temporary directory."""

from __future__ import annotations

import os
import threading
import time

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils import lock
from ansible_collections.hypervisor.networking.plugins.module_utils.engine import converge
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError, ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.interface import InterfaceResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.ovs_bridge import OvsBridgeResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.ovs_global import OvsGlobalResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.ovs_port import OvsPortResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.sysfs import HugepagesResource, PciDriverResource


def test_netns_scope_names_the_namespace_as_persistence_does():
    assert lock.netns_scope("hvt-a-123456").file_name == "netns-hvt-a-123456.lock"
    assert lock.netns_scope("hvt-a-123456").label == "network namespace hvt-a-123456"
    # the host's own namespace keeps the lock file earlier releases used
    host = lock.netns_scope("")
    assert host.file_name == "host.lock"
    # a name that is no safe file name still gets a file of its own
    odd = lock.netns_scope("a b:c")
    assert odd.file_name.startswith("netns-") and " " not in odd.file_name and odd != lock.netns_scope("a b:d")


def test_ovsdb_scope_is_one_per_database_however_spelled(tmp_path):
    real = tmp_path / "run"
    real.mkdir()
    (tmp_path / "var-run").symlink_to(real)
    through_link = lock.ovsdb_scope("unix:%s/db.sock" % (tmp_path / "var-run"))
    direct = lock.ovsdb_scope("unix:%s/db.sock" % real)
    assert through_link == direct
    assert lock.ovsdb_scope("tcp:127.0.0.1:6640") != direct
    assert "unix:%s/db.sock" % real in direct.label


def test_sysfs_scope_is_the_machines_for_sys_and_one_per_other_tree(tmp_path):
    assert lock.sysfs_scope(None) == lock.sysfs_scope("/sys") == lock.sysfs_scope("/sys/")
    assert lock.sysfs_scope("/sys").file_name == "sysfs.lock" and lock.sysfs_scope("/sys").label == "sysfs at /sys"
    (tmp_path / "tree").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "tree")
    emulated = lock.sysfs_scope(str(tmp_path / "tree"))
    assert emulated == lock.sysfs_scope(str(tmp_path / "link")) and emulated != lock.sysfs_scope("/sys")


def test_scopes_are_taken_in_one_order_whatever_the_order_asked():
    scopes = [lock.sysfs_scope("/sys"), lock.ovsdb_scope("tcp:127.0.0.1:6640"), lock.netns_scope("b"), lock.netns_scope("a"),
              lock.netns_scope("a")]
    ordered = lock.ScopeLock(scopes).scopes
    assert [scope.kind for scope in ordered] == ["netns", "netns", "ovsdb", "sysfs"]
    assert [scope.key for scope in ordered[:2]] == ["netns-a", "netns-b"]


def test_resources_lock_what_they_share(monkeypatch):
    monkeypatch.setattr(lock, "current_netns_name", lambda: "hvt-x-000000")
    for resource in (OvsPortResource(), OvsBridgeResource(), OvsGlobalResource()):  # every writer of an OVSDB
        ovs = resource.lock_scopes({"database": "tcp:127.0.0.1:6640"})
        assert ovs == [lock.netns_scope("hvt-x-000000"), lock.ovsdb_scope("tcp:127.0.0.1:6640")], resource.kind
    # hugepage pools and PCI drivers belong to the machine: a run in any namespace locks the same sysfs
    for resource in (HugepagesResource(), PciDriverResource()):
        assert resource.lock_scopes({"sysfs_root": "/sys"}) == [lock.netns_scope("hvt-x-000000"), lock.sysfs_scope("/sys")]
    # vm_interface locks an OVSDB only when there is one to talk to
    missing = "unix:/nonexistent/hvnet-test/db.sock"
    assert InterfaceResource().lock_scopes({"database": missing}) == [lock.netns_scope("hvt-x-000000")]


def test_a_held_scope_times_out_naming_scope_and_holder(tmp_path):
    scope = lock.netns_scope("hvt-held-000000")
    with lock.ScopeLock([scope], directory=str(tmp_path)):
        other = lock.ScopeLock([lock.netns_scope("hvt-free-000000")], timeout=0, directory=str(tmp_path))
        with other:  # another namespace: free
            pass
        started = time.monotonic()
        with pytest.raises(HostError) as failure:
            with lock.ScopeLock([lock.netns_scope("hvt-free-000000"), scope], timeout=0.3, directory=str(tmp_path)):
                pass
        assert 0.3 <= time.monotonic() - started < 3
        message = str(failure.value)
        assert "network namespace hvt-held-000000" in message and "(process %d)" % os.getpid() in message
        assert "lock_timeout (0.3 s)" in message and "nothing was changed" in message
        # the scope taken before the one that timed out was released again
        with lock.ScopeLock([lock.netns_scope("hvt-free-000000")], timeout=0, directory=str(tmp_path)):
            pass


def test_a_planted_symlink_is_not_followed(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    (tmp_path / "host.lock").symlink_to(target)
    with pytest.raises(OSError):
        with lock.ScopeLock([lock.netns_scope("")], directory=str(tmp_path)):
            pass
    assert target.read_text() == "keep"


@pytest.mark.skipif(os.geteuid() != 0, reason="the ownership check applies to root")
def test_a_directory_others_can_write_is_refused(tmp_path):
    directory = tmp_path / "locks"
    directory.mkdir()
    os.chmod(directory, 0o777)
    with pytest.raises(HostError, match="owned and writable only by root"):
        with lock.ScopeLock([lock.netns_scope("")], directory=str(directory)):
            pass


@pytest.mark.parametrize("value", [-1, "5", 1.5, True])
def test_lock_timeout_is_validated_with_the_other_values(value):
    params = {"state": "merged", "config": [{"name": "tap0", "mtu": 5}], "lock_timeout": value}
    with pytest.raises(ValidationError) as failure:
        converge(InterfaceResource(), params, check_mode=True)
    message = str(failure.value)
    assert "lock_timeout" in message and "config[0].mtu" in message


def test_the_lock_file_exists_only_while_held_and_a_waiter_gets_the_next_one(tmp_path):
    scope = lock.netns_scope("hvt-w-000000")
    path = tmp_path / scope.file_name
    order = []

    def waiter():
        with lock.ScopeLock([scope], timeout=10, directory=str(tmp_path)):
            order.append(("waiter holds", path.exists()))

    with lock.ScopeLock([scope], directory=str(tmp_path)):
        assert path.read_text() == "%d\n" % os.getpid()
        thread = threading.Thread(target=waiter)
        thread.start()
        time.sleep(0.3)  # the waiter has opened the file and polls it
        order.append("holder releases")
    thread.join(timeout=10)
    assert order == ["holder releases", ("waiter holds", True)]
    assert not path.exists()
