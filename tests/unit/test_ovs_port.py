# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ovs_dpdk_port without OVS: value checks, host checks on a snapshot, planning and its undo."""

from __future__ import annotations

import os

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import ovsdb
from ansible_collections.hypervisor.networking.plugins.module_utils.engine import converge
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.model import ovs_port as m
from ansible_collections.hypervisor.networking.plugins.module_utils.model.base import overlay
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems
from ansible_collections.hypervisor.networking.plugins.module_utils.resource import ovs_port as op
from ansible_collections.hypervisor.networking.plugins.module_utils.resource import vhostuser


def _model(**item):
    problems = Problems()
    model = m.from_config(item, "config[0]", problems)
    return model, problems.items


@pytest.mark.parametrize("devargs,ok", [
    ("0000:01:00.0", True), ("01:00.1", True), ("net_null0,no-rx=1", True), ("net_af_packet0,iface=eth1", True),
    ("net_tap0", True), ("0000:01:00", False), ("net_null0,no-rx", False), ("null0", False), ("net_null0, x=1", False),
    # found by tests/integration/test_properties.py: a trailing newline or an empty argument passed
    ("0000:01:00.0\n", False), ("net_null0\n", False), ("net_null0,", False), ("net_null0,a=b,", False), ("net_null0,a=b\n", False),
])
def test_devargs(devargs, ok):
    _model_, problems = _model(name="p", devargs=devargs)
    assert (not problems) is ok, problems


@pytest.mark.parametrize("field", ["name", "bridge"])
@pytest.mark.parametrize("value", ["-x", "--help", "p0\n"])
def test_names_cannot_be_options_or_carry_a_newline(field, value):
    item = {"name": "p", "devargs": "net_null0", field: value}
    _model_, problems = _model(**item)
    assert any(problem.startswith("config[0].%s: " % field) for problem in problems), problems


@pytest.mark.parametrize("column", ["external_ids", "other_config"])
def test_map_values_and_keys_without_control_characters(column):
    _model_, problems = _model(name="p", devargs="net_null0", **{column: {"app": "a\nb", "k\n": "v", "nul": "a\x00"}})
    text = "; ".join(problems)
    assert "config[0].%s.app: must not contain line breaks" % column in text, text
    assert "config[0].%s.nul: must not contain line breaks" % column in text, text
    assert "config[0].%s: key 'k\n' has characters" % column in text, text


def test_pci_address_gets_its_domain():
    model, _problems = _model(name="p", devargs="01:00.1")
    assert model.devargs == "0000:01:00.1"


def test_value_problems_name_every_field():
    _model_, problems = _model(name="p", devargs="net_null0", n_rxq=2, rxq_affinity={"2": 1, "x": 1},
                               n_txq_desc=100, mtu_request=10000, type="dpdk", vhost_server_path="rel/x.sock")
    text = "; ".join(problems)
    for part in ("rxq_affinity.2: queue id 2 is not below n_rxq (2)", "queue id 'x' is not an integer", "n_txq_desc: 100 is not a power of two",
                 "mtu_request: 10000 is outside", "vhost_server_path: 'rel/x.sock' must be an absolute"):
        assert part in text, text


def test_rendered_needs_no_host():
    result = converge(op.OvsPortResource(), {"state": "rendered", "config": [
        {"name": "b0", "bridge": "br0", "interfaces": [{"name": "a", "devargs": "net_null1"}, {"name": "b", "devargs": "net_null2"}]}]}, False)
    assert result["rendered"][0]["commands"][0].startswith("ovs-vsctl add-bond br0 b0 a b -- set Port b0")


