# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fleet: 20 namespace "hosts" converged by one `ansible-playbook` run with forks.

Each host is a network namespace reached as AWX reaches a hypervisor, through its own inventory
entry (`ansible_connection=local`, `ansible_python_interpreter` = a wrapper that runs Python inside
the namespace). The shipped playbook `hypervisor.networking.bridge_host` applies the bridge role,
with per-host variables (an isolated network with IPv4 and IPv6 gateway addresses, two
multi-queue taps).

1. One forked run converges every host. While it runs, a helper holds the lock of the first
   host's namespace: the other 19 hosts finish their `vm_network` task while the first one waits,
   so the lock of one namespace never serializes another (lock.py locks a namespace's links, one
   OVSDB; test_concurrency.py shows one OVSDB is locked for every namespace that uses it).
   Every host's state is then read inside its namespace (`ip -j`, `nft -j`).
2. A second forked run: `changed=0` on every host in the recap; the module processes of different
   namespaces overlapped in time (from timestamps the interpreter wrapper writes, not from a
   timing threshold).
3. The same re-run with `--forks 1`: again `changed=0`, and never two module processes at once;
   its wall time against run 2 is the cost of converging the hosts one after another.
4. Separate `ansible-playbook --limit HOST` runs, one after the other, on HV_FLEET_SEQUENTIAL
   hosts (4 by default, to keep the test short): their mean times the fleet size is the wall time
   of 20 sequential runs, reported beside run 2's.

The figures are printed (`pytest -s`) and written to `<tmp>/fleet.json` (and to
`$HV_FLEET_REPORT_DIR` when set).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position

HOSTS = int(os.environ.get("HV_FLEET_HOSTS", "20"))
SEQUENTIAL = min(HOSTS, int(os.environ.get("HV_FLEET_SEQUENTIAL", "4")))
PLAYBOOK = "hypervisor.networking.bridge_host"
NETWORK_TASK = "Converge the bridges with vm_network"
RUN_TIMEOUT = 300  # seconds one ansible-playbook run may take
WAIT_LIMIT = 120.0  # seconds the test waits for the other hosts while one is locked


def host_vars(index):
    """The bridge role's variables for host `index`: one isolated network, two taps."""
    return {
        "bridge_persist": False,
        "bridge_networks": [{"name": "vmnet", "bridge": "br-vm", "mode": "isolated",
                             "addresses": ["198.51.100.1/24", "2001:db8:%x::1/64" % (index + 1)]}],
        "bridge_vm_interfaces": [
            {"name": "vm%02d-net%d" % (index, nic), "bridge": "br-vm",
             "guest": {"mac": "52:54:00:00:%02x:%02x" % (index, nic), "queues": 2}}
            for nic in range(2)],
    }


