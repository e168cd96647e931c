# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Regression tests for the defects a fuzzing run found (injection into dnsmasq.conf, input
dropped silently, contradictions accepted, crashes on wrong types) and for the first-use
mistakes that deserve a better answer (a typo in a key, an unquoted MAC).

Every case runs through ansible-playbook, as a user's play would: YAML, Ansible's argument
handling, then the module. One play holds every invalid case as its own task, so the suite
pays for one ansible-playbook start; each task must fail with the field named, and the
namespace (links, addresses, routes, nft ruleset, processes, saved state) must be exactly as
before. The documented defaults are applied against the real kernel and read back with nft
and ip.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position

NAT_BASE = {"name": "natnet", "forward": {"mode": "nat"}, "bridge": {"name": "hvbr0"},
            "ips": [{"address": "198.51.100.1", "prefix": 24}]}


def _nat(**fields):
    item = json.loads(json.dumps(NAT_BASE))
    item.update(fields)
    return item


def _dhcp_host(host):
    item = _nat()
    item["ips"][0]["dhcp"] = {"ranges": [{"start": "198.51.100.100", "end": "198.51.100.200"}], "hosts": [host]}
    return item


# (module, config item as YAML text or JSON data, the field the message must name, words it must contain)
INVALID = [
    # injection: a control character anywhere must never reach dnsmasq.conf or a command line
    ("vm_network", _nat(dns={"forwarders": [{"addr": "fe80::1%eth0\nlog-queries"}]}), "config[0].dns.forwarders[0].addr", "control character"),
    ("vm_network", _nat(dns={"hosts": [{"ip": "2001:db8::5%x\ncache-size=7", "hostnames": ["web"]}]}), "config[0].dns.hosts[0].ip",
     "control character"),
    ("vm_network", _nat(dns={"hosts": [{"ip": "2001:db8::5%eth0", "hostnames": ["web"]}]}), "config[0].dns.hosts[0].ip", "scope id"),
    ("vm_network", _nat(dns={"forwarders": [{"addr": "fe80::1%-x"}]}), "config[0].dns.forwarders[0].addr", "must be an interface name"),
    ("vm_network", _nat(domain={"name": "example.com\n"}), "config[0].domain.name", "control character"),
    ("vm_network", _nat(dns={"srv": [{"service": "ldap", "protocol": "tcp", "domain": "example.com\n"}]}), "config[0].dns.srv[0].domain",
     "control character"),
    ("vm_network", _dhcp_host({"mac": "52:54:00:00:00:07", "name": "web\n"}), "config[0].ips[0].dhcp.hosts[0].name", "control character"),
    ("vm_network", _nat(ips=[{"address": "198.51.100.1", "prefix": 24, "dhcp": {"bootp": {"file": "pxe\u0000.0"}}}]),
     "config[0].ips[0].dhcp.bootp.file", "control character"),
    ("vm_interface", {"name": "t0\n"}, "config[0].name", "control character"),
    ("vm_network", {"name": "."}, "config[0].name", "not a valid network name"),
    ("vm_network", {"name": ".."}, "config[0].name", "not a valid network name"),
    ("vm_network", {"name": "-x", "bridge": {"name": "hvbr1"}}, "config[0].name", "not a valid network name"),
    ("vm_network", _nat(forward={"mode": "nat", "dev": "-x"}), "config[0].forward.dev", "not '-' first"),
    ("vm_interface", {"name": "-t0"}, "config[0].name", "not '-' first"),
    # contradictions
    ("vm_interface", {"name": "t1", "isolated": True}, "config[0].isolated", "set bridge as well"),
    ("vm_interface", {"name": "t1", "learning": False}, "config[0].learning", "set bridge as well"),
    ("vm_interface", {"name": "t1", "mac": "52:54:00:00:00:11", "guest": {"mac": "52:54:00:00:00:11"}}, "config[0].mac", "equals guest.mac"),
    ("vm_network", {"name": "up", "forward": {"mode": "nat"}, "bridge": {"name": "hvbr2", "uplink": "up0"},
                    "ips": [{"address": "203.0.113.1", "prefix": 24}]}, "config[0].bridge.uplink", "only forward.mode bridge"),
    ("vm_network", _nat(port_forwards=[{"host_port": 8080, "guest_ip": "198.51.100.10"},
                                       {"host_port": 8080, "guest_ip": "198.51.100.11"}]), "config[0].port_forwards[1]", "also forwarded"),
    ("vm_network", _nat(ips=[{"address": "198.51.100.1", "netmask": "0.0.0.255"}]), "config[0].ips[0].netmask", "not a netmask"),
    ("vm_interface", {"name": "t2", "guest": {"ip": "fe80::1%x\ny/64"}}, "config[0].guest.ip", "control character"),
    ("vm_interface", {"name": "t2", "guest": {"ip": "fe80::1%eth0/64"}}, "config[0].guest.ip", "no scope id"),
    # wrong types: ansible-core crashed on these before our shape check
    ("vm_interface", {"name": "t3", "guest": True}, "config[0].guest", "must be a dictionary"),
    ("vm_network", {"name": "n5", "bridge": 5}, "config[0].bridge", "must be a dictionary"),
    ("vm_network", {"name": "n5", "forward": True}, "config[0].forward", "must be a dictionary"),
    ("vm_network", {"name": "n5", "domain": 5}, "config[0].domain", "must be a dictionary"),
    ("vm_network", {"name": "n5", "bandwidth": {"inbound": 1000}}, "config[0].bandwidth.inbound", "must be a dictionary"),
    ("vm_network", {"name": "n5", "ips": [5]}, "config[0].ips[0]", "must be a dictionary"),
    ("vm_interface", {"name": "t3", "mtu": "Infinity"}, "config[0].mtu", "is not an integer"),
    ("vm_interface", {"name": "t3", "group": "4294967296"}, "config[0].group", "0..4294967294"),
    ("vm_interface", {"name": "t3", "owner": 4294967296}, "config[0].owner", "0..4294967294"),
    ("vm_interface", {"name": "t3", "multi_queue": "perhaps"}, "config[0].multi_queue", "not a boolean"),
    # first-use mistakes
    ("vm_network", {"name": "n6", "ips": [{"adress": "198.51.100.1/24"}]}, "config[0].ips[0].adress", "did you mean 'address'"),
    ("vm_interface", "{name: t4, mac: 52:54:00:12:34:56}", "config[0].mac", 'quote it (mac: "52:54:00:12:34:56")'),
    ("vm_interface", {"name": "t4", "guest": {"ip": "198.51.100.7"}}, "config[0].guest.ip", "needs a prefix: write it as address/prefix"),
]


