# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integration tests of hypervisor.networking.vm_interface against the real kernel.

Every test runs the real module inside a namespace of its own (fixtures hv_ns /
netns_factory) and asserts what iproute2 reports there afterwards.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position

BRIDGE = "br-vm"
NOBODY, NOGROUP = "nobody", "nogroup"


def _bridge(run_module, ns, name=BRIDGE, **extra):
    """A vm_network bridge (STP off) for taps to hang on."""
    config = {"name": name, "bridge": {"stp": False}}
    config.update(extra)
    nh.assert_ok(run_module(ns, "vm_network", {"config": [config], "persist": False}))
    assert nh.info_kind(nh.link(ns, name)) == "bridge"


def _iface(run_module, ns, config, state="merged", check=False, diff=False, **params):
    args = {"config": config, "state": state, "persist": False}
    args.update(params)
    return run_module(ns, "vm_interface", args, check=check, diff=diff)


# ---------------------------------------------------------------------------------------
# 1. multi-queue tap with owner/group, mtu, mac, on a vm_network bridge
# ---------------------------------------------------------------------------------------
def test_multiqueue_tap_lifecycle(hv_ns, run_module):
    _bridge(run_module, hv_ns)
    tap = {
        "name": "vnet0", "owner": NOBODY, "group": "65534", "mtu": 1400, "mac": "02:00:00:00:01:01",
        "bridge": BRIDGE, "guest": {"queues": 2, "mac": "52:54:00:00:01:01", "model": "virtio"},
    }
    result = nh.assert_ok(_iface(run_module, hv_ns, [tap]))
    assert result["changed"] is True
    assert any(cmd.startswith("ip tuntap add name vnet0 mode tap") and "multi_queue" in cmd for cmd in result["commands"])

    entry = nh.link(hv_ns, "vnet0")
    data = nh.info_data(entry)
    assert nh.info_kind(entry) == "tun"
    assert data["type"] == "tap"
    assert data["multi_queue"] is True, "guest.queues 2 without multi_queue must give a multi-queue tap"
    assert data["user"] == NOBODY and data["group"] == NOGROUP
    assert entry["master"] == BRIDGE
    assert entry["mtu"] == 1400
    assert entry["address"] == "02:00:00:00:01:01"
    assert entry["ifalias"] == nh.IFACE_MARK
    assert "UP" in entry["flags"]
    assert nh.marked_links(hv_ns, "vm_interface") == ["vnet0"]

    # idempotent: no change, no plan, kernel identical
    before = nh.settled_state(hv_ns)
    nh.assert_unchanged_run(_iface(run_module, hv_ns, [tap]))
    nh.assert_same_state(before, nh.kernel_state(hv_ns))

    # check mode with a change: reported, not done
    changed = dict(tap, mtu=1450)
    result = nh.assert_ok(_iface(run_module, hv_ns, [changed], check=True))
    assert result["changed"] is True
    assert any("mtu 1450" in cmd for cmd in result["commands"])
    nh.assert_same_state(before, nh.kernel_state(hv_ns))

    # diff mode shows before/after and the change is applied in place
    index = nh.ifindex(hv_ns, "vnet0")
    result = nh.assert_ok(_iface(run_module, hv_ns, [changed], diff=True))
    assert result["changed"] is True
    assert result["diff"]["before"]["vnet0"]["mtu"] == 1400
    assert result["diff"]["after"]["vnet0"]["mtu"] == 1450
    assert nh.link(hv_ns, "vnet0")["mtu"] == 1450
    assert nh.ifindex(hv_ns, "vnet0") == index

    # remove
    result = nh.assert_ok(_iface(run_module, hv_ns, [{"name": "vnet0"}], state="deleted"))
    assert result["changed"] is True
    assert nh.link(hv_ns, "vnet0") is None
    assert nh.marked_links(hv_ns, "vm_interface") == []
    nh.assert_ok(run_module(hv_ns, "vm_network", {"config": [], "state": "deleted", "persist": False}))
    assert nh.marked_links(hv_ns) == []
    assert nh.link_names(hv_ns) == ["lo"]


