# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Actions that can stop part-way are undone themselves; vhost-user sockets and MTU, without a host."""

from __future__ import annotations

import os

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import ovsdb
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ApplyError
from ansible_collections.hypervisor.networking.plugins.module_utils.model import interface as mi
from ansible_collections.hypervisor.networking.plugins.module_utils.model import ovs_port as m
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems
from ansible_collections.hypervisor.networking.plugins.module_utils.plan import Plan
from ansible_collections.hypervisor.networking.plugins.module_utils.resource import ovs_port as op
from ansible_collections.hypervisor.networking.plugins.module_utils.resource import vhostuser


# ---- Plan: a failing action with partial=True is undone too ---------------------------------
def _failing_plan(partial):
    done = []
    plan = Plan()
    plan.add("first", lambda: done.append("1"), lambda: done.append("undo 1"))

    def half():
        done.append("2a")
        raise OSError(5, "I/O error")

    plan.add("second", half, lambda: done.append("undo 2"), partial=partial)
    plan.add("third", lambda: done.append("3"), lambda: done.append("undo 3"))
    return plan, done


def test_failing_partial_action_is_undone_itself_then_the_ones_before():
    plan, done = _failing_plan(partial=True)
    with pytest.raises(ApplyError) as info:
        plan.execute()
    assert done == ["1", "2a", "undo 2", "undo 1"]
    assert "'second' failed: Input/output error (EIO); rolled back 2 of 2 applied changes (undone: second; first)" in str(info.value)


def test_failing_atomic_action_is_not_undone():
    plan, done = _failing_plan(partial=False)
    with pytest.raises(ApplyError, match="rolled back 1 of 1 applied changes"):
        plan.execute()
    assert done == ["1", "2a", "undo 1"]


# ---- OVS: ovs-vsctl fails after it committed (waiting for ovs-vswitchd) ------------------------
class FakeVsctl(ovsdb.Ovsdb):
    """ovs-vsctl that commits (or not) and then fails; `get` reads the marker back."""

    def __init__(self, commits):
        super().__init__("unix:/nonexistent")
        self.commits = commits
        self.marker = None
        self.runs = []

    def run(self, args, wait=True):
        self.runs.append(list(args))
        if "get" in args:
            return '"%s"\n' % self.marker if self.marker else "\n"
        if self.commits:
            for word in args:
                if word.startswith("external_ids:%s=" % ovsdb.TXN_MARK_KEY):
                    self.marker = word.split("=", 1)[1]
        if "mtu_request=9000" in args:  # the forward transaction: fails after (or before) its commit
            raise ovsdb.OvsdbError("ovs-vsctl: terminating with signal 14 (Alarm clock)")
        return ""

    def read(self):
        return ovsdb.empty_snapshot()


@pytest.mark.parametrize("commits", [True, False])
def test_ovs_transaction_undone_only_when_committed(commits):
    backend = FakeVsctl(commits)
    backend.pending.add([["set", "Interface", "p0", "mtu_request=9000"]], [["clear", "Interface", "p0", "mtu_request"]])
    plan = Plan()
    op.finish(plan, backend)
    with pytest.raises(ApplyError) as info:
        plan.execute()
    undo_ran = any(["--", "clear", "Interface", "p0", "mtu_request"] == run[:5] for run in backend.runs)
    assert undo_ran is commits, backend.runs
    expected = ("(the transaction is in the database; ovs-vswitchd did not confirm it); rolled back 1 of 1 applied changes "
                "(undone: ovs-vsctl set Interface p0") if commits else "Alarm clock); rolled back 0 of 0 applied changes"
    assert expected in str(info.value), str(info.value)


