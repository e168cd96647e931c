"""persist.py: the one layout of state files, corrupt files, and moving the previous layout's files."""

import json
import os
import shutil
import subprocess

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils import entry, persist
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ApplyError, HvnetError
from ansible_collections.hypervisor.networking.plugins.module_utils.plan import Plan

NETWORK = {"name": "n1", "bridge": {"name": "br1"}}
TAP = {"name": "t1", "kind": "tap"}


@pytest.fixture
def layout(tmp_path):
    return persist.Layout("ns1", persistent_root=str(tmp_path / "var"), runtime_root=str(tmp_path / "run"),
                          legacy_root=str(tmp_path / "etc"))


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def _files(root):
    found = []
    for directory, _dirs, names in os.walk(root):
        found += [os.path.relpath(os.path.join(directory, name), root) for name in names]
    return sorted(found)


def _dirs(root):
    return sorted(os.path.relpath(directory, root) for directory, _dirs, _names in os.walk(root))


def test_layout_has_one_root_per_scope(layout, tmp_path):
    assert layout.intent("vm_network") == str(tmp_path / "var/netns/ns1/intent/vm_network.json")
    assert layout.restore_program == str(tmp_path / "var/netns/ns1/restore/restore")
    assert layout.dnsmasq_dir == str(tmp_path / "run/netns/ns1/dnsmasq")
    assert layout.services_dir == str(tmp_path / "run/netns/ns1/vm_network")
    assert layout.nft_dir == str(tmp_path / "run/netns/ns1/nft")
    assert layout.sysctl_originals == str(tmp_path / "run/netns/ns1/sysctl-originals.json")
    host = persist.Layout(None)
    assert host.intent("vm_interface") == "/var/lib/hypervisor-networking/intent/vm_interface.json"
    assert host.restore_program == "/var/lib/hypervisor-networking/restore/restore"
    assert host.dnsmasq_dir == "/run/hypervisor-networking/dnsmasq"


def test_save_writes_intent_and_bundle_then_removal_leaves_no_directory(layout, tmp_path):
    store = persist.Store(layout)
    plan = Plan()
    store.plan_save(plan, "vm_network", {"n1": NETWORK})
    plan.execute()
    assert store.load("vm_network") == {"n1": NETWORK}
    assert os.access(layout.restore_program, os.X_OK)
    with open(layout.restore_program, encoding="utf-8") as handle:
        assert handle.readline() == "#!%s\n" % persist.restore_interpreter()

    plan = Plan()  # nothing changed: nothing to do
    store.plan_save(plan, "vm_network", {"n1": NETWORK})
    assert plan.actions == []

    plan = Plan()
    store.plan_save(plan, "vm_network", {})
    assert plan.commands[0].startswith("forget the saved vm_network state")
    plan.execute()
    assert not os.path.exists(str(tmp_path / "var/netns")), _dirs(str(tmp_path / "var"))


def test_removing_one_kind_keeps_the_bundle_for_the_others(layout):
    store = persist.Store(layout)
    for kind, objects in (("vm_network", {"n1": NETWORK}), ("vm_interface", {"t1": TAP})):
        plan = Plan()
        store.plan_save(plan, kind, objects)
        plan.execute()
    plan = Plan()
    store.plan_save(plan, "vm_network", {})
    plan.execute()
    assert not os.path.exists(layout.intent("vm_network"))
    assert store.load("vm_interface") == {"t1": TAP} and os.path.exists(layout.restore_program)


@pytest.mark.parametrize("content, reason", [
    ("{not json", "not valid JSON"),
    ('{"kind": "vm_network", "config": {"n1": {}}}', "not a saved vm_network state"),
    ('["n1"]', "not a saved vm_network state"),
    ('{"config": [{"bridge": {}}]}', "not a saved vm_network state"),
])
def test_a_corrupt_state_file_is_an_error_naming_it_and_nothing_is_written(layout, content, reason):
    path = layout.intent("vm_network")
    _write(path, content)
    store = persist.Store(layout)
    with pytest.raises(HvnetError) as error:
        store.load("vm_network")
    message = str(error.value)
    assert path in message and reason in message and "Move it aside" in message and persist.RECOVERY_DOC in message
    with pytest.raises(HvnetError):
        store.plan_save(Plan(), "vm_network", {"n1": NETWORK})
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == content


