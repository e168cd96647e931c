# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ovs_dpdk_port: OVS-DPDK ports, planned as one ovs-vsctl transaction per call.

Planning compares "cells" (a column, or one key of a map column, of a Port or Interface
row) between what OVSDB holds and what is wanted; each difference becomes an ovs-vsctl
command and its inverse, so undo is the same planner run the other way. The per-port
commands collect in the backend's pending transaction; `finish_plan` turns them into one
action, and a verification that waits for each port's ofport and error columns.

The planner functions also serve vm_interface's kind vhostuser (same rows, another mark).
"""

from __future__ import annotations

import dataclasses
import os

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import ovsdb
from ansible_collections.hypervisor.networking.plugins.module_utils.lock import ovsdb_scope
from ansible_collections.hypervisor.networking.plugins.module_utils.model import ovs_port as m
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import missing_prerequisite
from ansible_collections.hypervisor.networking.plugins.module_utils.ownership import OVS_OWNER_KEY
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.base import Resource


DPDK_TYPES = ("dpdk", "dpdkvhostuser", "dpdkvhostuserclient", "dpdkr")
FLOW_KEYS = (("tx", "tx-flow-ctrl"), ("rx", "rx-flow-ctrl"), ("autoneg", "flow-ctrl-autoneg"))
OPTION_KEYS = ("dpdk-devargs", "vhost-server-path", "n_rxq", "n_rxq_desc", "n_txq_desc") + tuple(key for _f, key in FLOW_KEYS)
ZERO_COLUMNS = ("ingress_policing_rate", "ingress_policing_burst")  # integer columns whose default is 0
# Interface external_ids and other_config are managed key by key, like options: other software
# writes its own keys there (ovn-controller's ovn-installed, ovn-installed-ts) and keeps them.


# ---- OVSDB rows <-> models ---------------------------------------------------------------
def owner_of(port):
    return (port.get("external_ids") or {}).get(OVS_OWNER_KEY)


def socket_dir(snapshot):
    """OVS's vhost-user socket directory (module option, else OVS's rundir + vhost-sock-dir)."""
    configured = snapshot.get("vhost_socket_dir")
    if configured:
        return os.path.normpath(configured)
    sub = snapshot["ovs"]["other_config"].get("vhost-sock-dir")
    return os.path.normpath(os.path.join(ovsdb.DEFAULT_RUNDIR, sub)) if sub else ovsdb.DEFAULT_RUNDIR


def model_from_rows(name, snapshot):
    """The port `name` as the model sees it (None when absent)."""
    port = snapshot["ports"].get(name)
    if port is None:
        return None
    names = port["interfaces"]
    rows = [snapshot["interfaces"].get(member) or {} for member in names]
    first = rows[0] if rows else {}
    options = first.get("options") or {}
    other = dict(first.get("other_config") or {})
    affinity = _parse_affinity(other.pop("pmd-rxq-affinity", None))
    bond = names != [name]
    flow = m.FlowControl(**{field: _bool(options.get(key)) for field, key in FLOW_KEYS})
    qos = snapshot["qos"].get(port["qos"]) if port["qos"] else None
    egress = None
    if qos and qos["type"] == "egress-policer":
        egress = m.EgressPolicer(cir=_int(qos["other_config"].get("cir")), cbs=_int(qos["other_config"].get("cbs")))
    rate, burst = first.get("ingress_policing_rate") or 0, first.get("ingress_policing_burst") or 0
    return m.OvsDpdkPort(
        name=name,
        bridge=port["bridge"],
        type=first.get("type"),
        devargs=None if bond else options.get("dpdk-devargs"),
        interfaces=[m.Member(name=member, devargs=(row.get("options") or {}).get("dpdk-devargs")) for member, row in zip(names, rows)] if bond else None,
        bond_mode=port["bond_mode"] if bond else None,
        lacp=port["lacp"] if bond else None,
        vhost_server_path=options.get("vhost-server-path"),
        n_rxq=_int(options.get("n_rxq")),
        n_rxq_desc=_int(options.get("n_rxq_desc")),
        n_txq_desc=_int(options.get("n_txq_desc")),
        rxq_affinity=affinity,
        mtu_request=first.get("mtu_request"),
        flow_control=flow if any(v is not None for v in dataclasses.astuple(flow)) else None,
        ingress_policing=m.IngressPolicing(rate=rate, burst=burst) if rate or burst else None,
        egress_policer=egress,
        tag=port["tag"],
        trunks=list(port["trunks"]) or None,
        vlan_mode=port["vlan_mode"],
        ofport_request=first.get("ofport_request"),
        external_ids=dict(first.get("external_ids") or {}) or None,
        other_config=other or None,
    )


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _bool(text):
    return {"true": True, "false": False}.get(text)


def _parse_affinity(text):
    if not text:
        return None
    result = {}
    for pair in text.split(","):
        queue, _sep, core = pair.strip().partition(":")
        if _int(queue) is not None and _int(core) is not None:
            result[int(queue)] = int(core)
    return result or None


def _affinity_text(affinity):
    return ",".join("%d:%d" % (queue, affinity[queue]) for queue in sorted(affinity)) if affinity else None


# ---- cells ---------------------------------------------------------------------------------
def port_cells(model, kind):
    bond = model.is_bond
    return {
        ("tag",): model.tag,
        ("trunks",): list(model.trunks or []),
        ("vlan_mode",): model.vlan_mode,
        ("bond_mode",): model.bond_mode if bond else None,
        ("lacp",): model.lacp if bond else None,
        ("external_ids", OVS_OWNER_KEY): kind,
    }


def interface_cells(model, member=None):
    flow = model.flow_control or m.FlowControl()
    ingress = model.ingress_policing or m.IngressPolicing()
    cells = {
        ("type",): model.type or "dpdk",
        ("options", "dpdk-devargs"): member.devargs if member is not None else model.devargs,
        ("options", "vhost-server-path"): model.vhost_server_path,
        ("options", "n_rxq"): _text(model.n_rxq),
        ("options", "n_rxq_desc"): _text(model.n_rxq_desc),
        ("options", "n_txq_desc"): _text(model.n_txq_desc),
        ("mtu_request",): model.mtu_request,
        ("ingress_policing_rate",): ingress.rate or 0,
        ("ingress_policing_burst",): ingress.burst or 0,
        ("ofport_request",): model.ofport_request,
        ("other_config", "pmd-rxq-affinity"): _affinity_text(model.rxq_affinity),
    }
    for column in ("other_config", "external_ids"):
        for key, value in (getattr(model, column) or {}).items():
            cells[(column, key)] = value  # only the keys given; None removes the key
    for field, key in FLOW_KEYS:
        value = getattr(flow, field)
        cells[("options", key)] = None if value is None else ("true" if value else "false")
    return cells


def _text(value):
    return None if value is None else str(value)


def row_cells(row, template):
    """The same cells read from an OVSDB row (a fresh row when `row` is None)."""
    row = row or {}
    cells = {}
    for cell in template:
        column = cell[0]
        if len(cell) == 2:
            cells[cell] = (row.get(column) or {}).get(cell[1])
        elif column == "trunks":
            cells[cell] = list(row.get(column) or [])
        elif column in ZERO_COLUMNS:
            cells[cell] = row.get(column) or 0
        elif column == "type":
            cells[cell] = row.get("type") or "system"
        else:
            cells[cell] = row.get(column)
    return cells


def cell_commands(table, record, want, have):
    """ovs-vsctl commands that turn cells `have` into `want` on one row."""
    sets, commands = [], []
    for cell in sorted(want, key=str):
        new, old = want[cell], have.get(cell)
        if new == old:
            continue
        column = cell[0]
        if len(cell) == 2:
            if new is None:
                commands.append(["remove", table, record, column, ovsdb.quote(cell[1])])
            else:
                sets.append("%s:%s=%s" % (column, ovsdb.quote(cell[1]), ovsdb.quote(new)))
        elif column == "trunks":
            if new:
                sets.append("trunks=%s" % ",".join(str(v) for v in new))
            else:
                commands.append(["clear", table, record, column])
        elif new is None:
            commands.append(["clear", table, record, column])
        elif isinstance(new, str):
            sets.append("%s=%s" % (column, ovsdb.quote(new)))
        else:
            sets.append("%s=%s" % (column, new))
    if sets:
        commands.insert(0, ["set", table, record] + sets)
    return commands


# ---- QoS (egress policer) -------------------------------------------------------------------
def _qos_id(name):
    return "@qos_" + "".join(c if c.isalnum() else "_" for c in name)


def qos_commands(name, want, snapshot, kind, port_row):
    """(commands, undo) turning the port's QoS into egress policer `want` (None: no QoS)."""
    uuid = port_row["qos"] if port_row else None
    qos = snapshot["qos"].get(uuid) if uuid else None
    have = None
    if qos and qos["type"] == "egress-policer":
        have = m.EgressPolicer(cir=_int(qos["other_config"].get("cir")), cbs=_int(qos["other_config"].get("cbs")))
    if want == have or (want is None and uuid is None):
        return [], []
    ours = bool(qos) and (qos.get("external_ids") or {}).get(OVS_OWNER_KEY) == kind
    shared = any(p["qos"] == uuid for n, p in snapshot["ports"].items() if n != name) if uuid else False
    if want is not None and have is not None and ours:
        values = _policer_config(want)
        old = _policer_config(have)
        return ([["set", "QoS", uuid] + ["other_config:%s=%s" % (k, ovsdb.quote(v)) for k, v in sorted(values.items())]],
                [["set", "QoS", uuid] + ["other_config:%s=%s" % (k, ovsdb.quote(v)) for k, v in sorted(old.items())]])
    commands, undo = [], []
    if want is not None:
        commands += create_qos(name, want, kind)
    else:
        commands.append(["clear", "Port", name, "qos"])
    if uuid:
        if ours and not shared:
            commands.append(["destroy", "QoS", uuid])
            undo += create_qos(name, have, kind) if have else [["clear", "Port", name, "qos"]]
        else:
            undo.append(["set", "Port", name, "qos=%s" % uuid])
    else:
        undo.append(["clear", "Port", name, "qos"])  # the new row is then unreferenced: see Ovsdb.undo
    return commands, undo


