# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sriov_pool: a PF's VFs (backend/sriov.py: sysfs count and binding, netlink attributes, devlink).

A plan for one PF, in order: the udev rule that keeps NetworkManager off the VFs, the count
(through 0 when it changes between two non-zero counts, or when the eswitch mode changes with
VFs), the eswitch mode, then per VF its driver binding and its attributes. Each step is an action
with its undo; a new count's undo is the old count, which also takes the new VFs' settings with it.
Last, the pool's libvirt hostdev network (libvirt_network), planned by vm_network's libvirt
resource in the same plan: check mode, diff, lock and rollback cover the VFs and the network alike.
"""

from __future__ import annotations

import dataclasses

from ansible_collections.hypervisor.networking.plugins.module_utils import persist
from ansible_collections.hypervisor.networking.plugins.module_utils.backend import sriov as backend_sriov
from ansible_collections.hypervisor.networking.plugins.module_utils.backend import sysfs
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.libvirt import DEFAULT_URI, LibvirtHost
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError, ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.lock import libvirt_scope
from ansible_collections.hypervisor.networking.plugins.module_utils.model import network as network_model
from ansible_collections.hypervisor.networking.plugins.module_utils.model import sriov as m
from ansible_collections.hypervisor.networking.plugins.module_utils.model.base import overlay, to_config
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.libvirt_network import LibvirtNetworkResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.sysfs import SysfsResource, self_undoing

# What a VF has when the kernel creates it (drivers start VFs with spoof checking on, untrusted, no VLAN, no rates)
FRESH_VF = {"vlan": 0, "qos": 0, "vlan_proto": "802.1Q", "spoofchk": True, "trust": False, "min_tx_rate": 0, "max_tx_rate": 0,
            "link_state": "auto"}
VF_KEYS = m.ATTRIBUTES + ("mac",)
VFIO = "vfio-pci"
DEFAULT_TIMEOUT = 60  # seconds for the VFs to appear (the module's option timeout)
UNSET_MAC = "00:00:00:00:00:00"  # a VF without a MAC of its own reports all zeros


class PoolNetworkResource(LibvirtNetworkResource):
    """vm_network's libvirt resource for the hostdev networks of SR-IOV pools: the same model,
    XML and plan, with sriov_pool's mark, so that vm_network never takes these for its own."""
    owner = "sriov_pool"


