"""Planners against synthetic snapshots: what they plan, and that a converged host plans nothing."""

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ApplyError, HvnetError, ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.model.base import overlay
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems
from ansible_collections.hypervisor.networking.plugins.module_utils.plan import Plan
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.interface import InterfaceResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.network import NetworkResource
from ansible_collections.hypervisor.networking.plugins.module_utils.engine import converge
from ansible_collections.hypervisor.networking.plugins.module_utils.entry import resource_for

TAP_MARK = "hypervisor.networking/vm_interface"


def snapshot(*links, addresses=None, routes=()):
    return {"links": {link["name"]: link for link in links}, "addresses": addresses or {}, "routes": list(routes)}


def link(name, **kw):
    base = {"name": name, "index": 1, "kind": None, "mtu": 1500, "max_mtu": 65535, "mac": "02:00:00:00:00:01",
            "alias": None, "up": True, "master": None, "lower": None}
    base.update(kw)
    return base


def desired(resource, item, snap, current=None, merged=False):
    model = resource.from_config(item, "config[0]", Problems())
    base = current if (merged and current) else resource.defaults(model)
    return resource.complete(overlay(base, model, union_lists=merged), snap)


def plan_for(resource, item, snap, merged=False):
    current = resource.current(snap, {}, ()).get(item["name"])
    plan = Plan()
    resource.plan_object(plan, None, current, desired(resource, item, snap, current, merged), snap)
    return plan.commands


def test_new_tap_on_bridge_plans_create_attach_and_flags():
    snap = snapshot(link("br0", kind="bridge", mtu=9000))
    commands = plan_for(InterfaceResource(), {"name": "t0", "bridge": "br0", "guest": {"queues": 2}}, snap)
    assert commands[0].startswith("ip tuntap add name t0 mode tap vnet_hdr multi_queue")
    assert "mtu 9000" in commands[1] and "master br0" in commands[1]  # the tap follows the bridge MTU
    assert len(commands) == 2  # the port flags are a new port's: no bridge link set


def test_new_tap_sets_only_the_port_flags_a_new_port_lacks():
    snap = snapshot(link("br0", kind="bridge"))
    commands = plan_for(InterfaceResource(), {"name": "t0", "bridge": "br0", "isolated": True, "flood": False}, snap)
    assert commands[-1] == "bridge link set dev t0 isolated on flood off"


def tap(name="t0", multi_queue=True, master="br0", **kw):
    return link(name, kind="tun", alias=TAP_MARK, master=master, tun={"type": "tap", "multi_queue": multi_queue, "owner": None, "group": None},
                brport={"isolated": False, "learning": True, "flood": True}, **kw)


def test_converged_tap_plans_nothing():
    snap = snapshot(link("br0", kind="bridge"), tap())
    assert plan_for(InterfaceResource(), {"name": "t0", "bridge": "br0", "multi_queue": True}, snap) == []


def test_multi_queue_change_recreates_and_says_why():
    snap = snapshot(link("br0", kind="bridge"), tap(multi_queue=False))
    commands = plan_for(InterfaceResource(), {"name": "t0", "bridge": "br0", "guest": {"queues": 4}}, snap)
    assert commands[0] == "ip link del t0 (re-create: multi_queue cannot change in place)"
    assert "multi_queue" in commands[1]


def test_mtu_change_is_in_place():
    snap = snapshot(link("br0", kind="bridge"), tap())
    commands = plan_for(InterfaceResource(), {"name": "t0", "bridge": "br0", "mtu": 1400}, snap, merged=True)
    assert commands == ["ip link set t0 mtu 1400"]


def test_libvirt_mac_table_manager_turns_learning_off():
    bridge = link("br0", kind="bridge", alias="hypervisor.networking/vm_network mac_table_manager=libvirt name=n")
    # the module's resource: it knows the vm_network resources that own bridges
    commands = plan_for(resource_for("vm_interface"), {"name": "t0", "bridge": "br0"}, snapshot(bridge))
    assert commands[-1] == "bridge link set dev t0 learning off flood off"


def test_tap_moved_to_another_bridge_sets_the_flags_against_a_new_port():
    moved = tap()
    moved["brport"] = {"isolated": True, "learning": False, "flood": True}
    snap = snapshot(link("br0", kind="bridge"), link("br1", kind="bridge"), moved)
    commands = plan_for(InterfaceResource(), {"name": "t0", "bridge": "br1", "isolated": True, "learning": False}, snap, merged=True)
    assert "master br1" in commands[0]
    assert commands[1] == "bridge link set dev t0 isolated on learning off"