def _policer_config(policer):
    return {key: str(value) for key, value in (("cir", policer.cir), ("cbs", policer.cbs)) if value is not None}


def create_qos(name, policer, kind):
    ref = _qos_id(name)
    return [["set", "Port", name, "qos=%s" % ref],
            ["--id=%s" % ref, "create", "QoS", "type=egress-policer", "external_ids:%s=%s" % (OVS_OWNER_KEY, kind)]
            + ["other_config:%s=%s" % (k, ovsdb.quote(v)) for k, v in sorted(_policer_config(policer).items())]]


# ---- whole ports ------------------------------------------------------------------------------
def create_commands(model, kind, snapshot):
    """Commands that create the port as `model` says, on a database that lacks it."""
    if model.is_bond:
        commands = [["add-bond", model.bridge, model.name] + [member.name for member in model.interfaces]]
    else:
        commands = [["add-port", model.bridge, model.name]]
    commands += cell_commands("Port", model.name, port_cells(model, kind), row_cells(None, port_cells(model, kind)))
    for member in model.interfaces or [None]:
        record = member.name if member is not None else model.name
        want = interface_cells(model, member)
        commands += cell_commands("Interface", record, want, row_cells(None, want))
    if model.egress_policer:
        commands += create_qos(model.name, model.egress_policer, kind)
    return commands


