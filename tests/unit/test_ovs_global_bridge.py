# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ovs_dpdk_global and ovs_dpdk_bridge without OVS: value checks, row parsing, planning and its undo."""

from __future__ import annotations

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import ovsdb
from ansible_collections.hypervisor.networking.plugins.module_utils.engine import converge
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HvnetError, ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.model import ovs_bridge as mb
from ansible_collections.hypervisor.networking.plugins.module_utils.model import ovs_global as mg
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems
from ansible_collections.hypervisor.networking.plugins.module_utils.ownership import OVS_OWNER_KEY
from ansible_collections.hypervisor.networking.plugins.module_utils.plan import Plan
from ansible_collections.hypervisor.networking.plugins.module_utils.resource import ovs_bridge as rb
from ansible_collections.hypervisor.networking.plugins.module_utils.resource import ovs_global as rg


def _global(**item):
    problems = Problems()
    return mg.from_config(item, "config[0]", problems), problems.items


class _Recorder:
    """Stands in for Ovsdb: records the transactions instead of running them."""

    def __init__(self):
        self.pending = ovsdb.Transaction()
        self.committed = []

    def take_pending(self):
        txn, self.pending = self.pending, ovsdb.Transaction()
        return txn

    def commit(self, commands, wait=True):
        self.committed.append((commands, wait))

    def apply(self, txn):
        self.commit(txn.commands)
        txn.committed = True

    undo = commit


# ---- ovs_dpdk_global ----------------------------------------------------------------------------
def test_global_values_and_every_problem_at_once():
    model, problems = _global(dpdk_init=True, lcore_cores=[0], pmd_cores=[2, 1], socket_mem=[1024, 0], pmd_maxsleep=100)
    assert not problems
    assert model.pmd_cores == [1, 2]
    assert mg.cells(model)[("other_config", "pmd-cpu-mask")] == "0x6"
    assert mg.cells(model)[("other_config", "dpdk-socket-mem")] == "1024,0"
    _model, problems = _global(lcore_cores=[1], pmd_cores=[1, 1, 5000], vhost_sock_dir="/abs", hugepage_dir="rel",
                               pmd_maxsleep=20000, dpdk_extra="a\nb", socket_mem=[1024], socket_limit=[512],
                               other_config={"pmd-cpu-mask": "0x1"}, dpdk_init="yes")
    text = "\n".join(problems)
    for expected in ("config[0].pmd_cores[1]: 1 is listed twice", "config[0].pmd_cores[2]: 5000 is outside the allowed range 0..1023",
                     "config[0].pmd_cores: core(s) 1 are also in lcore_cores", "config[0].vhost_sock_dir: '/abs' must be a normalised path relative",
                     "config[0].hugepage_dir: 'rel' must be an absolute", "config[0].pmd_maxsleep: 20000 is outside the allowed range 0..10000",
                     "config[0].dpdk_extra: must not contain control characters", "config[0].socket_limit[0]: 512 MiB is below socket_mem",
                     "config[0].other_config.pmd-cpu-mask: is managed by pmd_cores", "config[0].dpdk_init: must be true or false"):
        assert expected in text, text


def test_global_row_round_trip():
    row = {"dpdk-init": "true", "dpdk-lcore-mask": "0x1", "pmd-cpu-mask": "0x6", "dpdk-socket-mem": "1024,1024",
           "vhost-sock-dir": "vhost", "per-port-memory": "false", "pmd-maxsleep": "50", "emc-insert-inv-prob": "0"}
    model = rg.model_from_row(row)
    assert model.pmd_cores == [1, 2] and model.socket_mem == [1024, 1024] and model.per_port_memory is False
    assert model.other_config == {"emc-insert-inv-prob": "0"}
    assert rg.model_from_row({"emc-insert-inv-prob": "0"}) is None, "no DPDK key: nothing of ours"
    for key, value in row.items():
        assert mg.cells(model)[("other_config", key)] == value


