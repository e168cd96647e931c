# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ovs_dpdk_bridge: OVS bridges with datapath_type=netdev, planned as one ovs-vsctl transaction.

Cells and their commands are those of ovs_dpdk_port (resource/ovs_port.py); the bridge rows
collect in the backend's pending transaction, and the same finish step commits it and then
waits for each new bridge's internal interface (its ofport, or OVS's error text).
"""

from __future__ import annotations

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import ovsdb
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HvnetError
from ansible_collections.hypervisor.networking.plugins.module_utils.model import ovs_bridge as m
from ansible_collections.hypervisor.networking.plugins.module_utils.ownership import OVS_OWNER_KEY
from ansible_collections.hypervisor.networking.plugins.module_utils.resource import ovs_port as op


def model_from_row(name, row):
    external_ids = {key: value for key, value in (row.get("external_ids") or {}).items() if key != OVS_OWNER_KEY}
    return m.OvsDpdkBridge(name=name, fail_mode=row.get("fail_mode"), other_config=dict(row.get("other_config") or {}) or None,
                           external_ids=external_ids or None)


def bridge_cells(model, kind):
    cells = {("datapath_type",): m.DATAPATH, ("fail_mode",): model.fail_mode, ("external_ids", OVS_OWNER_KEY): kind}
    for column in ("other_config", "external_ids"):
        for key, value in (getattr(model, column) or {}).items():
            cells[(column, key)] = value
    return cells


def create_commands(model, kind):
    want = bridge_cells(model, kind)
    return [["add-br", model.name]] + op.cell_commands("Bridge", model.name, want, op.row_cells(None, want))


def foreign_ports(name, row):
    """Ports of the bridge other than its own internal port."""
    return [port for port in row["ports"] if port != name]


class OvsBridgeResource(op.OvsdbResource):
    kind = "ovs_dpdk_bridge"

    from_config = staticmethod(m.from_config)
    defaults = staticmethod(m.defaults)

    def current(self, snapshot, saved, adopt=()):
        result = {}
        for name, row in snapshot["bridges"].items():
            owner = (row.get("external_ids") or {}).get(OVS_OWNER_KEY)
            if owner == self.kind or (owner is None and name in adopt and row["datapath_type"] == m.DATAPATH):
                result[name] = model_from_row(name, row)
        return result

    def conflict(self, snapshot, model, adopt):
        row = snapshot["bridges"].get(model.name)
        if row is None:
            return None
        owner = (row.get("external_ids") or {}).get(OVS_OWNER_KEY)
        if owner == self.kind:
            return None
        if owner:
            return "OVS bridge %s already exists and belongs to this collection's %s" % (model.name, owner)
        if row["datapath_type"] != m.DATAPATH:
            return ("OVS bridge %s already exists with datapath_type %s, not netdev (the kernel datapath); choose another name"
                    % (model.name, row["datapath_type"]))
        if adopt:
            return None
        return ("OVS bridge %s already exists and was not created by hypervisor.networking; choose another name or set "
                "adopt: true" % model.name)

    def plan_object(self, plan, backend, current, desired, snapshot):
        row = snapshot["bridges"].get(desired.name)
        want = bridge_cells(desired, self.kind)
        if row is None:
            # the bridge's internal interface must come up (ofport LOCAL) or report OVS's error
            backend.pending.add(create_commands(desired, self.kind), [["--if-exists", "del-br", desired.name]],
                                [(desired.name, None, True, None)])
            return
        have = op.row_cells(row, want)
        commands = op.cell_commands("Bridge", desired.name, want, have)
        if commands:
            backend.pending.add(commands, op.cell_commands("Bridge", desired.name, have, want))

    def plan_removal(self, plan, backend, current, snapshot):
        row = snapshot["bridges"][current.name]
        ports = foreign_ports(current.name, row)
        if ports:
            raise HvnetError("OVS bridge %s still has ports %s; remove them first (ovs_dpdk_port or vm_interface with "
                             "state deleted), so that no VM loses its port by surprise" % (current.name, ", ".join(ports)))
        backend.pending.add([["del-br", current.name]], create_commands(current, self.kind))

    def finish_plan(self, plan, backend, snapshot):
        op.finish(plan, backend)

    def render(self, model, params, path, problems):
        return {"name": model.name, "config": self.to_config(model),
                "commands": [ovsdb.command_text(create_commands(model, self.kind))]}
