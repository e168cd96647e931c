# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/host_diagram.yml against a sandbox host built by the README's own plays: the SVG it
writes shows what the kernel has (the bridge profile of the quick start; the NAT example with a
VM's tap), with the host's own uplink greyed, and a second run changes nothing.

The passthrough profile: an emulated SR-IOV NIC (tests/sysfs_emulator.py, as in
test_sriov_pool.py: sriov_pool makes its VFs in-process, saving its intent for the sandbox's
namespace), and real libvirt networks (an isolated one, a macvtap passthrough pool over two of
the VFs) named hvtlvd* in the root namespace's libvirtd, removed afterwards; the playbook reads
the PF with sriov_pool's sysfs_root and the libvirt networks with the libvirt backend.

The OVS-DPDK profile's diagram is tests/integration/dpdk/test_host_diagram_dpdk.py.
"""

from __future__ import annotations

import html
import os
import sys

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import diagrams  # noqa: E402  pylint: disable=wrong-import-position
import firstuse as fu  # noqa: E402  pylint: disable=wrong-import-position
from sysfs_emulator import SysfsEmulator  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.hypervisor.networking.plugins.module_utils import persist  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.hypervisor.networking.plugins.module_utils.engine import converge  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.hypervisor.networking.plugins.module_utils.entry import resource_for  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.sriov import SriovPoolResource  # noqa: E402  pylint: disable=wrong-import-position

README = os.path.join(fu.REPO_ROOT, "README.md")


@pytest.fixture
def sandbox(netns_factory, tmp_path):
    box = fu.Sandbox(netns_factory, tmp_path)
    yield box
    box.remove_run_files()


def _draw(sandbox, ansible_runner, out_dir, modules, **variables):
    play = ('- name: The host diagram\n'
            '  ansible.builtin.import_playbook: %s\n'
            '  vars:\n'
            '    host_diagram_dir: %s\n'
            '    host_diagram_modules: %s\n') % (diagrams.PLAYBOOK, out_dir, list(modules))
    play += "".join("    %s: %s\n" % (name, value) for name, value in variables.items())
    rc, out, _results = sandbox.play(ansible_runner, play)
    assert rc == 0, out
    return out


def test_bridge_profile_diagram(sandbox, ansible_runner, tmp_path):
    quick_start = fu.yaml_blocks(README, "## Quick start")[0]
    rc, out, _results = sandbox.play(ansible_runner, quick_start)
    assert rc == 0, out
    out_dir = tmp_path / "diagrams"

    _draw(sandbox, ansible_runner, out_dir, ["vm_network", "vm_interface"])
    drawn = diagrams.Diagram(str(out_dir / "hv1.svg"))
    assert drawn.text("link:br0")[0] == "bridge br0"
    assert drawn.text("link:ich-int")[0] == "bridge ich-int"
    assert drawn.text("link:ich0")[:2] == ["tap ich0", "multi-queue, owner cloud-hypervisor"]
    assert "a4:a1:c2:00:00:01" in drawn.text("vm:ich0") and "2 queues" in drawn.text("vm:ich0")
    # the uplink is the host's NIC: drawn, greyed, as the bridge's uplink; the collection's own objects are not greyed
    assert drawn.foreign("link:eno1") and not drawn.foreign("link:br0") and not drawn.foreign("link:ich0")
    assert ("link:eno1", "link:br0") in drawn.edges
    assert ("link:ich0", "link:ich-int") in drawn.edges and ("vm:ich0", "link:ich0") in drawn.edges
    assert (out_dir / "hv1.mmd").read_text(encoding="utf-8").startswith("---\ntitle: hv1\n---\nflowchart LR\n")
    diagrams.keep_for_docs(str(out_dir / "hv1.svg"), "bridge")

    again = _draw(sandbox, ansible_runner, out_dir, ["vm_network", "vm_interface"])
    assert fu.recap_changed(again) == 0, again


def test_nat_profile_diagram(sandbox, ansible_runner, tmp_path):
    nat_network = fu.yaml_blocks(README, "## NAT, routed and open networks")[0]
    vm_tap = ('- hypervisor.networking.vm_interface:\n'
              '    config:\n'
              '      - {name: vm1-net0, bridge: virbr0, guest: {mac: "52:54:00:00:00:10", ip: 192.168.122.10/24, queues: 2}}\n')
    rc, out, _results = sandbox.play(ansible_runner, fu.play_of(yaml.safe_load(nat_network + vm_tap)))
    assert rc == 0, out
    out_dir = tmp_path / "diagrams"

    # no OVS in this sandbox: ovs_dpdk_port cannot report, and is left out with a note; no libvirtd
    # answers on that socket: the libvirt networks are left out with a message saying why
    out = _draw(sandbox, ansible_runner, out_dir, ["vm_network", "vm_interface", "ovs_dpdk_port", "libvirt"],
                host_diagram_libvirt_uri="'qemu:///system?socket=%s/no-libvirtd.sock'" % tmp_path)
    assert "Not in the diagram, their gathered failed: ovs_dpdk_port" in out, out
    assert "No libvirt networks in the diagram: " in out, out
    drawn = diagrams.Diagram(str(out_dir / "hv1.svg"))
    with open(out_dir / "hv1.svg", encoding="utf-8") as handle:
        svg = html.unescape(handle.read())  # Graphviz writes "-" as &#45;
    for text in ("network default", "mode nat", "192.168.122.1/24", "DHCP 192.168.122.2 - 192.168.122.254", "1 port forward"):
        assert text in svg, text
    assert drawn.text("link:virbr0")[0] == "bridge virbr0"
    assert ("link:vm1-net0", "link:virbr0") in drawn.edges
    assert "ip 192.168.122.10/24" in drawn.text("vm:vm1-net0")
    assert drawn.foreign("link:eno1")  # not the collection's: no uplink here, the host's NIC
    diagrams.keep_for_docs(str(out_dir / "hv1.svg"), "nat")


LIBVIRT_URI = "qemu:///system"
LIBVIRT_PREFIX = "hvtlvd"  # hvtlv*: the libvirt tests' names; never `default`
PF = "0000:01:00.0"


@pytest.fixture
def libvirt_networks():
    """Defines libvirt networks through vm_network's libvirt backend (in-process), removes every
    hvtlvd* network afterwards and puts back the forwarding sysctls (an isolated or macvtap
    network does not change them; a guard against a future NAT one)."""
    libvirt = pytest.importorskip("libvirt")
    import test_libvirt_network as lvtests  # pylint: disable=import-outside-toplevel
    lvtests._ensure_libvirtd()  # pylint: disable=protected-access
    saved = {key: lvtests._read_sysctl(key) for key in lvtests.FORWARDING_SYSCTLS}  # pylint: disable=protected-access
    connection = libvirt.open(LIBVIRT_URI)

    def remove():
        for net in connection.listAllNetworks(0):
            if net.name().startswith(LIBVIRT_PREFIX):
                if net.isActive():
                    net.destroy()
                if net.isPersistent():
                    net.undefine()

    def define(config):
        return converge(resource_for("vm_network", "libvirt"),
                        {"state": "merged", "config": config, "persist": False, "backend": "libvirt", "uri": LIBVIRT_URI}, False)

    remove()
    try:
        yield define
    finally:
        remove()
        connection.close()
        for key, value in saved.items():
            if lvtests._read_sysctl(key) != value:  # pylint: disable=protected-access
                with open("/proc/sys/" + key, "w", encoding="ascii") as handle:
                    handle.write(value)


def test_passthrough_profile_diagram(sandbox, ansible_runner, tmp_path, monkeypatch, libvirt_networks):  # pylint: disable=redefined-outer-name
    # the NIC: an emulated SR-IOV PF; its netdev exists in the sandbox as a veth (no dummy module
    # here), so that the module's netlink read of the VF table finds it (a veth has no VFs: the
    # VFs' attributes are the NIC's, not drawn here; their drivers and netdevs come from sysfs)
    emulated = SysfsEmulator(tmp_path / "sys", devices={PF: {"driver": "ice", "netdevs": ["enp1s0f0"], "sriov": {"total": 64}}},
                             drivers=["ice", "iavf", "vfio-pci"]).install_sriov(monkeypatch)
    sandbox.hv.run("ip", "link", "add", "enp1s0f0", "type", "veth", "peer", "name", "pf-peer", "netns", sandbox.upstream.name)
    real_store = persist.Store
    monkeypatch.setattr(persist, "Store", lambda layout=None: real_store(layout or persist.Layout(sandbox.hv.name)))
    try:
        converge(SriovPoolResource(), {"state": "merged", "persist": True, "sysfs_root": emulated.root, "timeout": 5, "config": [
            {"pf": "enp1s0f0", "num_vfs": 4, "driver": "vfio-pci", "vf_groups": [{"range": "2-3", "driver": "iavf"}]}]}, False)
        libvirt_networks([
            {"name": LIBVIRT_PREFIX + "iso", "bridge": {"name": LIBVIRT_PREFIX + "iso0"},
             "ips": [{"address": "198.51.100.225", "prefix": 28, "dhcp": {"ranges": [{"start": "198.51.100.230", "end": "198.51.100.238"}]}}]},
            {"name": LIBVIRT_PREFIX + "mvt", "forward": {"mode": "passthrough", "interfaces": ["enp1s0f0v2", "enp1s0f0v3"]}},
        ])
        out_dir = tmp_path / "diagrams"
        play = ('- name: The host diagram\n'
                '  ansible.builtin.import_playbook: %s\n'
                '  vars:\n'
                '    host_diagram_dir: %s\n'
                '    host_diagram_modules: [vm_network, libvirt, vm_interface, sriov_pool]\n'
                '    host_diagram_sysfs_root: %s\n'
                '    host_diagram_libvirt_uri: %s\n') % (diagrams.PLAYBOOK, out_dir, emulated.root, LIBVIRT_URI)
        rc, out, _results = sandbox.play(ansible_runner, play)
        assert rc == 0, out
        assert "No libvirt networks in the diagram" not in out, out
        drawn = diagrams.Diagram(str(out_dir / "hv1.svg"))
        # the PF and its VFs, the collection's (sriov_pool configured them): VFs under vfio-pci by their PCI
        # address, those with a kernel driver by their netdev
        assert drawn.text("link:enp1s0f0")[:3] == ["PF enp1s0f0", PF, "4 of 64 VFs"] and not drawn.foreign("link:enp1s0f0")
        assert drawn.text("pci:0000:01:10.0") == ["VF 0", "0000:01:10.0", "driver vfio-pci"]
        assert drawn.text("link:enp1s0f0v2") == ["VF 2", "0000:01:10.2", "enp1s0f0v2", "driver iavf"]
        assert {("link:enp1s0f0", "pci:0000:01:10.%d" % vf) for vf in (0, 1)} <= drawn.edges
        assert {("link:enp1s0f0", "link:enp1s0f0v%d" % vf) for vf in (2, 3)} <= drawn.edges
        assert not any(drawn.foreign(node) for node in ("pci:0000:01:10.0", "link:enp1s0f0v3"))
        # the libvirt networks: the isolated one with its bridge, subnet and DHCP range; the macvtap
        # passthrough pool over the two VFs' netdevs
        with open(out_dir / "hv1.svg", encoding="utf-8") as handle:
            svg = html.unescape(handle.read())
        for text in ("libvirt network hvtlvdiso", "mode isolated", "198.51.100.225/28", "DHCP 198.51.100.230 - 198.51.100.238",
                     "libvirt network hvtlvdmvt", "mode passthrough"):
            assert text in svg, text
        assert drawn.text("link:hvtlvdiso0")[0] == "bridge hvtlvdiso0" and not drawn.foreign("link:hvtlvdiso0")
        assert drawn.text("pool:hvtlvdmvt") == ["pool hvtlvdmvt"]
        assert {("pool:hvtlvdmvt", "link:enp1s0f0v2"), ("pool:hvtlvdmvt", "link:enp1s0f0v3")} <= drawn.edges
        mermaid = (out_dir / "hv1.mmd").read_text(encoding="utf-8")
        assert "PF enp1s0f0<br/>" in mermaid and "libvirt network hvtlvdmvt<br/>mode passthrough" in mermaid
        diagrams.keep_for_docs(str(out_dir / "hv1.svg"), "passthrough")

        again = sandbox.play(ansible_runner, play)[1]
        assert fu.recap_changed(again) == 0, again
    finally:
        emulated.close()
