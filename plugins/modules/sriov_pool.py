#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sriov_pool
short_description: SR-IOV Virtual Functions of a NIC - count, attributes, driver binding, eswitch mode
version_added: 0.1.0
description:
  - Each O(config) item is one Physical Function (PF), named by its network interface O(config[].pf) or its
    O(config[].pci_address). The module creates O(config[].num_vfs) Virtual Functions (VFs) through sysfs
    C(sriov_numvfs) and waits for them to appear (at most O(timeout) seconds), sets each VF's attributes through
    netlink (MAC, VLAN, QoS, VLAN protocol, spoof check, trust, rates, link state) and binds each VF to its driver
    through C(driver_override), skipping every step that is already right. Everything is read back and verified; any
    failure after the first change rolls the whole call back.
  - The kernel cannot change a non-zero VF count to another non-zero count; it has to go through 0, which removes every
    VF and pulls it out of any VM using it. Such a change is refused unless O(config[].allow_vf_reset=true), and the
    message lists the VFs in use - bound to C(vfio-pci), whose interface holds an address, or passed through by a
    running libvirt domain (its C(<hostdev type='pci'>) or C(<interface type='hostdev'>)), named in the message. The
    running domains are read once, read-only, from the libvirtd at O(uri) when the PF has VFs; without libvirt's
    Python binding or without a libvirtd answering there, that last check is skipped silently. The boot-time restore
    never asks libvirtd.
  - VF attributes resolve per VF, the later winning - the secure defaults (C(spoofchk) on, C(trust) off, no VLAN, no
    rate limit, link state C(auto)), O(config[].vf_defaults), every O(config[].vf_groups) entry whose range holds the
    VF, then the VF's own O(config[].vfs) entry. The VF driver resolves the same way from O(config[].driver).
  - Where NetworkManager runs (C(/run/NetworkManager) exists), a udev rule
    C(/etc/udev/rules.d/70-hypervisor-networking-sriov-<pci address>.rules) marks the PF's VFs unmanaged before they
    are created, so NetworkManager never configures them. A rule once written stays while the PF has VFs, also when
    NetworkManager is not running (as early in boot, when the VFs are restored).
  - Refused before anything changes, every problem in one message with its field path - values first (a VF index not
    below O(config[].num_vfs), a VF listed twice, a multicast or all-zero MAC, a VLAN outside 0..4095, a QoS without
    a VLAN, C(min_tx_rate) above C(max_tx_rate), overlapping O(config[].vf_groups)), then the host (no such PF, a PF
    without SR-IOV, O(config[].num_vfs) above its C(sriov_totalvfs), a driver that is not loaded).
  - Ownership is the saved state. A PF whose VFs were created outside the collection is refused unless
    O(adopt=true). O(state=deleted) removes the VFs of the listed (or every) PF this module configured, and gives their
    drivers back; VFs in use are refused there too unless O(config[].allow_vf_reset=true).
  - O(state=gathered) returns every SR-IOV PF of the host, owned or not, with its VFs, their attributes and drivers;
    C(host.owned) tells which ones this module configured.
  - A PF without a network interface (its own driver not bound) gets its VF count and drivers; VF attributes other
    than what the kernel gives new VFs are refused there, as they are read and set through the PF's interface.
  - O(state=parsed) is not supported.
author:
  - hypervisor.networking contributors (@hypervisor-networking)
extends_documentation_fragment:
  - hypervisor.networking.resource
attributes:
  check_mode:
    description: Reports the planned steps in RV(commands) and changes nothing.
    support: full
  diff_mode:
    description: Shows each touched PF (its VFs under C(host.vfs)) before and after the call.
    support: full
requirements:
  - pyroute2 on the managed host (VF attributes through netlink)
  - the C(devlink) program of iproute2 when O(config[].eswitch_mode) is given
