#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ovs_dpdk_port
short_description: OVS-DPDK ports, bonds and vhost-user ports on netdev bridges
version_added: 0.1.0
description:
  - Creates, updates and removes Open vSwitch ports of the DPDK datapath, physical devices or vdevs (V(dpdk)),
    DPDK bonds, and vhost-user ports (V(dpdkvhostuserclient), V(dpdkvhostuser)) on bridges with C(datapath_type=netdev).
  - Reads the database once, applies every change of a call in one C(ovs-vsctl) transaction, then waits (bounded) for
    each port's C(ofport) and C(error) columns. A port OVS could not bring up fails the task with OVS's own error text,
    and the whole transaction is undone.
  - Rejected before OVS is touched, each naming the field, all in one message, are a bridge that is not C(datapath_type=netdev),
    DPDK not initialised, an O(config[].rxq_affinity) core outside C(pmd-cpu-mask), a queue id not below O(config[].n_rxq),
    malformed O(config[].devargs), a O(config[].vhost_server_path) that is not an absolute, normalised path, a name
    shared with a non-DPDK port, a device or O(config[].ofport_request) another port already uses.
  - Ports the module creates carry C(external_ids:hypervisor-networking-owner=ovs_dpdk_port) on their C(Port) row;
    O(state=overridden) and O(state=deleted) only ever remove such ports.
  - A port is re-created (in the same transaction) only when it moves to another bridge or its bond members change.
author:
  - hypervisor.networking contributors (@hypervisor-networking)
extends_documentation_fragment:
  - hypervisor.networking.resource
attributes:
  check_mode:
    description: Reports the planned transaction in RV(commands) and changes nothing.
    support: full
  diff_mode:
    description: Shows the before and after state of every port the call touched.
    support: full
