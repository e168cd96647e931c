# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host_diagram filter: every module's gathered shape draws, Graphviz accepts the DOT, the
Mermaid has one node per object, and bad input is refused naming the key."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hypervisor.networking.plugins.filter.host_diagram import FilterModule, build_graph, host_diagram

# every VF attribute sriov_pool's gathered reports, at the kernel's defaults (none is news)
VF_ATTRIBUTES = {"vlan": 0, "qos": 0, "vlan_proto": "802.1Q", "spoofchk": True, "trust": False, "min_tx_rate": 0,
                 "max_tx_rate": 0, "link_state": "auto"}

HOST = {
    "vm_network": [
        {"name": "lan", "forward": {"mode": "bridge"}, "bridge": {"name": "br0", "uplink": "eno1", "stp": True}, "mtu": 9000},
        {"name": "default", "forward": {"mode": "nat", "dev": "eno1"}, "bridge": {"name": "virbr0"},
         "ips": [{"address": "198.51.100.1", "prefix": 24,
                  "dhcp": {"ranges": [{"start": "198.51.100.100", "end": "198.51.100.200"}], "hosts": [{"mac": "52:54:00:00:00:01"}]}}],
         "routes": [{"address": "203.0.113.0", "prefix": 24, "gateway": "198.51.100.2"}],
         "port_forwards": [{"host_port": 2222, "guest_ip": "198.51.100.5", "guest_port": 22}]},
        # the libvirt backend's shapes: libvirt picks the bridge; a hostdev pool of a PF
        {"name": "routed", "backend": "libvirt", "forward": {"mode": "route"}, "ips": [{"address": "203.0.113.1", "netmask": "255.255.255.0"}]},
        {"name": "pool0", "backend": "libvirt", "forward": {"mode": "hostdev", "pf": {"dev": "enp3s0f0"}}},
        # as vm_network's gathered with backend libvirt has them (no backend key: the playbook tags them);
        # a libvirt network may have the name of a kernel one
        {"name": "default", "backend": "libvirt", "forward": {"mode": "isolated"},
         "bridge": {"name": "virbr9", "stp": True, "delay": 0, "mac_table_manager": "kernel"}, "uuid": "c30bbf62-9702-4d98-8274-83cf59f33499",
         "ips": [{"address": "198.51.100.225", "prefix": 28, "family": "ipv4",
                  "dhcp": {"ranges": [{"start": "198.51.100.230", "end": "198.51.100.238"}]}}]},
        {"name": "mvt", "backend": "libvirt", "forward": {"mode": "passthrough", "dev": "enp4s0v0", "interfaces": ["enp4s0v0", "enp4s0v1"]}},
        {"name": "vfpool", "backend": "libvirt", "forward": {"mode": "hostdev", "managed": True, "addresses": ["0000:03:01.0", "0000:03:01.1"]}},
    ],
    "vm_interface": [
        {"name": "vm1-tap0", "bridge": "br0", "multi_queue": True, "owner": "cloud-hypervisor", "mtu": 1500,
         "guest": {"mac": "a4:a1:c2:00:00:01", "queues": 2}},
        {"name": "mvt0", "kind": "macvtap", "link": "eno2", "mode": "bridge", "guest": {"mac": "a4:a1:c2:00:00:02"}},
        {"name": "vhu0", "kind": "vhostuser", "bridge": "br-dpdk", "socket": "/run/vhost/vhu0.sock"},
    ],
    "ovs_dpdk_bridge": [{"name": "br-dpdk", "fail_mode": "secure"}],
    "ovs_dpdk_port": [
        {"name": "dpdk0", "bridge": "br-dpdk", "type": "dpdk", "devargs": "0000:01:00.0", "n_rxq": 2, "rxq_affinity": {"0": 2, "1": 3}},
        {"name": "bond0", "bridge": "br-dpdk", "interfaces": [{"name": "p0", "devargs": "0000:02:00.0"}, {"name": "p1", "devargs": "0000:02:00.1"}]},
        {"name": "vhu1", "bridge": "br-dpdk", "type": "dpdkvhostuserclient", "vhost_server_path": "/run/vhost/vhu1.sock"},
    ],
    "ovs_dpdk_global": [{"dpdk_init": True, "pmd_cores": [2, 3], "lcore_cores": [1], "socket_mem": [1024]}],
    "hugepages": [{"size": "2048kB", "count": 512}, {"size": "1048576kB", "count": 0}],
    "pci_driver": [{"address": "0000:01:00.0", "driver": "vfio-pci"}, {"address": "0000:03:01.2", "driver": "vfio-pci"}],
    # sriov_pool: PFs with VFs, owned or not, as its gathered has them (tests/integration/test_sriov_pool.py's
    # emulated NIC): the config item, what only the host knows under `host`
    "sriov_pool": [
        {"pf": "enp3s0f0", "pci_address": "0000:03:00.0", "num_vfs": 12, "eswitch_mode": "legacy",
         "vfs": [dict(VF_ATTRIBUTES, index=i, driver="vfio-pci") for i in range(12)],
         "host": {"owned": True, "total_vfs": 64, "vfs": [{"index": i, "pci_address": "0000:03:01.%d" % i, "netdev": None} for i in range(12)]}},
        {"pf": "enp4s0", "pci_address": "0000:04:00.0", "num_vfs": 2, "eswitch_mode": "switchdev",
         "vfs": [dict(VF_ATTRIBUTES, index=0, driver="iavf", mac="52:54:00:00:01:00", vlan=100, trust=True),
                 dict(VF_ATTRIBUTES, index=1, driver="iavf")],
         "host": {"owned": False, "total_vfs": 16, "vfs": [{"index": 0, "pci_address": "0000:04:10.0", "netdev": "enp4s0v0"},
                                                           {"index": 1, "pci_address": "0000:04:10.1", "netdev": "enp4s0v1"}]}},
    ],
    "host": {"links": [
        {"ifname": "lo"}, {"ifname": "eno1", "master": "br0", "link_type": "ether"}, {"ifname": "eno2", "link_type": "ether"},
        {"ifname": "br0", "linkinfo": {"info_kind": "bridge"}}, {"ifname": "vm1-tap0", "master": "br0"},
        {"ifname": "docker0", "linkinfo": {"info_kind": "bridge"}}, {"ifname": "veth1", "master": "docker0", "linkinfo": {"info_kind": "veth"}},
        {"ifname": "br-dpdk", "linkinfo": {"info_kind": "tun"}}, {"ifname": "ovs-netdev", "linkinfo": {"info_kind": "tun"}},
    ]},
}