# ---- vhost-user socket directories ---------------------------------------------------------------
def test_make_dirs_failing_part_way_is_undone_exactly(tmp_path, monkeypatch):
    target = tmp_path / "a" / "b" / "c"
    calls = []

    def chown(path, uid, gid):
        calls.append(path)
        if len(calls) == 2:
            raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chown", chown)
    model = mi.VmInterface(name="vnet0", kind="vhostuser", bridge="br0", socket=str(target / "s.sock"), owner="root")
    plan = Plan()
    snapshot = {"ovs": dict(ovsdb.empty_snapshot(), vhost_socket_dir=str(tmp_path / "ovs"))}

    class Backend:
        pending = ovsdb.Transaction()

    vhostuser.plan(plan, Backend, None, model, snapshot)
    assert plan.commands == ["install -d -o root -m 0750 %s" % target]
    with pytest.raises(ApplyError):
        plan.execute()
    assert not (tmp_path / "a").exists()


def test_socket_directory_checks_with_an_owner(tmp_path):
    base = str(tmp_path / "run" / "vhost")
    os.makedirs(base)
    other = tmp_path / "shared"
    other.mkdir()
    os.chown(str(other), 65534, -1)

    def problems_for(socket, owner="root"):
        problems = Problems()
        vhostuser._check_socket_directory(  # pylint: disable=protected-access
            problems, "config[0]", mi.VmInterface(name="v", kind="vhostuser", socket=socket, owner=owner), base)
        return problems.items

    assert problems_for(os.path.join(base, "vm1", "s.sock")) == []           # below OVS's directory: (re-)owned by plan
    assert problems_for(str(tmp_path / "new" / "s.sock")) == []              # missing elsewhere: created for the owner
    assert problems_for(str(other / "s.sock"), owner="nobody") == []         # elsewhere and the owner's already
    found = problems_for(str(other / "s.sock"))                              # elsewhere, another user's: never re-owned
    assert len(found) == 1 and found[0].startswith("config[0].owner: socket directory %s exists and belongs to user nobody" % other)
    assert vhostuser.is_managed_directory(os.path.join(base, "x"), base)
    assert not vhostuser.is_managed_directory(base, base) and not vhostuser.is_managed_directory(base + "x/y", base)


def test_client_socket_outside_the_socket_directory_passes_host_checks():
    snapshot = ovsdb.empty_snapshot()
    snapshot["ovs"].update(dpdk_initialized=True)
    snapshot["bridges"] = {"br0": {"datapath_type": "netdev", "ports": []}}
    problems = Problems()
    port = m.OvsDpdkPort(name="vhu0", bridge="br0", type="dpdkvhostuserclient", vhost_server_path="/var/lib/vhost_sockets/vhu0.sock")
    op.host_problems(problems, "config[0]", port, snapshot, "ovs_dpdk_port", False, [])
    assert problems.items == []


# ---- MTU of vhost-user ports ------------------------------------------------------------------
def test_vhost_port_expects_its_mtu():
    txn = ovsdb.Transaction()
    want = m.OvsDpdkPort(name="vhu0", bridge="br0", type="dpdkvhostuserclient", vhost_server_path="/s/vhu0.sock", mtu_request=9000)
    op.plan_port(txn, "ovs_dpdk_port", None, want, ovsdb.empty_snapshot())
    assert txn.expect == [("vhu0", 9000, True, None)]


class ReadBack(ovsdb.Ovsdb):
    def __init__(self, mtu, status):
        super().__init__("unix:/nonexistent", port_wait=0.3)
        self.row = {"type": "dpdkvhostuserclient", "options": {}, "mtu": mtu, "mtu_request": 9000, "ofport": 1,
                    "ofport_request": None, "error": None, "status": {"status": status}}

    def read(self):
        snapshot = ovsdb.empty_snapshot()
        snapshot["ports"]["vhu0"] = {"bridge": "br0", "interfaces": ["vhu0"]}
        snapshot["interfaces"]["vhu0"] = self.row
        return snapshot


def test_wait_ports_mtu_of_vhost_ports():
    ReadBack(0, "disconnected").wait_ports([("vhu0", 9000, True, None)])   # no QEMU yet: effective when it connects
    ReadBack(9000, "connected").wait_ports([("vhu0", 9000, True, None)])
    with pytest.raises(ovsdb.OvsdbError, match=r"vhu0 \(mtu 1500, requested 9000\)"):
        ReadBack(1500, "connected").wait_ports([("vhu0", 9000, True, None)])
