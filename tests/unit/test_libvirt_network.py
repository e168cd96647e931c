"""The libvirt network model offline: XML -> config -> model -> XML (issue 7).

Every complete <network> example of libvirt's reference page (../shared/reference/
libvirt-network-xml.txt), and every well-formed fragment of it wrapped in a <network>, is
taken from the file programmatically, parsed, validated by the model, rendered again and
compared canonically. The canonical form (applied to both sides alike):
- comments and whitespace-only text dropped, attributes compared as dicts;
- siblings with different tags compared as a set of groups, siblings with the same tag in
  their order (libvirt's meaning depends on the order of <ip>, <host>, <interface>...; not on
  whether <vlan> comes before <virtualport>, where the reference and libvirt's dump differ);
- values libvirt itself writes in one spelling: MAC addresses in lower case, and the numbers of a
  PCI <address> as numbers (the reference writes bus='4', libvirt dumps bus='0x04').
Every rendered network also passes libvirt's own schema (virt-xml-validate ... network).
"""

import os
import re
import shutil
import subprocess

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.engine import converge
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.model import network as m
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems
from ansible_collections.hypervisor.networking.plugins.module_utils.parse import libvirt_network as parse
from ansible_collections.hypervisor.networking.plugins.module_utils.render import libvirt_network as render
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.network import NetworkResource

etree = pytest.importorskip("lxml.etree")