options:
  database:
    description:
      - The OVSDB server, as C(ovs-vsctl --db) takes it (V(unix:/path/db.sock), V(tcp:IP:PORT)).
      - Defaults to the system one, V(unix:/var/run/openvswitch/db.sock).
    type: str
  vhost_socket_dir:
    description:
      - OVS's vhost-user socket directory, where OVS creates the sockets of V(dpdkvhostuser) ports (the module warns when
        it is OVS's run directory itself). O(config[].vhost_server_path) may be outside it.
      - Defaults to OVS's run directory C(/var/run/openvswitch) joined with C(Open_vSwitch other_config:vhost-sock-dir).
    type: path
  running_config:
    description:
      - With O(state=parsed), the JSON output of
        C(ovs-vsctl --format=json -- list Open_vSwitch -- list Bridge -- list Port -- list Interface -- list QoS).
    type: str
  config:
    description: The ports.
    type: list
    elements: dict
    suboptions:
      name:
        description: Port name (for a single device also the Interface name), 1 to 64 letters, digits, C(_ . + -).
        type: str
        required: true
      bridge:
        description: The netdev bridge (C(datapath_type=netdev)) the port is on. Required when the port is created.
        type: str
      type:
        description:
          - V(dpdk) for a physical device or vdev (O(config[].devargs)); V(dpdkvhostuserclient) for a VM's vhost-user
            port where QEMU owns the socket (O(config[].vhost_server_path)); V(dpdkvhostuser) for the deprecated mode where
            OVS creates the socket C(<vhost-sock-dir>/<name>).
          - Defaults to V(dpdk).
        type: str
        choices: [dpdk, dpdkvhostuserclient, dpdkvhostuser]
      devargs:
        description:
          - C(options:dpdk-devargs) of a V(dpdk) port, a PCI address (V(0000:01:00.0)) or a vdev string
            (V(net_null0,no-rx=1), V(net_af_packet0,iface=eth1), V(net_tap0)).
        type: str
      interfaces:
        description: Makes the port a DPDK bond of these devices (at least two).
        type: list
        elements: dict
        suboptions:
          name:
            description: Interface name of the member.
            type: str
            required: true
          devargs:
            description: The member's PCI address or vdev string.
            type: str
            required: true
      bond_mode:
        description: Bond mode of a bond port (OVS default V(active-backup)).
        type: str
        choices: [active-backup, balance-slb, balance-tcp]
      lacp:
        description: LACP of a bond port (OVS default V(off)).
        type: str
        choices: [active, passive, 'off']
      vhost_server_path:
        description:
          - Socket path of a V(dpdkvhostuserclient) port, where QEMU listens; an absolute, normalised path in any directory
            (OVS connects to it wherever it is, for example C(/var/lib/vhost_sockets/vhu-vm1.sock) as OpenStack keeps them).
        type: str
      n_rxq:
        description: Receive queues of a V(dpdk) device, 1 to 1024 (C(options:n_rxq)).
        type: int
      n_rxq_desc:
        description: Receive descriptors per queue, a power of two up to 4096.
        type: int
      n_txq_desc:
        description: Transmit descriptors per queue, a power of two up to 4096.
        type: int
      rxq_affinity:
        description:
          - "Receive queue id to PMD core (C(other_config:pmd-rxq-affinity)), for example C({0: 1, 1: 1})."
          - Each queue id must be below O(config[].n_rxq) (default 1; with O(state=merged) the port's current value when
            not given) and each core in C(pmd-cpu-mask).
        type: dict
      mtu_request:
        description:
          - MTU, 68 to 9710 (jumbo frames up to 9728 bytes).
          - Verified after apply, else the call rolls back; where OVS reports the port's effective C(mtu) it must match.
            A vhost-user port reports none (0) until QEMU connects; its MTU takes effect then.
        type: int
      flow_control:
        description: Ethernet flow control of a physical V(dpdk) device.
        type: dict
        suboptions:
          tx:
            description: C(options:tx-flow-ctrl).
            type: bool
          rx:
            description: C(options:rx-flow-ctrl).
            type: bool
          autoneg:
            description: C(options:flow-ctrl-autoneg).
            type: bool
      ingress_policing:
        description: Ingress policing of what the port receives (C(ingress_policing_rate), C(ingress_policing_burst)).
        type: dict
        suboptions:
          rate:
            description: Rate in kbit/s; 0 disables policing.
            type: int
          burst:
            description: Burst in kbit.
            type: int
      egress_policer:
        description: An C(egress-policer) QoS row on the port, created and removed with it.
        type: dict
        suboptions:
          cir:
            description: Committed information rate in bytes per second (IP packet bytes).
            type: int
          cbs:
            description: Committed burst size in bytes.
            type: int
      tag:
        description: Access VLAN, 0 to 4095.
        type: int
      trunks:
        description: Trunked VLANs.
        type: list
        elements: int
      vlan_mode:
        description: VLAN mode of the port.
        type: str
        choices: [access, native-tagged, native-untagged, trunk, dot1q-tunnel]
      ofport_request:
        description:
          - OpenFlow port number to request, 1 to 65279, for flows that name ports by number.
          - Refused when another interface of the bridge already requested or holds that number (OVS would silently
            assign another); after the transaction the port must have exactly this C(ofport), else the call fails and
            is rolled back.
        type: int
      external_ids:
        description:
          - Keys of C(external_ids) of the port's Interface row(s) (every member of a bond), for example OVN's C(iface-id).
          - Managed key by key in every state, like C(options) keys are. The keys given are set; a key given with a
            null value is removed; keys not given are left alone, also with O(state=replaced) and
            O(state=overridden), so keys other software writes (ovn-controller's C(ovn-installed),
            C(ovn-installed-ts)) stay and do not make a run report a change.
        type: dict
      other_config:
        description:
          - Keys of C(other_config) of the port's Interface row(s), managed key by key as O(config[].external_ids) is.
          - C(pmd-rxq-affinity) is set through O(config[].rxq_affinity).
        type: dict
