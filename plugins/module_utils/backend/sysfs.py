# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sysfs: hugepage pools and PCI driver binding, read once per call and written attribute by attribute.

Every write is one attribute file (no shell), relative to `root` (``/sys``; tests point it at an
emulated tree). Shared by the hugepages and pci_driver modules and meant for SR-IOV too
(``sriov_numvfs`` is one more attribute; driver binding of VFs is `bind`). A snapshot::

    {"hugepages": {size in kB: {"nr": int, "free": int}},
     "pci": {address: {"driver": str or None, "driver_override": str or None, "netdevs": [names],
                       "physfn": the PF's address for a VF, else None,
                       "sriov": None, or for a PF {"total": int, "numvfs": int, "offset": int, "stride": int,
                                                   "vfs": [VF addresses by index]}}},
     "drivers": [PCI driver names],
     "uppers": {netdev: [upper devices: bridge, bond, VLAN masters]}}
"""

from __future__ import annotations

import os
import re
import time

from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError, HvnetError
from ansible_collections.hypervisor.networking.plugins.module_utils.plan import describe

DEFAULT_ROOT = "/sys"
HUGEPAGES_DIR = "kernel/mm/hugepages"
PCI_DEVICES = "bus/pci/devices"
PCI_DRIVERS = "bus/pci/drivers"
IOMMU_GROUPS = "kernel/iommu_groups"
KERNEL_MODULES = "module"
IFF_UP = 0x1
KERNEL_DRIVER = "(kernel)"  # bind() target: whichever driver the kernel's own probe picks
_POOL_RE = re.compile(r"^hugepages-([0-9]+)kB$")


class SysfsError(HvnetError):
    pass


class Sysfs:
    def __init__(self, root=None):
        self.root = root or DEFAULT_ROOT

    def close(self):
        pass

    def path(self, relative):
        return os.path.join(self.root, relative)

    # ---- primitives ---------------------------------------------------------------------
    def read_text(self, relative):
        """The attribute's text without its newline, or None when it does not exist."""
        try:
            with open(self.path(relative)) as handle:
                return handle.read().strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SysfsError("cannot read %s: %s" % (relative, describe(exc))) from exc

    def write(self, relative, text):
        """Write one attribute; the kernel's refusal (EBUSY, ENODEV...) becomes the error text."""
        try:
            self.write_file(relative, text)
        except OSError as exc:
            raise SysfsError("writing '%s' to %s failed: %s" % (text.strip(), relative, describe(exc))) from exc

    def write_file(self, relative, text):
        """The one place that writes to sysfs (tests put an emulated kernel here)."""
        with open(self.path(relative), "w") as handle:
            handle.write(text)

    def _listdir(self, relative):
        try:
            return sorted(os.listdir(self.path(relative)))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise SysfsError("cannot list %s: %s" % (relative, describe(exc))) from exc

    # ---- reading --------------------------------------------------------------------------
    def read(self):
        if not os.path.isdir(self.root):
            raise HostError("sysfs is not mounted at %s (option sysfs_root)" % self.root)
        return {"hugepages": self.read_hugepages(), "pci": self.read_pci(), "drivers": self._listdir(PCI_DRIVERS),
                "uppers": self.read_uppers()}

    def read_hugepages(self):
        pools = {}
        for entry in self._listdir(HUGEPAGES_DIR):
            match = _POOL_RE.match(entry)
            if not match:
                continue
            base = "%s/%s/" % (HUGEPAGES_DIR, entry)
            pools[int(match.group(1))] = {"nr": _int(self.read_text(base + "nr_hugepages")),
                                          "free": _int(self.read_text(base + "free_hugepages"))}
        return pools

    def driver_of(self, address):
        link = self.path("%s/%s/driver" % (PCI_DEVICES, address))
        return os.path.basename(os.readlink(link)) if os.path.islink(link) else None

    def read_pci(self):
        devices = {}
        for address in self._listdir(PCI_DEVICES):
            override = self.read_text("%s/%s/driver_override" % (PCI_DEVICES, address))
            physfn = self.path("%s/%s/physfn" % (PCI_DEVICES, address))
            devices[address] = {
                "driver": self.driver_of(address),
                # the kernel shows an empty override as "(null)"
                "driver_override": override if override and override != "(null)" else None,
                "netdevs": self._listdir("%s/%s/net" % (PCI_DEVICES, address)),
                "physfn": os.path.basename(os.readlink(physfn)) if os.path.islink(physfn) else None,
                "sriov": self.read_sriov(address),
            }
        return devices

    def read_sriov(self, address):
        """The SR-IOV attributes of a PF, or None for a device without SR-IOV."""
        base = "%s/%s/" % (PCI_DEVICES, address)
        total = _int(self.read_text(base + "sriov_totalvfs"))
        if total is None:
            return None
        return {"total": total, "numvfs": _int(self.read_text(base + "sriov_numvfs")) or 0,
                "offset": _int(self.read_text(base + "sriov_offset")), "stride": _int(self.read_text(base + "sriov_stride")),
                "vfs": self.vf_addresses(address)}

    def vf_addresses(self, address):
        """The addresses of a PF's VFs in index order (its virtfnN links), up to the first missing one."""
        found = []
        while True:
            link = self.path("%s/%s/virtfn%d" % (PCI_DEVICES, address, len(found)))
            if not os.path.islink(link):
                return found
            found.append(os.path.basename(os.readlink(link)))

    def read_uppers(self):
        uppers = {}
        for name in self._listdir("class/net"):
            found = [entry[len("upper_"):] for entry in self._listdir("class/net/" + name) if entry.startswith("upper_")]
            if found:
                uppers[name] = found
        return uppers

    # ---- changing -------------------------------------------------------------------------
    def set_hugepages(self, size_kb, count):
        """Set a pool and read back what the kernel allocated (it may hold fewer pages than asked)."""
        relative = "%s/hugepages-%dkB/nr_hugepages" % (HUGEPAGES_DIR, size_kb)
        self.write(relative, "%d\n" % count)
        return _int(self.read_text(relative))

    def set_numvfs(self, address, count, timeout):
        """sriov_numvfs := count, then wait (at most `timeout` s) until every VF device is there.

        The kernel takes a change between two non-zero counts only through 0 (EBUSY); the caller
        plans that. Drivers create VFs at their own pace: 64 VFs may take 20 s and more.
        """
        self.write("%s/%s/sriov_numvfs" % (PCI_DEVICES, address), "%d\n" % count)
        started = time.monotonic()
        pause = 0.05
        while True:
            found = self.vf_addresses(address)
            present = [vf for vf in found if os.path.isdir(self.path("%s/%s" % (PCI_DEVICES, vf)))]
            if len(found) == count and len(present) == count:
                return found
            waited = time.monotonic() - started
            if waited >= timeout:
                raise SysfsError("%s has %d of %d VFs after waiting %.1f s (option timeout: %d s); some NICs need more time "
                                 "for many VFs, raise timeout" % (address, len(present), count, waited, timeout))
            time.sleep(min(pause, max(timeout - waited, 0.01)))
            pause = min(pause * 2, 1.0)

    def bind(self, address, override, driver):
        """driver_override := `override` (None clears it), then make the device end on `driver`.

        `driver` None leaves the device without a driver; KERNEL_DRIVER lets the kernel's probe pick
        (the device's own driver once the override is cleared). Steps that are already right are skipped.
        """
        base = "%s/%s/" % (PCI_DEVICES, address)
        self.write(base + "driver_override", (override or "") + "\n")
        current = self.driver_of(address)
        if current is not None and current != driver:
            self.write(base + "driver/unbind", address)
        if driver is not None and (driver == KERNEL_DRIVER or self.driver_of(address) != driver):
            self.write("bus/pci/drivers_probe", address)
        got = self.driver_of(address)
        if driver not in (None, KERNEL_DRIVER) and got != driver:
            raise SysfsError("%s is bound to %s after probing, not to %s (does %s support it? for vfio-pci the IOMMU must be on)"
                             % (address, got or "no driver", driver, driver))
        if driver is None and got is not None:
            raise SysfsError("%s is still bound to %s after unbinding" % (address, got))


