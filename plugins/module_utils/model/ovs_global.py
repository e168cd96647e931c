# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DPDK settings of the Open_vSwitch row (ovs_dpdk_global): values and checks without a host.

The row is a singleton: the model is one object whose name is always NAME. Each typed field
is one `other_config` key; `other_config` carries further keys, managed key by key.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Dict, List, Optional

from ansible_collections.hypervisor.networking.plugins.module_utils.model import fields as f
from ansible_collections.hypervisor.networking.plugins.module_utils.model.ovs_port import MAX_CORE, check_map

NAME = "Open_vSwitch"
MAX_SOCKET_MEM = 1048576   # MiB per NUMA node (1 TiB)
MAX_NUMA_NODES = 64
PMD_MAXSLEEP_MAX = 10000   # microseconds, OVS's limit
# field -> other_config key
FIELD_KEYS = (
    ("dpdk_init", "dpdk-init"),
    ("lcore_cores", "dpdk-lcore-mask"),
    ("pmd_cores", "pmd-cpu-mask"),
    ("socket_mem", "dpdk-socket-mem"),
    ("socket_limit", "dpdk-socket-limit"),
    ("dpdk_extra", "dpdk-extra"),
    ("vhost_sock_dir", "vhost-sock-dir"),
    ("per_port_memory", "per-port-memory"),
    ("pmd_maxsleep", "pmd-maxsleep"),
    ("hugepage_dir", "dpdk-hugepage-dir"),
)
# DPDK reads these once, when ovs-vswitchd starts: a change needs a restart
RESTART_KEYS = ("dpdk-init", "dpdk-socket-mem", "dpdk-socket-limit", "dpdk-lcore-mask", "dpdk-extra",
                "dpdk-hugepage-dir", "vhost-sock-dir", "per-port-memory")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclasses.dataclass
class OvsDpdkGlobal:
    name: str = NAME
    dpdk_init: Optional[bool] = None
    lcore_cores: Optional[List[int]] = None
    pmd_cores: Optional[List[int]] = None
    socket_mem: Optional[List[int]] = None
    socket_limit: Optional[List[int]] = None
    dpdk_extra: Optional[str] = None
    vhost_sock_dir: Optional[str] = None
    per_port_memory: Optional[bool] = None
    pmd_maxsleep: Optional[int] = None
    hugepage_dir: Optional[str] = None
    # further other_config keys, key by key: a null value removes its key
    other_config: Optional[Dict[str, Optional[str]]] = None


def defaults(model):
    """Unset fields under replaced: the key is absent (OVS's own default applies)."""
    return OvsDpdkGlobal()


def cores_mask(cores):
    """'0x6' for [1, 2]; None for no cores (the key is removed)."""
    if not cores:
        return None
    value = 0
    for core in cores:
        value |= 1 << core
    return "0x%x" % value


def _check_bool(problems, path, value):
    if value is not None and not isinstance(value, bool):
        problems.add(path, "must be true or false")
        return None
    return value


def _check_int_list(problems, path, value, minimum, maximum, what, unique=True):
    if value is None:
        return None
    if not isinstance(value, list):
        problems.add(path, "must be a list of %s" % what)
        return None
    result = []
    for index, item in enumerate(value):
        if isinstance(item, str) and item.isdigit():
            item = int(item)
        item = f.check_int(problems, "%s[%d]" % (path, index), item, minimum, maximum)
        if item is None:
            continue
        if unique and item in result:
            problems.add("%s[%d]" % (path, index), "%d is listed twice" % item)
            continue
        result.append(item)
    return sorted(result) if unique else result


def _check_text(problems, path, value):
    if value is None:
        return None
    if not isinstance(value, str):
        problems.add(path, "must be a string")
        return None
    if _CONTROL_RE.search(value):
        problems.add(path, "must not contain control characters (newlines, tabs)")
        return None
    return value


