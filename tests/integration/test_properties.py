# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based tests of bad input (issue 10, item 3; issue 13): hypothesis generates invalid
configs, each must fail naming the exact field and change nothing; valid random configs must
apply, be idempotent and leave nothing behind when deleted.

Every case runs as a real run does (see props_worker.py): the module's main() in a worker
process inside a network namespace, so Ansible's own argument-spec checks and the engine both
run. Per module the tests print, and write to <tmp>/props-<module>.json, how many cases were
generated, rejected naming the exact path, rejected naming the field only the way Ansible's
own checks do (no list index), rejected with a wrong or missing path, accepted, crashed, and
how many changed the namespace; plus one example of each distinct failure class.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, Phase, given, settings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import props_cases as pc  # noqa: E402  pylint: disable=wrong-import-position
import props_worker  # noqa: E402  pylint: disable=wrong-import-position
import iommu_tree  # noqa: E402  pylint: disable=wrong-import-position
from netns import Netns  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.hypervisor.networking.plugins.module_utils import persist  # noqa: E402
from ansible_collections.hypervisor.networking.plugins.modules import (  # noqa: E402
    hugepages, ovs_dpdk_bridge, ovs_dpdk_global, ovs_dpdk_port, pci_driver, sriov_pool, vm_interface, vm_network)

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "props_worker.py")
INVALID_EXAMPLES = int(os.environ.get("HV_PROPS_INVALID", "1600"))  # hypothesis repeats some: 1,100 to 1,250 are distinct
INVALID_GOAL = int(os.environ.get("HV_PROPS_INVALID_GOAL", "1000"))
VALID_EXAMPLES = int(os.environ.get("HV_PROPS_VALID", "40"))
# pytest keeps only the last few tmp dirs, and other runs on the machine rotate them: a copy goes here when set
REPORT_DIR = os.environ.get("HV_PROPS_REPORT_DIR")
CASE_TIMEOUT = 120
SPECS = {"vm_network": vm_network.CONFIG_SPEC, "vm_interface": vm_interface.CONFIG_SPEC, "ovs_dpdk_port": ovs_dpdk_port.CONFIG_SPEC,
         "ovs_dpdk_bridge": ovs_dpdk_bridge.CONFIG_SPEC, "ovs_dpdk_global": ovs_dpdk_global.CONFIG_SPEC,
         "hugepages": hugepages.CONFIG_SPEC, "pci_driver": pci_driver.CONFIG_SPEC, "sriov_pool": sriov_pool.CONFIG_SPEC,
         "vm_network_libvirt": vm_network.CONFIG_SPEC,
         # iommu_info has no config: its own options are what the cases put faults in
         "iommu_info": {"devices": {"type": "list", "elements": "str"}, "kernel_args": {"type": "list", "elements": "str"},
                        "modules": {"type": "list", "elements": "str"}}}
# a set of cases of its own for one way of calling a module: vm_network with backend libvirt, state rendered
MODULE_UNDER_TEST = {"vm_network_libvirt": "vm_network"}
OVS_MODULES = ("ovs_dpdk_port", "vm_interface", "ovs_dpdk_bridge", "ovs_dpdk_global")
SYSFS_MODULES = ("hugepages", "pci_driver", "sriov_pool")
# the emulated host of the sysfs modules (tests/sysfs_emulator.py): 2 MiB and 1 GiB pools, three NICs on their
# kernel driver, one carrying the management interface eth0 (under bond0 and br-mgmt), and an SR-IOV PF (enp3s0f0, 8 VFs)
EMULATED_SYSFS = {"pools": {2048: 0, 1048576: 0}, "capacity": {2048: 600, 1048576: 4},
                  "devices": {"0000:01:00.0": {"driver": "ixgbe", "netdevs": ["eth1"]}, "0000:01:00.1": {"driver": "ixgbe"},
                              "0000:02:00.0": {"driver": "ixgbe", "netdevs": ["eth0"]},
                              "0000:03:00.0": {"driver": "ice", "netdevs": ["enp3s0f0"], "sriov": {"total": 8}}},
                  "drivers": ["ixgbe", "vfio-pci", "uio_pci_generic", "ice", "iavf"], "uppers": {"eth0": ["bond0"], "bond0": ["br-mgmt"]}}