# ---------------------------------------------------------------------------------------
# 2. bridge port flags, changed in place
# ---------------------------------------------------------------------------------------
def test_bridge_port_flags_in_place(hv_ns, run_module):
    _bridge(run_module, hv_ns)
    tap = {"name": "vnet1", "bridge": BRIDGE, "isolated": True, "learning": False, "flood": False}
    nh.assert_ok(_iface(run_module, hv_ns, [tap]))
    port = nh.brport(hv_ns, "vnet1")
    assert port["master"] == BRIDGE
    assert (port["isolated"], port["learning"], port["flood"]) == (True, False, False)
    index = nh.ifindex(hv_ns, "vnet1")

    flipped = dict(tap, isolated=False, learning=True, flood=True)
    result = nh.assert_ok(_iface(run_module, hv_ns, [flipped], diff=True))
    assert result["changed"] is True
    assert not any("ip link del" in cmd or "tuntap add" in cmd for cmd in result["commands"]), result["commands"]
    assert result["diff"]["before"]["vnet1"]["isolated"] is True
    assert result["diff"]["after"]["vnet1"]["isolated"] is False
    port = nh.brport(hv_ns, "vnet1")
    assert (port["isolated"], port["learning"], port["flood"]) == (False, True, True)
    assert nh.ifindex(hv_ns, "vnet1") == index

    before = nh.settled_state(hv_ns)
    nh.assert_unchanged_run(_iface(run_module, hv_ns, [flipped]))
    nh.assert_same_state(before, nh.kernel_state(hv_ns))


# ---------------------------------------------------------------------------------------
# 3. re-create only when needed
# ---------------------------------------------------------------------------------------
def test_recreate_only_when_needed(hv_ns, run_module):
    _bridge(run_module, hv_ns)
    tap = {"name": "vnet2", "bridge": BRIDGE, "multi_queue": False, "owner": NOBODY}
    nh.assert_ok(_iface(run_module, hv_ns, [tap]))
    assert nh.info_data(nh.link(hv_ns, "vnet2"))["multi_queue"] is False
    first = nh.ifindex(hv_ns, "vnet2")

    # multi_queue cannot change in place: re-created, and the plan says so
    result = nh.assert_ok(_iface(run_module, hv_ns, [dict(tap, multi_queue=True)]))
    assert result["changed"] is True
    assert any(cmd.startswith("ip link del vnet2") and "re-create" in cmd for cmd in result["commands"]), result["commands"]
    entry = nh.link(hv_ns, "vnet2")
    assert nh.info_data(entry)["multi_queue"] is True
    assert nh.info_data(entry)["user"] == NOBODY
    assert entry["master"] == BRIDGE and entry["ifalias"] == nh.IFACE_MARK
    second = entry["ifindex"]
    assert second != first

    # mtu changes in place
    result = nh.assert_ok(_iface(run_module, hv_ns, [dict(tap, multi_queue=True, mtu=1280)]))
    assert result["changed"] is True
    assert not any("re-create" in cmd or cmd.startswith("ip link del") for cmd in result["commands"]), result["commands"]
    entry = nh.link(hv_ns, "vnet2")
    assert entry["mtu"] == 1280
    assert entry["ifindex"] == second


