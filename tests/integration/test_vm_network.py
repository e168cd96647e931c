# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integration tests of hypervisor.networking.vm_network against the real kernel.

Only documentation ranges carry traffic (198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32);
the cloud-hypervisor guide's private ranges are configured but never pinged.
"""

from __future__ import annotations

import os
import sys
import time

import pytest

from netns import ping, veth

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position

MAX_LOST_PACKETS = 5


def _net(run_module, ns, config, state="merged", check=False, diff=False, **params):
    args = {"config": config, "state": state, "persist": False}
    args.update(params)
    return run_module(ns, "vm_network", args, check=check, diff=diff)


def _ips(result_item):
    return sorted("%s/%s" % (ip["address"], ip["prefix"]) for ip in result_item.get("ips", []))


# ---------------------------------------------------------------------------------------
# 1. isolated network: bridge, STP, delay, MTU, MAC, IPv4 + IPv6
# ---------------------------------------------------------------------------------------
def test_isolated_network_lifecycle(hv_ns, run_module):
    net = {
        "name": "isonet", "bridge": {"name": "br-iso", "stp": True, "delay": 0}, "mtu": 9000,
        "mac": "02:00:00:00:02:01",
        "ips": [{"address": "198.51.100.1", "prefix": 24}, {"address": "2001:db8:10::1/64"}],
    }
    result = nh.assert_ok(_net(run_module, hv_ns, [net]))
    assert result["changed"] is True
    assert result["after"][0]["bridge"]["delay"] == 2, "with STP on the kernel enforces 2 s and the module reports it"

    entry = nh.link(hv_ns, "br-iso")
    data = nh.info_data(entry)
    assert nh.info_kind(entry) == "bridge"
    assert data["stp_state"] == 1
    assert data["forward_delay"] == 200
    assert entry["mtu"] == 9000
    assert entry["address"] == "02:00:00:00:02:01"
    assert "UP" in entry["flags"]
    alias = entry["ifalias"].split()
    assert alias[0] == nh.NETWORK_MARK
    assert "name=isonet" in alias and "mode=isolated" in alias
    assert nh.global_addrs(hv_ns, "br-iso") == {"198.51.100.1/24", "2001:db8:10::1/64"}

    before = nh.settled_state(hv_ns)
    nh.assert_unchanged_run(_net(run_module, hv_ns, [net]))
    nh.assert_same_state(before, nh.kernel_state(hv_ns))

    # check mode with a change
    extra = {"name": "isonet", "bridge": {"name": "br-iso"}, "ips": [{"address": "203.0.113.1/24"}]}
    result = nh.assert_ok(_net(run_module, hv_ns, [extra], check=True))
    assert result["changed"] is True
    assert result["commands"] == ["ip addr add 203.0.113.1/24 dev br-iso"]
    nh.assert_same_state(before, nh.kernel_state(hv_ns))

    # merged adds an address (diff mode)
    result = nh.assert_ok(_net(run_module, hv_ns, [extra], diff=True))
    assert result["changed"] is True
    assert _ips(result["diff"]["before"]["isonet"]) == ["198.51.100.1/24", "2001:db8:10::1/64"]
    assert _ips(result["diff"]["after"]["isonet"]) == ["198.51.100.1/24", "2001:db8:10::1/64", "203.0.113.1/24"]
    assert nh.global_addrs(hv_ns, "br-iso") == {"198.51.100.1/24", "2001:db8:10::1/64", "203.0.113.1/24"}
    assert nh.link(hv_ns, "br-iso")["mtu"] == 9000

    # replaced: exactly these addresses
    replaced = dict(net, ips=[{"address": "198.51.100.1/24"}])
    index = nh.ifindex(hv_ns, "br-iso")
    result = nh.assert_ok(_net(run_module, hv_ns, [replaced], state="replaced"))
    assert result["changed"] is True
    assert nh.global_addrs(hv_ns, "br-iso") == {"198.51.100.1/24"}
    assert nh.ifindex(hv_ns, "br-iso") == index
    assert nh.info_data(nh.link(hv_ns, "br-iso"))["stp_state"] == 1

    # deleted
    result = nh.assert_ok(_net(run_module, hv_ns, [{"name": "isonet"}], state="deleted"))
    assert result["changed"] is True
    assert nh.link(hv_ns, "br-iso") is None
    assert nh.marked_links(hv_ns) == []
    assert nh.link_names(hv_ns) == ["lo"]


# ---------------------------------------------------------------------------------------
# 2. the cloud-hypervisor networking guide, kernel state only (no traffic to its ranges)
# ---------------------------------------------------------------------------------------
def test_cloud_hypervisor_guide_example(hv_ns, run_module):
    networks = [
        {"name": "ich-int", "forward": {"mode": "bridge"}, "bridge": {"stp": False}, "ips": [{"address": "192.168.4.1", "prefix": 24}]},
        {"name": "ich-dpl", "forward": {"mode": "bridge"}, "bridge": {"stp": False}, "ips": [{"address": "10.0.1.1", "netmask": "255.255.255.0"}]},
    ]
    taps = [
        {"name": "ich0", "bridge": "ich-int", "guest": {"mac": "a4:a1:c2:00:00:01", "queues": 2, "queue_size": 256, "ip": "192.168.4.2/24"}},
        {"name": "ich1", "bridge": "ich-dpl", "guest": {"mac": "a4:a1:c2:00:00:02", "queues": 2, "queue_size": 256, "ip": "10.0.1.2/24"}},
    ]
    nh.assert_ok(_net(run_module, hv_ns, networks))
    result = nh.assert_ok(run_module(hv_ns, "vm_interface", {"config": taps, "persist": False}))
    assert result["changed"] is True

    for bridge, address in (("ich-int", "192.168.4.1/24"), ("ich-dpl", "10.0.1.1/24")):
        entry = nh.link(hv_ns, bridge)
        assert nh.info_kind(entry) == "bridge"
        assert nh.info_data(entry)["stp_state"] == 0
        assert "UP" in entry["flags"]
        assert entry["ifalias"].startswith(nh.NETWORK_MARK + " ")
        assert "name=%s" % bridge in entry["ifalias"].split()
        assert nh.global_addrs(hv_ns, bridge) == {address}
    for tap, bridge in (("ich0", "ich-int"), ("ich1", "ich-dpl")):
        entry = nh.link(hv_ns, tap)
        data = nh.info_data(entry)
        assert nh.info_kind(entry) == "tun" and data["type"] == "tap"
        assert data["multi_queue"] is True
        assert data["vnet_hdr"] is True
        assert entry["master"] == bridge
        assert entry["ifalias"] == nh.IFACE_MARK
        assert "UP" in entry["flags"]
        assert entry["address"] not in ("a4:a1:c2:00:00:01", "a4:a1:c2:00:00:02"), "the host side must not use the guest MAC"
    routes = {(r.get("dst"), r.get("dev")) for r in hv_ns.routes()}
    assert ("192.168.4.0/24", "ich-int") in routes
    assert ("10.0.1.0/24", "ich-dpl") in routes

    before = nh.settled_state(hv_ns)
    nh.assert_unchanged_run(_net(run_module, hv_ns, networks))
    nh.assert_unchanged_run(run_module(hv_ns, "vm_interface", {"config": taps, "persist": False}))
    nh.assert_same_state(before, nh.kernel_state(hv_ns))

    gathered = nh.assert_ok(run_module(hv_ns, "vm_interface", {"state": "gathered"}))["gathered"]
    assert [(g["name"], g["bridge"], g["multi_queue"]) for g in gathered] == [("ich0", "ich-int", True), ("ich1", "ich-dpl", True)]


# ---------------------------------------------------------------------------------------
# 3. traffic: a "VM" namespace on the bridge (veth models the VM NIC) pings the gateway
# ---------------------------------------------------------------------------------------
def test_vm_reaches_gateway(hv_ns, netns_factory, run_module):
    vm = netns_factory("vm")
    net = {"name": "vmnet", "bridge": {"name": "br-vm", "stp": False},
           "ips": [{"address": "198.51.100.1/24"}, {"address": "2001:db8:20::1/64"}]}
    nh.assert_ok(_net(run_module, hv_ns, [net]))
    veth(hv_ns, "vnet-vm0", vm, "eth0")
    hv_ns.run("ip", "link", "set", "vnet-vm0", "master", "br-vm")
    vm.run("ip", "addr", "add", "198.51.100.10/24", "dev", "eth0")
    vm.run("ip", "-6", "addr", "add", "2001:db8:20::10/64", "dev", "eth0", "nodad")
    assert nh.link(hv_ns, "vnet-vm0")["master"] == "br-vm"
    assert ping(vm, "198.51.100.1", count=3, timeout=10)
    assert ping(vm, "2001:db8:20::1", count=3, timeout=10)
    # the hand-enslaved port is not the module's: a re-run changes nothing and keeps it
    nh.assert_unchanged_run(_net(run_module, hv_ns, [net]))
    assert nh.link(hv_ns, "vnet-vm0")["master"] == "br-vm"
    assert ping(vm, "198.51.100.1", count=1, timeout=5)


# ---------------------------------------------------------------------------------------
# 4. moving the uplink into a bridge without cutting the host off
# ---------------------------------------------------------------------------------------
def _uplink_topology(hv_ns, netns_factory, locked_upstream=False):
    """hv: up0 203.0.113.2/24 + 2001:db8:1::2/64, default routes via upstream (.1 / ::1).

    With `locked_upstream` the upstream side is a bridge whose port towards hv is locked
    (802.1X-style port security): it only accepts frames from up0's current MAC.
    """
    upstream = netns_factory("upstream")
    veth(hv_ns, "up0", upstream, "upeth0")
    gw_dev = "upeth0"
    if locked_upstream:
        up0_mac = nh.link(hv_ns, "up0")["address"]
        upstream.run("ip", "link", "add", "ubr0", "type", "bridge", "stp_state", "0")
        upstream.run("ip", "link", "set", "upeth0", "master", "ubr0")
        upstream.run("bridge", "link", "set", "dev", "upeth0", "locked", "on", "learning", "off")
        upstream.run("bridge", "fdb", "add", up0_mac, "dev", "upeth0", "master", "static")
        upstream.set_up("ubr0")
        gw_dev = "ubr0"
    upstream.run("ip", "addr", "add", "203.0.113.1/24", "dev", gw_dev)
    upstream.run("ip", "-6", "addr", "add", "2001:db8:1::1/64", "dev", gw_dev, "nodad")
    hv_ns.run("ip", "addr", "add", "203.0.113.2/24", "dev", "up0")
    hv_ns.run("ip", "-6", "addr", "add", "2001:db8:1::2/64", "dev", "up0", "nodad")
    hv_ns.run("ip", "route", "add", "default", "via", "203.0.113.1", "dev", "up0")
    hv_ns.run("ip", "-6", "route", "add", "default", "via", "2001:db8:1::1", "dev", "up0")
    assert ping(hv_ns, "203.0.113.1", count=1, timeout=5)
    assert ping(hv_ns, "2001:db8:1::1", count=1, timeout=5)
    assert ping(upstream, "203.0.113.2", count=1, timeout=5)
    return upstream


def _run_under_ping(upstream, action):
    """Run `action()` while upstream pings the host (IPv4 and IPv6) every 10 ms."""
    pings = [nh.ContinuousPing(upstream, "203.0.113.2"), nh.ContinuousPing(upstream, "2001:db8:1::2")]
    time.sleep(1.0)  # some packets before the change
    result = action()
    time.sleep(1.0)  # and some after
    assert all(p.running() for p in pings), "ping ended before the change was complete"
    losses = {}
    for p in pings:
        sent, received = p.stop()
        losses[p.address] = (sent, received, sent - received)
    return result, losses


def _report_loss(record_property, label, losses):
    for address, (sent, received, lost) in losses.items():
        print("PACKET LOSS %s to %s: %d of %d lost (%d received)" % (label, address, lost, sent, received))
        record_property("%s_lost_%s" % (label, address), lost)
        record_property("%s_sent_%s" % (label, address), sent)


@pytest.mark.slow
def test_uplink_move_keeps_host_reachable(hv_ns, netns_factory, run_module, record_property):
    upstream = _uplink_topology(hv_ns, netns_factory)
    up0_mac = nh.link(hv_ns, "up0")["address"]
    original = nh.settled_state(hv_ns)
    net = {"name": "lan", "forward": {"mode": "bridge"}, "bridge": {"name": "br-up", "uplink": "up0"}}

    result, losses = _run_under_ping(upstream, lambda: _net(run_module, hv_ns, [net]))
    _report_loss(record_property, "enslave", losses)
    nh.assert_ok(result)
    assert result["changed"] is True

    bridge = nh.link(hv_ns, "br-up")
    assert nh.info_kind(bridge) == "bridge"
    assert nh.info_data(bridge)["stp_state"] == 0, "STP defaults to off with an uplink"
    assert bridge["address"] == up0_mac
    assert "uplink=up0" in bridge["ifalias"].split()
    assert nh.link(hv_ns, "up0")["master"] == "br-up"
    assert nh.global_addrs(hv_ns, "br-up") == {"203.0.113.2/24", "2001:db8:1::2/64"}
    assert nh.global_addrs(hv_ns, "up0") == set()
    assert nh.default_routes(hv_ns) == [("inet", "203.0.113.1", "br-up"), ("inet6", "2001:db8:1::1", "br-up")]
    for address, (_sent, _received, lost) in losses.items():
        assert lost <= MAX_LOST_PACKETS, "%d packets to %s lost while moving the uplink" % (lost, address)
    assert ping(hv_ns, "203.0.113.1", count=1, timeout=5)

    before = nh.settled_state(hv_ns)
    nh.assert_unchanged_run(_net(run_module, hv_ns, [net]))
    nh.assert_same_state(before, nh.kernel_state(hv_ns))

    result, losses = _run_under_ping(upstream, lambda: _net(run_module, hv_ns, [{"name": "lan"}], state="deleted"))
    _report_loss(record_property, "release", losses)
    nh.assert_ok(result)
    assert result["changed"] is True
    assert nh.link(hv_ns, "br-up") is None
    assert nh.link(hv_ns, "up0").get("master") is None
    assert nh.global_addrs(hv_ns, "up0") == {"203.0.113.2/24", "2001:db8:1::2/64"}
    assert nh.default_routes(hv_ns) == [("inet", "203.0.113.1", "up0"), ("inet6", "2001:db8:1::1", "up0")]
    for address, (_sent, _received, lost) in losses.items():
        assert lost <= MAX_LOST_PACKETS, "%d packets to %s lost while releasing the uplink" % (lost, address)
    assert ping(upstream, "203.0.113.2", count=2, timeout=5)
    assert ping(upstream, "2001:db8:1::2", count=2, timeout=5)
    assert nh.marked_links(hv_ns) == []
    # round trip: addresses and routes exactly as before the move
    final = nh.settled_state(hv_ns)
    nh.assert_same_state(original["addrs"], final["addrs"], "addresses after enslave + release")
    nh.assert_same_state(original["routes"], final["routes"], "routes after enslave + release")


# ---------------------------------------------------------------------------------------
# 5. rollback when the gateway stops answering after the move
# ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_uplink_move_rolls_back_when_gateway_lost(hv_ns, netns_factory, run_module):
    # The upstream port is locked to up0's MAC; the network asks for a bridge MAC of its
    # own, so after the move the gateway sees an unknown source MAC and drops it (as a
    # switch port with port security would).
    upstream = _uplink_topology(hv_ns, netns_factory, locked_upstream=True)
    net = {"name": "lan", "forward": {"mode": "bridge"}, "mac": "02:00:00:00:0b:01",
           "bridge": {"name": "br-up", "uplink": "up0"}}
    before = nh.settled_state(hv_ns)
    result = _net(run_module, hv_ns, [net])
    msg = nh.assert_failed(result, "gateway", "rolled back")
    assert "203.0.113.1" in msg or "2001:db8:1::1" in msg
    print("rollback message: %s" % msg)
    nh.assert_same_state(before, nh.settled_state(hv_ns), "hv namespace after rollback")
    assert ping(hv_ns, "203.0.113.1", count=1, timeout=5)
    assert ping(upstream, "203.0.113.2", count=1, timeout=5)


def test_uplink_release_rolls_back_when_gateway_lost(hv_ns, netns_factory, run_module):
    """Moving the uplink back out of the bridge is guarded like moving it in: here the locked
    upstream port knows only the bridge's MAC (up0's old one), and up0 got a new MAC while
    enslaved, so after the release the gateway would drop the host; the removal rolls back."""
    upstream = _uplink_topology(hv_ns, netns_factory, locked_upstream=True)
    net = {"name": "lan", "forward": {"mode": "bridge"}, "bridge": {"name": "br-up", "uplink": "up0"}}
    nh.assert_ok(_net(run_module, hv_ns, [net]))
    hv_ns.run("ip", "link", "set", "up0", "address", "02:00:00:00:0c:01")
    assert ping(hv_ns, "203.0.113.1", count=1, timeout=5)  # still leaves with the bridge's MAC
    before = nh.settled_state(hv_ns)
    msg = nh.assert_failed(_net(run_module, hv_ns, [net], state="deleted"), "stopped answering after up0 left br-up", "rolled back")
    print("rollback message: %s" % msg)
    assert "rolled back 8 of 8" in msg
    nh.assert_same_state(nh.without_ifindex(before), nh.without_ifindex(nh.settled_state(hv_ns)), "hv namespace after rollback")
    assert ping(upstream, "203.0.113.2", count=1, timeout=5)


# ---------------------------------------------------------------------------------------
# 6. bad input: failed, named field, nothing changed
# ---------------------------------------------------------------------------------------
BAD_NETWORKS = [
    pytest.param([{"name": "n1", "forward": {"mode": "isolated"}, "bridge": {"name": "br1", "uplink": "ve0"}}],
                 ["config[0].bridge.uplink", "isolated", "forward.mode bridge"], id="uplink-on-isolated"),
    pytest.param([{"name": "n1", "bridge": {"name": "br1"}}, {"name": "n2", "bridge": {"name": "br1"}}],
                 ["config[1].bridge.name", "br1", "config[0]"], id="same-bridge-twice"),
    pytest.param([{"name": "n1", "ips": [{"address": "198.51.100.1/24"}]}, {"name": "n2", "ips": [{"address": "198.51.100.129/25"}]}],
                 ["config[1].ips", "overlaps", "198.51.100.0/24"], id="overlapping-ips-across-networks"),
    pytest.param([{"name": "n1", "ips": [{"address": "203.0.113.1/24"}]}],
                 ["config[0].ips", "overlaps", "203.0.113.5/24", "ve0"], id="overlaps-address-on-other-interface"),
    pytest.param([{"name": "n1", "forward": {"mode": "bridge"}, "bridge": {"uplink": "nosuch0"}}],
                 ["config[0].bridge.uplink", "nosuch0", "does not exist"], id="unknown-uplink"),
    pytest.param([{"name": "my net", "bridge": {"name": "br1"}}],
                 ["config[0].name", "my net", "letters, digits"], id="name-with-space"),
    pytest.param([{"name": "n1", "ips": [{"address": "198.51.100.1", "prefix": 24, "netmask": "255.255.255.0"}]}],
                 ["config[0].ips[0]", "prefix", "netmask"], id="prefix-and-netmask"),
]


@pytest.mark.parametrize("config, fragments", BAD_NETWORKS)
def test_bad_input_changes_nothing(hv_ns, run_module, config, fragments):
    hv_ns.run("ip", "link", "add", "ve0", "type", "veth", "peer", "name", "ve1")
    hv_ns.run("ip", "addr", "add", "203.0.113.5/24", "dev", "ve0")
    before = nh.kernel_state(hv_ns)
    msg = nh.assert_failed(_net(run_module, hv_ns, config), *fragments)
    assert msg.startswith("vm_network: ")
    nh.assert_same_state(before, nh.kernel_state(hv_ns))
