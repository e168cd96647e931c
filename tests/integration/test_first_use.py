# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""First use: the README's quick start runs exactly as written, the role builds the same, and a
newcomer's mistakes with the roles get messages in the terms of the role's variables.

The plays are read out of README.md, so a change there that breaks them breaks this test.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import firstuse as fu  # noqa: E402  pylint: disable=wrong-import-position
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position

README = os.path.join(fu.REPO_ROOT, "README.md")
ICH_INT_TABLE = "inet hvnet_ich_int_b81816"


@pytest.fixture
def sandbox(netns_factory, tmp_path):
    box = fu.Sandbox(netns_factory, tmp_path)
    yield box
    box.remove_run_files()


def _quick_start_plays():
    blocks = fu.yaml_blocks(README, "## Quick start")
    assert len(blocks) == 2, "the quick start has the play and the role version"
    return blocks


def _built(sandbox):
    """What the quick start builds, as the kernel and nft report it."""
    hv = sandbox.hv
    tap = nh.link(hv, "ich0")
    return {
        "eno1 master": nh.link(hv, "eno1").get("master"),
        "br0": nh.global_addrs(hv, "br0"),
        "eno1": nh.global_addrs(hv, "eno1"),
        "default via": nh.default_routes(hv),
        "ich-int": nh.global_addrs(hv, "ich-int"),
        "tables": sandbox.nft_tables(),
        "ich0": (nh.info_kind(tap), tap.get("master"), nh.info_data(tap).get("multi_queue"), sandbox.tap_owner("ich0")),
    }


def _expected(sandbox):
    return {
        "eno1 master": "br0",
        "br0": {fu.HOST_IP},
        "eno1": set(),
        "default via": [("inet", fu.UPSTREAM_IP, "br0")],
        "ich-int": {"192.168.4.1/24"},
        "tables": [ICH_INT_TABLE],
        "ich0": ("tun", "ich-int", True, sandbox.uid_of("cloud-hypervisor")),
    }


@pytest.mark.parametrize("which", [0, 1], ids=["quick-start-play", "quick-start-role"])
def test_readme_quick_start_as_written(sandbox, ansible_runner, which):
    play = _quick_start_plays()[which]
    # --check --diff first, as an operator would: it plans (the user and the bridges only planned: warnings) and changes nothing
    before = nh.settled_state(sandbox.hv)
    rc, out = sandbox.play(ansible_runner, play, check=True, diff=True)[:2]
    assert rc == 0, out
    assert "user 'cloud-hypervisor' does not exist on this host; create it first (ansible.builtin.user), unless an earlier task creates it" \
        in " ".join(out.split()), out
    nh.assert_same_state(before, nh.settled_state(sandbox.hv), "kernel state after --check")
    assert sandbox.nft_tables() == [] and sandbox.uid_of("cloud-hypervisor") is None

    rc, out = sandbox.play(ansible_runner, play)[:2]
    assert rc == 0, out
    assert sandbox.uid_of("cloud-hypervisor") is not None, out
    assert _built(sandbox) == _expected(sandbox), out
    assert nh.link(sandbox.hv, "ich0")["ifalias"].startswith(nh.IFACE_MARK)
    rc, out = sandbox.play(ansible_runner, play)[:2]
    assert rc == 0, out
    assert fu.recap_changed(out) == 0, out


def test_uplink_move_diff_shows_the_address_on_the_bridge(sandbox, run_module):
    """--diff of an uplink move: `host.addresses` of the after-state holds the address now on br0."""
    lan = {"name": "lan", "forward": {"mode": "bridge"}, "bridge": {"name": "br0", "uplink": "eno1"}}
    args = {"config": [lan], "persist": False}
    predicted = nh.assert_ok(run_module(sandbox.hv, "vm_network", args, check=True, diff=True))
    assert predicted["diff"]["after"]["lan"]["host"]["addresses"] == [fu.HOST_IP]
    assert nh.link(sandbox.hv, "eno1").get("master") is None, "check mode changed nothing"
    result = nh.assert_ok(run_module(sandbox.hv, "vm_network", args, diff=True))
    on_bridge = nh.global_addrs(sandbox.hv, "br0")
    assert on_bridge == {fu.HOST_IP}
    assert set(result["diff"]["after"]["lan"]["host"]["addresses"]) == on_bridge
    assert result["diff"]["after"]["lan"]["host"]["nftables_table"] is None
    assert "lan" not in result["diff"]["before"]
    again = nh.assert_ok(run_module(sandbox.hv, "vm_network", args))
    assert again["changed"] is False
    assert set(again["after"][0]["host"]["addresses"]) == on_bridge
    gathered = nh.assert_ok(run_module(sandbox.hv, "vm_network", {"state": "gathered"}))
    assert "host" not in gathered["gathered"][0], "gathered items stay config items"
    nh.assert_ok(run_module(sandbox.hv, "vm_network", {"state": "deleted", "persist": False}))
    assert nh.global_addrs(sandbox.hv, "eno1") == {fu.HOST_IP}