# ---------------------------------------------------------------------------------------
# 4. macvtap on a veth lower device
# ---------------------------------------------------------------------------------------
def test_macvtap_on_veth(hv_ns, run_module):
    hv_ns.run("ip", "link", "add", "lowr0", "type", "veth", "peer", "name", "lowr1")
    hv_ns.set_up("lowr0")
    mvtap = {"name": "mvtap0", "kind": "macvtap", "link": "lowr0", "mode": "bridge",
             "guest": {"mac": "52:54:00:aa:bb:cc"}}
    result = nh.assert_ok(_iface(run_module, hv_ns, [mvtap]))
    assert result["changed"] is True
    entry = nh.link(hv_ns, "mvtap0")
    assert nh.info_kind(entry) == "macvtap"
    assert nh.info_data(entry)["mode"] == "bridge"
    assert entry["link"] == "lowr0"
    assert entry["address"] == "52:54:00:aa:bb:cc", "a macvtap's MAC defaults to guest.mac"
    assert entry["ifalias"] == nh.IFACE_MARK
    assert entry["mtu"] == nh.link(hv_ns, "lowr0")["mtu"]
    index = entry["ifindex"]

    before = nh.settled_state(hv_ns)
    nh.assert_unchanged_run(_iface(run_module, hv_ns, [mvtap]))
    nh.assert_same_state(before, nh.kernel_state(hv_ns))

    result = nh.assert_ok(_iface(run_module, hv_ns, [dict(mvtap, mode="vepa")], check=True))
    assert result["changed"] is True
    nh.assert_same_state(before, nh.kernel_state(hv_ns))

    result = nh.assert_ok(_iface(run_module, hv_ns, [dict(mvtap, mode="vepa")], diff=True))
    assert result["changed"] is True
    assert result["diff"]["before"]["mvtap0"]["mode"] == "bridge"
    assert result["diff"]["after"]["mvtap0"]["mode"] == "vepa"
    entry = nh.link(hv_ns, "mvtap0")
    assert nh.info_data(entry)["mode"] == "vepa"
    assert entry["ifindex"] == index, "a macvtap mode change must not re-create the device"

    nh.assert_ok(_iface(run_module, hv_ns, [], state="deleted"))
    assert nh.link(hv_ns, "mvtap0") is None
    assert nh.marked_links(hv_ns) == []
    assert nh.link(hv_ns, "lowr0") is not None


# ---------------------------------------------------------------------------------------
# 5. bad input: failed, message names field and limits, nothing changed
# ---------------------------------------------------------------------------------------
BAD_INPUT = [
    pytest.param([{"name": "abcdefghijklmnop"}], ["config[0].name", "16 characters", "at most 15"], id="name-16-chars"),
    pytest.param([{"name": "tap/0"}], ["config[0].name", "allowed: letters, digits"], id="name-slash"),
    pytest.param([{"name": "vnet0", "mac": "01:00:5e:00:00:01"}], ["config[0].mac", "multicast", "unicast"], id="multicast-mac"),
    pytest.param([{"name": "vnet0", "mtu": 67}], ["config[0].mtu", "68..65535"], id="mtu-67"),
    pytest.param([{"name": "vnet0", "mtu": 70000}], ["config[0].mtu", "68..65535"], id="mtu-70000"),
    pytest.param([{"name": "vnet0", "bridge": "nosuchbr"}], ["config[0].bridge", "nosuchbr", "does not exist"], id="unknown-bridge"),
    pytest.param([{"name": "mvtap0", "kind": "macvtap", "link": "nosuchlow", "mode": "bridge"}],
                 ["config[0].link", "nosuchlow", "does not exist"], id="unknown-macvtap-link"),
    pytest.param([{"name": "vnet0", "guest": {"queues": 0}}], ["config[0].guest.queues", "1..128"], id="queues-0"),
    pytest.param([{"name": "vnet0", "guest": {"queues": 300}}], ["config[0].guest.queues", "1..128"], id="queues-300"),
    pytest.param([{"name": "vnet0", "guest": {"queue_size": 100}}],
                 ["config[0].guest.queue_size", "power of two", "64", "32768"], id="queue-size-100"),
    pytest.param([{"name": "vnet0", "multi_queue": False, "guest": {"queues": 4}}],
                 ["config[0].multi_queue", "must be true"], id="queues-without-multi-queue"),
    pytest.param([{"name": "mvtap0", "kind": "macvtap", "link": "lowr0", "bridge": "br-x"}],
                 ["config[0].bridge", "tap only"], id="macvtap-with-bridge"),
    pytest.param(
        [{"name": "abcdefghijklmnop", "mtu": 67, "mac": "01:00:5e:00:00:01"}, {"name": "vnet1", "guest": {"queues": 300}}],
        ["config[0].name", "config[0].mtu", "config[0].mac", "config[1].guest.queues"], id="several-problems"),
]


