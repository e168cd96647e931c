"""Renderers (golden files) and value checks of vm_network's nat/route/open/isolated services."""

import os
import subprocess

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import tc
from ansible_collections.hypervisor.networking.plugins.module_utils.model import network, network_services
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems
from ansible_collections.hypervisor.networking.plugins.module_utils.render import dnsmasq, nftables
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.network import NetworkResource

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")

NAT = {
    "name": "default", "bridge": {"name": "virbr0"}, "forward": {"mode": "nat", "dev": "eth0"}, "mtu": 1450,
    "ips": [
        {"address": "192.168.122.1", "netmask": "255.255.255.0", "dhcp": {
            "ranges": [{"start": "192.168.122.2", "end": "192.168.122.254"}],
            "hosts": [{"mac": "52:54:00:6B:3C:58", "name": "web", "ip": "192.168.122.10"}],
            "bootp": {"file": "pxelinux.0"}}, "tftp_root": "/srv/tftp"},
        {"address": "2001:db8:ca2:2::1", "prefix": 64, "dhcp": {"ranges": [{"start": "2001:db8:ca2:2:1::10", "end": "2001:db8:ca2:2:1::ff"}]}},
    ],
    "domain": {"name": "example.com", "local_only": True},
    "dns": {"forward_plain_names": False, "forwarders": [{"addr": "8.8.8.8"}, {"domain": "example.com", "addr": "8.8.4.4"}, {"domain": "www.example.com"}],
            "hosts": [{"ip": "192.168.122.2", "hostnames": ["myhost", "myhostalias"]}],
            "srv": [{"service": "name", "protocol": "tcp", "domain": "test-domain-name", "target": ".", "port": 1024, "priority": 10, "weight": 10}],
            "txt": [{"name": "example", "value": "example value"}]},
    "port_forwards": [{"protocol": "tcp", "host_port": 8443, "guest_ip": "192.168.122.10", "guest_port": 443},
                      {"protocol": "udp", "host_port": 5353, "guest_ip": "192.168.122.10", "host_address": "203.0.113.5"}],
}


def model_of(item):
    problems = Problems()
    model = network.from_config(item, "config[0]", problems)
    assert not problems, problems.items
    resource = NetworkResource()
    from ansible_collections.hypervisor.networking.plugins.module_utils.model.base import overlay
    return resource.complete(overlay(resource.defaults(model), model), resource.empty_snapshot())


def golden(name, text):
    path = os.path.join(GOLDEN, name)
    if os.environ.get("HV_UPDATE_GOLDEN"):
        with open(path, "w") as handle:
            handle.write(text)
    with open(path) as handle:
        assert text == handle.read()


def test_nat_ruleset_golden():
    golden("nat.nft", nftables.render(model_of(NAT))["text"])


def test_nat_ranges_and_ipv6_ruleset_golden():
    item = dict(NAT, forward={"mode": "nat", "nat": {"addresses": {"start": "203.0.113.10", "end": "203.0.113.20"},
                                                     "ports": {"start": 20000, "end": 30000}, "ipv6": True}}, port_forwards=None)
    golden("nat-range-ipv6.nft", nftables.render(model_of(item))["text"])


def test_route_and_isolated_rulesets_golden():
    golden("route.nft", nftables.render(model_of(dict(NAT, forward={"mode": "route", "dev": "eth1"}, port_forwards=None)))["text"])
    golden("isolated.nft", nftables.render(model_of(dict(NAT, forward=None, port_forwards=None)))["text"])


def test_no_table_for_open_bridge_or_addressless():
    assert nftables.render(model_of(dict(NAT, forward={"mode": "open"}, port_forwards=None))) is None
    assert nftables.render(model_of({"name": "nogw", "bridge": {"name": "virbr2"}})) is None


def test_dnsmasq_golden():
    golden("nat.dnsmasq.conf", dnsmasq.render(model_of(NAT), "/run/x/default.pid", "/var/lib/x/default.leases", "dnsmasq", "nogroup"))