class SriovPoolResource(SysfsResource):
    kind = "sriov_pool"
    name_field = "pci_address"
    conflict_field = "num_vfs"
    deleted_fields = ("pf", "pci_address", "allow_vf_reset")

    from_config = staticmethod(m.pool_from_config)
    defaults = staticmethod(m.pool_defaults)
    networks = PoolNetworkResource()

    @staticmethod
    def empty_snapshot():
        return {"hugepages": {}, "pci": {}, "drivers": [], "uppers": {}, "sriov": {}, "addresses": {}, "nm_running": False,
                "udev_rules": {}, "libvirt": None}

    def lock_scopes(self, params):
        scopes = super().lock_scopes(params)
        if _names_libvirt_network(params, self.kind, self.name_field):
            scopes.append(libvirt_scope(params.get("uri") or DEFAULT_URI))
        return scopes

    def open_backend(self, params):
        timeout = params.get("timeout")
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
            raise ValidationError(["timeout: must be a whole number of seconds, 1 or more (got %r)" % (timeout,)])
        # never at boot: libvirtd may not run yet, and asking its socket could start it before the network
        backend = backend_sriov.SriovBackend(params.get("sysfs_root"), timeout=timeout, uri=params.get("uri"),
                                             ask_libvirt=not params.get("boot_restore"))
        if _names_libvirt_network(params, self.kind, self.name_field):
            try:  # the binding only when a pool names a network: hosts without libvirt keep their VFs
                backend.libvirt = LibvirtHost(params.get("uri") or DEFAULT_URI)
            except HostError:
                backend.close()
                raise
        return backend

    def to_config(self, model):
        """The config item: allow_vf_reset is a permission of one call, and the kernel driver the default (neither saved)."""
        model = dataclasses.replace(model, allow_vf_reset=None, driver=None if model.driver == m.KERNEL_DRIVER else model.driver)
        return to_config(model)

    @staticmethod
    def boot_item(item):
        """The PF by its PCI address (the saved key) alone: the early restore may run before udev
        has given the PF its saved interface name."""
        return {key: value for key, value in item.items() if key != "pf"}

    def check_desired(self, problems, path, model):
        m.check_pool(problems, path, model)

    # ---- host ------------------------------------------------------------------------------
    def identify(self, model, snapshot):
        if model.pci_address is None and model.pf is not None:
            for address, device in snapshot["pci"].items():
                if model.pf in device["netdevs"]:
                    return dataclasses.replace(model, pci_address=address)
        return model

    def current(self, snapshot, saved, adopt=()):
        """The pools this module manages: the saved configuration (each VF's real state is in
        host_facts and is what plans compare with), with the count, names and eswitch mode of the host."""
        result = {}
        for address in set(saved) | set(adopt):
            device = snapshot["pci"].get(address)
            if not device or device["sriov"] is None:
                continue
            pool = m.pool_from_config(saved[address], "saved", Problems()) if address in saved else m.SriovPool()
            pf = snapshot["sriov"][address]
            result[address] = dataclasses.replace(
                pool, pf=pf["netdev"] if pool.pf or address not in saved else None, pci_address=address,
                num_vfs=device["sriov"]["numvfs"], eswitch_mode=pf["eswitch_mode"] if pool.eswitch_mode else None)
        return result

    def complete(self, model, snapshot):
        return m.coalesce(model)

    def conflict(self, snapshot, model, adopt):
        device = snapshot["pci"].get(model.pci_address or "")
        if device is None or device["sriov"] is None or not device["sriov"]["numvfs"] or adopt:
            return None  # absent or without SR-IOV: check_host says so, with the field
        return ("%s has %d VFs created outside this collection; set adopt: true to take them over"
                % (_label(model.pci_address, snapshot), device["sriov"]["numvfs"]))

    def check_host(self, desired, snapshot, problems, warnings, check_mode, paths):
        first_path, network_path = {}, {}
        for path, name in paths:
            if name in first_path and name in desired:
                problems.add(path, "names the same PF as %s (%s)" % (first_path[name], name))
            first_path.setdefault(name, path)
            network = desired[name].libvirt_network if name in desired else None
            if network in network_path:
                problems.add(path + ".libvirt_network", "%s is also the network of %s; each pool has its own" % (network, network_path[network]))
            if network is not None:
                network_path.setdefault(network, path)
        for name, model in desired.items():
            path = first_path.get(name, name)
            device = snapshot["pci"].get(model.pci_address or "")
            if model.pci_address is None:
                problems.add(path + ".pf", "there is no network interface %s on this host (%s/class/net)" % (model.pf, sysfs.DEFAULT_ROOT))
                continue
            if device is None:
                problems.add(path + ".pci_address", "there is no PCI device %s on this host (%s/%s)"
                             % (model.pci_address, sysfs.PCI_DEVICES, model.pci_address))
                continue
            if model.pf is not None and model.pf not in device["netdevs"]:
                problems.add(path + ".pf", "%s is not the interface of %s (its interfaces: %s)"
                             % (model.pf, model.pci_address, ", ".join(device["netdevs"]) or "none"))
            sriov = device["sriov"]
            if sriov is None:
                problems.add(path + (".pf" if model.pf else ".pci_address"), "%s does not support SR-IOV (no sriov_totalvfs)"
                             % _label(model.pci_address, snapshot))
                continue
            if model.num_vfs is not None and model.num_vfs > sriov["total"]:
                problems.add(path + ".num_vfs", "%d is above the %d VFs %s supports (sriov_totalvfs)"
                             % (model.num_vfs, sriov["total"], _label(model.pci_address, snapshot)))
            self._check_drivers(problems, path, model, snapshot)
            pf = snapshot["sriov"][model.pci_address]
            if model.eswitch_mode is not None and pf["eswitch_mode"] is None:
                problems.add(path + ".eswitch_mode", "the eswitch mode of %s cannot be read (no devlink program, or the NIC has no "
                             "eswitch)" % _label(model.pci_address, snapshot))
            changing = sorted(index for index, change in enumerate(_vf_changes(model, snapshot)) if change[-1])
            if pf["netdev"] is None and changing:
                problems.add(path, "%s has no network interface, and the attributes of VF %s are set through it (is the PF "
                             "bound to its own driver?)" % (model.pci_address, ", ".join(str(index) for index in changing)))
            self._check_reset(problems, path, model, snapshot)
            if model.libvirt_network is not None:
                self._check_network(problems, path, model, snapshot)

    def _check_network(self, problems, path, model, snapshot):
        field = path + ".libvirt_network"
        if snapshot["libvirt"] is None:  # the boot-time restore: libvirtd keeps and autostarts the network itself
            return
        if not model.num_vfs:
            problems.add(field, "a hostdev network needs VFs: set num_vfs above 0 (libvirt refuses to start a pool without VFs)")
            return
        # never an unmarked network, nor one of vm_network (adopt is about VFs, not about networks)
        conflict = self.networks.conflict(snapshot["libvirt"], network_model.VmNetwork(name=model.libvirt_network), False)
        if conflict:
            problems.add(field, conflict)

    @staticmethod
    def _check_drivers(problems, path, model, snapshot):
        reported = set()
        for values, sources in m.resolve(model):
            driver = values["driver"]
            field = path + sources["driver"] + ".driver"
            if driver not in (None, m.KERNEL_DRIVER) and driver not in snapshot["drivers"] and field not in reported:
                reported.add(field)
                hint = " (modprobe vfio-pci; it needs an IOMMU: intel_iommu=on or amd_iommu=on)" if driver == VFIO else ""
                problems.add(field, "%s is not loaded on this host (no %s/%s)%s" % (driver, sysfs.PCI_DRIVERS, driver, hint))

    def _check_reset(self, problems, path, model, snapshot):
        have = snapshot["pci"][model.pci_address]["sriov"]["numvfs"]
        want = have if model.num_vfs is None else model.num_vfs
        if not have or model.allow_vf_reset or not _recreates(model, snapshot):
            return
        in_use = vfs_in_use(model.pci_address, snapshot)
        if want and want != have:
            why = "changing %d VFs to %d goes through 0" % (have, want)
        elif want:
            why = "changing the eswitch mode to %s sets the VF count to 0 first" % model.eswitch_mode
        elif in_use:
            why = "num_vfs 0"
        else:
            return  # removing VFs nobody uses needs no permission
        problems.add(path + ".num_vfs", "%s, which removes every VF of %s and pulls it out of any VM using it; set "
                     "allow_vf_reset: true to allow it. %s" % (why, _label(model.pci_address, snapshot), _in_use_text(in_use)))

    def check_removals(self, removals, snapshot, problems):
        for (path, listed), current in removals:
            in_use = vfs_in_use(current.pci_address, snapshot)
            if in_use and not (listed is not None and listed.allow_vf_reset):
                problems.add(path or "config", "removing the VFs of %s pulls them out of the VMs using them; list it with "
                             "allow_vf_reset: true to allow it. %s" % (_label(current.pci_address, snapshot), _in_use_text(in_use)))

    # ---- planning --------------------------------------------------------------------------
    def plan_object(self, plan, backend, current, desired, snapshot):
        address = desired.pci_address
        sriov = snapshot["pci"][address]["sriov"]
        pf = snapshot["sriov"][address]
        label = _label(address, snapshot)
        have, want = sriov["numvfs"], desired.num_vfs
        old_mode = pf["eswitch_mode"]
        recreate = _recreates(desired, snapshot)
        vf_addresses = _new_vf_addresses(address, sriov, want) if recreate else sriov["vfs"]
        self._plan_udev_rule(plan, backend, address, label, vf_addresses if want else [], snapshot)
        if recreate and have:
            old_vfs = _old_vfs(address, snapshot)
            plan.add("%s: sriov_numvfs %d -> 0 (removes every VF)" % (label, have),
                     *self_undoing(lambda: backend.set_numvfs(address, 0, backend.timeout),
                                   lambda: _give_back(backend, address, pf["netdev"], old_vfs)))
        if desired.eswitch_mode is not None and desired.eswitch_mode != old_mode:
            mode = desired.eswitch_mode
            plan.add("%s: devlink eswitch mode %s -> %s" % (label, old_mode, mode),
                     lambda: backend.set_eswitch_mode(address, mode), lambda: backend.set_eswitch_mode(address, old_mode))
        if recreate and want:
            plan.add("%s: sriov_numvfs 0 -> %d (wait at most %d s for the VFs)" % (label, want, backend.timeout),
                     *self_undoing(lambda: backend.set_numvfs(address, want, backend.timeout),
                                   lambda: backend.set_numvfs(address, 0, backend.timeout)))
        for index, (values, wanted, host, changing) in enumerate(_vf_changes(desired, snapshot)):
            vf = vf_addresses[index] if index < len(vf_addresses) else None
            self._plan_vf_driver(plan, backend, label, index, vf, values["driver"], None if recreate else snapshot["pci"].get(vf))
            if changing:
                if pf["netdev"] is None:  # check_host refuses this before any change; the verification re-plan gets here
                    raise HostError("%s has no network interface to set VF attributes through" % label)
                self._plan_vf_attributes(plan, backend, label, pf["netdev"], index, changing, wanted, host, recreate)
        self._plan_network(plan, backend, current, desired, snapshot)

    def network_of(self, model, snapshot):
        """The pool's hostdev network as vm_network's model, completed as vm_network completes it:
        libvirt's pool of the PF's netdev (libvirt lists its VFs when the network starts, whatever
        their count), or of the VFs' PCI addresses when the PF has no netdev (its own driver is not bound)."""
        address = model.pci_address
        netdev = snapshot["sriov"][address]["netdev"]
        forward = {"mode": "hostdev", "managed": True}
        if netdev:
            forward["pf"] = netdev
        else:
            sriov = snapshot["pci"][address]["sriov"]
            forward["addresses"] = _new_vf_addresses(address, sriov, model.num_vfs) if _recreates(model, snapshot) else list(sriov["vfs"])
        problems = Problems()
        item = network_model.from_config({"name": model.libvirt_network, "forward": forward}, "libvirt_network", problems)
        problems.raise_if_any()
        return self.networks.complete(overlay(self.networks.defaults(item), item), snapshot["libvirt"])

    def _plan_network(self, plan, backend, current, desired, snapshot):
        if snapshot["libvirt"] is None:
            return
        old = current.libvirt_network if current is not None else None
        if old is not None and old != desired.libvirt_network:
            self._plan_network_removal(plan, backend, old, snapshot)
        if desired.libvirt_network is not None:
            self.networks.plan_object(plan, backend.libvirt, None, self.network_of(desired, snapshot), snapshot["libvirt"])

    def _plan_network_removal(self, plan, backend, name, snapshot):
        net = snapshot["libvirt"]["networks"].get(name) if snapshot["libvirt"] is not None else None
        if net is not None and net["owned"] is not None and self.networks.owns(net):  # never one we did not make
            self.networks.plan_removal(plan, backend.libvirt, network_model.VmNetwork(name=name), snapshot["libvirt"])

    @staticmethod
    def _plan_udev_rule(plan, backend, address, label, vf_addresses, snapshot):
        old = snapshot["udev_rules"].get(address)
        # a rule written while NetworkManager ran stays while it is not running: the early boot-time
        # restore runs before NetworkManager starts, and the rule must be there when it does
        keep_nm_off = snapshot["nm_running"] or old is not None
        text = backend_sriov.udev_rule(address, vf_addresses) if vf_addresses and keep_nm_off else None
        if text == old or (text is None and old is None):
            return
        path = backend_sriov.udev_rule_path(backend.udev_rules_dir, address)
        plan.add(("%s: udev rule %s keeps NetworkManager off its %d VFs" % (label, path, len(vf_addresses))) if text
                 else "%s: remove udev rule %s" % (label, path),
                 lambda: backend.write_udev_rule(address, text), lambda: backend.write_udev_rule(address, old))

    @staticmethod
    def _plan_vf_driver(plan, backend, label, index, vf, driver, device):
        """Bind VF `index` to `driver` (KERNEL_DRIVER: its own); `device` is its sysfs entry, None for a VF this call creates."""
        if driver is None or vf is None:
            return
        override = None if driver == m.KERNEL_DRIVER else driver
        target = sysfs.KERNEL_DRIVER if driver == m.KERNEL_DRIVER else driver
        if device is None:
            if override is None:
                return  # a new VF probes its own driver
            plan.add("%s VF %d (%s): driver %s (driver_override %s; drivers_probe)" % (label, index, vf, driver, driver),
                     lambda: backend.bind(vf, override, target), lambda: None)  # the count's undo removes the VF
            return
        # without an override, whatever the kernel's probe chose is the VF's own driver, also none
        # (its driver blacklisted, or sriov_drivers_autoprobe off): probing again changes nothing
        if device["driver_override"] == override and (device["driver"] == driver or override is None):
            return
        old_override, old_driver = device["driver_override"], device["driver"]
        plan.add("%s VF %d (%s): driver %s -> %s" % (label, index, vf, old_driver or "none", "its own" if override is None else driver),
                 *self_undoing(lambda: backend.bind(vf, override, target), lambda: backend.bind(vf, old_override, old_driver)))

    @staticmethod
    def _plan_vf_attributes(plan, backend, label, netdev, index, changing, wanted, host, recreate):
        shown = ", ".join("%s %s" % (key, _shown_value(value)) for key, value in sorted(changing.items()))
        old = {key: host[key] for key in wanted if key in host}

        def undo():
            if not recreate and old:
                backend.set_vf_attributes(netdev, index, old)

        plan.add("%s VF %d: %s" % (label, index, shown), *self_undoing(lambda: backend.set_vf_attributes(netdev, index, wanted), undo))

    def plan_removal(self, plan, backend, current, snapshot):
        address = current.pci_address
        have = snapshot["pci"][address]["sriov"]["numvfs"]
        label = _label(address, snapshot)
        if current.libvirt_network is not None:  # first the network that hands the VFs out
            self._plan_network_removal(plan, backend, current.libvirt_network, snapshot)
        self._plan_udev_rule(plan, backend, address, label, [], snapshot)
        if have:
            old_vfs, pf_netdev = _old_vfs(address, snapshot), snapshot["sriov"][address]["netdev"]
            plan.add("%s: sriov_numvfs %d -> 0 (removes every VF)" % (label, have),
                     *self_undoing(lambda: backend.set_numvfs(address, 0, backend.timeout),
                                   lambda: _give_back(backend, address, pf_netdev, old_vfs)))

    # ---- reporting -------------------------------------------------------------------------
    def host_facts(self, model, snapshot):
        address = model.pci_address
        device = snapshot["pci"].get(address or "")
        if device is None or device["sriov"] is None or model.num_vfs is None:
            return {}
        recreate = _recreates(model, snapshot)
        addresses = _new_vf_addresses(address, device["sriov"], model.num_vfs) if recreate else device["sriov"]["vfs"]
        vfs = []
        for index, (values, _driver) in enumerate(m.resolve(model)):
            vf = addresses[index] if index < len(addresses) else None
            state = dict(FRESH_VF) if recreate else dict(_vf_state(snapshot["sriov"][address], index))
            state.update(_wanted(values))
            entry = {"index": index, "pci_address": vf}
            entry.update({key: state[key] for key in VF_KEYS if key in state and state[key] != UNSET_MAC})
            vf_device = None if recreate else snapshot["pci"].get(vf)
            driver = values["driver"]
            if driver in (None, m.KERNEL_DRIVER):
                driver = vf_device["driver"] if vf_device and not (driver and vf_device["driver_override"]) else driver
            entry["driver"] = "its own" if driver == m.KERNEL_DRIVER else driver
            vfs.append(entry)
        facts = {"total_vfs": device["sriov"]["total"], "vfs": vfs}
        mode = model.eswitch_mode or snapshot["sriov"][address]["eswitch_mode"]
        if mode:
            facts["eswitch_mode"] = mode
        if model.libvirt_network is not None and snapshot["libvirt"] is not None:
            facts["libvirt_network"] = self.networks.host_facts(self.network_of(model, snapshot), snapshot["libvirt"])
        return facts

    def gather(self, snapshot, current):
        items = []
        for address in sorted(snapshot["sriov"]):
            device = snapshot["pci"][address]
            pf = snapshot["sriov"][address]
            item = {"pci_address": address, "num_vfs": device["sriov"]["numvfs"]}
            if pf["netdev"]:
                item["pf"] = pf["netdev"]
            if pf["eswitch_mode"]:
                item["eswitch_mode"] = pf["eswitch_mode"]
            vfs, host_vfs = [], []
            for index, vf in enumerate(device["sriov"]["vfs"]):
                vf_device = snapshot["pci"].get(vf) or {}
                entry = {"index": index}
                entry.update({key: value for key, value in _vf_state(pf, index).items() if key in VF_KEYS and value != UNSET_MAC})
                if vf_device.get("driver"):
                    entry["driver"] = vf_device["driver"]
                vfs.append(entry)
                host_vfs.append({"index": index, "pci_address": vf, "netdev": (vf_device.get("netdevs") or [None])[0]})
            item["vfs"] = vfs
            item["host"] = {"owned": address in current, "total_vfs": device["sriov"]["total"], "vfs": host_vfs}
            items.append(item)
        return items

    def render(self, model, params, path, problems):
        commands = ["%s: sriov_numvfs %d" % (model.name, model.num_vfs)]
        if model.eswitch_mode:
            commands.append("%s: devlink eswitch mode %s" % (model.name, model.eswitch_mode))
        vfs = []
        for index, (values, _driver) in enumerate(m.resolve(model)):
            driver = "its own" if values["driver"] == m.KERNEL_DRIVER else values["driver"]
            entry = dict({"index": index, "driver": driver}, **_wanted(values))
            vfs.append(entry)
            if values["driver"] not in (None, m.KERNEL_DRIVER):
                commands.append("%s VF %d: driver %s (driver_override %s; drivers_probe)" % (model.name, index, driver, driver))
            wanted = ", ".join("%s %s" % (key, _shown_value(value)) for key, value in sorted(_wanted(values).items()))
            commands.append("%s VF %d: %s" % (model.name, index, wanted))
        return {"pci_address": model.name, "config": self.to_config(model), "vfs": vfs, "commands": commands}