def _play(tmp_path, cases):
    tasks = []
    for index, (module, item, _field, _words) in enumerate(cases):
        config = item if isinstance(item, str) else json.dumps(item)
        tasks.append("    - name: case %d\n      hypervisor.networking.%s:\n        persist: false\n        config:\n          - %s\n"
                     "      ignore_errors: true\n" % (index, module, config))
    path = tmp_path / "invalid.yml"
    path.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n" + "".join(tasks))
    return path


def _namespace_dump(ns):
    """Everything a rejected call must leave alone: kernel objects, the ruleset, processes, state files."""
    files = []
    for root in ("/etc/hypervisor-networking", "/run/hypervisor-networking", "/var/lib/hypervisor-networking"):
        for directory, _dirs, names in os.walk(root):
            files += [os.path.join(directory, name) for name in names if ns.name in os.path.join(directory, name)]
    return {"kernel": nh.kernel_state(ns), "nft": ns.run("nft", "-j", "list", "ruleset").stdout,
            "processes": sorted(ns.pids()), "files": sorted(files)}


def test_every_invalid_case_fails_naming_its_field_and_changes_nothing(hv_ns, run_playbook, tmp_path):
    hv_ns.run("ip", "link", "add", "up0", "type", "veth", "peer", "name", "up0p")
    before = _namespace_dump(hv_ns)
    run_playbook(hv_ns, _play(tmp_path, INVALID))
    results = run_playbook.results
    assert len(results) == len(INVALID), [r.get("task") for r in results]
    wrong = []
    for (module, item, field, words), result in zip(INVALID, results):
        msg = result["result"].get("msg", "")
        at = msg.find(field + ":")
        named = at >= 0 and (at == 0 or msg[at - 1] == " ") and words in msg[at:]
        if not (result["result"].get("failed") and named) or "internal error" in msg or "Traceback" in msg:
            wrong.append("%s %r: expected %s (%s), got: %s" % (module, item, field, words, msg or result["result"]))
    assert not wrong, "\n".join(wrong)
    assert _namespace_dump(hv_ns) == before


def test_documented_defaults_reach_the_host(hv_ns, run_module):
    """Suboptions left out arrive as null from Ansible: each must still get its documented default."""
    config = _nat(
        # end defaults to start, for addresses and ports alike
        forward={"mode": "nat", "nat": {"addresses": {"start": "203.0.113.7"}, "ports": {"start": 20000}}},
        routes=[{"address": "203.0.113.64", "gateway": "198.51.100.2"}],  # prefix defaults to 32
        port_forwards=[{"host_port": 2222, "guest_ip": "198.51.100.10"}],  # tcp, guest_port = host_port
    )
    hv_ns.run("ip", "link", "add", "out0", "type", "veth", "peer", "name", "out0p")
    nh.assert_ok(run_module(hv_ns, "vm_network", {"config": [config], "persist": False}))
    rules = hv_ns.run("nft", "list", "ruleset").stdout
    assert "snat ip to 203.0.113.7:20000" in rules
    assert "tcp dport 2222 dnat ip to 198.51.100.10:2222" in rules
    routes = hv_ns.ip_json("route", "show", "203.0.113.64/32")
    assert [(r["dst"], r["gateway"], r["dev"]) for r in routes] == [("203.0.113.64", "198.51.100.2", "hvbr0")]
    nh.assert_unchanged_run(run_module(hv_ns, "vm_network", {"config": [config], "persist": False}))
    nh.assert_ok(run_module(hv_ns, "vm_network", {"config": [{"name": "natnet"}], "state": "deleted", "persist": False}))
    assert "hvnet" not in hv_ns.run("nft", "list", "ruleset").stdout
