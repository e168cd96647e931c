# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integration tests of vm_network's nat, route and isolated modes with DHCP/DNS.

Real kernel, real nftables, real dnsmasq, inside namespaces:

    upstream ns (203.0.113.1)  --veth--  hypervisor ns (up0 203.0.113.2, bridge virbr-t 198.51.100.1)
                                                         |-- vm1 ns (DHCP from the range)
                                                         |-- vm2 ns (MAC with a reserved address)

Every assertion reads the kernel, nft, /proc or the guests' own view (DHCP lease, DNS answer,
TCP peer address), never only the module's return value. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position
from netns import veth  # noqa: E402  pylint: disable=wrong-import-position

BRIDGE = "virbr-t"
GATEWAY = "198.51.100.1"
UPLINK_ADDR = "203.0.113.2"
UPSTREAM_ADDR = "203.0.113.1"
VM2_MAC = "52:54:00:00:00:22"
VM2_IP = "198.51.100.22"
RANGE = ("198.51.100.100", "198.51.100.150")
NET6 = "2001:db8:ca2:2::1"
pytestmark = pytest.mark.skipif(not os.path.exists("/usr/sbin/dnsmasq") or not os.path.exists("/bin/busybox"),
                                reason="needs dnsmasq-base and busybox")

UDHCPC_SCRIPT = textwrap.dedent("""\
    #!/bin/sh
    # udhcpc event script: configure the lease and record what the server sent
    case "$1" in
      bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
        for r in $router; do ip route replace default via "$r" dev "$interface"; done
        echo "ip=$ip mask=$mask router=$router dns=$dns mtu=$mtu domain=$domain" > "$LEASE_OUT"
        ;;
    esac
    exit 0
""")


# ---- helpers ------------------------------------------------------------------------------
def nat_config(**extra):
    config = {
        "name": "natnet",
        "bridge": {"name": BRIDGE, "stp": False},
        "forward": {"mode": "nat"},
        "mtu": 1400,
        "ips": [
            {"address": GATEWAY, "netmask": "255.255.255.0", "dhcp": {
                "ranges": [{"start": RANGE[0], "end": RANGE[1]}],
                "hosts": [{"mac": VM2_MAC, "name": "vm2", "ip": VM2_IP}]}},
            {"address": NET6, "prefix": 64},
        ],
        "domain": {"name": "example.test"},
        "dns": {"hosts": [{"ip": VM2_IP, "hostnames": ["files", "files-alias"]}],
                "txt": [{"name": "hello", "value": "world"}],
                "srv": [{"service": "ldap", "protocol": "tcp", "target": "files.example.test", "port": 389, "priority": 10, "weight": 5}]},
        "port_forwards": [{"protocol": "tcp", "host_port": 8080, "guest_ip": VM2_IP, "guest_port": 80}],
    }
    config.update(extra)
    return config


def nft_tables(ns):
    data = json.loads(ns.run("nft", "-j", "list", "tables").stdout or '{"nftables": []}')
    return sorted("%s %s" % (t["table"]["family"], t["table"]["name"]) for t in data["nftables"] if "table" in t)


def nft_text(ns, table="hvnet_natnet"):
    return ns.run("nft", "list", "table", "inet", table).stdout


def sysctl(ns, key):
    return ns.run("sysctl", "-n", key).stdout.strip()


def dnsmasq_pids(ns):
    pids = []
    for pid in ns.pids():
        try:
            with open("/proc/%d/comm" % pid) as handle:
                if handle.read().strip() == "dnsmasq":
                    pids.append(pid)
        except OSError:
            continue
    return pids


def proc_user(pid):
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


def scope_files(ns):
    """Files of the namespace's scope; none of its directories may be left either."""
    return nh.scope_files(ns) + [d for d in (nh.state_dir(ns), nh.runtime_dir(ns)) if os.path.exists(d)]


def leases_file(ns, network):
    return os.path.join(nh.runtime_dir(ns), "dnsmasq", network + ".leases")


def dnsmasq_conf_file(ns, network):
    return os.path.join(nh.runtime_dir(ns), "dnsmasq", network + ".conf")


def dhcp(vm, tmp_path, iface="eth0"):
    script = tmp_path / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)
    out = tmp_path / ("lease-%s" % vm.name)
    env_argv = ["env", "LEASE_OUT=%s" % out, "busybox", "udhcpc", "-i", iface, "-n", "-q", "-f", "-t", "6", "-T", "1",
                "-O", "mtu", "-s", str(script)]
    vm.run(*env_argv, timeout=30)
    text = out.read_text().strip()
    return dict(word.split("=", 1) for word in text.split() if "=" in word)


@pytest.fixture
def lab(netns_factory):
    """hv + upstream + two VMs; the VMs' hv ends are enslaved once the bridge exists."""
    hv, up, vm1, vm2 = (netns_factory(n) for n in ("hv", "up", "vm1", "vm2"))
    veth(hv, "up0", up, "eth0")
    hv.run("ip", "addr", "add", UPLINK_ADDR + "/24", "dev", "up0")
    hv.run("ip", "route", "add", "default", "via", UPSTREAM_ADDR)
    up.run("ip", "addr", "add", UPSTREAM_ADDR + "/24", "dev", "eth0")
    veth(hv, "vm1p", vm1, "eth0")
    veth(hv, "vm2p", vm2, "eth0")
    vm2.run("ip", "link", "set", "eth0", "address", VM2_MAC)
    yield {"hv": hv, "up": up, "vm1": vm1, "vm2": vm2}
    nh.remove_state_dir(hv)