def delete_commands(name, snapshot, kind):
    port = snapshot["ports"][name]
    commands = [["del-port", port["bridge"], name]] if port["bridge"] else [["destroy", "Port", name]]
    uuid = port["qos"]
    qos = snapshot["qos"].get(uuid) if uuid else None
    shared = any(p["qos"] == uuid for n, p in snapshot["ports"].items() if n != name)
    if qos and (qos.get("external_ids") or {}).get(OVS_OWNER_KEY) == kind and not shared:
        # del-port deletes the Port row client-side, so the IDL sends no update for it and OVSDB still counts its
        # reference when checking the QoS destroy. Clearing the reference and unlinking the port from its bridge
        # instead lets OVSDB garbage-collect the port after the reference is gone.
        commands = [["clear", "Port", name, "qos"]]
        if port["bridge"]:
            commands.append(["remove", "Bridge", port["bridge"], "ports", port["uuid"]])
        else:
            commands.append(["destroy", "Port", name])
        commands.append(["destroy", "QoS", uuid])
    return commands


def recreate_reason(cur, want):
    if cur is None:
        return None
    if cur.bridge != want.bridge:
        return "moves from bridge %s to %s" % (cur.bridge, want.bridge)
    if cur.member_names() != want.member_names():
        return "its interfaces change from %s to %s" % (", ".join(cur.member_names()), ", ".join(want.member_names()))
    return None


