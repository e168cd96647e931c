# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OVSDB through ovs-vsctl: one read per call, one transaction per call, bounded waits.

Every command is an argv list (``ovs-vsctl --db=... --format=json -- ...``), never a shell.
A snapshot is plain data::

    {"ovs": {"dpdk_initialized": bool, "other_config": {...}, "iface_types": [...]},
     "bridges": {name: {"uuid", "datapath_type": str, "ports": [port names], "fail_mode",
                        "external_ids", "other_config"}},
     "ports": {name: {"uuid", "bridge", "interfaces": [names], "tag", "trunks", "vlan_mode",
                      "bond_mode", "lacp", "qos", "external_ids", "other_config"}},
     "interfaces": {name: {"type", "options", "mtu", "mtu_request", "ofport", "ofport_request",
                           "error", "ingress_policing_rate", "ingress_policing_burst",
                           "external_ids", "other_config", "status"}},
     "qos": {uuid: {"type", "other_config", "external_ids"}}}
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid

from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError, HvnetError
from ansible_collections.hypervisor.networking.plugins.module_utils.ownership import OVS_OWNER_KEY

DEFAULT_DATABASE = "unix:/var/run/openvswitch/db.sock"
DEFAULT_RUNDIR = "/var/run/openvswitch"
VSCTL_TIMEOUT = 30       # seconds ovs-vsctl may wait for ovsdb-server / ovs-vswitchd
PORT_WAIT = 30.0          # seconds a port may take to get its ofport (or its error)
# Open_vSwitch external_ids key that each transaction of ours sets to a new value: after a failed
# ovs-vsctl it tells whether the transaction was committed (ovs-vsctl commits, then waits for
# ovs-vswitchd, and can fail in either step).
TXN_MARK_KEY = "hypervisor-networking-txn"

COLUMNS = (
    ("Open_vSwitch", "dpdk_initialized,dpdk_version,other_config,iface_types,datapath_types"),
    ("Bridge", "_uuid,name,datapath_type,ports,fail_mode,external_ids,other_config"),
    ("Port", "_uuid,name,interfaces,tag,trunks,vlan_mode,bond_mode,lacp,qos,external_ids,other_config"),
    ("Interface", "_uuid,name,type,options,mtu,mtu_request,ofport,ofport_request,error,ingress_policing_rate,"
                  "ingress_policing_burst,external_ids,other_config,status"),
    ("QoS", "_uuid,type,other_config,external_ids"),
)


_BARE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")


class OvsdbError(HvnetError):
    pass


class NotConfirmed(OvsdbError):
    """The transaction is in the database, but ovs-vswitchd did not confirm it in time."""


def plain_value(value):
    """OVSDB JSON notation -> plain Python; an empty optional column becomes None."""
    if isinstance(value, list) and len(value) == 2 and value[0] in ("set", "map", "uuid", "named-uuid"):
        kind, inner = value
        if kind == "set":
            return [plain_value(item) for item in inner]
        if kind == "map":
            return {plain_value(k): plain_value(v) for k, v in inner}
        return inner
    return value


def _optional(value):
    """An optional column (min 0, max 1) reads as [] when empty."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _as_list(value):
    """A set column: OVSDB writes a one-element set as the bare element."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _rows(document):
    return [dict(zip(document["headings"], [plain_value(cell) for cell in row])) for row in document["data"]]


def quote(value):
    """An OVSDB string atom for ovs-vsctl's argument syntax: bare when safe, else C-like double quotes."""
    text = str(value)
    if _BARE_RE.match(text):
        return text
    return json.dumps(text)


def database_of(params):
    """The database a call talks to: its `database` option, else Open vSwitch's default."""
    return params.get("database") or DEFAULT_DATABASE


def ovsdb_present(params):
    """Whether there may be a database to read: ovs-vsctl is installed and a local socket exists."""
    database = database_of(params)
    if not shutil.which("ovs-vsctl"):
        return False
    return not database.startswith("unix:") or os.path.exists(database[len("unix:"):])