def attach_vms(lab):
    for port in ("vm1p", "vm2p"):
        lab["hv"].run("ip", "link", "set", port, "master", BRIDGE)


# ---- the tests ------------------------------------------------------------------------------
def test_nat_network_end_to_end(lab, run_module, tmp_path):
    hv, up, vm1, vm2 = lab["hv"], lab["up"], lab["vm1"], lab["vm2"]
    assert sysctl(hv, "net.ipv4.ip_forward") == "0"

    # check mode on the fresh namespace: a plan, and nothing changes
    result = nh.assert_ok(run_module(hv, "vm_network", {"config": [nat_config()]}, check=True))
    assert result["changed"] is True
    assert nft_tables(hv) == [] and nh.link(hv, BRIDGE) is None and not dnsmasq_pids(hv)
    assert sysctl(hv, "net.ipv4.ip_forward") == "0"

    result = nh.assert_ok(run_module(hv, "vm_network", {"config": [nat_config()]}, diff=True))
    assert result["changed"] is True
    assert result["diff"]["before"] == {} and result["diff"]["after"]["natnet"]["forward"]["mode"] == "nat"
    assert not any("/etc/" in c or "/run/" in c or "/var/" in c for c in result["commands"]), result["commands"]

    # firewall, forwarding, dnsmasq as the kernel and /proc report them
    assert nft_tables(hv) == ["inet hvnet_natnet"]
    rules = nft_text(hv)
    assert 'oifname "virbr-t" ip daddr 198.51.100.0/24 ct state established,related accept' in rules
    assert "ip saddr 198.51.100.0/24 ip daddr 224.0.0.0/24 return" in rules
    assert "ip saddr 198.51.100.0/24 ip daddr 255.255.255.255 return" in rules
    assert "meta l4proto { tcp, udp } masquerade to :1024-65535" in rules
    assert sysctl(hv, "net.ipv4.ip_forward") == "1"
    assert sysctl(hv, "net.ipv6.conf.all.forwarding") == "1"
    pids = dnsmasq_pids(hv)
    assert len(pids) == 1 and proc_user(pids[0]) != 0, "one unprivileged dnsmasq"

    # idempotent: no change, no restart of dnsmasq
    nh.assert_unchanged_run(run_module(hv, "vm_network", {"config": [nat_config()]}))
    assert dnsmasq_pids(hv) == pids

    # guests: a lease from the range, the reserved address, the MTU, DNS names
    attach_vms(lab)
    lease1 = dhcp(vm1, tmp_path)
    assert RANGE[0] <= lease1["ip"] <= RANGE[1] and len(lease1["ip"]) == len(RANGE[0]), lease1
    assert lease1["router"] == GATEWAY and lease1["mtu"] == "1400" and lease1["domain"] == "example.test"
    lease2 = dhcp(vm2, tmp_path)
    assert lease2["ip"] == VM2_IP, lease2
    answer = vm1.run("dig", "+short", "+time=2", "+tries=2", "@" + GATEWAY, "files.example.test", timeout=15).stdout.split()
    assert answer == [VM2_IP]
    answer = vm1.run("dig", "+short", "+time=2", "+tries=2", "@" + GATEWAY, "TXT", "hello", timeout=15).stdout.split()
    assert answer == ['"world"']
    answer = vm1.run("dig", "+short", "+time=2", "+tries=2", "@" + GATEWAY, "SRV", "_ldap._tcp.example.test", timeout=15).stdout
    assert "389 files.example.test" in answer

    # outbound: masqueraded to the uplink's address
    server = nh.listen(up, UPSTREAM_ADDR, 7000)
    assert nh.connect(vm1, UPSTREAM_ADDR, 7000) == "connected"
    assert nh.peer_of(server) == UPLINK_ADDR
    # inbound to the guest: refused (upstream knows the route, the firewall says no)
    up.run("ip", "route", "add", "198.51.100.0/24", "via", UPLINK_ADDR)
    guest = nh.listen(vm1, lease1["ip"], 7001, seconds=5)
    assert nh.connect(up, lease1["ip"], 7001) == "refused"
    assert nh.peer_of(guest) == "timeout"
    # through the port forward on the uplink address: accepted, the guest sees the client
    guest = nh.listen(vm2, VM2_IP, 80)
    assert nh.connect(up, UPLINK_ADDR, 8080) == "connected"
    assert nh.peer_of(guest) == UPSTREAM_ADDR

    # a changed DNS setting restarts dnsmasq (only then); the lease survives the restart
    leases_before = open(leases_file(hv, "natnet")).read()
    assert lease1["ip"] in leases_before
    changed = nat_config(dns={"hosts": [{"ip": VM2_IP, "hostnames": ["files2"]}]})
    result = nh.assert_ok(run_module(hv, "vm_network", {"config": [changed], "state": "replaced"}, diff=True))
    assert any("restart dnsmasq" in c for c in result["commands"]), result["commands"]
    assert result["diff"]["before"]["natnet"]["dns"] != result["diff"]["after"]["natnet"]["dns"]
    new_pids = dnsmasq_pids(hv)
    assert len(new_pids) == 1 and new_pids != pids
    assert lease1["ip"] in open(leases_file(hv, "natnet")).read()
    nh.assert_unchanged_run(run_module(hv, "vm_network", {"config": [changed], "state": "replaced"}))

    # drift: a rule removed by hand is put back
    handle = json.loads(hv.run("nft", "-j", "-a", "list", "chain", "inet", "hvnet_natnet", "hv_postrouting").stdout)["nftables"][-1]["rule"]["handle"]
    hv.run("nft", "delete", "rule", "inet", "hvnet_natnet", "hv_postrouting", "handle", str(handle))
    result = nh.assert_ok(run_module(hv, "vm_network", {"config": [changed], "state": "replaced"}))
    assert result["changed"] is True and any(c.startswith("nft -f -") for c in result["commands"])
    nh.assert_unchanged_run(run_module(hv, "vm_network", {"config": [changed], "state": "replaced"}))

    # gathered gives the service fields back
    gathered = nh.assert_ok(run_module(hv, "vm_network", {"state": "gathered"}))["gathered"]
    assert gathered[0]["port_forwards"][0]["guest_ip"] == VM2_IP
    assert gathered[0]["ips"][0]["dhcp"]["hosts"][0]["mac"] == VM2_MAC

    # simulated reboot: namespace gone (and its processes), re-created, restore brings it all back
    ruleset = nft_text(hv)
    name = hv.name
    hv.kill_processes()
    hv.run("ip", "link", "del", "up0")
    subprocess.run(["ip", "netns", "delete", name], check=True)
    subprocess.run(["ip", "netns", "add", name], check=True)
    hv.run("ip", "link", "set", "lo", "up")
    veth(hv, "up0", up, "eth0")
    hv.run("ip", "addr", "add", UPLINK_ADDR + "/24", "dev", "up0")
    assert nft_tables(hv) == [] and not dnsmasq_pids(hv)
    restore = hv.run(nh.restore_program(hv.name), check=False, timeout=120)
    assert restore.returncode == 0, restore.stdout + restore.stderr
    assert nft_text(hv) == ruleset
    assert len(dnsmasq_pids(hv)) == 1
    assert sysctl(hv, "net.ipv4.ip_forward") == "1"
    nh.assert_unchanged_run(run_module(hv, "vm_network", {"config": [changed], "state": "replaced"}))

    # removal: no table, no dnsmasq, no files, forwarding back to what it was
    result = nh.assert_ok(run_module(hv, "vm_network", {"config": [{"name": "natnet"}], "state": "deleted"}))
    assert result["changed"] is True
    assert nft_tables(hv) == [] and not dnsmasq_pids(hv) and nh.link(hv, BRIDGE) is None
    assert scope_files(hv) == []
    assert sysctl(hv, "net.ipv4.ip_forward") == "0" and sysctl(hv, "net.ipv6.conf.all.forwarding") == "0"
    nh.assert_unchanged_run(run_module(hv, "vm_network", {"config": [{"name": "natnet"}], "state": "deleted"}))