def plan_port(txn, kind, cur, want, snapshot):
    """Fill transaction `txn` with what turns port `cur` (None: absent) into `want`."""
    name = want.name
    why = recreate_reason(cur, want)
    needs_ofport = True
    # every type: a vhost-user port reports mtu 0 until QEMU connects, and wait_ports then checks only mtu_request
    mtu = want.mtu_request
    ofport = None if want.is_bond else want.ofport_request
    expect = [(member, mtu, needs_ofport, ofport) for member in want.member_names()]
    if cur is None or why:
        commands = delete_commands(name, snapshot, kind) if why else []
        commands += create_commands(want, kind, snapshot)
        undo = [["--if-exists", "del-port", name]]
        if why:
            undo += create_commands(cur, kind, snapshot)
        txn.add(commands, undo, expect)
        return
    port_row = snapshot["ports"][name]
    commands, undo = [], []
    p_want = port_cells(want, kind)
    p_have = row_cells(port_row, p_want)
    commands += cell_commands("Port", name, p_want, p_have)
    undo += cell_commands("Port", name, p_have, p_want)
    for member in want.interfaces or [None]:
        record = member.name if member is not None else name
        i_want = interface_cells(want, member)
        i_have = row_cells(snapshot["interfaces"].get(record), i_want)
        commands += cell_commands("Interface", record, i_want, i_have)
        undo += cell_commands("Interface", record, i_have, i_want)
    qos, qos_undo = qos_commands(name, want.egress_policer, snapshot, kind, port_row)
    commands += qos
    undo += qos_undo
    if commands:
        txn.add(commands, undo, expect)


def plan_removal(txn, kind, cur, snapshot):
    name = cur.name
    undo = create_commands(cur, kind, snapshot)
    txn.add(delete_commands(name, snapshot, kind), undo)


def finish(plan, backend):
    """One action for the whole call's transaction; then wait for the ports (bounded)."""
    txn = backend.take_pending()
    if not txn:
        return

    def undo():
        if not txn.committed:
            return False  # nothing reached the database
        backend.undo(txn.undo)
        return True

    # partial: ovs-vsctl can fail after its commit (waiting for ovs-vswitchd); then the undo runs too
    plan.add(ovsdb.command_text(txn.commands), lambda: backend.apply(txn), undo, partial=True)
    plan.verifications.append(lambda: backend.wait_ports(txn.expect))


def conflict(snapshot, model, adopt, kind):
    """Why the port (and its bond members) cannot be ours, or None."""
    port = snapshot["ports"].get(model.name)
    if port is not None:
        owner = owner_of(port)
        if owner == kind:
            return None
        if owner:
            return "OVS port %s already exists and belongs to this collection's %s" % (model.name, owner)
        types = sorted({(snapshot["interfaces"].get(i) or {}).get("type", "system") for i in port["interfaces"]})
        foreign = [t for t in types if t not in DPDK_TYPES]
        if foreign:
            return ("OVS port %s already exists and is not a DPDK port (interface type %s, on bridge %s); choose another name"
                    % (model.name, ", ".join(foreign), port["bridge"]))
        if adopt:
            return None
        return "OVS port %s already exists and was not created by hypervisor.networking; choose another name or set adopt: true" % model.name
    for member in model.member_names():
        for other, row in snapshot["ports"].items():
            if member in row["interfaces"] and other != model.name:
                return "interface %s already belongs to OVS port %s" % (member, other)
    return None


