# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults and kill -9 during apply of three OVS-DPDK ports (see ../faults.py for the dump).

Two net_af_packet vdevs on veths and a vhost-user client port, on a private OVS-DPDK with
ovs-vswitchd inside the test namespace (fixture ``ovs``). The module's plan is one ovs-vsctl
transaction and the save for the boot-time restore, then a verification that waits for the
ports: every action and the verification fail in turn, and the module is killed after each
action.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import faults  # noqa: E402  pylint: disable=wrong-import-position
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position
from netns import veth  # noqa: E402  pylint: disable=wrong-import-position

BR = "br0"


@pytest.fixture
def ovs_lab(ovs, netns_factory, tmp_path):
    ovs.vsctl("add-br", BR, "--", "set", "Bridge", BR, "datapath_type=netdev")
    peer = netns_factory("peer")
    veth(ovs.ns, "hv-a", peer, "eth0")
    veth(ovs.ns, "hv-b", peer, "eth1")
    # DPDK's net_af_packet turns on promiscuous mode of the kernel interface it opens and does
    # not turn it off when the port goes (ovs-vsctl del-port by hand too): the baseline is the
    # veths after OVS-DPDK opened them once, by hand, so the comparison sees only the collection
    for index, dev in enumerate(("hv-a", "hv-b")):
        ovs.vsctl("add-port", BR, "tmp-%d" % index, "--", "set", "Interface", "tmp-%d" % index, "type=dpdk",
                  'options:dpdk-devargs="net_af_packet%d,iface=%s"' % (index, dev))
    for index in range(2):
        ovs.vsctl("del-port", BR, "tmp-%d" % index)
    assert all("PROMISC" in ovs.ns.link(dev)["flags"] for dev in ("hv-a", "hv-b")), "af_packet no longer leaves PROMISC"
    nh.settled_state(ovs.ns)
    lab = faults.Lab(ovs.ns, tmp_path / "lab", "ovs_dpdk_port",
                     {"persist": True, "database": ovs.database, "vhost_socket_dir": ovs.sockdir}, ovs=ovs)
    os.makedirs(lab.workdir, exist_ok=True)
    yield lab
    lab.cleanup()


def _ports(ovs):
    return [
        {"name": "phy-a", "bridge": BR, "devargs": "net_af_packet0,iface=hv-a", "ofport_request": 1},
        {"name": "phy-b", "bridge": BR, "devargs": "net_af_packet1,iface=hv-b", "ofport_request": 2},
        {"name": "vhu-vm1", "bridge": BR, "type": "dpdkvhostuserclient", "vhost_server_path": os.path.join(ovs.sockdir, "vhu-vm1.sock"),
         "ofport_request": 3},
    ]


def test_ovs_ports_every_fault_rolls_back(ovs, ovs_lab, record_property):
    figures = faults.prove_every_fault_rolls_back(ovs_lab, {"config": _ports(ovs)})
    for key in ("actions", "fault_points"):
        record_property("ovs_%s" % key, figures[key])
    print("FAULTS ovs: %s" % {k: v for k, v in figures.items() if k != "commands"})


def test_ovs_ports_every_kill_recovers(ovs, ovs_lab, record_property):
    figures = faults.prove_every_kill_recovers(ovs_lab, {"config": _ports(ovs)}, {"config": [], "state": "deleted"})
    record_property("ovs_kills", figures["kills"])
    print("FAULTS ovs: %s" % figures)
    # the ports really carried their configuration after the recovery run (read from OVSDB)
    ovs_lab.ok({"config": _ports(ovs)})
    assert ovs.interface("phy-a")["ofport"] == 1 and ovs.interface("vhu-vm1")["ofport"] == 3
    assert ovs.interface("phy-b")["error"] == []
