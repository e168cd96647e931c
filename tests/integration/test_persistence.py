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
    for kind in ("vm_network", "vm_interface"):
        with open(nh.intent_file(persist_ns, kind), encoding="utf-8") as handle:
            saved = json.load(handle)
        assert saved["kind"] == kind
        assert [item["name"] for item in saved["config"]] == (["persnet"] if kind == "vm_network" else ["ptap0", "ptap1"])
    assert os.access(nh.restore_program(persist_ns.name), os.X_OK)
    _assert_restore_interpreter(persist_ns, net)

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

    # the two phases, as the host's boot units run them: early (sysfs kinds only) leaves the networks
    # and interfaces to late (a run without a phase restores both: see test_previous_layout_is_found_and_moved)
    early = _restore(name, "early")
    assert early.stdout == "" and nh.link_names(reborn) == ["lo"], early.stdout
    proc = _restore(name, "late")
    assert [line.split(":")[0] for line in proc.stdout.splitlines()] == ["vm_network", "vm_interface"], proc.stdout

    restored = _normalised(reborn)
    nh.assert_same_state(recorded, restored, "normalised links and addresses after restore")

    # the module agrees nothing is left to do
    net, iface = _apply(run_module, reborn)
    nh.assert_unchanged_run(net)
    nh.assert_unchanged_run(iface)
    gathered = nh.assert_ok(run_module(reborn, "vm_interface", {"state": "gathered"}))["gathered"]
    assert gathered[0]["guest"] == {"queues": 2, "mac": "52:54:00:00:0c:10", "queue_size": 256}


def _restore(name, *phase):
    """Run namespace `name`'s restore program (optionally one phase); it must succeed."""
    proc = subprocess.run(["ip", "netns", "exec", name, nh.restore_program(name), *phase], capture_output=True, text=True,
                          timeout=120, check=False)
    print("restore %s output:\n%s%s" % (" ".join(phase), proc.stdout, proc.stderr))
    assert proc.returncode == 0 and "restore failed" not in proc.stdout, proc.stdout + proc.stderr
    return proc


