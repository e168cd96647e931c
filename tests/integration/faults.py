# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault injection and kill -9 for whole plans, shared by test_faults.py and dpdk/test_faults_ovs.py.

``Lab(ns, ovs=None)`` runs the real module in-process inside ``ns`` (fault_driver.py) and dumps
everything a module call may change there:

* ``ip -d -j link``, ``ip -j addr``, ``ip -j route`` (v4 and v6, every table), ``tc -j qdisc``;
* ``nft -j list ruleset``;
* the forwarding sysctls of the namespace;
* OVSDB (Open_vSwitch other_config, Bridge, Port, Interface, QoS with external_ids), with ``ovs``;
* the processes in the namespace (``ip netns pids`` and their command lines);
* every file and directory of the collection that belongs to this namespace: whatever path under
  the collection's roots (/etc, /run, /var/lib, /usr/local/lib hypervisor-networking, systemd
  units) names the namespace, so the test holds whatever the state layout is.

What is normalized, and why:

* running bridge timers and a port's STP state (nethelpers.link_dump): the kernel changes them
  by itself;
* ``tso_max_size`` and ``tso_max_segs`` of bridges: the kernel takes them from the ports and
  keeps them when the last port leaves; no tool can set them back;
* nft ``handle`` numbers and ``metainfo``: nft numbers objects anew each time a table is built;
* OVSDB row UUIDs, replaced by names: a row made again is the same port with a new UUID; the
  status columns (statistics, status, link state) are left out: OVS updates them by itself;
* process ids, also in pid files (command lines are compared): a restarted dnsmasq is the same
  service;
* the expiry time of DHCP leases;
* ``external_ids:hypervisor-networking-txn`` of the ``Open_vSwitch`` row: the collection's own
  marker, set anew by every transaction so that a timed-out ``ovs-vsctl`` can be told committed
  or not;
* interface indexes, only in ``converged`` dumps (compared across runs that each made the bridge
  anew); the rollback comparisons keep them, since there nothing removed is made again.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.hypervisor.networking.plugins.module_utils.backend.ovsdb import TXN_MARK_KEY  # noqa: E402

DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fault_driver.py")
FILE_ROOTS = ("/etc/hypervisor-networking", "/run/hypervisor-networking", "/var/lib/hypervisor-networking",
              "/usr/local/lib/hypervisor-networking", "/etc/systemd/system")
SETTLE = 5.0  # seconds a dump may take to reach the expected state (linkwatch, DAD)
RUN_TIMEOUT = 60