def test_nat_network_end_to_end_whatever_the_root_namespace_has(hostile_root, lab, run_module, tmp_path):  # pylint: disable=unused-argument
    """Namespaces start as if the root had ip_forward=1, strict rp_filter, IPv6 off (as on a libvirt
    or Docker host), written inside the test's namespaces only: the scenario still holds."""
    assert (lab["hv"].sysctl("net.ipv4.conf.up0.forwarding"), lab["hv"].sysctl("net.ipv4.conf.default.rp_filter")) == ("0", "0")
    test_nat_network_end_to_end(lab, run_module, tmp_path)


def test_route_network_and_ipv6_nat(lab, run_module, tmp_path):
    hv, up, vm1 = lab["hv"], lab["up"], lab["vm1"]
    config = {
        "name": "routed", "bridge": {"name": BRIDGE, "stp": False}, "forward": {"mode": "route", "dev": "up0"},
        "ips": [{"address": GATEWAY, "prefix": 24, "dhcp": {"ranges": [{"start": RANGE[0], "end": RANGE[1]}]}}],
        "routes": [{"address": "203.0.113.192", "prefix": 26, "gateway": "198.51.100.254"}],
    }
    nh.assert_ok(run_module(hv, "vm_network", {"config": [config], "persist": False}))
    nh.assert_unchanged_run(run_module(hv, "vm_network", {"config": [config], "persist": False}))
    assert 'iifname "virbr-t" oifname "up0" ip saddr 198.51.100.0/24 accept' in nft_text(hv, "hvnet_routed")
    assert "masquerade" not in nft_text(hv, "hvnet_routed")
    routes = hv.ip_json("route", "show", "203.0.113.192/26")
    assert routes and routes[0]["gateway"] == "198.51.100.254" and routes[0]["dev"] == BRIDGE
    attach_vms(lab)
    lease = dhcp(vm1, tmp_path)
    up.run("ip", "route", "add", "198.51.100.0/24", "via", UPLINK_ADDR)
    # outbound keeps the guest's own address; inbound is accepted
    server = nh.listen(up, UPSTREAM_ADDR, 7000)
    assert nh.connect(vm1, UPSTREAM_ADDR, 7000) == "connected"
    assert nh.peer_of(server) == lease["ip"]
    guest = nh.listen(vm1, lease["ip"], 7001)
    assert nh.connect(up, lease["ip"], 7001) == "connected"
    assert nh.peer_of(guest) == UPSTREAM_ADDR

    # switch to nat with IPv6 masquerade, and an SNAT range with ports
    nat_settings = {"ipv6": True, "addresses": {"start": UPLINK_ADDR, "end": UPLINK_ADDR}, "ports": {"start": 20000, "end": 20100}}
    nat = dict(config, forward={"mode": "nat", "nat": nat_settings}, ips=config["ips"] + [{"address": NET6, "prefix": 64}])
    nat.pop("routes")
    nh.assert_ok(run_module(hv, "vm_network", {"config": [nat], "state": "replaced", "persist": False}))
    rules = nft_text(hv, "hvnet_routed")
    assert "meta l4proto { tcp, udp } snat ip to 203.0.113.2:20000-20100" in rules
    assert "ip6 saddr 2001:db8:ca2:2::/64 ip6 daddr != 2001:db8:ca2:2::/64 meta l4proto { tcp, udp } masquerade to :20000-20100" in rules
    assert hv.ip_json("route", "show", "203.0.113.192/26") == []
    server = nh.listen(up, UPSTREAM_ADDR, 7002)
    assert nh.connect(vm1, UPSTREAM_ADDR, 7002) == "connected"
    assert nh.peer_of(server) == UPLINK_ADDR
    nh.assert_unchanged_run(run_module(hv, "vm_network", {"config": [nat], "state": "replaced", "persist": False}))
    nh.assert_ok(run_module(hv, "vm_network", {"config": [], "state": "overridden", "persist": False}))
    assert nft_tables(hv) == [] and not dnsmasq_pids(hv) and scope_files(hv) == []