def test_table_name_is_returned_and_exists(hv_ns, run_module):
    net = {"name": "ich-int", "ips": [{"address": "198.51.100.1", "prefix": 24}]}
    result = nh.assert_ok(run_module(hv_ns, "vm_network", {"config": [net], "persist": False}))
    assert result["after"][0]["host"]["nftables_table"] == ICH_INT_TABLE
    family, name = ICH_INT_TABLE.split()
    assert hv_ns.run("nft", "list", "table", family, name, check=False).returncode == 0
    nh.assert_ok(run_module(hv_ns, "vm_network", {"state": "deleted", "persist": False}))


# ---- mistakes through the roles -------------------------------------------------------------
def _role_play(role, role_vars):
    return fu.yaml.safe_dump([{"name": "role", "hosts": "hypervisors", "gather_facts": False,
                               "roles": [{"role": "hypervisor.networking." + role, "vars": role_vars}]}])


def test_bridge_role_errors_name_the_role_variables(sandbox, ansible_runner):
    role_vars = {"bridge_persist": False,
                 "bridge_networks": [{"name": "ok", "addresses": ["198.51.100.129/25"]},
                                     {"name": "bad", "addresses": ["198.51.100.1/25", "198.51.100.300/24"]}]}
    rc, out = sandbox.play(ansible_runner, _role_play("bridge", role_vars))[:2]
    assert rc != 0
    assert "bridge_networks[1].addresses[1]" in out, out
    assert "config[" not in out.split("Report the failure")[-1], out
    assert nh.link(sandbox.hv, "ok") is None, "nothing changed"

    role_vars = {"bridge_persist": False, "bridge_networks": [{"name": "bad", "uplink": "eno9"}]}
    rc, out = sandbox.play(ansible_runner, _role_play("bridge", role_vars))[:2]
    assert rc != 0 and "bridge_networks[0].uplink: eno9 does not exist" in out, out

    role_vars = {"bridge_persist": False, "bridge_networks": [{"name": "vms", "addresses": ["198.51.100.1/25"]}],
                 "bridge_vm_interfaces": [{"name": "t0", "bridge": "vms"}, {"name": "t1", "bridge": "vms", "mtu": 65530}]}
    rc, out = sandbox.play(ansible_runner, _role_play("bridge", role_vars))[:2]
    assert rc != 0 and "bridge_vm_interfaces[1].mtu" in out, out
    assert nh.link(sandbox.hv, "t0") is None


def test_nat_role_errors_name_the_role_variables(sandbox, ansible_runner):
    net = {"name": "n1", "forward": {"mode": "nat"},
           "ips": [{"address": "198.51.100.129", "prefix": 25, "dhcp": {"ranges": [{"start": "198.51.100.2", "end": "198.51.100.9"}]}}]}
    rc, out = sandbox.play(ansible_runner, _role_play("nat", {"nat_persist": False, "nat_networks": [net]}))[:2]
    assert rc != 0
    assert "nat_networks[0].ips[0].dhcp.ranges[0].start: 198.51.100.2 is outside the subnet" in out, out
    assert nh.link(sandbox.hv, "n1") is None


@pytest.mark.parametrize("role,variable,expected", [
    ("nat", "nat_network", "did you mean nat_networks?"),
    ("bridge", "bridge_network", "did you mean bridge_networks?"),
])
def test_misspelled_role_variable_warns(sandbox, ansible_runner, role, variable, expected):
    rc, out, results = sandbox.play(ansible_runner, _role_play(role, {variable: [], role + "_persist": False}), check=True)
    assert rc == 0, out
    if role == "nat":  # what the default builds, with its table's name
        summary = [r["result"]["ansible_facts"]["nat_summary"] for r in results if "nat_summary" in r["result"].get("ansible_facts", {})]
        assert summary[0]["networks"] == ["default"] and summary[0]["tables"] == ["inet hvnet_default"]
    assert "role %s: %s is set but is not a variable of this role (%s)" % (role, variable, expected) in " ".join(out.split()), out
    assert "so the role builds only its defaults" in " ".join(out.split()), out