def test_an_unreadable_state_file_is_an_error(layout):
    os.makedirs(layout.intent("vm_network"))  # a directory where the file should be: reading it fails
    with pytest.raises(HvnetError, match="unreadable"):
        persist.Store(layout).load("vm_network")


def _legacy_layout(layout):
    """Files as the previous layout wrote them for namespace ns1."""
    legacy = os.path.join(layout.legacy_root, "netns", "ns1")
    _write(os.path.join(legacy, "vm_network.json"), json.dumps({"kind": "vm_network", "config": [NETWORK]}))
    _write(os.path.join(legacy, "vm_interface.json"), json.dumps({"kind": "vm_interface", "config": [TAP]}))
    _write(os.path.join(legacy, "restore"), "#!/usr/bin/python3\n")
    _write(os.path.join(legacy, "DIGEST"), "0\n")
    _write(os.path.join(legacy, "lib/ansible_collections/__init__.py"), "")
    return legacy


def test_the_previous_layout_is_read_and_moved_by_the_next_save(layout):
    legacy = _legacy_layout(layout)
    store = persist.Store(layout)
    assert store.load("vm_network") == {"n1": NETWORK} and store.load("vm_interface") == {"t1": TAP}

    plan = Plan()
    store.plan_save(plan, "vm_network", {"n1": NETWORK})
    assert len(plan.actions) == 1  # the same intent, but its files are still in the old place
    plan.execute()
    assert not os.path.exists(os.path.dirname(legacy)), "the previous layout's directory must be gone"
    assert store.load("vm_network") == {"n1": NETWORK}
    assert store.load("vm_interface") == {"t1": TAP}, "the other kinds' intent moves too"
    assert os.path.exists(layout.intent("vm_interface")) and os.access(layout.restore_program, os.X_OK)
    plan = Plan()
    store.plan_save(plan, "vm_network", {"n1": NETWORK})
    assert plan.actions == []


def test_a_rolled_back_save_puts_the_previous_layout_back(layout, tmp_path):
    legacy = _legacy_layout(layout)
    before = {path: open(os.path.join(legacy, path), encoding="utf-8").read() for path in _files(legacy)}
    store = persist.Store(layout)
    plan = Plan()
    store.plan_save(plan, "vm_network", {"n1": NETWORK, "n2": {"name": "n2"}})

    def fail():
        raise OSError("injected")

    plan.add("a later step that fails", fail)
    with pytest.raises(ApplyError):
        plan.execute()
    assert {path: open(os.path.join(legacy, path), encoding="utf-8").read() for path in _files(legacy)} == before
    assert not os.path.exists(str(tmp_path / "var/netns")), _files(str(tmp_path / "var"))


def test_restore_runs_with_a_python_that_outlives_a_virtualenv(monkeypatch, tmp_path):
    system = tmp_path / "python3"
    system.write_text("#!/bin/sh\n")
    system.chmod(0o755)
    monkeypatch.setattr(persist, "SYSTEM_PYTHONS", (str(tmp_path / "absent"), str(system)))
    monkeypatch.setattr(persist, "_in_virtualenv", lambda: True)
    for importable, expected in ((True, str(system)), (False, persist.sys.executable)):
        monkeypatch.setattr(persist, "_INTERPRETER", [])
        monkeypatch.setattr(persist, "_can_import", lambda python, module, ok=importable: ok)
        assert persist.restore_interpreter() == expected
        warning = persist.interpreter_warning()
        assert (warning is None) == importable
        if warning:
            assert "virtualenv" in warning and "python3-pyroute2" in warning
    monkeypatch.setattr(persist, "_INTERPRETER", [])
    monkeypatch.setattr(persist, "_in_virtualenv", lambda: False)
    assert persist.restore_interpreter() == persist.sys.executable and persist.interpreter_warning() is None