def lease_config(range_minutes, local_ptr=True):
    """DHCP lease times on the range and on vm2's reservation (forever), the subnet's reverse DNS
    answered locally, and the upstream namespace as the only forwarder (nothing leaves the test)."""
    return {
        "name": "leasenet", "bridge": {"name": BRIDGE, "stp": False}, "forward": {"mode": "nat"},
        "ips": [{"address": GATEWAY, "prefix": 24, "local_ptr": local_ptr, "dhcp": {
            "ranges": [{"start": RANGE[0], "end": RANGE[1], "lease": {"expiry": range_minutes}}],
            "hosts": [{"mac": VM2_MAC, "name": "vm2", "ip": VM2_IP, "lease": {"expiry": 0}}]}}],
        "domain": {"name": "example.test"},
        "dns": {"forwarders": [{"addr": UPSTREAM_ADDR}]},
    }


def lease_expiry(ns, network, ip):
    """The expiry dnsmasq wrote for `ip` in its lease file (epoch seconds, 0 for never)."""
    with open(leases_file(ns, network), encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) >= 3 and fields[2] == ip:
                return int(fields[0])
    raise AssertionError("no lease for %s in %s" % (ip, leases_file(ns, network)))


def reverse_lookup_status(vm, address):
    out = vm.run("dig", "+time=2", "+tries=1", "@" + GATEWAY, "-x", address, timeout=15, check=False).stdout
    return [line.split("status: ")[1].split(",")[0] for line in out.splitlines() if "status: " in line]