def _snapshot():
    snapshot = ovsdb.empty_snapshot()
    snapshot["ovs"].update(dpdk_initialized=True, other_config={"pmd-cpu-mask": "0x6"})
    snapshot["bridges"] = {"br0": {"datapath_type": "netdev", "ports": ["br0", "p0"]}, "brs": {"datapath_type": "system", "ports": []}}
    snapshot["ports"]["p0"] = {"uuid": "u1", "bridge": "br0", "interfaces": ["p0"], "tag": None, "trunks": [], "vlan_mode": None,
                               "bond_mode": None, "lacp": None, "qos": None, "external_ids": {op.OVS_OWNER_KEY: "ovs_dpdk_port"},
                               "other_config": {}}
    snapshot["interfaces"]["p0"] = {"type": "dpdk", "options": {"dpdk-devargs": "net_null0", "n_rxq": "2"}, "mtu": 1500, "mtu_request": None,
                                    "ofport": 1, "ofport_request": None, "error": None, "ingress_policing_rate": 0,
                                    "ingress_policing_burst": 0, "external_ids": {}, "other_config": {}, "status": {}}
    return snapshot


def test_update_plans_cells_and_their_undo():
    snapshot = _snapshot()
    cur = op.model_from_rows("p0", snapshot)
    assert cur.n_rxq == 2 and cur.devargs == "net_null0"
    want, _problems = _model(name="p0", bridge="br0", devargs="net_null0", mtu_request=9000, rxq_affinity={0: 1})
    txn = ovsdb.Transaction()
    op.plan_port(txn, "ovs_dpdk_port", cur, want, snapshot)
    assert ["set", "Interface", "p0", "mtu_request=9000", 'other_config:pmd-rxq-affinity="0:1"'] in txn.commands
    assert ["remove", "Interface", "p0", "options", "n_rxq"] in txn.commands
    assert ["clear", "Interface", "p0", "mtu_request"] in txn.undo and ["set", "Interface", "p0", 'options:n_rxq="2"'] in txn.undo
    assert ["remove", "Interface", "p0", "other_config", "pmd-rxq-affinity"] in txn.undo
    assert txn.expect == [("p0", 9000, True, None)]


def test_partial_items_are_checked_on_the_completed_port():
    """A partial merged item says nothing about type or n_rxq: the host's values decide."""
    for item in ({"name": "p0", "rxq_affinity": {1: 1}}, {"name": "vh0", "vhost_server_path": "/run/vhost/vh0.sock"},
                 {"name": "b0", "lacp": "active"}, {"name": "p0", "n_rxq": 1}):
        assert _model(**item)[1] == [], item
    snapshot = _snapshot()                      # p0: dpdk, n_rxq 2
    cur = op.model_from_rows("p0", snapshot)
    problems = Problems()
    m.validate_desired(problems, "config[0]", overlay(cur, _model(name="p0", rxq_affinity={1: 1})[0]))
    assert problems.items == []
    # merged n_rxq 1 while the host keeps the affinity of queue 1
    cur.rxq_affinity = {1: 1}
    m.validate_desired(problems, "config[0]", overlay(cur, _model(name="p0", n_rxq=1)[0]))
    assert problems.items == ["config[0].rxq_affinity.1: queue id 1 is not below n_rxq (1); queues are 0..0"]
    problems = Problems()
    m.validate_desired(problems, "config[0]", overlay(cur, _model(name="p0", lacp="active", vhost_server_path="/run/x.sock")[0]))
    text = "; ".join(problems.items)
    assert "config[0].lacp: applies to a bond only" in text
    assert "config[0].vhost_server_path: applies to type dpdkvhostuserclient only (this port's type is dpdk" in text
    # both fields given: checked at once, before the host is read
    assert "config[0].vhost_server_path: applies to type dpdkvhostuserclient only" in "; ".join(
        _model(name="p0", type="dpdk", vhost_server_path="/run/x.sock")[1])
    with pytest.raises(ValidationError, match="vhost_server_path: is required for type dpdkvhostuserclient"):
        converge(op.OvsPortResource(), {"state": "rendered", "config": [{"name": "v", "bridge": "br0", "type": "dpdkvhostuserclient"}]}, False)


