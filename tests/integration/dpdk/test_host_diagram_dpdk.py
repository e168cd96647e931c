# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/host_diagram.yml on the OVS-DPDK profile: playbooks/dpdk_host.yml builds its bridge,
a DPDK port with a pinned queue, a bond and a vhost-user-client port on the private OVS-DPDK,
and the SVG shows them with the PMD cores, as OVSDB has them."""

from __future__ import annotations

import html
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import diagrams  # noqa: E402  pylint: disable=wrong-import-position
import test_dpdk_role as dpdk_role  # noqa: E402  pylint: disable=wrong-import-position


def test_dpdk_profile_diagram(ovs, run_playbook, tmp_path):
    rc, out = run_playbook(ovs.ns, dpdk_role.PLAYBOOK, dpdk_role._vars(ovs, tmp_path))  # pylint: disable=protected-access
    assert rc == 0, out
    out_dir = tmp_path / "diagrams"
    rc, out = run_playbook(ovs.ns, diagrams.PLAYBOOK, {
        "host_diagram_dir": str(out_dir), "host_diagram_ovs_database": ovs.database,
        "host_diagram_modules": ["vm_network", "vm_interface", "ovs_dpdk_bridge", "ovs_dpdk_port", "ovs_dpdk_global", "hugepages"]})
    assert rc == 0 and "Not in the diagram" not in out, out

    drawn = diagrams.Diagram(str(out_dir / "localhost.svg"))
    assert drawn.text("ovs:br-dpdk")[0] == "OVS bridge br-dpdk"
    assert drawn.text("ovsport:null0")[:2] == ["dpdk null0", "net_null0,no-rx=1"]
    assert "PMD q0->core 1" in drawn.text("ovsport:null0")
    assert drawn.text("ovsport:vhu0")[:2] == ["dpdkvhostuserclient vhu0", "socket vhu0.sock"]
    assert drawn.text("ovsport:bond0")[:2] == ["bond bond0", "member bond0-a net_null1,no-rx=1"]
    for port in ("null0", "bond0", "vhu0"):
        assert ("ovsport:" + port, "ovs:br-dpdk") in drawn.edges
    assert ("vm:vhu0", "ovsport:vhu0") in drawn.edges
    settings = drawn.text("ovs-global")
    assert "PMD cores 1" in settings and "dpdk-init true" in settings, settings
    # the netdev bridge's kernel tap is OVS's, drawn as the OVS bridge, not as a foreign link
    assert "link:br-dpdk" not in drawn.nodes and "link:ovs-netdev" not in drawn.nodes
    with open(out_dir / "localhost.svg", encoding="utf-8") as handle:
        assert "OVS-DPDK br-dpdk" in html.unescape(handle.read())
    diagrams.keep_for_docs(str(out_dir / "localhost.svg"), "dpdk")
