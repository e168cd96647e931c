#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ovs_dpdk_bridge
short_description: Open vSwitch bridges of the userspace (DPDK) datapath
version_added: 0.1.0
description:
  - Creates, updates and removes Open vSwitch bridges with C(datapath_type=netdev), the bridges DPDK ports and
    vhost-user ports (M(hypervisor.networking.ovs_dpdk_port)) live on.
  - Reads the database once and applies every change of a call in one C(ovs-vsctl) transaction, then waits (bounded)
    for each new bridge's internal interface to get its OpenFlow port, or fails with OVS's error text; the whole
    transaction is then undone.
  - Bridges the module creates carry C(external_ids:hypervisor-networking-owner=ovs_dpdk_bridge); O(state=overridden)
    and O(state=deleted) only ever remove such bridges, and only when no port other than the bridge's own is left on
    them (remove the ports first).
  - An existing bridge the collection did not create is refused, unless O(adopt=true) takes over a netdev bridge. A
    bridge of the kernel datapath (C(datapath_type=system)) is never taken over.
author:
  - hypervisor.networking contributors (@hypervisor-networking)
extends_documentation_fragment:
  - hypervisor.networking.resource
attributes:
  check_mode:
    description: Reports the planned transaction in RV(commands) and changes nothing.
    support: full
  diff_mode:
    description: Shows the before and after state of every bridge the call touched.
    support: full
options:
  database:
    description:
      - The OVSDB server, as C(ovs-vsctl --db) takes it (V(unix:/path/db.sock), V(tcp:IP:PORT)).
      - Defaults to the system one, V(unix:/var/run/openvswitch/db.sock).
    type: str
  running_config:
    description:
      - With O(state=parsed), the JSON output of
        C(ovs-vsctl --format=json -- list Open_vSwitch -- list Bridge -- list Port -- list Interface -- list QoS).
    type: str
  config:
    description: The bridges.
    type: list
    elements: dict
    suboptions:
      name:
        description: Bridge name, also the name of its internal interface (1 to 15 letters, digits, C(_ . + -)).
        type: str
        required: true
      fail_mode:
        description: What the bridge does without an OpenFlow controller (OVS default V(standalone), a learning switch).
        type: str
        choices: [standalone, secure]
      other_config:
        description:
          - Keys of the bridge's C(other_config) (such as C(hwaddr), C(datapath-id)), managed key by key in every state;
            a key given with a null value is removed, keys not given are left alone.
        type: dict
      external_ids:
        description:
          - Keys of the bridge's C(external_ids), managed key by key as O(config[].other_config) is.
          - C(hypervisor-networking-owner) is the collection's mark and cannot be set here.
        type: dict
notes:
  - Needs Open vSwitch with a running ovs-vswitchd. The bridge works without DPDK; DPDK ports on it need
    C(dpdk-init=true) (M(hypervisor.networking.ovs_dpdk_global)).
  - OVSDB keeps bridges across reboots. With O(persist=true) they are also saved for the collection's boot-time restore.
"""

EXAMPLES = r"""
- name: A netdev bridge for DPDK ports and VMs' vhost-user ports
  hypervisor.networking.ovs_dpdk_bridge:
    config:
      - name: br-dpdk
      - name: br-tenant
        fail_mode: secure
        other_config:
          hwaddr: "52:54:00:aa:bb:01"

- name: Remove every bridge this collection created (their ports must be gone)
  hypervisor.networking.ovs_dpdk_bridge:
    state: deleted
"""

RETURN = r"""
changed:
  description: Whether anything changed.
  returned: always
  type: bool
commands:
  description: The plan; the one C(ovs-vsctl) transaction of the call (in check mode, what would run), and the save for the boot-time restore.
  returned: with a state that changes the host
  type: list
  elements: str
  sample:
    - >-
      ovs-vsctl add-br br-dpdk -- set Bridge br-dpdk datapath_type=netdev
      external_ids:hypervisor-networking-owner=ovs_dpdk_bridge
before:
  description: The bridges this collection owned before the call, as config items.
  returned: with a state that changes the host
  type: list
  elements: dict
after:
  description: The bridges this collection owns after the call (in check mode, as they would be).
  returned: with a state that changes the host
  type: list
  elements: dict
gathered:
  description: The bridges this collection owns, as config items.
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: Each listed bridge and the C(ovs-vsctl) transaction that creates it.
  returned: when O(state=rendered)
  type: list
  elements: dict
  contains:
    name:
      description: The bridge name.
      type: str
    config:
      description: The bridge with its defaults filled in.
      type: dict
    commands:
      description: The C(ovs-vsctl) command line that creates the bridge.
      type: list
      elements: str
parsed:
  description: The bridges in O(running_config) that carry this collection's mark, as config items.
  returned: when O(state=parsed)
  type: list
  elements: dict
"""

from ansible_collections.hypervisor.networking.plugins.module_utils.argspec import checked_module

from ansible_collections.hypervisor.networking.plugins.module_utils.engine import COMMON_ARGUMENT_SPEC
from ansible_collections.hypervisor.networking.plugins.module_utils.entry import run

CONFIG_SPEC = {
    "name": {"type": "str", "required": True},
    "fail_mode": {"type": "str", "choices": ["standalone", "secure"]},
    "other_config": {"type": "dict"},
    "external_ids": {"type": "dict"},
}


def main():
    argument_spec = dict(
        COMMON_ARGUMENT_SPEC,
        database={"type": "str"},
        config={"type": "list", "elements": "dict", "options": CONFIG_SPEC},
    )
    module = checked_module(argument_spec, supports_check_mode=True)
    run(module, "ovs_dpdk_bridge")


if __name__ == "__main__":
    main()