@pytest.mark.parametrize("config, fragments", BAD_INPUT)
def test_bad_input_changes_nothing(hv_ns, run_module, config, fragments):
    hv_ns.run("ip", "link", "add", "lowr0", "type", "veth", "peer", "name", "lowr1")
    before = nh.kernel_state(hv_ns)
    result = _iface(run_module, hv_ns, config)
    msg = nh.assert_failed(result, *fragments)
    assert msg.startswith("vm_interface: ")
    nh.assert_same_state(before, nh.kernel_state(hv_ns))


# ---------------------------------------------------------------------------------------
# 6. ownership: refuse without adopt, adopt, delete/override only marked devices
# ---------------------------------------------------------------------------------------
def test_ownership_adopt_deleted_overridden(hv_ns, run_module):
    hv_ns.run("ip", "tuntap", "add", "dev", "vnet5", "mode", "tap")
    before = nh.kernel_state(hv_ns)
    result = _iface(run_module, hv_ns, [{"name": "vnet5", "mtu": 1400}])
    nh.assert_failed(result, "config[0].name", "vnet5", "not created by hypervisor.networking", "adopt")
    nh.assert_same_state(before, nh.kernel_state(hv_ns))

    index = nh.ifindex(hv_ns, "vnet5")
    result = nh.assert_ok(_iface(run_module, hv_ns, [{"name": "vnet5", "mtu": 1400}], adopt=True))
    assert result["changed"] is True
    entry = nh.link(hv_ns, "vnet5")
    assert entry["ifalias"] == nh.IFACE_MARK
    assert entry["mtu"] == 1400
    assert entry["ifindex"] == index, "adopting a matching tap must not re-create it"

    # hand-made devices that must survive overridden and deleted
    hv_ns.run("ip", "tuntap", "add", "dev", "handtap0", "mode", "tap")
    hv_ns.run("ip", "link", "add", "handv0", "type", "veth", "peer", "name", "handv1")
    nh.assert_ok(_iface(run_module, hv_ns, [{"name": "vnet6"}, {"name": "vnet7"}]))
    assert nh.marked_links(hv_ns, "vm_interface") == ["vnet5", "vnet6", "vnet7"]

    result = nh.assert_ok(_iface(run_module, hv_ns, [{"name": "vnet6"}], state="overridden"))
    assert result["changed"] is True
    assert nh.marked_links(hv_ns, "vm_interface") == ["vnet6"]
    assert nh.link_names(hv_ns) == ["handtap0", "handv0", "handv1", "lo", "vnet6"]

    result = nh.assert_ok(_iface(run_module, hv_ns, [], state="deleted"))
    assert result["changed"] is True
    assert nh.marked_links(hv_ns) == []
    assert nh.link_names(hv_ns) == ["handtap0", "handv0", "handv1", "lo"]
    assert nh.info_kind(nh.link(hv_ns, "handtap0")) == "tun"
    assert nh.link(hv_ns, "handtap0").get("ifalias") is None

    # nothing left to delete: no change
    nh.assert_unchanged_run(_iface(run_module, hv_ns, [], state="deleted"))


# ---------------------------------------------------------------------------------------
# 7. gathered / rendered / parsed
# ---------------------------------------------------------------------------------------
PORT_FIELDS = ("kind", "multi_queue", "owner", "group", "mtu", "mac", "bridge", "isolated", "learning", "flood", "link_state")


