#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iommu_info
short_description: Report whether a host can pass PCI devices to VMs (IOMMU, IOMMU groups, vfio modules)
version_added: 0.1.0
description:
  - Reads, and never changes, what PCI passthrough and SR-IOV VFs bound to vfio-pci need - the IOMMU (C(/sys/kernel/iommu_groups)),
    the IOMMU arguments of the running kernel's command line against those this CPU needs, the IOMMU group of each
    device in O(devices) and whether the vfio kernel modules are loaded or can be loaded.
  - A device can only be given to a VM together with its whole IOMMU group. Every other member of the group is listed
    with whether the host still uses it - bound to a driver other than vfio-pci or pci-stub and, for a NIC, up, holding
    an address (link-local ones aside) or under a bridge, bond or VLAN; a PCI bridge is never counted. A group shared
    with a device in use is a problem in RV(iommu_problems).
  - The module does not fail on what it finds; the role P(hypervisor.networking.passthrough#role) decides from
    RV(iommu_problems) and RV(vfio_problems) whether to stop. It fails on input that is neither a PCI address nor an
    interface name, naming every such entry.
author:
  - hypervisor.networking contributors (@hypervisor-networking)
attributes:
  check_mode:
    description: Runs the same in check mode; it never changes anything.
    support: full
  diff_mode:
    description: Nothing to show.
    support: none
options:
  devices:
    description:
      - Devices to pass through, each a PCI address (V(0000:01:00.0), the domain may be left out) or a network
        interface name (its PCI device is used), such as an SR-IOV PF.
    type: list
    elements: str
    default: []
  kernel_args:
    description:
      - The arguments wanted on the kernel command line; RV(missing_kernel_args) lists those the running kernel lacks.
        Omitted, those this CPU needs (RV(recommended_kernel_args)).
      - Each is letters, digits and C(_.,:=+/-), as the role P(hypervisor.networking.passthrough#role) writes them into a
        GRUB file.
    type: list
    elements: str
  modules:
    description:
      - Kernel modules passthrough needs; each is reported loaded, loadable or missing.
      - Each is 1 to 55 ASCII letters, digits, C(_) and C(-), not starting with C(-) (a name modprobe takes, never an option).
    type: list
    elements: str
    default: [vfio, vfio_pci, vfio_iommu_type1]
  sysfs_root:
    description: Where sysfs is mounted; tests point it at an emulated tree.
    type: path
    default: /sys
  proc_root:
    description: Where procfs is mounted (C(cmdline), C(cpuinfo), C(sys/kernel/osrelease)); tests point it at a tree of their own.
    type: path
    default: /proc
  modules_root:
    description: The directory of the kernels' modules; the running kernel's C(modules.dep) and C(modules.builtin) are read.
    type: path
    default: /lib/modules
notes:
  - Addresses are read through netlink (pyroute2) in the network namespace the module runs in.
"""

EXAMPLES = r"""
- name: Can the host give these NICs to VMs?
  hypervisor.networking.iommu_info:
    devices: ["0000:03:00.0", enp4s0f0]
  register: iommu

- name: Show the report
  ansible.builtin.debug:
    var: iommu.report

- name: Stop when the IOMMU is off or a group is shared with a device in use
  ansible.builtin.assert:
    that: iommu.iommu_problems | length == 0
    fail_msg: "{{ iommu.iommu_problems | join('; ') }}"
"""

RETURN = r"""
iommu_enabled:
  description: Whether the kernel made IOMMU groups (the IOMMU is on).
  returned: always
  type: bool
iommu_group_count:
  description: Number of IOMMU groups.
  returned: always
  type: int
cpu_vendor:
  description: The CPU's C(vendor_id) (C(GenuineIntel), C(AuthenticAMD)), or null.
  returned: always
  type: str
kernel_args:
  description: The IOMMU arguments on the running kernel's command line (C(intel_iommu), C(amd_iommu), C(iommu), C(iommu.*)).
  returned: always
  type: list
  elements: str
  sample: ["iommu=pt"]
recommended_kernel_args:
  description: The arguments this CPU needs for passthrough - C(intel_iommu=on iommu=pt) on Intel, C(iommu=pt) on AMD.
  returned: always
  type: list
  elements: str
missing_kernel_args:
  description: The arguments of O(kernel_args) (default RV(recommended_kernel_args)) that the running kernel was not booted with.
  returned: always
  type: list
  elements: str
devices:
  description: One entry per O(devices) item.
  returned: always
  type: list
  elements: dict
  contains:
    device:
      description: As given.
      type: str
    address:
      description: Its PCI address, or null when it does not exist.
      type: str
    group:
      description: Its IOMMU group, or null.
      type: str
    driver:
      description: The driver bound to it, or null.
      type: str
    netdevs:
      description: Its network interfaces.
      type: list
      elements: str
    shared_with:
      description: The other devices of its IOMMU group, each with C(address), C(driver), C(netdevs), C(in_use) and C(reasons).
      type: list
      elements: dict
iommu_problems:
  description: What stops passthrough of O(devices) - IOMMU off, a device missing or in no group, a group shared with a device in use.
  returned: always
  type: list
  elements: str
modules:
  description: Each of O(modules) (with C(-) read as C(_)) with C(loaded) and C(available) (loaded, built in or in C(modules.dep)).
  returned: always
  type: dict
modules_missing:
  description: The modules of O(modules) that the running kernel cannot load.
  returned: always
  type: list
  elements: str
modules_to_load:
  description: The modules of O(modules) that can be loaded and are not loaded yet.
  returned: always
  type: list
  elements: str
vfio_problems:
  description: A sentence naming the missing modules, if any.
  returned: always
  type: list
  elements: str
ready:
  description: IOMMU on, no problem in RV(iommu_problems) or RV(vfio_problems).
  returned: always
  type: bool
report:
  description: The findings as lines for a person.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.hypervisor.networking.plugins.module_utils.argspec import checked_module
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.kernel import Kernel
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.netlink import Netlink
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.sysfs import IommuReader
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HvnetError
from ansible_collections.hypervisor.networking.plugins.module_utils.model import iommu


def main():
    module = checked_module({
        "devices": {"type": "list", "elements": "str", "default": []},
        "kernel_args": {"type": "list", "elements": "str"},
        "modules": {"type": "list", "elements": "str", "default": list(iommu.DEFAULT_MODULES)},
        "sysfs_root": {"type": "path", "default": "/sys"},
        "proc_root": {"type": "path", "default": "/proc"},
        "modules_root": {"type": "path", "default": "/lib/modules"},
    }, supports_check_mode=True)
    params = module.params
    try:
        # value checks first: nothing is read for input that cannot be right
        devices = iommu.check_devices(params["devices"], params["modules"], params["kernel_args"])
        snapshot = IommuReader(params["sysfs_root"]).read()
        kernel = Kernel(params["proc_root"], params["modules_root"]).read()
        addresses = {}
        if any(snapshot["netdevs"]):
            netlink = Netlink()
            try:
                addresses = netlink.read()["addresses"]
            finally:
                netlink.close()
        result = iommu.report(snapshot, kernel, devices, params["modules"], addresses, params["kernel_args"])
    except HvnetError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
