"""persist.py: the one layout of state files, corrupt files, and moving the previous layout's files."""

import json
import os

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils import persist
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
