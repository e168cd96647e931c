# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Valid random ovs_dpdk_port, ovs_dpdk_bridge and ovs_dpdk_global configs against the private OVS-DPDK
(see ../test_properties.py): apply, re-apply unchanged, undo, and OVSDB and the namespace are as before.

30 port cases by default (HV_PROPS_VALID_OVS), about 5 s with net_null vdevs; 12 bridge and 12 global cases
(HV_PROPS_VALID_OVS_SMALL). The invalid configs of these modules need no OVS: they are refused before OVSDB is
read (../test_properties.py checks that too).
"""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import given, settings

from ansible_collections.hypervisor.networking.plugins.module_utils.model.base import to_config
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.ovs_global import model_from_row

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import props_cases as pc  # noqa: E402  pylint: disable=wrong-import-position
import test_properties as tp  # noqa: E402  pylint: disable=wrong-import-position
import ovs_dpdk  # noqa: E402  pylint: disable=wrong-import-position

EXAMPLES = int(os.environ.get("HV_PROPS_VALID_OVS", "30"))
SMALL_EXAMPLES = int(os.environ.get("HV_PROPS_VALID_OVS_SMALL", "12"))
BRIDGE = "br0"


def _ovsdb(ovs):
    """What the collection could leave in OVSDB: ports of the bridge and interfaces."""
    return {"ports": ovs.vsctl("list-ports", BRIDGE).split(),
            "interfaces": sorted(ovs.vsctl("--bare", "--columns=name", "list", "Interface").split())}


def test_valid_ovs_ports_apply_are_idempotent_and_delete_cleanly(ovs, tmp_path):
    ovs.vsctl("add-br", BRIDGE, "--", "set", "Bridge", BRIDGE, "datapath_type=netdev")
    worker = tp.Worker(ovs.ns, tmp_path / "worker.log")
    failures, done = [], []
    try:
        before = (tp.without_saved_intent(worker.dump()), _ovsdb(ovs))

        @settings(max_examples=EXAMPLES, **tp.HYPOTHESIS)
        @given(item=pc.valid_ovs_port(BRIDGE, ovs.sockdir))
        def run(item):
            done.append(item)
            for step, state, config, changed in (("apply", "merged", [item], True), ("again", "merged", [item], False),
                                                 ("delete", "deleted", [{"name": item["name"]}], None)):
                args = {"config": config, "state": state, "database": ovs.database, "vhost_socket_dir": ovs.sockdir}
                answer = worker.call("ovs_dpdk_port", args, fingerprint=False)
                if answer["outcome"] != "ok" or (changed is not None and answer.get("changed") is not changed):
                    failures.append({"item": item, "step": step, "answer": answer})
                    return
                if step == "apply" and item["name"] not in _ovsdb(ovs)["ports"]:
                    failures.append({"item": item, "step": step, "problem": "not in OVSDB after apply", "answer": answer})
                    return
            after = (tp.without_saved_intent(worker.dump()), _ovsdb(ovs))
            if after != before:
                failures.append({"item": item, "step": "left behind", "difference": tp.dump_difference(before[0], after[0]),
                                 "ovsdb": (before[1], after[1])})

        run()
    finally:
        worker.close()
        tp.remove_state(ovs.ns.name)
    print("\n==== ovs_dpdk_port: valid configs: %d applied, re-applied and deleted; %d failed ====" % (len(done), len(failures)))
    for failure in failures:
        print(str(failure)[:1500])
    assert not failures, failures[0]


def _run_valid(module, worker, strategy, steps_of, check_applied, snapshot):
    """apply, again (changed false), undo for each generated config; `snapshot()` must be as before afterwards."""
    failures, done = [], []
    before = snapshot()

    @settings(max_examples=SMALL_EXAMPLES, **tp.HYPOTHESIS)
    @given(item=strategy)
    def run(item):
        done.append(item)
        for step, args, changed in steps_of(item):
            answer = worker.call(module, args, fingerprint=False)
            if answer["outcome"] != "ok" or (changed is not None and answer.get("changed") is not changed):
                failures.append({"item": item, "step": step, "answer": answer})
                return
            problem = check_applied(item) if step == "apply" else None
            if problem:
                failures.append({"item": item, "step": step, "problem": problem})
                return
        after = snapshot()
        if after != before:
            failures.append({"item": item, "step": "left behind", "before": before, "after": after})

    run()
    print("\n==== %s: valid configs: %d applied, re-applied and undone; %d failed ====" % (module, len(done), len(failures)))
    for failure in failures:
        print(str(failure)[:1500])
    assert not failures, failures[0]


def test_valid_ovs_bridges_apply_are_idempotent_and_delete_cleanly(ovs, tmp_path):
    worker = tp.Worker(ovs.ns, tmp_path / "worker.log")

    def steps_of(item):
        args = {"database": ovs.database}
        return [("apply", dict(args, config=[item], state="merged"), True), ("again", dict(args, config=[item], state="merged"), False),
                ("delete", dict(args, config=[{"name": item["name"]}], state="deleted"), True)]

    def check_applied(item):
        row = ovs.vsctl_json("--columns=name,datapath_type,fail_mode,other_config,external_ids", "list", "Bridge", item["name"])
        row = row[0] if row else {}
        wanted = {"datapath_type": "netdev", "fail_mode": item.get("fail_mode", row.get("fail_mode"))}
        problems = ["%s is %r, not %r" % (key, row.get(key), value) for key, value in wanted.items() if row.get(key) != value]
        for column in ("other_config", "external_ids"):
            for key, value in (item.get(column) or {}).items():
                if (row.get(column) or {}).get(key) != value:
                    problems.append("%s:%s is %r, not %r" % (column, key, (row.get(column) or {}).get(key), value))
        return "; ".join(problems) or None

    try:
        _run_valid("ovs_dpdk_bridge", worker, pc.valid_ovs_bridge(), steps_of, check_applied,
                   lambda: (tp.without_saved_intent(worker.dump()), ovs.dump()))
    finally:
        worker.close()
        tp.remove_state(ovs.ns.name)


def test_valid_ovs_global_settings_apply_are_idempotent_and_restore_cleanly(hv_ns, tmp_path):
    """Against ovsdb-server alone (no ovs-vswitchd): the module writes with --no-wait, and a running ovs-vswitchd
    would act on pmd-cpu-mask and pmd-maxsleep at once (cores this 2-core machine does not have). Undo: the
    settings gathered first, with state replaced, and the other_config keys the case added set to null."""
    reason = ovs_dpdk.missing_requirements()
    if reason:
        pytest.skip("OVS cannot run here: " + reason)
    ovs = ovs_dpdk.OvsDpdk(hv_ns, tmp_path)
    ovs.start(vswitchd=False)
    worker = tp.Worker(ovs.ns, tmp_path / "worker.log")
    try:
        args = {"database": ovs.database}

        def row():
            return ovs.vsctl_json("--columns=other_config,external_ids", "list", "Open_vSwitch")[0]

        start = row()

        def steps_of(item):
            # the fixture's settings as config (what gathered returns), from the row read before the cases
            restore = {key: value for key, value in to_config(model_from_row(start["other_config"])).items() if key != "name"}
            restore["other_config"] = dict({key: None for key in item.get("other_config") or {}},
                                           **(restore.get("other_config") or {}))
            return [("apply", dict(args, config=item, state="merged"), True), ("again", dict(args, config=item, state="merged"), False),
                    ("restore", dict(args, config=restore, state="replaced"), None)]

        def check_applied(item):
            cells = row()["other_config"]
            problems = []
            for key, value in (item.get("other_config") or {}).items():
                if cells.get(key) != value:
                    problems.append("other_config:%s is %r, not %r" % (key, cells.get(key), value))
            if "pmd_maxsleep" in item and cells.get("pmd-maxsleep") != str(item["pmd_maxsleep"]):
                problems.append("pmd-maxsleep is %r, not %s" % (cells.get("pmd-maxsleep"), item["pmd_maxsleep"]))
            if "socket_mem" in item and cells.get("dpdk-socket-mem") != ",".join(str(v) for v in item["socket_mem"]):
                problems.append("dpdk-socket-mem is %r, not %r" % (cells.get("dpdk-socket-mem"), item["socket_mem"]))
            return "; ".join(problems) or None

        _run_valid("ovs_dpdk_global", worker, pc.valid_ovs_global(), steps_of, check_applied,
                   lambda: (tp.without_saved_intent(worker.dump()), row()))
    finally:
        worker.close()
        ovs.stop()
        tp.remove_state(ovs.ns.name)