def _check_dir(problems, path, value, absolute):
    value = _check_text(problems, path, value)
    if not value:
        return value
    normal = os.path.normpath(value)
    if "//" in value:  # normpath keeps a leading '//' (POSIX leaves its meaning open)
        normal = None
    if absolute and (not value.startswith("/") or normal != value):
        problems.add(path, "'%s' must be an absolute, normalised path (no '..', '//' or trailing '/')" % value)
        return None
    if not absolute and (value.startswith("/") or normal != value or normal == ".." or normal.startswith("../")):
        problems.add(path, "'%s' must be a normalised path relative to OVS's run directory (no leading '/', no '..')" % value)
        return None
    return value


def from_config(item, path, problems):
    reserved = {key: field for field, key in FIELD_KEYS}
    model = OvsDpdkGlobal(
        dpdk_init=_check_bool(problems, path + ".dpdk_init", item.get("dpdk_init")),
        lcore_cores=_check_int_list(problems, path + ".lcore_cores", item.get("lcore_cores"), 0, MAX_CORE, "core ids"),
        pmd_cores=_check_int_list(problems, path + ".pmd_cores", item.get("pmd_cores"), 0, MAX_CORE, "core ids"),
        socket_mem=_check_int_list(problems, path + ".socket_mem", item.get("socket_mem"), 0, MAX_SOCKET_MEM,
                                   "MiB per NUMA node", unique=False),
        socket_limit=_check_int_list(problems, path + ".socket_limit", item.get("socket_limit"), 0, MAX_SOCKET_MEM,
                                     "MiB per NUMA node", unique=False),
        dpdk_extra=_check_text(problems, path + ".dpdk_extra", item.get("dpdk_extra")),
        vhost_sock_dir=_check_dir(problems, path + ".vhost_sock_dir", item.get("vhost_sock_dir"), absolute=False),
        per_port_memory=_check_bool(problems, path + ".per_port_memory", item.get("per_port_memory")),
        pmd_maxsleep=f.check_int(problems, path + ".pmd_maxsleep", item.get("pmd_maxsleep"), 0, PMD_MAXSLEEP_MAX),
        hugepage_dir=_check_dir(problems, path + ".hugepage_dir", item.get("hugepage_dir"), absolute=True),
        other_config=check_map(problems, path + ".other_config", item.get("other_config"), reserved),
    )
    for field in ("socket_mem", "socket_limit"):
        value = getattr(model, field)
        if value and len(value) > MAX_NUMA_NODES:
            problems.add(path + "." + field, "has %d entries; one per NUMA node, at most %d" % (len(value), MAX_NUMA_NODES))
    if model.lcore_cores and model.pmd_cores:
        shared = sorted(set(model.lcore_cores) & set(model.pmd_cores))
        if shared:
            problems.add(path + ".pmd_cores", "core(s) %s are also in lcore_cores; PMD threads need cores of their own"
                         % ", ".join(str(core) for core in shared))
    if model.socket_mem and model.socket_limit:
        for node, (mem, limit) in enumerate(zip(model.socket_mem, model.socket_limit)):
            if limit and mem > limit:
                problems.add("%s.socket_limit[%d]" % (path, node), "%d MiB is below socket_mem's %d MiB for NUMA node %d"
                             % (limit, mem, node))
    return model


def cells(model):
    """{other_config key: text or None (absent)} for the typed fields, plus the other_config keys given."""
    values = {
        "dpdk-init": _bool_text(model.dpdk_init),
        "dpdk-lcore-mask": cores_mask(model.lcore_cores),
        "pmd-cpu-mask": cores_mask(model.pmd_cores),
        "dpdk-socket-mem": _list_text(model.socket_mem),
        "dpdk-socket-limit": _list_text(model.socket_limit),
        "dpdk-extra": model.dpdk_extra or None,
        "vhost-sock-dir": model.vhost_sock_dir or None,
        "per-port-memory": _bool_text(model.per_port_memory),
        "pmd-maxsleep": None if model.pmd_maxsleep is None else str(model.pmd_maxsleep),
        "dpdk-hugepage-dir": model.hugepage_dir or None,
    }
    result = {("other_config", key): value for key, value in values.items()}
    for key, value in (model.other_config or {}).items():
        result[("other_config", key)] = value
    return result


def _bool_text(value):
    return None if value is None else ("true" if value else "false")


def _list_text(values):
    return ",".join(str(value) for value in values) if values else None
