"""The shape check that runs before AnsibleModule, and the value checks found missing by fuzzing."""

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.argspec import check_params
from ansible_collections.hypervisor.networking.plugins.module_utils.engine import COMMON_ARGUMENT_SPEC, converge
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.model import fields, network
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.interface import InterfaceResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.network import NetworkResource
from ansible_collections.hypervisor.networking.plugins.modules import vm_interface, vm_network

NETWORK_SPEC = dict(COMMON_ARGUMENT_SPEC, config={"type": "list", "elements": "dict", "options": vm_network.CONFIG_SPEC})
INTERFACE_SPEC = dict(COMMON_ARGUMENT_SPEC, config={"type": "list", "elements": "dict", "options": vm_interface.CONFIG_SPEC})


@pytest.mark.parametrize("spec, item, expected", [
    (INTERFACE_SPEC, {"name": "t0", "guest": True}, "config[0].guest: must be a dictionary, not a boolean (true)"),
    (NETWORK_SPEC, {"name": "n", "bandwidth": {"inbound": 1000}}, "config[0].bandwidth.inbound: must be a dictionary, not a number (1000)"),
    (NETWORK_SPEC, {"name": "n", "ips": [{"address": "198.51.100.1/24"}, "x"]}, "config[1 - 1].ips[1]: must be a dictionary"),
    (NETWORK_SPEC, {"name": "n", "routes": {"address": "x"}}, "config[0].routes: must be a list, not a dictionary"),
    (INTERFACE_SPEC, {"name": "t0", "mtu": "Infinity"}, "config[0].mtu: 'Infinity' is not an integer"),
    (INTERFACE_SPEC, {"name": "t0", "mtu": float("nan")}, "config[0].mtu: 'nan' is not an integer"),
    (INTERFACE_SPEC, {"name": "t0", "mtu": 1500.5}, "config[0].mtu: '1500.5' is not an integer"),
    (INTERFACE_SPEC, {"name": "t0", "kind": "veth"}, "config[0].kind: 'veth' is not one of: tap, macvtap, vhostuser"),
    (INTERFACE_SPEC, {"name": "t0", "isolated": "perhaps"}, "config[0].isolated: 'perhaps' is not a boolean; use true or false"),
    (INTERFACE_SPEC, {"name": "t0", "name2": 1}, "config[0].name2: unknown option; did you mean 'name'?"),
    (NETWORK_SPEC, {"name": "n", "dns": {"hosts": [{"ip": "198.51.100.5"}]}}, "config[0].dns.hosts[0].hostnames: is required"),
    (NETWORK_SPEC, {"name": "n", "dns": {"hosts": [{"ip": "198.51.100.5", "hostnames": [{"a": 1}]}]}},
     "config[0].dns.hosts[0].hostnames[0]: must be a single value, not a dictionary"),
    (INTERFACE_SPEC, {"name": ["t0"]}, "config[0].name: must be a single value, not a list"),
])
def test_shape_problems_name_the_full_path(spec, item, expected):
    expected = expected.replace("[1 - 1]", "[0]")
    found = check_params(spec, {"config": [item], "_ansible_check_mode": True})
    assert any(problem.startswith(expected) for problem in found), found


def test_well_shaped_input_passes_the_shape_check():
    item = {"name": "n", "forward": {"mode": "nat"}, "ips": [{"address": "198.51.100.1", "prefix": "24",
                                                              "dhcp": {"ranges": [{"start": "198.51.100.9", "end": "198.51.100.20"}]}}],
            "dns": {"hosts": [{"ip": "198.51.100.5", "hostnames": "a,b"}]}, "bridge": {"stp": "yes"}}
    assert check_params(NETWORK_SPEC, {"config": [item], "state": "merged"}) == []


@pytest.mark.parametrize("value, hint", [
    (41135085296, 'quote it (mac: "52:54:00:12:34:56")'),
    ("41135085296", 'quote it (mac: "52:54:00:12:34:56")'),
    ("52:54:00:12:34:5g", "six hex octets"),
    ("52:54:00:12:34:56:00", "six hex octets"),
])
def test_mac_problems(value, hint):
    problems = Problems()
    assert fields.normalize_mac(problems, "config[0].mac", value) is None
    assert hint in problems.items[0]


@pytest.mark.parametrize("value", ["t0\n", "-t0", ".", "..", "t 0", "t/0", "t0\x00", "\u00e9t0", ""])
def test_bad_interface_names(value):
    problems = Problems()
    assert fields.check_ifname(problems, "config[0].name", value) is None and problems.items


@pytest.mark.parametrize("value", ["a.b", "t0+", "vnet-1", "_x"])
def test_good_interface_names(value):
    assert fields.check_ifname(Problems(), "config[0].name", value) == value


@pytest.mark.parametrize("value, ok", [("0", True), (4294967294, True), ("4294967295", False), ("4294967296", False), ("qemu", True),
                                       ("-x", False), ("a b", False), ("\u00b2", False), (True, False), (1.5, False)])
def test_owner_and_group_ids(value, ok):
    problems = Problems()
    result = fields.check_id(problems, "config[0].owner", value, "user")
    assert (result is not None) == ok, problems.items


def test_control_characters_anywhere_are_named_with_their_path():
    problems = Problems()
    fields.check_no_control_characters(problems, "config[0]", {"dns": {"txt": [{"name": "a", "value": "x\ty"}]}, "k\x7f": 1})
    assert problems.items[0].startswith("config[0].dns.txt[0].value: 'x\\ty' contains a control character (\\t)")
    assert problems.items[1].startswith("config[0].'k\\x7f': an option name with a control character")


def test_network_defaults_apply_when_ansible_passes_none():
    problems = Problems()
    item = {"name": "n", "forward": {"mode": "nat", "nat": {"addresses": {"start": "203.0.113.7", "end": None},
                                                            "ports": {"start": 20000, "end": None}}, "dev": None},
            "ips": [{"address": "198.51.100.1", "prefix": 24}],
            "routes": [{"address": "203.0.113.64", "gateway": "198.51.100.2", "prefix": None, "family": None, "metric": None}],
            "port_forwards": [{"host_port": 2222, "guest_ip": "198.51.100.10", "guest_port": None, "protocol": None, "host_address": None}]}
    model = network.from_config(item, "config[0]", problems)
    assert problems.items == []
    assert model.forward.nat == {"addresses": {"start": "203.0.113.7", "end": "203.0.113.7"}, "ports": {"start": 20000, "end": 20000}}
    assert model.routes == [{"family": "ipv4", "address": "203.0.113.64", "prefix": 32, "gateway": "198.51.100.2"}]
    assert model.port_forwards == [{"protocol": "tcp", "host_port": 2222, "guest_ip": "198.51.100.10", "guest_port": 2222}]


@pytest.mark.parametrize("resource, item, field", [
    (InterfaceResource(), {"name": "t0", "flood": False}, "config[0].flood: is a bridge port flag"),
    (InterfaceResource(), {"name": "t0", "mac": "52:54:00:00:00:01", "guest": {"mac": "52:54:00:00:00:01"}}, "config[0].mac: equals guest.mac"),
    (NetworkResource(), {"name": "n", "forward": {"mode": "route"}, "bridge": {"uplink": "eth1"}, "ips": [{"address": "198.51.100.1/24"}]},
     "config[0].bridge.uplink: only forward.mode bridge"),
])
def test_rendered_refuses_contradictions_too(resource, item, field):
    with pytest.raises(ValidationError) as info:
        converge(resource, {"state": "rendered", "config": [item]}, False)
    assert field in str(info.value)
