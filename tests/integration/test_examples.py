# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every EXAMPLES task of vm_network and vm_interface runs as written in a sandbox (tests/integration/firstuse.py).

The tasks are parsed out of the module files, so an example that stops working breaks this
test. Each runs as its own play, after the prerequisites its text states (a bridge of another
example, the uplink eno1), and the kernel state is checked after it. Examples whose networks
overlap (libvirt's "default" and "local" both use 192.168.122.0/24) run in separate sandboxes.
(ovs_dpdk_port's examples: tests/integration/dpdk/test_examples_ovs.py.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import firstuse as fu  # noqa: E402  pylint: disable=wrong-import-position
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position

NETWORK_EXAMPLES = fu.module_examples("vm_network")
INTERFACE_EXAMPLES = fu.module_examples("vm_interface")
# Words of each example's name that the tests below look it up by: an example added without a test fails
NETWORK_EXAMPLE_WORDS = ("two bridges of the cloud-hypervisor", "host bridge on the uplink", "isolated network with a jumbo",
                         "libvirt's \"default\" network", "routed network restricted", "NAT to a fixed public range",
                         "Only the networks listed", "networks the collection manages", "without a host", "Remove one network",
                         "as a libvirt network definition", "SR-IOV VFs for PCI passthrough", "virsh net-dumpxml output",
                         "made by libvirtd", "restarts the running libvirt network")  # these two: test_libvirt_network.py
INTERFACE_EXAMPLE_WORDS = ("user cloud-hypervisor runs as", "Multi-queue taps", "macvtap in bridge mode", "Remove every tap",
                           "manages now", "without a host", "interfaces as JSON", "that the collection created",
                           "libvirt sets up itself", "existing libvirt guest")


def _example(examples, words):
    """The example task whose name contains `words` (an example renamed or removed fails here)."""
    found = [task for task in examples if words in task["name"]]
    assert len(found) == 1, "no single example named like %r in %s" % (words, [t["name"] for t in examples])
    return found[0]


def _run(sandbox, runner, *tasks):
    rc, out, results = sandbox.play(runner, fu.play_of(list(tasks)))
    assert rc == 0, out
    return [r["result"] for r in results if r.get("task") in [t["name"] for t in tasks]] or results


@pytest.fixture
def sandbox(netns_factory, tmp_path):
    box = fu.Sandbox(netns_factory, tmp_path)
    yield box
    box.remove_run_files()


def _tc_kinds(ns, dev):
    return [q["kind"] for q in json.loads(ns.run("tc", "-j", "qdisc", "show", "dev", dev).stdout)]


def test_every_network_example_is_exercised():
    for task in NETWORK_EXAMPLES:
        assert any(words in task["name"] for words in NETWORK_EXAMPLE_WORDS), "example %r has no test" % task["name"]
    for task in INTERFACE_EXAMPLES:
        assert any(words in task["name"] for words in INTERFACE_EXAMPLE_WORDS), "example %r has no test" % task["name"]


def test_network_examples_bridges_uplink_gathered_deleted_overridden(sandbox, ansible_runner):
    hv = sandbox.hv
    _run(sandbox, ansible_runner, _example(NETWORK_EXAMPLES, "two bridges of the cloud-hypervisor"))
    assert nh.global_addrs(hv, "ich-int") == {"192.168.4.1/24"} and nh.global_addrs(hv, "ich-dpl") == {"10.0.1.1/24"}

    _run(sandbox, ansible_runner, _example(NETWORK_EXAMPLES, "host bridge on the uplink"))
    assert nh.link(hv, "eno1").get("master") == "br0" and nh.global_addrs(hv, "br0") == {fu.HOST_IP}

    gathered = _example(NETWORK_EXAMPLES, "networks the collection manages")
    show = {"name": "show", "ansible.builtin.debug": {"var": gathered["register"]}}
    out, results = sandbox.play(ansible_runner, fu.play_of([gathered, show]))[1:]
    names = sorted(item["name"] for item in results[-1]["result"][gathered["register"]]["gathered"])
    assert names == ["ich-dpl", "ich-int", "lan"], out

    rendered = _example(NETWORK_EXAMPLES, "without a host")
    result = _run(sandbox, ansible_runner, rendered)[0]
    assert "masquerade" in result["rendered"][0]["nftables"] and "dhcp-range=" in result["rendered"][0]["dnsmasq"]
    assert nh.link(hv, "virbr0") is None, "rendered does not touch the host"

    _run(sandbox, ansible_runner, _example(NETWORK_EXAMPLES, "Remove one network"))
    assert nh.link(hv, "br0") is None and nh.global_addrs(hv, "eno1") == {fu.HOST_IP}
    assert nh.default_routes(hv) == [("inet", fu.UPSTREAM_IP, "eno1")]

    _run(sandbox, ansible_runner, _example(NETWORK_EXAMPLES, "Only the networks listed"))
    assert nh.link(hv, "ich-int") is None and nh.link(hv, "ich-dpl") is None
    assert nh.link(hv, "eno1").get("master") == "br0"


def test_network_examples_isolated_nat_natpool(sandbox, ansible_runner):
    hv = sandbox.hv
    _run(sandbox, ansible_runner, _example(NETWORK_EXAMPLES, "isolated network with a jumbo"))
    assert nh.link(hv, "virbr-stor")["mtu"] == 9000
    assert nh.global_addrs(hv, "virbr-stor") == {"198.51.100.1/24", "2001:db8:5::1/64"}
    assert "inet hvnet_storage" in sandbox.nft_tables()

    _run(sandbox, ansible_runner, _example(NETWORK_EXAMPLES, "libvirt's \"default\" network"))
    assert nh.link(hv, "virbr0")["mtu"] == 1450
    assert "inet hvnet_default" in sandbox.nft_tables()
    assert any("dnsmasq" in open("/proc/%d/comm" % pid, encoding="utf-8").read() for pid in hv.pids()), "dnsmasq runs"
    assert "dnat" in hv.run("nft", "list", "table", "inet", "hvnet_default").stdout

    _run(sandbox, ansible_runner, _example(NETWORK_EXAMPLES, "NAT to a fixed public range"))
    table = hv.run("nft", "list", "table", "inet", "hvnet_natpool").stdout
    assert "203.0.113.10-203.0.113.20" in table and "20000-40000" in table
    assert "htb" in _tc_kinds(hv, "natpool")


def test_network_example_routed(sandbox, ansible_runner):
    hv = sandbox.hv
    out = sandbox.play(ansible_runner, fu.play_of([_example(NETWORK_EXAMPLES, "routed network restricted")]))[1]
    assert "eth1 does not exist (yet)" in " ".join(out.split()), out
    assert "inet hvnet_local" in sandbox.nft_tables()
    routes = [r for r in hv.routes() if r.get("dst") == "192.168.222.0/24"]
    assert routes and routes[0]["gateway"] == "192.168.122.2" and routes[0]["dev"] == "virbr1"


def test_network_examples_libvirt_offline(sandbox, ansible_runner, tmp_path):
    """The libvirt examples render and parse without libvirtd and leave the host alone; the XML passes libvirt's schema."""
    hv = sandbox.hv
    links = sorted(item["ifname"] for item in hv.links())
    ovs, vfs, parsed = (_run(sandbox, ansible_runner, _example(NETWORK_EXAMPLES, words))[0] for words in (
        "as a libvirt network definition", "SR-IOV VFs for PCI passthrough", "virsh net-dumpxml output"))
    assert '<tag id="42" nativeMode="untagged"/>' in ovs["rendered"][0]["libvirt_xml"]
    assert '<address type="pci" domain="0x0000" bus="0x04" slot="0x00" function="0x2"/>' in vfs["rendered"][0]["libvirt_xml"]
    assert parsed["parsed"] == [{"name": "default", "forward": {"mode": "nat"}, "bridge": {"name": "virbr0"},
                                 "ips": [{"address": "192.168.122.1", "prefix": 24, "family": "ipv4",
                                          "dhcp": {"ranges": [{"start": "192.168.122.2", "end": "192.168.122.254"}]}}]}]
    assert sorted(item["ifname"] for item in hv.links()) == links, "rendered and parsed do not touch the host"
    validator = shutil.which("virt-xml-validate")
    if validator:  # libvirt-clients; the unit tests say when it is missing
        for result in (ovs, vfs):
            path = tmp_path / "net.xml"
            path.write_text(result["rendered"][0]["libvirt_xml"])
            done = subprocess.run([validator, str(path), "network"], capture_output=True, text=True, timeout=60, check=False)
            assert done.returncode == 0, done.stdout + done.stderr


def test_interface_examples(sandbox, ansible_runner):
    hv = sandbox.hv
    _run(sandbox, ansible_runner, _example(NETWORK_EXAMPLES, "two bridges of the cloud-hypervisor"))  # the bridges it names
    _run(sandbox, ansible_runner, _example(INTERFACE_EXAMPLES, "user cloud-hypervisor runs as"),
         _example(INTERFACE_EXAMPLES, "Multi-queue taps"))
    uid = sandbox.uid_of("cloud-hypervisor")
    for tap, bridge in (("ich0", "ich-int"), ("ich1", "ich-dpl")):
        data = nh.info_data(nh.link(hv, tap))
        assert (nh.link(hv, tap)["master"], data["multi_queue"], sandbox.tap_owner(tap)) == (bridge, True, uid)
    assert nh.brport(hv, "ich1")["isolated"] is True

    _run(sandbox, ansible_runner, _example(INTERFACE_EXAMPLES, "macvtap in bridge mode"))
    macvtap = nh.link(hv, "mvtap0")
    assert nh.info_kind(macvtap) == "macvtap" and nh.info_data(macvtap)["mode"] == "bridge"
    assert macvtap["address"] == "52:54:00:aa:bb:cc"

    gathered = _example(INTERFACE_EXAMPLES, "manages now")
    show = {"name": "show", "ansible.builtin.debug": {"var": gathered["register"]}}
    out, results = sandbox.play(ansible_runner, fu.play_of([gathered, show]))[1:]
    items = {item["name"]: item for item in results[-1]["result"][gathered["register"]]["gathered"]}
    assert sorted(items) == ["ich0", "ich1", "mvtap0"], out
    assert items["ich0"]["guest"]["queues"] == 2, "guest comes from the saved state (persist defaults to true)"

    command, parse = _example(INTERFACE_EXAMPLES, "interfaces as JSON"), _example(INTERFACE_EXAMPLES, "that the collection created")
    out, results = sandbox.play(ansible_runner, fu.play_of([command, parse]))[1:]
    assert sorted(item["name"] for item in results[-1]["result"]["parsed"]) == ["ich0", "ich1", "mvtap0"], out

    result = _run(sandbox, ansible_runner, _example(INTERFACE_EXAMPLES, "without a host"))[0]
    assert result["rendered"][0]["commands"][0] == "ip tuntap add name ich0 mode tap vnet_hdr multi_queue user 1000"
    assert result["rendered"][0]["cloud_hypervisor"] == "tap=ich0,mac=a4:a1:c2:00:00:01,host_mac=fe:a1:c2:00:00:01,num_queues=4,queue_size=256,id=ich0"
    assert '<target dev="ich0" managed="no"/>' in result["rendered"][0]["libvirt"]
    assert sorted(result["rendered"][0]) == ["cloud_hypervisor", "commands", "config", "kubevirt", "libvirt", "name", "not_rendered", "qemu"]

    result = _run(sandbox, ansible_runner, _example(INTERFACE_EXAMPLES, "libvirt sets up itself"))[0]
    assert [entry["libvirt"].split(">")[0] for entry in result["rendered"]] == [
        '<interface type="hostdev" managed="yes"', '<interface type="network"', '<interface type="mcast"']
    assert all(entry["commands"] == [] for entry in result["rendered"]), "libvirt builds them, the collection nothing"
    result = _run(sandbox, ansible_runner, _example(INTERFACE_EXAMPLES, "existing libvirt guest"))[0]
    assert [(item["name"], item["kind"]) for item in result["parsed"]] == [("net1", "vhostuser"), ("vnet3", "tap")]

    _run(sandbox, ansible_runner, _example(INTERFACE_EXAMPLES, "Remove every tap"))
    assert not nh.marked_links(hv, "vm_interface")
    assert nh.link(hv, "ich-int") is not None, "deleted removes only the interfaces"
