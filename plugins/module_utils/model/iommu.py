# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IOMMU report of iommu_info: pure functions from what was read (sysfs, /proc, netlink) to a report.

A device can be given to a VM alone only when every other device of its IOMMU group is free:
bound to no driver, to vfio-pci or pci-stub, or a PCI bridge (the kernel lets bridges stay with
pcieport). A group member the host still uses (a NIC that is up, holds an address or sits under
a bridge or bond; any other device bound to its driver) is reported by name, with why.
"""

from __future__ import annotations

import re

from ansible_collections.hypervisor.networking.plugins.module_utils.model import fields as f
from ansible_collections.hypervisor.networking.plugins.module_utils.model.sysfs import _PCI_RE, check_pci_address

INTEL, AMD = "GenuineIntel", "AuthenticAMD"
# kernel command-line keys that say something about the IOMMU
IOMMU_ARG_KEYS = ("intel_iommu", "amd_iommu", "iommu", "iommu.passthrough", "iommu.strict")
FREE_DRIVERS = ("vfio-pci", "pci-stub")
BRIDGE_DRIVERS = ("pcieport",)
BRIDGE_CLASS = "0x0604"
DEFAULT_MODULES = ("vfio", "vfio_pci", "vfio_iommu_type1")
# what a kernel argument may hold: it is written into a GRUB file the shell sources
_KERNEL_ARG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.,:=+/-]*")
# a module name as modprobe takes it: ASCII, never an option (no leading '-'), below the kernel's MODULE_NAME_LEN (56)
_MODULE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,54}")


def recommended_kernel_args(vendor):
    """Intel's IOMMU is off unless asked; AMD's is on by default. iommu=pt: host devices skip translation."""
    if vendor == INTEL:
        return ["intel_iommu=on", "iommu=pt"]
    if vendor == AMD:
        return ["iommu=pt"]
    return []


def iommu_kernel_args(cmdline):
    return [arg for arg in cmdline if arg.partition("=")[0] in IOMMU_ARG_KEYS]


def check_devices(devices, modules, kernel_args=None):
    """Each device is a PCI address or an interface name -> [(given, kind, normalised)]; every problem at once."""
    problems = f.Problems()
    checked = []
    for index, value in enumerate(devices):
        path = "devices[%d]" % index
        if isinstance(value, str) and _PCI_RE.fullmatch(value):
            checked.append((value, "pci", check_pci_address(problems, path, value)))
        else:
            before = len(problems.items)
            name = f.check_ifname(problems, path, value)
            if len(problems.items) > before or name is None:
                problems.items[before:] = ["%s: %s is neither a PCI address (such as 0000:01:00.0) nor an interface name"
                                           % (path, f.quoted(value))]
                continue
            checked.append((value, "netdev", name))
    for index, value in enumerate(modules):
        if not isinstance(value, str) or not _MODULE_RE.fullmatch(value):
            problems.add("modules[%d]" % index, "%s is not a kernel module name (1 to 55 ASCII letters, digits, '_', '-', not starting"
                         " with '-')" % f.quoted(value))
    for index, value in enumerate(kernel_args or []):
        if not isinstance(value, str) or not _KERNEL_ARG_RE.fullmatch(value):
            problems.add("kernel_args[%d]" % index, "%s is not a kernel argument; allowed: letters, digits and '_.,:=+/-', "
                         "not starting with a punctuation mark (such as intel_iommu=on)" % f.quoted(value))
    problems.raise_if_any()
    return checked


def in_use_reasons(snapshot, address, addresses):
    """Why the host still uses a PCI device; [] when it is free to be given away."""
    device = snapshot["pci"].get(address, {})
    driver = device.get("driver")
    if driver is None or driver in FREE_DRIVERS + BRIDGE_DRIVERS or (device.get("class") or "").startswith(BRIDGE_CLASS):
        return []
    if not device.get("netdevs"):
        return ["bound to %s" % driver]
    reasons = []
    for name in device["netdevs"]:
        netdev = snapshot["netdevs"].get(name, {})
        if netdev.get("up"):
            reasons.append("%s is up" % name)
        if any(entry.get("scope") != "link" for entry in addresses.get(name, [])):
            reasons.append("%s has an address" % name)
        if netdev.get("uppers"):
            reasons.append("%s is under %s" % (name, ", ".join(netdev["uppers"])))
    return reasons


def report(sysfs_snapshot, kernel_snapshot, devices, modules, addresses, kernel_args=None):
    """The whole report; `devices` as check_devices returns them, `addresses` {netdev: [address dicts]},
    `kernel_args` the arguments wanted on the command line (None: those this CPU needs)."""
    groups = sysfs_snapshot["groups"]
    enabled = bool(groups)
    cmdline = kernel_snapshot["cmdline"]
    recommended = recommended_kernel_args(kernel_snapshot["vendor"])
    result = {
        "iommu_enabled": enabled,
        "iommu_group_count": len(groups),
        "cpu_vendor": kernel_snapshot["vendor"],
        "kernel_args": iommu_kernel_args(cmdline),
        "recommended_kernel_args": recommended,
        "missing_kernel_args": [arg for arg in (recommended if kernel_args is None else kernel_args) if arg not in cmdline],
        "devices": [],
        "iommu_problems": [],
    }
    if not enabled:
        result["iommu_problems"].append(
            "the IOMMU is off: /sys/kernel/iommu_groups is empty (IOMMU arguments on the kernel command line: %s); %s"
            % (", ".join(result["kernel_args"]) or "none",
               ("add %s to the kernel command line and reboot, and turn VT-d / AMD-Vi on in the firmware" % " ".join(recommended))
               if recommended else "turn the IOMMU on in the firmware and on the kernel command line, and reboot"))
    for index, (given, kind, name) in enumerate(devices):
        entry, problem = _device(sysfs_snapshot, given, kind, name, enabled, addresses)
        result["devices"].append(entry)
        if problem:
            result["iommu_problems"].append("devices[%d]: %s" % (index, problem))
    available = kernel_snapshot["modules_available"]
    loaded = set(sysfs_snapshot["modules"])
    result["modules"] = {name: {"loaded": name in loaded, "available": name in loaded or name in (available or [])}
                         for name in (module.replace("-", "_") for module in modules)}
    result["modules_missing"] = [name for name, state in result["modules"].items() if not state["available"]]
    result["modules_to_load"] = [name for name, state in result["modules"].items() if state["available"] and not state["loaded"]]
    result["vfio_problems"] = []
    if result["modules_missing"]:
        why = ("it has no loadable modules installed" if available is None
               else "they are neither built in nor in its modules.dep (CONFIG_VFIO_PCI)")
        result["vfio_problems"].append("the kernel %s cannot load %s: %s" % (kernel_snapshot["release"], ", ".join(result["modules_missing"]), why))
    result["ready"] = enabled and not result["iommu_problems"] and not result["vfio_problems"]
    result["report"] = _lines(result)
    return result


def _device(snapshot, given, kind, name, enabled, addresses):
    entry = {"device": given, "address": None, "group": None, "driver": None, "netdevs": [], "shared_with": []}
    address = name
    if kind == "netdev":
        netdev = snapshot["netdevs"].get(name)
        if netdev is None:
            return entry, "there is no interface %s" % name
        address = netdev["address"]
        if address not in snapshot["pci"]:
            return entry, "the interface %s is not a PCI device" % name
    device = snapshot["pci"].get(address)
    if device is None:
        return entry, "there is no PCI device %s" % address
    entry.update(address=address, group=device["group"], driver=device["driver"], netdevs=device["netdevs"])
    if not enabled:
        return entry, None  # one problem says it for all: the IOMMU is off
    if device["group"] is None:
        return entry, "%s is in no IOMMU group" % address
    for member in snapshot["groups"].get(device["group"], []):
        if member == address:
            continue
        reasons = in_use_reasons(snapshot, member, addresses)
        entry["shared_with"].append({"address": member, "driver": snapshot["pci"].get(member, {}).get("driver"),
                                     "netdevs": snapshot["pci"].get(member, {}).get("netdevs", []),
                                     "in_use": bool(reasons), "reasons": reasons})
    busy = [member for member in entry["shared_with"] if member["in_use"]]
    if busy:
        return entry, ("%s (%s) shares IOMMU group %s with %s, which the host still uses: a VM can only have the "
                       "whole group; free those devices or move the card to another slot"
                       % (given, address, device["group"],
                          "; ".join("%s (%s)" % (member["address"], ", ".join(member["reasons"])) for member in busy)))
    return entry, None


def _lines(result):
    lines = ["IOMMU: %s (%d groups); CPU %s; IOMMU kernel arguments: %s%s"
             % ("on" if result["iommu_enabled"] else "off", result["iommu_group_count"], result["cpu_vendor"] or "unknown",
                " ".join(result["kernel_args"]) or "none",
                ("; missing: " + " ".join(result["missing_kernel_args"])) if result["missing_kernel_args"] else "")]
    for device in result["devices"]:
        if device["address"] is None:
            continue
        lines.append("%s: %s, driver %s, IOMMU group %s%s" % (
            device["device"], device["address"], device["driver"] or "none", device["group"] or "none",
            (", shared with " + ", ".join("%s (%s)" % (m["address"], ", ".join(m["reasons"]) or "free") for m in device["shared_with"]))
            if device["shared_with"] else ", alone in its group" if device["group"] else ""))
    lines.append("modules: " + ", ".join("%s %s" % (name, "loaded" if state["loaded"] else "loadable" if state["available"] else "MISSING")
                                         for name, state in result["modules"].items()))
    return lines + result["iommu_problems"] + result["vfio_problems"]
