# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/host_diagram.yml against a sandbox host built by the README's own plays: the SVG it
writes shows what the kernel has (the bridge profile of the quick start; the NAT example with a
VM's tap), with the host's own uplink greyed, and a second run changes nothing.

The OVS-DPDK profile's diagram is tests/integration/dpdk/test_host_diagram_dpdk.py.
"""

from __future__ import annotations

import html
import os
import sys

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diagrams  # noqa: E402  pylint: disable=wrong-import-position
import firstuse as fu  # noqa: E402  pylint: disable=wrong-import-position

README = os.path.join(fu.REPO_ROOT, "README.md")


@pytest.fixture
def sandbox(netns_factory, tmp_path):
    box = fu.Sandbox(netns_factory, tmp_path)
    yield box
    box.remove_run_files()


def _draw(sandbox, ansible_runner, out_dir, modules):
    play = ('- name: The host diagram\n'
            '  ansible.builtin.import_playbook: %s\n'
            '  vars:\n'
            '    host_diagram_dir: %s\n'
            '    host_diagram_modules: %s\n') % (diagrams.PLAYBOOK, out_dir, list(modules))
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

    # no OVS in this sandbox: ovs_dpdk_port cannot report, and is left out with a note
    out = _draw(sandbox, ansible_runner, out_dir, ["vm_network", "vm_interface", "ovs_dpdk_port"])
    assert "Not in the diagram, their gathered failed: ovs_dpdk_port" in out, out
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
