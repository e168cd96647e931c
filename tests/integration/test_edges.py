# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Edge cases found in review, each checked against the real kernel inside a namespace:
ownership under adopt, checks that need the host's object, partial updates that must stay
restorable, bridge renames, and MACs that must not move under the VMs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position


def _run(run_module, ns, module, config, state="merged", **params):
    args = {"config": config, "state": state, "persist": False}
    args.update(params)
    return run_module(ns, module, args)


def test_deleted_never_removes_what_adopt_names(hv_ns, run_module):
    """adopt lets a call take over a hand-made tap, never delete one."""
    hv_ns.run("ip", "tuntap", "add", "name", "handmade0", "mode", "tap")
    before = nh.settled_state(hv_ns)
    result = nh.assert_ok(_run(run_module, hv_ns, "vm_interface", [{"name": "handmade0"}], state="deleted", adopt=True))
    assert result["changed"] is False
    assert nh.link(hv_ns, "handmade0") is not None
    nh.assert_same_state(before, nh.kernel_state(hv_ns))


def test_single_queue_tap_refuses_guest_queues_under_merged(hv_ns, run_module):
    """An existing single-queue tap given guest.queues 4 would fail with EINVAL at VM start."""
    nh.assert_ok(_run(run_module, hv_ns, "vm_interface", [{"name": "sq0"}]))
    before = nh.settled_state(hv_ns)
    msg = nh.assert_failed(_run(run_module, hv_ns, "vm_interface", [{"name": "sq0", "guest": {"queues": 4}}]),
                           "config[0].multi_queue: must be true")
    assert "4 queue pairs" in msg
    nh.assert_same_state(before, nh.kernel_state(hv_ns))


def test_partial_macvtap_update_stays_restorable(hv_ns, run_module):
    """merged without kind on a macvtap changes it in place and saves a state restore accepts."""
    hv_ns.run("ip", "link", "add", "lower0", "type", "veth", "peer", "name", "lower0p")
    hv_ns.run("ip", "link", "set", "lower0", "up")
    try:
        created = {"name": "mv0", "kind": "macvtap", "link": "lower0", "mode": "bridge"}
        nh.assert_ok(run_module(hv_ns, "vm_interface", {"config": [created]}))
        index = nh.ifindex(hv_ns, "mv0")
        nh.assert_ok(run_module(hv_ns, "vm_interface", {"config": [{"name": "mv0", "mtu": 1400}]}))
        assert nh.link(hv_ns, "mv0")["mtu"] == 1400 and nh.ifindex(hv_ns, "mv0") == index
        with open(nh.intent_file(hv_ns, "vm_interface"), encoding="utf-8") as handle:
            saved = json.load(handle)["config"]
        assert saved == [{"name": "mv0", "kind": "macvtap", "link": "lower0", "mode": "bridge", "mtu": 1400, "link_state": "up"}]

        hv_ns.run("ip", "link", "del", "mv0")
        restore = subprocess.run(["ip", "netns", "exec", hv_ns.name, nh.restore_program(hv_ns.name)],
                                 capture_output=True, text=True, timeout=120, check=False)
        assert restore.returncode == 0, restore.stdout + restore.stderr
        entry = nh.link(hv_ns, "mv0")
        assert entry["mtu"] == 1400 and nh.info_data(entry)["mode"] == "bridge"
    finally:
        nh.remove_state_dir(hv_ns)


def test_bridge_rename_is_refused_with_the_reason(hv_ns, run_module):
    lab = {"name": "lab", "bridge": {"name": "br-lab"}, "ips": [{"address": "198.51.100.1/24"}]}
    nh.assert_ok(_run(run_module, hv_ns, "vm_network", [lab]))
    before = nh.settled_state(hv_ns)
    for check in (True, False):
        result = run_module(hv_ns, "vm_network", {"config": [{"name": "lab", "bridge": {"name": "br-new"},
                                                              "ips": [{"address": "198.51.100.1/24"}]}], "persist": False},
                            check=check)
        msg = nh.assert_failed(result, "config[0].bridge.name: network lab is on bridge br-lab")
        assert "overlaps" not in msg  # its own bridge is not "another interface"
    nh.assert_same_state(before, nh.kernel_state(hv_ns))