class IommuReader(Sysfs):
    """What passthrough needs to know, read only: IOMMU groups, PCI devices and their netdevs, loaded modules.

    Snapshot::

        {"groups": {group: [addresses]},
         "pci": {address: {"driver", "class", "group", "netdevs": [names]}},
         "netdevs": {name: {"address": PCI address or None, "up": bool, "uppers": [names]}},
         "modules": [loaded kernel module names]}
    """

    def read(self):
        if not os.path.isdir(self.root):
            raise HostError("sysfs is not mounted at %s (option sysfs_root)" % self.root)
        groups = {group: self._listdir("%s/%s/devices" % (IOMMU_GROUPS, group)) for group in self._listdir(IOMMU_GROUPS)}
        pci = {}
        for address in self._listdir(PCI_DEVICES):
            base = "%s/%s/" % (PCI_DEVICES, address)
            pci[address] = {"driver": self.driver_of(address), "class": self.read_text(base + "class"),
                            "group": self._link_name(base + "iommu_group"), "netdevs": self._listdir(base + "net")}
        netdevs = {}
        for name in self._listdir("class/net"):
            base = "class/net/%s/" % name
            flags = self.read_text(base + "flags")
            netdevs[name] = {"address": self._link_name(base + "device"),
                             "up": bool(_int_base(flags, 16) & IFF_UP) if flags else False,
                             "uppers": [entry[len("upper_"):] for entry in self._listdir(base) if entry.startswith("upper_")]}
        return {"groups": groups, "pci": pci, "netdevs": netdevs, "modules": self._listdir(KERNEL_MODULES)}

    def _link_name(self, relative):
        link = self.path(relative)
        return os.path.basename(os.readlink(link)) if os.path.islink(link) else None


def _int_base(text, base):
    try:
        return int(text, base)
    except (TypeError, ValueError):
        return 0


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def upper_chain(snapshot, netdevs):
    """The netdevs and every device stacked on them, in the order found (recursively, each once)."""
    seen, todo = [], list(netdevs)
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.append(name)
        todo.extend(snapshot["uppers"].get(name, []))
    return seen
