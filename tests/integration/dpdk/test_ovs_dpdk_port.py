# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""hypervisor.networking.ovs_dpdk_port against a real OVS-DPDK (private ovsdb-server + ovs-vswitchd-dpdk).

Each test gets its own OVS (fixture ``ovs``) with ovs-vswitchd inside namespace ``hv_ns``,
runs the real module there and asserts what ``ovs-vsctl`` / ``ovs-appctl`` / ``ovs-ofctl``
report afterwards.  Every example of the OVS-DPDK reference that needs no NIC is covered.
"""

from __future__ import annotations

import os
import sys

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import ovsdb

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from netns import ping, veth  # noqa: E402  pylint: disable=wrong-import-position

BR = "br0"
OWNER = "hypervisor-networking-owner"


@pytest.fixture
def bridge(ovs):
    ovs.vsctl("add-br", BR, "--", "set", "Bridge", BR, "datapath_type=netdev")
    return BR


def _run(run_module, ovs, config, state="merged", check=False, diff=False, **params):
    args = {"config": config, "state": state, "persist": False, "database": ovs.database, "vhost_socket_dir": ovs.sockdir}
    args.update(params)
    return run_module(ovs.ns, "ovs_dpdk_port", args, check=check, diff=diff)


def _ok(result):
    assert not result.get("failed"), result.get("msg")
    return result


def _failed(result):
    assert result.get("failed"), result
    return result["msg"]


# ---- the reference's examples ------------------------------------------------------------------
def test_vdev_port_queues_affinity_jumbo_lifecycle(ovs, bridge, run_module):
    port = {"name": "null0", "bridge": bridge, "devargs": "net_null0,no-rx=1", "n_rxq": 2,
            "rxq_affinity": {0: 1, 1: 1}, "mtu_request": 9000, "ofport_request": 7,
            "external_ids": {"iface-id": "vm1-nic0"}}
    result = _ok(_run(run_module, ovs, [port]))
    assert result["changed"] is True
    assert len([c for c in result["commands"] if c.startswith("ovs-vsctl")]) == 1, "one transaction per call"

    iface = ovs.interface("null0")
    assert iface["type"] == "dpdk"
    assert iface["options"] == {"dpdk-devargs": "net_null0,no-rx=1", "n_rxq": "2"}
    assert iface["other_config"] == {"pmd-rxq-affinity": "0:1,1:1"}
    assert iface["external_ids"] == {"iface-id": "vm1-nic0"}
    assert iface["ofport"] == 7 and iface["error"] == []
    assert iface["mtu"] == 9000 and iface["mtu_request"] == 9000
    assert ovs.port("null0")["external_ids"] == {OWNER: "ovs_dpdk_port"}
    rxq = ovs.appctl("dpif-netdev/pmd-rxq-show")
    assert "core_id 1" in rxq and "isolated : true" in rxq
    assert "port: null0" in rxq and "queue-id:  1" in rxq

    # idempotent: nothing to do, nothing changed in OVSDB
    before = ovs.dump()
    again = _ok(_run(run_module, ovs, [port]))
    assert again["changed"] is False and again["commands"] == []
    assert ovs.dump() == before

    # check mode with a change: reported, not made; diff shows before/after
    checked = _ok(_run(run_module, ovs, [{"name": "null0", "mtu_request": 6200}], check=True, diff=True))
    assert checked["changed"] is True
    assert checked["diff"]["before"]["null0"]["mtu_request"] == 9000
    assert checked["diff"]["after"]["null0"]["mtu_request"] == 6200
    assert ovs.dump() == before

    # merged changes one field in place (same ofport, same row)
    uuid = ovs.interface("null0")["_uuid"]
    _ok(_run(run_module, ovs, [{"name": "null0", "mtu_request": 6200}]))
    iface = ovs.interface("null0")
    assert iface["_uuid"] == uuid and iface["mtu"] == 6200 and iface["options"]["n_rxq"] == "2"

    # replaced: every field not given goes back to OVS's default; map keys not given stay
    _ok(_run(run_module, ovs, [{"name": "null0", "bridge": bridge, "devargs": "net_null0,no-rx=1"}], state="replaced"))
    iface = ovs.interface("null0")
    assert iface["options"] == {"dpdk-devargs": "net_null0,no-rx=1"}
    assert iface["other_config"] == {} and iface["external_ids"] == {"iface-id": "vm1-nic0"} and iface["mtu_request"] == []
    # a key given as null is removed
    _ok(_run(run_module, ovs, [{"name": "null0", "bridge": bridge, "devargs": "net_null0,no-rx=1", "external_ids": {"iface-id": None}}],
             state="replaced"))
    iface = ovs.interface("null0")
    assert iface["external_ids"] == {}
    assert iface["ofport_request"] == [] and iface["error"] == []

    gathered = _ok(_run(run_module, ovs, None, state="gathered"))["gathered"]
    assert gathered == [{"name": "null0", "bridge": bridge, "type": "dpdk", "devargs": "net_null0,no-rx=1"}]

    # deleted: gone, and a second delete changes nothing
    result = _ok(_run(run_module, ovs, [{"name": "null0"}], state="deleted"))
    assert result["changed"] is True
    assert ovs.port_names() == [BR]
    assert _ok(_run(run_module, ovs, [{"name": "null0"}], state="deleted"))["changed"] is False


def test_check_mode_create_changes_nothing(ovs, bridge, run_module):
    before = ovs.dump()
    result = _ok(_run(run_module, ovs, [{"name": "null0", "bridge": bridge, "devargs": "net_null0,no-rx=1"}], check=True))
    assert result["changed"] is True and result["commands"][0].startswith("ovs-vsctl add-port br0 null0")
    assert ovs.dump() == before


def test_traffic_between_namespaces_over_af_packet_ports_and_flows(ovs, bridge, run_module, netns_factory):
    vm1, vm2 = netns_factory("vm1"), netns_factory("vm2")
    veth(ovs.ns, "hv-vm1", vm1, "eth0")
    veth(ovs.ns, "hv-vm2", vm2, "eth0")
    vm1.run("ip", "addr", "add", "198.51.100.1/24", "dev", "eth0")
    vm2.run("ip", "addr", "add", "198.51.100.2/24", "dev", "eth0")
    vm1.run("ip", "-6", "addr", "add", "2001:db8:4::1/64", "dev", "eth0", "nodad")
    vm2.run("ip", "-6", "addr", "add", "2001:db8:4::2/64", "dev", "eth0", "nodad")
    ports = [
        {"name": "phy0", "bridge": bridge, "devargs": "net_af_packet0,iface=hv-vm1", "ofport_request": 1},
        {"name": "phy1", "bridge": bridge, "devargs": "net_af_packet1,iface=hv-vm2", "ofport_request": 2},
    ]
    _ok(_run(run_module, ovs, ports))
    assert ovs.interface("phy0")["ofport"] == 1 and ovs.interface("phy1")["ofport"] == 2
    # the reference's PHY-PHY flows: forward by OpenFlow port number
    ovs.ofctl("del-flows", BR)
    ovs.ofctl("add-flow", BR, "in_port=1,action=output:2")
    ovs.ofctl("add-flow", BR, "in_port=2,action=output:1")
    assert ping(vm1, "198.51.100.2", count=3, timeout=10), ovs.log_tail()
    assert ping(vm2, "2001:db8:4::1", count=2, timeout=10)
    flows = ovs.ofctl("dump-flows", BR)
    assert "in_port=1" in flows and "n_packets=0," not in flows.split("in_port=1")[1].split("\n")[0]
    # without the flows nothing passes: the ports really carry the traffic
    ovs.ofctl("del-flows", BR)
    ovs.appctl("revalidator/purge")   # drop the datapath's cached flows as well
    assert not ping(vm1, "198.51.100.2", count=1, timeout=2)
    assert _ok(_run(run_module, ovs, ports))["changed"] is False


def test_net_tap_vdev(ovs, bridge, run_module):
    # net_tap needs as many rx queues as OVS opens tx queues (PMD threads + 1 = 2 here)
    _ok(_run(run_module, ovs, [{"name": "tap0", "bridge": bridge, "devargs": "net_tap0", "n_rxq": 2}]))
    iface = ovs.interface("tap0")
    assert iface["ofport"] > 0 and iface["error"] == []
    assert ovs.ns.link("dtap0") is not None, "net_tap creates the kernel device dtap0"


def test_bond_vhostuser_policing_vlan(ovs, bridge, run_module):
    sock = os.path.join(ovs.sockdir, "vhu-vm1.sock")
    config = [
        {"name": "dpdkbond0", "bridge": bridge, "bond_mode": "balance-slb", "lacp": "off",
         "interfaces": [{"name": "bond0-p0", "devargs": "net_null1,no-rx=1"}, {"name": "bond0-p1", "devargs": "net_null2,no-rx=1"}],
         "trunks": [100, 200]},
        {"name": "vhu-vm1", "bridge": bridge, "type": "dpdkvhostuserclient", "vhost_server_path": sock,
         "egress_policer": {"cir": 46000000, "cbs": 2048}, "ingress_policing": {"rate": 368000, "burst": 1000},
         "tag": 100, "ofport_request": 3},
    ]
    _ok(_run(run_module, ovs, config))
    bond = ovs.port("dpdkbond0")
    assert bond["bond_mode"] == "balance-slb" and bond["lacp"] == "off" and bond["trunks"] == [100, 200]
    for member, devargs in (("bond0-p0", "net_null1,no-rx=1"), ("bond0-p1", "net_null2,no-rx=1")):
        iface = ovs.interface(member)
        assert iface["type"] == "dpdk" and iface["options"]["dpdk-devargs"] == devargs
        assert iface["ofport"] > 0 and iface["error"] == []
    assert "bond_mode: balance-slb" in ovs.appctl("bond/show", "dpdkbond0")

    vhu = ovs.interface("vhu-vm1")
    assert vhu["type"] == "dpdkvhostuserclient" and vhu["options"] == {"vhost-server-path": sock}
    assert vhu["ofport"] == 3 and vhu["error"] == []
    assert vhu["ingress_policing_rate"] == 368000 and vhu["ingress_policing_burst"] == 1000
    assert ovs.port("vhu-vm1")["tag"] == 100
    qos = ovs.qos_rows()
    assert len(qos) == 1 and qos[0]["type"] == "egress-policer"
    assert qos[0]["other_config"] == {"cir": "46000000", "cbs": "2048"}
    assert ovs.port("vhu-vm1")["qos"] == qos[0]["_uuid"]
    assert "egress-policer" in ovs.appctl("qos/show", "vhu-vm1")
    assert _ok(_run(run_module, ovs, config))["changed"] is False

    # the policer changes in place; replaced without it removes the QoS row as well
    _ok(_run(run_module, ovs, [{"name": "vhu-vm1", "egress_policer": {"cir": 1000000, "cbs": 2048}}]))
    assert [row["other_config"]["cir"] for row in ovs.qos_rows()] == ["1000000"]
    _ok(_run(run_module, ovs, [{"name": "vhu-vm1", "bridge": bridge, "type": "dpdkvhostuserclient", "vhost_server_path": sock}],
             state="replaced"))
    assert ovs.qos_rows() == [] and ovs.port("vhu-vm1")["qos"] == []
    assert ovs.interface("vhu-vm1")["ingress_policing_rate"] == 0

    _ok(_run(run_module, ovs, None, state="deleted"))
    assert ovs.port_names() == [BR] and ovs.qos_rows() == []


def test_ownership_overridden_and_deleted_spare_foreign_ports(ovs, bridge, run_module):
    ovs.vsctl("add-port", bridge, "manual0", "--", "set", "Interface", "manual0", "type=dpdk",
              'options:dpdk-devargs="net_null5,no-rx=1"')
    _ok(_run(run_module, ovs, [{"name": "p1", "bridge": bridge, "devargs": "net_null1,no-rx=1"},
                               {"name": "p2", "bridge": bridge, "devargs": "net_null2,no-rx=1"}]))
    _ok(_run(run_module, ovs, [{"name": "p1", "bridge": bridge, "devargs": "net_null1,no-rx=1"}], state="overridden"))
    assert ovs.port_names() == sorted([BR, "manual0", "p1"])
    _ok(_run(run_module, ovs, None, state="deleted"))
    assert ovs.port_names() == sorted([BR, "manual0"])
    # a foreign DPDK port is refused by name, unless adopted
    msg = _failed(_run(run_module, ovs, [{"name": "manual0", "bridge": bridge, "devargs": "net_null5,no-rx=1", "mtu_request": 2000}]))
    assert "config[0].name" in msg and "not created by hypervisor.networking" in msg
    _ok(_run(run_module, ovs, [{"name": "manual0", "bridge": bridge, "devargs": "net_null5,no-rx=1"}], adopt=True))
    assert ovs.port("manual0")["external_ids"] == {OWNER: "ovs_dpdk_port"}


# ---- failures -----------------------------------------------------------------------------------
def test_port_that_fails_to_attach_rolls_back_the_call(ovs, bridge, run_module):
    _ok(_run(run_module, ovs, [{"name": "good0", "bridge": bridge, "devargs": "net_null0,no-rx=1", "mtu_request": 2000}]))
    before = ovs.dump()
    result = _run(run_module, ovs, [
        {"name": "good0", "mtu_request": 3000},
        {"name": "bad0", "bridge": bridge, "devargs": "net_bogus0"},
    ])
    msg = _failed(result)
    assert "OVS could not bring up bad0: Error attaching device 'net_bogus0' to DPDK" in msg
    assert "rolled back" in msg
    after = ovs.dump()
    assert "bad0" not in after["Interface"] and "bad0" not in after["Port"]
    assert after["Interface"]["good0"]["mtu_request"] == 2000
    assert after == before, "OVS must be left exactly as it was"


def test_rejected_before_ovs_is_touched(ovs, bridge, run_module):
    ovs.vsctl("--no-wait", "add-br", "br-sys")   # datapath_type system (the default)
    before = ovs.dump()
    # value checks: all problems in one message, each naming its field
    msg = _failed(_run(run_module, ovs, [
        {"name": "p0", "bridge": bridge, "devargs": "0000:01:00", "n_rxq": 2, "rxq_affinity": {2: 1}},
        {"name": "p1", "bridge": bridge, "devargs": "net_null1,no-rx", "n_rxq_desc": 100},
    ]))
    for part in ("config[0].devargs", "config[0].rxq_affinity.2: queue id 2 is not below n_rxq (2)",
                 "config[1].devargs", "config[1].n_rxq_desc: 100 is not a power of two"):
        assert part in msg, msg
    # host checks: netdev bridge, pmd-cpu-mask, a name shared with a non-DPDK port (a client socket may be anywhere)
    msg = _failed(_run(run_module, ovs, [
        {"name": "p0", "bridge": "br-sys", "devargs": "net_null0"},
        {"name": "p1", "bridge": bridge, "devargs": "net_null1", "rxq_affinity": {0: 0}},
        {"name": "vhu0", "bridge": bridge, "type": "dpdkvhostuserclient", "vhost_server_path": "/tmp/vhu0.sock"},
    ]))
    for part in ("config[0].bridge: bridge br-sys has datapath_type system",
                 "config[1].rxq_affinity.0: core 0 is not in pmd-cpu-mask 0x2"):
        assert part in msg, msg
    assert "config[2]" not in msg, msg
    msg = _failed(_run(run_module, ovs, [{"name": BR, "bridge": bridge, "devargs": "net_null3"}], adopt=True))
    assert "config[0].name: OVS port br0 already exists and is not a DPDK port (interface type internal" in msg
    assert ovs.dump() == before


def test_dpdk_not_initialised_is_rejected(dpdk_hugepages, hv_ns, tmp_path, run_module):  # pylint: disable=unused-argument
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import ovs_dpdk  # pylint: disable=import-outside-toplevel

    ovs = ovs_dpdk.OvsDpdk(hv_ns, tmp_path)
    try:
        ovs.start(vswitchd=False)      # database only: nobody has initialised DPDK
        ovs.vsctl("--no-wait", "add-br", BR, "--", "set", "Bridge", BR, "datapath_type=netdev")
        msg = _failed(_run(run_module, ovs, [{"name": "p0", "bridge": BR, "devargs": "net_null0"}]))
        assert "DPDK is not initialised in ovs-vswitchd" in msg
        assert ovs.port_names() == [BR]
    finally:
        ovs.stop()


# ---- review regressions --------------------------------------------------------------------------
def test_partial_merged_items_are_checked_against_the_host(ovs, bridge, run_module):
    sock = os.path.join(ovs.sockdir, "vhu0.sock")
    _ok(_run(run_module, ovs, [{"name": "null0", "bridge": bridge, "devargs": "net_null0,no-rx=1", "n_rxq": 2},
                               {"name": "vhu0", "bridge": bridge, "type": "dpdkvhostuserclient", "vhost_server_path": sock}]))
    # the host's n_rxq (2) decides, not the default: queue 1 may be pinned
    _ok(_run(run_module, ovs, [{"name": "null0", "rxq_affinity": {1: 1}}]))
    assert ovs.interface("null0")["other_config"] == {"pmd-rxq-affinity": "1:1"}
    # the host's type decides: a vhost-user port takes a new socket path without repeating its type
    other = os.path.join(ovs.sockdir, "vhu0-b.sock")
    _ok(_run(run_module, ovs, [{"name": "vhu0", "vhost_server_path": other}]))
    assert ovs.interface("vhu0")["options"] == {"vhost-server-path": other}
    before = ovs.dump()
    # n_rxq 1 while the host keeps queue 1 pinned: refused before OVS is touched
    msg = _failed(_run(run_module, ovs, [{"name": "null0", "n_rxq": 1}]))
    assert "config[0].rxq_affinity.1: queue id 1 is not below n_rxq (1); queues are 0..0" in msg, msg
    msg = _failed(_run(run_module, ovs, [{"name": "vhu0", "n_rxq": 2}, {"name": "null0", "lacp": "active"}]))
    assert "config[0].n_rxq: applies to type dpdk (a physical device or vdev) only, not to dpdkvhostuserclient" in msg, msg
    assert "config[1].lacp: applies to a bond only" in msg, msg
    # replaced: an unset type is dpdk again, which takes no socket path
    msg = _failed(_run(run_module, ovs, [{"name": "vhu0", "bridge": bridge, "vhost_server_path": other}], state="replaced"))
    assert "config[0].vhost_server_path: applies to type dpdkvhostuserclient only (this port's type is dpdk" in msg, msg
    assert ovs.dump() == before


def test_interface_map_keys_of_others_stay(ovs, bridge, run_module):
    port = {"name": "null0", "bridge": bridge, "devargs": "net_null0,no-rx=1", "external_ids": {"iface-id": "vm1-nic0"},
            "other_config": {"note": "ours"}}
    _ok(_run(run_module, ovs, [port]))
    # what ovn-controller writes on an Interface it has bound
    ovs.vsctl("set", "Interface", "null0", "external_ids:ovn-installed=true", 'external_ids:ovn-installed-ts="1700000000000"',
              "other_config:foreign=1")
    before = ovs.dump()
    assert _ok(_run(run_module, ovs, [port]))["changed"] is False
    assert _ok(_run(run_module, ovs, [port], state="replaced"))["changed"] is False
    assert _ok(_run(run_module, ovs, [{"name": "null0", "bridge": bridge, "devargs": "net_null0,no-rx=1"}],
                    state="overridden"))["changed"] is False
    assert ovs.dump() == before
    # one key changes, one is removed (null); the others' keys stay
    result = _ok(_run(run_module, ovs, [{"name": "null0", "external_ids": {"iface-id": "vm1-nic1"}, "other_config": {"note": None}}]))
    assert result["changed"] is True
    iface = ovs.interface("null0")
    assert iface["external_ids"] == {"iface-id": "vm1-nic1", "ovn-installed": "true", "ovn-installed-ts": "1700000000000"}
    assert iface["other_config"] == {"foreign": "1"}


def test_ofport_request_taken_is_refused_and_checked_after_apply(ovs, bridge, run_module):
    ovs.vsctl("add-port", bridge, "manual0", "--", "set", "Interface", "manual0", "type=dpdk",
              'options:dpdk-devargs="net_null5,no-rx=1"')
    taken = ovs.interface("manual0")["ofport"]
    assert taken > 0
    before = ovs.dump()
    msg = _failed(_run(run_module, ovs, [{"name": "p1", "bridge": bridge, "devargs": "net_null1,no-rx=1", "ofport_request": taken}]))
    assert "config[0].ofport_request: %d is already the OpenFlow port of OVS interface manual0 on bridge %s" % (taken, bridge) in msg, msg
    assert ovs.dump() == before
    # another bridge has its own numbers
    ovs.vsctl("add-br", "br1", "--", "set", "Bridge", "br1", "datapath_type=netdev")
    _ok(_run(run_module, ovs, [{"name": "p1", "bridge": "br1", "devargs": "net_null1,no-rx=1", "ofport_request": taken}]))
    assert ovs.interface("p1")["ofport"] == taken

    # the post-apply wait: OVS gave a port another number than it requested (taken meanwhile)
    ovs.vsctl("add-port", bridge, "manual1", "--", "set", "Interface", "manual1", "type=dpdk",
              'options:dpdk-devargs="net_null6,no-rx=1"', "ofport_request=%d" % taken)
    got = ovs.interface("manual1")["ofport"]
    assert got > 0 and got != taken
    with pytest.raises(ovsdb.OvsdbError) as failure:
        ovsdb.Ovsdb(ovs.database, port_wait=5).wait_ports([("manual1", None, True, taken)])
    assert ("manual1 got OpenFlow port %d, not the requested ofport_request %d: interface manual0 on bridge %s holds it"
            % (got, taken, bridge)) in str(failure.value)