def test_lease_times_and_local_ptr(lab, run_module, tmp_path):
    """The kernel backend's dnsmasq gives the leases the config asks for (as the guests and the
    lease file show) and answers the subnet's reverse DNS itself; a changed lease time rewrites
    the configuration and restarts dnsmasq, keeping the leases; check mode and a second run change nothing."""
    hv, vm1, vm2 = lab["hv"], lab["vm1"], lab["vm2"]
    args = {"config": [lease_config(10)], "persist": False}
    result = nh.assert_ok(run_module(hv, "vm_network", args, check=True))
    assert result["changed"] is True and not dnsmasq_pids(hv) and nh.link(hv, BRIDGE) is None
    nh.assert_ok(run_module(hv, "vm_network", args))
    conf = open(dnsmasq_conf_file(hv, "leasenet")).read().splitlines()
    assert "dhcp-range=%s,%s,255.255.255.0,10m" % RANGE in conf
    assert "dhcp-host=%s,%s,vm2,infinite" % (VM2_MAC, VM2_IP) in conf
    assert "local=/100.51.198.in-addr.arpa/" in conf
    pids = dnsmasq_pids(hv)
    nh.assert_unchanged_run(run_module(hv, "vm_network", args))
    assert dnsmasq_pids(hv) == pids

    # the guests' leases: 10 minutes from the range, forever for the reservation
    attach_vms(lab)
    before = time.time()
    lease1 = dhcp(vm1, tmp_path)
    assert before + 600 - 5 <= lease_expiry(hv, "leasenet", lease1["ip"]) <= time.time() + 600 + 5
    assert dhcp(vm2, tmp_path)["ip"] == VM2_IP
    assert lease_expiry(hv, "leasenet", VM2_IP) == 0
    # an address nobody has: answered here (NXDOMAIN), not forwarded to the upstream, which has no DNS server
    assert reverse_lookup_status(vm1, "198.51.100.77") == ["NXDOMAIN"]

    # a longer lease time: check mode changes nothing; the real run rewrites the conf and restarts dnsmasq
    changed = {"config": [lease_config(20)], "persist": False}
    result = nh.assert_ok(run_module(hv, "vm_network", changed, check=True, diff=True))
    assert result["changed"] is True
    assert result["diff"]["before"]["leasenet"]["ips"][0]["dhcp"]["ranges"][0]["lease"] == {"expiry": 10}
    assert result["diff"]["after"]["leasenet"]["ips"][0]["dhcp"]["ranges"][0]["lease"] == {"expiry": 20}
    assert dnsmasq_pids(hv) == pids and open(dnsmasq_conf_file(hv, "leasenet")).read().splitlines() == conf
    result = nh.assert_ok(run_module(hv, "vm_network", changed))
    assert any("restart dnsmasq" in c for c in result["commands"]), result["commands"]
    assert "dhcp-range=%s,%s,255.255.255.0,20m" % RANGE in open(dnsmasq_conf_file(hv, "leasenet")).read().splitlines()
    new_pids = dnsmasq_pids(hv)
    assert len(new_pids) == 1 and new_pids != pids
    assert lease_expiry(hv, "leasenet", VM2_IP) == 0, "the leases survive the restart"
    before = time.time()
    renewed = dhcp(vm1, tmp_path)
    assert before + 1200 - 5 <= lease_expiry(hv, "leasenet", renewed["ip"]) <= time.time() + 1200 + 5
    nh.assert_unchanged_run(run_module(hv, "vm_network", changed))
    assert dnsmasq_pids(hv) == new_pids
    gathered = nh.assert_ok(run_module(hv, "vm_network", {"state": "gathered"}))["gathered"][0]["ips"][0]
    assert gathered["local_ptr"] is True and gathered["dhcp"]["hosts"][0]["lease"] == {"expiry": 0}

    # without local_ptr the reverse query goes to the forwarder, which does not answer it
    nh.assert_ok(run_module(hv, "vm_network", {"config": [lease_config(20, local_ptr=False)], "persist": False}))
    assert not any(line.endswith(".in-addr.arpa/") for line in open(dnsmasq_conf_file(hv, "leasenet")).read().splitlines())
    assert reverse_lookup_status(vm1, "198.51.100.77") != ["NXDOMAIN"]

    nh.assert_ok(run_module(hv, "vm_network", {"config": [], "state": "overridden", "persist": False}))
    assert nft_tables(hv) == [] and not dnsmasq_pids(hv) and scope_files(hv) == []


BAD = [
    ({"name": "n", "forward": {"mode": "nat"}, "ips": [{"address": "198.51.100.1/25", "local_ptr": True, "dhcp": {
        "ranges": [{"start": "198.51.100.2", "end": "198.51.100.9", "lease": {"expiry": 90, "unit": "seconds"}}]}}]},
     ["config[0].ips[0].local_ptr: needs a prefix that is a multiple of 8 for IPv4",
      "config[0].ips[0].dhcp.ranges[0].lease: 90 seconds is shorter than the minimum lease of 120 seconds"]),
    ({"name": "n", "forward": {"mode": "nat"}, "ips": [{"address": "198.51.100.1/24", "dhcp": {"ranges": [{"start": "198.51.101.2", "end": "198.51.101.9"}]}}]},
     ["config[0].ips[0].dhcp.ranges[0].start: 198.51.101.2 is outside the subnet 198.51.100.0/24"]),
    ({"name": "n", "forward": {"mode": "nat"}, "ips": [{"address": "198.51.100.1/24", "dhcp": {"hosts": [{"mac": "52:54:00:00:00:01", "ip": "203.0.113.9"}]}}]},
     ["config[0].ips[0].dhcp.hosts[0].ip: 203.0.113.9 is outside the subnet"]),
    ({"name": "n", "forward": {"mode": "nat", "nat": {"ports": {"start": 0, "end": 70000}}}, "ips": [{"address": "198.51.100.1/24"}]},
     ["config[0].forward.nat.ports.start: 0 is outside the allowed range 1..65535", "config[0].forward.nat.ports.end: 70000"]),
    ({"name": "n", "forward": {"mode": "nat", "nat": {"ports": {"start": 3000, "end": 2000}}}, "ips": [{"address": "198.51.100.1/24"}]},
     ["config[0].forward.nat.ports: start 3000 is above end 2000"]),
    ({"name": "n", "forward": {"mode": "route"}, "ips": [{"address": "198.51.100.1/24"}],
      "routes": [{"address": "203.0.113.0", "prefix": 24, "gateway": "192.0.2.1"}]},
     ["config[0].routes[0].gateway: 192.0.2.1 is not reachable"]),
    ({"name": "n", "forward": {"mode": "open", "dev": "up0"}, "ips": [{"address": "198.51.100.1/24"}]},
     ["config[0].forward.dev: only applies to forward.mode nat or route"]),
]