options:
  sysfs_root:
    description: Where sysfs is mounted; tests point it at an emulated tree.
    type: path
    default: /sys
  timeout:
    description:
      - Seconds (1 or more) to wait for the VF devices to appear after C(sriov_numvfs) is written; some NICs take
        20 seconds and more for 64 VFs. When they do not all appear in time, the call fails with the time waited and
        rolls back.
    type: int
    default: 60
  uri:
    description:
      - The libvirt connection URI for the hostdev networks of O(config[].libvirt_network), and of the libvirtd asked
        which running domains use a VF (a VF in use is never dropped without O(config[].allow_vf_reset)). libvirt and
        its Python binding (C(python3-libvirt)) are needed only when an item or a saved pool names such a network;
        without them, or without a libvirtd answering, the domains are not looked at.
    type: str
    default: qemu:///system
  running_config:
    description: Not used; O(state=parsed) is not supported by this module.
    type: str
  config:
    description: The PFs, one item each.
    type: list
    elements: dict
    suboptions:
      pf:
        description:
          - The PF's network interface, such as V(enp1s0f0). One of O(config[].pf) and O(config[].pci_address) is
            required; with both, they must name the same device.
        type: str
      pci_address:
        description: The PF's PCI address, such as V(0000:01:00.0) (the domain may be left out).
        type: str
      num_vfs:
        description:
          - How many VFs the PF has, 0 to its C(sriov_totalvfs). Required unless O(state=deleted) or the PF is already
            configured (O(state=merged)). V(0) removes every VF.
          - Changing a non-zero count to another non-zero count needs O(config[].allow_vf_reset=true).
        type: int
      driver:
        description:
          - The driver every VF is bound to, such as V(vfio-pci) for passthrough and DPDK. Omitted, each VF keeps (or
            gets back) its own kernel driver (C(iavf), C(ixgbevf), C(mlx5_core)...) - the one the kernel's probe binds, or
            none when that driver is not loaded or C(sriov_drivers_autoprobe) is off.
          - O(config[].vf_groups[].driver) and O(config[].vfs[].driver) override it per VF.
        type: str
      eswitch_mode:
        description:
          - The NIC's embedded switch mode, through C(devlink dev eswitch set pci/<address> mode ...). V(switchdev)
            gives each VF a representor port, for OVS hardware offload. Omitted, the mode is left as it is.
          - The kernel refuses a mode change while VFs exist on most NICs; the module then sets it with the VF count
            at 0, which needs O(config[].allow_vf_reset=true) when VFs exist.
        type: str
        choices: [legacy, switchdev]
      vf_defaults:
        description: Attributes for every VF of the PF (see the resolution order in the description).
        type: dict
        suboptions:
          vlan:
            description: The VLAN id the NIC tags the VF's traffic with, 0 to 4095; V(0) means none.
            type: int
          qos:
            description: The 802.1p priority of that VLAN tag, 0 to 7; needs a non-zero O(config[].vf_defaults.vlan).
            type: int
          vlan_proto:
            description: The VLAN tag protocol, V(802.1Q) or V(802.1ad) (QinQ); needs a non-zero VLAN.
            type: str
            choices: [802.1Q, 802.1ad]
          spoofchk:
            description: Drop frames whose source MAC is not the VF's. Default V(true).
            type: bool
          trust:
            description: Let the VF change its MAC and enter promiscuous or all-multicast mode. Default V(false).
            type: bool
          min_tx_rate:
            description: Guaranteed transmit rate in Mbit/s; V(0) means none. Not above O(config[].vf_defaults.max_tx_rate).
            type: int
          max_tx_rate:
            description: Transmit rate limit in Mbit/s; V(0) means none.
            type: int
          link_state:
            description: V(auto) follows the PF's link; V(enable) and V(disable) force the VF's link up or down.
            type: str
            choices: [auto, enable, disable]
      vf_groups:
        description:
          - Ranges of VFs with their own driver and attributes, like the sriov-network-operator's C(pf#0-3) groups.
            Ranges must not overlap, and must lie below O(config[].num_vfs).
        type: list
        elements: dict
        suboptions:
          range:
            description: The VF indexes, V(N) or V(N-M) (both included), such as V(0-3).
            type: str
            required: true
          driver:
            description: The driver of these VFs, as O(config[].driver).
            type: str
          vlan:
            description: As O(config[].vf_defaults.vlan).
            type: int
          qos:
            description: As O(config[].vf_defaults.qos).
            type: int
          vlan_proto:
            description: As O(config[].vf_defaults.vlan_proto).
            type: str
            choices: [802.1Q, 802.1ad]
          spoofchk:
            description: As O(config[].vf_defaults.spoofchk).
            type: bool
          trust:
            description: As O(config[].vf_defaults.trust).
            type: bool
          min_tx_rate:
            description: As O(config[].vf_defaults.min_tx_rate).
            type: int
          max_tx_rate:
            description: As O(config[].vf_defaults.max_tx_rate).
            type: int
          link_state:
            description: As O(config[].vf_defaults.link_state).
            type: str
            choices: [auto, enable, disable]
      vfs:
        description: Settings of single VFs; each index at most once, below O(config[].num_vfs).
        type: list
        elements: dict
        suboptions:
          index:
            description: The VF number, 0 to O(config[].num_vfs) - 1.
            type: int
            required: true
          mac:
            description:
              - The VF's MAC address, such as V(52:54:00:12:34:56); unicast and not all zeros. Omitted, the MAC is left
                as the VF has it.
            type: str
          driver:
            description: The driver of this VF, as O(config[].driver).
            type: str
          vlan:
            description: As O(config[].vf_defaults.vlan).
            type: int
          qos:
            description: As O(config[].vf_defaults.qos).
            type: int
          vlan_proto:
            description: As O(config[].vf_defaults.vlan_proto).
            type: str
            choices: [802.1Q, 802.1ad]
          spoofchk:
            description: As O(config[].vf_defaults.spoofchk).
            type: bool
          trust:
            description: As O(config[].vf_defaults.trust).
            type: bool
          min_tx_rate:
            description: As O(config[].vf_defaults.min_tx_rate).
            type: int
          max_tx_rate:
            description: As O(config[].vf_defaults.max_tx_rate).
            type: int
          link_state:
            description: As O(config[].vf_defaults.link_state).
            type: str
            choices: [auto, enable, disable]
      allow_vf_reset:
        description:
          - Allow a change that removes every VF of this PF. Without it, a change from a non-zero count to another and
            an eswitch mode change while VFs exist are always refused, and O(config[].num_vfs=0) and O(state=deleted)
            are refused while a VF is in use; the message names the VFs in use, and the running libvirt domain using
            each one (see O(uri)).
          - With O(state=deleted) it is the one field read besides O(config[].pf) and O(config[].pci_address).
          - Not saved for the boot-time restore.
        type: bool
        default: false
      libvirt_network:
        description:
          - The name of a libvirt network of C(forward mode='hostdev') over this PF's VFs (a VF pool that libvirt hands
            out to guests with C(<interface type='network'>)). A name of 1 to 15 letters, digits, C(_), C(-), C(.).
          - Defined, started and autostarted in the same call as the VFs, after them, through the libvirt backend of
            M(hypervisor.networking.vm_network) (the same model and XML), as
            C(<forward mode='hostdev' managed='yes'><pf dev='PF'/></forward>) - libvirt lists the PF's VFs itself when
            the network starts. A PF without a network interface gets the list of its VFs' PCI addresses instead.
          - Check mode, diff (C(host.libvirt_network) with the XML), the lock and the rollback cover the VFs and the
            network together - a network that fails to start takes the new VFs back with it.
          - The network carries this module's mark in its C(<metadata>). A network of that name that this module did
            not make (unmarked, or made by M(hypervisor.networking.vm_network)) is never touched - the call fails,
            naming this field, whatever O(adopt) says.
          - Removed with the pool (O(state=deleted), O(state=overridden)), and when O(state=replaced) leaves it out or
            names another one. libvirt keeps and autostarts it at boot; the boot-time restore leaves it to libvirt.
          - Needs O(config[].num_vfs) above 0. libvirt reads the PF's VFs when the network starts - a later change of
            the VF count is not seen by a running network until it is restarted (C(virsh net-destroy) and
            C(net-start)).
        type: str