def test_the_filter_is_registered():
    assert FilterModule().filters() == {"host_diagram": host_diagram}


def test_every_object_is_drawn_once_and_owned_objects_are_not_greyed():
    graph = build_graph(HOST, "hv1")
    owned = {"link:br0", "link:virbr0", "net-bridge:routed", "pool:pool0", "link:vm1-tap0", "link:mvt0", "ovsport:vhu0",
             "ovs:br-dpdk", "ovsport:dpdk0", "ovsport:bond0", "ovsport:vhu1", "pci:0000:01:00.0", "link:enp3s0f0", "ovs-global"}
    foreign = {"link:eno1", "link:eno2", "link:docker0", "link:veth1", "link:enp4s0", "link:enp4s0v0", "link:enp4s0v1"}
    assert {node for node in owned if graph.nodes[node]["foreign"]} == set()
    assert {node for node in foreign if not graph.nodes[node]["foreign"]} == set()
    # OVS's netdev tap is the OVS bridge; its datapath's tap is OVS's too
    assert "link:lo" not in graph.nodes and "link:br-dpdk" not in graph.nodes and "link:ovs-netdev" not in graph.nodes
    assert graph.nodes["ovsport:bond0"]["label"][0] == "bond bond0"
    # at most 8 VFs per PF, the rest summed up
    assert [node for node in graph.nodes if node.startswith("vf:enp3s0f0:")] == ["vf:enp3s0f0:more"]
    assert graph.nodes["vf:enp3s0f0:more"]["label"] == ["... 4 more VFs"]
    # a VF is its PCI device under vfio-pci, its netdev under a kernel driver; the PF's host facts on the PF;
    # attributes at their defaults are no news
    assert graph.nodes["link:enp3s0f0"]["label"] == ["PF enp3s0f0", "0000:03:00.0", "12 of 64 VFs"]
    assert graph.nodes["pci:0000:03:01.0"]["label"] == ["VF 0", "0000:03:01.0", "driver vfio-pci"]
    assert graph.nodes["link:enp4s0"]["label"] == ["PF enp4s0", "0000:04:00.0", "2 of 16 VFs", "eswitch switchdev"]
    assert graph.nodes["link:enp4s0v0"]["label"] == ["VF 0", "0000:04:10.0", "enp4s0v0", "driver iavf",
                                                     "52:54:00:00:01:00, vlan 100, trust"]
    # a VF that pci_driver also reports is drawn once, as its PF's
    assert graph.nodes["pci:0000:03:01.2"]["label"][0] == "VF 2" and graph.nodes["pci:0000:03:01.2"]["cluster"] == "pf:enp3s0f0"
    # libvirt networks: their own cluster beside a kernel network of the same name; pools drawn to their VFs
    assert graph.clusters["libvirt-net:default"]["label"] == ["libvirt network default", "mode isolated", "198.51.100.225/28",
                                                              "DHCP 198.51.100.230 - 198.51.100.238"]
    assert graph.nodes["link:virbr9"]["cluster"] == "libvirt-net:default"
    assert graph.clusters["libvirt-net:mvt"]["label"] == ["libvirt network mvt", "mode passthrough"]  # dev is the first interface
    edges = {(source, target) for source, target, _label, _dashed in graph.edges}
    assert {("link:eno1", "link:br0"), ("link:vm1-tap0", "link:br0"), ("vm:vm1-tap0", "link:vm1-tap0"),
            ("link:mvt0", "link:eno2"), ("ovsport:vhu0", "ovs:br-dpdk"), ("pci:0000:01:00.0", "ovsport:dpdk0"),
            ("pool:pool0", "link:enp3s0f0"), ("link:veth1", "link:docker0"), ("link:virbr0", "link:eno1"),
            ("pool:mvt", "link:enp4s0v0"), ("pool:mvt", "link:enp4s0v1"), ("pool:vfpool", "pci:0000:03:01.0"),
            ("link:enp3s0f0", "pci:0000:03:01.0"), ("link:enp4s0", "link:enp4s0v1")} <= edges
    assert len(edges) == len(graph.edges), "an edge drawn twice"
    cluster = graph.clusters["net:default"]["label"]
    assert cluster == ["network default", "mode nat via eno1", "198.51.100.1/24", "DHCP 198.51.100.100 - 198.51.100.200",
                       "1 DHCP host", "route 203.0.113.0/24 via 198.51.100.2", "1 port forward"]
    assert graph.nodes["link:vm1-tap0"]["label"] == ["tap vm1-tap0", "multi-queue, owner cloud-hypervisor"]  # mtu 1500 is no news
    assert graph.nodes["link:br0"]["label"] == ["bridge br0", "stp, mtu 9000"]
    assert "PMD q0->core 2, q1->core 3" in graph.nodes["ovsport:dpdk0"]["label"]
    assert graph.nodes["ovs-global"]["label"] == ["Open_vSwitch / host", "dpdk-init true", "PMD cores 2,3", "lcore cores 1",
                                                  "socket mem 1024", "hugepages 512 x 2048kB"]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (scripts/bootstrap.sh installs it)")