def test_gathered_rendered_parsed(hv_ns, netns_factory, run_module):
    _bridge(run_module, hv_ns)
    taps = [
        {"name": "vnet0", "bridge": BRIDGE, "owner": NOBODY, "group": NOGROUP, "guest": {"queues": 2}},
        {"name": "vnet1", "mtu": 1400, "mac": "02:00:00:00:07:01", "link_state": "down"},
    ]
    nh.assert_ok(_iface(run_module, hv_ns, taps))
    hv_ns.run("ip", "tuntap", "add", "dev", "handtap0", "mode", "tap")

    before = nh.settled_state(hv_ns)
    gathered = nh.assert_ok(run_module(hv_ns, "vm_interface", {"state": "gathered"}))
    assert gathered["changed"] is False
    nh.assert_same_state(before, nh.kernel_state(hv_ns))
    by_name = {item["name"]: item for item in gathered["gathered"]}
    assert sorted(by_name) == ["vnet0", "vnet1"], "gathered must list exactly the marked taps"
    vnet0, vnet1 = by_name["vnet0"], by_name["vnet1"]
    kernel0, kernel1 = nh.link(hv_ns, "vnet0"), nh.link(hv_ns, "vnet1")
    assert vnet0["kind"] == "tap" and vnet0["multi_queue"] is True
    assert vnet0["owner"] == NOBODY and vnet0["group"] == NOGROUP
    assert vnet0["bridge"] == BRIDGE and vnet0["mtu"] == kernel0["mtu"] and vnet0["mac"] == kernel0["address"]
    assert vnet1["mtu"] == 1400 and vnet1["mac"] == "02:00:00:00:07:01" and vnet1["link_state"] == "down"
    assert vnet1["multi_queue"] is False and "bridge" not in vnet1
    assert "UP" not in kernel1["flags"]

    # rendered: commands only, in a fresh namespace that must stay empty
    fresh = netns_factory("render")
    fresh_before = nh.kernel_state(fresh)
    rendered = nh.assert_ok(run_module(fresh, "vm_interface", {
        "state": "rendered",
        "config": [{"name": "vnet9", "bridge": "br-nowhere", "owner": NOBODY, "guest": {"queues": 4}}],
    }))
    assert rendered["changed"] is False
    item = rendered["rendered"][0]
    assert item["name"] == "vnet9"
    assert item["config"]["multi_queue"] is True
    assert item["commands"][0] == "ip tuntap add name vnet9 mode tap vnet_hdr multi_queue user 65534"
    assert any("master br-nowhere" in cmd for cmd in item["commands"])
    nh.assert_same_state(fresh_before, nh.kernel_state(fresh))
    assert nh.link_names(fresh) == ["lo"]
    assert not os.path.exists(nh.state_dir(fresh)), "rendered must not save anything"

    # parsed: `ip -d -j addr show` taken in the hv namespace, parsed elsewhere
    text = hv_ns.run("ip", "-d", "-j", "addr", "show").stdout
    parsed = nh.assert_ok(run_module(fresh, "vm_interface", {"state": "parsed", "running_config": text}))
    assert parsed["changed"] is False
    assert nh.link_names(fresh) == ["lo"]
    parsed_by_name = {entry["name"]: entry for entry in parsed["parsed"]}
    assert sorted(parsed_by_name) == ["vnet0", "vnet1"], "parsed must return only the marked taps"
    for name, item in by_name.items():
        got = {k: parsed_by_name[name].get(k) for k in PORT_FIELDS}
        want = {k: item.get(k) for k in PORT_FIELDS}
        assert got == want, "parsed %s differs from gathered" % name


# ---------------------------------------------------------------------------------------
# 8. a failure halfway rolls back
# ---------------------------------------------------------------------------------------
def test_failure_halfway_rolls_back(hv_ns, run_module):
    # A passthru macvtap must be the only macvlan/macvtap on its lower device; with a
    # hand-made macvlan already on lowr0 the kernel refuses it (EINVAL) after the first
    # item (a new tap) has been created.
    hv_ns.run("ip", "link", "add", "lowr0", "type", "veth", "peer", "name", "lowr1")
    hv_ns.run("ip", "link", "add", "link", "lowr0", "name", "mvl0", "type", "macvlan", "mode", "bridge")
    before = nh.kernel_state(hv_ns)
    config = [
        {"name": "vnet0", "mtu": 1400},
        {"name": "mvtap0", "kind": "macvtap", "link": "lowr0", "mode": "passthru"},
    ]
    result = _iface(run_module, hv_ns, config)
    msg = nh.assert_failed(result, "rolled back")
    assert "mvtap0" in msg
    assert nh.link(hv_ns, "vnet0") is None, "the first tap must not be left behind"
    assert nh.link(hv_ns, "mvtap0") is None
    assert nh.marked_links(hv_ns) == []
    nh.assert_same_state(before, nh.kernel_state(hv_ns))
    print("rollback message: %s" % json.dumps(msg))
