# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults and kill -9 during apply, for every action of two representative vm_network plans.

* a bridge network taking over an uplink veth that carries the host's addresses and default
  routes towards an upstream namespace;
* a nat network with DHCP, DNS and a port forward.

Each plan: action k fails (for every k) and the verification fails: the host is exactly as
before (full dump, see faults.py); the module is SIGKILLed after action k (for every k): the
next run converges to what an uninterrupted run makes, a second run reports no change, and a
`deleted` run leaves the host as it was before. The module runs in-process inside the namespace
(fault_driver.py), so each case takes well under a second of module time.

The OVS-DPDK plan is in dpdk/test_faults_ovs.py (it needs the private OVS-DPDK fixture).
"""

from __future__ import annotations

import os
import sys
import time

import pytest

from netns import ping, veth

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402  pylint: disable=wrong-import-position
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position

UPLINK_NET = {"name": "lan", "forward": {"mode": "bridge"}, "bridge": {"name": "br-up", "uplink": "up0"}}
NAT_NET = {
    "name": "natnet",
    "bridge": {"name": "virbr-f", "stp": False},
    "forward": {"mode": "nat"},
    "ips": [{"address": "198.51.100.1", "prefix": 24, "dhcp": {
        "ranges": [{"start": "198.51.100.100", "end": "198.51.100.150"}],
        "hosts": [{"mac": "52:54:00:00:00:22", "name": "vm2", "ip": "198.51.100.22"}]}}],
    "domain": {"name": "example.test"},
    "dns": {"hosts": [{"ip": "198.51.100.22", "hostnames": ["files"]}]},
    "port_forwards": [{"protocol": "tcp", "host_port": 8080, "guest_ip": "198.51.100.22", "guest_port": 80}],
}
pytestmark = pytest.mark.skipif(not os.path.exists("/usr/sbin/dnsmasq"), reason="needs dnsmasq-base")


def _uplink_topology(hv, upstream):
    """hv: up0 203.0.113.2/24 + 2001:db8:1::2/64, default routes via upstream (.1 / ::1)."""
    veth(hv, "up0", upstream, "upeth0")
    upstream.run("ip", "addr", "add", "203.0.113.1/24", "dev", "upeth0")
    upstream.run("ip", "-6", "addr", "add", "2001:db8:1::1/64", "dev", "upeth0", "nodad")
    hv.run("ip", "addr", "add", "203.0.113.2/24", "dev", "up0")
    hv.run("ip", "-6", "addr", "add", "2001:db8:1::2/64", "dev", "up0", "nodad")
    hv.run("ip", "route", "add", "default", "via", "203.0.113.1", "dev", "up0")
    hv.run("ip", "-6", "route", "add", "default", "via", "2001:db8:1::1", "dev", "up0")
    assert ping(hv, "203.0.113.1", count=1, timeout=5)
    assert ping(hv, "2001:db8:1::1", count=1, timeout=5)


@pytest.fixture
def uplink_lab(hv_ns, netns_factory, tmp_path):
    _uplink_topology(hv_ns, netns_factory("upstream"))
    lab = faults.Lab(hv_ns, tmp_path, "vm_network", {"persist": True})
    nh.settled_state(hv_ns)  # carrier and DAD settled before the first "before"
    yield lab
    lab.cleanup()


@pytest.fixture
def nat_lab(hv_ns, netns_factory, tmp_path):
    # the namespace's own preconditions, whatever the root namespace has
    hv_ns.run("sysctl", "-qw", "net.ipv4.ip_forward=0")
    hv_ns.run("sysctl", "-qw", "net.ipv6.conf.all.forwarding=0")
    veth(hv_ns, "up0", netns_factory("upstream"), "upeth0")
    hv_ns.run("ip", "addr", "add", "203.0.113.2/24", "dev", "up0")
    lab = faults.Lab(hv_ns, tmp_path, "vm_network", {"persist": True})
    nh.settled_state(hv_ns)
    yield lab
    lab.cleanup()


def _report(record_property, plan, figures):
    for key, value in figures.items():
        if key != "commands":
            record_property("%s_%s" % (plan, key), value)
    print("FAULTS %s: %s" % (plan, {k: v for k, v in figures.items() if k != "commands"}))


@pytest.mark.slow
def test_uplink_move_every_fault_rolls_back(uplink_lab, record_property):
    figures = faults.prove_every_fault_rolls_back(uplink_lab, {"config": [UPLINK_NET]})
    _report(record_property, "uplink", figures)
    assert ping(uplink_lab.ns, "203.0.113.1", count=1, timeout=5)


@pytest.mark.slow
def test_uplink_move_every_kill_recovers(uplink_lab, record_property):
    figures = faults.prove_every_kill_recovers(uplink_lab, {"config": [UPLINK_NET]}, {"config": [{"name": "lan"}], "state": "deleted"})
    _report(record_property, "uplink", figures)
    assert ping(uplink_lab.ns, "203.0.113.1", count=1, timeout=5)


@pytest.mark.slow
def test_nat_network_every_fault_rolls_back(nat_lab, record_property):
    figures = faults.prove_every_fault_rolls_back(nat_lab, {"config": [NAT_NET]})
    _report(record_property, "nat", figures)


@pytest.mark.slow
def test_nat_network_every_kill_recovers(nat_lab, record_property):
    figures = faults.prove_every_kill_recovers(nat_lab, {"config": [NAT_NET]}, {"config": [{"name": "natnet"}], "state": "deleted"})
    _report(record_property, "nat", figures)
