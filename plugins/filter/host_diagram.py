# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: host_diagram
short_description: A diagram of a host's VM networking, in Graphviz DOT or Mermaid
version_added: 0.1.0
description:
  - "Draws what the collection's modules report with C(state: gathered) on one host, plus what the host has
    that the collection does not own (greyed, dashed): bridges and their uplinks, taps and macvtaps and the VM
    each serves (from C(guest)), NAT, routed, open and isolated networks with their subnets and DHCP ranges,
    libvirt networks, OVS-DPDK bridges with their DPDK and vhost-user ports and PMD cores, hugepage pools, PCI
    devices bound to a driver, and SR-IOV physical functions with their virtual functions and drivers."
  - The input is a dictionary of module name to that module's C(gathered) list. Every key is optional; items
    are read tolerantly (a field a module does not report is left out of the drawing), so the output of an
    older or newer release of a module still draws.
  - C(playbooks/host_diagram.yml) gathers every module on each host and writes one SVG per host with it.
positional: format
options:
  _input:
    description:
      - "Module name to its C(gathered) list: C(vm_network), C(vm_interface), C(ovs_dpdk_bridge),
        C(ovs_dpdk_port), C(ovs_dpdk_global) (its list of one item, or the item), C(hugepages), C(pci_driver),
        C(sriov_pool)."
      - "C(vm_network) items with C(backend: libvirt) are drawn as libvirt networks (the module's C(gathered) with
        O(hypervisor.networking.vm_network#module:backend=libvirt) does not say so: C(playbooks/host_diagram.yml) adds the key)."
      - "C(sriov_pool) items as that module's C(gathered) returns them, the host's facts under C(host) (C(owned),
        C(total_vfs), each VF's C(pci_address) and C(netdev)). A VF with a network interface is drawn as that link,
        one without as its PCI device, so that libvirt pools and C(pci_driver) items that name it join it."
      - "Key C(host): facts about objects the collection does not own, drawn greyed: C(links), the output of
        C(ip -j -d link show) (a list of links with C(ifname), C(master), C(linkinfo)); links the
        collection owns are drawn once, as the collection's."
    type: dict
    required: true
  format:
    description: The diagram's language.
    type: str
    choices: [dot, mermaid]
    default: dot
  title:
    description: The diagram's title, for example the inventory host name.
    type: str
    default: host
"""

EXAMPLES = r"""
- name: Gather the networks and interfaces of the host
  hypervisor.networking.vm_network:
    state: gathered
  register: networks

- name: Gather the taps
  hypervisor.networking.vm_interface:
    state: gathered
  register: interfaces

- name: Write the host's diagram as DOT (render it with `dot -Tsvg host.dot -o host.svg`)
  ansible.builtin.copy:
    dest: "/tmp/{{ inventory_hostname }}.dot"
    content: >-
      {{ {'vm_network': networks.gathered, 'vm_interface': interfaces.gathered}
         | hypervisor.networking.host_diagram(title=inventory_hostname) }}
    mode: "0644"
  delegate_to: localhost

- name: The same diagram in Mermaid, for a Markdown page
  ansible.builtin.debug:
    msg: "{{ {'vm_network': networks.gathered} | hypervisor.networking.host_diagram('mermaid') }}"
"""

RETURN = r"""
_value:
  description: The diagram, a Graphviz C(digraph) for O(format=dot) or a Mermaid C(flowchart LR) for O(format=mermaid).
  type: str
"""

import re

from ansible.errors import AnsibleFilterError

MODULES = ("vm_network", "vm_interface", "ovs_dpdk_bridge", "ovs_dpdk_port", "ovs_dpdk_global",
           "hugepages", "pci_driver", "sriov_pool")
FORMATS = ("dot", "mermaid")
# The links Open vSwitch makes for its datapaths (userspace and kernel), not a bridge of their own.
OVS_DATAPATH_LINKS = ("ovs-netdev", "ovs-system")
# Ethernet's MTU, which gathered reports for every link: drawn only when another one is set.
DEFAULT_MTU = 1500
# More VFs than this per PF are summed up in one node: a PF can have 256.
VFS_DRAWN = 8

# Node styles: (DOT attributes, Mermaid class). Foreign objects get the "foreign" look on top.
STYLES = {
    "bridge": ('shape=box, style="rounded,filled", fillcolor="#cfe2ff"', "bridge"),
    "port": ('shape=box, style="filled", fillcolor="#ffffff"', "port"),
    "vm": ('shape=box3d, style="filled", fillcolor="#e2f0d9"', "vm"),
    "nic": ('shape=box, style="filled", fillcolor="#fff2cc"', "nic"),
    "ovs": ('shape=box, style="rounded,filled", fillcolor="#fde9d9"', "ovs"),
    "info": ('shape=note, style="filled", fillcolor="#f2f2f2"', "info"),
}
FOREIGN_DOT = 'color="#999999", fontcolor="#888888", style="dashed", fillcolor="#ffffff"'
CLUSTER_COLORS = {"network": "#eef5ff", "ovs": "#fff5ee", "pf": "#f3fbef", "host": "#fafafa"}
MERMAID_CLASSES = (
    "classDef bridge fill:#cfe2ff,stroke:#335;",
    "classDef port fill:#ffffff,stroke:#333;",
    "classDef vm fill:#e2f0d9,stroke:#353;",
    "classDef nic fill:#fff2cc,stroke:#553;",
    "classDef ovs fill:#fde9d9,stroke:#533;",
    "classDef info fill:#f2f2f2,stroke:#555;",
    "classDef foreign fill:#ffffff,stroke:#999,color:#888,stroke-dasharray:4 3;",
)


class Graph:
    """Nodes, clusters and edges, independent of the output language: one model, two renderers."""

    def __init__(self, title):
        self.title = title
        self.nodes = {}      # id -> dict(label=[lines], kind, foreign, cluster)
        self.clusters = {}   # id -> dict(label=[lines], kind)
        self.edges = []      # (from, to, label, dashed)

    def cluster(self, cluster_id, label, kind):
        self.clusters.setdefault(cluster_id, {"label": label, "kind": kind})
        return cluster_id

    def node(self, node_id, label, kind, cluster=None, foreign=False):
        """Adds a node, or completes one drawn before (a link first seen as an uplink, later owned)."""
        known = self.nodes.get(node_id)
        if known is None:
            self.nodes[node_id] = {"label": list(label), "kind": kind, "foreign": foreign, "cluster": cluster}
        elif (known["foreign"] and not foreign) or (known["foreign"] == foreign and known["cluster"] is None and cluster):
            # also a link named first by a network (a macvtap pool's VF), drawn later where it belongs
            known.update(label=list(label), kind=kind, foreign=foreign, cluster=cluster or known["cluster"])
        return node_id

    def edge(self, source, target, label="", dashed=False):
        if (source, target, label, dashed) not in self.edges:
            self.edges.append((source, target, label, dashed))


def _link_id(name):
    return "link:" + name


def _text(value):
    return "" if value is None else str(value)


def _items(state, key):
    """The module's gathered list, checked to be a list of dicts (a clear error naming the item if not)."""
    value = state.get(key)
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise AnsibleFilterError("host_diagram: %s: expected the module's gathered list, got %s" % (key, type(value).__name__))
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise AnsibleFilterError("host_diagram: %s[%d]: expected a dict, got %s" % (key, index, type(item).__name__))
    return value


def _address(ip):
    if not isinstance(ip, dict):
        return _text(ip)
    address = _text(ip.get("address"))
    if ip.get("prefix") is not None:
        return "%s/%s" % (address, ip["prefix"])
    if ip.get("netmask"):
        return "%s/%s" % (address, ip["netmask"])
    return address


def _socket(path):
    """A vhost-user socket by its file name: the directory is the same for every port and would
    make each node as wide as the path."""
    return "socket " + _text(path).rstrip("/").rsplit("/", 1)[-1]


def _dev(value):
    """A device named by a string or by libvirt's {dev: name}."""
    if isinstance(value, dict):
        return value.get("dev") or value.get("name")
    return value


def _host_link(graph, name):
    """A link the collection refers to but may not own (an uplink, a macvtap's lower device): greyed
    until an owner draws it."""
    return graph.node(_link_id(name), [name], "nic", foreign=True)


def _networks(graph, state):
    for net in _items(state, "vm_network"):
        name = _text(net.get("name"))
        forward = net.get("forward") or {}
        bridge = net.get("bridge") or {}
        mode = forward.get("mode") or "isolated"
        libvirt = net.get("backend") == "libvirt"
        # forward.dev of a macvtap pool is only its first interface, drawn with the others
        via = " via " + forward["dev"] if forward.get("dev") and mode in ("nat", "route") else ""
        label = [("libvirt network " if libvirt else "network ") + name, "mode " + mode + via]
        dhcp_hosts = 0
        for ip in net.get("ips") or []:
            label.append(_address(ip))
            dhcp = ip.get("dhcp") if isinstance(ip, dict) else None
            for dhcp_range in (dhcp or {}).get("ranges") or []:
                label.append("DHCP %s - %s" % (_text(dhcp_range.get("start")), _text(dhcp_range.get("end"))))
            dhcp_hosts += len((dhcp or {}).get("hosts") or [])
        if dhcp_hosts:
            label.append("%d DHCP host%s" % (dhcp_hosts, "" if dhcp_hosts == 1 else "s"))
        for route in net.get("routes") or []:
            label.append("route %s via %s" % (_address(route), _text(route.get("gateway"))))
        forwards = net.get("port_forwards") or []
        if forwards:
            label.append("%d port forward%s" % (len(forwards), "" if len(forwards) == 1 else "s"))
        # a kernel network and a libvirt network may share a name: two clusters
        cluster = graph.cluster(("libvirt-net:" if libvirt else "net:") + name, label, "network")

        pool = forward.get("pf") or forward.get("interfaces") or forward.get("addresses")
        if libvirt and mode in ("hostdev", "passthrough", "private", "vepa", "bridge") and pool and not bridge.get("name"):
            # a pool of devices, no bridge: the network node stands for the pool
            node = graph.node("pool:" + name, ["pool " + name], "bridge", cluster)
            devices = [forward["pf"]] if forward.get("pf") else (forward.get("interfaces") or [])
            for device in devices:
                dev = _dev(device)
                if dev:
                    graph.edge(node, _host_link(graph, dev), mode)
            for address in forward.get("addresses") or []:  # VFs of a hostdev pool, by PCI address
                address = _text(address.get("address") if isinstance(address, dict) else address)
                graph.edge(node, graph.node("pci:" + address, ["PCI " + address], "nic", foreign=True), mode)
            continue
        bridge_name = bridge.get("name") or (None if libvirt else name)
        bridge_label = ["bridge " + (bridge_name or "(libvirt chooses)")]
        details = [part for part in (
            "stp" if bridge.get("stp") else "",
            "mtu %s" % net["mtu"] if net.get("mtu") and net["mtu"] != DEFAULT_MTU else "",
            _text(net.get("mac"))) if part]
        if details:
            bridge_label.append(", ".join(details))
        node = graph.node(_link_id(bridge_name) if bridge_name else "net-bridge:" + name, bridge_label, "bridge", cluster)
        if bridge.get("uplink"):
            graph.edge(_host_link(graph, bridge["uplink"]), node, "uplink")
        if forward.get("dev") and mode in ("nat", "route"):
            graph.edge(node, _host_link(graph, forward["dev"]), mode, dashed=True)
        for device in forward.get("interfaces") or []:
            dev = _dev(device)
            if dev:
                graph.edge(node, _host_link(graph, dev), mode, dashed=True)


def _guest_vm(graph, iface, port_node):
    guest = iface.get("guest")
    if not isinstance(guest, dict) or not guest:
        return
    label = ["VM"]
    for key, fmt in (("mac", "%s"), ("ip", "ip %s"), ("model", "%s"), ("queues", "%s queues"), ("vcpus", "%s vCPUs")):
        if guest.get(key) not in (None, ""):
            label.append(fmt % guest[key])
    vm = graph.node("vm:" + _text(iface.get("name")), label, "vm")
    graph.edge(vm, port_node)


def _interfaces(graph, state):
    for iface in _items(state, "vm_interface"):
        name = _text(iface.get("name"))
        kind = iface.get("kind") or "tap"
        label = ["%s %s" % (kind, name)]
        details = []
        if iface.get("multi_queue"):
            details.append("multi-queue")
        if iface.get("owner"):
            details.append("owner " + _text(iface["owner"]))
        if iface.get("mode"):
            details.append(_text(iface["mode"]))
        if iface.get("mtu") and iface["mtu"] != DEFAULT_MTU:
            details.append("mtu %s" % iface["mtu"])
        if iface.get("isolated"):
            details.append("isolated")
        if details:
            label.append(", ".join(details))
        if kind == "vhostuser":
            if iface.get("socket"):
                label.append(_socket(iface["socket"]))
            port = graph.node("ovsport:" + name, label, "port")
            if iface.get("bridge"):
                graph.edge(port, graph.node("ovs:" + iface["bridge"], ["OVS bridge " + iface["bridge"]], "ovs"))
        else:
            port = graph.node(_link_id(name), label, "port")
            if kind == "macvtap" and iface.get("link"):
                graph.edge(port, _host_link(graph, iface["link"]), "macvtap")
            elif iface.get("bridge"):
                graph.edge(port, graph.node(_link_id(iface["bridge"]), [iface["bridge"]], "bridge", foreign=True))
        _guest_vm(graph, iface, port)


def _ovs(graph, state):
    global_items = _items(state, "ovs_dpdk_global")
    settings = global_items[0] if global_items else {}
    for bridge in _items(state, "ovs_dpdk_bridge"):
        name = _text(bridge.get("name"))
        label = ["OVS bridge " + name, "netdev" + (", fail mode " + bridge["fail_mode"] if bridge.get("fail_mode") else "")]
        graph.node("ovs:" + name, label, "ovs", graph.cluster("ovscluster:" + name, ["OVS-DPDK " + name], "ovs"))
    for port in _items(state, "ovs_dpdk_port"):
        name = _text(port.get("name"))
        bridge = _text(port.get("bridge"))
        kind = "bond" if port.get("interfaces") else port.get("type") or "port"
        label = ["%s %s" % (kind, name)]
        devices = []
        if port.get("devargs"):
            label.append(_text(port["devargs"]))
            devices.append(_text(port["devargs"]))
        for member in port.get("interfaces") or []:
            label.append("member %s %s" % (_text(member.get("name")), _text(member.get("devargs"))))
            devices.append(_text(member.get("devargs")))
        if port.get("vhost_server_path"):
            label.append(_socket(port["vhost_server_path"]))
        if port.get("n_rxq"):
            label.append("%s rx queues" % port["n_rxq"])
        affinity = port.get("rxq_affinity") or {}
        if affinity:
            label.append("PMD " + ", ".join("q%s->core %s" % (queue, affinity[queue]) for queue in sorted(affinity, key=str)))
        cluster = graph.cluster("ovscluster:" + bridge, ["OVS-DPDK " + bridge], "ovs")
        node = graph.node("ovsport:" + name, label, "port", cluster)
        graph.edge(node, graph.node("ovs:" + bridge, ["OVS bridge " + bridge], "ovs", cluster))
        for device in devices:
            if "pci:" + device in graph.nodes:  # the PCI device pci_driver bound for this port
                graph.edge("pci:" + device, node, "devargs")
        if port.get("type") in ("dpdkvhostuserclient", "dpdkvhostuser"):
            graph.edge(graph.node("vm:" + name, ["VM (vhost-user)"], "vm"), node)
    info = []
    if settings:
        if settings.get("dpdk_init") is not None:
            info.append("dpdk-init %s" % ("true" if settings["dpdk_init"] else "false"))
        for key, text in (("pmd_cores", "PMD cores"), ("lcore_cores", "lcore cores"), ("socket_mem", "socket mem")):
            if settings.get(key):
                info.append("%s %s" % (text, ",".join(_text(value) for value in settings[key])))
        if settings.get("vhost_sock_dir"):
            info.append("vhost sockets " + _text(settings["vhost_sock_dir"]))
    for pool in _items(state, "hugepages"):
        if pool.get("count"):
            info.append("hugepages %s x %s" % (_text(pool.get("count")), _text(pool.get("size"))))
    if info:
        graph.node("ovs-global", ["Open_vSwitch / host"] + info, "info")


def _vf_node_id(pf, vf):
    """A VF with a netdev is that link (a libvirt macvtap pool names it), one bound to vfio-pci is its PCI
    device (a hostdev pool or pci_driver names it)."""
    if vf.get("netdev"):
        return _link_id(vf["netdev"])
    if vf.get("pci_address"):
        return "pci:" + _text(vf["pci_address"])
    return "vf:%s:%s" % (pf, vf.get("index"))


def _vf_label(vf):
    label = ["VF %s" % _text(vf.get("index"))]
    for key, fmt in (("pci_address", "%s"), ("netdev", "%s"), ("driver", "driver %s")):
        if vf.get(key) not in (None, ""):
            label.append(fmt % vf[key])
    details = []
    if vf.get("mac") and vf["mac"] != "00:00:00:00:00:00":
        details.append(_text(vf["mac"]))
    if vf.get("vlan"):  # 0 is no VLAN
        details.append("vlan %s" % vf["vlan"] + (" qos %s" % vf["qos"] if vf.get("qos") else ""))
    if vf.get("trust"):
        details.append("trust")
    if vf.get("max_tx_rate"):
        details.append("max %s Mbit/s" % vf["max_tx_rate"])
    if vf.get("link_state") in ("enable", "disable"):
        details.append("link " + vf["link_state"])
    if details:
        label.append(", ".join(details))
    return label


def _pci(graph, state):
    # the PFs first: a VF that pci_driver also reports is drawn once, as its PF's VF
    for pool in _items(state, "sriov_pool"):
        # sriov_pool's gathered: the config item, with what only the host knows under `host` (owned,
        # total_vfs, each VF's pci_address and netdev); older shapes had them on the item
        host = pool.get("host") if isinstance(pool.get("host"), dict) else {}
        pf = _text(pool.get("pf") or pool.get("name") or pool.get("pci_address"))
        foreign = host.get("owned", pool.get("owned")) is False
        cluster = graph.cluster("pf:" + pf, ["SR-IOV " + pf], "pf")
        label = ["PF " + pf]
        if pool.get("pci_address") and pool.get("pci_address") != pf:
            label.append(_text(pool["pci_address"]))
        if pool.get("driver"):
            label.append("driver %s" % pool["driver"])
        total = host.get("total_vfs", pool.get("total_vfs"))
        if pool.get("num_vfs") is not None:
            label.append("%s of %s VFs" % (pool["num_vfs"], total) if total is not None else "%s VFs" % pool["num_vfs"])
        if pool.get("eswitch_mode") not in (None, "", "legacy"):  # legacy is every NIC's default
            label.append("eswitch %s" % pool["eswitch_mode"])
        # a PF that is also a bridge's uplink or a macvtap's link is the same node
        pf_node = graph.node(_link_id(pf), label, "nic", cluster, foreign=foreign)
        host_vfs = {vf.get("index"): vf for vf in host.get("vfs") or [] if isinstance(vf, dict)}
        vfs = [dict(host_vfs.get(vf.get("index"), {}), **vf) for vf in pool.get("vfs") or [] if isinstance(vf, dict)]
        for number, vf in enumerate(vfs[:VFS_DRAWN]):
            vf.setdefault("index", vf.get("vf", number))
            graph.edge(pf_node, graph.node(_vf_node_id(pf, vf), _vf_label(vf), "port", cluster, foreign=foreign))
        if len(vfs) > VFS_DRAWN:
            more = graph.node("vf:%s:more" % pf, ["... %d more VFs" % (len(vfs) - VFS_DRAWN)], "port", cluster, foreign=foreign)
            graph.edge(pf_node, more)
    for device in _items(state, "pci_driver"):
        address = _text(device.get("address"))
        graph.node("pci:" + address, ["PCI " + address, "driver " + _text(device.get("driver"))], "nic")


def _host_links(graph, host):
    """Links the collection does not own, greyed, with the bridge each is enslaved to."""
    links = host.get("links") or []
    if not isinstance(links, list):
        raise AnsibleFilterError("host_diagram: host.links: expected the list of `ip -j -d link show`, got %s" % type(links).__name__)
    names = {link.get("ifname") for link in links if isinstance(link, dict)}
    ovs = any(node_id.startswith("ovs:") for node_id in graph.nodes)
    for link in links:
        if not isinstance(link, dict) or not link.get("ifname") or link.get("ifname") == "lo":
            continue
        name = link["ifname"]
        node_id = _link_id(name)
        if node_id in graph.nodes and not graph.nodes[node_id]["foreign"]:
            continue
        if "ovsport:" + name in graph.nodes or "ovs:" + name in graph.nodes or (name in OVS_DATAPATH_LINKS and ovs):
            continue  # the kernel side of an OVS port, netdev bridge or datapath: drawn as OVS's
        kind = ((link.get("linkinfo") or {}).get("info_kind")) or link.get("link_type") or "link"
        graph.node(node_id, [name], "bridge" if kind == "bridge" else "nic", foreign=True)
        graph.nodes[node_id]["label"] = [name, kind]  # also for an uplink drawn before with its name only
        master = link.get("master")
        known = {(source, target) for source, target, _label, _dashed in graph.edges}
        if master and master in names and (node_id, _link_id(master)) not in known:
            graph.edge(node_id, graph.node(_link_id(master), [master, "bridge"], "bridge", foreign=True))


def build_graph(state, title="host"):
    if not isinstance(state, dict):
        raise AnsibleFilterError("host_diagram: expected a dict of module name to gathered list, got %s" % type(state).__name__)
    unknown = sorted(set(state) - set(MODULES) - {"host"})
    if unknown:
        raise AnsibleFilterError("host_diagram: unknown key%s %s; allowed: %s" % (
            "s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(MODULES + ("host",))))
    graph = Graph(title)
    _networks(graph, state)
    _pci(graph, state)  # before the OVS ports, which refer to PCI devices by their devargs
    _ovs(graph, state)
    _interfaces(graph, state)
    host = state.get("host") or {}
    if not isinstance(host, dict):
        raise AnsibleFilterError("host_diagram: host: expected a dict (links: ...), got %s" % type(host).__name__)
    _host_links(graph, host)
    return graph


def _dot_quote(text):
    return '"%s"' % _text(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def to_dot(graph):
    lines = ["digraph %s {" % _dot_quote(graph.title),
             '  graph [rankdir=LR, fontname="Helvetica", fontsize=11, label=%s, labelloc=t];' % _dot_quote(graph.title),
             '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9, dir=none];']

    def node_line(node_id, node, indent):
        style = STYLES[node["kind"]][0]
        if node["foreign"]:
            style = re.sub(r'style="[^"]*"', 'style="dashed"', style)
            style = re.sub(r'fillcolor="[^"]*"', 'fillcolor="#ffffff"', style) + ', color="#999999", fontcolor="#888888"'
        label = "\\n".join(_text(line).replace("\\", "\\\\").replace('"', '\\"') for line in node["label"])
        return '%s%s [label="%s", %s];' % (indent, _dot_quote(node_id), label, style)

    for number, (cluster_id, cluster) in enumerate(graph.clusters.items()):
        members = [(node_id, node) for node_id, node in graph.nodes.items() if node["cluster"] == cluster_id]
        if not members:
            continue
        lines.append("  subgraph cluster_%d {" % number)
        label = "\\n".join(_text(line).replace("\\", "\\\\").replace('"', '\\"') for line in cluster["label"])
        lines.append('    label="%s"; style="rounded,filled"; fillcolor="%s"; color="#777777";' % (
            label, CLUSTER_COLORS.get(cluster["kind"], "#ffffff")))
        lines.extend(node_line(node_id, node, "    ") for node_id, node in members)
        lines.append("  }")
    for node_id, node in graph.nodes.items():
        if node["cluster"] is None or node["cluster"] not in graph.clusters:
            lines.append(node_line(node_id, node, "  "))
    for source, target, label, dashed in graph.edges:
        attributes = []
        if label:
            attributes.append("label=%s" % _dot_quote(label))
        if dashed or graph.nodes.get(source, {}).get("foreign") or graph.nodes.get(target, {}).get("foreign"):
            attributes.append('style=dashed, color="#999999"')
        suffix = " [%s]" % ", ".join(attributes) if attributes else ""
        lines.append("  %s -> %s%s;" % (_dot_quote(source), _dot_quote(target), suffix))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text):
    # Mermaid's own entity codes: a quote would end the label
    return _text(text).replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(graph):
    ids = {node_id: "n%d" % number for number, node_id in enumerate(graph.nodes)}
    lines = ["---", "title: %s" % _mermaid_text(graph.title), "---", "flowchart LR"]

    def node_line(node_id, node, indent):
        label = "<br/>".join(_mermaid_text(line) for line in node["label"])
        shape = ('[["%s"]]' if node["kind"] == "vm" else '(["%s"])' if node["kind"] in ("bridge", "ovs") else '["%s"]') % label
        return "%s%s%s:::%s" % (indent, ids[node_id], shape, "foreign" if node["foreign"] else STYLES[node["kind"]][1])

    for number, (cluster_id, cluster) in enumerate(graph.clusters.items()):
        members = [(node_id, node) for node_id, node in graph.nodes.items() if node["cluster"] == cluster_id]
        if not members:
            continue
        lines.append('  subgraph c%d ["%s"]' % (number, "<br/>".join(_mermaid_text(line) for line in cluster["label"])))
        lines.extend(node_line(node_id, node, "    ") for node_id, node in members)
        lines.append("  end")
    for node_id, node in graph.nodes.items():
        if node["cluster"] is None or node["cluster"] not in graph.clusters:
            lines.append(node_line(node_id, node, "  "))
    for source, target, label, dashed in graph.edges:
        dashed = dashed or graph.nodes[source]["foreign"] or graph.nodes[target]["foreign"]
        arrow = "-.-" if dashed else "---"
        if label:  # the pipe form takes a label on every kind of link
            arrow += '|"%s"|' % _mermaid_text(label)
        lines.append("  %s %s %s" % (ids[source], arrow, ids[target]))
    lines.extend("  " + line for line in MERMAID_CLASSES)
    return "\n".join(lines) + "\n"


def host_diagram(state, format="dot", title="host"):  # pylint: disable=redefined-builtin
    """The filter: `format` is the name Ansible users know from the documentation."""
    if format not in FORMATS:
        raise AnsibleFilterError("host_diagram: format: %r is not one of %s" % (format, ", ".join(FORMATS)))
    graph = build_graph(state, title=_text(title))
    return to_dot(graph) if format == "dot" else to_mermaid(graph)


class FilterModule:
    def filters(self):
        return {"host_diagram": host_diagram}
