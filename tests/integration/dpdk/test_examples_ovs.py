# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every EXAMPLES task of ovs_dpdk_port, parsed out of the module file, against the private OVS-DPDK.

The tasks run as written; the play's module_defaults point them at the test's OVSDB and keep
the saved state out of /etc (what an inventory would say for a real host). The prerequisites
the examples state (the netdev bridge br-dpdk, PMD cores 2 and 3) are set up first. The
physical-port example runs in check mode: this machine has no PCI NICs for DPDK.
"""

from __future__ import annotations

import os
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import firstuse as fu  # noqa: E402  pylint: disable=wrong-import-position

EXAMPLES = fu.module_examples("ovs_dpdk_port")
FQCN = "hypervisor.networking.ovs_dpdk_port"


def _example(words):
    found = [task for task in EXAMPLES if words in task["name"]]
    assert len(found) == 1, "no single example named like %r" % words
    return found[0]


def _play(tmp_path, ovs, task):
    path = tmp_path / ("play-%d.yml" % len(list(tmp_path.glob("play-*.yml"))))
    # the examples' socket path is /var/run/openvswitch/vhost/...: a client port only records it
    defaults = {"database": ovs.database, "vhost_socket_dir": "/var/run/openvswitch/vhost", "persist": False}
    path.write_text(yaml.safe_dump([{"name": "example", "hosts": "all", "gather_facts": False,
                                     "module_defaults": {FQCN: defaults}, "tasks": [task]}], sort_keys=False))
    return str(path)


def _result(run_playbook, task):
    return [r["result"] for r in run_playbook.results if r["task"] == task["name"]][-1]


def test_every_ovs_example_is_exercised():
    words = ("physical port", "vhost-user port", "Remove every DPDK port", "without a host")
    for task in EXAMPLES:
        assert any(w in task["name"] for w in words), "example %r has no test" % task["name"]


def test_ovs_examples(ovs, run_playbook, tmp_path):
    ovs.vsctl("add-br", "br-dpdk", "--", "set", "Bridge", "br-dpdk", "datapath_type=netdev")

    physical = _example("physical port")
    ovs.vsctl("set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0xc")  # the cores the example pins
    rc, out = run_playbook(ovs.ns, _play(tmp_path, ovs, physical), check=True)
    ovs.vsctl("set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x%x" % (1 << ovs.pmd_core))
    assert rc == 0, out
    result = _result(run_playbook, physical)
    assert result["changed"] is True and any('dpdk-devargs="0000:01:00.0"' in c for c in result["commands"]), result
    assert ovs.port_names() == ["br-dpdk"], "check mode changed nothing (the bridge's own port only)"

    vhost = _example("vhost-user port")
    rc, out = run_playbook(ovs.ns, _play(tmp_path, ovs, vhost))
    assert rc == 0, out
    iface = ovs.interface("vhu-vm1")
    assert iface["type"] == "dpdkvhostuserclient"
    assert iface["options"]["vhost-server-path"] == "/var/run/openvswitch/vhost/vhu-vm1.sock"
    assert (iface["ingress_policing_rate"], iface["ingress_policing_burst"], iface["ofport_request"]) == (368000, 1000, 3)
    assert any(row["type"] == "egress-policer" for row in ovs.qos_rows())

    rendered = _example("without a host")
    rc, out = run_playbook(ovs.ns, _play(tmp_path, ovs, rendered))
    assert rc == 0, out
    assert "net_null0,no-rx=1" in str(_result(run_playbook, rendered)["rendered"])
    assert ovs.port_names() == ["br-dpdk", "vhu-vm1"], "rendered does not touch OVS"

    rc, out = run_playbook(ovs.ns, _play(tmp_path, ovs, _example("Remove every DPDK port")))
    assert rc == 0, out
    assert ovs.port_names() == ["br-dpdk"] and ovs.qos_rows() == []
