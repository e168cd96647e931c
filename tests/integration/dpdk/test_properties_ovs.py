# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Valid random ovs_dpdk_port configs against the private OVS-DPDK (see ../test_properties.py):
apply, re-apply unchanged, delete, and OVSDB and the namespace are as before.

30 cases by default (HV_PROPS_VALID_OVS), about 5 s with net_null vdevs. The invalid ovs_dpdk_port configs need no OVS:
they are refused before the host is read (../test_properties.py checks that too).
"""

from __future__ import annotations

import os
import sys

from hypothesis import given, settings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import props_cases as pc  # noqa: E402  pylint: disable=wrong-import-position
import test_properties as tp  # noqa: E402  pylint: disable=wrong-import-position

EXAMPLES = int(os.environ.get("HV_PROPS_VALID_OVS", "30"))
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
