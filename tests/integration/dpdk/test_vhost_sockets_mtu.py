# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vhost-user client sockets outside OVS's directories, and the MTU of vhost-user ports, on real OVS-DPDK.

A virtio-user port of the same ovs-vswitchd (OvsDpdk.connect_frontend) stands in for QEMU:
it listens on the socket, the dpdkvhostuserclient port connects, and OVS then reports the
port's effective `mtu` as it does with a VM.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import ovs_dpdk  # noqa: E402  pylint: disable=wrong-import-position

BR = "br-dpdk"
QEMU_BR = "br-qemu"


@pytest.fixture
def ovs_qemu(dpdk_hugepages, hv_ns, tmp_path):  # pylint: disable=unused-argument
    """Like the `ovs` fixture, with DPDK memory a virtio-user QEMU stand-in can map."""
    instance = ovs_dpdk.OvsDpdk(hv_ns, tmp_path, frontend=True)
    try:
        instance.start()
        for bridge in (BR, QEMU_BR):
            instance.vsctl("add-br", bridge, "--", "set", "Bridge", bridge, "datapath_type=netdev")
        yield instance
    finally:
        instance.stop()


def _module(run_module, ovs, module, config, state="merged", check=False):
    args = {"config": config, "state": state, "persist": False, "database": ovs.database, "vhost_socket_dir": ovs.sockdir}
    return run_module(ovs.ns, module, args, check=check)


def _ok(result):
    assert not result.get("failed"), result.get("msg")
    return result


def test_vm_interface_socket_outside_ovs_directories(ovs_qemu, run_module, tmp_path):
    ovs = ovs_qemu
    nobody = pwd.getpwnam("nobody").pw_uid
    # as OpenStack's /var/lib/vhost_sockets: a tree of our own, not under OVS's run directory
    outside = tmp_path / "var-lib" / "vhost_sockets"
    assert not str(outside).startswith(ovs.rundir)
    vm1 = outside / "vm1"
    config = [{"name": "vnet0", "kind": "vhostuser", "bridge": BR, "socket": str(vm1 / "vnet0.sock"), "owner": "nobody"}]
    result = _ok(_module(run_module, ovs, "vm_interface", config))
    assert result["changed"] is True
    iface = ovs.interface("vnet0")
    assert iface["type"] == "dpdkvhostuserclient" and iface["options"] == {"vhost-server-path": str(vm1 / "vnet0.sock")}
    assert iface["error"] == [] and iface["ofport"] > 0
    # missing directories are made for the owner (QEMU must pass through them)
    for directory in (outside, vm1):
        assert os.stat(directory).st_uid == nobody and os.stat(directory).st_mode & 0o777 == 0o750, directory
    before = ovs.dump()
    assert _ok(_module(run_module, ovs, "vm_interface", config))["changed"] is False
    assert ovs.dump() == before

    # without an owner, any existing directory will do
    shared = tmp_path / "shared"
    shared.mkdir()
    plain = [{"name": "vnet1", "kind": "vhostuser", "bridge": BR, "socket": str(shared / "vnet1.sock")}]
    assert _ok(_module(run_module, ovs, "vm_interface", plain))["changed"] is True
    assert ovs.interface("vnet1")["options"] == {"vhost-server-path": str(shared / "vnet1.sock")}
    assert os.stat(shared).st_uid == 0

    # with an owner, an existing directory of another user outside OVS's tree is never re-owned
    before = ovs.dump()
    refused = _module(run_module, ovs, "vm_interface",
                      [{"name": "vnet2", "kind": "vhostuser", "bridge": BR, "socket": str(shared / "vnet2.sock"), "owner": "nobody"}])
    assert refused.get("failed")
    assert ("config[0].owner: socket directory %s exists and belongs to user root" % shared) in refused["msg"], refused["msg"]
    assert ovs.dump() == before and os.stat(shared).st_uid == 0

    # a relative or unnormalised path is still refused, naming the field
    bad = _module(run_module, ovs, "vm_interface", [{"name": "vnet3", "kind": "vhostuser", "bridge": BR, "socket": "vhost/x.sock"}])
    assert bad.get("failed") and "config[0].socket" in bad["msg"]
    assert ovs.dump() == before

    _ok(_module(run_module, ovs, "vm_interface", None, state="deleted"))
    assert ovs.port_names() == sorted([BR, QEMU_BR])


def test_ovs_dpdk_port_socket_outside_ovs_directories(ovs_qemu, run_module, tmp_path):
    ovs = ovs_qemu
    sock = str(tmp_path / "vhost_sockets" / "vhu0.sock")
    port = {"name": "vhu0", "bridge": BR, "type": "dpdkvhostuserclient", "vhost_server_path": sock, "mtu_request": 9000}
    assert _ok(_module(run_module, ovs, "ovs_dpdk_port", [port]))["changed"] is True
    iface = ovs.interface("vhu0")
    assert iface["options"] == {"vhost-server-path": sock} and iface["mtu_request"] == 9000 and iface["error"] == []
    # no QEMU yet: OVS reports mtu 0, the MTU takes effect when QEMU connects
    assert iface["mtu"] == 0 and iface["status"]["status"] == "disconnected"
    assert _ok(_module(run_module, ovs, "ovs_dpdk_port", [port]))["changed"] is False