class Lab:
    def __init__(self, ns, workdir, module, base_args, ovs=None):
        self.ns = ns
        self.workdir = str(workdir)
        self.module = module
        self.base_args = dict(base_args)
        self.ovs = ovs
        self.counter = 0
        self.runs = 0

    # ---- running the module -------------------------------------------------------------
    def run(self, args, check=False, fault=None, k=None):
        """(result dict or None when killed, plan info or None, returncode)."""
        self.counter += 1
        self.runs += 1
        request_path = os.path.join(self.workdir, "request-%04d.json" % self.counter)
        plan_file = os.path.join(self.workdir, "plan-%04d.jsonl" % self.counter)
        request = {"module": self.module, "args": dict(self.base_args, **args), "check": check,
                   "fault": fault, "k": k, "plan_file": plan_file}
        with open(request_path, "w", encoding="utf-8") as handle:
            json.dump(request, handle)
        proc = subprocess.run(self.ns.argv(sys.executable, DRIVER, request_path), capture_output=True, text=True,
                              timeout=RUN_TIMEOUT, check=False)
        info = None
        if os.path.exists(plan_file):
            with open(plan_file, encoding="utf-8") as handle:
                lines = [json.loads(line) for line in handle if line.strip()]
            info = lines[0] if lines else None
        result = None
        if proc.stdout.strip():
            try:
                result = json.loads(proc.stdout.strip().splitlines()[-1])
            except ValueError as exc:
                raise AssertionError("driver printed no JSON result (rc %d):\n%s\n%s" % (proc.returncode, proc.stdout, proc.stderr)) from exc
        if result is None and proc.returncode != -9:
            raise AssertionError("driver ended with rc %d and no result:\n%s" % (proc.returncode, proc.stderr[-3000:]))
        return result, info, proc.returncode

    def ok(self, args, check=False):
        result, info, _rc = self.run(args, check=check)
        assert result and not result.get("failed"), "module failed: %s" % (result or {}).get("msg")
        return result, info

    def plan_size(self, args):
        """N: the number of actions of the plan `args` makes on this host (check mode: nothing changes)."""
        result, _info = self.ok(args, check=True)
        return len(result["commands"]), result["commands"]

    # ---- the host ----------------------------------------------------------------------------
    def dump(self):
        ns = self.ns
        state = nh.kernel_state(ns)
        for link in state["links"]:
            if (link.get("linkinfo") or {}).get("info_kind") == "bridge":
                link.pop("tso_max_size", None)  # kept from the last port that left: no tool resets them
                link.pop("tso_max_segs", None)
        state["qdiscs"] = _json(ns.run("tc", "-j", "qdisc", "show").stdout)
        state["nft"] = _nft(ns)
        state["sysctl"] = {key: ns.run("sysctl", "-n", key).stdout.strip()
                           for key in ("net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding")}
        state["processes"] = processes(ns)
        state["files"] = scope_files(ns.name)
        if self.ovs is not None:
            state["ovsdb"] = ovsdb_dump(self.ovs)
        return state

    def converged(self):
        """A dump comparable across runs that each made the objects anew (no interface indexes)."""
        return nh.without_ifindex(self.dump())

    def settled(self, dump=None, quiet=1.0, limit=8.0):
        """A dump once the kernel stopped changing it by itself (IPv6 DAD, carrier), for a reference."""
        dump = dump or self.dump
        state = dump()
        stable_since = time.monotonic()
        deadline = stable_since + limit
        while time.monotonic() < deadline:
            time.sleep(0.25)
            again = dump()
            if again != state:
                state, stable_since = again, time.monotonic()
            elif time.monotonic() - stable_since >= quiet and not nh._dad_running(state):  # pylint: disable=protected-access
                break
        return state

    def expect(self, expected, what, dump=None, settle=SETTLE):
        """The host reaches `expected` within `settle` seconds (the kernel settles carrier, DAD)."""
        dump = dump or self.dump
        deadline = time.monotonic() + settle
        while True:
            got = dump()
            if got == expected:
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.25)
        raise AssertionError("%s:\n%s" % (what, diff(expected, got)))

    def cleanup(self):
        remove_scope_files(self.ns.name)


def _json(text):
    text = text.strip()
    return json.loads(text) if text else []


def _nft(ns):
    document = _json(ns.run("nft", "-j", "list", "ruleset").stdout) or {"nftables": []}
    return [_without(item, "handle") for item in document["nftables"] if "metainfo" not in item]


def _without(value, key):
    if isinstance(value, dict):
        return {k: _without(v, key) for k, v in value.items() if k != key}
    if isinstance(value, list):
        return [_without(v, key) for v in value]
    return value


def processes(ns):
    """Sorted command lines of the processes in `ns` (pids left out)."""
    lines = []
    for pid in ns.pids():
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                lines.append(handle.read().replace(b"\0", b" ").decode(errors="replace").strip())
        except OSError:
            continue  # ended between listing and reading
    return sorted(lines)


def scope_files(name):
    """{path: content or digest} of every file and directory of the collection naming namespace `name`."""
    found = {}
    for root in FILE_ROOTS:
        for directory, dirs, files in os.walk(root):
            for entry in dirs:
                path = os.path.join(directory, entry)
                if name in path:
                    found[path + "/"] = "dir"
            for entry in files:
                path = os.path.join(directory, entry)
                if name in path:
                    found[path] = _content(path)
    return found


def _content(path):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return "unreadable: %s" % exc
    if path.endswith(".pid"):  # the process itself is compared by its command line
        return "a pid file" if data.strip().isdigit() else data.decode(errors="replace")
    if path.endswith(".leases"):  # first field of a lease is its expiry time
        return sorted(line.split(" ", 1)[-1] for line in data.decode(errors="replace").splitlines())
    if len(data) < 1024 and b"\0" not in data and not path.endswith(".py"):
        return data.decode(errors="replace")
    return hashlib.sha256(data).hexdigest()


def remove_scope_files(name):
    for path in sorted(scope_files(name), key=len, reverse=True):
        if path.endswith("/"):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.unlink(path)