def host_problems(problems, path, model, snapshot, kind, check_mode, warnings):
    """Checks of one desired port against OVSDB (bridge, pmd-cpu-mask, sockets, devices, ofports).

    A dpdkvhostuserclient socket may be anywhere: OVS connects to wherever QEMU listens
    (OpenStack keeps them in /var/lib/vhost_sockets)."""
    bridge = snapshot["bridges"].get(model.bridge)
    if bridge is None:
        missing_prerequisite(problems, warnings, check_mode, path + ".bridge",
                             "bridge %s does not exist in OVS; create it first (module hypervisor.networking.ovs_dpdk_bridge)" % model.bridge)
    elif bridge["datapath_type"] != "netdev":
        problems.add(path + ".bridge", "bridge %s has datapath_type %s; DPDK ports need a userspace bridge (datapath_type=netdev)"
                     % (model.bridge, bridge["datapath_type"]))
    if model.rxq_affinity:
        mask = snapshot["ovs"]["other_config"].get("pmd-cpu-mask")
        cores = mask_cores(mask)
        if cores is None:
            problems.add(path + ".rxq_affinity", "Open_vSwitch other_config:pmd-cpu-mask is %s; set it (ovs_dpdk_global pmd_cores, "
                         "or role hypervisor.networking.dpdk) before pinning queues"
                         % ("not set" if mask is None else "'%s', not a hex mask" % mask))
        else:
            for queue in sorted(model.rxq_affinity):
                core = model.rxq_affinity[queue]
                if core not in cores:
                    problems.add("%s.rxq_affinity.%d" % (path, queue), "core %d is not in pmd-cpu-mask %s (PMD cores: %s); "
                                 "a queue pinned there is never polled" % (core, mask, ", ".join(str(c) for c in sorted(cores))))
    if model.type == "dpdkvhostuser" and not snapshot["ovs"]["other_config"].get("vhost-sock-dir") and not snapshot.get("vhost_socket_dir"):
        warnings.append("%s: a dpdkvhostuser socket is created in OVS's run directory; set vhost-sock-dir to keep them apart" % path)
    mine = set(model.member_names())
    devices = {m.device_of(member.devargs) for member in model.interfaces or []} | {m.device_of(model.devargs)}
    devices.discard(None)
    bridge_of = interface_bridges(snapshot)
    for name, row in snapshot["interfaces"].items():
        if name in mine:
            continue
        device = m.device_of((row.get("options") or {}).get("dpdk-devargs"))
        if device and device in devices:
            problems.add(path, "device %s is already used by OVS interface %s" % (device, name))
        # OpenFlow port numbers are per bridge: OVS silently gives a port another number when the requested one is taken
        if model.ofport_request and bridge_of.get(name) == model.bridge:
            if row.get("ofport_request") == model.ofport_request:
                problems.add(path + ".ofport_request", "%d is already requested by OVS interface %s on bridge %s"
                             % (model.ofport_request, name, model.bridge))
            elif row.get("ofport") == model.ofport_request:
                problems.add(path + ".ofport_request", "%d is already the OpenFlow port of OVS interface %s on bridge %s; "
                             "request a free number (taken there: %s)"
                             % (model.ofport_request, name, model.bridge, _taken_ofports(snapshot, bridge_of, model.bridge)))


def interface_bridges(snapshot):
    """{interface name: bridge name} from the Port rows."""
    return {iface: port["bridge"] for port in snapshot["ports"].values() for iface in port["interfaces"]}


def _taken_ofports(snapshot, bridge_of, bridge):
    numbers = set()
    for name, row in snapshot["interfaces"].items():
        if bridge_of.get(name) == bridge:
            numbers.update(n for n in (row.get("ofport"), row.get("ofport_request")) if n and 0 < n <= m.OFPORT_MAX)
    return ", ".join(str(n) for n in sorted(numbers)) or "none"


