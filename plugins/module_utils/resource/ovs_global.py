# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ovs_dpdk_global: the DPDK keys of the Open_vSwitch row's other_config, as one object.

The row always exists; the object is "present" when any of the typed DPDK keys is set, and
removing it removes those keys. Planning compares other_config cells, as ovs_dpdk_port does,
and writes them with --no-wait: DPDK reads most of them only when ovs-vswitchd starts, and
ovs-vswitchd may not run yet. Which changed keys need that restart is reported, not done:
restarting a daemon is the caller's decision (the dpdk role's handler).
"""

from __future__ import annotations

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import ovsdb
from ansible_collections.hypervisor.networking.plugins.module_utils.model import ovs_global as m
from ansible_collections.hypervisor.networking.plugins.module_utils.resource import ovs_port as op

TABLE, RECORD = "Open_vSwitch", "."
TYPED_KEYS = tuple(key for _field, key in m.FIELD_KEYS)


def model_from_row(other_config):
    """The row's DPDK settings (None when no typed key is set); other keys go to other_config."""
    config = dict(other_config or {})
    if not any(key in config for key in TYPED_KEYS):
        return None
    init = config.pop("dpdk-init", None)
    per_port = config.pop("per-port-memory", None)
    lcore = config.pop("dpdk-lcore-mask", None)
    pmd = config.pop("pmd-cpu-mask", None)
    return m.OvsDpdkGlobal(
        dpdk_init={"true": True, "false": False}.get(init),
        lcore_cores=_cores(lcore),
        pmd_cores=_cores(pmd),
        socket_mem=_ints(config.pop("dpdk-socket-mem", None)),
        socket_limit=_ints(config.pop("dpdk-socket-limit", None)),
        dpdk_extra=config.pop("dpdk-extra", None),
        vhost_sock_dir=config.pop("vhost-sock-dir", None),
        per_port_memory={"true": True, "false": False}.get(per_port),
        pmd_maxsleep=_int(config.pop("pmd-maxsleep", None)),
        hugepage_dir=config.pop("dpdk-hugepage-dir", None),
        other_config=config or None,
    )


def _cores(mask):
    cores = op.mask_cores(mask)
    return sorted(cores) if cores is not None else None


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _ints(text):
    if text is None:
        return None
    values = [_int(part.strip()) for part in text.split(",")]
    return None if None in values else values


def _row_cells(snapshot, template):
    return op.row_cells({"other_config": snapshot["ovs"]["other_config"]}, template)


def restart_reasons(snapshot, desired, removing):
    """Why ovs-vswitchd must restart for this call to take effect (empty: it need not)."""
    if desired is not None:
        want = m.cells(desired)
    elif removing:
        want = m.cells(m.OvsDpdkGlobal())
    else:
        want = {}
    have = _row_cells(snapshot, want)
    reasons = ["%s changes" % cell[1] for cell in sorted(want) if cell[1] in m.RESTART_KEYS and want[cell] != have[cell]]
    will_init = want.get(("other_config", "dpdk-init"), snapshot["ovs"]["other_config"].get("dpdk-init")) in ("true", "try")
    if will_init and not snapshot["ovs"]["dpdk_initialized"] and not reasons:
        reasons.append("dpdk-init is true but DPDK is not initialised (ovs-vswitchd not restarted since, or not running)")
    return reasons


class OvsGlobalResource(op.OvsdbResource):
    kind = "ovs_dpdk_global"

    @staticmethod
    def item_path(index):
        # the module's config is one dict, turned into the one item named Open_vSwitch
        return "config"

    from_config = staticmethod(m.from_config)
    defaults = staticmethod(m.defaults)

    def current(self, snapshot, saved, adopt=()):
        model = model_from_row(snapshot["ovs"]["other_config"])
        return {m.NAME: model} if model is not None else {}

    def plan_object(self, plan, backend, current, desired, snapshot):
        want = m.cells(desired)
        have = _row_cells(snapshot, want)
        self._add(plan, backend, op.cell_commands(TABLE, RECORD, want, have), op.cell_commands(TABLE, RECORD, have, want))

    def plan_removal(self, plan, backend, current, snapshot):
        want = {("other_config", key): None for key in TYPED_KEYS}
        have = _row_cells(snapshot, want)
        self._add(plan, backend, op.cell_commands(TABLE, RECORD, want, have), op.cell_commands(TABLE, RECORD, have, want))

    @staticmethod
    def _add(plan, backend, commands, undo):
        if commands:
            plan.add(_command_text(commands), lambda: backend.commit(commands, wait=False),
                     lambda: backend.commit(undo, wait=False))

    def report(self, snapshot, current, desired, removals):
        reasons = restart_reasons(snapshot, desired.get(m.NAME), bool(removals))
        return {"restart_required": bool(reasons), "restart_reasons": reasons,
                "dpdk_initialized": snapshot["ovs"]["dpdk_initialized"]}

    def render(self, model, params, path, problems):
        want = m.cells(model)
        commands = op.cell_commands(TABLE, RECORD, want, {cell: None for cell in want})
        return {"name": model.name, "config": self.to_config(model),
                "commands": [_command_text(commands)] if commands else []}


def _command_text(commands):
    return "ovs-vsctl --no-wait " + ovsdb.command_text(commands)[len("ovs-vsctl "):]