def _names_libvirt_network(params, kind, name_field):
    """Whether this call may define or remove a pool's libvirt network: an item names one, or a
    saved pool has one. Never in the boot-time restore: libvirtd keeps and autostarts its
    networks itself, and may not run yet."""
    if params.get("boot_restore"):
        return False
    if any(isinstance(item, dict) and item.get("libvirt_network") for item in params.get("config") or []):
        return True
    return any(item.get("libvirt_network") for item in persist.Store().load(kind, name_field).values())


def vfs_in_use(pf_address, snapshot):
    """[(index, VF address, why)] of the PF's VFs a VM or the host is using: bound to vfio-pci,
    holding an address, or passed through by a running libvirt domain (when libvirtd answered)."""
    in_use = []
    for index, vf in enumerate(snapshot["pci"][pf_address]["sriov"]["vfs"]):
        device = snapshot["pci"].get(vf) or {}
        why = ["bound to vfio-pci"] if device.get("driver") == VFIO else []
        why += ["%s holds %s" % (netdev, ", ".join(snapshot["addresses"][netdev]))
                for netdev in device.get("netdevs") or [] if snapshot["addresses"].get(netdev)]
        domains = snapshot.get("domains", {}).get(vf)
        if domains:
            why.append("in the running libvirt domain%s %s" % ("s" if len(domains) > 1 else "", ", ".join(domains)))
        if why:
            in_use.append((index, vf, ", ".join(why)))
    return in_use


