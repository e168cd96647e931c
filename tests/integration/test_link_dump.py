# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""backend/linkdump.py (the raw link and FDB dumps the kernel backend reads) against iproute2.

Every kind of link the snapshot describes, with the attributes set away from their defaults,
read by the module's decoder and by `ip -d -j link show` in the same namespace: the same links;
the static FDB entries towards bridge ports are those `bridge -j fdb show` lists.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), ".collections"))

# pylint: disable=wrong-import-position
from ansible_collections.hypervisor.networking.plugins.module_utils.parse import iproute  # noqa: E402

DUMP = """
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.hypervisor.networking.plugins.module_utils.backend import linkdump
print(json.dumps({"links": linkdump.dump_links(), "fdb": linkdump.dump_static_fdb()}))
"""
COLLECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), ".collections")


def test_link_dump_matches_iproute2(hv_ns):
    ns = hv_ns
    for argv in (
        ("ip", "link", "add", "br0", "type", "bridge", "stp_state", "1", "forward_delay", "400"),
        ("ip", "link", "add", "br1", "address", "02:00:00:00:00:aa", "type", "bridge"),
        ("ip", "tuntap", "add", "name", "t0", "mode", "tap", "multi_queue", "user", "65534", "group", "65534"),
        ("ip", "tuntap", "add", "name", "t1", "mode", "tap", "vnet_hdr"),
        ("ip", "tuntap", "add", "name", "tn0", "mode", "tun"),
        ("ip", "link", "set", "t1", "master", "br0"),
        ("bridge", "link", "set", "dev", "t1", "isolated", "on", "learning", "off", "flood", "off"),
        ("ip", "link", "set", "t0", "master", "br1", "up"),
        ("ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1"),
        ("ip", "link", "set", "d0", "alias", "hypervisor.networking/test x", "mtu", "9000", "up"),
        ("ip", "link", "add", "link", "d0", "name", "mv0", "type", "macvtap", "mode", "bridge"),
        ("ip", "link", "add", "link", "d1", "name", "mv1", "type", "macvtap", "mode", "private"),
        ("ip", "link", "add", "link", "d0", "name", "mv2", "type", "macvtap"),
        ("ip", "link", "set", "br0", "up"),
        ("bridge", "fdb", "add", "02:11:22:33:44:55", "dev", "t1", "master", "static"),
        ("bridge", "fdb", "add", "02:11:22:33:44:56", "dev", "t1", "master", "static"),
        ("bridge", "fdb", "add", "02:AA:22:33:44:57", "dev", "t0", "master", "static"),
        ("bridge", "fdb", "add", "02:11:22:33:44:58", "dev", "t0", "master"),  # not static: not ours to read
    ):
        ns.run(*argv)
    for index in range(200):  # more than one datagram of dump
        ns.run("ip", "tuntap", "add", "name", "m%d" % index, "mode", "tap")
    dumped = json.loads(ns.run(sys.executable, "-c", DUMP, COLLECTIONS).stdout)
    ours = dumped["links"]
    theirs = iproute.snapshot_from_ip_json(ns.run("ip", "-d", "-j", "link", "show").stdout)["links"]
    assert sorted(ours) == sorted(theirs)
    for name, link in ours.items():
        expected = dict(theirs[name])
        if expected.get("mac") is None:
            assert link["mac"] in (None, "00:00:00:00:00:00"), name  # iproute2 omits lo's and tun's
            expected["mac"] = link["mac"]
        assert link == expected, name
    assert ours["t1"]["brport"] == {"isolated": True, "learning": False, "flood": False}
    assert ours["t0"]["tun"] == {"type": "tap", "multi_queue": True, "owner": 65534, "group": 65534}
    assert ours["br0"]["bridge"] == {"stp": True, "delay": 4}
    assert ours["mv1"]["macvtap"] == {"mode": "private"} and ours["mv1"]["lower"] == "d1"
    names = {link["index"]: name for name, link in ours.items()}
    fdb = json.loads(ns.run("bridge", "-j", "fdb", "show").stdout)
    static = sorted((entry["ifname"], entry["mac"]) for entry in fdb if entry.get("state") == "static" and entry.get("master"))
    assert sorted((names[index], mac) for index, mac in dumped["fdb"]) == static
    assert ("t0", "02:aa:22:33:44:57") in static and len(static) == 3
