"""The documentation states what the code does: RETURN samples, ranges and defaults that the
module docs and the role specs both give (issue: first use)."""

import os
import re

import yaml

from ansible_collections.hypervisor.networking.plugins.module_utils.engine import converge
from ansible_collections.hypervisor.networking.plugins.module_utils.render import nftables as nft_render
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.interface import TAP_MAX_MTU, InterfaceResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.network import NetworkResource

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _module_doc(module, block):
    with open(os.path.join(REPO_ROOT, "plugins", "modules", module + ".py"), encoding="utf-8") as handle:
        source = handle.read()
    return yaml.safe_load(re.search(r'^%s = r"""\n(.*?)^"""' % block, source, re.S | re.M).group(1))


def _role_options(role):
    with open(os.path.join(REPO_ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["argument_specs"]["main"]["options"]


def _text(description):
    return " ".join(description if isinstance(description, list) else [description])


def _rendered_commands(resource, item):
    return converge(resource, {"state": "rendered", "config": [item]}, check_mode=False)["rendered"][0]["commands"]


def test_return_samples_are_what_the_modules_run():
    network = _rendered_commands(NetworkResource(), {"name": "ich-int", "forward": {"mode": "bridge"},
                                                     "ips": [{"address": "192.168.4.1", "prefix": 24}]})
    assert _module_doc("vm_network", "RETURN")["commands"]["sample"] == network
    tap = _rendered_commands(InterfaceResource(), {"name": "ich0", "bridge": "ich-int", "owner": "1000",
                                                   "guest": {"mac": "a4:a1:c2:00:00:01", "queues": 2}})
    assert _module_doc("vm_interface", "RETURN")["commands"]["sample"] == tap


def test_tap_mtu_range_agrees_with_the_kernel_limit():
    assert TAP_MAX_MTU == 65521  # tun's max_mtu: 65535 less the Ethernet header (ip -d -j link: max_mtu)
    module = _text(_module_doc("vm_interface", "DOCUMENTATION")["options"]["config"]["suboptions"]["mtu"]["description"])
    role = _text(_role_options("bridge")["bridge_vm_interfaces"]["options"]["mtu"]["description"])
    assert "68 to %d" % TAP_MAX_MTU in module and "68 to %d" % TAP_MAX_MTU in role


def test_flood_default_agrees_between_module_and_role():
    module = _text(_module_doc("vm_interface", "DOCUMENTATION")["options"]["config"]["suboptions"]["flood"]["description"])
    role = _text(_role_options("bridge")["bridge_vm_interfaces"]["options"]["flood"]["description"])
    assert "like O(config[].learning)" in module and "like O(bridge_vm_interfaces[].learning)" in role
    for learning in (_module_doc("vm_interface", "DOCUMENTATION")["options"]["config"]["suboptions"]["learning"]["description"],
                     _role_options("bridge")["bridge_vm_interfaces"]["options"]["learning"]["description"]):
        assert "V(false) on a network with C(mac_table_manager=libvirt)" in " ".join(_text(learning).split())


def test_documented_table_name_is_the_real_one():
    notes = " ".join(_module_doc("vm_network", "DOCUMENTATION")["notes"])
    assert "C(ich-int) gets C(inet hvnet_ich_int_b81816)" in notes
    assert nft_render.table_name("ich-int") == "hvnet_ich_int_b81816"
    assert nft_render.table_name("default") == "hvnet_default"
    with open(os.path.join(REPO_ROOT, "README.md"), encoding="utf-8") as handle:
        assert "`ich-int` gets `inet hvnet_ich_int_b81816`" in handle.read()