notes:
  - The VFs, their attributes and drivers are saved with O(persist=true) and restored at boot by the collection's early
    restore unit C(hypervisor-networking-restore-early.service), before C(network-pre.target) - so before
    NetworkManager, systemd-networkd or ifupdown bring up the host's own network configuration, which can therefore
    name a VF or enslave one to a bridge - and after the C(pci_driver) bindings. At boot the PF is found by its PCI
    address, so a PF that udev has not renamed yet is still found.
  - VF attributes that the NIC's driver does not support (C(trust), C(min_tx_rate) and C(vlan_proto) on some NICs) fail
    the task when they are asked for and differ from what the NIC reports.
"""

EXAMPLES = r"""
- name: Eight VFs on enp1s0f0 for passthrough, spoof-checked, VLAN 100 for all but the first two
  hypervisor.networking.sriov_pool:
    config:
      - pf: enp1s0f0
        num_vfs: 8
        driver: vfio-pci
        vf_defaults: {vlan: 100}
        vf_groups:
          - {range: "0-1", vlan: 0, trust: true}
        vfs:
          - {index: 0, mac: "52:54:00:00:01:00"}
          - {index: 1, mac: "52:54:00:00:01:01", max_tx_rate: 1000}

- name: Four VFs with their kernel driver on a PF named by its PCI address
  hypervisor.networking.sriov_pool:
    config:
      - {pci_address: "0000:01:00.1", num_vfs: 4}

- name: Grow the pool from 8 to 16 VFs (all VFs are removed and created again)
  hypervisor.networking.sriov_pool:
    timeout: 120
    config:
      - {pf: enp1s0f0, num_vfs: 16, driver: vfio-pci, allow_vf_reset: true}