HYPOTHESIS = dict(derandomize=True, deadline=None, database=None, phases=[Phase.generate], print_blob=False,
                  suppress_health_check=list(HealthCheck))


class Worker:
    """props_worker.py inside namespace `ns`; one JSON line per request and per answer."""

    def __init__(self, ns, log_path):
        self.ns = ns
        self.log = open(log_path, "w", encoding="utf-8")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns.name, sys.executable, WORKER],  # pylint: disable=consider-using-with
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
        ready = self._read()
        assert ready.get("ready") == ns.name, ready

    def _read(self):
        ready, _w, _x = select.select([self.proc.stdout], [], [], CASE_TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            raise AssertionError("props_worker gave no answer within %d s (exit %s); see %s" % (CASE_TIMEOUT, self.proc.poll(), self.log.name))
        return json.loads(line)

    def ask(self, request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def call(self, module, args, check_mode=False, fingerprint=True):
        return self.ask({"op": "call", "module": MODULE_UNDER_TEST.get(module, module), "args": args, "check_mode": check_mode,
                         "fingerprint": fingerprint})

    def dump(self):
        return self.ask({"op": "dump"})["dump"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


def remove_state(ns_name):
    """The collection keeps state per namespace outside it: remove what this test's namespace left."""
    for top in props_worker.state_dirs(ns_name):
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(name="props_ns")
def fixture_props_ns():
    ns = Netns.create("props")
    try:
        yield ns
    finally:
        ns.destroy()
        remove_state(ns.name)


@pytest.fixture(name="worker")
def fixture_worker(props_ns, tmp_path):
    worker = Worker(props_ns, tmp_path / "worker.log")
    # always there, so that every dump (and fingerprint) also covers the emulated sysfs tree
    assert worker.ask({"op": "sysfs", "root": str(tmp_path / "sys"), "emulator": EMULATED_SYSFS}) == {"ok": True}
    iommu_tree.build(tmp_path / "iommu")  # what iommu_info reads (module_args points it there); nothing writes it
    try:
        yield worker
    finally:
        worker.close()


# ---- judging one answer ---------------------------------------------------------------------------
def names_exact(msg, path):
    """`path` named, or an element of it (`config[0].dns.hosts[0]` for a fault in config[0].dns.hosts)."""
    return re.search(r"(?<![\w\].-])%s(\[\d+\])?:" % re.escape(path), msg) is not None


def _leaf_names(spec, counts=None):
    counts = {} if counts is None else counts
    for key, option in spec.items():
        counts[key] = counts.get(key, 0) + 1
        if option.get("options"):
            _leaf_names(option["options"], counts)
    return counts


def names_like_ansible(msg, path, name_counts):
    """The field named the way ansible-core's own checks do: option and its parents, no list index."""
    field = pc.unindexed(path)
    if re.search(r"(?<![\w.])%s(?![\w])" % re.escape(field), msg):  # "Unsupported parameters ...: config.dns.forwarderz"
        return True
    parts = field.split(".")
    leaf, context = parts[-1], " -> ".join(parts[:-1])
    if not re.search(r"(?<![\w-])'?%s'?(?![\w-])" % re.escape(leaf), msg):
        return False
    if re.search(r"found in '?%s'?(?!\s*->)" % re.escape(context), msg):
        return True
    return "found in" not in msg and name_counts.get(leaf, 0) == 1


class Tally:
    """Counts per outcome, and one example of each distinct failure class."""

    OUTCOMES = ("rejected_exact_path", "rejected_ansible_path", "rejected_wrong_path", "accepted", "crashed")

    def __init__(self, module):
        self.module = module
        self.counts = {outcome: 0 for outcome in self.OUTCOMES}
        self.counts.update({"generated": 0, "host_changed": 0, "rejected_after_host_read": 0})
        self.classes = {}
        self.seen = set()

    def record(self, case, answer, outcome, host_changed):
        self.counts["generated"] += 1
        self.counts[outcome] += 1
        if host_changed:
            self.counts["host_changed"] += 1
        if outcome.startswith("rejected") and answer.get("stage") == "host":
            self.counts["rejected_after_host_read"] += 1
        late = answer.get("stage") == "host"
        if outcome == "rejected_exact_path" and not host_changed and not late:
            return
        key = "%s | %s | %s%s" % (outcome, case.label, answer.get("stage"), " | HOST CHANGED" if host_changed else "")
        entry = self.classes.setdefault(key, {"count": 0})
        entry["count"] += 1
        if entry["count"] == 1:
            entry.update({"expected_paths": list(case.paths), "config": _short(case.config), "stage": answer.get("stage"),
                          "msg": (answer.get("msg") or "")[:700],
                          "traceback_tail": "\n".join((answer.get("traceback") or "").strip().splitlines()[-3:])})

    def report(self, path):
        document = {"module": self.module, "counts": self.counts, "failure_classes": dict(sorted(self.classes.items()))}
        for target in [path] + ([os.path.join(REPORT_DIR, os.path.basename(path))] if REPORT_DIR else []):
            with open(target, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=2, default=repr)
        lines = ["", "==== %s: invalid configs ====" % self.module]
        lines += ["  %-26s %d" % (key, value) for key, value in self.counts.items()]
        lines.append("  classes to look at (failures, and rejections only after reading the host): %d (details: %s)" % (len(self.classes), path))
        for key, entry in sorted(self.classes.items()):
            lines.append("  - [%d] %s\n      expected %s\n      config %s\n      msg %s%s" % (
                entry["count"], key, entry["expected_paths"], json.dumps(entry["config"], default=repr)[:400], entry["msg"][:300],
                "\n      " + entry["traceback_tail"].replace("\n", "\n      ") if entry["traceback_tail"] else ""))
        print("\n".join(lines))


def _short(value):
    return json.loads(json.dumps(value, default=repr))


def _case_key(config):
    return json.dumps(config, sort_keys=True, default=repr)


def module_args(module, config, tmp_path, state="merged"):
    if module == "iommu_info":  # no config: the case is the module's options; the tree is the worker fixture's
        roots = {name: str(tmp_path / "iommu" / directory) for name, directory in (
            ("sysfs_root", "sys"), ("proc_root", "proc"), ("modules_root", "modules"))}
        return dict(config or {}, **roots)
    args = {"config": config, "state": state}
    if module == "vm_network_libvirt":  # offline: the libvirt-only fields are checked and rendered to XML, nothing is applied
        args.update(backend="libvirt", state="rendered")
    if module in OVS_MODULES:
        # no OVS here: a case that got past validation fails to connect instead of touching any OVS
        args["database"] = "unix:%s/no-ovs/db.sock" % tmp_path
    if module in ("ovs_dpdk_port", "vm_interface"):
        args["vhost_socket_dir"] = str(tmp_path / "no-ovs")
    if module in SYSFS_MODULES:
        args["sysfs_root"] = str(tmp_path / "sys")  # the emulated tree of the worker fixture, never /sys
    if module == "sriov_pool":
        args["timeout"] = 5
    if module == "pci_driver":
        args["protected_interfaces"] = ["eth0"]
    return args


# ---- invalid configs ------------------------------------------------------------------------------
@pytest.mark.parametrize("module", ["vm_network", "vm_interface", "ovs_dpdk_port", "ovs_dpdk_bridge", "ovs_dpdk_global",
                                    "hugepages", "pci_driver", "sriov_pool", "vm_network_libvirt", "iommu_info"])
def test_invalid_configs_fail_naming_the_field_and_change_nothing(module, worker, tmp_path):
    """The OVS modules run without OVS (validation comes before reading OVSDB); hugepages and pci_driver run
    against the worker's emulated sysfs tree (tests/sysfs_emulator.py, never /sys), which must stay unchanged
    (it is part of every dump and fingerprint); sriov_pool against the SR-IOV PF of that tree (its VF table and
    eswitch mode are in the dump too); vm_network_libvirt is vm_network with backend libvirt in state rendered
    (the libvirt-only fields); iommu_info against the read-only tree of tests/iommu_tree.py, its options
    (devices, modules, kernel_args) taking the place of config."""
    cases = pc.MODULE_CASES[module]
    spec = SPECS[module]
    single = cases.get("single", False) or "strategy" in cases
    # the bases must be valid, or a rejection would prove nothing about the fault put in
    for base in cases["bases"]:
        answer = worker.call(module, module_args(module, base if single else [base], tmp_path, state="rendered"), fingerprint=False)
        assert answer["outcome"] == "ok", (base, answer)

    before = worker.dump()
    baseline = worker.call(module, module_args(module, {} if single else [], tmp_path, state="gathered"))["fingerprint"]
    strategy = cases["strategy"]() if "strategy" in cases else pc.one_fault(
        cases["bases"], spec, cases["values"], cases["contradictions"], cases["free_text"], single)
    tally = Tally(module)
    name_counts = _leaf_names(spec)
    started = time.monotonic()

    # a module with few fields makes more repeats: it draws more examples for as many distinct cases
    @settings(max_examples=int(INVALID_EXAMPLES * cases.get("example_factor", 1)), **HYPOTHESIS)
    @given(case=strategy)
    def run(case):
        nonlocal baseline
        key = _case_key(case.config)
        if key in tally.seen:
            return
        tally.seen.add(key)
        answer = worker.call(module, module_args(module, case.config, tmp_path),
                             fingerprint=len(tally.seen) % cases.get("fingerprint_every", 1) == 0)
        if answer["outcome"] == "crash":
            outcome = "crashed"
        elif answer["outcome"] == "ok":
            outcome = "accepted"
        elif any(names_exact(answer["msg"], path) for path in case.paths):
            outcome = "rejected_exact_path"
        elif any(names_like_ansible(answer["msg"], path, name_counts) for path in case.paths):
            outcome = "rejected_ansible_path"
        else:
            outcome = "rejected_wrong_path"
        host_changed = answer.get("fingerprint", baseline) != baseline
        tally.record(case, answer, outcome, host_changed)
        if host_changed:
            # put the namespace back so that the next cases are judged on their own
            baseline = worker.call(module, module_args(module, [], tmp_path, state="deleted"))["fingerprint"]

    run()
    took = time.monotonic() - started
    tally.report(str(tmp_path / ("props-%s.json" % module)))
    print("  took %.1f s" % took)
    after = worker.dump()
    counts = tally.counts
    assert after == before, "the namespace changed during the batch of invalid configs"
    assert counts["generated"] >= INVALID_GOAL, counts
    assert counts["host_changed"] == 0, tally.classes
    if cases.get("fingerprint_every", 1) > 1:  # sampled dumps hold only for calls that never open the host's backend
        assert counts["rejected_after_host_read"] == 0, tally.classes
    assert counts["crashed"] == 0 and counts["accepted"] == 0 and counts["rejected_wrong_path"] == 0, \
        "see the failure classes printed above (pytest -s) and in %s" % (tmp_path / ("props-%s.json" % module))


# ---- valid configs --------------------------------------------------------------------------------
def dump_difference(before, after):
    """What differs, down to the fields of one link or file."""
    difference = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
            difference[key] = [{field: (a.get(field), b.get(field)) for field in set(a) | set(b) if a.get(field) != b.get(field)}
                               if isinstance(a, dict) and isinstance(b, dict) else (a, b) for a, b in zip(old, new) if a != b]
        else:
            difference[key] = {"before": old, "after": new}
    return difference


def without_saved_intent(state):
    """The dump without persistence's files (saved intent, restore bundle), which outlive `deleted` by design today
    (issue 10 asks for one layout that a removal can clean up); they are reported, not compared."""
    files = {path: text for path, text in state["files"].items() if not path.startswith(SAVED_INTENT_DIR)}
    return dict(state, files=files)


SAVED_INTENT_DIR = persist.PERSISTENT_ROOT + "/"  # saved intent and restore bundles


def run_valid(module, worker, strategy, tmp_path, examples=VALID_EXAMPLES, explicit=()):
    """Apply, re-apply (changed false), delete (namespace as before) for each generated config,
    and for the `explicit` ones (cases that once failed)."""
    baseline = without_saved_intent(worker.dump())
    failures = []
    done = []
    leftovers = set()
    started = time.monotonic()

    def check(item):
        nonlocal baseline
        if len(failures) >= 5:
            return  # enough to show what is wrong
        done.append(item)
        steps = [("apply", "merged", [item], True), ("again", "merged", [item], False), ("delete", "deleted", [{"name": item["name"]}], None)]
        for step, state, config, changed in steps:
            answer = worker.call(module, module_args(module, config, tmp_path, state=state), fingerprint=False)
            if answer["outcome"] != "ok" or (changed is not None and answer.get("changed") is not changed):
                failures.append({"item": item, "step": step, "answer": answer})
                worker.call(module, module_args(module, [], tmp_path, state="deleted"), fingerprint=False)
                baseline = without_saved_intent(worker.dump())
                return
            if step == "apply":  # the kernel's word, not the module's
                link = (item.get("bridge") or {}).get("name") if module == "vm_network" else None
                names = [entry["ifname"] for entry in worker.dump()["links_and_addresses"]]
                if (link or item["name"]) not in names:
                    failures.append({"item": item, "step": step, "problem": "no link %s after apply" % (link or item["name"])})
        after = without_saved_intent(worker.dump())
        if after != baseline:
            difference = dump_difference(baseline, after)
            # what one case left stays until another case's deletion happens to remove it: report each leftover once
            if json.dumps(difference, sort_keys=True, default=repr) not in leftovers:
                leftovers.add(json.dumps(difference, sort_keys=True, default=repr))
                failures.append({"item": item, "step": "left behind", "difference": difference})

    @settings(max_examples=examples, **HYPOTHESIS)
    @given(item=strategy)
    def run(item):
        check(item)

    for item in explicit:
        check(item)
    run()
    left = sorted(path for path in worker.dump()["files"] if path.startswith(SAVED_INTENT_DIR))
    print("\n  persistence files left after deleting everything: %d (%s ...)" % (len(left), ", ".join(left[:3])))
    print("\n==== %s: valid configs: %d applied, re-applied and deleted in %.1f s; %d failed ====" % (
        module, len(done), time.monotonic() - started, len(failures)))
    for failure in failures:
        print(json.dumps(failure, default=repr)[:1500])
    assert not failures, failures[0]


def test_valid_networks_apply_are_idempotent_and_delete_cleanly(worker, tmp_path):
    # an isolated network with a domain runs dnsmasq without nftables: its deletion once left
    # an empty /run/hypervisor-networking/<namespace> behind
    isolated_with_domain = {"name": "hvpiso", "ips": [{"address": "198.51.100.193", "prefix": 26}], "domain": {"name": "p.test"}}
    run_valid("vm_network", worker, pc.valid_network(), tmp_path, explicit=[isolated_with_domain])


def test_valid_interfaces_apply_are_idempotent_and_delete_cleanly(props_ns, worker, tmp_path):
    props_ns.run("ip", "link", "add", "lower0", "type", "veth", "peer", "name", "lower0p")  # no dummy module on every kernel
    props_ns.run("ip", "link", "set", "lower0", "up")
    # no link-local address: it would appear with the first port and stay, a kernel change that is not ours
    props_ns.run("ip", "link", "add", "brp0", "type", "bridge", "stp_state", "0")
    props_ns.run("ip", "link", "set", "brp0", "addrgenmode", "none")
    props_ns.run("ip", "link", "set", "brp0", "address", "52:54:00:ff:ff:01")  # else it takes the lowest port's MAC
    props_ns.run("ip", "link", "set", "brp0", "up")
    run_valid("vm_interface", worker, pc.valid_interface("lower0", "brp0"), tmp_path)


# ---- valid configs of the sysfs modules (emulated sysfs) -------------------------------------------
SRIOV_PF = "bus/pci/devices/0000:03:00.0"


def sriov_state(tree, sriov):
    """The emulated PF as the kernel holds it: VF count, each VF's driver, VF 0's MAC and VLAN, the eswitch mode."""
    count = int(tree[SRIOV_PF + "/sriov_numvfs"])
    drivers = [tree["bus/pci/devices/%s/driver" % tree["%s/virtfn%d" % (SRIOV_PF, index)].rsplit("/", 1)[-1]].rsplit("/", 1)[-1]
               for index in range(count)]
    first = sriov["vf_table"]["enp3s0f0"][0] if count else {}
    return count, drivers, first.get("mac"), first.get("vlan"), sriov["eswitch"]["0000:03:00.0"]


def sriov_expected(item):
    """What sriov_state() must hold after `item` is applied to the fresh PF (VF driver iavf, eswitch legacy)."""
    count = item["num_vfs"]
    drivers = [item.get("driver", "iavf")] * count
    for group in item.get("vf_groups", []):
        first, last = (int(number) for number in group["range"].split("-"))
        drivers[first:last + 1] = [group["driver"]] * (last - first + 1)
    vf0 = (item.get("vfs") or [{}])[0]
    defaults = item.get("vf_defaults", {})
    return count, drivers, vf0.get("mac", "00:00:00:00:00:00"), vf0.get("vlan", defaults.get("vlan", 0)), item.get("eswitch_mode", "legacy")


SYSFS_VALID_EXAMPLES = int(os.environ.get("HV_PROPS_VALID_SYSFS", "15"))


@pytest.mark.parametrize("module", SYSFS_MODULES)
def test_valid_sysfs_configs_apply_are_idempotent_and_undo_cleanly(module, worker, tmp_path):
    """Against the worker's EMULATED sysfs tree (tests/sysfs_emulator.py stands in for the kernel; /sys is never
    written): apply, re-apply (changed false), undo; the tree and the namespace are as before. A hugepage pool
    cannot be deleted (the module refuses it), so it is undone by setting its count back to 0; a binding is
    deleted (persist: true, as ownership of a binding is its saved state), which gives the NIC back to ixgbe; an SR-IOV pool
    is deleted (allow_vf_reset: its VFs may be bound to vfio-pci), which removes its VFs and udev rule."""
    strategy = {"hugepages": pc.valid_hugepages, "pci_driver": pc.valid_pci_binding, "sriov_pool": pc.valid_sriov_pool}[module]()
    baseline = without_saved_intent(worker.dump())
    failures, done = [], []

    def clean_up():
        """So that the next cases start from the fresh emulated host, as far as the module can undo."""
        undo_all = {"hugepages": [dict(size=size, count=0) for size in ("2M", "1G")], "pci_driver": [],
                    "sriov_pool": [{"pf": "enp3s0f0", "allow_vf_reset": True}]}[module]
        worker.call(module, dict(module_args(module, undo_all, tmp_path, state="merged" if module == "hugepages" else "deleted"),
                                 persist=True), fingerprint=False)

    @settings(max_examples=SYSFS_VALID_EXAMPLES, **HYPOTHESIS)
    @given(item=strategy)
    def run(item):
        done.append(item)
        if module == "hugepages":
            undo = ("merged", [dict(item, count=0)])
        elif module == "pci_driver":
            undo = ("deleted", [{"address": item["address"]}])
        else:
            undo = ("deleted", [dict({key: item[key] for key in ("pf", "pci_address") if key in item}, allow_vf_reset=True)])
        for step, state, config, changed in (("apply", "merged", [item], True), ("again", "merged", [item], False),
                                             ("undo", undo[0], undo[1], True)):
            args = dict(module_args(module, config, tmp_path, state=state), persist=True)
            answer = worker.call(module, args, fingerprint=False)
            if answer["outcome"] != "ok" or answer.get("changed") is not changed:
                failures.append({"item": item, "step": step, "answer": answer})
                clean_up()
                return
            if step == "apply":  # the emulated kernel's word, not the module's
                state_now = worker.dump()
                tree = state_now["sysfs"]
                if module == "hugepages":
                    kb = {"2M": 2048, "2048kB": 2048, "2m": 2048}.get(item["size"], 1048576)
                    got = tree["kernel/mm/hugepages/hugepages-%dkB/nr_hugepages" % kb]
                    expected = str(item["count"])
                elif module == "sriov_pool":
                    got, expected = sriov_state(tree, state_now["sriov"]), sriov_expected(item)
                else:
                    address = item["address"] if item["address"].startswith("0000:") else "0000:" + item["address"]
                    got = tree["bus/pci/devices/%s/driver" % address]
                    expected = "-> ../../../bus/pci/drivers/" + item["driver"]
                if got != expected:
                    failures.append({"item": item, "step": step, "problem": "sysfs holds %r, not %r" % (got, expected)})
                    clean_up()
                    return
        after = without_saved_intent(worker.dump())
        if after != baseline:
            failures.append({"item": item, "step": "left behind", "difference": dump_difference(baseline, after)})

    run()
    print("\n==== %s: valid configs (emulated sysfs): %d applied, re-applied and undone; %d failed ====" % (
        module, len(done), len(failures)))
    for failure in failures:
        print(json.dumps(failure, default=repr)[:1500])
    assert not failures, failures[0]
