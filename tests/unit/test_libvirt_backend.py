# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The libvirt backend's pure parts: choosing the resource per backend, saved intent per backend,
the boot-time restore, the lock scope, and which changes libvirt makes live (no libvirtd here)."""

from __future__ import annotations

import builtins

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils import engine, lock, persist
from ansible_collections.hypervisor.networking.plugins.module_utils.backend import libvirt as lvbackend
from ansible_collections.hypervisor.networking.plugins.module_utils.entry import resource_for
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError, HvnetError
from ansible_collections.hypervisor.networking.plugins.module_utils.resource import libvirt_network as lv
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.libvirt_network import LibvirtNetworkResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.network import NetworkResource

NET = ("<network><name>n</name><uuid>0b6c3f3e-2f0e-4d5a-9d7e-6c1d7c0c7c01</uuid>%s<forward mode='nat'/>"
       "<bridge name='n' stp='on' delay='0'/><mac address='52:54:00:00:00:01'/>"
       "<ip address='198.51.100.1' prefix='24'><dhcp>%s</dhcp></ip></network>")
MARK = "<metadata><hvnet:owner xmlns:hvnet='https://hypervisor.networking/xmlns/owner/1' module='vm_network'/></metadata>"
RANGE = "<range start='198.51.100.10' end='198.51.100.20'/>"


def test_one_registry_gives_the_resource_of_each_backend():
    assert isinstance(resource_for("vm_network"), NetworkResource) and resource_for("vm_network").backend == "kernel"
    assert isinstance(resource_for("vm_network", "libvirt"), LibvirtNetworkResource)
    assert resource_for("vm_interface").kind == "vm_interface"
    with pytest.raises(HvnetError, match="vm_network has no backend nm .known: kernel, libvirt."):
        resource_for("vm_network", "nm")


def test_saved_items_carry_their_backend_and_stay_apart():
    kernel, libvirt = resource_for("vm_network"), resource_for("vm_network", "libvirt")
    saved = {"k": {"name": "k"}, "l": {"name": "l", "backend": "libvirt"}}
    assert engine._split_saved(kernel, saved) == ({"k": {"name": "k"}}, {"l": {"name": "l", "backend": "libvirt"}})
    mine, others = engine._split_saved(libvirt, saved)
    assert mine == {"l": {"name": "l"}} and others == {"k": {"name": "k"}}
    # kernel items keep the file format earlier releases wrote (no backend key)
    assert engine._join_saved(libvirt, {"m": {"name": "m"}}, others) == {"k": {"name": "k"}, "m": {"name": "m", "backend": "libvirt"}}
    assert engine._join_saved(kernel, {"k": {"name": "k"}}, {}) == {"k": {"name": "k"}}


def test_restore_leaves_libvirt_networks_to_libvirt(monkeypatch, capsys):
    class FakeStore:
        def load(self, kind, key="name"):
            return {"k": {"name": "k"}, "l": {"name": "l", "backend": "libvirt"}} if kind == "vm_network" else {}
    converged = []
    monkeypatch.setattr(persist, "Store", FakeStore)
    monkeypatch.setattr(engine, "converge", lambda resource, params, check_mode: converged.append((resource.backend, params)) or {"commands": []})
    assert engine.restore_all(["vm_network"], resource_for) == 0
    assert [(backend, params["config"]) for backend, params in converged] == [("kernel", [{"name": "k"}])]
    assert "vm_network: 1 object(s), 0 change(s), 1 kept by their backend" in capsys.readouterr().out


def test_libvirt_scope_is_locked_after_the_namespace():
    scopes = LibvirtNetworkResource().lock_scopes({"uri": "qemu:///system"})
    assert [scope.kind for scope in scopes] == ["netns", "libvirt"]
    assert lock.libvirt_scope("qemu:///system") == scopes[1] and lock.libvirt_scope("qemu:///session") != scopes[1]
    ordered = lock.ScopeLock([scopes[1], scopes[0]], directory="/nonexistent").scopes
    assert [scope.kind for scope in ordered] == ["netns", "libvirt"]


def test_missing_binding_names_the_packages(monkeypatch):
    real_import = builtins.__import__

    def no_libvirt(name, *args, **kwargs):
        if name == "libvirt":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_libvirt)
    with pytest.raises(HostError, match="python3-libvirt.*libvirt-python"):
        lvbackend.load_binding()


def test_same_definition_ignores_uuid_order_and_whitespace_not_the_mark():
    marked = NET % (MARK, RANGE)
    reordered = marked.replace("stp='on' delay='0'", "delay='0' stp='on'").replace("<uuid>0b6c3f3e-2f0e-4d5a-9d7e-6c1d7c0c7c01</uuid>", "")
    assert lv.same_definition(marked, reordered.replace("><", ">\n  <"))
    assert not lv.same_definition(marked, NET % ("", RANGE))
    assert lvbackend.owned(marked) == {"module": "vm_network"} and lvbackend.owned(NET % ("", RANGE)) is None


def test_dhcp_hosts_are_live_and_keyed_by_mac():
    old = NET % (MARK, RANGE + "<host mac='52:54:00:00:00:02' ip='198.51.100.30'/><host mac='52:54:00:00:00:03' ip='198.51.100.31'/>")
    new = NET % (MARK, RANGE + "<host mac='52:54:00:00:00:02' ip='198.51.100.32'/><host mac='52:54:00:00:00:04' ip='198.51.100.33'/>")
    assert lv.restart_fields(old, new) == []
    updates = [(command, section, parent) for command, section, _xml, parent, _undo in lv.live_updates(old, new)]
    assert updates == [("delete", "ip-dhcp-host", 0), ("modify", "ip-dhcp-host", 0), ("add-last", "ip-dhcp-host", 0)]
    undo = {command: undo[0] for command, _section, _xml, _parent, undo in lv.live_updates(old, new)}
    assert undo == {"delete": "add-last", "modify": "modify", "add-last": "delete"}


def test_changes_outside_the_live_sections_need_a_restart_and_are_named():
    old = NET % (MARK, RANGE)
    new = old.replace("<forward mode='nat'/>", "<forward mode='route'/>").replace("prefix='24'", "prefix='25'")
    assert lv.restart_fields(old, new) == ["forward", "ips"]
    # with a client library that cannot pass virNetworkUpdate's arguments in order, nothing is live
    assert lv.restart_fields(old, (NET % (MARK, ""))) == []
    assert lv.restart_fields(old, (NET % (MARK, "")), live_supported=False) == ["ips"]


def test_libvirt_backend_refuses_kernel_only_fields():
    from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems
    resource = LibvirtNetworkResource()
    problems = Problems()
    model = resource.from_config({"name": "n", "forward": {"mode": "bridge"}, "bridge": {"name": "br0", "uplink": "eth0"}}, "config[0]", problems)
    resource.check_desired(problems, "config[0]", resource.complete(model, resource.empty_snapshot()))
    assert any(item.startswith("config[0].bridge.uplink: needs backend: kernel") for item in problems.items)


def test_a_tap_follows_the_network_that_owns_its_bridge_whatever_the_backend(monkeypatch):
    from ansible_collections.hypervisor.networking.plugins.module_utils.entry import resource_for as rf
    from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems as P
    interface = rf("vm_interface")
    assert [owner.backend for owner in interface.bridge_owners] == ["kernel", "libvirt"]
    asked = []

    def libvirt_says(uri, bridge):
        asked.append((uri, bridge))
        return {"name": bridge, "macTableManager": "libvirt"} if bridge == "virbr7" else None
    monkeypatch.setattr(lv, "active_bridge_settings", libvirt_says)
    monkeypatch.setattr(lv, "current_netns_name", lambda: "")
    links = {"virbr7": {"name": "virbr7", "kind": "bridge", "mtu": 1500},
             "br0": {"name": "br0", "kind": "bridge", "mtu": 1500,
                     "alias": "hypervisor.networking/vm_network name=br0 mac_table_manager=libvirt"},
             "br1": {"name": "br1", "kind": "bridge", "mtu": 1500}}
    snapshot = {"links": links, "addresses": {}, "routes": []}

    def learning(bridge):
        model = interface.from_config({"name": "t0", "kind": "tap", "bridge": bridge}, "config[0]", P())
        return interface.complete(model, snapshot).learning
    assert learning("virbr7") is False and learning("br0") is False and learning("br1") is True
    learning("virbr7")
    # libvirt is asked once per bridge and call, and never about a bridge with the kernel backend's mark
    assert asked == [("qemu:///system", "virbr7"), ("qemu:///system", "br1")]
    # inside a namespace, a local libvirtd's bridges are not there: libvirt is not asked
    monkeypatch.setattr(lv, "current_netns_name", lambda: "hvt-x")
    assert LibvirtNetworkResource.bridge_settings("virbr7", links) is None


def test_the_boot_restore_never_asks_libvirtd_about_a_bridge(monkeypatch):
    """The restore runs before libvirtd (its unit says so): connecting to libvirtd's socket there
    would start libvirtd, which waits for the restore, and the boot would hang."""
    from ansible_collections.hypervisor.networking.plugins.module_utils.entry import resource_for as rf
    from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems as P
    interface = rf("vm_interface")
    monkeypatch.setattr(lv, "current_netns_name", lambda: "")
    monkeypatch.setattr(lv, "active_bridge_settings", lambda uri, bridge: pytest.fail("libvirtd asked during the boot restore"))

    class FakeStore:
        def load(self, kind, key="name"):
            return {}

    class Stop(Exception):
        pass

    class FakeBackend:
        def read(self):
            return {"links": {"br1": {"name": "br1", "kind": "bridge", "mtu": 1500}}, "addresses": {}, "routes": []}

    learned = []

    def identify(model, snapshot):  # the engine's first use of the snapshot: complete() it as planning does, then stop
        learned.append(interface.complete(model, snapshot).learning)
        raise Stop()
    monkeypatch.setattr(persist, "Store", FakeStore)
    monkeypatch.setattr(interface, "identify", identify)
    model = interface.from_config({"name": "t0", "kind": "tap", "bridge": "br1"}, "config[0]", P())
    with pytest.raises(Stop):
        engine._converge_on_host(interface, FakeBackend(), {"boot_restore": True}, "replaced", [model], False)
    assert learned == [True]  # no running libvirt network before libvirtd: the kernel's default
    assert LibvirtNetworkResource.bridge_settings("br1", FakeBackend().read()["links"], boot_restore=True) is None


def test_a_name_saved_under_the_other_backend_is_refused(monkeypatch):
    import contextlib

    class FakeStore:
        def load(self, kind, key="name"):
            return {"lan": {"name": "lan"}}  # saved by the kernel backend (no backend key)

    class FakeLibvirt:
        def read(self):
            return {"networks": {}, "ports": {}, "live_updates": True, "allow_restart": False}

        def close(self):
            pass
    monkeypatch.setattr(persist, "Store", FakeStore)
    monkeypatch.setattr(engine, "ScopeLock", lambda scopes, timeout=None: contextlib.nullcontext())
    monkeypatch.setattr(LibvirtNetworkResource, "open_backend", lambda self, params: FakeLibvirt())
    params = {"state": "merged", "config": [{"name": "lan", "forward": {"mode": "nat"}}], "backend": "libvirt"}
    with pytest.raises(HvnetError, match=r"config\[0\]\.name: lan is saved as an object of backend kernel; remove it there first"):
        engine.converge(resource_for("vm_network", "libvirt"), params, check_mode=True)


def test_each_module_manages_only_the_networks_it_marked():
    """sriov_pool's hostdev networks and vm_network's live in one libvirtd: neither takes the other's."""
    from ansible_collections.hypervisor.networking.plugins.module_utils.resource.sriov import PoolNetworkResource  # pylint: disable=import-outside-toplevel
    pool_xml = lv.network_xml(lv.m.VmNetwork(name="p", forward=lv.m.Forward(mode="hostdev", pf="eth0")), owner="sriov_pool")
    snapshot = {"networks": {"p": {"xml": pool_xml, "owned": lvbackend.owned(pool_xml), "active": False, "autostart": True}}}
    assert lvbackend.owned(pool_xml) == {"module": "sriov_pool"}
    vm_network, pools = LibvirtNetworkResource(), PoolNetworkResource()
    assert vm_network.current(snapshot, {}, {"p"}) == {} and list(pools.current(snapshot, {}, ())) == ["p"]
    assert vm_network.conflict(snapshot, lv.m.VmNetwork(name="p"), True) == \
        "libvirt network p belongs to module sriov_pool of this collection; change it there"
    assert pools.conflict(snapshot, lv.m.VmNetwork(name="p"), False) is None


def test_sriov_pool_locks_libvirt_only_for_a_pool_with_a_network(monkeypatch):
    from ansible_collections.hypervisor.networking.plugins.module_utils.resource.sriov import SriovPoolResource  # pylint: disable=import-outside-toplevel

    class FakeStore:
        saved = {}

        def load(self, kind, key="name"):
            return self.saved
    monkeypatch.setattr(persist, "Store", FakeStore)
    pools = SriovPoolResource()
    assert "libvirt" not in [scope.kind for scope in pools.lock_scopes({"config": [{"pf": "eth0", "num_vfs": 2}]})]
    assert [scope.kind for scope in pools.lock_scopes({"config": [{"pf": "eth0", "libvirt_network": "p"}], "uri": "qemu:///system"})][-1] == "libvirt"
    FakeStore.saved = {"0000:01:00.0": {"pci_address": "0000:01:00.0", "libvirt_network": "p"}}
    assert "libvirt" in [scope.kind for scope in pools.lock_scopes({"state": "deleted", "config": []})], "a saved pool's network goes with it"
    assert "libvirt" not in [scope.kind for scope in pools.lock_scopes({"config": [], "boot_restore": True})]