LEASES = {
    "name": "leases", "bridge": {"name": "virbr5"}, "forward": {"mode": "nat"},
    "ips": [
        {"address": "198.51.100.1", "prefix": 24, "local_ptr": True, "dhcp": {
            "ranges": [{"start": "198.51.100.100", "end": "198.51.100.199", "lease": {"expiry": 1, "unit": "hours"}}],
            "hosts": [{"mac": "52:54:00:00:00:01", "name": "a", "ip": "198.51.100.10", "lease": {"expiry": 0}},
                      {"mac": "52:54:00:00:00:02", "ip": "198.51.100.11", "lease": {"expiry": 30}},
                      {"mac": "52:54:00:00:00:03", "ip": "198.51.100.12", "lease": {"expiry": 596523, "unit": "hours"}}]}},  # the longest dnsmasq reads
        {"address": "2001:db8:ca2:2::1", "prefix": 64, "local_ptr": True, "dhcp": {
            "ranges": [{"start": "2001:db8:ca2:2::100", "end": "2001:db8:ca2:2::1ff", "lease": {"expiry": 600, "unit": "seconds"}}],
            "hosts": [{"id": "0:1:0:1:18:aa:62:fe:0:16:3e:44:55:66", "ip": "2001:db8:ca2:2::5", "lease": {"expiry": 2, "unit": "hours"}}]}},
        {"address": "203.0.113.1", "prefix": 16},
    ],
}


def test_dnsmasq_lease_times_and_local_ptr():
    """As libvirt writes them (networkBuildDnsmasqLeaseTime, networkDnsmasqConfLocalPTRs): the lease
    time is the last field of the range or host line, 'infinite' for expiry 0, the unit's first letter
    (minutes by default); each local_ptr address's reverse zone is local, right after the domain."""
    lines = dnsmasq.render(model_of(LEASES), "/run/x/l.pid", "/var/lib/x/l.leases", "dnsmasq", "nogroup").splitlines()
    assert "dhcp-range=198.51.100.100,198.51.100.199,255.255.255.0,1h" in lines
    assert "dhcp-host=52:54:00:00:00:01,198.51.100.10,a,infinite" in lines
    assert "dhcp-host=52:54:00:00:00:02,198.51.100.11,30m" in lines
    assert "dhcp-host=52:54:00:00:00:03,198.51.100.12,596523h" in lines
    assert "dhcp-range=2001:db8:ca2:2::100,2001:db8:ca2:2::1ff,64,600s" in lines
    assert "dhcp-host=id:0:1:0:1:18:aa:62:fe:0:16:3e:44:55:66,[2001:db8:ca2:2::5],2h" in lines
    local = [line for line in lines if line.startswith("local=")]
    assert local == ["local=/100.51.198.in-addr.arpa/", "local=/2.0.0.0.2.a.c.0.8.b.d.0.1.0.0.2.ip6.arpa/"]
    # without lease and local_ptr, the lines stay as before (no restart of existing networks on upgrade)
    plain = dnsmasq.render(model_of(NAT), "/run/x/default.pid", "/var/lib/x/default.leases", "dnsmasq", "nogroup")
    assert "infinite" not in plain and "in-addr.arpa" not in plain and "ip6.arpa" not in plain


@pytest.mark.parametrize("address, zone", [
    ("10.0.0.1/8", "10.in-addr.arpa"), ("10.1.0.1/16", "1.10.in-addr.arpa"), ("192.0.2.1/32", "1.2.0.192.in-addr.arpa"),
    ("2001:db8::1/32", "8.b.d.0.1.0.0.2.ip6.arpa"), ("2001:db8:ab00::1/40", "b.a.8.b.d.0.1.0.0.2.ip6.arpa"),
])
def test_ptr_domain(address, zone):
    assert dnsmasq.ptr_domain(address) == zone


