"""Value validation of the models: every problem reported at once, each naming its field."""

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.model import interface, network
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems


def problems_of(module, item):
    problems = Problems()
    module.from_config(item, "config[0]", problems)
    return problems.items


@pytest.mark.parametrize("item, field, words", [
    ({"name": "a" * 16}, "config[0].name", "at most 15"),
    ({"name": "bad/name"}, "config[0].name", "allowed"),
    ({"name": "t0", "mac": "01:00:5e:00:00:01"}, "config[0].mac", "multicast"),
    ({"name": "t0", "mac": "zz"}, "config[0].mac", "six hex octets"),
    ({"name": "t0", "mtu": 67}, "config[0].mtu", "68..65535"),
    ({"name": "t0", "mtu": 70000}, "config[0].mtu", "68..65535"),
    ({"name": "t0", "kind": "veth"}, "config[0].kind", "tap, macvtap"),
    ({"name": "t0", "guest": {"queues": 0}}, "config[0].guest.queues", "1..128"),
    ({"name": "t0", "guest": {"queues": 300}}, "config[0].guest.queues", "1..128"),
    ({"name": "t0", "guest": {"queue_size": 100}}, "config[0].guest.queue_size", "power of two"),
    ({"name": "t0", "guest": {"queues": 4}, "multi_queue": False}, "config[0].multi_queue", "EINVAL"),
    ({"name": "t0", "kind": "macvtap"}, "config[0].link", "required"),
    ({"name": "t0", "kind": "macvtap", "link": "eth0", "bridge": "br0"}, "config[0].bridge", "tap only"),
    ({"name": "t0", "kind": "tap", "link": "eth0"}, "config[0].link", "macvtap only"),
    ({"name": "t0", "guest": {"ip": "198.51.100.7"}}, "config[0].guest.ip", "needs a prefix"),
])
def test_interface_rejects(item, field, words):
    found = problems_of(interface, item)
    assert any(p.startswith(field + ":") and words in p for p in found), found


def test_interface_reports_every_problem_at_once():
    found = problems_of(interface, {"name": "x" * 20, "mtu": 1, "mac": "01:00:00:00:00:00"})
    assert len(found) == 3


def test_interface_normalises():
    model = interface.from_config({"name": "t0", "mac": "A4-A1-C2-00-00-01", "guest": {"queues": 2}}, "c", Problems())
    assert model.mac == "a4:a1:c2:00:00:01"
    assert model.guest.queues == 2


@pytest.mark.parametrize("item, field, words", [
    ({"name": "has space"}, "config[0].name", "not a valid network name"),
    ({"name": "n", "forward": {"mode": "isolated"}, "bridge": {"uplink": "eth0"}}, "config[0].bridge.uplink", "isolated network has no uplink"),
    ({"name": "n", "forward": {"mode": "nat"}, "bridge": {"uplink": "eth0"}}, "config[0].bridge.uplink", "only forward.mode bridge takes an uplink"),
    ({"name": "n", "ips": [{"address": "198.51.100.1", "prefix": 24, "netmask": "255.255.255.0"}]}, "config[0].ips[0]", "prefix once"),
    ({"name": "n", "ips": [{"address": "198.51.100.0/24"}]}, "config[0].ips[0].address", "network or broadcast"),
    ({"name": "n", "ips": [{"address": "198.51.100.1/24", "family": "ipv6"}]}, "config[0].ips[0].family", "does not match"),
    ({"name": "n", "ips": [{"address": "198.51.100.1/24"}, {"address": "198.51.100.2/25"}]}, "config[0].ips", "overlap"),
    ({"name": "n", "forward": {"mode": "bogus"}}, "config[0].forward.mode", "is not one of"),
    ({"name": "n", "bridge": {"delay": 31}}, "config[0].bridge.delay", "0..30"),
    ({"name": "a-long-network-name"}, "config[0].bridge.name", "not a valid interface name"),
])
def test_network_rejects(item, field, words):
    found = problems_of(network, item)
    assert any(p.startswith(field) and words in p for p in found), found


def test_network_netmask_and_prefix_normalise_alike():
    a = network.from_config({"name": "n", "ips": [{"address": "198.51.100.1", "netmask": "255.255.255.0"}]}, "c", Problems())
    b = network.from_config({"name": "n", "ips": [{"address": "198.51.100.1/24"}]}, "c", Problems())
    assert a.ips == b.ips == ["198.51.100.1/24"]


def test_validation_error_joins_all():
    problems = Problems()
    problems.add("a", "one")
    problems.add("b", "two")
    with pytest.raises(ValidationError) as info:
        problems.raise_if_any()
    assert str(info.value) == "a: one; b: two"
