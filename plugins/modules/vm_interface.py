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
  - O(config[].guest) describes what the guest sees; on the host it sets defaults (multi-queue, the tap's MAC, the
    static FDB entry). It is kept only in the saved state (O(persist)), since the kernel does not hold it.
  - A device is re-created only when a field that cannot change in place differs (O(config[].kind),
    O(config[].multi_queue), the macvtap lower device); the plan says so.
  - O(state=rendered) turns each item into the NIC's configuration for libvirt, QEMU, cloud-hypervisor, Firecracker
    and KubeVirt (O(targets)), without a host. Besides the NICs the collection builds it renders libvirt's own NICs,
    which libvirt or the VMM sets up (O(config[].kind) V(hostdev), V(user), V(vdpa), V(mcast), V(server), V(client),
    V(udp); O(config[].libvirt_type) V(bridge), V(network), V(direct); O(config[].target=false)). Those are for
    O(state=rendered) and O(state=parsed) only; O(state=merged), O(state=replaced) and O(state=overridden) refuse
    them, naming the field, before changing anything.
  - O(state=parsed) also reads libvirt XML in O(running_config), one C(<interface>) or a whole C(<domain>) (as
    C(virsh dumpxml --inactive) prints it; a running domain's adds runtime attributes), into config items whose libvirt rendering is that XML again. An element,
    attribute or type the items cannot hold is an error naming it, never dropped. An C(<interface>) without
    C(<target dev>) gets the name C(netN), N its position in the domain.
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
  targets:
    description:
      - With O(state=rendered), the VMM syntaxes to return for each item (RV(rendered)).
      - When omitted, every target that can express the item is returned, and the others are listed in
        RV(rendered[].not_rendered) with the reason. A target named here that cannot express an item (a macvtap for
        cloud-hypervisor, several queues for Firecracker, a NIC without a bridge for KubeVirt) is an error naming the
        field and the target.
    type: list
    elements: str
    choices: [libvirt, qemu, cloud_hypervisor, firecracker, kubevirt]
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
          - For O(state=rendered) and O(state=parsed) only, libvirt's NIC types without a host side the collection
            builds, rendered as the C(<interface type>) of the same name. V(hostdev) is a VF by
            O(config[].pci_address) (O(config[].assignment), O(config[].managed)); V(user) is user-mode networking;
            V(vdpa) uses O(config[].device); V(mcast), V(server), V(client) and V(udp) are QEMU's socket
            back-ends with O(config[].source_address), O(config[].source_port) and, for V(udp),
            O(config[].local_address) and O(config[].local_port).
        type: str
        choices: [tap, macvtap, vhostuser, hostdev, user, vdpa, mcast, server, client, udp]
      libvirt_type:
        description:
          - How libvirt is told about a V(tap) or V(macvtap). V(ethernet) (the default) hands libvirt the device the
            collection made, as it is (C(<target dev managed='no'/>)).
          - V(bridge) (a tap on O(config[].bridge)), V(network) (a tap on the libvirt network O(config[].network),
            O(config[].portgroup)) and V(direct) (a macvtap on O(config[].link) in O(config[].mode)) let libvirt create
            the device itself; such items are for O(state=rendered) and O(state=parsed) only.
        type: str
        choices: [ethernet, bridge, network, direct]
      target:
        description:
          - Whether the libvirt rendering names the host device (C(<target dev=NAME>), O(config[].name)). Defaults to
            V(true) for taps and macvtaps and V(false) for the other kinds. V(false) on a tap or macvtap lets libvirt
            create and name it (vnetN, macvtapN); O(config[].name) then only identifies the item, and the item is for
            O(state=rendered) and O(state=parsed) only.
        type: bool
      network:
        description: O(config[].libvirt_type=network) only, and required there; the libvirt network (C(<source network>)).
        type: str
      portgroup:
        description: O(config[].libvirt_type=network) only; the network's portgroup.
        type: str
      socket_mode:
        description:
          - Kind V(vhostuser); who listens on O(config[].socket), as libvirt's C(<source mode>). V(server) (the default) is
            QEMU, as OVS's vhost-user-client port the collection builds needs. V(client) (QEMU connects; QEMU's
            chardev without C(server=on), cloud-hypervisor's C(vhost_mode=client)) is for O(state=rendered) and
            O(state=parsed) only.
        type: str
        choices: [server, client]
      reconnect:
        description:
          - Kind V(vhostuser) with O(config[].socket_mode=client); libvirt's C(<reconnect>) of the socket, keys
            C(enabled) (V(yes)/V(no)) and C(timeout) (seconds), QEMU's chardev C(reconnect).
        type: dict
      managed:
        description: Kind V(hostdev); libvirt detaches the VF from its host driver before the guest starts (C(managed='yes')).
        type: bool
      assignment:
        description:
          - Kind V(hostdev); how libvirt assigns the VF to the guest, rendered as C(<driver name='...'/>) - V(vfio), or
            the legacy V(kvm) or Xen's V(xen).
          - Omitted, no C(<driver>) name is rendered and libvirt chooses (VFIO on every current QEMU/KVM host), so that
            an C(<interface type='hostdev'>) without C(<driver>) parses and renders back unchanged.
        type: str
        choices: [vfio, kvm, xen]
      pci_address:
        description: Kind V(hostdev), and required there; the VF's PCI address, domain:bus:slot.function (C(0000:03:10.2)).
        type: str
      device:
        description: Kind V(vdpa), and required there; the vhost-vdpa character device (C(/dev/vhost-vdpa-0)).
        type: str
      source_address:
        description:
          - Kinds V(mcast), V(server), V(client), V(udp); the IP address of the socket back-end (the multicast group
            for V(mcast)). Required except for V(server).
        type: str
      source_port:
        description: Kinds V(mcast), V(server), V(client), V(udp), and required there; the port.
        type: int
      local_address:
        description: Kind V(udp); the local address.
        type: str
      local_port:
        description: Kind V(udp); the local port.
        type: int
      trust_guest_rx_filters:
        description: libvirt's C(trustGuestRxFilters); the host follows the guest's MAC and receive filter changes.
        type: bool
      bandwidth:
        description:
          - Rate limits, as libvirt's C(<bandwidth>); keys C(inbound) (to the guest; C(average), C(peak), C(burst),
            C(floor)) and C(outbound) (from the guest; C(average), C(peak), C(burst)). Rates in KiB/s, bursts in KiB.
          - cloud-hypervisor's rate limiter (C(bw_size), C(bw_one_time_burst), C(bw_refill_time)) needs the same
            inbound and outbound; Firecracker's C(rx_rate_limiter)/C(tx_rate_limiter) take each direction. Both are
            token buckets, so C(peak) and C(floor) render for libvirt only. QEMU and KubeVirt have no rate limit here.
          - Like O(config[].guest), kept only in the saved state (libvirt applies it when the VM starts).
        type: dict
      vlan:
        description:
          - libvirt's C(<vlan>); keys C(trunk) (V(yes)/V(no)) and C(tags), a list of C(id) and C(native_mode)
            (V(tagged)/V(untagged)). KubeVirt's bridge CNI takes it as C(vlan) (one tag, or the untagged native one)
            and C(vlanTrunk).
        type: dict
      virtualport:
        description:
          - libvirt's C(<virtualport>); keys C(type) (V(openvswitch), V(802.1Qbg), V(802.1Qbh), V(midonet)) and
            C(parameters) (C(interfaceid), C(profileid), C(managerid), C(typeid), C(typeidversion), C(instanceid)).
        type: dict
      filterref:
        description: libvirt's nwfilter reference; keys C(filter) and C(parameters), a list of C(name) and C(value).
        type: dict
      backend:
        description: libvirt's C(<backend>); keys C(tap), C(vhost) (device paths), C(type), C(logFile).
        type: dict
      backenddomain:
        description: libvirt's C(<backenddomain name>), the domain providing the back-end (Xen driver domains).
        type: str
      script:
        description: libvirt's C(<script path>) for a tap libvirt creates.
        type: str
      downscript:
        description: libvirt's C(<downscript path>).
        type: str
      ip_addresses:
        description:
          - libvirt's C(<ip>) elements; each with C(address), C(prefix), C(peer), C(family) (V(ipv4)/V(ipv6)). libvirt
            sets them on the host side of a tap, or in the guest for kind V(user).
        type: list
        elements: dict
      routes:
        description: libvirt's C(<route>) elements; each with C(family), C(address), C(prefix), C(gateway), C(metric).
        type: list
        elements: dict
      tune:
        description: libvirt's C(<tune>); key C(sndbuf), the tap's send buffer in bytes.
        type: dict
      kubevirt:
        description:
          - How KubeVirt connects the NIC (RV(rendered[].kubevirt)). Keys C(binding) (V(bridge), the default for a
            tap; V(sriov), the default and only one for a VF of kind V(hostdev); V(masquerade); any other name is a
            network binding plugin such as V(passt)), C(network) (V(multus), the default, a secondary network with
            a NetworkAttachmentDefinition; V(pod), the pod network, which V(masquerade) needs), C(network_name) (the
            NetworkAttachmentDefinition, default the bridge's name, or the item's for a VF), C(ports) (a list of
            C(name), C(port), C(protocol)), C(resource_name) (the SR-IOV device plugin's resource, required for
            V(sriov)), C(spoofchk) (bool; the bridge CNI's C(macspoofchk), the sriov CNI's C(spoofchk)) and
            C(vlan_qos) (0 to 7, the sriov CNI's C(vlanQoS)).
          - The sriov CNI also takes O(config[].vlan) (one tag), O(config[].trust_guest_rx_filters) (C(trust)),
            O(config[].link_state) (C(link_state)) and O(config[].bandwidth) C(outbound.average) (C(max_tx_rate), whole
            Mbit/s). The bridge CNI takes O(config[].mtu), O(config[].isolated) (C(portIsolation)) and
            O(config[].vlan) (C(vlan), C(vlanTrunk)).
        type: dict
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
          - User (name, or numeric id up to 4294967294) allowed to open the tap, as an unprivileged VMM such as cloud-hypervisor needs.
          - Kind V(vhostuser), the user QEMU runs as; the socket's directory must belong to them (see O(config[].socket)).
        type: str
      group:
        description: Group (name, or numeric id up to 4294967294) allowed to open the tap.
        type: str
      mtu:
        description:
          - MTU. A tap takes 68 to 65521 (the kernel's maximum for a tap, 65535 less its Ethernet header) and at most
            its bridge's maximum; a macvtap 68 to the MTU of its lower device; a V(vhostuser) port at most 9710.
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
          - Unicast flooding to this port. Defaults like O(config[].learning), V(true), or V(false) on a network with
            C(mac_table_manager=libvirt).
        type: bool
      link:
        description: Lower device of a macvtap.
        type: str
      mode:
        description: Macvtap mode; defaults to V(vepa) as libvirt's C(<source mode>) does.
        type: str
        choices: [vepa, bridge, private, passthru]
      guest:
        description:
          - What the guest sees of this NIC. On the host it sets the defaults of O(config[].multi_queue) (from
            O(config[].guest.queues)), of the tap's MAC (O(config[].guest.mac) with C(fe) as first octet, as libvirt
            does) and of a macvtap's MAC, and the static FDB entry of O(config[].learning).
          - The kernel does not hold it, so it is kept only in the saved state (with O(persist=true)). RV(gathered),
            RV(before) and RV(after) show it from there; with O(persist=false) nothing keeps it and they leave it out.
          - O(state=rendered) turns the item, O(config[].guest) included, into each VMM's configuration of the NIC
            (see O(targets)).
        type: dict
        suboptions:
          mac:
            description: Guest MAC address (unicast).
            type: str
          model:
            description:
              - NIC model.
              - Omitted, V(virtio) for a tap, macvtap or vhost-user port the collection builds (libvirt's
                C(<model type='virtio'/>) is rendered); nothing for the NICs libvirt or the VMM sets up.
            type: str
            choices: [virtio, virtio-transitional, virtio-non-transitional, e1000, e1000e, igb, rtl8139, vmxnet3, ne2k_pci, pcnet]
          queues:
            description:
              - Queue pairs, one per vCPU, as libvirt's C(<driver queues='N'/>), 1 to 128.
                cloud-hypervisor's C(num_queues) is twice this.
            type: int
          queue_size:
            description:
              - Entries per virtio queue, a power of two from 64 to 32768 (libvirt's C(rx_queue_size)).
              - With V(vhostuser), libvirt's C(tx_queue_size) is rendered equal to it unless
                O(config[].guest.driver) gives C(tx_queue_size) (QEMU takes a tx queue size only with vhost-user).
            type: int
          ip:
            description: Guest address as address/prefix.
            type: str
          vcpus:
            description:
              - The guest's vCPUs. Only checks renderings; cloud-hypervisor refuses more queue pairs than vCPUs.
            type: int
          vhost:
            description:
              - Run virtio-net in the host kernel (C(/dev/vhost-net)) rather than in the VMM. Renders as QEMU's
                C(vhost=on|off) and libvirt's C(<driver name='vhost|qemu'>); unset leaves it to the VMM's default.
                cloud-hypervisor and Firecracker have no vhost-net.
            type: bool
          driver:
            description:
              - The rest of libvirt's C(<driver>) (its C(name), C(queues) and C(rx_queue_size) come from
                O(config[].guest.vhost), O(config[].guest.queues) and O(config[].guest.queue_size)). Keys C(txmode)
                (V(iothread)/V(timer)), C(tx_queue_size), and V(on)/V(off) for C(ioeventfd), C(event_idx), C(iommu),
                C(ats), C(packed), C(page_per_vq), C(rss), C(rss_hash_report); C(host) offloads (C(csum), C(gso),
                C(tso4), C(tso6), C(ecn), C(ufo), C(mrg_rxbuf)) and C(guest) offloads (C(csum), C(tso4), C(tso6),
                C(ecn), C(ufo)), each V(on)/V(off). QEMU takes them all as C(-device) properties; cloud-hypervisor
                takes C(iommu) (not with vhost-user) and the TSO, UFO and checksum offloads, each the same for host
                and guest, as C(offload_tso), C(offload_ufo), C(offload_csum) (checksum off needs TSO and UFO off).
            type: dict
          boot_order:
            description: Boot from this NIC in this order (libvirt's C(<boot order>), KubeVirt's C(bootOrder)).
            type: int
          rom:
            description: libvirt's C(<rom>); keys C(bar) (V(on)/V(off)), C(file), C(enabled) (V(yes)/V(no)).
            type: dict
          coalesce:
            description:
              - libvirt's C(<coalesce>), as a dictionary C(rx) holding C(frames), the packets the NIC waits for
                before an interrupt.
            type: dict
          teaming:
            description:
              - libvirt's virtio failover C(<teaming>); keys C(type) (V(persistent)/V(transient)) and C(persistent)
                (the alias of the persistent NIC, for a transient one).
            type: dict
          alias:
            description: libvirt's device alias (C(<alias name>)); a user alias starts with C(ua-).
            type: str
          acpi_index:
            description: The guest's ACPI index of the NIC (libvirt's C(<acpi index>), KubeVirt's C(acpiIndex)).
            type: int
          address:
            description:
              - Where the NIC sits in the guest, libvirt's C(<address>) attributes (C(type), C(domain), C(bus), C(slot),
                C(function), C(multifunction), ...). KubeVirt takes a C(type=pci) address as C(pciAddress).
            type: dict
          dev:
            description: libvirt's C(<guest dev>), the NIC's name inside a container guest.
            type: str