class Ovsdb:
    """ovs-vsctl against one database; `pending` collects a transaction for finish_plan."""

    def __init__(self, database=None, vhost_socket_dir=None, timeout=VSCTL_TIMEOUT, port_wait=PORT_WAIT):
        self.database = database_of({"database": database})
        self.vhost_socket_dir = vhost_socket_dir
        self.timeout = timeout
        self.port_wait = port_wait
        self.binary = shutil.which("ovs-vsctl") or "/usr/bin/ovs-vsctl"
        self.pending = Transaction()

    def close(self):
        pass

    # ---- running ovs-vsctl ------------------------------------------------------------
    def argv(self, args, wait=True):
        words = [self.binary, "--db=" + self.database, "--timeout=%d" % self.timeout]
        if not wait:
            words.append("--no-wait")
        return words + list(args)

    def run(self, args, wait=True):
        try:
            proc = subprocess.run(self.argv(args, wait), capture_output=True, text=True, timeout=self.timeout + 10, check=False)
        except FileNotFoundError as exc:
            raise HostError("ovs-vsctl is not installed (Open vSwitch with DPDK: package openvswitch-switch-dpdk)") from exc
        except subprocess.TimeoutExpired as exc:
            raise OvsdbError("ovs-vsctl did not finish within %d s (is ovs-vswitchd running?)" % (self.timeout + 10)) from exc
        if proc.returncode == -signal.SIGALRM or "(Alarm clock)" in proc.stderr:
            raise OvsdbError("ovs-vsctl gave up after %d s: ovsdb-server or ovs-vswitchd did not answer" % self.timeout)
        if proc.returncode != 0:
            raise OvsdbError("ovs-vsctl: %s" % _first_lines(proc.stderr))
        return proc.stdout

    # ---- reading --------------------------------------------------------------------------
    def read(self):
        args = ["--format=json"]
        for table, columns in COLUMNS:
            args += ["--", "--columns=" + columns, "list", table]
        try:
            out = self.run(args, wait=False)
        except OvsdbError as exc:
            raise HostError("cannot read the Open vSwitch database (option database): %s" % exc) from exc
        snapshot = parse_tables_text(out)
        snapshot["vhost_socket_dir"] = self.vhost_socket_dir
        return snapshot

    # ---- applying ---------------------------------------------------------------------------
    def take_pending(self):
        txn, self.pending = self.pending, Transaction()
        return txn

    def commit(self, commands, wait=True):
        """Run one transaction (a list of ovs-vsctl commands, each a list of words).

        wait=False does not wait for ovs-vswitchd to apply it: Open_vSwitch keys DPDK reads at
        start take effect only after a restart, and ovs-vswitchd may not even run yet.
        """
        if not commands:
            return
        args = []
        for command in commands:
            args += ["--"] + list(command)
        self.run(args, wait)

    def commit_checked(self, commands):
        """commit(), telling a failure after the commit (NotConfirmed) from one before it.

        ovs-vsctl commits, then waits for ovs-vswitchd, and can fail in either step: a marker
        key written in the same transaction tells the two apart."""
        marker = uuid.uuid4().hex
        try:
            self.commit(list(commands) + [["set", "Open_vSwitch", ".", "external_ids:%s=%s" % (TXN_MARK_KEY, marker)]])
        except HvnetError as exc:
            if self._committed_marker() == marker:
                raise NotConfirmed("%s (the transaction is in the database; ovs-vswitchd did not confirm it)" % exc) from exc
            raise

    def apply(self, txn):
        """Commit transaction `txn` and wait for ovs-vswitchd; afterwards txn.committed says
        whether it is in the database, also when this raised (then its undo must run)."""
        txn.committed = False
        try:
            self.commit_checked(txn.commands)
        except NotConfirmed:
            txn.committed = True
            raise
        txn.committed = True

    def _committed_marker(self):
        try:
            out = self.run(["--if-exists", "get", "Open_vSwitch", ".", "external_ids:" + TXN_MARK_KEY], wait=False)
        except HvnetError:
            return None  # unknown: the database is not reachable, so neither is an undo
        return out.strip().strip('"') or None

    def undo(self, commands):
        """Run an undo transaction, then destroy the QoS rows of ours that nothing uses any more."""
        self._restore(commands)
        snapshot = self.read()
        used = {port["qos"] for port in snapshot["ports"].values() if port["qos"]}
        self._restore([["destroy", "QoS", row_id] for row_id, qos in snapshot["qos"].items()
                       if row_id not in used and OVS_OWNER_KEY in (qos.get("external_ids") or {})])

    def _restore(self, commands):
        """What a rollback restores is the database: an undo that is in it counts as done even when
        ovs-vswitchd does not confirm it in time (it follows the database when it catches up)."""
        if not commands:
            return
        try:
            self.commit_checked(commands)
        except NotConfirmed:
            pass

    def wait_ports(self, expectations):
        """Wait (bounded) until every port has its ofport, or fail with OVS's own error text.

        `expectations` is a list of (interface name, mtu_request or None, needs_ofport, ofport_request or None).
        A port whose requested OpenFlow number another interface of its bridge holds fails at once
        (OVS silently gives it another number); one still being renumbered is waited for.
        Where OVS reports an effective `mtu`, it must become mtu_request. A vhost-user port reports
        mtu 0 while no QEMU is connected (its MTU takes effect when one connects); then only the
        stored mtu_request is checked, by the engine's read-back.
        """
        if not expectations:
            return
        deadline = time.monotonic() + self.port_wait
        while True:
            snapshot = self.read()
            interfaces = snapshot["interfaces"]
            bridge_of = {iface: port["bridge"] for port in snapshot["ports"].values() for iface in port["interfaces"]}
            waiting, failures = [], []
            for name, mtu_request, needs_ofport, ofport_request in expectations:
                row = interfaces.get(name)
                if row is None:
                    failures.append("interface %s is missing after the transaction" % name)
                    continue
                if row["error"]:
                    failures.append("OVS could not bring up %s: %s" % (name, row["error"]))
                elif needs_ofport and (row["ofport"] is None or row["ofport"] <= 0):
                    waiting.append("%s (ofport %s)" % (name, row["ofport"] if row["ofport"] is not None else "not assigned"))
                elif ofport_request and row["ofport"] != ofport_request:
                    holder = [other for other, orow in sorted(interfaces.items())
                              if other != name and orow["ofport"] == ofport_request and bridge_of.get(other) == bridge_of.get(name)]
                    if holder:
                        failures.append("%s got OpenFlow port %s, not the requested ofport_request %d: interface %s on bridge %s holds it"
                                        % (name, row["ofport"], ofport_request, holder[0], bridge_of.get(name)))
                    else:
                        waiting.append("%s (ofport %s, requested %d)" % (name, row["ofport"], ofport_request))
                elif mtu_request and row["mtu"] and row["mtu"] != mtu_request:
                    waiting.append("%s (mtu %s, requested %d)" % (name, row["mtu"], mtu_request))
            if failures:
                raise OvsdbError("; ".join(failures))
            if not waiting:
                return
            if time.monotonic() >= deadline:
                raise OvsdbError("ports did not come up within %d s: %s" % (self.port_wait, ", ".join(waiting)))
            time.sleep(0.2)


