# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An OVS bridge of the userspace datapath (ovs_dpdk_bridge): values and checks without a host."""

from __future__ import annotations

import dataclasses
from typing import Dict, Optional

from ansible_collections.hypervisor.networking.plugins.module_utils.model import fields as f
from ansible_collections.hypervisor.networking.plugins.module_utils.model.ovs_port import check_map
from ansible_collections.hypervisor.networking.plugins.module_utils.ownership import OVS_OWNER_KEY

DATAPATH = "netdev"
FAIL_MODES = ("standalone", "secure")


@dataclasses.dataclass
class OvsDpdkBridge:
    name: str
    fail_mode: Optional[str] = None
    # map columns, managed key by key: only the keys given are set (a null value removes its key)
    other_config: Optional[Dict[str, Optional[str]]] = None
    external_ids: Optional[Dict[str, Optional[str]]] = None


def defaults(model):
    """Unset fields under replaced: OVS's own defaults (fail_mode empty, i.e. standalone)."""
    return OvsDpdkBridge(name=model.name)


def from_config(item, path, problems):
    # the bridge's internal port is a kernel tap device of the same name
    name = f.check_ifname(problems, path + ".name", item.get("name"))
    if item.get("name") is None:
        problems.add(path + ".name", "is required")
    return OvsDpdkBridge(
        name=name or item.get("name") or "",
        fail_mode=f.check_choice(problems, path + ".fail_mode", item.get("fail_mode"), FAIL_MODES),
        other_config=check_map(problems, path + ".other_config", item.get("other_config")),
        external_ids=check_map(problems, path + ".external_ids", item.get("external_ids"),
                               {OVS_OWNER_KEY: "the collection (its ownership mark)"}),
    )