def test_unmarked_link_is_not_ours():
    snap = snapshot(link("t0", kind="tun", tun={"type": "tap", "multi_queue": False, "owner": None, "group": None}))
    resource = InterfaceResource()
    model = resource.from_config({"name": "t0"}, "c", Problems())
    assert resource.current(snap, {}, ()) == {}
    assert "not created by hypervisor.networking" in resource.conflict(snap, model, adopt=False)
    assert resource.conflict(snap, model, adopt=True) is None
    assert "t0" in resource.current(snap, {}, {"t0"})


def test_uplink_move_order_keeps_host_reachable():
    snap = snapshot(
        link("up0", kind="veth", mac="02:00:00:00:00:99"),
        addresses={"up0": [{"address": "203.0.113.2/24", "family": "ipv4", "scope": "global"}]},
        routes=[{"family": "ipv4", "dst": "0.0.0.0/0", "gateway": "203.0.113.1", "dev": "up0", "metric": 0, "proto": 3, "prefsrc": None}],
    )
    commands = plan_for(NetworkResource(), {"name": "lan", "forward": {"mode": "bridge"}, "bridge": {"name": "br0", "uplink": "up0"}}, snap)
    assert "address 02:00:00:00:00:99;" in commands[0]  # the bridge takes the uplink's MAC
    assert commands[0].endswith(" up") and "alias 'hypervisor.networking/vm_network" in commands[0]  # marked as it is made
    assert "stp_state 0" in commands[0]  # no BPDUs towards the switch by default
    order = [c for c in commands if ("203.0.113" in c or "master" in c) and "alias" not in c]
    assert order == [
        "ip addr add 203.0.113.2/24 dev br0 nodad",
        "ip link set up0 master br0",
        "ip route replace 0.0.0.0/0 via 203.0.113.1 dev br0",
        "ip addr del 203.0.113.2/24 dev up0",
    ]


UPLINK_MARK = "hypervisor.networking/vm_network mac_table_manager=kernel mode=bridge moved=203.0.113.2/24 name=lan uplink=up0"


def _half_moved(master, on_uplink, on_bridge, route_dev):
    """What a run killed in the middle of moving up0 into br0 leaves."""
    address = [{"address": "203.0.113.2/24", "family": "ipv4", "scope": "global"}]
    return snapshot(
        link("br0", kind="bridge", alias=UPLINK_MARK, mac="02:00:00:00:00:99", bridge={"stp": False, "delay": 0}),
        link("up0", kind="veth", mac="02:00:00:00:00:99", master=master),
        addresses={"up0": address if on_uplink else [], "br0": address if on_bridge else []},
        routes=[{"family": "ipv4", "dst": "0.0.0.0/0", "gateway": "203.0.113.1", "dev": route_dev, "metric": 0, "proto": 3, "prefsrc": None}],
    )


@pytest.mark.parametrize("master, on_uplink, on_bridge, route_dev, expected", [
    (None, True, False, "up0", ["ip addr add 203.0.113.2/24 dev br0 nodad", "ip link set up0 master br0",
                                "ip route replace 0.0.0.0/0 via 203.0.113.1 dev br0", "ip addr del 203.0.113.2/24 dev up0"]),
    (None, True, True, "up0", ["ip link set up0 master br0", "ip route replace 0.0.0.0/0 via 203.0.113.1 dev br0",
                               "ip addr del 203.0.113.2/24 dev up0"]),
    ("br0", True, True, "up0", ["ip route replace 0.0.0.0/0 via 203.0.113.1 dev br0", "ip addr del 203.0.113.2/24 dev up0"]),
    ("br0", True, True, "br0", ["ip addr del 203.0.113.2/24 dev up0"]),
    ("br0", False, True, "br0", []),
], ids=["created", "addresses-added", "enslaved", "routes-moved", "done"])
def test_an_interrupted_uplink_move_is_completed(master, on_uplink, on_bridge, route_dev, expected):
    snap = _half_moved(master, on_uplink, on_bridge, route_dev)
    item = {"name": "lan", "forward": {"mode": "bridge"}, "bridge": {"name": "br0", "uplink": "up0"}}
    assert plan_for(NetworkResource(), item, snap, merged=True) == expected


def test_removing_an_interrupted_uplink_move_puts_back_only_what_moved():
    snap = _half_moved("br0", True, True, "up0")  # killed after enslaving, before the routes moved
    resource = NetworkResource()
    plan = Plan()
    resource.plan_removal(plan, None, resource.current(snap, {}, ())["lan"], snap)
    assert plan.commands == ["ip link set up0 nomaster", "ip addr del 203.0.113.2/24 dev br0", "ip link del br0"]