OVS_TABLES = (
    ("Open_vSwitch", "other_config,external_ids"),
    ("Bridge", "_uuid,name,datapath_type,ports,other_config,external_ids"),
    ("Port", "_uuid,name,interfaces,tag,trunks,vlan_mode,bond_mode,lacp,qos,external_ids,other_config"),
    ("Interface", "_uuid,name,type,options,mtu_request,ingress_policing_rate,ingress_policing_burst,ofport_request,ofport,"
                  "error,external_ids,other_config"),
    ("QoS", "_uuid,type,other_config,external_ids"),
)


def ovsdb_dump(ovs):
    """The rows the module may touch, UUIDs replaced by row names (QoS rows by their content)."""
    tables = {table: ovs.vsctl_json("--columns=" + columns, "list", table) for table, columns in OVS_TABLES}
    names = {}
    for table in ("Bridge", "Port", "Interface"):
        for row in tables[table]:
            names[row["_uuid"]] = row["name"]
    for row in tables["QoS"]:
        names[row["_uuid"]] = "qos:" + json.dumps([row["type"], row["other_config"]], sort_keys=True)

    def named(value):
        if isinstance(value, list):
            return sorted(named(v) for v in value)
        return names.get(value, value)

    for row in tables["Open_vSwitch"]:
        # the collection's transaction marker (backend/ovsdb.py) changes on every changing run
        row.get("external_ids", {}).pop(TXN_MARK_KEY, None)
    result = {"Open_vSwitch": tables["Open_vSwitch"]}
    for table in ("Bridge", "Port", "Interface", "QoS"):
        rows = {}
        for row in tables[table]:
            row = {key: (named(value) if key in ("ports", "interfaces", "qos") else value) for key, value in row.items()}
            uuid = row.pop("_uuid")
            rows[row.get("name") or names[uuid]] = row
        result[table] = rows
    return result


def diff(before, after):
    old = json.dumps(before, indent=1, sort_keys=True).splitlines()
    new = json.dumps(after, indent=1, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(old, new, "expected", "got", lineterm="", n=2))[:8000]


# ---- the two proofs -------------------------------------------------------------------------
def prove_every_fault_rolls_back(lab, args):
    """Action k fails, for every k, then the verification fails: each time the host is as before.

    Returns the figures: {"actions": N, "fault_points": N + 1, "commands": [...]}.
    """
    before = lab.settled()
    n, commands = lab.plan_size(args)
    lab.expect(before, "check mode changed the host")
    assert n > 0, "the plan is empty: nothing to prove"
    for k in range(n):
        result, info, _rc = lab.run(args, fault="fail", k=k)
        assert info and info["commands"] == commands, "the plan changed between runs: %s" % info
        assert result.get("failed"), "an injected failure of action %d did not fail the call: %s" % (k, result)
        msg = result["msg"]
        assert "injected failure of action %d" % k in msg and "rolled back" in msg, msg
        assert "undo of" not in msg, msg
        lab.expect(before, "host after a failure of action %d (%s)" % (k, commands[k]))
    result, info, _rc = lab.run(args, fault="verify")
    assert result.get("failed") and "injected failure of the verification" in result["msg"], result
    assert "of %d applied changes" % n in result["msg"], result["msg"]
    assert "undo of" not in result["msg"], result["msg"]
    lab.expect(before, "host after a failed verification")
    return {"actions": n, "fault_points": n + 1, "commands": commands}


def prove_every_kill_recovers(lab, args, delete_args, applied=None):
    """SIGKILL after action k, for every k: the next run converges (to what an uninterrupted run
    makes), a second reports no change, and `deleted` leaves the host as before.

    Returns {"kills": N}.
    """
    before = lab.settled()
    n, commands = lab.plan_size(args)
    if applied is None:  # what an uninterrupted run makes
        lab.ok(args)
        applied = lab.settled(lab.converged)
        lab.ok(delete_args)
        lab.expect(before, "host after apply and deleted (no fault)")
    for k in range(n):
        result, info, rc = lab.run(args, fault="kill", k=k)
        assert rc == -9 and result is None, "the driver was not killed after action %d (rc %s): %s" % (k, rc, result)
        assert info and info["commands"] == commands, "the plan changed between runs: %s" % info
        first, _info = lab.ok(args)
        second, _info = lab.ok(args)
        assert second["changed"] is False, "after a kill after action %d (%s), the second run still changes: %s" % (
            k, commands[k], second["commands"])
        lab.expect(applied, "host after a kill after action %d (%s) and one more run" % (k, commands[k]), dump=lab.converged)
        lab.ok(delete_args)
        lab.expect(before, "host after a kill after action %d (%s), a run and deleted" % (k, commands[k]))
    return {"kills": n}
