# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_interface kind vhostuser: a VM's vhost-user-client port on an OVS-DPDK netdev bridge."""

from __future__ import annotations

import os
import pwd

BR = "br-dpdk"


def _iface(run_module, ovs, config, state="merged", check=False, diff=False):
    args = {"config": config, "state": state, "persist": False, "database": ovs.database, "vhost_socket_dir": ovs.sockdir}
    return run_module(ovs.ns, "vm_interface", args, check=check, diff=diff)


def test_vhostuser_and_tap_in_one_list(ovs, run_module):
    ovs.vsctl("add-br", BR, "--", "set", "Bridge", BR, "datapath_type=netdev")
    ovs.ns.run("ip", "link", "add", "br-kern", "type", "bridge")
    sock = os.path.join(ovs.sockdir, "vm1", "vnet0.sock")
    config = [
        {"name": "vnet0", "kind": "vhostuser", "bridge": BR, "socket": sock, "owner": "nobody", "mtu": 9000,
         "guest": {"mac": "52:54:00:00:00:01", "queues": 2}},
        {"name": "tap-vm1", "bridge": "br-kern", "guest": {"mac": "52:54:00:00:00:02"}},
    ]
    result = _iface(run_module, ovs, config, diff=True)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True and "vnet0" in result["diff"]["after"]

    iface = ovs.interface("vnet0")
    assert iface["type"] == "dpdkvhostuserclient" and iface["options"] == {"vhost-server-path": sock}
    assert iface["mtu_request"] == 9000 and iface["error"] == [] and iface["ofport"] > 0
    assert ovs.port("vnet0")["external_ids"] == {"hypervisor-networking-owner": "vm_interface"}
    assert os.stat(os.path.dirname(sock)).st_uid == pwd.getpwnam("nobody").pw_uid
    assert ovs.ns.link("tap-vm1")["master"] == "br-kern"

    before = ovs.dump()
    again = _iface(run_module, ovs, config)
    assert again["changed"] is False, again.get("commands")
    assert ovs.dump() == before
    # ovs_dpdk_port does not claim vm_interface's ports
    gathered = run_module(ovs.ns, "ovs_dpdk_port", {"state": "gathered", "database": ovs.database})
    assert gathered["gathered"] == []

    checked = _iface(run_module, ovs, [{"name": "vnet0", "mtu": 1500}], check=True)
    assert checked["changed"] is True and ovs.dump() == before

    # a socket path that is not absolute is refused before OVS is touched (any directory is fine:
    # test_vhost_sockets_mtu.py)
    bad = _iface(run_module, ovs, [{"name": "vnet1", "kind": "vhostuser", "bridge": BR, "socket": "vnet1.sock"}])
    assert bad.get("failed") and "config[0].socket: 'vnet1.sock' must be an absolute, normalised path" in bad["msg"]
    assert ovs.dump() == before

    removed = _iface(run_module, ovs, None, state="deleted")
    assert removed["changed"] is True
    assert ovs.port_names() == [BR]
    assert ovs.ns.link("tap-vm1") is None


def test_socket_directory_has_one_owner(ovs, run_module):
    ovs.vsctl("add-br", BR, "--", "set", "Bridge", BR, "datapath_type=netdev")
    shared = os.path.join(ovs.sockdir, "shared")
    nobody = pwd.getpwnam("nobody").pw_uid
    # two owners for one directory in one call: refused, nothing made
    before = ovs.dump()
    result = _iface(run_module, ovs, [
        {"name": "vneta", "kind": "vhostuser", "bridge": BR, "socket": os.path.join(shared, "a.sock"), "owner": "nobody"},
        {"name": "vnetb", "kind": "vhostuser", "bridge": BR, "socket": os.path.join(shared, "b.sock"), "owner": "root"}])
    assert result.get("failed") and "config[1].owner: socket directory %s is also used by config[0] with owner nobody" % shared in result["msg"]
    assert ovs.dump() == before and not os.path.exists(shared)

    # nested directories are all created for the owner (QEMU must pass through them)
    nested = os.path.join(ovs.sockdir, "vm2", "nics")
    result = _iface(run_module, ovs, [
        {"name": "vneta", "kind": "vhostuser", "bridge": BR, "socket": os.path.join(shared, "a.sock"), "owner": "nobody"},
        {"name": "vnetc", "kind": "vhostuser", "bridge": BR, "socket": os.path.join(nested, "c.sock"), "owner": "nobody"}])
    assert not result.get("failed"), result.get("msg")
    for directory in (shared, os.path.dirname(nested), nested):
        assert os.stat(directory).st_uid == nobody and os.stat(directory).st_mode & 0o777 == 0o750, directory

    # against what exists: another owner would re-own vneta's directory on every run; refused
    before = ovs.dump()
    result = _iface(run_module, ovs, [
        {"name": "vnetb", "kind": "vhostuser", "bridge": BR, "socket": os.path.join(shared, "b.sock"), "owner": "root"}])
    expected = "config[0].owner: socket directory %s belongs to user nobody and holds the socket of OVS interface vneta" % shared
    assert result.get("failed") and expected in result["msg"], result["msg"]
    assert ovs.dump() == before and os.stat(shared).st_uid == nobody
    # the same owner is fine, and converges
    config = [{"name": "vnetb", "kind": "vhostuser", "bridge": BR, "socket": os.path.join(shared, "b.sock"), "owner": "nobody"}]
    assert _iface(run_module, ovs, config)["changed"] is True
    assert _iface(run_module, ovs, config)["changed"] is False