def test_the_restore_program_refuses_an_unknown_phase(persist_ns, run_module):
    _apply(run_module, persist_ns)
    before = nh.kernel_state(persist_ns)
    proc = subprocess.run(["ip", "netns", "exec", persist_ns.name, nh.restore_program(persist_ns.name), "boot"], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "usage: restore [early|late]" in proc.stderr, proc.stderr
    nh.assert_same_state(before, nh.kernel_state(persist_ns))


def _assert_restore_interpreter(ns, result):
    """The restore program runs with a Python that outlives the run, or the run said it may not."""
    with open(nh.restore_program(ns.name), encoding="utf-8") as handle:
        interpreter = handle.readline()[2:].strip()
    assert os.access(interpreter, os.X_OK)
    if os.path.exists(os.path.join(os.path.dirname(os.path.dirname(interpreter)), "pyvenv.cfg")):
        assert any("virtualenv" in warning and "python3-pyroute2" in warning for warning in result.get("warnings", [])), result
    else:
        assert not any("virtualenv" in warning for warning in result.get("warnings", []))


def _layout_files(ns):
    """Files and directories the collection keeps for namespace `ns` (both roots)."""
    return nh.scope_files(ns) + [d for d in (nh.state_dir(ns), nh.runtime_dir(ns)) if os.path.exists(d)]


def test_persist_false_writes_nothing(persist_ns, run_module):
    assert not os.path.exists(nh.state_dir(persist_ns))
    net, iface = _apply(run_module, persist_ns, persist=False)
    assert net["changed"] and iface["changed"]
    assert not any(cmd.startswith("save ") for cmd in net["commands"] + iface["commands"])
    assert nh.link(persist_ns, "ptap1") is not None
    # only runtime files of the live objects (they end with them, at the latest at reboot)
    assert not os.path.exists(nh.state_dir(persist_ns))
    assert all(path.startswith(nh.runtime_dir(persist_ns) + os.sep) for path in nh.scope_files(persist_ns))
    for kind in ("vm_interface", "vm_network"):
        nh.assert_ok(run_module(persist_ns, kind, {"state": "deleted", "persist": False}))
    assert nh.link_names(persist_ns) == ["lo"] and _layout_files(persist_ns) == []


def test_deleted_leaves_no_file_and_no_directory(persist_ns, run_module):
    _apply(run_module, persist_ns)
    assert os.path.exists(nh.intent_file(persist_ns, "vm_interface"))
    iface = nh.assert_ok(run_module(persist_ns, "vm_interface", {"config": [{"name": t["name"]} for t in TAPS], "state": "deleted"}))
    assert any(cmd.startswith("forget the saved vm_interface state") for cmd in iface["commands"]), iface["commands"]
    # the network is still saved: its intent and the restore program stay
    assert not os.path.exists(nh.intent_file(persist_ns, "vm_interface"))
    assert os.path.exists(nh.intent_file(persist_ns, "vm_network")) and os.path.exists(nh.restore_program(persist_ns.name))
    nh.assert_ok(run_module(persist_ns, "vm_network", {"config": [{"name": "persnet"}], "state": "deleted"}))
    assert nh.link_names(persist_ns) == ["lo"]
    assert _layout_files(persist_ns) == []
    nh.assert_unchanged_run(run_module(persist_ns, "vm_network", {"config": [{"name": "persnet"}], "state": "deleted"}))
    assert _layout_files(persist_ns) == []


def test_corrupt_state_file_is_an_error_and_changes_nothing(persist_ns, run_module):
    _apply(run_module, persist_ns)
    path = nh.intent_file(persist_ns, "vm_network")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('{"kind": "vm_network", "config": [{"name": "persnet", ')  # cut short, as by a full disk
    before = nh.kernel_state(persist_ns)
    files_before = {name: open(name, "rb").read() for name in nh.scope_files(persist_ns)}
    changed = dict(NETWORKS[0], mtu=1500)
    for args in ({"config": [changed]}, {"config": [changed], "persist": False}, {"state": "gathered"}):
        msg = nh.assert_failed(run_module(persist_ns, "vm_network", args), path, "not valid JSON", "Move it aside",
                               "state-and-recovery.md")
        assert "nothing was changed" in msg
    nh.assert_same_state(before, nh.kernel_state(persist_ns))
    assert {name: open(name, "rb").read() for name in nh.scope_files(persist_ns)} == files_before
    # the boot-time restore says so too and still restores the other kinds
    proc = subprocess.run(["ip", "netns", "exec", persist_ns.name, nh.restore_program(persist_ns.name)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1 and "vm_network: restore failed" in proc.stdout and path in proc.stdout, proc.stdout
    # the documented recovery: move the file aside (or put back a backup), run again
    os.rename(path, path + ".corrupt")
    nh.assert_ok(run_module(persist_ns, "vm_network", {"config": NETWORKS}))
    with open(path, encoding="utf-8") as handle:
        assert [item["name"] for item in json.load(handle)["config"]] == ["persnet"]
    os.unlink(path + ".corrupt")


def test_previous_layout_is_found_and_moved(persist_ns, run_module):
    """State written by the previous layout (/etc/hypervisor-networking/netns/NS/) is read, moved by
    the next run that saves, and the restore program of the new place restores it."""
    _apply(run_module, persist_ns)
    recorded = _normalised(persist_ns)
    # turn the new layout into the previous one, as an existing host has it
    legacy = os.path.join(nh.LEGACY_STATE_ROOT, "netns", persist_ns.name)
    os.makedirs(legacy)
    for kind in ("vm_network", "vm_interface"):
        os.rename(nh.intent_file(persist_ns, kind), os.path.join(legacy, kind + ".json"))
    bundle = os.path.dirname(nh.restore_program(persist_ns.name))
    for name in os.listdir(bundle):
        os.rename(os.path.join(bundle, name), os.path.join(legacy, name))
    nh.remove_state_dir(persist_ns)
    try:
        # still found: nothing to change on the host, gathered knows the guest settings
        gathered = nh.assert_ok(run_module(persist_ns, "vm_interface", {"state": "gathered"}))["gathered"]
        assert gathered[0]["guest"] == {"queues": 2, "mac": "52:54:00:00:0c:10", "queue_size": 256}
        check = nh.assert_ok(run_module(persist_ns, "vm_network", {"config": NETWORKS}, check=True))
        assert check["commands"] and all(c.startswith("save the desired vm_network") for c in check["commands"]), check["commands"]
        assert os.path.exists(os.path.join(legacy, "vm_network.json")) and not os.path.exists(nh.state_dir(persist_ns))
        # the next saving run moves every kind's state, and only that
        net = nh.assert_ok(run_module(persist_ns, "vm_network", {"config": NETWORKS}))
        assert [c for c in net["commands"] if not c.startswith("save the desired")] == [], net["commands"]
        assert not os.path.exists(legacy)
        for kind in ("vm_network", "vm_interface"):
            assert os.path.exists(nh.intent_file(persist_ns, kind))
        nh.assert_unchanged_run(run_module(persist_ns, "vm_network", {"config": NETWORKS}))
        nh.assert_unchanged_run(run_module(persist_ns, "vm_interface", {"config": TAPS}))
        # and the reboot restores from the new place
        name = persist_ns.name
        persist_ns.destroy()
        subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
        reborn = Netns(name)
        reborn.run("ip", "link", "set", "lo", "up")
        _restore(name)  # no phase, as the unit of a version before phases runs it: every kind
        nh.assert_same_state(recorded, _normalised(reborn), "normalised links and addresses after restore")
    finally:
        subprocess.run(["rm", "-rf", legacy], check=False)


def test_check_mode_writes_nothing(persist_ns, run_module):
    before = nh.kernel_state(persist_ns)
    net = nh.assert_ok(run_module(persist_ns, "vm_network", {"config": NETWORKS}, check=True))
    assert net["changed"] is True
    assert any(cmd.startswith("save the desired vm_network state") for cmd in net["commands"])
    nh.assert_same_state(before, nh.kernel_state(persist_ns))
    assert not os.path.exists(nh.state_dir(persist_ns))