notes:
  - Needs Open vSwitch built with DPDK (Debian C(openvswitch-switch-dpdk)), C(other_config:dpdk-init=true) and a running
    ovs-vswitchd; the role P(hypervisor.networking.dpdk#role) sets a host up.
  - O(config[].external_ids) and O(config[].other_config) are managed key by key; keys not given are never removed
    (give a key with a null value to remove it).
  - Checks that involve several fields (a queue id below O(config[].n_rxq), options of one O(config[].type) only,
    bond-only options) run on the port as it will be, so a partial O(state=merged) item is checked against the
    host's values of the fields it leaves out.
  - With O(persist=true) the ports are also saved for the boot-time restore; OVSDB keeps them across reboots itself.
"""

EXAMPLES = r"""
# Needs first (role hypervisor.networking.dpdk): the netdev bridge br-dpdk (dpdk_bridges), PMD cores 2 and 3
# (dpdk_pmd_cores) and the four PCI functions bound to vfio-pci (dpdk_nics).
- name: A physical port with jumbo frames and pinned queues, and a DPDK bond
  hypervisor.networking.ovs_dpdk_port:
    config:
      - name: dpdk-p0
        bridge: br-dpdk
        devargs: "0000:01:00.0"
        n_rxq: 2
        rxq_affinity: {0: 2, 1: 3}
        mtu_request: 9000
        flow_control: {rx: true}
      - name: dpdkbond0
        bridge: br-dpdk
        interfaces:
          - {name: bond0-p0, devargs: "0000:02:00.0"}
          - {name: bond0-p1, devargs: "0000:02:00.1"}
        bond_mode: balance-tcp
        lacp: active

# Needs the netdev bridge br-dpdk; QEMU creates the socket (vhost-user client mode: OVS connects when it appears).
- name: A VM's vhost-user port with an egress policer and ingress policing
  hypervisor.networking.ovs_dpdk_port:
    config:
      - name: vhu-vm1
        bridge: br-dpdk
        type: dpdkvhostuserclient
        vhost_server_path: /var/run/openvswitch/vhost/vhu-vm1.sock
        egress_policer: {cir: 46000000, cbs: 2048}
        ingress_policing: {rate: 368000, burst: 1000}
        ofport_request: 3

- name: Remove every DPDK port this collection created
  hypervisor.networking.ovs_dpdk_port:
    state: deleted

- name: The ovs-vsctl transaction that would create a port, without a host
  hypervisor.networking.ovs_dpdk_port:
    state: rendered
    config:
      - {name: null0, bridge: br-test, devargs: "net_null0,no-rx=1"}
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
      ovs-vsctl add-port br0 null0 -- set Port null0 external_ids:hypervisor-networking-owner=ovs_dpdk_port
      -- set Interface null0 'options:dpdk-devargs="net_null0,no-rx=1"' type=dpdk
before:
  description: The ports this collection owned before the call, as config items.
  returned: with a state that changes the host
  type: list
  elements: dict
after:
  description: The ports this collection owns after the call (in check mode, as they would be).
  returned: with a state that changes the host
  type: list
  elements: dict
gathered:
  description: The ports this collection owns, as config items.
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: Each listed port and the C(ovs-vsctl) transaction that creates it.
  returned: when O(state=rendered)
  type: list
  elements: dict
  contains:
    name:
      description: The port name.
      type: str
    config:
      description: The port with its defaults filled in.
      type: dict
    commands:
      description: The C(ovs-vsctl) command line that creates the port.
      type: list
      elements: str
parsed:
  description: The ports in O(running_config) that carry this collection's mark, as config items.
  returned: when O(state=parsed)
  type: list
  elements: dict
"""


from ansible_collections.hypervisor.networking.plugins.module_utils.argspec import checked_module
from ansible_collections.hypervisor.networking.plugins.module_utils.engine import COMMON_ARGUMENT_SPEC
from ansible_collections.hypervisor.networking.plugins.module_utils.entry import run

CONFIG_SPEC = {
    "name": {"type": "str", "required": True},
    "bridge": {"type": "str"},
    "type": {"type": "str", "choices": ["dpdk", "dpdkvhostuserclient", "dpdkvhostuser"]},
    "devargs": {"type": "str"},
    "interfaces": {"type": "list", "elements": "dict", "options": {
        "name": {"type": "str", "required": True},
        "devargs": {"type": "str", "required": True},
    }},
    "bond_mode": {"type": "str", "choices": ["active-backup", "balance-slb", "balance-tcp"]},
    "lacp": {"type": "str", "choices": ["active", "passive", "off"]},
    "vhost_server_path": {"type": "str"},
    "n_rxq": {"type": "int"},
    "n_rxq_desc": {"type": "int"},
    "n_txq_desc": {"type": "int"},
    "rxq_affinity": {"type": "dict"},
    "mtu_request": {"type": "int"},
    "flow_control": {"type": "dict", "options": {"tx": {"type": "bool"}, "rx": {"type": "bool"}, "autoneg": {"type": "bool"}}},
    "ingress_policing": {"type": "dict", "options": {"rate": {"type": "int"}, "burst": {"type": "int"}}},
    "egress_policer": {"type": "dict", "options": {"cir": {"type": "int"}, "cbs": {"type": "int"}}},
    "tag": {"type": "int"},
    "trunks": {"type": "list", "elements": "int"},
    "vlan_mode": {"type": "str", "choices": ["access", "native-tagged", "native-untagged", "trunk", "dot1q-tunnel"]},
    "ofport_request": {"type": "int"},
    "external_ids": {"type": "dict"},
    "other_config": {"type": "dict"},
}


def main():
    argument_spec = dict(
        COMMON_ARGUMENT_SPEC,
        database={"type": "str"},
        vhost_socket_dir={"type": "path"},
        config={"type": "list", "elements": "dict", "options": CONFIG_SPEC},
    )
    module = checked_module(argument_spec, supports_check_mode=True)
    run(module, "ovs_dpdk_port")


if __name__ == "__main__":
    main()