def write_wrapper(path, ns, timing_log):
    """An interpreter that runs Python inside `ns` and logs "<ns> <start> <end>" per process."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('#!/bin/sh\nstart=$(date +%%s.%%N)\nip netns exec %s %s "$@"\nrc=$?\n'
                     'echo "%s $start $(date +%%s.%%N)" >> %s\nexit $rc\n'
                     % (ns.name, sys.executable, ns.name, timing_log))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)


def max_overlap(intervals):
    """The largest number of (namespace, start, end) module runs going on at one instant (one host
    runs one task at a time, so runs that overlap are runs of different hosts)."""
    events = sorted([(run[1], 1) for run in intervals] + [(run[2], -1) for run in intervals])
    level = peak = 0
    for event in events:
        level += event[1]
        peak = max(peak, level)
    return peak


class Fleet:
    def __init__(self, netns_factory, ansible_runner, workdir):
        self.runner = ansible_runner
        self.workdir = str(workdir)
        self.timing_log = os.path.join(self.workdir, "module-times.log")
        self.names = ["hv%02d" % index for index in range(HOSTS)]
        self.ns = {}
        inventory = {"hypervisors": {"hosts": {}}}
        for index, name in enumerate(self.names):
            ns = self.ns[name] = netns_factory("fl%02d" % index)
            wrapper = os.path.join(self.workdir, "python-%s" % name)
            write_wrapper(wrapper, ns, self.timing_log)
            inventory["hypervisors"]["hosts"][name] = dict(
                host_vars(index), ansible_connection="local", ansible_python_interpreter=wrapper)
        self.inventory = os.path.join(self.workdir, "inventory.json")
        with open(self.inventory, "w", encoding="utf-8") as handle:
            json.dump(inventory, handle)  # JSON is YAML
        self.counter = 0
        self.started = []

    def start(self, *options):
        """Start ansible-playbook on the fleet; -> (Popen, result file)."""
        self.counter += 1
        results = os.path.join(self.workdir, "run%d.jsonl" % self.counter)
        open(self.timing_log, "w", encoding="utf-8").close()  # pylint: disable=consider-using-with
        argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", self.inventory, *options, PLAYBOOK]
        proc = subprocess.Popen(argv, env=self.runner.env(results), cwd=self.workdir,  # pylint: disable=consider-using-with
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.started.append(proc)
        return proc, results

    def close(self):
        """Stop a run a failed assertion left going (its modules die with the namespaces)."""
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    def run(self, *options):
        """One ansible-playbook run: -> (wall seconds, recap, module intervals by namespace)."""
        began = time.monotonic()
        proc = self.start(*options)[0]
        output = self.finish(proc)
        return time.monotonic() - began, nh.recap(output), self.module_intervals()

    @staticmethod
    def finish(proc):
        output = proc.communicate(timeout=RUN_TIMEOUT)[0]
        assert proc.returncode == 0, output[-6000:]
        return output

    def module_intervals(self):
        intervals = []
        with open(self.timing_log, encoding="utf-8") as handle:
            for line in handle:
                name, start, end = line.split()
                intervals.append((name, float(start), float(end)))
        return intervals


def results_of(path, task):
    """{host: result} of `task` so far in an hv_result file."""
    found = {}
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.readlines()
    except FileNotFoundError:
        return found
    for line in lines:
        if line.endswith("\n"):  # a line being written is read next time
            entry = json.loads(line)
            if entry["task"].split(" : ")[-1] == task:  # "hypervisor.networking.bridge : <task>"
                found[entry["host"]] = entry["result"]
    return found


def assert_converged(ns, index):
    """What the role built for host `index`, read inside its namespace."""
    bridge = ns.link("br-vm")
    assert bridge and bridge["linkinfo"]["info_kind"] == "bridge", bridge
    addresses = {"%s/%s" % (a["local"], a["prefixlen"]) for a in ns.address_info("br-vm") if a.get("scope") == "global"}
    assert addresses == {"198.51.100.1/24", "2001:db8:%x::1/64" % (index + 1)}, (ns.name, addresses)
    for nic in range(2):
        tap = ns.link("vm%02d-net%d" % (index, nic))
        assert tap and tap.get("master") == "br-vm", (ns.name, tap)
        info = tap["linkinfo"]
        assert info["info_kind"] == "tun" and info["info_data"]["type"] == "tap" and info["info_data"]["multi_queue"], info
        assert tap["address"] == "fe:54:00:00:%02x:%02x" % (index, nic), tap["address"]
    ruleset = json.loads(ns.run("nft", "-j", "list", "tables").stdout)["nftables"]
    tables = [item["table"]["name"] for item in ruleset if "table" in item and item["table"]["family"] == "inet"]
    assert tables == ["hvnet_vmnet"], (ns.name, tables)
    # its rules reject forwarding in and out of the isolated bridge
    rules = [item["rule"] for item in json.loads(ns.run("nft", "-j", "list", "table", "inet", "hvnet_vmnet").stdout)["nftables"]
             if "rule" in item]
    assert any("br-vm" in json.dumps(rule) and "reject" in json.dumps(rule) for rule in rules), rules


def test_twenty_hosts_converge_in_parallel_and_lock_apart(netns_factory, ansible_runner, tmp_path):
    fleet = Fleet(netns_factory, ansible_runner, tmp_path)
    try:
        converge_and_measure(fleet, tmp_path)
    finally:
        fleet.close()


def converge_and_measure(fleet, tmp_path):
    first, others = fleet.names[0], fleet.names[1:]
    figures = {"hosts": HOSTS, "forks": HOSTS}

    # 1. converge; the first host's namespace is locked until every other host has built its network
    holder = nh.LockHolder(fleet.ns[first], ("netns", None))
    try:
        began = time.monotonic()
        proc, results = fleet.start("--forks", str(HOSTS))
        deadline = time.monotonic() + WAIT_LIMIT
        while set(results_of(results, NETWORK_TASK)) != set(others):
            assert proc.poll() is None, "the run ended while %s was locked:\n%s" % (first, proc.communicate()[0][-6000:])
            assert time.monotonic() < deadline, "the other hosts did not converge while %s was locked: %s" % (
                first, sorted(results_of(results, NETWORK_TASK)))
            time.sleep(0.2)
        assert holder.holding() and nh.marked_links(fleet.ns[first]) == []
        figures["hosts_done_while_one_was_locked"] = len(others)
    finally:
        holder.release()
    output = fleet.finish(proc)
    figures["first_run_s"] = round(time.monotonic() - began, 1)
    counts = nh.recap(output)
    assert sorted(counts) == fleet.names and all(c[1] > 0 and c[3] == 0 for c in counts.values()), counts
    for index, name in enumerate(fleet.names):
        assert_converged(fleet.ns[name], index)

    # 2. the forked re-run changes nothing, and module processes of different namespaces overlapped
    wall, counts, intervals = fleet.run("--forks", str(HOSTS))
    assert sorted(counts) == fleet.names and all(c[1:] == (0, 0, 0) for c in counts.values()), counts
    assert {run[0] for run in intervals} == {ns.name for ns in fleet.ns.values()}
    overlap = max_overlap(intervals)
    assert overlap >= 2, "module runs of different hosts never overlapped: %s" % intervals
    figures.update(rerun_forked_s=round(wall, 1), rerun_forked_max_concurrent_modules=overlap,
                   module_processes_per_run=len(intervals))

    # 3. the same re-run one host after another: no overlap at all (the measurement itself works)
    wall, counts, intervals = fleet.run("--forks", "1")
    assert all(c[1:] == (0, 0, 0) for c in counts.values()) and len(counts) == HOSTS, counts
    assert max_overlap(intervals) == 1
    figures["rerun_forks1_s"] = round(wall, 1)

    # 4. separate runs one after another, on a few hosts, scaled to the fleet
    walls = []
    for name in fleet.names[:SEQUENTIAL]:
        wall, counts = fleet.run("--limit", name)[:2]
        assert list(counts) == [name] and counts[name][1:] == (0, 0, 0), counts
        walls.append(wall)
    figures["rerun_separate_runs_measured"] = SEQUENTIAL
    figures["rerun_separate_runs_mean_s"] = round(sum(walls) / len(walls), 2)
    figures["rerun_%d_separate_runs_estimated_s" % HOSTS] = round(sum(walls) / len(walls) * HOSTS, 1)
    assert figures["rerun_forked_s"] < figures["rerun_%d_separate_runs_estimated_s" % HOSTS]

    for index, name in enumerate(fleet.names):
        assert_converged(fleet.ns[name], index)
    # lock files exist only while a run holds them: none of the 20 namespaces left one behind
    held = [name for name in os.listdir(nh.RUNTIME_ROOT) if any(ns.name in name for ns in fleet.ns.values())]
    assert held == [], held
    report(figures, tmp_path)


def report(figures, tmp_path):
    text = json.dumps(figures, indent=2, sort_keys=True)
    print("\nfleet figures:\n" + text)
    for directory in (str(tmp_path), os.environ.get("HV_FLEET_REPORT_DIR")):
        if directory:
            os.makedirs(directory, exist_ok=True)
            with open(os.path.join(directory, "fleet.json"), "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