"""

EXAMPLES = r"""
# ich-int and ich-dpl are the bridges of vm_network's first example; the taps' owner must exist.
- name: The unprivileged user cloud-hypervisor runs as
  ansible.builtin.user:
    name: cloud-hypervisor
    system: true
    create_home: false
    shell: /usr/sbin/nologin

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

- name: A macvtap in bridge mode on the host NIC eno1
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

- name: The commands that would create a tap, and the NIC for libvirt, QEMU, cloud-hypervisor and KubeVirt, without a host
  hypervisor.networking.vm_interface:
    state: rendered
    config:
      - {name: ich0, bridge: ich-int, owner: "1000", guest: {mac: "a4:a1:c2:00:00:01", queues: 2, queue_size: 256}}

- name: NICs libvirt sets up itself, rendered for a domain's XML only (a VF, a tap on a libvirt network, a multicast tunnel)
  hypervisor.networking.vm_interface:
    state: rendered
    targets: [libvirt]
    config:
      - {name: vf0, kind: hostdev, pci_address: "0000:03:10.2", managed: true, assignment: vfio,
         guest: {mac: "52:54:00:6d:90:02", boot_order: 2}}
      - name: vnet7
        libvirt_type: network
        network: default
        portgroup: engineering
        bandwidth: {inbound: {average: 1000, peak: 5000, burst: 1024}, outbound: {average: 128}}
        vlan: {trunk: "yes", tags: [{id: 42}, {id: 123, native_mode: untagged}]}
        guest: {mac: "52:54:00:00:00:07", model: virtio, driver: {txmode: iothread, host: {tso4: "off"}}}
      - {name: mc0, kind: mcast, source_address: 230.0.0.1, source_port: 5558, guest: {mac: "52:54:00:6d:90:01"}}
  register: libvirt_nics