def test_misspelled_dpdk_variable_warns(sandbox, ansible_runner):
    """The dpdk role's check alone (its other tasks need OVS-DPDK; see tests/integration/dpdk)."""
    play = fu.yaml.safe_dump([{"name": "dpdk variables", "hosts": "hypervisors", "gather_facts": False,
                               "vars": {"dpdk_port": [{"name": "x"}], "dpdk_ports_state": "merged"},
                               "tasks": [{"name": "check", "ansible.builtin.include_role": {
                                   "name": "hypervisor.networking.dpdk", "tasks_from": "variables"}}]}])
    rc, out = sandbox.play(ansible_runner, play)[:2]
    assert rc == 0, out
    text = " ".join(out.split())
    assert "role dpdk: dpdk_port is set but is not a variable of this role (did you mean dpdk_ports?)" in text, out
    assert "dpdk_ports_state is set" not in text


def test_role_variables_example(sandbox, ansible_runner):
    example = fu.module_examples("role_variables")
    assert len(example) == 1
    play = fu.yaml.safe_dump([{"name": "example", "hosts": "hypervisors", "gather_facts": False,
                               "vars": {"web_porte": 8080, "web_root": "/srv"}, "tasks": example}])
    rc, out, results = sandbox.play(ansible_runner, play)
    assert rc == 0, out
    text = " ".join(out.split())
    assert "role web: web_porte is set but is not a variable of this role (did you mean web_port?); it is ignored" in text, out
    assert "role web: web_port is at its default, so the role builds only its defaults" in text, out
    assert results[-1]["result"]["unknown"] == ["web_porte"] and results[-1]["result"]["changed"] is False


def test_tap_mtu_range_is_the_documented_one(hv_ns, run_module):
    """68..65521 for a tap, as documented: the kernel's own maximum, refused before anything changes."""
    too_big = run_module(hv_ns, "vm_interface", {"config": [{"name": "t0", "mtu": 65522}], "persist": False})
    nh.assert_failed(too_big, "config[0].mtu: 65522 is above the maximum of a tap (65521)")
    assert nh.link(hv_ns, "t0") is None
    nh.assert_ok(run_module(hv_ns, "vm_interface", {"config": [{"name": "t0", "mtu": 65521}], "persist": False}))
    assert nh.link(hv_ns, "t0")["mtu"] == 65521 == nh.link(hv_ns, "t0")["max_mtu"]
    nh.assert_ok(run_module(hv_ns, "vm_interface", {"state": "deleted", "persist": False}))


def test_guest_is_kept_only_in_the_saved_state(hv_ns, run_module):
    """As documented: guest comes back from the saved state; with persist false nothing keeps it."""
    tap = {"name": "t0", "guest": {"mac": "52:54:00:00:00:07", "queues": 2}}
    nh.assert_ok(run_module(hv_ns, "vm_interface", {"config": [tap], "persist": False}))
    assert nh.link(hv_ns, "t0")["address"] == "fe:54:00:00:00:07", "guest.mac sets the tap's MAC"
    assert nh.info_data(nh.link(hv_ns, "t0"))["multi_queue"] is True, "guest.queues sets multi_queue"
    gathered = nh.assert_ok(run_module(hv_ns, "vm_interface", {"state": "gathered"}))["gathered"]
    assert [item.get("guest") for item in gathered] == [None]
    nh.assert_ok(run_module(hv_ns, "vm_interface", {"state": "deleted", "persist": False}))


def test_readme_nat_example_as_written(sandbox, ansible_runner):
    blocks = fu.yaml_blocks(README, "## NAT, routed and open networks")
    assert len(blocks) == 1
    rc, out = sandbox.play(ansible_runner, fu.play_of(fu.yaml.safe_load(blocks[0])))[:2]
    assert rc == 0, out
    assert nh.global_addrs(sandbox.hv, "virbr0") == {"192.168.122.1/24"}
    table = sandbox.hv.run("nft", "list", "table", "inet", "hvnet_default").stdout
    assert "masquerade" in table and "dnat" in table and "8443" in table
    rc, out = sandbox.play(ansible_runner, fu.play_of(fu.yaml.safe_load(blocks[0])))[:2]
    assert rc == 0 and fu.recap_changed(out) == 0, out


def test_missing_owner_says_how_to_create_it(hv_ns, run_module):
    tap = {"name": "t0", "owner": "hvt-no-such-user"}
    result = run_module(hv_ns, "vm_interface", {"config": [tap], "persist": False})
    nh.assert_failed(result, "config[0].owner: user 'hvt-no-such-user' does not exist on this host; create it first (ansible.builtin.user)")
    assert nh.link(hv_ns, "t0") is None
    checked = nh.assert_ok(run_module(hv_ns, "vm_interface", {"config": [tap], "persist": False}, check=True))
    assert "ip tuntap add name t0 mode tap vnet_hdr user hvt-no-such-user" in checked["commands"]
