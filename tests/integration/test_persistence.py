# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persistence: saved state per network namespace and the boot-time restore program.

A "reboot" is simulated by deleting the namespace and creating a bare one with the
same name, then running the restore program inside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from netns import Netns

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position

NETWORKS = [{
    "name": "persnet", "bridge": {"name": "br-pers", "stp": False}, "mtu": 9000, "mac": "02:00:00:00:0c:01",
    "ips": [{"address": "198.51.100.1/24"}, {"address": "2001:db8:30::1/64"}],
}]
TAPS = [
    {"name": "ptap0", "bridge": "br-pers", "owner": "nobody", "group": "nogroup", "mac": "02:00:00:00:0c:10",
     "mtu": 1500, "guest": {"queues": 2, "mac": "52:54:00:00:0c:10", "queue_size": 256}},
    {"name": "ptap1", "bridge": "br-pers", "owner": "65534", "isolated": True, "guest": {"queues": 4}},
]
CONFIGURED_MACS = {"br-pers", "ptap0"}


@pytest.fixture
def persist_ns(netns_factory):
    """A namespace whose saved state is removed at teardown (also when re-created)."""
    ns = netns_factory("pers")
    yield ns
    Netns(ns.name).destroy()
    nh.remove_state_dir(ns)


def _normalised(ns):
    """What must survive a reboot; ifindex, tap MACs without a configured MAC etc. may differ."""
    result = {}
    for entry in json.loads(ns.run("ip", "-d", "-j", "addr", "show").stdout):
        name = entry["ifname"]
        info = entry.get("linkinfo") or {}
        data = info.get("info_data") or {}
        item = {
            "kind": info.get("info_kind"),
            "mtu": entry["mtu"],
            "master": entry.get("master"),
            "alias": entry.get("ifalias"),
            "up": "UP" in entry.get("flags", []),
            "addresses": sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in entry.get("addr_info", [])
                                if a.get("scope") == "global"),
        }
        if item["kind"] == "tun":
            item.update(type=data.get("type"), multi_queue=data.get("multi_queue"), user=data.get("user"),
                        group=data.get("group"), vnet_hdr=data.get("vnet_hdr"))
        if item["kind"] == "bridge":
            item.update(stp_state=data.get("stp_state"), forward_delay=data.get("forward_delay"))
        slave = info.get("info_slave_data") or {}
        if info.get("info_slave_kind") == "bridge":
            item.update(isolated=slave.get("isolated"), learning=slave.get("learning"), flood=slave.get("flood"))
        if name in CONFIGURED_MACS:
            item["mac"] = entry.get("address")
        result[name] = item
    return result


def _apply(run_module, ns, check=False, persist=True):
    net = run_module(ns, "vm_network", {"config": NETWORKS, "persist": persist}, check=check)
    iface = run_module(ns, "vm_interface", {"config": TAPS, "persist": persist}, check=check)
    return nh.assert_ok(net), nh.assert_ok(iface)


@pytest.mark.slow
def test_simulated_reboot_restores_everything(persist_ns, run_module):
    net, iface = _apply(run_module, persist_ns)
    assert net["changed"] and iface["changed"]
    assert any(cmd.startswith("save the desired vm_network state") for cmd in net["commands"])
    assert any(cmd.startswith("save the desired vm_interface state") for cmd in iface["commands"])
    directory = nh.state_dir(persist_ns)
    for kind in ("vm_network", "vm_interface"):
        with open(os.path.join(directory, kind + ".json"), encoding="utf-8") as handle:
            saved = json.load(handle)
        assert saved["kind"] == kind
        assert [item["name"] for item in saved["config"]] == (["persnet"] if kind == "vm_network" else ["ptap0", "ptap1"])
    assert os.access(nh.restore_program(persist_ns.name), os.X_OK)

    recorded = _normalised(persist_ns)
    assert recorded["ptap0"]["multi_queue"] is True and recorded["ptap0"]["user"] == "nobody"
    assert recorded["ptap1"]["isolated"] is True
    assert recorded["br-pers"]["addresses"] == ["198.51.100.1/24", "2001:db8:30::1/64"]

    # reboot: the namespace and everything in it is gone, a bare one with the same name comes back
    name = persist_ns.name
    persist_ns.destroy()
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
    reborn = Netns(name)
    reborn.run("ip", "link", "set", "lo", "up")
    assert nh.link_names(reborn) == ["lo"]

    proc = subprocess.run(["ip", "netns", "exec", name, nh.restore_program(name)], capture_output=True, text=True, timeout=120, check=False)
    print("restore output:\n%s%s" % (proc.stdout, proc.stderr))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "restore failed" not in proc.stdout

    restored = _normalised(reborn)
    nh.assert_same_state(recorded, restored, "normalised links and addresses after restore")

    # the module agrees nothing is left to do
    net, iface = _apply(run_module, reborn)
    nh.assert_unchanged_run(net)
    nh.assert_unchanged_run(iface)
    gathered = nh.assert_ok(run_module(reborn, "vm_interface", {"state": "gathered"}))["gathered"]
    assert gathered[0]["guest"] == {"queues": 2, "mac": "52:54:00:00:0c:10", "queue_size": 256}


def test_persist_false_writes_nothing(persist_ns, run_module):
    assert not os.path.exists(nh.state_dir(persist_ns))
    net, iface = _apply(run_module, persist_ns, persist=False)
    assert net["changed"] and iface["changed"]
    assert not any(cmd.startswith("save ") for cmd in net["commands"] + iface["commands"])
    assert nh.link(persist_ns, "ptap1") is not None
    assert not os.path.exists(nh.state_dir(persist_ns))


def test_check_mode_writes_nothing(persist_ns, run_module):
    before = nh.kernel_state(persist_ns)
    net = nh.assert_ok(run_module(persist_ns, "vm_network", {"config": NETWORKS}, check=True))
    assert net["changed"] is True
    assert any(cmd.startswith("save the desired vm_network state") for cmd in net["commands"])
    nh.assert_same_state(before, nh.kernel_state(persist_ns))
    assert not os.path.exists(nh.state_dir(persist_ns))