@pytest.mark.parametrize("config, fragments", BAD)
def test_bad_input_changes_nothing(lab, run_module, config, fragments):
    hv = lab["hv"]
    before = (nh.link_names(hv), hv.addresses("up0"), nft_tables(hv), sysctl(hv, "net.ipv4.ip_forward"))
    nh.assert_failed(run_module(hv, "vm_network", {"config": [config]}), *fragments)
    assert (nh.link_names(hv), hv.addresses("up0"), nft_tables(hv), sysctl(hv, "net.ipv4.ip_forward")) == before
    assert scope_files(hv) == [] and not dnsmasq_pids(hv)


def test_conflicts_across_networks_and_with_the_host(lab, run_module):
    hv = lab["hv"]
    one = {"name": "one", "bridge": {"name": "br-one"}, "forward": {"mode": "nat"}, "ips": [{"address": "198.51.100.1/24"}]}
    two = {"name": "two", "bridge": {"name": "br-one"}, "forward": {"mode": "nat"}, "ips": [{"address": "198.51.100.129/25"}]}
    msg = nh.assert_failed(run_module(hv, "vm_network", {"config": [one, two], "persist": False}))
    assert "config[1].bridge.name: br-one is also used by config[0]" in msg and "overlaps" in msg
    nh.assert_ok(run_module(hv, "vm_network", {"config": [one], "persist": False}))
    two["bridge"]["name"] = "br-two"
    msg = nh.assert_failed(run_module(hv, "vm_network", {"config": [two], "persist": False}))
    assert "config[0].ips: 198.51.100.128/25 overlaps 198.51.100.1/24 on br-one" in msg
    three = dict(one, name="three")
    msg = nh.assert_failed(run_module(hv, "vm_network", {"config": [three], "persist": False}))
    assert "config[0].bridge.name: bridge br-one belongs to network one" in msg
    nh.assert_ok(run_module(hv, "vm_network", {"config": [], "state": "deleted", "persist": False}))
    assert nft_tables(hv) == []


# ---- libvirt's reference networks (formatnetwork), each in a namespace of its own ----------
_V4_DHCP = {"address": "192.168.122.1", "netmask": "255.255.255.0",
            "dhcp": {"ranges": [{"start": "192.168.122.2", "end": "192.168.122.254"}]}}