REFERENCE = os.path.join(os.environ.get("HV_REPO_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                         "..", "..", "shared", "reference", "libvirt-network-xml.txt")
if not os.path.exists(REFERENCE):  # the main checkout sits one level higher than the worktrees
    REFERENCE = "/work/shared/reference/libvirt-network-xml.txt"
VALIDATOR = shutil.which("virt-xml-validate")
# net7's DHCP range runs from 2001:db8:ca2:7::100 down to 2001:db8:ca2::1ff (start above end, end
# outside the /64) and its host is in another subnet: libvirt itself refuses to define it
INVALID_EXAMPLES = {"net7": ["x.ips[0].dhcp.ranges[0]: start 2001:db8:ca2:7::100 is above end 2001:db8:ca2::1ff",
                             "x.ips[0].dhcp.hosts[0].ip: 2001:db8:ca2:2:3::4 is outside the subnet 2001:db8:ca2:7::/64"]}


def _reference_lines():
    with open(REFERENCE, encoding="utf-8") as handle:
        return handle.read().splitlines()


def complete_examples():
    """Every `<network ...>` ... `</network>` block of the reference (a block that reaches another
    `<network` first is the unfinished metadata excerpt, not an example)."""
    lines = _reference_lines()
    found = []
    index = 0
    while index < len(lines):
        if not lines[index].startswith("<network"):
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith(("</network>", "<network")):
            end += 1
        if end < len(lines) and lines[end].startswith("</network>"):
            found.append("\n".join(lines[index:end + 1]))
        index = end
    return found


def fragments():
    """The excerpts after a '...' line (up to the next '...' or the prose) that are well-formed once
    wrapped in a <network>."""
    lines = _reference_lines()
    found = []
    for start in [i for i, line in enumerate(lines) if line.strip() == "..."]:
        block = []
        for line in lines[start + 1:]:
            # a line not starting with '<' ends the excerpt, unless it continues a tag (the <srv> of Addressing)
            if line.strip() == "..." or (not line.startswith("<") and (not block or block[-1].rstrip().endswith(">"))):
                break
            block.append(line)
        if not block:
            continue
        text = "\n".join(block)
        try:
            etree.fromstring("<network>%s</network>" % text)
        except etree.XMLSyntaxError:
            continue
        found.append(text)
    return found


def _as_network(fragment, index):
    if "<name>" in fragment:
        return "<network>%s</network>" % fragment
    return "<network><name>fragment%d</name>%s</network>" % (index, fragment)


def canonical(element):
    """A comparable form of an element tree (see the module docstring)."""
    attributes = dict(element.attrib)
    for key in ("address", "mac"):
        if key in attributes and re.fullmatch(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}", attributes[key]):
            attributes[key] = attributes[key].lower()
    if element.tag == "address" and attributes.get("type") == "pci":
        for key in ("domain", "bus", "slot", "function"):
            text = attributes[key].lower()
            attributes[key] = int(text, 16 if text.startswith("0x") else 10)
    children = [child for child in element if isinstance(child.tag, str)]
    groups = {}
    for child in children:
        groups.setdefault(child.tag, []).append(canonical(child))
    return (element.tag, sorted(attributes.items()), (element.text or "").strip(), sorted(groups.items()))


def _parse_xml(text):
    return etree.fromstring(text.encode("utf-8"), etree.XMLParser(remove_comments=True))


def round_trip(text):
    problems = Problems()
    config = parse.parse_network_xml(text, "x", problems)
    assert not problems.items, problems.items
    model = m.from_config(config, "x", problems)
    return model, problems


def _validate(tmp_path, xml, name):
    if VALIDATOR is None:
        pytest.skip("virt-xml-validate is not installed (Debian: libvirt-clients); the schema check needs it")
    path = tmp_path / ("%s.xml" % name)
    path.write_text(xml)
    done = subprocess.run([VALIDATOR, str(path), "network"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_reference_has_the_examples_we_expect():
    names = [re.search(r"<name>(.*)</name>", text).group(1) for text in complete_examples()]
    assert names == ["ovs-net", "default", "default6", "local", "local6", "net7", "private", "sixnet", "host-bridge",
                     "direct-macvtap", "nogw"]
    # NAT addresses and ports, passthrough interfaces and pf, hostdev addresses and pf, bandwidth,
    # static routes, addressing (dns, localPtr), connectivity; the portgroup excerpt is not
    # well-formed (<forward .../> closed twice) and has its own test below
    assert len(fragments()) == 10


@pytest.mark.parametrize("text", complete_examples(), ids=lambda text: re.search(r"<name>(.*)</name>", text).group(1))
def test_every_complete_example_round_trips(text, tmp_path):
    name = re.search(r"<name>(.*)</name>", text).group(1)
    model, problems = round_trip(text)
    if name in INVALID_EXAMPLES:
        assert problems.items == INVALID_EXAMPLES[name]
        return
    assert not problems.items, problems.items
    xml = render.network_xml(model)
    assert canonical(_parse_xml(xml)) == canonical(_parse_xml(text))
    _validate(tmp_path, xml, name)
    # the whole offline path of the module (defaults, backend table, libvirt's rules) takes it too
    config = parse.parse_network_xml(text, "x", Problems())
    assert converge(_libvirt_resource(), {"state": "rendered", "config": [config]}, check_mode=False)["rendered"][0]["libvirt_xml"]


@pytest.mark.parametrize("index", range(len(fragments())))
def test_every_fragment_round_trips(index, tmp_path):
    text = _as_network(fragments()[index], index)
    model, problems = round_trip(text)
    assert not problems.items, problems.items
    xml = render.network_xml(model)
    assert canonical(_parse_xml(xml)) == canonical(_parse_xml(text))
    _validate(tmp_path, xml, "fragment%d" % index)


PORTGROUPS = """<network trustGuestRxFilters='yes'>
<name>pools</name>
<uuid>3e3fce45-4f53-4fa7-bb32-11f34168b82b</uuid>
<forward mode='private' dev='eth20'>
<interface dev="eth20"/>
<interface dev="eth21"/>
</forward>
<portgroup name='engineering' default='yes'>
<virtualport type='802.1Qbh'>
<parameters profileid='test'/>
</virtualport>
<bandwidth>
<inbound average='1000' peak='5000' burst='5120'/>
<outbound average='1000' peak='5000' burst='5120'/>
</bandwidth>
</portgroup>
<portgroup name='sales' trustGuestRxFilters='no'>
<virtualport type='802.1Qbh'>
<parameters profileid='salestest'/>
</virtualport>
<bandwidth>
<inbound average='500' peak='2000' burst='2560'/>
<outbound average='128' peak='256' burst='256'/>
</bandwidth>
</portgroup>
</network>"""

EVERYTHING_ELSE = """<network ipv6='no'>
<name>rest</name>
<forward mode='nat'>
<nat ipv6='yes'>
<address start='203.0.113.10' end='203.0.113.20'/>
<port start='1024' end='65535'/>
</nat>
</forward>
<bridge name='virbr9' zone='libvirt' stp='off' delay='0' macTableManager='libvirt'/>
<mtu size='1450'/>
<domain name='example.com' localOnly='yes'/>
<dns enable='yes' forwardPlainNames='no'>
<forwarder addr='2001:db8::53'/>
</dns>
<bandwidth>
<inbound average='1000' floor='200'/>
</bandwidth>
<ip address='198.51.100.1' prefix='24'>
<tftp root='/srv/tftp'/>
<dhcp>
<range start='198.51.100.100' end='198.51.100.199'>
<lease expiry='1' unit='hours'/>
</range>
<host mac='52:54:00:00:00:01' name='a' ip='198.51.100.10'>
<lease expiry='0'/>
</host>
<bootp file='pxelinux.0' server='198.51.100.2'/>
</dhcp>
</ip>
<ip family='ipv6' address='2001:db8:9::1' prefix='64'>
<dhcp/>
</ip>
</network>"""

HOSTDEV = """<network>
<name>vfs</name>
<forward mode='hostdev' managed='no'>
<driver name='kvm'/>
<address type='pci' domain='0x0000' bus='0x04' slot='0x10' function='0x7'/>
</forward>
<vlan>
<tag id='42'/>
</vlan>
<virtualport type='802.1Qbg'>
<parameters managerid='11' typeid='1193047' typeidversion='2' instanceid='09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f'/>
</virtualport>
</network>"""


@pytest.mark.parametrize("text", [PORTGROUPS, EVERYTHING_ELSE, HOSTDEV], ids=["portgroups", "everything-else", "hostdev"])
def test_fields_beyond_the_examples_round_trip(text, tmp_path):
    model, problems = round_trip(text)
    assert not problems.items, problems.items
    xml = render.network_xml(model)
    expected = _parse_xml(text)
    if expected.find("ip") is not None and expected.find("ip").get("prefix") == "24":  # IPv4 is rendered with its netmask
        expected.find("ip").attrib.pop("prefix")
        expected.find("ip").set("netmask", "255.255.255.0")
    assert canonical(_parse_xml(xml)) == canonical(expected)
    _validate(tmp_path, xml, model.name)


def test_parse_gives_snake_case_config_items():
    problems = Problems()
    config = parse.parse_network_xml(PORTGROUPS, "running_config", problems)
    assert not problems.items
    assert config["forward"] == {"mode": "private", "dev": "eth20", "interfaces": ["eth20", "eth21"]}
    assert config["trust_guest_rx_filters"] is True
    assert config["portgroups"][1] == {
        "name": "sales", "trust_guest_rx_filters": False,
        "virtualport": {"type": "802.1Qbh", "parameters": {"profile_id": "salestest"}},
        "bandwidth": {"inbound": {"average": 500, "peak": 2000, "burst": 2560}, "outbound": {"average": 128, "peak": 256, "burst": 256}}}
    config = parse.parse_network_xml(HOSTDEV, "running_config", problems)
    assert config["forward"] == {"mode": "hostdev", "managed": False, "driver": "kvm", "addresses": ["0000:04:10.7"]}


def test_unknown_elements_and_attributes_are_named_never_dropped():
    problems = Problems()
    parse.parse_network_xml("""<network foo='1'><name>x</name><bridge name='b' colour='red'/>
        <forward mode='nat'><nat><adress start='203.0.113.1'/></nat></forward>
        <dnsmasq:options xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'/></network>""", "running_config[0]", problems)
    assert problems.items == [
        "running_config[0]: <network> has an unknown attribute foo='1' (known: connections, ipv6, trustGuestRxFilters)",
        "running_config[0]: <network> has an unknown element <dnsmasq:options> (known: <name>, <uuid>, <metadata>, <forward>, <bridge>,"
        " <mtu>, <mac>, <domain>, <dns>, <vlan>, <bandwidth>, <ip>, <route>, <virtualport>, <portgroup>)",
        "running_config[0]: <nat> has an unknown element <adress> (known: <address>, <port>)",
        "running_config[0]: <bridge> has an unknown attribute colour='red' (known: name, zone, stp, delay, macTableManager)",
    ]


def test_bad_values_in_xml_name_the_attribute():
    problems = Problems()
    parse.parse_network_xml("<network ipv6='true'><name>x</name><mtu size='big'/><bridge stp='yes'/></network>", "p", problems)
    assert problems.items == ["p: <network> ipv6='true' is not yes or no", "p: <bridge> stp='yes' is not on or off",
                              "p: <mtu> size='big' is not a whole number"]
    problems = Problems()
    parse.parse_network_xml("<network><name>x</name", "p", problems)
    assert len(problems.items) == 1 and problems.items[0].startswith("p: is not well-formed XML: ")


def test_metadata_is_skipped_and_the_owner_mark_readable():
    text = """<network><name>x</name><metadata><hv:owner xmlns:hv="https://example.org/hvnet" module="vm_network"/>
        <app2:bar xmlns:app2="http://app1.org/app2/">..</app2:bar></metadata><bridge name='virbrx'/></network>"""
    problems = Problems()
    assert parse.parse_network_xml(text, "p", problems) == {"name": "x", "forward": {"mode": "isolated"}, "bridge": {"name": "virbrx"}}
    assert not problems.items
    assert parse.owner_metadata(text, "https://example.org/hvnet") == {"module": "vm_network"}
    assert parse.owner_metadata(text, "https://example.org/other") is None


def test_live_xml_of_a_pf_pool_parses_as_its_definition():
    live = """<network connections='1'><name>vfs</name><forward mode='passthrough'><pf dev='eth0'/>
        <interface dev='eth0v0' connections='1'/><interface dev='eth0v1'/></forward></network>"""
    problems = Problems()
    assert parse.parse_network_xml(live, "p", problems) == {"name": "vfs", "connections": 1,
                                                            "forward": {"mode": "passthrough", "pf": "eth0"}}
    assert not problems.items


def test_metadata_goes_where_libvirt_keeps_it_and_the_parser_skips_it():
    model = m.from_config({"name": "x", "uuid": "3e3fce45-4f53-4fa7-bb32-11f34168b82b", "forward": {"mode": "isolated"},
                           "bridge": {"name": "virbrx"}}, "c", Problems())
    xml = render.network_xml(model, ['<hv:owner xmlns:hv="https://example.org/hvnet" module="vm_network"/>'])
    assert [child.tag for child in _parse_xml(xml)] == ["name", "uuid", "metadata", "bridge"]
    assert parse.owner_metadata(xml, "https://example.org/hvnet") == {"module": "vm_network"}
    problems = Problems()
    assert m.from_config(parse.parse_network_xml(xml, "p", problems), "p", problems) == model
    assert not problems.items


def test_connections_is_read_only():
    problems = Problems()
    config = parse.parse_network_xml("<network connections='3'><name>x</name><bridge name='virbrx'/></network>", "p", problems)
    assert config["connections"] == 3
    m.from_config(config, "config[0]", problems)
    assert problems.items == ["config[0].connections: is read-only: libvirt reports how many guest interfaces use a running network;"
                              " leave it out of config"]


def test_several_networks_or_a_wrapper():
    problems = Problems()
    one = "<network><name>a</name><bridge name='virbra'/></network>"
    two = "<network><name>b</name><bridge name='virbrb'/></network>"
    assert [c["name"] for c in parse.parse_networks(one + "\n" + two, "running_config", problems)] == ["a", "b"]
    assert [c["name"] for c in parse.parse_networks("<?xml version='1.0'?><networks>%s%s</networks>" % (one, two), "r", problems)] == ["a", "b"]
    assert not problems.items
    parse.parse_networks("<domain/>", "running_config", problems)
    assert problems.items == ["running_config[0]: <domain> is not a <network> element"]


@pytest.mark.parametrize("item, expected", [
    ({"forward": {"mode": "passthrough"}}, ["config[0].forward: forward.mode passthrough needs its pool: forward.interfaces, forward.pf or forward.dev"]),
    ({"forward": {"mode": "hostdev", "addresses": ["04:00.1", "0000:04:00.1", "4:20.1", "zz"]}},
     ["config[0].forward.addresses[1]: 0000:04:00.1 is listed twice",
      "config[0].forward.addresses[2]: '4:20.1' is not a PCI function; write domain:bus:slot.function in hex, such as 0000:04:00.1"
      " (slot 00-1f, function 0-7)",
      "config[0].forward.addresses[3]: 'zz' is not a PCI function; write domain:bus:slot.function in hex, such as 0000:04:00.1"
      " (slot 00-1f, function 0-7)"]),
    ({"forward": {"mode": "nat", "interfaces": ["eth0"], "driver": "xen", "managed": True}},
     ["config[0].forward.driver: 'xen' is not one of: vfio, kvm",
      "config[0].forward.interfaces: a pool of host NICs is for forward.mode bridge, private, vepa or passthrough (macvtap), not nat",
      "config[0].forward.managed: only applies to forward.mode hostdev, not nat"]),
    ({"forward": {"mode": "vepa", "dev": "eth1", "interfaces": ["eth0", "eth1"]}},
     ["config[0].forward.dev: eth1 must be the first of forward.interfaces (eth0), as libvirt has it"]),
    ({"forward": {"mode": "hostdev", "pf": "eth0"}, "bridge": {"name": "br0"}},
     ["config[0].bridge: a hostdev network has no bridge: guests use the NICs or PCI functions of forward"]),
    ({"uuid": "nope", "vlan": {"trunk": False, "tags": [{"id": 4096}, {"id": 7, "native_mode": "tagged"}, {"id": 8, "native_mode": "x"}]}},
     ["config[0].uuid: 'nope' is not a UUID; expected 32 hex digits such as 3e3fce45-4f53-4fa7-bb32-11f34168b82b",
      "config[0].vlan.tags[0].id: 4096 is outside the allowed range 0..4095",
      "config[0].vlan.tags[2].native_mode: 'x' is not one of: tagged, untagged",
      "config[0].vlan.trunk: several tags are a trunk; trunk false allows one tag"]),
    ({"virtualport": {"type": "openvswitch", "parameters": {"profile_id": "p", "manager_id": 3, "interface_id": "x"}}},
     ["config[0].virtualport.parameters.interface_id: 'x' is not a UUID; expected 32 hex digits such as 3e3fce45-4f53-4fa7-bb32-11f34168b82b",
      "config[0].virtualport.parameters.manager_id: is not a parameter of virtualport type openvswitch; allowed: interface_id, profile_id"]),
    ({"portgroups": [{"name": "a", "default": True}, {"name": "a", "default": True, "bandwidth": {"outbound": {"average": 1, "floor": 1}}}, {}]},
     ["config[0].portgroups[1].name: 'a' is also portgroups[0]",
      "config[0].portgroups[1].default: portgroups[0] is already the default; one port group may be",
      "config[0].portgroups[1].bandwidth.outbound.floor: floor applies to inbound traffic only",
      "config[0].portgroups[2].name: is required"]),
    ({"ips": [{"address": "198.51.100.1", "prefix": 24, "local_ptr": "yes",
               "dhcp": {"ranges": [{"start": "198.51.100.10", "end": "198.51.100.20", "lease": {"unit": "days"}}]}}]},
     ["config[0].ips[0].local_ptr: 'yes' is not a boolean; use true or false",
      "config[0].ips[0].dhcp.ranges[0].lease.expiry: is required (0 means the lease never expires)",
      "config[0].ips[0].dhcp.ranges[0].lease.unit: 'days' is not one of: seconds, minutes, hours"]),
    ({"bridge": {"name": "br0"}, "vlan": {"tags": [{"id": 1}]}, "portgroups": [{"name": "a", "vlan": {"tags": [{"id": 2}]}}]},
     ["config[0].vlan: VLAN tags need forward.mode hostdev or passthrough (SR-IOV VFs), or forward.mode bridge with virtualport"
      " type openvswitch; a Linux bridge or macvtap does not tag (not isolated)",
      "config[0].portgroups[0].vlan: VLAN tags need forward.mode hostdev or passthrough (SR-IOV VFs), or forward.mode bridge with"
      " virtualport type openvswitch; a Linux bridge or macvtap does not tag (not isolated)"]),
    ({"bridge": {"zone": "a zone"}, "connections": 1},
     ["config[0].bridge.zone: 'a zone' is not a firewalld zone name (1-17 letters, digits, '_', '-')",
      "config[0].connections: is read-only: libvirt reports how many guest interfaces use a running network; leave it out of config"]),
])
def test_value_errors_name_the_field(item, expected):
    problems = Problems()
    model = m.from_config(dict({"name": "n"}, **item), "config[0]", problems)
    if not problems.items:
        m.check_desired(problems, "config[0]", model)
    assert sorted(problems.items) == sorted(expected)


def _libvirt_resource():
    resource = NetworkResource()
    resource.backend = "libvirt"  # the libvirt backend's resource (branch h-lvbackend) sets this itself
    return resource


def test_kernel_backend_refuses_libvirt_only_fields():
    item = {"name": "n", "uuid": "3e3fce45-4f53-4fa7-bb32-11f34168b82b", "ipv6": True, "trust_guest_rx_filters": False,
            "vlan": {"tags": [{"id": 42}]}, "virtualport": {"type": "openvswitch"}, "portgroups": [{"name": "p"}], "autostart": True,
            "bridge": {"name": "br0"}, "forward": {"mode": "bridge", "interfaces": ["eth0"], "dev": "eth0"}}
    services = {"name": "s", "bridge": {"name": "virbrs", "zone": "trusted"},
                "ips": [{"address": "198.51.100.1", "prefix": 24, "local_ptr": True,
                         "dhcp": {"hosts": [{"mac": "52:54:00:00:00:01", "ip": "198.51.100.9", "lease": {"expiry": 5}}]}}]}
    with pytest.raises(ValidationError) as error:
        converge(NetworkResource(), {"state": "rendered", "config": [item, services]}, check_mode=False)
    assert all("needs backend: libvirt" in problem for problem in error.value.problems)
    fields = sorted(problem.split(":")[0] for problem in error.value.problems)
    assert fields == sorted(["config[0].%s" % f for f in (
        "forward.dev", "forward.interfaces", "uuid", "ipv6", "trust_guest_rx_filters", "vlan", "virtualport", "portgroups", "autostart")]
        + ["config[1].bridge.zone"])
    with pytest.raises(ValidationError) as error:
        converge(NetworkResource(), {"state": "rendered", "config": [{"name": "v", "forward": {"mode": "hostdev", "pf": "eth0"}}]}, False)
    assert "config[0].forward.mode: needs backend: libvirt (macvtap and PCI passthrough pools)" in error.value.problems


def test_libvirt_backend_refuses_kernel_only_fields():
    item = {"name": "n", "forward": {"mode": "nat"}, "bridge": {"name": "virbrn", "uplink": "eth0"},
            "ips": [{"address": "198.51.100.1", "prefix": 24}],
            "port_forwards": [{"host_port": 80, "guest_ip": "198.51.100.5"}]}
    problems = Problems()
    model = m.from_config(item, "config[0]", problems)
    assert [problem[0] for problem in m.unsupported_fields(model, "libvirt")] == ["bridge.uplink", "port_forwards"]
    assert m.unsupported_fields(model, "kernel") == []


def test_libvirt_refuses_what_it_does_not_manage_and_needs_an_address_to_forward():
    problems = Problems()
    host_bridge = m.from_config({"name": "lan", "forward": {"mode": "bridge"}, "bridge": {"name": "br0", "stp": False, "delay": 0},
                                 "mtu": 9000, "mac": "52:54:00:00:00:01", "ips": [{"address": "198.51.100.1", "prefix": 24}]},
                                "config[0]", problems)
    nat = m.from_config({"name": "nat", "forward": {"mode": "nat"}}, "config[1]", problems)
    assert not problems.items
    assert [problem[0] for problem in m.unsupported_fields(host_bridge, "libvirt")] == ["bridge.stp", "bridge.delay", "mtu", "mac", "ips"]
    assert m.unsupported_fields(host_bridge, "kernel") == []
    assert m.unsupported_fields(nat, "libvirt") == [("ips", "is required with backend libvirt for forward.mode nat, route and open"
                                                     " (libvirt forwards only for a network it has an address on)")]
    assert m.unsupported_fields(nat, "kernel") == []


@pytest.mark.parametrize("item, expected", [
    # libvirt's rule: the default port group's own virtualport decides, so the network's vlan is fine
    ({"forward": {"mode": "bridge"}, "bridge": {"name": "br0"}, "vlan": {"tags": [{"id": 1}]},
      "portgroups": [{"name": "ovs", "default": True, "virtualport": {"type": "openvswitch"}}]}, []),
    ({"forward": {"mode": "bridge"}, "bridge": {"name": "br0"}, "vlan": {"tags": [{"id": 1}]},
      "portgroups": [{"name": "qbh", "default": True, "virtualport": {"type": "802.1Qbh"}}]},
     ["config[0].portgroups[0]: VLAN tags need forward.mode hostdev or passthrough (SR-IOV VFs), or forward.mode bridge with"
      " virtualport type openvswitch; a Linux bridge or macvtap does not tag (not bridge)"]),
    ({"forward": {"mode": "hostdev", "pf": "eth0"}, "portgroups": [{"name": "a", "bandwidth": {"inbound": {"average": 10}}}]},
     ["config[0].portgroups[0].bandwidth: needs forward.mode nat, route, open, isolated or bridge with bridge.name (not hostdev)"]),
])
def test_libvirt_rules_of_vlans_and_port_group_bandwidth(item, expected):
    problems = Problems()
    model = m.from_config(dict({"name": "n"}, **item), "config[0]", problems)
    assert not problems.items
    m.check_desired(problems, "config[0]", model)
    assert problems.items == expected


def test_rendered_with_backend_libvirt_returns_the_xml(tmp_path):
    item = {"name": "ovs-net", "forward": {"mode": "bridge"}, "bridge": {"name": "ovsbr0"},
            "virtualport": {"type": "openvswitch"}, "vlan": {"tags": [{"id": 42}]}}
    result = converge(_libvirt_resource(), {"state": "rendered", "backend": "libvirt", "config": [item]}, check_mode=False)
    rendered = result["rendered"][0]
    assert rendered["name"] == "ovs-net" and rendered["config"]["vlan"] == {"tags": [{"id": 42}]}
    root = _parse_xml(rendered["libvirt_xml"])
    assert [canonical(root.find(tag)) for tag in ("forward", "vlan", "virtualport")] == [
        canonical(_parse_xml(text)) for text in ("<forward mode='bridge'/>", "<vlan><tag id='42'/></vlan>", "<virtualport type='openvswitch'/>")]
    _validate(tmp_path, rendered["libvirt_xml"], "ovs-net")
    hostdev = {"name": "vfs", "forward": {"mode": "hostdev", "pf": "eth0", "managed": True}}
    rendered = converge(_libvirt_resource(), {"state": "rendered", "backend": "libvirt", "config": [hostdev]}, False)["rendered"][0]
    assert canonical(_parse_xml(rendered["libvirt_xml"])) == canonical(_parse_xml(
        "<network><name>vfs</name><forward mode='hostdev' managed='yes'><pf dev='eth0'/></forward></network>"))


def test_rendered_kernel_keeps_its_output_and_backend_libvirt_its_own():
    item = {"name": "default", "bridge": {"name": "virbr0"}, "forward": {"mode": "nat"}, "ips": [{"address": "198.51.100.1", "prefix": 24}]}
    kernel = converge(NetworkResource(), {"state": "rendered", "config": [item]}, check_mode=False)["rendered"][0]
    assert "commands" in kernel and "libvirt_xml" not in kernel
    libvirt = converge(_libvirt_resource(), {"state": "rendered", "backend": "libvirt", "config": [item]}, check_mode=False)["rendered"][0]
    assert set(libvirt) == {"name", "config", "libvirt_xml"}
    assert '<forward mode="nat"/>' in libvirt["libvirt_xml"]


def test_parsed_with_network_xml():
    text = "\n".join(complete_examples()[1:3])  # default and default6, one after the other
    result = converge(_libvirt_resource(), {"state": "parsed", "backend": "libvirt", "running_config": text}, check_mode=False)
    assert [item["name"] for item in result["parsed"]] == ["default", "default6"]
    assert result["parsed"][0] == {
        "name": "default", "forward": {"mode": "nat"}, "bridge": {"name": "virbr0"},
        "ips": [{"address": "192.168.122.1", "prefix": 24, "family": "ipv4",
                 "dhcp": {"ranges": [{"start": "192.168.122.2", "end": "192.168.122.254"}]}},
                {"address": "2001:db8:ca2:2::1", "prefix": 64, "family": "ipv6"}]}
    with pytest.raises(ValidationError) as error:
        converge(_libvirt_resource(), {"state": "parsed", "backend": "libvirt", "running_config": complete_examples()[5]}, False)
    assert "running_config[0].ips[0].dhcp.ranges[0]: start 2001:db8:ca2:7::100 is above end 2001:db8:ca2::1ff" in error.value.problems


def test_a_missing_lxml_is_named(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_lxml(name, *args, **kwargs):
        if name.startswith("lxml"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_lxml)
    with pytest.raises(Exception) as error:
        render.network_xml(m.VmNetwork(name="x"))
    assert "python3-lxml" in str(error.value)


def _all_parsed_configs():
    problems = Problems()
    texts = [text for text in complete_examples() if "<name>net7</name>" not in text]
    texts += [_as_network(text, index) for index, text in enumerate(fragments())] + [PORTGROUPS, EVERYTHING_ELSE, HOSTDEV]
    configs = [parse.parse_network_xml(text, "x", problems) for text in texts]
    assert not problems.items
    return configs


def test_what_parsed_returns_the_module_takes_back():
    """Every field the parser returns is a documented module option (its argument spec)."""
    from ansible_collections.hypervisor.networking.plugins.module_utils.argspec import check_params
    from ansible_collections.hypervisor.networking.plugins.module_utils.engine import COMMON_ARGUMENT_SPEC
    from ansible_collections.hypervisor.networking.plugins.modules import vm_network

    spec = dict(COMMON_ARGUMENT_SPEC, backend={"type": "str"}, config={"type": "list", "elements": "dict", "options": vm_network.CONFIG_SPEC})
    configs = _all_parsed_configs()
    assert check_params(spec, {"backend": "libvirt", "state": "replaced", "config": configs}) == []
    parsed = converge(_libvirt_resource(), {"state": "parsed", "running_config": "\n".join(
        render.network_xml(m.from_config(config, "x", Problems())) for config in configs)}, check_mode=False)["parsed"]
    assert check_params(spec, {"backend": "libvirt", "state": "replaced", "config": parsed}) == []


def test_the_module_examples_with_backend_libvirt_render_valid_xml(tmp_path):
    import yaml

    source = open(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "plugins", "modules",
                               "vm_network.py"), encoding="utf-8").read()
    tasks = yaml.safe_load(re.search(r'^EXAMPLES = r"""\n(.*?)^"""', source, re.S | re.M).group(1))
    rendered = [task["hypervisor.networking.vm_network"] for task in tasks
                if task["hypervisor.networking.vm_network"].get("backend") == "libvirt"
                and task["hypervisor.networking.vm_network"].get("state") == "rendered"]
    assert len(rendered) == 2
    for params in rendered:
        for item in converge(_libvirt_resource(), params, check_mode=False)["rendered"]:
            _validate(tmp_path, item["libvirt_xml"], item["name"])