class Transaction:
    """Commands (forward and their undo) gathered by the per-port planning steps."""

    def __init__(self):
        self.commands = []
        self.undo = []
        self.expect = []
        self.committed = False  # set by Ovsdb.apply

    def __bool__(self):
        return bool(self.commands)

    def add(self, commands, undo, expect=()):
        self.commands.extend(commands)
        # undo runs the ports' undo blocks in reverse port order
        self.undo[0:0] = list(undo)
        self.expect.extend(expect)


def command_text(commands):
    """ovs-vsctl's command line for humans (plan output): words joined, ' -- ' between commands."""
    parts = []
    for command in commands:
        parts.append(" ".join(_shell_word(word) for word in command))
    return "ovs-vsctl " + " -- ".join(parts)


def _shell_word(word):
    if word and all(c.isalnum() or c in "@%+=:,./_-" for c in word):
        return word
    return "'%s'" % word.replace("'", "'\\''")


def _first_lines(text, count=3):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    lines = [line for line in lines if "default log directory" not in line]
    return " ".join(lines[:count]) or "failed without a message"


def parse_tables_text(text):
    """Concatenated `ovs-vsctl --format=json list TABLE` outputs (Open_vSwitch, Bridge, Port, Interface, QoS)."""
    documents = []
    decoder = json.JSONDecoder()
    index = 0
    try:
        while index < len(text):
            if text[index].isspace():
                index += 1
                continue
            document, index = decoder.raw_decode(text, index)
            documents.append(document)
        tables = [_rows(document) for document in documents]
    except (ValueError, KeyError, TypeError) as exc:
        raise HvnetError("not the JSON output of ovs-vsctl --format=json list: %s" % exc) from exc
    if len(tables) != len(COLUMNS):
        raise HvnetError("expected the JSON of %d ovs-vsctl list commands (%s), got %d"
                         % (len(COLUMNS), ", ".join(table for table, _c in COLUMNS), len(tables)))
    return snapshot_from_tables(*tables)