# ---- the boot units: two phases of the one restore program --------------------------------------
@pytest.fixture
def host_layout(tmp_path):
    """The host's layout with every root, the systemd unit directory included, below tmp_path."""
    (tmp_path / "systemd").mkdir()
    return persist.Layout(None, persistent_root=str(tmp_path / "var"), runtime_root=str(tmp_path / "run"),
                          legacy_root=str(tmp_path / "etc"), unit_dir=str(tmp_path / "systemd"))


def _unit(layout, phase):
    """{directive: [values]} of the unit file of `phase` (every section together)."""
    directives = {}
    with open(layout.unit_path(phase), encoding="utf-8") as handle:
        for line in handle:
            if "=" in line:
                key, value = line.rstrip("\n").split("=", 1)
                directives.setdefault(key, []).append(value)
    return directives


def _save(store, kind, objects):
    plan = Plan()
    store.plan_save(plan, kind, objects, key={"sriov_pool": "pci_address", "pci_driver": "address"}.get(kind, "name"))
    plan.execute()
    return plan


def test_every_kind_has_one_phase_and_early_needs_no_network():
    assert persist.kinds_of_phase(persist.EARLY) == ("hugepages", "pci_driver", "sriov_pool")
    assert persist.kinds_of_phase(persist.LATE) == ("vm_network", "ovs_dpdk_global", "ovs_dpdk_bridge", "ovs_dpdk_port", "vm_interface")
    assert persist.kinds_of_phase() == persist.KINDS_IN_ORDER == persist.kinds_of_phase("early") + persist.kinds_of_phase("late")


def test_the_host_gets_an_early_and_a_late_unit(host_layout):
    store = persist.Store(host_layout)
    _save(store, "vm_network", {"n1": NETWORK})
    late_unit = "hypervisor-networking-restore.service"
    assert _files(host_layout.unit_dir) == [late_unit, "multi-user.target.wants/" + late_unit]
    _save(store, "sriov_pool", {"0000:01:00.0": {"pci_address": "0000:01:00.0", "num_vfs": 2}})
    early, late = _unit(host_layout, persist.EARLY), _unit(host_layout, persist.LATE)
    program = host_layout.restore_program
    # early: outside the default dependencies, before networking, after what the sysfs changes need
    assert early["ExecStart"] == [program + " early"] and early["DefaultDependencies"] == ["no"]
    assert early["Before"] == ["network-pre.target shutdown.target"]
    assert early["Wants"] == ["network-pre.target systemd-udev-settle.service"]
    assert set(early["After"][0].split()) == {"local-fs.target", "systemd-modules-load.service", "systemd-udev-settle.service"}
    assert early["WantedBy"] == ["sysinit.target"]
    assert early["ConditionPathExists"] == ["|" + host_layout.intent(kind) for kind in persist.kinds_of_phase("early")]
    # late: as before phases, after the early one
    assert late["ExecStart"] == [program + " late"] and "DefaultDependencies" not in late
    assert set(late["After"][0].split()) == {"network-online.target", "hypervisor-networking-restore-early.service"}
    assert late["Before"] == ["libvirtd.service libvirt-guests.service"] and late["WantedBy"] == ["multi-user.target"]
    assert late["ConditionPathExists"] == ["|" + host_layout.intent(kind) for kind in persist.kinds_of_phase("late")]
    for phase, target in ((persist.EARLY, "sysinit.target"), (persist.LATE, "multi-user.target")):
        link = host_layout.unit_link(phase)
        assert link == os.path.join(host_layout.unit_dir, target + ".wants", os.path.basename(host_layout.unit_path(phase)))
        assert os.readlink(link) == host_layout.unit_path(phase)
    assert _save(store, "vm_network", {"n1": NETWORK}).actions == []  # idempotent
    # a unit goes with the last saved kind of its phase, the bundle with the last of all
    _save(store, "vm_network", {})
    early_unit = "hypervisor-networking-restore-early.service"
    assert _files(host_layout.unit_dir) == [early_unit, "sysinit.target.wants/" + early_unit]
    _save(store, "sriov_pool", {})
    assert _files(host_layout.unit_dir) == [] and not os.path.exists(host_layout.bundle)


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_accepts_both_units(host_layout, tmp_path):
    """systemd-analyze verify, offline (it loads the units, it starts nothing)."""
    _save(persist.Store(host_layout), "sriov_pool", {"0000:01:00.0": {"pci_address": "0000:01:00.0", "num_vfs": 2}})
    _save(persist.Store(host_layout), "vm_network", {"n1": NETWORK})
    for phase in persist.PHASES:
        proc = subprocess.run(["systemd-analyze", "verify", "--man=no", host_layout.unit_path(phase)], capture_output=True, text=True,
                              timeout=60, check=False, env=dict(os.environ, SYSTEMD_LOG_LEVEL="warning"))
        # units the unit names but this machine lacks (libvirtd) are no fault of ours; anything about our file is
        ours = [line for line in proc.stderr.splitlines() if os.path.basename(host_layout.unit_path(phase)) in line]
        assert proc.returncode == 0 and not ours, proc.stderr