def test_a_network_cannot_take_another_networks_bridge(hv_ns, run_module):
    nh.assert_ok(_run(run_module, hv_ns, "vm_network", [{"name": "one", "bridge": {"name": "br-one"}}]))
    before = nh.settled_state(hv_ns)
    nh.assert_failed(_run(run_module, hv_ns, "vm_network", [{"name": "two", "bridge": {"name": "br-one"}}]),
                     "config[0].bridge.name: bridge br-one belongs to network one")
    nh.assert_same_state(before, nh.kernel_state(hv_ns))


def test_gateway_mac_stays_put_while_taps_come_and_go(hv_ns, run_module):
    """A bridge's MAC would follow its lowest port; the module pins a stable one per network."""
    gateway = {"name": "gw", "bridge": {"name": "br-gw", "stp": False}, "ips": [{"address": "198.51.100.1/24"}]}
    nh.assert_ok(_run(run_module, hv_ns, "vm_network", [gateway]))
    mac = nh.link(hv_ns, "br-gw")["address"]
    assert mac.startswith("52:54:00:")
    taps = [{"name": "gwtap%d" % i, "bridge": "br-gw", "guest": {"mac": "52:54:00:aa:00:%02x" % i}} for i in range(2)]
    nh.assert_ok(_run(run_module, hv_ns, "vm_interface", taps))
    assert nh.link(hv_ns, "br-gw")["address"] == mac
    assert nh.link(hv_ns, "gwtap1")["address"] == "fe:54:00:aa:00:01"  # libvirt's host-side MAC
    nh.assert_unchanged_run(_run(run_module, hv_ns, "vm_interface", taps))
    nh.assert_ok(_run(run_module, hv_ns, "vm_interface", [], state="deleted"))
    assert nh.link(hv_ns, "br-gw")["address"] == mac


def _static_fdb(ns, dev):
    entries = json.loads(ns.run("bridge", "-j", "fdb", "show", "dev", dev).stdout or "[]")
    return sorted(e["mac"] for e in entries if e.get("state") == "static" and e.get("master"))


def test_libvirt_mac_table_manager_pins_the_guest_mac(hv_ns, run_module):
    """macTableManager='libvirt': learning and flooding off on the tap, and a static FDB entry
    for the guest's MAC, so unicast still reaches the VM; the entry follows guest.mac."""
    network = {"name": "mtm", "bridge": {"name": "br-mtm", "stp": False, "mac_table_manager": "libvirt"}}
    nh.assert_ok(_run(run_module, hv_ns, "vm_network", [network]))
    tap = {"name": "mtmtap0", "bridge": "br-mtm", "guest": {"mac": "52:54:00:bb:00:01"}}
    result = nh.assert_ok(_run(run_module, hv_ns, "vm_interface", [tap]))
    assert "bridge fdb add 52:54:00:bb:00:01 dev mtmtap0 master static" in result["commands"]
    port = nh.brport(hv_ns, "mtmtap0")
    assert port["learning"] is False and port["flood"] is False
    assert _static_fdb(hv_ns, "mtmtap0") == ["52:54:00:bb:00:01"]
    nh.assert_unchanged_run(_run(run_module, hv_ns, "vm_interface", [tap]))

    moved = dict(tap, guest={"mac": "52:54:00:bb:00:02"})
    nh.assert_ok(_run(run_module, hv_ns, "vm_interface", [moved]))
    assert _static_fdb(hv_ns, "mtmtap0") == ["52:54:00:bb:00:02"]
    nh.assert_ok(_run(run_module, hv_ns, "vm_interface", [dict(moved, learning=True, flood=True)]))
    assert _static_fdb(hv_ns, "mtmtap0") == []
