# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""hugepages and pci_driver: host settings that live in sysfs (backend/sysfs.py).

Each change is one action with its undo (the old pool size; the old driver_override and
driver), so the engine's rollback and its read-back verification apply as for links and
OVSDB rows. The kernel may do less than asked (a pool it cannot fill, a driver that does not
take the device): the action reads back and fails, which rolls the call back.
"""

from __future__ import annotations

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import sysfs
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError, HvnetError, ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.lock import sysfs_scope
from ansible_collections.hypervisor.networking.plugins.module_utils.model import sysfs as m
from ansible_collections.hypervisor.networking.plugins.module_utils.plan import describe
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.base import Resource


class SysfsResource(Resource):
    @staticmethod
    def empty_snapshot():
        return {"hugepages": {}, "pci": {}, "drivers": [], "uppers": {}, "protected_interfaces": []}

    def parse_running_config(self, text):
        raise ValidationError(["state: parsed is not supported by %s (sysfs has no text form to parse); use gathered" % self.kind])

    def lock_scopes(self, params):
        """Its namespace (saved state) and the sysfs tree, which runs in every namespace of the machine share."""
        return super().lock_scopes(params) + [sysfs_scope(params.get("sysfs_root"))]

    def open_backend(self, params):
        return SysfsBackend(params.get("sysfs_root"), params.get("protected_interfaces"))


class SysfsBackend(sysfs.Sysfs):
    """The sysfs backend plus what the call protects (management interfaces), carried in the snapshot."""

    def __init__(self, root=None, protected_interfaces=None):
        super().__init__(root)
        self.protected_interfaces = list(protected_interfaces or [])

    def read(self):
        snapshot = super().read()
        snapshot["protected_interfaces"] = self.protected_interfaces
        return snapshot


# ---- hugepages -------------------------------------------------------------------------------
class HugepagesResource(SysfsResource):
    kind = "hugepages"
    name_field = "size"
    conflict_field = "size"

    from_config = staticmethod(m.pool_from_config)
    defaults = staticmethod(m.pool_defaults)

    def current(self, snapshot, saved, adopt=()):
        return {m.size_text(kb): m.HugepagePool(size=m.size_text(kb), count=pool["nr"])
                for kb, pool in snapshot["hugepages"].items()}

    def check_host(self, desired, snapshot, problems, warnings, check_mode, paths):
        path_of = {name: path for path, name in paths}
        for name, model in desired.items():
            path = path_of.get(name, name)
            if model.count is None:
                problems.add(path + ".count", "is required: the number of pages of this size")
            if model.size_kb not in snapshot["hugepages"]:
                offered = ", ".join(m.size_text(kb) for kb in sorted(snapshot["hugepages"])) or "none"
                problems.add(path + ".size", "%s hugepages are not available on this host (no %s/hugepages-%s; pools here: %s)"
                             % (model.size, sysfs.HUGEPAGES_DIR, model.size, offered))

    def plan_object(self, plan, backend, current, desired, snapshot):
        have = snapshot["hugepages"][desired.size_kb]["nr"]
        if have == desired.count:
            return
        size_kb, want = desired.size_kb, desired.count

        def apply():
            got = backend.set_hugepages(size_kb, want)
            if got != want:
                raise HostError("the kernel holds %s %s hugepages after %d were requested (was %s): not enough free, contiguous "
                                "memory. Free memory or lower the count; 1 GiB pages can only be reserved reliably at boot "
                                "(hugepagesz=1G hugepages=N on the kernel command line)" % (got, desired.size, want, have))

        plan.add("%s/hugepages-%s/nr_hugepages: %s -> %d" % (sysfs.HUGEPAGES_DIR, desired.size, have, want),
                 *self_undoing(apply, lambda: backend.set_hugepages(size_kb, have)))

    def plan_removal(self, plan, backend, current, snapshot):
        raise HvnetError("config: a hugepage pool cannot be deleted (%s always exists); set its count to 0 instead" % current.size)

    def render(self, model, params, path, problems):
        return {"size": model.size, "config": self.to_config(model),
                "commands": ["%s/hugepages-%s/nr_hugepages: %s" % (sysfs.HUGEPAGES_DIR, model.size, model.count)]}


# ---- PCI driver binding ----------------------------------------------------------------------
class PciDriverResource(SysfsResource):
    """Devices bound to a driver through driver_override. Ownership is the saved state: the
    devices this module bound (or adopted) are the ones deleted and overridden give back."""

    kind = "pci_driver"
    name_field = "address"
    conflict_field = "address"

    from_config = staticmethod(m.binding_from_config)
    defaults = staticmethod(m.binding_defaults)

    def current(self, snapshot, saved, adopt=()):
        result = {}
        for address in set(saved) | set(adopt):
            device = snapshot["pci"].get(address)
            if device and device["driver_override"]:
                result[address] = m.PciDriver(address=address, driver=device["driver_override"])
        return result

    def conflict(self, snapshot, model, adopt):
        device = snapshot["pci"].get(model.address)
        if device is None:
            return "there is no PCI device %s on this host (%s/%s)" % (model.address, sysfs.PCI_DEVICES, model.address)
        override = device["driver_override"]
        if override and override != model.driver and not adopt:
            return ("the driver_override of %s is %s, set outside this collection; set adopt: true to take the device over"
                    % (model.address, override))
        return None

    def check_host(self, desired, snapshot, problems, warnings, check_mode, paths):
        path_of = {name: path for path, name in paths}
        protected = set(snapshot.get("protected_interfaces") or [])
        for name, model in desired.items():
            path = path_of.get(name, name)
            if model.driver is None:
                problems.add(path + ".driver", "is required: the driver to bind the device to, such as vfio-pci")
                continue
            if model.driver not in snapshot["drivers"]:
                hint = (" (modprobe vfio-pci; it needs an IOMMU: intel_iommu=on or amd_iommu=on)" if model.driver == "vfio-pci"
                        else " (load its kernel module)")
                problems.add(path + ".driver", "%s is not loaded on this host (no %s/%s)%s"
                             % (model.driver, sysfs.PCI_DRIVERS, model.driver, hint))
            device = snapshot["pci"].get(model.address) or {}
            chain = sysfs.upper_chain(snapshot, device.get("netdevs") or [])
            taken = [netdev for netdev in chain if netdev in protected]
            if taken:
                problems.add(path + ".address", "%s carries the management interface %s (its devices and their masters: %s); "
                             "binding it to %s would cut the host off"
                             % (model.address, ", ".join(taken), " -> ".join(chain), model.driver))

    def plan_object(self, plan, backend, current, desired, snapshot):
        device = snapshot["pci"][desired.address]
        if device["driver_override"] == desired.driver and device["driver"] == desired.driver:
            return
        address, want = desired.address, desired.driver
        old_override, old_driver = device["driver_override"], device["driver"]
        plan.add(_bind_text(address, want, old_driver),
                 *self_undoing(lambda: backend.bind(address, want, want), lambda: backend.bind(address, old_override, old_driver)))

    def plan_removal(self, plan, backend, current, snapshot):
        device = snapshot["pci"][current.address]
        address, old_override, old_driver = current.address, device["driver_override"], device["driver"]
        plan.add("give %s back to its kernel driver (clear driver_override%s; drivers_probe)"
                 % (address, "; unbind from %s" % old_driver if old_driver else ""),
                 *self_undoing(lambda: backend.bind(address, None, sysfs.KERNEL_DRIVER),
                               lambda: backend.bind(address, old_override, old_driver)))

    def render(self, model, params, path, problems):
        return {"address": model.address, "config": self.to_config(model),
                "commands": [_bind_text(model.address, model.driver, None)]}


def self_undoing(do, undo):
    """(do, undo) where a `do` that fails half-way first undoes its own earlier writes.

    A sysfs action is several writes (driver_override, unbind, probe) or a write the kernel
    may honour only in part (a pool it cannot fill); the plan's rollback undoes only the
    actions that completed, so a failing action cleans up after itself.
    """
    def run():
        try:
            do()
        except Exception as exc:  # whatever failed, the partial writes must go
            try:
                undo()
            except Exception as undo_exc:  # pylint: disable=broad-exception-caught
                raise HvnetError("%s; undoing its partial effect failed too: %s" % (describe(exc), describe(undo_exc))) from exc
            raise

    return run, undo


def _bind_text(address, driver, old_driver):
    steps = ["driver_override %s" % driver]
    if old_driver and old_driver != driver:
        steps.append("unbind from %s" % old_driver)
    steps.append("drivers_probe")
    return "bind %s to %s (%s)" % (address, driver, "; ".join(steps))