- name: The 16 VFs and a libvirt hostdev network that hands them to guests (<interface type='network'>)
  hypervisor.networking.sriov_pool:
    config:
      - {pf: enp1s0f0, num_vfs: 16, driver: vfio-pci, libvirt_network: sriov-pool0}

- name: Every SR-IOV NIC of the host, its VFs and their drivers
  hypervisor.networking.sriov_pool:
    state: gathered
  register: sriov

- name: Remove the VFs of enp1s0f0, even those bound to vfio-pci
  hypervisor.networking.sriov_pool:
    state: deleted
    config:
      - {pf: enp1s0f0, allow_vf_reset: true}

- name: Remove the VFs of every other PF this module configured (refused while a VF is in use)
  hypervisor.networking.sriov_pool:
    state: deleted
"""

RETURN = r"""
changed:
  description: Whether anything changed.
  returned: always
  type: bool
commands:
  description: The plan, one line per step (in check mode, what would be done), and the save for the boot-time restore.
  returned: with a state that changes the host
  type: list
  elements: str
  sample: ["0000:01:00.0 (enp1s0f0): sriov_numvfs 0 -> 2 (wait at most 60 s for the VFs)",
           "0000:01:00.0 (enp1s0f0) VF 0 (0000:01:10.0): driver vfio-pci (driver_override vfio-pci; drivers_probe)",
           "0000:01:00.0 (enp1s0f0) VF 0: mac 52:54:00:00:01:00",
           "0000:01:00.0 (enp1s0f0) VF 1 (0000:01:10.1): driver vfio-pci (driver_override vfio-pci; drivers_probe)"]
before:
  description:
    - The PFs this module configured, before the call, as config items; their VFs as the host has them under
      C(host.vfs); the pool's libvirt network under C(host.libvirt_network) (C(xml), C(active), C(autostart)).
  returned: with a state that changes the host
  type: list
  elements: dict
after:
  description: The PFs this module configured after the call (in check mode, as they would be).
  returned: with a state that changes the host
  type: list
  elements: dict
gathered:
  description:
    - Every SR-IOV PF of the host as a config item (C(pf), C(pci_address), C(num_vfs), C(vfs) with every VF's
      attributes and C(driver)), with C(host) - C(owned) (configured by this module), C(total_vfs), and per VF its
      C(pci_address) and C(netdev).
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: Each listed PF with its VFs' resolved attributes and drivers, and the steps that set them.
  returned: when O(state=rendered)
  type: list
  elements: dict
  contains:
    pci_address:
      description: The PF's PCI address, or its interface name when only O(config[].pf) was given.
      type: str
    config:
      description: The item as given.
      type: dict
    vfs:
      description: Every VF's resolved attributes and driver.
      type: list
      elements: dict
    commands:
      description: The steps.
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

VF_ATTRIBUTES_SPEC = {
    "vlan": {"type": "int"},
    "qos": {"type": "int"},
    "vlan_proto": {"type": "str", "choices": ["802.1Q", "802.1ad"]},
    "spoofchk": {"type": "bool"},
    "trust": {"type": "bool"},
    "min_tx_rate": {"type": "int"},
    "max_tx_rate": {"type": "int"},
    "link_state": {"type": "str", "choices": ["auto", "enable", "disable"]},
}

CONFIG_SPEC = {
    "pf": {"type": "str"},
    "pci_address": {"type": "str"},
    "num_vfs": {"type": "int"},
    "driver": {"type": "str"},
    "eswitch_mode": {"type": "str", "choices": ["legacy", "switchdev"]},
    "vf_defaults": {"type": "dict", "options": dict(VF_ATTRIBUTES_SPEC)},
    "vf_groups": {"type": "list", "elements": "dict",
                  "options": dict(VF_ATTRIBUTES_SPEC, range={"type": "str", "required": True}, driver={"type": "str"})},
    "vfs": {"type": "list", "elements": "dict",
            "options": dict(VF_ATTRIBUTES_SPEC, index={"type": "int", "required": True}, mac={"type": "str"}, driver={"type": "str"})},
    "allow_vf_reset": {"type": "bool", "default": False},
    "libvirt_network": {"type": "str"},
}


def main():
    argument_spec = dict(
        COMMON_ARGUMENT_SPEC,
        sysfs_root={"type": "path", "default": "/sys"},
        timeout={"type": "int", "default": 60},
        uri={"type": "str", "default": "qemu:///system"},
        config={"type": "list", "elements": "dict", "options": CONFIG_SPEC},
    )
    module = checked_module(argument_spec, supports_check_mode=True)
    run(module, "sriov_pool")


if __name__ == "__main__":
    main()