def test_map_columns_are_managed_key_by_key():
    snapshot = _snapshot()
    snapshot["interfaces"]["p0"]["external_ids"] = {"iface-id": "a", "ovn-installed": "true", "ovn-installed-ts": "17"}
    snapshot["interfaces"]["p0"]["other_config"] = {"foreign": "1"}
    cur = op.model_from_rows("p0", snapshot)
    want = overlay(cur, _model(name="p0", external_ids={"iface-id": "b", "old": None}, other_config={"x:y": "1"})[0])
    txn = ovsdb.Transaction()
    op.plan_port(txn, "ovs_dpdk_port", cur, want, snapshot)
    assert txn.commands == [["set", "Interface", "p0", "external_ids:iface-id=b", 'other_config:"x:y"="1"']], txn.commands
    assert ["remove", "Interface", "p0", "other_config", '"x:y"'] in txn.undo
    # replaced without the maps: keys set by others stay
    txn = ovsdb.Transaction()
    want = op.OvsPortResource().complete(m.OvsDpdkPort(name="p0", bridge="br0", devargs="net_null0", n_rxq=2), snapshot)
    op.plan_port(txn, "ovs_dpdk_port", cur, want, snapshot)
    assert txn.commands == []


def test_ofport_request_taken_by_an_assigned_port():
    snapshot = _snapshot()                      # p0 on br0 holds ofport 1
    problems = Problems()
    want, _problems = _model(name="p1", bridge="br0", devargs="net_null1", ofport_request=1)
    op.host_problems(problems, "config[0]", want, snapshot, "ovs_dpdk_port", False, [])
    assert problems.items == ["config[0].ofport_request: 1 is already the OpenFlow port of OVS interface p0 on bridge br0; "
                              "request a free number (taken there: 1)"]


def test_host_checks():
    snapshot = _snapshot()
    problems = Problems()
    warnings = []
    want, _problems = _model(name="p1", bridge="brs", devargs="net_null0", rxq_affinity={0: 0})
    op.host_problems(problems, "config[0]", want, snapshot, "ovs_dpdk_port", False, warnings)
    text = "; ".join(problems.items)
    assert "bridge brs has datapath_type system" in text
    assert "core 0 is not in pmd-cpu-mask 0x6" in text
    assert "device net_null0 is already used by OVS interface p0" in text
    snapshot["ovs"]["dpdk_initialized"] = False
    assert "DPDK is not initialised" in op.dpdk_problem(snapshot)


def test_conflict_with_non_dpdk_port():
    snapshot = _snapshot()
    snapshot["ports"]["br0"] = dict(snapshot["ports"]["p0"], external_ids={}, interfaces=["br0"])
    snapshot["interfaces"]["br0"] = dict(snapshot["interfaces"]["p0"], type="internal")
    assert "is not a DPDK port (interface type internal" in op.conflict(snapshot, m.OvsDpdkPort(name="br0"), True, "ovs_dpdk_port")


def test_validation_error_changes_nothing():
    with pytest.raises(ValidationError):
        converge(op.OvsPortResource(), {"state": "merged", "config": [{"name": "p", "devargs": "bogus"}]}, False)


def test_vhost_socket_directories_created_and_undone_exactly(tmp_path):
    """make_dirs creates every missing level owned by the user; undo removes exactly those."""
    existing = tmp_path / "sock"
    existing.mkdir()
    target = existing / "vm1" / "nic0"
    created = vhostuser.make_dirs(str(target), os.getuid())
    assert created == [str(existing / "vm1"), str(target)]
    assert all(os.stat(p).st_mode & 0o777 == 0o750 for p in created)
    assert vhostuser.make_dirs(str(target), os.getuid()) == []   # already there: nothing of ours
    vhostuser.remove_dirs(created)
    assert not (existing / "vm1").exists() and existing.is_dir()
