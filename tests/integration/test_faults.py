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
    upstream = netns_factory("upstream")
    _uplink_topology(hv_ns, upstream)
    lab = faults.Lab(hv_ns, tmp_path, "vm_network", {"persist": True})
    lab.upstream = upstream
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


@pytest.fixture
def tap_lab(hv_ns, tmp_path):
    # a set MAC, as the collection's own bridges have: a bridge's kernel-chosen MAC follows its ports
    hv_ns.run("ip", "link", "add", "br-taps", "address", "02:00:00:00:0f:01", "type", "bridge")
    lab = faults.Lab(hv_ns, tmp_path, "vm_interface", {"persist": True})
    nh.settled_state(hv_ns)
    yield lab
    lab.cleanup()


TAP = {"name": "vnet-f0", "mtu": 1400, "mac": "02:00:00:00:01:01", "bridge": "br-taps", "guest": {"queues": 2}}


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


@pytest.mark.slow
def test_uplink_killed_mid_move_is_reachable_again_after_the_next_run(uplink_lab, record_property):
    """The worst moment to die: the uplink is enslaved, its addresses and routes not moved yet.

    Upstream pings the host every 10 ms from before the kill until after the next run. What the
    host's reachability is in the half-done state is recorded (not asserted: it depends on the
    kernel); after the next run it must answer again, in both directions, with no person involved.
    """
    lab = uplink_lab
    upstream = lab.upstream
    args = {"config": [UPLINK_NET]}
    n, commands = lab.plan_size(args)
    worst = commands.index("ip link set up0 master br-up")
    assert commands[worst + 1].startswith("ip route replace"), commands  # nothing of the move after it ran
    pings = [nh.ContinuousPing(upstream, "203.0.113.2"), nh.ContinuousPing(upstream, "2001:db8:1::2")]
    try:
        time.sleep(1.0)
        result, _info, rc = lab.run(args, fault="kill", k=worst)
        assert rc == -9 and result is None
        assert nh.link(lab.ns, "up0")["master"] == "br-up"
        assert nh.default_routes(lab.ns)[0] == ("inet", "203.0.113.1", "up0"), "the routes had not moved yet"
        half_done = {"host->gateway": ping(lab.ns, "203.0.113.1", count=2, timeout=4),
                     "upstream->host": ping(upstream, "203.0.113.2", count=2, timeout=4)}
        print("KILLED after '%s' (action %d of %d): reachable %s" % (commands[worst], worst, n, half_done))
        for key, value in half_done.items():
            record_property("half_done_%s" % key, value)
        recovered, _info = lab.ok(args)
        assert recovered["changed"] is True
        time.sleep(1.0)
    finally:
        losses = {p.address: p.stop() for p in pings}
    for address, (sent, received) in losses.items():
        print("PACKET LOSS kill+recovery to %s: %d of %d lost" % (address, sent - received, sent))
        record_property("kill_recovery_lost_%s" % address, sent - received)
    assert ping(upstream, "203.0.113.2", count=2, timeout=5) and ping(upstream, "2001:db8:1::2", count=2, timeout=5)
    assert ping(lab.ns, "203.0.113.1", count=2, timeout=5)
    assert nh.default_routes(lab.ns) == [("inet", "203.0.113.1", "br-up"), ("inet6", "2001:db8:1::1", "br-up")]
    assert nh.global_addrs(lab.ns, "up0") == set()
    assert lab.ok(args)[0]["changed"] is False


def test_tap_every_fault_rolls_back_and_every_kill_recovers(tap_lab, record_property):
    """vm_interface too: a tap is marked in the step that creates it, so a kill right after is
    recognised as the collection's by the next run. The recovery runs use state replaced: merged
    keeps what a half-made tap has for the fields the request leaves out (it is still down)."""
    figures = faults.prove_every_fault_rolls_back(tap_lab, {"config": [TAP]})
    replaced = {"config": [TAP], "state": "replaced"}
    figures.update(faults.prove_every_kill_recovers(tap_lab, replaced, {"config": [{"name": "vnet-f0"}], "state": "deleted"}))
    _report(record_property, "tap", figures)