def snapshot_from_tables(ovs_rows, bridge_rows, port_rows, interface_rows, qos_rows):
    ovs = ovs_rows[0] if ovs_rows else {}
    snapshot = {
        "ovs": {
            "dpdk_initialized": bool(ovs.get("dpdk_initialized")),
            "dpdk_version": _optional(ovs.get("dpdk_version")),
            "other_config": ovs.get("other_config") or {},
            "iface_types": _as_list(ovs.get("iface_types")),
        },
        "bridges": {},
        "ports": {},
        "interfaces": {},
        "qos": {},
    }
    port_names = {row["_uuid"]: row["name"] for row in port_rows}
    iface_names = {row["_uuid"]: row["name"] for row in interface_rows}
    bridge_of = {}
    for row in bridge_rows:
        ports = sorted(port_names.get(uuid, uuid) for uuid in _as_list(row["ports"]))
        snapshot["bridges"][row["name"]] = {
            "uuid": row["_uuid"],
            "datapath_type": row["datapath_type"] or "system",
            "ports": ports,
            "fail_mode": _optional(row.get("fail_mode")),
            "external_ids": row.get("external_ids") or {},
            "other_config": row.get("other_config") or {},
        }
        for port in ports:
            bridge_of[port] = row["name"]
    for row in port_rows:
        snapshot["ports"][row["name"]] = {
            "uuid": row["_uuid"],
            "bridge": bridge_of.get(row["name"]),
            "interfaces": sorted(iface_names.get(uuid, uuid) for uuid in _as_list(row["interfaces"])),
            "tag": _optional(row["tag"]),
            "trunks": sorted(_as_list(row["trunks"])),
            "vlan_mode": _optional(row["vlan_mode"]),
            "bond_mode": _optional(row["bond_mode"]),
            "lacp": _optional(row["lacp"]),
            "qos": _optional(row["qos"]),
            "external_ids": row["external_ids"],
            "other_config": row["other_config"],
        }
    for row in interface_rows:
        snapshot["interfaces"][row["name"]] = {
            "type": row["type"] or "system",
            "options": row["options"],
            "mtu": _optional(row["mtu"]),
            "mtu_request": _optional(row["mtu_request"]),
            "ofport": _optional(row["ofport"]),
            "ofport_request": _optional(row["ofport_request"]),
            "error": _optional(row["error"]),
            "ingress_policing_rate": row["ingress_policing_rate"],
            "ingress_policing_burst": row["ingress_policing_burst"],
            "external_ids": row["external_ids"],
            "other_config": row["other_config"],
            "status": row["status"],
        }
    for row in qos_rows:
        snapshot["qos"][row["_uuid"]] = {"type": row["type"], "other_config": row["other_config"], "external_ids": row["external_ids"]}
    return snapshot


def empty_snapshot():
    return {"ovs": {"dpdk_initialized": False, "dpdk_version": None, "other_config": {}, "iface_types": []},
            "bridges": {}, "ports": {}, "interfaces": {}, "qos": {}, "vhost_socket_dir": None}


class WithOvsdb:
    """A kernel backend plus OVSDB, for resources with objects in both (vm_interface's vhostuser).

    `read()` adds "ovs": the OVSDB snapshot, or None when Open vSwitch is not installed or its
    database is not reachable (then "ovs_error" says why); calls the kernel backend offers
    pass through.
    """

    def __init__(self, kernel, database=None, vhost_socket_dir=None):
        self.kernel = kernel
        self.ovs = Ovsdb(database, vhost_socket_dir=vhost_socket_dir)

    def __getattr__(self, name):
        return getattr(self.kernel, name)

    @property
    def pending(self):
        return self.ovs.pending

    def take_pending(self):
        return self.ovs.take_pending()

    def commit(self, commands):
        self.ovs.commit(commands)

    def apply(self, txn):
        self.ovs.apply(txn)

    def undo(self, commands):
        self.ovs.undo(commands)

    def wait_ports(self, expectations):
        self.ovs.wait_ports(expectations)

    def close(self):
        self.kernel.close()

    def read(self):
        snapshot = dict(self.kernel.read())
        snapshot["ovs"], snapshot["ovs_error"] = None, None
        if not shutil.which("ovs-vsctl"):
            snapshot["ovs_error"] = "Open vSwitch is not installed (ovs-vsctl not found)"
            return snapshot
        if not ovsdb_present({"database": self.ovs.database}):
            # no socket, no database: spare starting an ovs-vsctl that can only say so
            snapshot["ovs_error"] = "its database is not running (no socket %s; option database)" % self.ovs.database
            return snapshot
        try:
            snapshot["ovs"] = self.ovs.read()
        except HvnetError as exc:
            snapshot["ovs_error"] = str(exc)
        return snapshot