- name: The NICs of an existing libvirt guest as config items (here literal; usually 'virsh dumpxml --inactive GUEST')
  hypervisor.networking.vm_interface:
    state: parsed
    running_config: |
      <domain type='kvm'>
        <name>guest1</name>
        <devices>
          <interface type='bridge'>
            <source bridge='br0'/>
            <target dev='vnet3'/>
            <mac address='52:54:00:3b:83:1a'/>
            <model type='virtio'/>
            <driver queues='2'/>
          </interface>
          <interface type='vhostuser'>
            <source type='unix' path='/var/lib/vhost_sockets/vhu0' mode='server'/>
            <mac address='52:54:00:3b:83:1b'/>
            <model type='virtio'/>
          </interface>
        </devices>
      </domain>
  register: guest1_nics

# parsed reads 'ip -d -j addr show' output taken on any host, here the managed one
- name: The host's interfaces as JSON
  ansible.builtin.command: ip -d -j addr show
  register: ip_addr
  changed_when: false

- name: The interfaces in that output that the collection created, as config items
  hypervisor.networking.vm_interface:
    state: parsed
    running_config: "{{ ip_addr.stdout }}"
"""

RETURN = r"""
changed:
  description: Whether anything on the host changed.
  returned: always
  type: bool
commands:
  description:
    - The plan, one change a line in iproute2 terms (in check mode, what would be done).
    - A tap that joins a bridge gets a C(bridge link set) line only for the port flags that differ from a new port's
      (isolated off, learning on, flood on).
  returned: with a state that changes the host
  type: list
  elements: str
  sample:
    - ip tuntap add name ich0 mode tap vnet_hdr multi_queue user 1000
    - ip link set ich0 mtu 1500 address fe:a1:c2:00:00:01 alias 'hypervisor.networking/vm_interface' master ich-int up
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
    libvirt:
      description:
        - The domain C(<interface>) element. A tap or macvtap is C(type='ethernet') with C(<target managed='no'/>), so
          libvirt (5.7 or later) uses the device as it is; a vhost-user port is C(type='vhostuser') in server mode.
        - O(config[].libvirt_type) V(bridge), V(network) or V(direct) and the libvirt-only kinds render as those
          types, with only the fields the item gives; every sub-element of the item (bandwidth, vlan, virtualport,
          filterref, the guest's driver, boot order, address, ...) is there too.
      type: str
      sample: |
        <interface type="ethernet">
          <mac address="a4:a1:c2:00:00:01"/>
          <target dev="ich0" managed="no"/>
          <model type="virtio"/>
          <driver queues="2" rx_queue_size="256"/>
        </interface>
    qemu:
      description:
        - QEMU's C(-netdev) and C(-device) arguments (and C(-chardev) for vhost-user), one argv word an element. A
          multi-queue NIC gets C(mq=on) and C(vectors=2*queues+2). vhost-user also needs the guest's memory shared
          (C(-object memory-backend-file,share=on,...)), which is the VM's, not the NIC's.
        - O(config[].guest.driver), O(config[].guest.boot_order), O(config[].guest.rom), O(config[].guest.acpi_index),
          O(config[].guest.alias) and O(config[].tune) become C(-device)/C(-netdev) properties as libvirt spells them
          for QEMU (C(tx=bh), C(host_tso4=off), C(bootindex), C(rombar), C(acpi-index), C(id), C(sndbuf)).
      type: list
      elements: str
      sample: ["-netdev", "tap,id=hn-ich0,ifname=ich0,script=no,downscript=no,queues=2",
               "-device", "virtio-net-pci,netdev=hn-ich0,mac=a4:a1:c2:00:00:01,mq=on,vectors=6,rx_queue_size=256"]
    cloud_hypervisor:
      description:
        - The value of one C(--net) argument. C(num_queues) counts rx and tx queues, so it is twice
          O(config[].guest.queues). C(ip) and C(mask) are left out; in cloud-hypervisor they address the host's tap,
          which here is a bridge port. O(config[].bandwidth) becomes C(bw_size), C(bw_one_time_burst) and
          C(bw_refill_time) (not with vhost-user); O(config[].guest.driver) C(iommu) and offloads become C(iommu),
          C(offload_tso), C(offload_ufo) and C(offload_csum); a O(config[].guest.address) with only a PCI domain
          becomes C(pci_segment).
      type: str
      sample: tap=ich0,mac=a4:a1:c2:00:00:01,host_mac=fe:a1:c2:00:00:01,num_queues=4,queue_size=256,id=ich0
    firecracker:
      description:
        - One entry of C(network-interfaces) in Firecracker's API and configuration file (taps with one queue pair).
          O(config[].bandwidth) becomes C(rx_rate_limiter) (inbound) and C(tx_rate_limiter) (outbound) token buckets.
      type: dict
      sample: {"iface_id": "fc0", "host_dev_name": "fc0", "guest_mac": "52:54:00:00:00:0a"}
    kubevirt:
      description:
        - The VirtualMachine's C(interfaces) and C(networks) entries (O(config[].kubevirt)) and, on a Multus network,
          the C(NetworkAttachmentDefinition) (C(network_attachment_definition)) of the bridge CNI (a tap on
          O(config[].bridge)) or of the sriov CNI (a VF, kind V(hostdev), with the resource name annotation).
      type: dict
    not_rendered:
      description: With O(targets) omitted, the targets that cannot express the item, each with the field and the reason.
      type: dict
      sample: {"firecracker": "guest.queues: Firecracker's virtio-net has one queue pair"}
parsed:
  description:
    - The interfaces found in O(running_config) that carry this collection's mark, as config items.
    - For libvirt XML, every C(<interface>), as config items that render back to the same XML.
  returned: when O(state=parsed)
  type: list
  elements: dict
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.hypervisor.networking.plugins.module_utils.backend.netlink import HAS_PYROUTE2
from ansible_collections.hypervisor.networking.plugins.module_utils.argspec import checked_module
from ansible_collections.hypervisor.networking.plugins.module_utils.engine import COMMON_ARGUMENT_SPEC
from ansible_collections.hypervisor.networking.plugins.module_utils.entry import run
from ansible_collections.hypervisor.networking.plugins.module_utils.render import nic

GUEST_SPEC = {
    "mac": {"type": "str"},
    "model": {"type": "str", "choices": ["virtio", "virtio-transitional", "virtio-non-transitional", "e1000", "e1000e", "igb", "rtl8139", "vmxnet3",
                                         "ne2k_pci", "pcnet"]},
    "queues": {"type": "int"},
    "queue_size": {"type": "int"},
    "ip": {"type": "str"},
    "vcpus": {"type": "int"},
    "vhost": {"type": "bool"},
    # libvirt's sub-elements; their keys are checked by model/nic_elements.py, which names the field
    "driver": {"type": "dict"},
    "boot_order": {"type": "int"},
    "rom": {"type": "dict"},
    "coalesce": {"type": "dict"},
    "teaming": {"type": "dict"},
    "alias": {"type": "str"},
    "acpi_index": {"type": "int"},
    "address": {"type": "dict"},
    "dev": {"type": "str"},
}

CONFIG_SPEC = {
    "name": {"type": "str", "required": True},
    "kind": {"type": "str", "choices": ["tap", "macvtap", "vhostuser", "hostdev", "user", "vdpa", "mcast", "server", "client", "udp"]},
    "libvirt_type": {"type": "str", "choices": ["ethernet", "bridge", "network", "direct"]},
    "target": {"type": "bool"},
    "network": {"type": "str"},
    "portgroup": {"type": "str"},
    "socket_mode": {"type": "str", "choices": ["server", "client"]},
    "reconnect": {"type": "dict"},
    "managed": {"type": "bool"},
    "assignment": {"type": "str", "choices": ["vfio", "kvm", "xen"]},
    "pci_address": {"type": "str"},
    "device": {"type": "str"},
    "source_address": {"type": "str"},
    "source_port": {"type": "int"},
    "local_address": {"type": "str"},
    "local_port": {"type": "int"},
    "trust_guest_rx_filters": {"type": "bool"},
    "bandwidth": {"type": "dict"},
    "vlan": {"type": "dict"},
    "virtualport": {"type": "dict"},
    "filterref": {"type": "dict"},
    "backend": {"type": "dict"},
    "backenddomain": {"type": "str"},
    "script": {"type": "str"},
    "downscript": {"type": "str"},
    "ip_addresses": {"type": "list", "elements": "dict"},
    "routes": {"type": "list", "elements": "dict"},
    "tune": {"type": "dict"},
    "kubevirt": {"type": "dict"},
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
                         database={"type": "str"}, vhost_socket_dir={"type": "path"},
                         targets={"type": "list", "elements": "str", "choices": list(nic.TARGETS)})
    module = checked_module(argument_spec, supports_check_mode=True)
    if not HAS_PYROUTE2 and module.params["state"] not in ("rendered", "parsed"):
        module.fail_json(msg=missing_required_lib("pyroute2"))
    run(module, "vm_interface")


if __name__ == "__main__":
    main()
