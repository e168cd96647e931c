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
  - Removing a network (or its uplink) moves such addresses and routes back to the uplink, with the same gateway check.
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
      - V(kernel) builds networks from kernel objects (netlink, nftables, dnsmasq).
      - V(libvirt) has libvirtd make them (C(virsh net-list) shows them, guests name them in C(<interface type='network'>)),
        through libvirt's Python binding (Debian C(python3-libvirt), PyPI C(libvirt-python)), needed on the managed host
        only for this backend. Definitions are persistent and autostarted; a network is this collection's when its
        C(<metadata>) carries the collection's mark, so O(state=overridden) and O(state=deleted) never touch C(default)
        or any network defined by hand (O(adopt=true) takes one over).
      - The same config items serve both backends; a field only one backend can make is refused by the other, and the
        message names the field and the backend that can make it. Libvirt-only are the forward modes V(private),
        V(vepa), V(passthrough) and V(hostdev) with their pools, O(config[].bridge.zone), O(config[].uuid),
        O(config[].ipv6), O(config[].trust_guest_rx_filters), O(config[].vlan), O(config[].virtualport),
        O(config[].portgroups) and O(config[].autostart);
        kernel-only are O(config[].bridge.uplink) and O(config[].port_forwards), and in O(config[].forward.mode=bridge)
        also O(config[].mtu), O(config[].mac), O(config[].ips) and the bridge's STP and delay (libvirt puts guests on
        an existing host bridge and leaves it alone). With V(libvirt), V(nat), V(route) and V(open) need
        O(config[].ips).
      - A name belongs to one backend at a time; a network saved under one backend is refused under the other until it
        is deleted there.
      - With V(libvirt), O(state=rendered) returns RV(rendered[].libvirt_xml) and O(state=parsed) reads network XML
        from O(running_config); both work without libvirtd and need the Python package lxml (C(python3-lxml)).
    type: str
    choices: [kernel, libvirt]
    default: kernel
  uri:
    description:
      - With O(backend=libvirt), the libvirt connection URI.
    type: str
    default: qemu:///system
  allow_restart:
    description:
      - With O(backend=libvirt), what libvirt changes on a running network without a restart is changed live and in
        the persistent definition (C(virNetworkUpdate)), that is DHCP hosts and ranges, DNS hosts, TXT and SRV records,
        portgroups, forward interfaces. Any other change of a running network (forward mode, bridge, addresses,
        domain, MTU, MAC...) needs the network restarted, which briefly cuts running guests off; it is refused, with
        the fields named, unless this is V(true).
      - After an allowed restart, the taps that were on the network's bridge (running guests) are put back on it and
        checked; libvirt itself does that only when libvirtd restarts.
    type: bool
    default: false
  config:
    description: The networks.
    type: list
    elements: dict
    suboptions:
      name:
        description: Network name (1-64 letters, digits, C(_ . -), not starting with C(.) or C(-)), as libvirt's C(<name>).
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
              - V(nat) routes the subnets out through the host with masquerading, as libvirt's "default" network
                (in the network's nftables table, see the notes); outbound from the subnets accepted (only via
                O(config[].forward.dev) when set), inbound only related/established, guest-to-guest accepted,
                224.0.0.0/24 and 255.255.255.255 left alone, TCP/UDP source ports mapped into 1024-65535.
                IPv6 is routed without NAT unless O(config[].forward.nat.ipv6) is set.
              - V(route) forwards without NAT in both directions (only via O(config[].forward.dev) when set); the
                upstream router needs a route to the subnets.
              - V(open) forwards with no firewall rules at all.
              - V(private), V(vepa) and V(passthrough) (libvirt only) give each guest a macvtap in that mode on one NIC of
                the pool O(config[].forward.interfaces) (or the VFs of O(config[].forward.pf)); V(bridge) with such a
                pool is macvtap's bridge mode.
              - V(hostdev) (libvirt only) passes an SR-IOV VF of the pool O(config[].forward.addresses) (or of
                O(config[].forward.pf)) through to the guest.
              - V(isolated) networks with addresses get a table that rejects forwarding in and out of the bridge.
              - V(nat), V(route) and V(open) turn on C(net.ipv4.ip_forward) / C(net.ipv6.conf.all.forwarding) for
                the families of their addresses (per network namespace); when no network needs them any more they
                go back to the value found before.
            type: str
            choices: [isolated, bridge, nat, route, open, private, vepa, passthrough, hostdev]
          dev:
            description:
              - With V(nat) or V(route), restrict forwarding to this host device (libvirt's C(dev)). Not with V(open).
              - With a macvtap pool (libvirt only), the first of O(config[].forward.interfaces), as libvirt writes it; alone,
                a pool of this one NIC.
            type: str
          interfaces:
            description:
              - The pool of host NICs of a macvtap network (V(bridge), V(private), V(vepa), V(passthrough); libvirt's
                C(<interface dev>)); libvirt only.
            type: list
            elements: str
          pf:
            description:
              - An SR-IOV physical function whose VFs are the pool (libvirt's C(<pf dev>)), for a macvtap or V(hostdev)
                network; instead of O(config[].forward.interfaces) or O(config[].forward.addresses). libvirt only.
            type: str
          addresses:
            description:
              - The pool of a V(hostdev) network, PCI functions written C(domain:bus:slot.function) in hex, such as
                C(0000:04:00.1) (the domain may be left out; libvirt's C(<address type='pci'>)). libvirt only.
            type: list
            elements: str
          driver:
            description: How a V(hostdev) network assigns the device (libvirt's C(<driver name>)); libvirt only.
            type: str
            choices: [vfio, kvm]
          managed:
            description:
              - V(true) lets libvirt bind each VF of a V(hostdev) network to the passthrough driver itself (libvirt's
                C(managed)); libvirt only.
            type: bool
          nat:
            description: NAT settings, only with O(config[].forward.mode=nat) (libvirt's C(<nat>)).
            type: dict
            suboptions:
              addresses:
                description: SNAT to this IPv4 address range instead of masquerading to the outgoing device's address.
                type: dict
                suboptions:
                  start:
                    description: First address.
                    type: str
                    required: true
                  end:
                    description: Last address; defaults to O(config[].forward.nat.addresses.start).
                    type: str
              ports:
                description: Source port range for TCP and UDP (1-65535); default 1024-65535.
                type: dict
                suboptions:
                  start:
                    description: First port.
                    type: int
                    required: true
                  end:
                    description: Last port; defaults to O(config[].forward.nat.ports.start).
                    type: int
              ipv6:
                description: Masquerade IPv6 too (libvirt's C(<nat ipv6='yes'/>)); otherwise IPv6 is routed.
                type: bool
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
                M(hypervisor.networking.vm_interface) default to learning and unicast flooding off, with a static
                FDB entry for each guest's MAC.
            type: str
            choices: [kernel, libvirt]
          uplink:
            description:
              - A NIC (or bond, or veth) to enslave to the bridge, only with O(config[].forward.mode=bridge).
                Its addresses and routes move to the bridge. Kernel backend only.
            type: str
          zone:
            description:
              - The firewalld zone of the bridge libvirt makes (V(nat), V(route), V(open), V(isolated)); libvirt only.
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
          - Addresses that moved onto the bridge from O(config[].bridge.uplink) are not listed here (they go back to
            the uplink when it leaves); RV(after[].host.addresses) shows them.
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
            description: IPv4 netmask such as C(255.255.255.0), instead of O(config[].ips[].prefix); host masks such as C(0.0.0.255) are refused.
            type: str
          family:
            description: Address family; checked against the address.
            type: str
            choices: [ipv4, ipv6]
          tftp_root:
            description:
              - Serve this directory by TFTP (libvirt's C(<tftp root>)); IPv4, one address per network.
              - An absolute path of at most 255 bytes without C(,).
            type: str
          local_ptr:
            description:
              - Answer reverse DNS (PTR) queries for this subnet locally, never upstream (libvirt's C(localPtr)); an address
                the network's DNS has no name for gets NXDOMAIN instead of a forwarded query. The kernel backend writes
                dnsmasq's C(local=/<reverse zone>/) line, as libvirt does.
              - The prefix must be whole reverse DNS labels, a multiple of 8 for IPv4 and of 4 for IPv6.
              - Needs the network's DNS (not with O(config[].dns.enable=false)); on an isolated network it starts dnsmasq.
            type: bool
          dhcp:
            description:
              - DHCP on this address's subnet (libvirt's C(<dhcp>)), served by the network's own dnsmasq; one IPv4
                and one IPv6 address per network may have it. IPv6 subnets always get router advertisements.
              - The network's O(config[].mtu) is handed out as DHCP option 26 (and in router advertisements).
              - Not with O(config[].forward.mode=bridge).
            type: dict
            suboptions:
              ranges:
                description: Address pools, inside the subnet, without the network's own address.
                type: list
                elements: dict
                suboptions:
                  start:
                    description: First address.
                    type: str
                    required: true
                  end:
                    description: Last address.
                    type: str
                    required: true
                  lease:
                    description:
                      - Lease time of the range (libvirt's C(<lease>)); without it dnsmasq's default, one hour.
                      - From 2 minutes to 2147483647 seconds, or V(0).
                    type: dict
                    suboptions:
                      expiry:
                        description: Lease time; V(0) never expires.
                        type: int
                        required: true
                      unit:
                        description: Unit of O(config[].ips[].dhcp.ranges[].lease.expiry); libvirt's default is minutes.
                        type: str
                        choices: [seconds, minutes, hours]
              hosts:
                description:
                  - Reservations. IPv4 hosts are identified by O(config[].ips[].dhcp.hosts[].mac) (or id or name),
                    IPv6 hosts by O(config[].ips[].dhcp.hosts[].id) (DUID) or name.
                type: list
                elements: dict
                suboptions:
                  mac:
                    description: MAC address (IPv4 only).
                    type: str
                  name:
                    description: Host name, also resolvable through the network's DNS.
                    type: str
                  ip:
                    description: The reserved address, inside the subnet.
                    type: str
                  id:
                    description: Client id or DUID as hex octets separated by colons.
                    type: str
                  lease:
                    description:
                      - Lease time of the reservation (libvirt's C(<lease>)); without it, the range's or dnsmasq's default.
                      - From 2 minutes to 2147483647 seconds, or V(0).
                    type: dict
                    suboptions:
                      expiry:
                        description: Lease time; V(0) never expires.
                        type: int
                        required: true
                      unit:
                        description: Unit of O(config[].ips[].dhcp.hosts[].lease.expiry); libvirt's default is minutes.
                        type: str
                        choices: [seconds, minutes, hours]
              bootp:
                description: BOOTP/PXE boot file (IPv4 only).
                type: dict
                suboptions:
                  file:
                    description: Boot file name; at most 255 bytes of printable characters without C(,).
                    type: str
                    required: true
                  server:
                    description: TFTP server address; default this host.
                    type: str
      routes:
        description:
          - Static routes to subnets behind a guest (libvirt's C(<route>)). The gateway must be inside the subnet of
            one of O(config[].ips). The routes carry protocol number 99 so only they are ever removed.
        type: list
        elements: dict
        suboptions:
          family:
            description: Address family; checked against the address.
            type: str
            choices: [ipv4, ipv6]
          address:
            description: Destination network address.
            type: str
            required: true
          prefix:
            description: Destination prefix length; default a host route.
            type: int
          gateway:
            description: Next hop, reachable through one of the network's subnets.
            type: str
            required: true
          metric:
            description: Route metric; default 0 for IPv4 and 1024 for IPv6, as the kernel has them.
            type: int
      domain:
        description: DNS domain of the network's DHCP and DNS (libvirt's C(<domain>)).
        type: dict
        suboptions:
          name:
            description: Domain name.
            type: str
            required: true
          local_only:
            description: Answer names in the domain only from this network's DNS, never forward them.
            type: bool
      dns:
        description:
          - The network's DNS server (dnsmasq, libvirt's C(<dns>)). It runs by default on V(nat), V(route) and
            V(open) networks with addresses, and on V(isolated) ones when O(config[].dns), O(config[].domain) or
            DHCP is set. Every instance runs unprivileged (user C(dnsmasq), else C(nobody)) and listens on its
            bridge only.
        type: dict
        suboptions:
          enable:
            description: V(false) runs no DNS (DHCP still runs when configured). Default V(true).
            type: bool
          forward_plain_names:
            description: V(false) never forwards names without a dot upstream. Default V(true).
            type: bool
          forwarders:
            description: Upstream servers, all or per domain; an entry with only O(config[].dns.forwarders[].addr)
              replaces the host's resolvers.
            type: list
            elements: dict
            suboptions:
              addr:
                description: Server address.
                type: str
              domain:
                description: Only for names in this domain; without addr, such names are answered locally only.
                type: str
          hosts:
            description: Address records.
            type: list
            elements: dict
            suboptions:
              ip:
                description: Address.
                type: str
                required: true
              hostnames:
                description:
                  - Names for the address.
                  - All names of one entry, plus the plain ones with the domain added, must fit in one dnsmasq line of
                    1000 characters; give more names in further entries with the same address.
                type: list
                elements: str
                required: true
          srv:
            description: SRV records (RFC 2782).
            type: list
            elements: dict
            suboptions:
              service:
                description: Service name without the leading underscore.
                type: str
                required: true
              protocol:
                description: Protocol.
                type: str
                choices: [tcp, udp]
                required: true
              domain:
                description: Domain of the record.
                type: str
              target:
                description: Target host name (C(.) for "not available").
                type: str
              port:
                description: Port.
                type: int
              priority:
                description: Priority.
                type: int
              weight:
                description: Weight.
                type: int
          txt:
            description: TXT records.
            type: list
            elements: dict
            suboptions:
              name:
                description: Record name, without spaces or commas.
                type: str
                required: true
              value:
                description: Record text; at most 255 characters of printable ASCII without C(") or C(\).
                type: str
                required: true
      bandwidth:
        description:
          - Aggregate bandwidth of the network (libvirt's C(<bandwidth>)), in KiB/s as libvirt has them, applied
            with tc on the bridge. O(config[].bandwidth.inbound) is an HTB root qdisc. O(config[].bandwidth.outbound)
            needs the kernel's tc police (C(act_police)); on kernels without it the task fails before any change.
        type: dict
        suboptions:
          inbound:
            description: Traffic towards the guests.
            type: dict
            suboptions:
              average:
                description: Average rate in KiB/s.
                type: int
              peak:
                description: Peak rate in KiB/s (HTB ceil).
                type: int
              burst:
                description: Burst size in KiB.
                type: int
              floor:
                description: Guaranteed rate of the default class in KiB/s, at most O(config[].bandwidth.inbound.average).
                type: int
          outbound:
            description: Traffic from the guests.
            type: dict
            suboptions:
              average:
                description: Average rate in KiB/s.
                type: int
              peak:
                description: Accepted for libvirt compatibility; ingress policing has no peak (libvirt ignores it too).
                type: int
              burst:
                description: Burst size in KiB.
                type: int
      uuid:
        description: The libvirt network's UUID (libvirt's C(<uuid>)); libvirt makes one up when it is not given. libvirt only.
        type: str
      ipv6:
        description:
          - V(true) lets guests talk IPv6 to each other on a network without IPv6 addresses (libvirt's C(ipv6='yes'));
            libvirt only.
        type: bool
      trust_guest_rx_filters:
        description:
          - Default of the guest interfaces' C(trustGuestRxFilters) (libvirt's attribute of the same name); libvirt only.
        type: bool
      vlan:
        description:
          - VLAN tags for the guests' traffic (libvirt's C(<vlan>)), where the connection can tag (Open vSwitch bridges,
            V(hostdev) and V(passthrough) VFs); libvirt only.
        type: dict
        suboptions:
          trunk:
            description: V(true) trunks even a single tag; several tags are always a trunk.
            type: bool
          tags:
            description: The tags.
            type: list
            elements: dict
            required: true
            suboptions:
              id:
                description: VLAN id, 0 to 4095.
                type: int
                required: true
              native_mode:
                description: This tag is the native VLAN, sent V(tagged) or V(untagged); one tag at most.
                type: str
                choices: [tagged, untagged]
      virtualport:
        description: The virtual port profile of the guests' connections (libvirt's C(<virtualport>)); libvirt only.
        type: dict
        suboptions:
          type:
            description: V(openvswitch) for an Open vSwitch bridge, V(802.1Qbg) / V(802.1Qbh) for switches that manage ports.
            type: str
            choices: [openvswitch, 802.1Qbg, 802.1Qbh, midonet]
          parameters:
            description: The parameters of the type (libvirt's C(<parameters>) attributes, in snake_case).
            type: dict
            suboptions:
              interface_id:
                description: UUID of the port (V(openvswitch), V(midonet)).
                type: str
              profile_id:
                description: Port profile name, at most 39 characters (V(openvswitch), V(802.1Qbh)).
                type: str
              manager_id:
                description: VSI manager id, 0 to 255 (V(802.1Qbg)).
                type: int
              type_id:
                description: VSI type id, 0 to 16777215 (V(802.1Qbg)).
                type: int
              type_id_version:
                description: VSI type version, 0 to 255 (V(802.1Qbg)).
                type: int
              instance_id:
                description: VSI instance UUID (V(802.1Qbg)).
                type: str
      portgroups:
        description:
          - Classes of guest connections (libvirt's C(<portgroup>)), chosen by the guest interface's C(portgroup);
            libvirt only.
        type: list
        elements: dict
        suboptions:
          name:
            description: Port group name, 1-64 letters, digits, C(_ . -).
            type: str
            required: true
          default:
            description: The port group of guest interfaces that name none; one port group at most.
            type: bool
          trust_guest_rx_filters:
            description: C(trustGuestRxFilters) of the port group's guest interfaces.
            type: bool
          vlan:
            description:
              - VLAN tags for the guests' traffic (libvirt's C(<vlan>)), where the connection can tag (Open vSwitch bridges,
                V(hostdev) and V(passthrough) VFs); libvirt only. The port group's own, instead of the network's.
            type: dict
            suboptions:
              trunk:
                description: V(true) trunks even a single tag; several tags are always a trunk.
                type: bool
              tags:
                description: The tags.
                type: list
                elements: dict
                required: true
                suboptions:
                  id:
                    description: VLAN id, 0 to 4095.
                    type: int
                    required: true
                  native_mode:
                    description: This tag is the native VLAN, sent V(tagged) or V(untagged); one tag at most.
                    type: str
                    choices: [tagged, untagged]
          bandwidth:
            description: Bandwidth of each guest interface of the port group, in KiB/s (libvirt's C(<bandwidth>)).
            type: dict
            suboptions:
              inbound:
                description: Traffic towards the guest.
                type: dict
                suboptions:
                  average:
                    description: Average rate in KiB/s.
                    type: int
                  peak:
                    description: Peak rate in KiB/s.
                    type: int
                  burst:
                    description: Burst size in KiB.
                    type: int
                  floor:
                    description: Guaranteed rate in KiB/s.
                    type: int
              outbound:
                description: Traffic from the guest.
                type: dict
                suboptions:
                  average:
                    description: Average rate in KiB/s.
                    type: int
                  peak:
                    description: Peak rate in KiB/s.
                    type: int
                  burst:
                    description: Burst size in KiB.
                    type: int
          virtualport:
            description: The virtual port profile of the guests' connections (libvirt's C(<virtualport>)); libvirt only.
            type: dict
            suboptions:
              type:
                description: V(openvswitch) for an Open vSwitch bridge, V(802.1Qbg) / V(802.1Qbh) for switches that manage ports.
                type: str
                choices: [openvswitch, 802.1Qbg, 802.1Qbh, midonet]
              parameters:
                description: The parameters of the type (libvirt's C(<parameters>) attributes, in snake_case).
                type: dict
                suboptions:
                  interface_id:
                    description: UUID of the port (V(openvswitch), V(midonet)).
                    type: str
                  profile_id:
                    description: Port profile name, at most 39 characters (V(openvswitch), V(802.1Qbh)).
                    type: str
                  manager_id:
                    description: VSI manager id, 0 to 255 (V(802.1Qbg)).
                    type: int
                  type_id:
                    description: VSI type id, 0 to 16777215 (V(802.1Qbg)).
                    type: int
                  type_id_version:
                    description: VSI type version, 0 to 255 (V(802.1Qbg)).
                    type: int
                  instance_id:
                    description: VSI instance UUID (V(802.1Qbg)).
                    type: str
      autostart:
        description:
          - Start the network when libvirtd starts (C(virsh net-autostart)); libvirt only (the kernel backend restores
            the networks it saved at boot, see O(persist)).
        type: bool
      port_forwards:
        description:
          - Inbound DNAT to a guest, like KubeVirt's masquerade C(ports). Kernel backend only. Only with O(config[].forward.mode=nat) or
            V(route). Connections to the host (any local address, or O(config[].port_forwards[].host_address)) on
            O(config[].port_forwards[].host_port) go to the guest; guests reach the forward too (hairpin).
        type: list
        elements: dict
        suboptions:
          protocol:
            description: Protocol.
            type: str
            choices: [tcp, udp]
            default: tcp
          host_port:
            description: Port on the host.
            type: int
            required: true
          guest_ip:
            description: The guest's address, inside one of the network's subnets.
            type: str
            required: true
          guest_port:
            description: Port on the guest; default O(config[].port_forwards[].host_port).
            type: int
          host_address:
            description: Only connections to this host address; default any local address.
            type: str
notes:
  - The firewall of each network is one nftables table owned by the collection; its first rule carries the ownership
    mark with a digest, so a table edited by hand is put back on the next run. Tables without the mark are never
    changed or removed.
  - The table is C(inet hvnet_<name>) when the network name has only letters, digits and C(_). Otherwise every other
    character becomes C(_) and C(_) plus the first 6 hex digits of the name's SHA-256 are appended, so that C(ich-int)
    and C(ich_int) stay apart; C(ich-int) gets C(inet hvnet_ich_int_b81816). RV(after[].host.nftables_table) returns it.
  - One dnsmasq per network. Its configuration, pid file and leases are C(<name>.conf), C(<name>.pid) and
    C(<name>.leases) in C(/run/hypervisor-networking/dnsmasq/) (inside C(ip netns exec NS),
    C(/run/hypervisor-networking/netns/NS/dnsmasq/)); it is restarted only when its configuration changed, and leases
    survive restarts. Where systemd runs, each instance is a unit C(hvnet-dnsmasq-<scope>-<name>.service) (scope is
    the C(ip netns) name, or C(host)); elsewhere it is started directly.
  - The service settings last applied to a network, fingerprints of its nftables table and the forwarding sysctl
    values found before are runtime files in the same directory tree; see docs/state-and-recovery.md.
  - Removing a network removes exactly its table, its dnsmasq and its files.
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

- name: A host bridge on the uplink NIC eno1; the host's address moves to the bridge without cutting it off
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

- name: libvirt's "default" network without libvirt, plus a reservation, DNS names and a port forward
  hypervisor.networking.vm_network:
    config:
      - name: default
        bridge: {name: virbr0}
        forward: {mode: nat}
        mtu: 1450                      # also handed to guests as DHCP option 26
        ips:
          - address: 192.168.122.1
            netmask: 255.255.255.0
            dhcp:
              ranges: [{start: 192.168.122.2, end: 192.168.122.254}]
              hosts: [{mac: "52:54:00:6b:3c:58", name: web, ip: 192.168.122.10}]
          - {address: "2001:db8:ca2:2::1", prefix: 64}
        domain: {name: vm.example.com}
        dns:
          hosts: [{ip: 192.168.122.10, hostnames: [web, www]}]
        port_forwards:
          - {protocol: tcp, host_port: 8443, guest_ip: 192.168.122.10, guest_port: 443}

- name: A routed network restricted to eth1 (until eth1 exists, the module warns), with a route to a subnet behind a guest
  hypervisor.networking.vm_network:
    config:
      - name: local
        bridge: {name: virbr1}
        forward: {mode: route, dev: eth1}
        ips:
          - {address: 192.168.122.1, prefix: 24, dhcp: {ranges: [{start: 192.168.122.2, end: 192.168.122.254}]}}
        routes:
          - {address: 192.168.222.0, prefix: 24, gateway: 192.168.122.2}

- name: NAT to a fixed public range and port range, IPv6 masqueraded too, inbound bandwidth capped
  hypervisor.networking.vm_network:
    config:
      - name: natpool
        forward:
          mode: nat
          nat: {addresses: {start: 203.0.113.10, end: 203.0.113.20}, ports: {start: 20000, end: 40000}, ipv6: true}
        ips: [{address: 10.10.0.1, prefix: 24}, {address: "fd00:10::1", prefix: 64}]
        bandwidth:
          inbound: {average: 1000, peak: 5000, burst: 5120}

- name: Only the networks listed here may exist among those the collection manages
  hypervisor.networking.vm_network:
    state: overridden
    config:
      - name: lan
        forward: {mode: bridge}
        bridge: {name: br0, uplink: eno1}

- name: The networks the collection manages, as config items
  hypervisor.networking.vm_network:
    state: gathered
  register: networks

- name: The commands, nftables table and dnsmasq configuration of a network, without a host
  hypervisor.networking.vm_network:
    state: rendered
    config:
      - name: default
        bridge: {name: virbr0}
        forward: {mode: nat}
        ips: [{address: 192.168.122.1, prefix: 24, dhcp: {ranges: [{start: 192.168.122.2, end: 192.168.122.254}]}}]

- name: An Open vSwitch bridge with VLANs, as a libvirt network definition (offline, no libvirtd)
  hypervisor.networking.vm_network:
    backend: libvirt
    state: rendered
    config:
      - name: ovs-net
        forward: {mode: bridge}
        bridge: {name: ovsbr0}
        virtualport: {type: openvswitch}
        vlan:
          trunk: true
          tags: [{id: 42, native_mode: untagged}, {id: 47}]
        portgroups:
          - {name: dontpanic, vlan: {tags: [{id: 42}]}}
  register: ovs_net   # ovs_net.rendered[0].libvirt_xml

- name: A pool of SR-IOV VFs for PCI passthrough, rendered
  hypervisor.networking.vm_network:
    backend: libvirt
    state: rendered
    config:
      - name: vf-pool
        forward: {mode: hostdev, managed: true, driver: vfio, addresses: ["0000:04:00.1", "0000:04:00.2"]}

- name: libvirt network XML (virsh net-dumpxml output) as config items
  hypervisor.networking.vm_network:
    backend: libvirt
    state: parsed
    running_config: |
      <network>
        <name>default</name>
        <forward mode="nat"/>
        <bridge name="virbr0"/>
        <ip address="192.168.122.1" netmask="255.255.255.0">
          <dhcp>
            <range start="192.168.122.2" end="192.168.122.254"/>
          </dhcp>
        </ip>
      </network>
  register: from_xml   # from_xml.parsed[0].ips[0].dhcp.ranges

- name: Remove one network; its uplink gets the host's addresses and routes back
  hypervisor.networking.vm_network:
    state: deleted
    config:
      - name: lan

- name: A NAT network made by libvirtd (backend libvirt), with a reserved address; guests name it in <interface type='network'>
  hypervisor.networking.vm_network:
    backend: libvirt
    config:
      - name: lab
        forward: {mode: nat}
        bridge: {name: virbr-lab}
        ips:
          - address: 198.51.100.1
            prefix: 24
            dhcp:
              ranges: [{start: 198.51.100.100, end: 198.51.100.199}]
              hosts: [{mac: "52:54:00:00:00:10", name: build1, ip: 198.51.100.10}]

- name: A change libvirt cannot make live (the MTU) restarts the running libvirt network, only when allowed
  hypervisor.networking.vm_network:
    backend: libvirt
    allow_restart: true
    state: merged
    config:
      - name: lab
        mtu: 9000
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
    - "ip link add name ich-int type bridge stp_state 1 forward_delay 200 address 52:54:00:b8:18:16;
      ip link set ich-int alias 'hypervisor.networking/vm_network mac_table_manager=kernel mode=bridge name=ich-int' up"
    - ip addr add 192.168.4.1/24 dev ich-int
before:
  description: The networks this collection owned before the call, as config items plus C(host).
  returned: with a state that changes the host
  type: list
  elements: dict
  contains:
    host:
      description:
        - Read-only, what the host has beyond the config item (never part of RV(gathered), not an option).
      type: dict
      contains:
        addresses:
          description:
            - Every address of the bridge, O(config[].ips) and the addresses moved onto it from
              O(config[].bridge.uplink) (those go back to the uplink when it leaves, so they are not in C(ips)).
          type: list
          elements: str
          sample: ["198.51.100.10/24"]
        nftables_table:
          description: The network's nftables table as C(family name), or null when it has none (see the notes).
          type: str
          sample: inet hvnet_ich_int_b81816
        xml:
          description:
            - With O(backend=libvirt), the network's definition as libvirt XML, with the collection's mark in
              C(<metadata>) (diff mode shows it before and after). Instead of C(addresses) and C(nftables_table).
          type: str
        active:
          description: With O(backend=libvirt), whether libvirt runs the network.
          type: bool
        autostart:
          description: With O(backend=libvirt), whether libvirt starts the network with libvirtd.
          type: bool
after:
  description:
    - The networks this collection owns after the call (in check mode, as they would be), as config items plus C(host).
    - Diff mode shows the same items, for the networks the call touched.
  returned: with a state that changes the host
  type: list
  elements: dict
  contains:
    host:
      description:
        - Read-only, what the host has beyond the config item (never part of RV(gathered), not an option).
      type: dict
      contains:
        addresses:
          description:
            - Every address of the bridge, O(config[].ips) and the addresses moved onto it from
              O(config[].bridge.uplink) (those go back to the uplink when it leaves, so they are not in C(ips)).
          type: list
          elements: str
          sample: ["198.51.100.10/24"]
        nftables_table:
          description: The network's nftables table as C(family name), or null when it has none (see the notes).
          type: str
          sample: inet hvnet_ich_int_b81816
        xml:
          description:
            - With O(backend=libvirt), the network's definition as libvirt XML, with the collection's mark in
              C(<metadata>) (diff mode shows it before and after). Instead of C(addresses) and C(nftables_table).
          type: str
        active:
          description: With O(backend=libvirt), whether libvirt runs the network.
          type: bool
        autostart:
          description: With O(backend=libvirt), whether libvirt starts the network with libvirtd.
          type: bool
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
    nftables:
      description: The nftables table of the network (C(nft -f) syntax), or null when it needs none.
      type: str
    dnsmasq:
      description: The dnsmasq configuration of the network (file locations as placeholders), or null when it runs none.
      type: str
    tc:
      description: The tc commands that shape the network's bandwidth.
      type: list
      elements: str
    sysctl:
      description: The forwarding sysctls the network needs.
      type: list
      elements: str
    libvirt_xml:
      description:
        - With O(backend=libvirt), instead of the kernel backend's renderings, the network's C(<network>) element as
          C(virsh net-define) takes it (without the collection's C(<metadata>) mark).
      type: str
parsed:
  description:
    - The networks found in O(running_config) that carry this collection's mark, as config items.
    - Only what C(ip) shows, the bridge and its addresses; the services (DHCP, DNS, routes, port forwards) live in the
      saved state, not in that output.
    - With libvirt network XML in O(running_config) (one or more C(<network>) elements, as C(virsh net-dumpxml) writes
      them, or inside one C(<networks>) element), every network with every field. An element or attribute without a
      config field is an error that names it; C(<metadata>) (applications' own data) is skipped. A running network's
      C(connections) count is returned as the read-only field C(connections), which config does not take.
  returned: when O(state=parsed)
  type: list
  elements: dict
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.hypervisor.networking.plugins.module_utils.backend.netlink import HAS_PYROUTE2
from ansible_collections.hypervisor.networking.plugins.module_utils.argspec import checked_module
from ansible_collections.hypervisor.networking.plugins.module_utils.engine import COMMON_ARGUMENT_SPEC
from ansible_collections.hypervisor.networking.plugins.module_utils.entry import run

LEASE_SPEC = {"type": "dict", "options": {"expiry": {"type": "int", "required": True},
                                          "unit": {"type": "str", "choices": ["seconds", "minutes", "hours"]}}}
BANDWIDTH_SPEC = {"type": "dict", "options": {
    "inbound": {"type": "dict", "options": {"average": {"type": "int"}, "peak": {"type": "int"}, "burst": {"type": "int"}, "floor": {"type": "int"}}},
    "outbound": {"type": "dict", "options": {"average": {"type": "int"}, "peak": {"type": "int"}, "burst": {"type": "int"}}},
}}
VLAN_SPEC = {"type": "dict", "options": {
    "trunk": {"type": "bool"},
    "tags": {"type": "list", "elements": "dict", "required": True, "options": {
        "id": {"type": "int", "required": True}, "native_mode": {"type": "str", "choices": ["tagged", "untagged"]}}},
}}
VIRTUALPORT_SPEC = {"type": "dict", "options": {
    "type": {"type": "str", "choices": ["openvswitch", "802.1Qbg", "802.1Qbh", "midonet"]},
    "parameters": {"type": "dict", "options": {
        "interface_id": {"type": "str"}, "profile_id": {"type": "str"}, "manager_id": {"type": "int"},
        "type_id": {"type": "int"}, "type_id_version": {"type": "int"}, "instance_id": {"type": "str"}}},
}}
CONFIG_SPEC = {
    "name": {"type": "str", "required": True},
    "forward": {"type": "dict", "options": {
        "mode": {"type": "str", "choices": ["isolated", "bridge", "nat", "route", "open", "private", "vepa", "passthrough", "hostdev"]},
        "dev": {"type": "str"},
        "interfaces": {"type": "list", "elements": "str"},
        "pf": {"type": "str"},
        "addresses": {"type": "list", "elements": "str"},
        "driver": {"type": "str", "choices": ["vfio", "kvm"]},
        "managed": {"type": "bool"},
        "nat": {"type": "dict", "options": {
            "addresses": {"type": "dict", "options": {"start": {"type": "str", "required": True}, "end": {"type": "str"}}},
            "ports": {"type": "dict", "options": {"start": {"type": "int", "required": True}, "end": {"type": "int"}}},
            "ipv6": {"type": "bool"},
        }},
    }},
    "bridge": {"type": "dict", "options": {
        "name": {"type": "str"},
        "stp": {"type": "bool"},
        "delay": {"type": "int"},
        "mac_table_manager": {"type": "str", "choices": ["kernel", "libvirt"]},
        "uplink": {"type": "str"},
        "zone": {"type": "str"},
    }},
    "mtu": {"type": "int"},
    "mac": {"type": "str"},
    "ips": {"type": "list", "elements": "dict", "options": {
        "address": {"type": "str", "required": True},
        "prefix": {"type": "int"},
        "netmask": {"type": "str"},
        "family": {"type": "str", "choices": ["ipv4", "ipv6"]},
        "tftp_root": {"type": "str"},
        "local_ptr": {"type": "bool"},
        "dhcp": {"type": "dict", "options": {
            "ranges": {"type": "list", "elements": "dict", "options": {
                "start": {"type": "str", "required": True}, "end": {"type": "str", "required": True}, "lease": LEASE_SPEC}},
            "hosts": {"type": "list", "elements": "dict", "options": {
                "mac": {"type": "str"}, "name": {"type": "str"}, "ip": {"type": "str"}, "id": {"type": "str"}, "lease": LEASE_SPEC}},
            "bootp": {"type": "dict", "options": {"file": {"type": "str", "required": True}, "server": {"type": "str"}}},
        }},
    }},
    "routes": {"type": "list", "elements": "dict", "options": {
        "family": {"type": "str", "choices": ["ipv4", "ipv6"]},
        "address": {"type": "str", "required": True},
        "prefix": {"type": "int"},
        "gateway": {"type": "str", "required": True},
        "metric": {"type": "int"},
    }},
    "domain": {"type": "dict", "options": {"name": {"type": "str", "required": True}, "local_only": {"type": "bool"}}},
    "dns": {"type": "dict", "options": {
        "enable": {"type": "bool"},
        "forward_plain_names": {"type": "bool"},
        "forwarders": {"type": "list", "elements": "dict", "options": {"addr": {"type": "str"}, "domain": {"type": "str"}}},
        "hosts": {"type": "list", "elements": "dict", "options": {
            "ip": {"type": "str", "required": True}, "hostnames": {"type": "list", "elements": "str", "required": True}}},
        "srv": {"type": "list", "elements": "dict", "options": {
            "service": {"type": "str", "required": True},
            "protocol": {"type": "str", "choices": ["tcp", "udp"], "required": True},
            "domain": {"type": "str"},
            "target": {"type": "str"},
            "port": {"type": "int"},
            "priority": {"type": "int"},
            "weight": {"type": "int"},
        }},
        "txt": {"type": "list", "elements": "dict", "options": {"name": {"type": "str", "required": True}, "value": {"type": "str", "required": True}}},
    }},
    "bandwidth": BANDWIDTH_SPEC,
    "port_forwards": {"type": "list", "elements": "dict", "options": {
        "protocol": {"type": "str", "choices": ["tcp", "udp"], "default": "tcp"},
        "host_port": {"type": "int", "required": True},
        "guest_ip": {"type": "str", "required": True},
        "guest_port": {"type": "int"},
        "host_address": {"type": "str"},
    }},
    "uuid": {"type": "str"},
    "ipv6": {"type": "bool"},
    "trust_guest_rx_filters": {"type": "bool"},
    "vlan": VLAN_SPEC,
    "virtualport": VIRTUALPORT_SPEC,
    "portgroups": {"type": "list", "elements": "dict", "options": {
        "name": {"type": "str", "required": True},
        "default": {"type": "bool"},
        "trust_guest_rx_filters": {"type": "bool"},
        "vlan": VLAN_SPEC,
        "bandwidth": BANDWIDTH_SPEC,
        "virtualport": VIRTUALPORT_SPEC,
    }},
    "autostart": {"type": "bool"},
}


def main():
    argument_spec = dict(
        COMMON_ARGUMENT_SPEC,
        backend={"type": "str", "default": "kernel", "choices": ["kernel", "libvirt"]},
        uri={"type": "str", "default": "qemu:///system"},
        allow_restart={"type": "bool", "default": False},
        config={"type": "list", "elements": "dict", "options": CONFIG_SPEC},
    )
    module = checked_module(argument_spec, supports_check_mode=True)
    offline = module.params["state"] in ("rendered", "parsed")
    if not HAS_PYROUTE2 and not offline and module.params["backend"] == "kernel":
        module.fail_json(msg=missing_required_lib("pyroute2"))
    run(module, "vm_network")


if __name__ == "__main__":
    main()