def _in_use_text(in_use):
    if not in_use:
        return "No VF is in use now (none bound to vfio-pci, holding an address or in a running libvirt domain)."
    return "VFs in use: %s." % "; ".join("VF %d (%s) %s" % entry for entry in in_use)


def _recreates(model, snapshot):
    """Whether the plan sets the count (through 0 when VFs exist): a new count, or a new eswitch mode while VFs exist."""
    sriov = snapshot["pci"][model.pci_address]["sriov"]
    want = sriov["numvfs"] if model.num_vfs is None else model.num_vfs
    mode = snapshot["sriov"][model.pci_address]["eswitch_mode"]
    return want != sriov["numvfs"] or (model.eswitch_mode is not None and model.eswitch_mode != mode and sriov["numvfs"] > 0)


def _vf_changes(model, snapshot):
    """Per VF of the pool as `model` wants it: (resolved values, wanted attributes, what the VF has,
    the attributes that change). A new VF has what the kernel gives it; so is taken a VF of a PF
    without a network interface, whose VF attributes cannot be read (check_host refuses others)."""
    recreate = _recreates(model, snapshot)
    pf = snapshot["sriov"][model.pci_address]
    count = snapshot["pci"][model.pci_address]["sriov"]["numvfs"] if model.num_vfs is None else model.num_vfs
    result = []
    for index, (values, _sources) in enumerate(m.resolve(model, count)):
        host = FRESH_VF if recreate or pf["netdev"] is None else _vf_state(pf, index)
        wanted = _wanted(values)
        result.append((values, wanted, host, {key: value for key, value in wanted.items() if host.get(key) != value}))
    return result