_DUID_HOSTS = [
    {"id": "0:1:0:1:18:aa:62:fe:0:16:3e:44:55:66"},
    {"id": "0:3:0:1:0:16:3e:11:22:33"},
    {"id": "0:4:7e:7d:f0:7d:a8:bc:c5:d2:13:32:11:ed:16:ea:84:63"},
]
EXAMPLES = {
    "default": {"name": "default", "bridge": {"name": "virbr0"}, "forward": {"mode": "nat"},
                "ips": [_V4_DHCP, {"family": "ipv6", "address": "2001:db8:ca2:2::1", "prefix": 64}]},
    "default6": {"name": "default6", "bridge": {"name": "virbr0"}, "forward": {"mode": "nat"},
                 "ips": [_V4_DHCP, {"family": "ipv6", "address": "2001:db8:ca2:2::1", "prefix": 64,
                                    "dhcp": {"ranges": [{"start": "2001:db8:ca2:2:1::10", "end": "2001:db8:ca2:2:1::ff"}]}}]},
    "local": {"name": "local", "bridge": {"name": "virbr1"}, "forward": {"mode": "route", "dev": "eth1"},
              "ips": [_V4_DHCP, {"family": "ipv6", "address": "2001:db8:ca2:2::1", "prefix": 64}]},
    "local6": {"name": "local6", "bridge": {"name": "virbr1"}, "forward": {"mode": "route", "dev": "eth1"},
               "ips": [_V4_DHCP, {"family": "ipv6", "address": "2001:db8:ca2:2::1", "prefix": 64, "dhcp": {"hosts": [
                   {"name": "paul", "ip": "2001:db8:ca2:2:3::1"},
                   dict(_DUID_HOSTS[0], ip="2001:db8:ca2:2:3::2"),
                   dict(_DUID_HOSTS[1], name="ralph", ip="2001:db8:ca2:2:3::3"),
                   dict(_DUID_HOSTS[2], name="badbob", ip="2001:db8:ca2:2:3::4")]}}]},
    "private": {"name": "private", "bridge": {"name": "virbr2"},
                "ips": [{"address": "192.168.152.1", "netmask": "255.255.255.0",
                         "dhcp": {"ranges": [{"start": "192.168.152.2", "end": "192.168.152.254"}]}},
                        {"family": "ipv6", "address": "2001:db8:ca2:3::1", "prefix": 64}]},
    "sixnet": {"name": "sixnet", "bridge": {"name": "virbr6"},
               "ips": [{"family": "ipv6", "address": "2001:db8:ca2:6::1", "prefix": 64, "dhcp": {"hosts": [
                   {"name": "peter", "ip": "2001:db8:ca2:6:6::1"},
                   dict(_DUID_HOSTS[0], ip="2001:db8:ca2:6:6::2"),
                   dict(_DUID_HOSTS[1], name="dariusz", ip="2001:db8:ca2:6:6::3"),
                   dict(_DUID_HOSTS[2], name="anita", ip="2001:db8:ca2:6:6::4")]}}]},
    "nogw": {"name": "nogw", "bridge": {"name": "virbr2", "stp": True, "delay": 0}, "mac": "00:16:3E:5D:C7:9E"},
}
# (table expected, dnsmasq expected, lines its configuration must have)
EXPECTED = {
    "default": (True, True, ["dhcp-range=192.168.122.2,192.168.122.254,255.255.255.0", "dhcp-range=2001:db8:ca2:2::,ra-only,64", "enable-ra"]),
    "default6": (True, True, ["dhcp-range=2001:db8:ca2:2:1::10,2001:db8:ca2:2:1::ff,64"]),
    "local": (True, True, ["dhcp-range=192.168.122.2,192.168.122.254,255.255.255.0"]),
    "local6": (True, True, ["dhcp-host=paul,[2001:db8:ca2:2:3::1]", "dhcp-host=id:0:3:0:1:0:16:3e:11:22:33,[2001:db8:ca2:2:3::3],ralph",
                            "dhcp-range=2001:db8:ca2:2::,static,64"]),
    "private": (True, True, ["dhcp-range=192.168.152.2,192.168.152.254,255.255.255.0"]),
    "sixnet": (True, True, ["dhcp-host=id:0:1:0:1:18:aa:62:fe:0:16:3e:44:55:66,[2001:db8:ca2:6:6::2]"]),
    "nogw": (False, False, []),
}


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_libvirt_reference_networks(netns_factory, run_module, example):
    hv = netns_factory("hv")
    other = netns_factory("ext")
    veth(hv, "eth1", other, "eth0")  # the forward dev of "local" and "local6"
    config = EXAMPLES[example]
    table, dnsmasq, lines = EXPECTED[example]
    try:
        result = nh.assert_ok(run_module(hv, "vm_network", {"config": [config], "persist": False}))
        assert result["changed"] is True
        bridge = config["bridge"]["name"]
        assert nh.info_kind(nh.link(hv, bridge)) == "bridge"
        assert nft_tables(hv) == (["inet hvnet_%s" % example] if table else [])
        assert len(dnsmasq_pids(hv)) == (1 if dnsmasq else 0)
        if dnsmasq:
            conf = open(dnsmasq_conf_file(hv, example)).read().splitlines()
            assert "interface=%s" % bridge in conf and "bind-dynamic" in conf and "except-interface=lo" in conf
            for line in lines:
                assert line in conf, conf
        if example == "nogw":
            assert nh.link(hv, bridge)["address"] == "00:16:3e:5d:c7:9e"
        if config.get("forward", {}).get("dev"):
            assert 'oifname "eth1"' in nft_text(hv, "hvnet_" + example)
        nh.assert_unchanged_run(run_module(hv, "vm_network", {"config": [config], "persist": False}))
        nh.assert_ok(run_module(hv, "vm_network", {"config": [config], "state": "deleted", "persist": False}))
        assert nft_tables(hv) == [] and not dnsmasq_pids(hv) and scope_files(hv) == [] and nh.link(hv, bridge) is None
    finally:
        nh.remove_state_dir(hv)


def test_hand_edits_are_put_back_and_partial_updates_keep_dhcp(lab, run_module):
    """A rule replaced by hand (same rule count) is detected and put back; merged that adds an
    address keeps the DHCP settings of the addresses already there; a partial update of a nat
    network's forward.dev is accepted without repeating the mode."""
    hv = lab["hv"]
    nh.assert_ok(run_module(hv, "vm_network", {"config": [nat_config()], "persist": False}))
    rendered = nft_text(hv)
    rules = json.loads(hv.run("nft", "-j", "-a", "list", "chain", "inet", "hvnet_natnet", "hv_forward").stdout)["nftables"]
    reject = [r["rule"] for r in rules if "rule" in r and any("reject" in e for e in r["rule"]["expr"])][0]
    hv.run("nft", "replace", "rule", "inet", "hvnet_natnet", "hv_forward", "handle", str(reject["handle"]),
           "iifname", BRIDGE, "accept")
    assert nft_text(hv) != rendered
    result = nh.assert_ok(run_module(hv, "vm_network", {"config": [nat_config()], "persist": False}))
    assert result["changed"] is True
    assert nft_text(hv) == rendered
    nh.assert_unchanged_run(run_module(hv, "vm_network", {"config": [nat_config()], "persist": False}))

    conf = dnsmasq_conf_file(hv, "natnet")
    added = {"name": "natnet", "ips": [{"address": "2001:db8:77::1", "prefix": 64}]}
    nh.assert_ok(run_module(hv, "vm_network", {"config": [added], "persist": False}))
    with open(conf, encoding="utf-8") as handle:
        assert "dhcp-range=%s,%s" % RANGE in handle.read()
    nh.assert_ok(run_module(hv, "vm_network", {"config": [{"name": "natnet", "forward": {"dev": "up0"}}], "persist": False}))
    assert 'oifname "up0"' in nft_text(hv)