def mask_cores(mask):
    """Cores of a hex CPU mask ('0x6', '6'), or None when it is not one."""
    if mask is None:
        return None
    text = str(mask).strip().lower()
    text = text[2:] if text.startswith("0x") else text
    try:
        value = int(text, 16)
    except ValueError:
        return None
    return {bit for bit in range(value.bit_length()) if value >> bit & 1}


def dpdk_problem(snapshot):
    if snapshot["ovs"]["dpdk_initialized"]:
        return None
    init = snapshot["ovs"]["other_config"].get("dpdk-init")
    return ("DPDK is not initialised in ovs-vswitchd (Open_vSwitch dpdk_initialized is false, other_config:dpdk-init is %s); "
            "set dpdk-init=true (ovs_dpdk_global) and restart ovs-vswitchd (role hypervisor.networking.dpdk does both)" % (init or "unset"))


class OvsdbResource(Resource):
    """Base for resources that live in OVSDB: one snapshot of its tables, one lock per OVSDB."""

    @staticmethod
    def empty_snapshot():
        return ovsdb.empty_snapshot()

    def parse_running_config(self, text):
        """Output of `ovs-vsctl --format=json -- list Open_vSwitch -- list Bridge -- list Port -- list Interface -- list QoS`."""
        return ovsdb.parse_tables_text(text)

    def lock_scopes(self, params):
        # the saved state lives in the namespace's scope; the rows in an OVSDB every namespace shares
        return super().lock_scopes(params) + [ovsdb_scope(ovsdb.database_of(params))]

    def open_backend(self, params):
        return ovsdb.Ovsdb(params.get("database"))


class OvsPortResource(OvsdbResource):
    kind = "ovs_dpdk_port"

    from_config = staticmethod(m.from_config)
    defaults = staticmethod(m.defaults)

    def check_config(self, models, problems):
        m.check_config(models, problems)

    @staticmethod
    def empty_snapshot():
        return dict(ovsdb.empty_snapshot(), vhost_socket_dir=None)

    def open_backend(self, params):
        return ovsdb.Ovsdb(params.get("database"), vhost_socket_dir=params.get("vhost_socket_dir"))

    def current(self, snapshot, saved, adopt=()):
        result = {}
        for name, port in snapshot["ports"].items():
            owner = owner_of(port)
            if owner == self.kind or (owner is None and name in adopt and not conflict(snapshot, m.OvsDpdkPort(name=name), True, self.kind)):
                result[name] = model_from_rows(name, snapshot)
        return result

    def conflict(self, snapshot, model, adopt):
        return conflict(snapshot, model, adopt, self.kind)

    def complete(self, model, snapshot):
        model = dataclasses.replace(model)
        model.type = model.type or "dpdk"
        return model

    def check_host(self, desired, snapshot, problems, warnings, check_mode, paths):
        path_of = {name: path for path, name in paths}
        if not desired:
            return
        reason = dpdk_problem(snapshot)
        if reason:
            problems.add("config", reason)
            return
        for name, model in desired.items():
            host_problems(problems, path_of.get(name, name), model, snapshot, self.kind, check_mode, warnings)

    def check_desired(self, problems, path, model):
        m.validate_desired(problems, path, model)

    def plan_object(self, plan, backend, current, desired, snapshot):
        plan_port(backend.pending, self.kind, current, desired, snapshot)

    def plan_removal(self, plan, backend, current, snapshot):
        plan_removal(backend.pending, self.kind, current, snapshot)

    def finish_plan(self, plan, backend, snapshot):
        finish(plan, backend)

    def render(self, model, params, path, problems):
        return {"name": model.name, "config": self.to_config(model),
                "commands": [ovs_command_text_for(model, self.kind)]}


def ovs_command_text_for(model, kind):
    """The ovs-vsctl transaction that creates `model`, for state rendered."""
    return ovsdb.command_text(create_commands(model, kind, ovsdb.empty_snapshot()))
