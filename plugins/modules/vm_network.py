#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_network
short_description: Virtual networks for VMs, following libvirt's network model
version_added: 0.1.0
description:
  - Manages virtual networks for VMs with field names from libvirt's network XML.
  - The C(kernel) backend builds each network from kernel objects through netlink (pyroute2), a Linux bridge with
    its STP settings, MTU, MAC and addresses, and for O(config[].forward.mode=bridge) an optional uplink NIC
    enslaved to it.
  - Enslaving an uplink that carries the host's addresses moves those addresses and the routes through the uplink
    to the bridge without cutting the host off (the bridge takes the uplink's MAC; addresses are added to the bridge
    before the uplink is enslaved and removed from the uplink after the routes moved). If the default gateway
    answered before the change and does not answer within 5 seconds after it, the whole call is rolled back.
  - Removing a network moves such addresses and routes back to the uplink.
author:
  - hypervisor.networking contributors (@hypervisor-networking)
extends_documentation_fragment:
  - hypervisor.networking.resource
attributes:
  check_mode:
    description: Reports the plan in RV(commands) and changes nothing.
    support: full
  diff_mode:
    description: Shows the before and after state of every object the call touched.
    support: full
options:
  backend:
    description:
      - V(kernel) builds networks from kernel objects. The libvirt backend comes in a later release.
    type: str
    choices: [kernel]
    default: kernel
  config:
    description: The networks.
    type: list
    elements: dict
    suboptions:
      name:
        description: Network name (1-64 letters, digits, C(_ . -)), as libvirt's C(<name>).
        type: str
        required: true
      forward:
        description: How the network reaches the outside (libvirt's C(<forward>)).
        type: dict
        suboptions:
          mode:
            description:
              - V(isolated) (the default, libvirt's network without C(<forward>)) connects VMs to each other and
                to the host only; it cannot have an uplink.
              - V(bridge) is a host bridge, optionally with O(config[].bridge.uplink) enslaved.
            type: str
            choices: [isolated, bridge]
      bridge:
        description: The Linux bridge (libvirt's C(<bridge>)).
        type: dict
        suboptions:
          name:
            description: Bridge name; defaults to the network name when that is a valid interface name.
            type: str
          stp:
            description:
              - Spanning tree. Defaults to V(true) as libvirt does, but V(false) when an uplink is set, since
                switch ports with BPDU guard shut down when a host sends BPDUs.
            type: bool
          delay:
            description: Forward delay in seconds, 0 to 30. Default 0; while STP is on the kernel applies at least 2.
            type: int
          mac_table_manager:
            description:
              - V(kernel) lets the bridge learn MAC addresses (default).
              - V(libvirt) as libvirt's C(macTableManager='libvirt'), taps attached by
                M(hypervisor.networking.vm_interface) default to learning and unicast flooding off.
            type: str
            choices: [kernel, libvirt]
          uplink:
            description:
              - A NIC (or bond, or veth) to enslave to the bridge, only with O(config[].forward.mode=bridge).
                Its addresses and routes move to the bridge.
            type: str
      mtu:
        description: Bridge MTU (libvirt's C(<mtu size>)), also applied to the uplink. Unset leaves it to the kernel.
        type: int
      mac:
        description: Bridge MAC address (libvirt's C(<mac>)); with an uplink it defaults to the uplink's MAC.
        type: str
      ips:
        description:
          - Addresses of the host on this network (libvirt's C(<ip>)), usually the VMs' gateway.
          - With O(state=merged) the listed addresses are added to those already there; with O(state=replaced)
            the bridge has exactly these.
        type: list
        elements: dict
        suboptions:
          address:
            description: Address, optionally with C(/prefix).
            type: str
            required: true
          prefix:
            description: Prefix length.
            type: int
          netmask:
            description: IPv4 netmask, instead of O(config[].ips[].prefix).
            type: str
          family:
            description: Address family; checked against the address.
            type: str
            choices: [ipv4, ipv6]
notes:
  - This kernel-backend release does not install firewall rules; an isolated network's traffic is not forwarded
    only as long as the host does not route it (NAT, routed and open modes with their nftables rules come next).
"""

EXAMPLES = r"""
- name: The two bridges of the cloud-hypervisor networking guide, with gateway addresses
  hypervisor.networking.vm_network:
    config:
      - name: ich-int
        forward: {mode: bridge}
        ips: [{address: 192.168.4.1, prefix: 24}]
      - name: ich-dpl
        forward: {mode: bridge}
        ips: [{address: 10.0.1.1, netmask: 255.255.255.0}]

- name: A host bridge on the uplink NIC; the host's address moves to the bridge without cutting it off
  hypervisor.networking.vm_network:
    config:
      - name: lan
        forward: {mode: bridge}
        bridge: {name: br0, uplink: eno1}

- name: An isolated network with a jumbo MTU
  hypervisor.networking.vm_network:
    config:
      - name: storage
        bridge: {name: virbr-stor, stp: false}
        mtu: 9000
        ips: [{address: 198.51.100.1/24}, {address: "2001:db8:5::1", prefix: 64}]

- name: Only the networks listed here may exist among those the collection manages
  hypervisor.networking.vm_network:
    state: overridden
    config:
      - name: lan
        forward: {mode: bridge}
        bridge: {name: br0, uplink: eno1}
"""

RETURN = r"""
changed:
  description: Whether anything on the host changed.
  returned: always
  type: bool
commands:
  description: The plan, one change a line in iproute2 terms (in check mode, what would be done).
  returned: with a state that changes the host
  type: list
  elements: str
  sample: ["ip link add name ich-int type bridge stp_state 1 forward_delay 0", "ip addr add 192.168.4.1/24 dev ich-int"]
before:
  description: The networks this collection owned before the call, as config items.
  returned: with a state that changes the host
  type: list
  elements: dict
after:
  description: The networks this collection owns after the call (in check mode, as they would be).
  returned: with a state that changes the host
  type: list
  elements: dict
gathered:
  description: The networks this collection owns, as config items.
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: Each listed network without reading the host.
  returned: when O(state=rendered)
  type: list
  elements: dict
  contains:
    name:
      description: The network's name.
      type: str
    config:
      description: The config item with every default filled in.
      type: dict
    commands:
      description: The iproute2 commands that build it on an empty host.
      type: list
      elements: str
parsed:
  description: The networks found in O(running_config) that carry this collection's mark, as config items.
  returned: when O(state=parsed)
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.hypervisor.networking.plugins.module_utils.backend.netlink import HAS_PYROUTE2
from ansible_collections.hypervisor.networking.plugins.module_utils.engine import COMMON_ARGUMENT_SPEC
from ansible_collections.hypervisor.networking.plugins.module_utils.entry import run

CONFIG_SPEC = {
    "name": {"type": "str", "required": True},
    "forward": {"type": "dict", "options": {"mode": {"type": "str", "choices": ["isolated", "bridge"]}}},
    "bridge": {"type": "dict", "options": {
        "name": {"type": "str"},
        "stp": {"type": "bool"},
        "delay": {"type": "int"},
        "mac_table_manager": {"type": "str", "choices": ["kernel", "libvirt"]},
        "uplink": {"type": "str"},
    }},
    "mtu": {"type": "int"},
    "mac": {"type": "str"},
    "ips": {"type": "list", "elements": "dict", "options": {
        "address": {"type": "str", "required": True},
        "prefix": {"type": "int"},
        "netmask": {"type": "str"},
        "family": {"type": "str", "choices": ["ipv4", "ipv6"]},
    }},
}


def main():
    argument_spec = dict(
        COMMON_ARGUMENT_SPEC,
        backend={"type": "str", "default": "kernel", "choices": ["kernel"]},
        config={"type": "list", "elements": "dict", "options": CONFIG_SPEC},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_PYROUTE2 and module.params["state"] not in ("rendered", "parsed"):
        module.fail_json(msg=missing_required_lib("pyroute2"))
    run(module, "vm_network")


if __name__ == "__main__":
    main()