def test_running_network_of_the_previous_layout_is_found_and_moved(lab, run_module):
    """A network whose dnsmasq, leases, service record and saved sysctl values are where the
    previous layout kept them (/etc, /run and /var/lib per scope name) is found: the next run
    restarts dnsmasq from the new place only, keeps its leases, and leaves none of the old files."""
    hv = lab["hv"]
    nh.assert_ok(run_module(hv, "vm_network", {"config": [nat_config()], "persist": False}))
    new = {key: os.path.join(nh.runtime_dir(hv), "dnsmasq", "natnet." + key) for key in ("conf", "pid", "leases")}
    old = {"conf": os.path.join(nh.LEGACY_STATE_ROOT, "dnsmasq", hv.name, "natnet.conf"),
           "pid": os.path.join(nh.RUNTIME_ROOT, hv.name, "natnet.pid"),
           "leases": os.path.join(nh.PERSISTENT_ROOT, hv.name, "natnet.leases")}
    moves = {os.path.join(nh.runtime_dir(hv), "vm_network", "natnet.json"): os.path.join(nh.LEGACY_STATE_ROOT, "vm_network", hv.name, "natnet.json"),
             os.path.join(nh.runtime_dir(hv), "sysctl-originals.json"): os.path.join(nh.RUNTIME_ROOT, hv.name, "sysctl-originals.json")}
    try:
        # what an existing host has: dnsmasq running from the old paths, the records there too
        for pid in dnsmasq_pids(hv):
            os.kill(pid, 15)
        for _attempt in range(200):
            if not dnsmasq_pids(hv):
                break
            time.sleep(0.05)
        assert not dnsmasq_pids(hv)
        with open(new["conf"], encoding="utf-8") as handle:
            conf = handle.read().replace(new["pid"], old["pid"]).replace(new["leases"], old["leases"])
        for path in old.values():
            os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(old["conf"], "w", encoding="utf-8") as handle:
            handle.write(conf)
        with open(old["leases"], "w", encoding="utf-8") as handle:
            handle.write("2000000000 52:54:00:00:00:99 198.51.100.120 old-guest *\n")
        for source, target in moves.items():
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.rename(source, target)
        nh.remove_state_dir(hv)
        for attempt in range(20):  # its sockets may outlive the stopped dnsmasq for a moment
            if hv.run("/usr/sbin/dnsmasq", "--conf-file=" + old["conf"], check=attempt == 19).returncode == 0:
                break
            time.sleep(0.25)
        old_pids = dnsmasq_pids(hv)
        assert len(old_pids) == 1

        check = nh.assert_ok(run_module(hv, "vm_network", {"config": [nat_config()], "persist": False}, check=True))
        assert check["commands"] == ["restart dnsmasq of network natnet with its new configuration"], check["commands"]
        result = nh.assert_ok(run_module(hv, "vm_network", {"config": [nat_config()], "persist": False}))
        assert result["commands"] == ["restart dnsmasq of network natnet with its new configuration"], result["commands"]
        pids = dnsmasq_pids(hv)
        assert len(pids) == 1 and pids != old_pids
        with open(new["leases"], encoding="utf-8") as handle:
            assert "198.51.100.120 old-guest" in handle.read()
        # only the records that had no reason to change are still read from the old place
        assert set(path for path in list(old.values()) + list(moves.values()) if os.path.exists(path)) <= set(moves.values())
        nh.assert_unchanged_run(run_module(hv, "vm_network", {"config": [nat_config()], "persist": False}))
        gathered = nh.assert_ok(run_module(hv, "vm_network", {"state": "gathered"}))["gathered"]
        assert gathered[0]["port_forwards"][0]["guest_ip"] == VM2_IP

        nh.assert_ok(run_module(hv, "vm_network", {"config": [{"name": "natnet"}], "state": "deleted", "persist": False}))
        assert not dnsmasq_pids(hv) and scope_files(hv) == [] and sysctl(hv, "net.ipv4.ip_forward") == "0"
        leftovers = [path for path in list(old.values()) + list(moves.values()) if os.path.exists(path)]
        leftovers += [d for d in (os.path.join(nh.LEGACY_STATE_ROOT, "dnsmasq", hv.name), os.path.join(nh.RUNTIME_ROOT, hv.name),
                                  os.path.join(nh.PERSISTENT_ROOT, hv.name)) if os.path.exists(d)]
        assert leftovers == []
    finally:
        for directory in (os.path.join(nh.LEGACY_STATE_ROOT, sub, hv.name) for sub in ("dnsmasq", "vm_network")):
            subprocess.run(["rm", "-rf", directory], check=False)
        for root in (nh.RUNTIME_ROOT, nh.PERSISTENT_ROOT):
            subprocess.run(["rm", "-rf", os.path.join(root, hv.name)], check=False)