def _ovs_snapshot(other_config, initialised=True):
    snapshot = ovsdb.empty_snapshot()
    snapshot["ovs"].update(dpdk_initialized=initialised, other_config=dict(other_config))
    return snapshot


def test_global_plan_sets_differing_keys_removes_unset_ones_and_says_what_needs_a_restart():
    snapshot = _ovs_snapshot({"dpdk-init": "true", "pmd-cpu-mask": "0x2", "dpdk-socket-limit": "512", "other": "x"})
    model, _problems = _global(dpdk_init=True, pmd_cores=[2], socket_mem=[512])
    backend, plan = _Recorder(), Plan()
    resource = rg.OvsGlobalResource()
    resource.plan_object(plan, backend, None, model, snapshot)
    assert plan.commands == ["ovs-vsctl --no-wait set Open_vSwitch . 'other_config:dpdk-socket-mem=\"512\"' "
                             "'other_config:pmd-cpu-mask=\"0x4\"' -- remove Open_vSwitch . other_config dpdk-socket-limit"]
    plan.actions[0].undo()
    assert backend.committed == [([["set", "Open_vSwitch", ".", 'other_config:dpdk-socket-limit="512"', 'other_config:pmd-cpu-mask="0x2"'],
                                   ["remove", "Open_vSwitch", ".", "other_config", "dpdk-socket-mem"]], False)]
    report = resource.report(snapshot, {}, {mg.NAME: model}, [])
    assert report["restart_required"] and report["restart_reasons"] == ["dpdk-socket-limit changes", "dpdk-socket-mem changes"]
    # pmd-cpu-mask applies at runtime
    runtime, _problems = _global(dpdk_init=True, pmd_cores=[3], socket_limit=[512])
    assert resource.report(snapshot, {}, {mg.NAME: runtime}, [])["restart_required"] is False
    # a DPDK that is not initialised needs the restart even when no key changes
    assert resource.report(_ovs_snapshot({"dpdk-init": "true"}, False), {}, {mg.NAME: _global(dpdk_init=True)[0]}, [])["restart_required"]


def test_global_removal_removes_the_typed_keys_only():
    snapshot = _ovs_snapshot({"dpdk-init": "true", "pmd-cpu-mask": "0x2", "other": "x"})
    plan, resource = Plan(), rg.OvsGlobalResource()
    resource.plan_removal(plan, _Recorder(), None, snapshot)
    assert plan.commands == ["ovs-vsctl --no-wait remove Open_vSwitch . other_config dpdk-init -- remove Open_vSwitch . other_config pmd-cpu-mask"]


def test_global_rendered_needs_no_host():
    result = converge(rg.OvsGlobalResource(), {"state": "rendered", "config": [{"name": mg.NAME, "dpdk_init": True, "pmd_cores": [1]}]}, False)
    assert result["rendered"][0]["commands"] == ["ovs-vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true 'other_config:pmd-cpu-mask=\"0x2\"'"]


# ---- ovs_dpdk_bridge ----------------------------------------------------------------------------
def _bridges(**bridges):
    snapshot = ovsdb.empty_snapshot()
    for name, row in bridges.items():
        snapshot["bridges"][name] = dict({"uuid": "u-" + name, "datapath_type": "netdev", "ports": [name], "fail_mode": None,
                                          "external_ids": {}, "other_config": {}}, **row)
    return snapshot


def test_bridge_values():
    problems = Problems()
    mb.from_config({"name": "a-bridge-name-too-long", "fail_mode": "open", "external_ids": {OVS_OWNER_KEY: "x"}}, "config[0]", problems)
    text = "\n".join(problems.items)
    assert "config[0].name: 'a-bridge-name-too-long' is 22 characters" in text
    assert "config[0].fail_mode: 'open' is not one of: standalone, secure" in text
    assert "config[0].external_ids.hypervisor-networking-owner: is managed by the collection" in text