@pytest.mark.skipif(not os.path.exists("/usr/sbin/dnsmasq"), reason="needs dnsmasq-base")
def test_dnsmasq_accepts_lease_times_and_local_ptr(tmp_path):
    """dnsmasq itself reads the rendered lines (--test parses the file and exits; it binds nothing)."""
    conf = tmp_path / "leases.conf"
    conf.write_text(dnsmasq.render(model_of(LEASES), str(tmp_path / "l.pid"), str(tmp_path / "l.leases"), "nobody", "nogroup"))
    check = subprocess.run(["/usr/sbin/dnsmasq", "--test", "--conf-file=%s" % conf], capture_output=True, text=True, timeout=30, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_mark_round_trip_and_table_names():
    rendered = nftables.render(model_of(NAT))
    assert nftables.parse_mark(nftables.make_mark("default", rendered["digest"], rendered["rules"])) == ("default", rendered["digest"], rendered["rules"])
    assert nftables.parse_mark("someone else's comment") is None
    assert nftables.table_name("default") == "hvnet_default"
    assert nftables.table_name("my-net.1").startswith("hvnet_my_net_1_")
    assert len(nftables.make_mark("n" * 64, "0123456789", 999)) <= 128


def test_tc_commands():
    assert tc.commands("virbr0", {"inbound": {"average": 1000, "peak": 5000, "burst": 5120}}) == [
        ["qdisc", "replace", "dev", "virbr0", "root", "handle", "1:", "htb", "default", "2"],
        ["class", "replace", "dev", "virbr0", "parent", "1:", "classid", "1:1", "htb", "rate", "1000kbps", "ceil", "5000kbps", "burst", "5120kb"],
        ["class", "replace", "dev", "virbr0", "parent", "1:1", "classid", "1:2", "htb", "rate", "1000kbps", "ceil", "5000kbps", "burst", "5120kb"],
    ]


def problems_of(item):
    problems = Problems()
    network.from_config(item, "config[0]", problems)
    return problems.items


@pytest.mark.parametrize("item, fragment", [
    ({"name": "n", "forward": {"mode": "nat"}, "ips": [{"address": "198.51.100.1/24", "dhcp": {"ranges": [{"start": "198.51.100.9", "end": "198.51.100.2"}]}}]},
     "config[0].ips[0].dhcp.ranges[0]: start 198.51.100.9 is above end 198.51.100.2"),
    ({"name": "n", "forward": {"mode": "nat"}, "ips": [{"address": "198.51.100.1/24", "dhcp": {"ranges": [{"start": "198.51.100.1", "end": "198.51.100.9"}]}}]},
     "config[0].ips[0].dhcp.ranges[0]: contains the network's own address 198.51.100.1"),
    ({"name": "n", "forward": {"mode": "nat"},
      "ips": [{"address": "198.51.100.1/24", "dhcp": {"ranges": [{"start": "198.51.100.2", "end": "198.51.100.255"}]}}]},
     "config[0].ips[0].dhcp.ranges[0].end: 198.51.100.255 is the network or broadcast address"),
    ({"name": "n", "forward": {"mode": "nat"}, "ips": [{"address": "2001:db8::1/64", "dhcp": {"hosts": [{"mac": "52:54:00:00:00:01", "ip": "2001:db8::5"}]}}]},
     "config[0].ips[0].dhcp.hosts[0].mac: an IPv6 host is identified by id or name"),
    ({"name": "n", "forward": {"mode": "nat"}, "ips": [{"address": "198.51.100.1/24", "dhcp": {"hosts": [{"ip": "198.51.100.5"}]}}]},
     "config[0].ips[0].dhcp.hosts[0]: needs mac, id or name"),
    ({"name": "n", "forward": {"mode": "nat"},
      "ips": [{"address": "198.51.100.1/24", "dhcp": {"hosts": [{"name": "a", "ip": "198.51.100.5"}]}},
              {"address": "203.0.113.1/24", "dhcp": {"hosts": [{"name": "b", "ip": "203.0.113.5"}]}}]},
     "config[0].ips[1].dhcp: DHCP is already on ips[0]"),
    ({"name": "n", "forward": {"mode": "bridge"}, "ips": [{"address": "198.51.100.1/24", "dhcp": {}}]},
     "config[0].ips[0].dhcp: DHCP and TFTP need forward.mode nat, route, open or isolated"),
    ({"name": "n", "forward": {"mode": "route", "nat": {"ipv6": True}}}, "config[0].forward.nat: only applies to forward.mode nat"),
    ({"name": "n", "forward": {"mode": "nat", "nat": {"addresses": {"start": "2001:db8::1"}}}},
     "config[0].forward.nat.addresses.start: 2001:db8::1 is not an IPv4 address"),
    ({"name": "n", "forward": {"mode": "nat"}, "ips": [{"address": "198.51.100.1/24"}], "port_forwards": [{"host_port": 80, "guest_ip": "203.0.113.5"}]},
     "config[0].port_forwards[0].guest_ip: 203.0.113.5 is outside every subnet"),
    ({"name": "n", "forward": {"mode": "isolated"}, "ips": [{"address": "198.51.100.1/24"}], "port_forwards": [{"host_port": 80, "guest_ip": "198.51.100.5"}]},
     "config[0].port_forwards: need forward.mode nat or route"),
    ({"name": "n", "forward": {"mode": "nat"}, "ips": [{"address": "198.51.100.1/24"}],
      "port_forwards": [{"host_port": 80, "guest_ip": "198.51.100.5"}, {"host_port": 80, "guest_ip": "198.51.100.6"}]},
     "config[0].port_forwards[1]: tcp port 80 is also forwarded by port_forwards[0]"),
    ({"name": "n", "bandwidth": {"outbound": {"average": 10, "floor": 5}}},
     "config[0].bandwidth.outbound.floor: floor applies to inbound traffic only"),
    ({"name": "n", "bandwidth": {"inbound": {"average": 10, "peak": 5}}}, "config[0].bandwidth.inbound.peak: 5 is below average 10"),
    ({"name": "n", "dns": {"txt": [{"name": "a b", "value": "x"}]}}, "config[0].dns.txt[0].name: 'a b' is not a record name"),
    ({"name": "n", "dns": {"forwarders": [{}]}}, "config[0].dns.forwarders[0]: needs addr, domain or both"),
    ({"name": "n", "domain": {"name": "bad..name"}}, "config[0].domain.name: 'bad..name' is not a domain name"),
    ({"name": "n", "ips": [{"address": "2001:db8::1/64", "tftp_root": "/srv"}]}, "config[0].ips[0].tftp_root: TFTP is for IPv4 addresses only"),
    ({"name": "n", "forward": {"mode": "nat"}, "ips": [{"address": "198.51.100.1/25", "local_ptr": True}]},
     "config[0].ips[0].local_ptr: needs a prefix that is a multiple of 8 for IPv4, so that the reverse DNS zone is whole labels (the prefix is 25)"),
    ({"name": "n", "forward": {"mode": "nat"}, "ips": [{"address": "2001:db8::1/66", "local_ptr": True}]},
     "config[0].ips[0].local_ptr: needs a prefix that is a multiple of 4 for IPv6"),
    ({"name": "n", "forward": {"mode": "nat"}, "ips": [{"address": "198.51.100.1/24", "dhcp": {
        "ranges": [{"start": "198.51.100.2", "end": "198.51.100.9", "lease": {"expiry": 119, "unit": "seconds"}}]}}]},
     "config[0].ips[0].dhcp.ranges[0].lease: 119 seconds is shorter than the minimum lease of 120 seconds"),
    ({"name": "n", "forward": {"mode": "nat"}, "ips": [{"address": "198.51.100.1/24", "dhcp": {
        "hosts": [{"mac": "52:54:00:00:00:01", "lease": {"expiry": 1}}]}}]},
     "config[0].ips[0].dhcp.hosts[0].lease: 60 seconds is shorter than the minimum lease of 120 seconds"),
    ({"name": "n", "forward": {"mode": "nat"}, "ips": [{"address": "198.51.100.1/24", "dhcp": {
        "hosts": [{"mac": "52:54:00:00:00:01", "lease": {"expiry": 596524, "unit": "hours"}}]}}]},
     "config[0].ips[0].dhcp.hosts[0].lease: 2147486400 seconds is longer than dnsmasq's longest lease of 2147483647 seconds"),
])
def test_value_checks(item, fragment):
    found = problems_of(item)
    assert any(p.startswith(fragment) for p in found), found


@pytest.mark.parametrize("item, problem", [
    ({"name": "n", "forward": {"mode": "nat"}, "dns": {"enable": False}, "ips": [{"address": "198.51.100.1/24", "local_ptr": True}]},
     "config[0].ips[0].local_ptr: needs the network's DNS, which dns.enable false turns off"),
    ({"name": "n", "forward": {"mode": "bridge"}, "bridge": {"name": "br0"}, "ips": [{"address": "198.51.100.1/24", "local_ptr": True}]},
     "config[0].ips[0].local_ptr: needs the network's DNS, so forward.mode nat, route, open or isolated (not bridge)"),
])
def test_local_ptr_needs_the_networks_dns(item, problem):
    problems = Problems()
    model = network.from_config(item, "config[0]", problems)
    assert not problems, problems.items
    network_services.check_desired(problems, "config[0]", model)
    assert problems.items == [problem]


def test_local_ptr_alone_starts_dnsmasq_on_an_isolated_network():
    isolated = {"name": "iso", "bridge": {"name": "virbr6"}, "ips": [{"address": "198.51.100.1/24"}]}
    assert not network_services.runs_dnsmasq(model_of(isolated))
    isolated["ips"][0]["local_ptr"] = True
    assert network_services.runs_dnsmasq(model_of(isolated))


def test_every_problem_at_once():
    found = problems_of({"name": "n", "forward": {"mode": "nat", "nat": {"ports": {"start": 0, "end": 70000}}},
                         "ips": [{"address": "198.51.100.1/24", "dhcp": {"ranges": [{"start": "203.0.113.2", "end": "203.0.113.9"}]}}],
                         "routes": [{"address": "192.0.2.0", "prefix": 24, "gateway": "203.0.113.1"}]})
    assert len(found) >= 4, found
    assert any("routes[0].gateway" in p for p in found)
    assert any("nat.ports.start" in p for p in found) and any("nat.ports.end" in p for p in found)


def test_config_round_trip():
    resource = NetworkResource()
    model = model_of(NAT)
    config = resource.to_config(model)
    assert config["ips"][0]["dhcp"]["hosts"][0]["mac"] == "52:54:00:6b:3c:58"
    again = model_of(dict(config, bridge={"name": "virbr0"}))
    assert resource.to_config(again) == config


def test_cross_network_port_forward_clash():
    resource = NetworkResource()
    first = model_of(dict(NAT))
    second = model_of(dict(NAT, name="other", bridge={"name": "virbr9"}, ips=[{"address": "198.51.100.1/24"}],
                           port_forwards=[{"host_port": 8443, "guest_ip": "198.51.100.9"}]))
    problems = Problems()
    resource.check_config([first, second], problems)
    assert any(p.startswith("config[1].port_forwards[0]: tcp port 8443 is also forwarded by config[0]") for p in problems.items), problems.items


def test_ipv6_forwarding_refused_while_routes_come_from_router_advertisements():
    """libvirt's rule: forwarding on makes accept_ra=1 interfaces drop their RA routes."""
    from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems
    from ansible_collections.hypervisor.networking.plugins.module_utils.resource import network_services

    model = model_of({"name": "six", "forward": {"mode": "route"}, "ips": [{"address": "2001:db8:9::1", "prefix": 64}]})
    snapshot = {"routes": [{"family": "ipv6", "dst": "::/0", "gateway": "fe80::1", "dev": "eth0", "proto": 9, "metric": 1024}],
                "sysctl": {"values": {"ipv4": "0", "ipv6": "0"}, "accept_ra": {"eth0": "1"}}}
    problems = Problems()
    network_services._check_accept_ra(problems, "config[0]", model, snapshot)  # pylint: disable=protected-access
    assert problems.items == ["config[0].ips: IPv6 forwarding would make eth0 ignore the router advertisements its routes"
                              " come from; set net.ipv6.conf.eth0.accept_ra=2 first (accept_ra is 1)"]
    snapshot["sysctl"]["accept_ra"]["eth0"] = "2"
    problems = Problems()
    network_services._check_accept_ra(problems, "config[0]", model, snapshot)  # pylint: disable=protected-access
    assert problems.items == []
