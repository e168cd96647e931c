"""`parsed` reads the JSON of `ip -d -j addr show` into the same shape the netlink backend reads."""

import json

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.engine import converge
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.interface import InterfaceResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.network import NetworkResource

IP_JSON = [
    {"ifindex": 3, "ifname": "br0", "flags": ["BROADCAST", "MULTICAST", "UP"], "mtu": 1500, "address": "3e:7e:48:81:ee:7a",
     "ifalias": "hypervisor.networking/vm_network mac_table_manager=kernel mode=isolated name=lab",
     "linkinfo": {"info_kind": "bridge", "info_data": {"forward_delay": 200, "stp_state": 1}},
     "addr_info": [{"family": "inet", "local": "198.51.100.1", "prefixlen": 24, "scope": "global"},
                   {"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"}]},
    {"ifindex": 4, "ifname": "ich0", "flags": ["BROADCAST", "MULTICAST", "UP"], "mtu": 1500, "master": "br0",
     "address": "3e:7e:48:81:ee:7b", "ifalias": "hypervisor.networking/vm_interface",
     "linkinfo": {"info_kind": "tun", "info_data": {"type": "tap", "multi_queue": True, "user": "root"},
                  "info_slave_kind": "bridge", "info_slave_data": {"learning": True, "flood": True, "isolated": True}},
     "addr_info": []},
    {"ifindex": 5, "ifname": "handmade", "flags": ["UP"], "mtu": 1500, "linkinfo": {"info_kind": "tun", "info_data": {"type": "tap"}}},
]


def test_parsed_interfaces():
    result = converge(InterfaceResource(), {"state": "parsed", "running_config": json.dumps(IP_JSON)}, False)
    assert result["parsed"] == [{
        "name": "ich0", "kind": "tap", "multi_queue": True, "owner": "root", "mtu": 1500, "mac": "3e:7e:48:81:ee:7b",
        "link_state": "up", "bridge": "br0", "isolated": True, "learning": True, "flood": True,
    }]


def test_parsed_networks():
    result = converge(NetworkResource(), {"state": "parsed", "running_config": json.dumps(IP_JSON)}, False)
    assert result["parsed"] == [{
        "name": "lab", "forward": {"mode": "isolated"},
        "bridge": {"name": "br0", "stp": True, "delay": 2, "mac_table_manager": "kernel"},
        "mac": "3e:7e:48:81:ee:7a",
        "ips": [{"address": "198.51.100.1", "prefix": 24, "family": "ipv4"}],
    }]


def test_parsed_rejects_non_json():
    with pytest.raises(ValidationError, match="running_config"):
        converge(InterfaceResource(), {"state": "parsed", "running_config": "3: br0: <UP>"}, False)