def test_a_unit_from_before_phases_is_rewritten_and_put_back_by_a_rollback(host_layout):
    store = persist.Store(host_layout)
    _save(store, "pci_driver", {"0000:03:00.0": {"address": "0000:03:00.0", "driver": "vfio-pci"}})
    _save(store, "vm_network", {"n1": NETWORK})
    old = "[Unit]\nAfter=network-online.target\n[Service]\nExecStart=%s\n" % host_layout.restore_program  # no phase: every kind
    _write(host_layout.unit_path(persist.LATE), old)
    for phase in persist.PHASES:  # the early unit did not exist then
        os.unlink(host_layout.unit_link(phase))
    os.unlink(host_layout.unit_path(persist.EARLY))
    before = {path: open(os.path.join(host_layout.unit_dir, path), encoding="utf-8").read() for path in _files(host_layout.unit_dir)}

    plan = Plan()
    store.plan_save(plan, "vm_network", {"n1": NETWORK})
    assert len(plan.actions) == 1  # the same intent, but the units are stale

    def fail():
        raise OSError("injected")

    plan.add("a later step that fails", fail)
    with pytest.raises(ApplyError):
        plan.execute()
    assert {path: open(os.path.join(host_layout.unit_dir, path), encoding="utf-8").read()
            for path in _files(host_layout.unit_dir)} == before
    _save(store, "vm_network", {"n1": NETWORK})
    assert _unit(host_layout, persist.LATE)["ExecStart"] == [host_layout.restore_program + " late"]
    assert os.path.exists(host_layout.unit_path(persist.EARLY)) and os.path.islink(host_layout.unit_link(persist.EARLY))


def test_a_namespace_gets_no_unit(tmp_path):
    (tmp_path / "systemd").mkdir()
    layout = persist.Layout("ns1", persistent_root=str(tmp_path / "var"), runtime_root=str(tmp_path / "run"),
                            legacy_root=str(tmp_path / "etc"), unit_dir=str(tmp_path / "systemd"))
    _save(persist.Store(layout), "sriov_pool", {"0000:01:00.0": {"pci_address": "0000:01:00.0"}})
    assert os.access(layout.restore_program, os.X_OK) and _files(str(tmp_path / "systemd")) == []


@pytest.mark.parametrize("argv, kinds", [((), persist.KINDS_IN_ORDER), (("early",), ("hugepages", "pci_driver", "sriov_pool")),
                                         (("late",), persist.kinds_of_phase("late"))])
def test_the_restore_program_takes_a_phase(monkeypatch, argv, kinds):
    called = []
    monkeypatch.setattr(entry, "restore_all", lambda order, resources: called.append(tuple(order)) or 0)
    assert entry.restore_main(argv) == 0 and called == [kinds]


@pytest.mark.parametrize("argv", [("boot",), ("early", "late")])
def test_an_unknown_phase_is_a_usage_error(monkeypatch, capsys, argv):
    monkeypatch.setattr(entry, "restore_all", lambda order, resources: pytest.fail("must not restore"))
    assert entry.restore_main(argv) == 2
    assert "usage: restore [early|late]" in capsys.readouterr().err