def test_graphviz_accepts_the_dot():
    dot = host_diagram(HOST, title='hv1 "lab"\\')
    proc = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    assert "<svg" in proc.stdout and "hv1 &quot;lab&quot;\\" in proc.stdout


def test_mermaid_has_every_node_and_escapes_labels():
    text = host_diagram(HOST, "mermaid", title='hv1 "lab"')
    lines = text.splitlines()
    assert lines[:4] == ["---", "title: hv1 #quot;lab#quot;", "---", "flowchart LR"]
    graph = build_graph(HOST)
    assert sum(1 for line in lines if line.strip().startswith("n") and ":::" in line) == len(graph.nodes)
    assert sum(1 for line in lines if line.strip().startswith("subgraph")) == len(graph.clusters)
    assert '"' not in "".join(line.split('"')[1] for line in lines if ":::" in line)  # quotes in labels are entities
    assert "PMD q0-#gt;core 2" in text
    assert "n%d -.-|\"uplink\"| n%d" % (list(graph.nodes).index("link:eno1"), list(graph.nodes).index("link:br0")) in text


def test_empty_and_partial_input_draws():
    assert host_diagram({}).startswith('digraph "host" {')
    assert "tap t0" in host_diagram({"vm_interface": [{"name": "t0"}]})  # fields a module does not report are left out


@pytest.mark.parametrize("state, message", [
    ({"vm_networks": []}, "unknown key vm_networks; allowed: vm_network, vm_interface"),
    ({"vm_network": "br0"}, "vm_network: expected the module's gathered list, got str"),
    ({"vm_interface": [{"name": "t0"}, "t1"]}, "vm_interface[1]: expected a dict, got str"),
    ({"host": {"links": "eth0"}}, "host.links: expected the list of `ip -j -d link show`, got str"),
    ([], "expected a dict of module name to gathered list, got list"),
])
def test_bad_input_names_the_key(state, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        host_diagram(state)


def test_unknown_format_names_the_choices():
    with pytest.raises(AnsibleFilterError, match="format: 'png' is not one of dot, mermaid"):
        host_diagram({}, "png")