def test_replaced_removes_extra_addresses_merged_keeps_them():
    mark = "hypervisor.networking/vm_network mac_table_manager=kernel mode=isolated name=br0"
    bridge = link("br0", kind="bridge", alias=mark, bridge={"stp": True, "delay": 2})
    snap = snapshot(bridge, addresses={"br0": [{"address": "198.51.100.1/24", "family": "ipv4", "scope": "global"}]})
    item = {"name": "br0", "ips": [{"address": "203.0.113.1/24"}]}
    # an isolated network with addresses also gets its isolation table (none in this snapshot yet)
    table = "nft -f - (table inet hvnet_br0, 3 rules, for network br0)"
    assert plan_for(NetworkResource(), item, snap, merged=True) == ["ip addr add 203.0.113.1/24 dev br0", table]
    replaced = plan_for(NetworkResource(), item, snap)
    assert replaced[0].startswith("ip link set br0 address 52:54:00:")  # unset mac: back to the network's default
    assert replaced[1:] == ["ip addr del 198.51.100.1/24 dev br0", "ip addr add 203.0.113.1/24 dev br0", table]


def test_plan_rolls_back_in_reverse_and_reports():
    done = []
    plan = Plan()
    plan.add("first", lambda: done.append("1"), lambda: done.append("undo 1"))
    plan.add("second", lambda: done.append("2"), lambda: done.append("undo 2"))

    def fail():
        raise OSError(16, "busy")

    plan.add("third", fail)
    with pytest.raises(ApplyError) as info:
        plan.execute()
    assert done == ["1", "2", "undo 2", "undo 1"]
    assert "'third' failed" in str(info.value) and "rolled back 2 of 2" in str(info.value)


def test_failed_verification_rolls_back():
    done = []
    plan = Plan()
    plan.add("change", lambda: done.append("do"), lambda: done.append("undo"))

    def verify():
        raise HvnetError("gateway stopped answering")

    plan.verifications.append(verify)
    with pytest.raises(ApplyError, match="gateway stopped answering; rolled back 1 of 1"):
        plan.execute()
    assert done == ["do", "undo"]


def test_verification_that_breaks_rolls_back_and_says_what_was_undone():
    """A read-back that fails with a plain OSError (netlink, /proc) must roll back too."""
    done = []
    plan = Plan()
    plan.add("ip link add t0", lambda: done.append("do"), lambda: done.append("undo"))

    def verify():
        raise OSError(104, "Connection reset by peer")

    plan.verifications.append(verify)
    with pytest.raises(ApplyError) as info:
        plan.execute()
    assert done == ["do", "undo"]
    message = str(info.value)
    assert message.startswith("verification after apply failed: Connection reset by peer (ECONNRESET)")
    assert "rolled back 1 of 1 applied changes (undone: ip link add t0)" in message


def test_rendered_touches_no_host():
    result = converge(InterfaceResource(), {"state": "rendered", "config": [{"name": "ich0", "guest": {"queues": 2}}]}, False)
    assert result["rendered"][0]["commands"][0].startswith("ip tuntap add name ich0")
    assert result["rendered"][0]["config"]["multi_queue"] is True


def test_duplicate_names_and_missing_config_are_reported():
    with pytest.raises(ValidationError) as info:
        converge(InterfaceResource(), {"state": "rendered", "config": [{"name": "a"}, {"name": "a", "mtu": 1}]}, False)
    assert "listed twice" in str(info.value) and "config[1].mtu" in str(info.value)
    with pytest.raises(ValidationError, match="config: is required with state merged"):
        converge(InterfaceResource(), {"state": "merged", "config": []}, False)


def test_completed_checks_catch_what_a_partial_item_hides():
    """A single-queue tap given guest.queues under merged, a partial macvtap update, a link on a tap."""
    from ansible_collections.hypervisor.networking.plugins.module_utils.model.interface import check_desired

    resource = InterfaceResource()
    snap = snapshot(link("br0", kind="bridge"), tap(multi_queue=False), link("v0", kind="veth"),
                    link("mv0", kind="macvtap", alias=TAP_MARK, lower="v0", macvtap={"mode": "bridge"}))
    current = resource.current(snap, {}, ())
    problems = Problems()
    check_desired(problems, "config[0]", desired(resource, {"name": "t0", "guest": {"queues": 4}}, snap, current["t0"], merged=True))
    assert problems.items and problems.items[0].startswith("config[0].multi_queue: must be true")
    problems = Problems()
    check_desired(problems, "config[0]", desired(resource, {"name": "mv0", "mtu": 1400}, snap, current["mv0"], merged=True))
    assert problems.items == []
    problems = Problems()
    check_desired(problems, "config[0]", desired(resource, {"name": "t9", "link": "v0"}, snap))
    assert problems.items == ["config[0].link: applies to kind macvtap only"]
