# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ovs_dpdk_port without OVS: value checks, host checks on a snapshot, planning and its undo."""

from __future__ import annotations

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import ovsdb
from ansible_collections.hypervisor.networking.plugins.module_utils.engine import converge
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.model import ovs_port as m
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems
from ansible_collections.hypervisor.networking.plugins.module_utils.resource import ovs_port as op


def _model(**item):
    problems = Problems()
    model = m.from_config(item, "config[0]", problems)
    return model, problems.items


@pytest.mark.parametrize("devargs,ok", [
    ("0000:01:00.0", True), ("01:00.1", True), ("net_null0,no-rx=1", True), ("net_af_packet0,iface=eth1", True),
    ("net_tap0", True), ("0000:01:00", False), ("net_null0,no-rx", False), ("null0", False), ("net_null0, x=1", False),
])
def test_devargs(devargs, ok):
    _model_, problems = _model(name="p", devargs=devargs)
    assert (not problems) is ok, problems


def test_pci_address_gets_its_domain():
    model, _problems = _model(name="p", devargs="01:00.1")
    assert model.devargs == "0000:01:00.1"


def test_value_problems_name_every_field():
    _model_, problems = _model(name="p", devargs="net_null0", n_rxq=2, rxq_affinity={"2": 1, "x": 1},
                               n_txq_desc=100, mtu_request=10000, bond_mode="balance-slb", vhost_server_path="rel/x.sock")
    text = "; ".join(problems)
    for part in ("rxq_affinity.2: queue id 2 is not below n_rxq (2)", "queue id 'x' is not an integer", "n_txq_desc: 100 is not a power of two",
                 "mtu_request: 10000 is outside", "bond_mode: applies to a bond only", "vhost_server_path: 'rel/x.sock' must be an absolute"):
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
    assert ["set", "Interface", "p0", "mtu_request=9000", 'other_config={pmd-rxq-affinity="0:1"}'] in txn.commands
    assert ["remove", "Interface", "p0", "options", "n_rxq"] in txn.commands
    assert ["clear", "Interface", "p0", "mtu_request"] in txn.undo and ["set", "Interface", "p0", 'options:n_rxq="2"'] in txn.undo
    assert txn.expect == [("p0", 9000, True)]


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