def _old_vfs(address, snapshot):
    """[(VF address, driver_override, driver, attributes)] of the PF's VFs as they are now."""
    pf = snapshot["sriov"][address]
    result = []
    for index, vf in enumerate(snapshot["pci"][address]["sriov"]["vfs"]):
        device = snapshot["pci"].get(vf) or {}
        attributes = {key: value for key, value in _vf_state(pf, index).items() if key in VF_KEYS and value != UNSET_MAC}
        result.append((vf, device.get("driver_override"), device.get("driver"), attributes))
    return result


def _give_back(backend, address, pf_netdev, old_vfs):
    """Undo of removing the VFs: the old count again, and, since the kernel makes the VFs afresh,
    each VF's driver binding and attributes (MAC, VLAN, trust, rates...) as they were."""
    backend.set_numvfs(address, len(old_vfs), backend.timeout)
    for index, (vf, override, driver, attributes) in enumerate(old_vfs):
        if override is not None or driver is None:  # a fresh VF has no override and its own driver
            backend.bind(vf, override, driver)
        if pf_netdev and attributes:
            backend.set_vf_attributes(pf_netdev, index, attributes)


def _new_vf_addresses(address, sriov, count):
    if sriov["offset"] is None or sriov["stride"] is None:
        raise HostError("%s has no sriov_offset/sriov_stride in sysfs; cannot tell its VFs' addresses" % address)
    return [backend_sriov.vf_address(address, sriov["offset"], sriov["stride"], index) for index in range(count)]


def _vf_state(pf, index):
    for vf in pf["vfs"]:
        if vf["index"] == index:
            return vf
    return {}


def _wanted(values):
    return {key: values[key] for key in VF_KEYS if values.get(key) is not None}


def _shown_value(value):
    if isinstance(value, bool):
        return "on" if value else "off"
    return value


def _label(address, snapshot):
    pf = snapshot["sriov"].get(address) or {}
    return "%s (%s)" % (address, pf["netdev"]) if pf.get("netdev") else address