def test_bridge_create_update_and_their_undo():
    resource, backend = rb.OvsBridgeResource(), _Recorder()
    snapshot = _bridges(br1={"external_ids": {OVS_OWNER_KEY: "ovs_dpdk_bridge"}, "fail_mode": "secure", "other_config": {"k": "v"}})
    plan = Plan()
    resource.plan_object(plan, backend, None, mb.OvsDpdkBridge(name="br0", other_config={"hwaddr": "52:54:00:00:00:01"}), snapshot)
    resource.plan_object(plan, backend, resource.current(snapshot, {})["br1"], mb.OvsDpdkBridge(name="br1", other_config={"k": None}), snapshot)
    resource.finish_plan(plan, backend, snapshot)
    assert plan.commands == [
        "ovs-vsctl add-br br0 -- set Bridge br0 datapath_type=netdev external_ids:hypervisor-networking-owner=ovs_dpdk_bridge "
        "'other_config:hwaddr=\"52:54:00:00:00:01\"' -- clear Bridge br1 fail_mode -- remove Bridge br1 other_config k"]
    plan.actions[0].do()
    backend.committed.clear()
    plan.actions[0].undo()
    # undone in reverse order: br1's settings back, then br0 gone
    assert backend.committed == [([["set", "Bridge", "br1", "fail_mode=secure", "other_config:k=v"], ["--if-exists", "del-br", "br0"]], True)]
    assert len(plan.verifications) == 1, "new bridges are waited for"


def test_bridge_ownership_and_refusals():
    resource = rb.OvsBridgeResource()
    snapshot = _bridges(mine={"external_ids": {OVS_OWNER_KEY: "ovs_dpdk_bridge"}, "ports": ["mine", "p0"]}, hand={},
                        kernel={"datapath_type": "system"})
    assert sorted(resource.current(snapshot, {})) == ["mine"]
    assert sorted(resource.current(snapshot, {}, {"hand", "kernel"})) == ["hand", "mine"], "adopt takes netdev bridges only"
    assert "set adopt: true" in resource.conflict(snapshot, mb.OvsDpdkBridge(name="hand"), False)
    assert resource.conflict(snapshot, mb.OvsDpdkBridge(name="hand"), True) is None
    assert "datapath_type system" in resource.conflict(snapshot, mb.OvsDpdkBridge(name="kernel"), True)
    with pytest.raises(HvnetError, match="OVS bridge mine still has ports p0; remove them first"):
        resource.plan_removal(Plan(), _Recorder(), resource.current(snapshot, {})["mine"], snapshot)


def test_bridge_rendered():
    result = converge(rb.OvsBridgeResource(), {"state": "rendered", "config": [{"name": "br0", "fail_mode": "secure"}]}, False)
    assert result["rendered"][0]["commands"] == [
        "ovs-vsctl add-br br0 -- set Bridge br0 datapath_type=netdev external_ids:hypervisor-networking-owner=ovs_dpdk_bridge fail_mode=secure"]
    with pytest.raises(ValidationError, match=r"config\[1\].name: 'br0' is listed twice"):
        converge(rb.OvsBridgeResource(), {"state": "rendered", "config": [{"name": "br0"}, {"name": "br0"}]}, False)


def test_global_messages_name_config_as_the_dict_it_is():
    # found by tests/integration/test_properties.py: config is one dict, but the engine's messages said config[0].x
    with pytest.raises(ValidationError) as caught:
        converge(rg.OvsGlobalResource(), {"state": "rendered", "config": [{"name": mg.NAME, "pmd_maxsleep": 99999,
                                                                           "dpdk_extra": "a\nb"}]}, False)
    text = str(caught.value)
    assert "config.pmd_maxsleep: 99999 is outside" in text and "config.dpdk_extra: " in text, text
    assert "config[0]" not in text, text


@pytest.mark.parametrize("field, value", [("hugepage_dir", "//dev/hugepages"), ("hugepage_dir", "/dev//hugepages"), ("vhost_sock_dir", "a//b")])
def test_global_directories_with_double_slashes_refused(field, value):
    # found by tests/integration/test_properties.py: normpath keeps a leading '//', so '//a' was accepted
    _model, problems = _global(**{field: value})
    assert any(item.startswith("config[0].%s: " % field) for item in problems), problems
