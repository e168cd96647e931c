#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pci_driver
short_description: Bind PCI devices to a driver (vfio-pci for DPDK and passthrough) through driver_override
version_added: 0.1.0
description:
  - Binds each listed PCI device to a driver through sysfs, as the kernel documents it - C(driver_override), C(unbind)
    from the current driver, C(drivers_probe) - skipping the steps that are already right, and reads back which driver
    holds the device. A device the driver did not take fails the task, and the call is rolled back (every device it
    changed gets its former C(driver_override) and driver back).
  - Refused before anything changes, all problems in one message - a device that does not exist, a driver that is not
    loaded (for V(vfio-pci) - no IOMMU, module not loaded), and a device whose network interface, or any device stacked
    on it (bridge, bond, VLAN - C(/sys/class/net/<if>/upper_*), recursively), is one of O(protected_interfaces).
  - O(state=deleted) gives a device back to its own kernel driver (C(driver_override) cleared, probed again).
    Ownership is the saved state - O(state=deleted) and O(state=overridden) only touch devices this module bound with
    O(persist=true). A device whose C(driver_override) was set outside the collection is refused unless O(adopt=true).
  - O(state=parsed) is not supported.
author:
  - hypervisor.networking contributors (@hypervisor-networking)
extends_documentation_fragment:
  - hypervisor.networking.resource
attributes:
  check_mode:
    description: Reports the planned bindings in RV(commands) and changes nothing.
    support: full
  diff_mode:
    description: Shows each touched device's driver_override before and after the call.
    support: full
options:
  sysfs_root:
    description: Where sysfs is mounted; tests point it at an emulated tree.
    type: path
    default: /sys
  protected_interfaces:
    description:
      - Network interfaces whose NIC must never be taken from the kernel, such as the interfaces of the default routes
        and of the address Ansible connects to. The role P(hypervisor.networking.dpdk#role) passes them from the facts.
    type: list
    elements: str
    default: []
  running_config:
    description: Not used; O(state=parsed) is not supported by this module.
    type: str
  config:
    description: The devices.
    type: list
    elements: dict
    suboptions:
      address:
        description: PCI address of the device, such as V(0000:01:00.0) (the domain may be left out).
        type: str
        required: true
      driver:
        description: The driver to bind it to, such as V(vfio-pci). Required unless O(state=deleted).
        type: str
notes:
  - Keep the binding across reboots with a udev rule that sets C(driver_override) when the device appears (the role
    P(hypervisor.networking.dpdk#role) writes one); the collection's boot-time restore (O(persist=true)) binds it again
    before networking starts, but only after udev's coldplug has started, when the device's own driver may have taken it.
"""

EXAMPLES = r"""
- name: Two NICs for DPDK, never the one carrying the management address
  hypervisor.networking.pci_driver:
    protected_interfaces: ["{{ ansible_facts.default_ipv4.interface }}"]
    config:
      - {address: "0000:01:00.0", driver: vfio-pci}
      - {address: "0000:01:00.1", driver: vfio-pci}

- name: Give every device this module bound back to its kernel driver
  hypervisor.networking.pci_driver:
    state: deleted
"""

RETURN = r"""
changed:
  description: Whether anything changed.
  returned: always
  type: bool
commands:
  description: The plan, one line per device (in check mode, what would be done), and the save for the boot-time restore.
  returned: with a state that changes the host
  type: list
  elements: str
  sample: ["bind 0000:01:00.0 to vfio-pci (driver_override vfio-pci; unbind from ixgbe; drivers_probe)"]
before:
  description: The devices this module had bound before the call, as config items.
  returned: with a state that changes the host
  type: list
  elements: dict
after:
  description: The devices this module has bound after the call (in check mode, as they would be).
  returned: with a state that changes the host
  type: list
  elements: dict
gathered:
  description: The devices this module has bound, as config items.
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: Each listed device and the sysfs steps that bind it.
  returned: when O(state=rendered)
  type: list
  elements: dict
  contains:
    address:
      description: The PCI address.
      type: str
    config:
      description: The binding.
      type: dict
    commands:
      description: The sysfs steps.
      type: list
      elements: str
parsed:
  description: Not returned; O(state=parsed) is not supported by this module and fails.
  returned: never
  type: list
  elements: dict
"""

from ansible_collections.hypervisor.networking.plugins.module_utils.argspec import checked_module

from ansible_collections.hypervisor.networking.plugins.module_utils.engine import COMMON_ARGUMENT_SPEC
from ansible_collections.hypervisor.networking.plugins.module_utils.entry import run

CONFIG_SPEC = {
    "address": {"type": "str", "required": True},
    "driver": {"type": "str"},
}


def main():
    argument_spec = dict(
        COMMON_ARGUMENT_SPEC,
        sysfs_root={"type": "path", "default": "/sys"},
        protected_interfaces={"type": "list", "elements": "str", "default": []},
        config={"type": "list", "elements": "dict", "options": CONFIG_SPEC},
    )
    module = checked_module(argument_spec, supports_check_mode=True)
    run(module, "pci_driver")


if __name__ == "__main__":
    main()