def test_vhostuser_mtu_effective_once_qemu_connects(ovs_qemu, run_module, tmp_path):
    ovs = ovs_qemu
    sock = str(tmp_path / "vm1" / "vnet0.sock")
    config = [{"name": "vnet0", "kind": "vhostuser", "bridge": BR, "socket": sock, "owner": "root", "mtu": 9000}]
    _ok(_module(run_module, ovs, "vm_interface", config))
    ovs.connect_frontend(QEMU_BR, "qemu0", sock)
    iface = ovs.interface("vnet0")
    assert iface["status"]["status"] == "connected" and iface["mtu"] == 9000 and iface["mtu_request"] == 9000

    # a change of MTU on a connected port: verified as effective before the module returns
    config[0]["mtu"] = 2000
    result = _ok(_module(run_module, ovs, "vm_interface", config))
    assert result["changed"] is True
    iface = ovs.interface("vnet0")
    assert iface["mtu_request"] == 2000 and iface["mtu"] == 2000
    assert _ok(_module(run_module, ovs, "vm_interface", config))["changed"] is False


# In-process engine call inside the namespace (ovs_dpdk_port), with an injected fault: OVS's read-back
# of one interface's effective MTU replaced by a wrong value, and/or a short ovs-vsctl timeout.
# The transactions and the rollback are real.
_CONVERGE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.hypervisor.networking.plugins.module_utils import engine
from ansible_collections.hypervisor.networking.plugins.module_utils.backend import ovsdb
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HvnetError
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.ovs_port import OvsPortResource

params = json.loads(sys.argv[2])
fault = params.pop("fault")
real_read = ovsdb.Ovsdb.read

def read(self):
    snapshot = real_read(self)
    row = snapshot["interfaces"].get(fault.get("wrong_mtu_of"))
    if row is not None and row["mtu"]:
        row["mtu"] = 1500  # what OVS would report had the new MTU not taken effect
    return snapshot

ovsdb.Ovsdb.read = read

class Resource(OvsPortResource):
    def open_backend(self, params):
        return ovsdb.Ovsdb(params["database"], timeout=fault.get("vsctl_timeout", ovsdb.VSCTL_TIMEOUT), port_wait=2.0)

try:
    engine.converge(Resource(), params, check_mode=False)
    print(json.dumps({"failed": False}))
except HvnetError as exc:
    print(json.dumps({"failed": True, "msg": str(exc)}))
"""
COLLECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                           ".collections")


def _converge_with_fault(ovs, config, fault):
    params = {"state": "merged", "persist": False, "database": ovs.database, "config": config, "fault": fault}
    out = ovs.ns.run(sys.executable, "-c", _CONVERGE, COLLECTIONS, json.dumps(params), timeout=120).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_vhostuser_mtu_mismatch_rolls_back(ovs_qemu, run_module, tmp_path):
    ovs = ovs_qemu
    sock = str(tmp_path / "vhu0.sock")
    port = {"name": "vhu0", "bridge": BR, "type": "dpdkvhostuserclient", "vhost_server_path": sock, "mtu_request": 1500}
    _ok(_module(run_module, ovs, "ovs_dpdk_port", [port]))
    ovs.connect_frontend(QEMU_BR, "qemu0", sock)
    assert ovs.interface("vhu0")["mtu"] == 1500
    before = ovs.dump()

    result = _converge_with_fault(ovs, [{"name": "vhu0", "mtu_request": 9000, "external_ids": {"vm": "vm1"}}],
                                  {"wrong_mtu_of": "vhu0"})
    assert result["failed"], result
    assert "vhu0 (mtu 1500, requested 9000)" in result["msg"] and "rolled back 1 of 1" in result["msg"], result["msg"]
    # the real OVS is as before: mtu_request and the new external_ids key undone, MTU back in effect
    assert ovs.dump() == before
    assert ovs.interface("vhu0")["mtu"] == 1500


def test_transaction_committed_but_not_confirmed_is_undone(ovs_qemu, run_module):
    """ovs-vsctl commits, then waits for ovs-vswitchd: with ovs-vswitchd hung (SIGSTOP) it fails
    after its commit. The failed action itself is undone in the database, not only the ones before."""
    ovs = ovs_qemu
    _ok(_module(run_module, ovs, "ovs_dpdk_port", [{"name": "null0", "bridge": BR, "devargs": "net_null0,no-rx=1"}]))
    before = ovs.dump()
    vswitchd = ovs.procs["ovs-vswitchd"]
    os.kill(vswitchd.pid, signal.SIGSTOP)
    try:
        result = _converge_with_fault(ovs, [{"name": "null0", "mtu_request": 9000, "external_ids": {"vm": "vm1"}}],
                                      {"vsctl_timeout": 3})
        after = ovs.vsctl_json("--columns=name,mtu_request,external_ids", "list", "Interface", "null0")[0]
    finally:
        os.kill(vswitchd.pid, signal.SIGCONT)
    assert result["failed"], result
    assert ("ovs-vsctl gave up after 3 s: ovsdb-server or ovs-vswitchd did not answer (the transaction is in the database; "
            "ovs-vswitchd did not confirm it); rolled back 1 of 1 applied changes (undone: ovs-vsctl set Interface null0") in result["msg"], \
        result["msg"]
    assert after["mtu_request"] == [] and after["external_ids"] == {}
    assert ovs.dump() == before
