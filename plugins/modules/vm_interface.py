#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_interface
short_description: The host side of VM NICs, tap and macvtap devices
version_added: 0.1.0
description:
  - Creates, updates and removes persistent tap devices (single- or multi-queue, owned by the user a VMM runs as)
    and macvtap devices, attaches taps to Linux bridges and sets MTU, MAC, link state and bridge port flags.
  - Keeps what the guest sees (O(config[].guest)) for renderings of the same NIC in VMM syntaxes.
  - A device is re-created only when a field that cannot change in place differs (O(config[].kind),
    O(config[].multi_queue), the macvtap lower device); the plan says so.
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
  database:
    description:
      - Kind V(vhostuser) only; the OVSDB server as C(ovs-vsctl --db) takes it. Defaults to V(unix:/var/run/openvswitch/db.sock).
    type: str
  vhost_socket_dir:
    description:
      - Kind V(vhostuser) only; OVS's vhost-user socket directory. Subdirectories of it that hold a socket with an
        O(config[].owner) are created or re-owned for that owner; the directory itself is never re-owned.
        Defaults to C(/var/run/openvswitch) joined with C(Open_vSwitch other_config:vhost-sock-dir).
    type: path
  config:
    description: The interfaces.
    type: list
    elements: dict
    suboptions:
      name:
        description: Interface name, at most 15 characters (letters, digits, C(_ . + -)).
        type: str
        required: true
      kind:
        description:
          - V(tap) for a tap device a VMM opens (QEMU, cloud-hypervisor, Firecracker).
          - V(macvtap) for a macvtap on top of O(config[].link).
          - V(vhostuser) for a vhost-user-client port on an OVS-DPDK netdev bridge O(config[].bridge); QEMU listens on
            O(config[].socket) and OVS connects. Takes O(config[].bridge), O(config[].socket), O(config[].owner),
            O(config[].mtu) and O(config[].guest) only; the port is an OVSDB row marked C(vm_interface).
          - Defaults to V(tap) for new interfaces.
        type: str
        choices: [tap, macvtap, vhostuser]
      socket:
        description:
          - Kind V(vhostuser) only, and required there; the vhost-user socket QEMU listens on, an absolute path in any
            directory (for example under O(vhost_socket_dir), or C(/var/lib/vhost_sockets) as OpenStack keeps them).
          - With O(config[].owner) (the user QEMU runs as), the socket's directory must belong to that user. A missing
            directory is created for them (with its missing parents, mode 0750). Below O(vhost_socket_dir) an existing
            directory is re-owned; anywhere else an existing directory of another user is refused, never re-owned.
        type: str
      multi_queue:
        description:
          - Create the tap with several queues. Defaults to V(true) when O(config[].guest.queues) is above 1;
            a VMM opening several queues on a single-queue tap fails with EINVAL.
        type: bool
      owner:
        description:
          - User (name or id) allowed to open the tap, as an unprivileged VMM such as cloud-hypervisor needs.
          - Kind V(vhostuser), the user QEMU runs as; the socket's directory must belong to them (see O(config[].socket)).
        type: str
      group:
        description: Group (name or id) allowed to open the tap.
        type: str
      mtu:
        description:
          - MTU, 68 to 65535 and at most the device's (or bridge's, or lower device's) maximum.
          - Defaults to the bridge's MTU for a tap on a bridge (as libvirt does), the lower device's for a macvtap, else 1500.
          - Kind V(vhostuser), the port's C(mtu_request), 68 to 9710. It is verified after apply; OVS applies it when QEMU
            connects, and from then on the port's effective MTU must match too.
        type: int
      mac:
        description:
          - Host-side MAC address (unicast). A macvtap defaults to O(config[].guest.mac), as libvirt does.
        type: str
      link_state:
        description: Administrative state.
        type: str
        choices: [up, down]
      bridge:
        description:
          - Linux bridge to attach the tap to. Omitted means not attached (with O(state=replaced), detached).
        type: str
      isolated:
        description: Bridge port isolation (libvirt's C(<port isolated='yes'/>)); isolated ports only talk to non-isolated ones.
        type: bool
      learning:
        description:
          - Bridge port learning. Defaults to V(true), or V(false) on a network with C(mac_table_manager=libvirt).
          - With learning off and O(config[].guest.mac) known, the tap gets a static bridge FDB entry for the guest's MAC
            (C(bridge fdb add MAC dev TAP master static)), as libvirt adds, so unicast still reaches the VM.
        type: bool
      flood:
        description:
          - Unicast flooding to this port. Defaults like O(config[].learning).
        type: bool
      link:
        description: Lower device of a macvtap.
        type: str
      mode:
        description: Macvtap mode; defaults to V(vepa) as libvirt's C(<source mode>) does.
        type: str
        choices: [vepa, bridge, private, passthru]
      guest:
        description: What the guest sees of this NIC, kept for renderings (libvirt XML, cloud-hypervisor, KubeVirt).
        type: dict
        suboptions:
          mac:
            description: Guest MAC address (unicast).
            type: str
          model:
            description: NIC model.
            type: str
            choices: [virtio, virtio-transitional, virtio-non-transitional, e1000, e1000e, igb, rtl8139, vmxnet3]
          queues:
            description:
              - Queue pairs, one per vCPU, as libvirt's C(<driver queues='N'/>), 1 to 128.
                cloud-hypervisor's C(num_queues) is twice this.
            type: int
          queue_size:
            description: Entries per virtio queue, a power of two from 64 to 32768.
            type: int
          ip:
            description: Guest address as address/prefix.
            type: str
"""

EXAMPLES = r"""
- name: Multi-queue taps for a cloud-hypervisor VM with 2 vCPUs, on two bridges
  hypervisor.networking.vm_interface:
    config:
      - name: ich0
        owner: cloud-hypervisor
        bridge: ich-int
        guest: {mac: "a4:a1:c2:00:00:01", queues: 2, queue_size: 256, ip: 192.168.4.2/24}
      - name: ich1
        owner: cloud-hypervisor
        bridge: ich-dpl
        isolated: true
        guest: {mac: "a4:a1:c2:00:00:02", queues: 2, ip: 10.0.1.2/24}

- name: A macvtap in bridge mode on the host NIC
  hypervisor.networking.vm_interface:
    config:
      - name: mvtap0
        kind: macvtap
        link: eno1
        mode: bridge
        guest: {mac: "52:54:00:aa:bb:cc"}

- name: Remove every tap and macvtap this collection created
  hypervisor.networking.vm_interface:
    state: deleted

- name: What the collection manages now
  hypervisor.networking.vm_interface:
    state: gathered
  register: nics

- name: Parse interfaces from 'ip -d -j addr show' output taken elsewhere
  hypervisor.networking.vm_interface:
    state: parsed
    running_config: "{{ lookup('file', 'ip-addr.json') }}"
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
  sample:
    - ip tuntap add name ich0 mode tap vnet_hdr multi_queue user 1000
    - ip link set ich0 mtu 1500 alias 'hypervisor.networking/vm_interface' master ich-int up
before:
  description: The interfaces this collection owned before the call, as config items.
  returned: with a state that changes the host
  type: list
  elements: dict
after:
  description: The interfaces this collection owns after the call (in check mode, as they would be).
  returned: with a state that changes the host
  type: list
  elements: dict
gathered:
  description: The interfaces this collection owns, as config items.
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: Each listed interface without reading the host.
  returned: when O(state=rendered)
  type: list
  elements: dict
  contains:
    name:
      description: The interface's name.
      type: str
    config:
      description: The config item with every default filled in.
      type: dict
    commands:
      description: The iproute2 commands that create it on an empty host.
      type: list
      elements: str
parsed:
  description: The interfaces found in O(running_config) that carry this collection's mark, as config items.
  returned: when O(state=parsed)
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.hypervisor.networking.plugins.module_utils.backend.netlink import HAS_PYROUTE2
from ansible_collections.hypervisor.networking.plugins.module_utils.engine import COMMON_ARGUMENT_SPEC
from ansible_collections.hypervisor.networking.plugins.module_utils.entry import run

GUEST_SPEC = {
    "mac": {"type": "str"},
    "model": {"type": "str", "choices": ["virtio", "virtio-transitional", "virtio-non-transitional", "e1000", "e1000e", "igb", "rtl8139", "vmxnet3"]},
    "queues": {"type": "int"},
    "queue_size": {"type": "int"},
    "ip": {"type": "str"},
}

CONFIG_SPEC = {
    "name": {"type": "str", "required": True},
    "kind": {"type": "str", "choices": ["tap", "macvtap", "vhostuser"]},
    "socket": {"type": "str"},
    "multi_queue": {"type": "bool"},
    "owner": {"type": "str"},
    "group": {"type": "str"},
    "mtu": {"type": "int"},
    "mac": {"type": "str"},
    "link_state": {"type": "str", "choices": ["up", "down"]},
    "bridge": {"type": "str"},
    "isolated": {"type": "bool"},
    "learning": {"type": "bool"},
    "flood": {"type": "bool"},
    "link": {"type": "str"},
    "mode": {"type": "str", "choices": ["vepa", "bridge", "private", "passthru"]},
    "guest": {"type": "dict", "options": GUEST_SPEC},
}


def main():
    argument_spec = dict(COMMON_ARGUMENT_SPEC, config={"type": "list", "elements": "dict", "options": CONFIG_SPEC},
                         database={"type": "str"}, vhost_socket_dir={"type": "path"})
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_PYROUTE2 and module.params["state"] not in ("rendered", "parsed"):
        module.fail_json(msg=missing_required_lib("pyroute2"))
    run(module, "vm_interface")


if __name__ == "__main__":
    main()
