# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An OVS-DPDK port (ovs_dpdk_port): values, defaults and every check that needs no host."""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Dict, List, Optional

from ansible_collections.hypervisor.networking.plugins.module_utils.model import fields as f

TYPES = ("dpdk", "dpdkvhostuserclient", "dpdkvhostuser")
VHOST_TYPES = ("dpdkvhostuserclient", "dpdkvhostuser")
BOND_MODES = ("active-backup", "balance-slb", "balance-tcp")
LACP_MODES = ("active", "passive", "off")
VLAN_MODES = ("access", "native-tagged", "native-untagged", "trunk", "dot1q-tunnel")
MAX_QUEUES = 1024           # OVS caps n_rxq at 1024
MAX_DESC = 4096             # n_rxq_desc / n_txq_desc: a power of two up to 4096
MAX_CORE = 1023
MTU_MIN, MTU_MAX = 68, 9710  # netdev-dpdk: 9728-byte frames minus L2 header and CRC
OFPORT_MAX = 65279           # OFPP_MAX
NAME_MAX = 64
_NAME_RE = re.compile(r"^[A-Za-z0-9_.+-]+$")
# A PCI address (domain optional) or a vdev name (net_<driver><id>, the legacy eth_ prefix too),
# each optionally followed by ,key=value arguments.
_PCI_RE = re.compile(r"^(?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$")
_VDEV_RE = re.compile(r"^(?:net|eth)_[a-z][a-z0-9_]*[0-9]+$")
_ARG_RE = re.compile(r"^[A-Za-z0-9_-]+=[^,=\s\"]+$")
_KEY_RE = re.compile(r"^[A-Za-z0-9_.:/-]+$")
# keys of Interface other_config that a field of this model owns
OWNED_OTHER_CONFIG = {"pmd-rxq-affinity": "rxq_affinity"}


@dataclasses.dataclass
class Member:
    name: str
    devargs: Optional[str] = None


@dataclasses.dataclass
class FlowControl:
    tx: Optional[bool] = None
    rx: Optional[bool] = None
    autoneg: Optional[bool] = None


@dataclasses.dataclass
class IngressPolicing:
    rate: Optional[int] = None
    burst: Optional[int] = None


@dataclasses.dataclass
class EgressPolicer:
    cir: Optional[int] = None
    cbs: Optional[int] = None


@dataclasses.dataclass
class OvsDpdkPort:
    name: str
    bridge: Optional[str] = None
    type: Optional[str] = None
    devargs: Optional[str] = None
    interfaces: Optional[List[Member]] = None
    bond_mode: Optional[str] = None
    lacp: Optional[str] = None
    vhost_server_path: Optional[str] = None
    n_rxq: Optional[int] = None
    n_rxq_desc: Optional[int] = None
    n_txq_desc: Optional[int] = None
    rxq_affinity: Optional[Dict[int, int]] = None
    mtu_request: Optional[int] = None
    flow_control: Optional[FlowControl] = None
    ingress_policing: Optional[IngressPolicing] = None
    egress_policer: Optional[EgressPolicer] = None
    tag: Optional[int] = None
    trunks: Optional[List[int]] = None
    vlan_mode: Optional[str] = None
    ofport_request: Optional[int] = None
    # map columns, managed key by key: only the keys given are set (a null value removes its key)
    external_ids: Optional[Dict[str, Optional[str]]] = None
    other_config: Optional[Dict[str, Optional[str]]] = None

    @property
    def is_bond(self):
        return bool(self.interfaces)

    def member_names(self):
        return [member.name for member in self.interfaces] if self.interfaces else [self.name]


def defaults(model):
    """What unset fields become under replaced/overridden: OVS's own defaults (None = column/key absent)."""
    return OvsDpdkPort(name=model.name, type="dpdk")


def check_port_name(problems, path, value):
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        problems.add(path, "must be a non-empty port name")
        return None
    # a leading '-' would read as an option of ovs-vsctl or ovs-appctl
    if len(value) > NAME_MAX or not _NAME_RE.fullmatch(value) or value in (".", "..") or value.startswith("-"):
        problems.add(path, "'%s' is not a valid port name; allowed: 1 to %d letters, digits, '_', '.', '+', '-' (not first)"
                     % (value, NAME_MAX))
        return None
    return value


def check_devargs(problems, path, value):
    """A PCI address or a vdev string, optionally with ,key=value arguments."""
    if value is None:
        return None
    text = str(value)
    head, sep, rest = text.partition(",")
    ok = bool(_PCI_RE.fullmatch(head) or _VDEV_RE.fullmatch(head))
    if ok and sep:  # a ',' needs key=value arguments after it, each non-empty
        ok = all(_ARG_RE.fullmatch(arg) for arg in rest.split(","))
    if not ok:
        problems.add(path, "'%s' is not valid dpdk-devargs; expected a PCI address such as 0000:01:00.0 or a vdev such as "
                     "net_null0,no-rx=1 or net_af_packet0,iface=eth1 (name, then ,key=value arguments)" % text)
        return None
    if _PCI_RE.fullmatch(head) and len(head) == 7:
        text = "0000:" + text  # OVS and DPDK report the full domain:bus:device.function form
    return text


def device_of(devargs):
    """The device part of devargs (what two ports cannot share)."""
    return devargs.partition(",")[0].lower() if devargs else None


def _check_power_of_two(problems, path, value, maximum):
    value = f.check_int(problems, path, value, 1, maximum)
    if value is not None and value & (value - 1):
        problems.add(path, "%d is not a power of two (allowed: 1, 2, 4, ... %d)" % (value, maximum))
        return None
    return value


def _check_bool(problems, path, value):
    if value is not None and not isinstance(value, bool):
        problems.add(path, "must be true or false")
        return None
    return value


def _check_map(problems, path, value, reserved=()):
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.add(path, "must be a dictionary of strings")
        return None
    result = {}
    for key, item in value.items():
        key = str(key)
        if not _KEY_RE.fullmatch(key):
            problems.add(path, "key '%s' has characters OVSDB keys here cannot have; allowed: letters, digits, '_ . : / -'" % key)
            continue
        if key in reserved:
            problems.add(path + "." + key, "is managed by %s; set that field instead" % reserved[key])
            continue
        if item is None:
            result[key] = None  # remove this key
            continue
        if isinstance(item, (dict, list)):
            problems.add(path + "." + key, "must be a string, or null to remove the key")
            continue
        text = ("true" if item else "false") if isinstance(item, bool) else str(item)
        if not text.isprintable():
            problems.add(path + "." + key, "must not contain line breaks or other control characters")
            continue
        result[key] = text
    return result


def _check_affinity(problems, path, value):
    """{queue id: core id}; keys may arrive as strings (YAML, saved JSON)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.add(path, "must be a dictionary of queue id: core id, e.g. {0: 3, 1: 7}")
        return None
    result = {}
    for key, core in value.items():
        try:
            queue = int(str(key))
        except ValueError:
            problems.add(path, "queue id '%s' is not an integer" % key)
            continue
        if not 0 <= queue < MAX_QUEUES:
            problems.add(path, "queue id %d is outside 0..%d" % (queue, MAX_QUEUES - 1))
            continue
        if isinstance(core, str) and core.isdigit():
            core = int(core)
        core = f.check_int(problems, "%s.%d" % (path, queue), core, 0, MAX_CORE)
        if core is not None:
            result[queue] = core
    return result


def _check_trunks(problems, path, value):
    if value is None:
        return None
    if not isinstance(value, list):
        problems.add(path, "must be a list of VLAN ids 0..4095")
        return None
    result = []
    for index, vid in enumerate(value):
        if isinstance(vid, str) and vid.isdigit():
            vid = int(vid)
        vid = f.check_int(problems, "%s[%d]" % (path, index), vid, 0, 4095)
        if vid is not None and vid not in result:
            result.append(vid)
    return sorted(result)


def check_socket_path(problems, path, value):
    """Absolute and normalised (no '..', no trailing '/'), in any directory: OVS connects to wherever QEMU listens."""
    if value is None:
        return None
    text = str(value)
    if not text.startswith("/") or os.path.normpath(text) != text or "/../" in text + "/":
        problems.add(path, "'%s' must be an absolute, normalised path (no '..', '//' or trailing '/')" % text)
        return None
    if len(text) > 107:
        problems.add(path, "is %d characters; a unix socket path has at most 107" % len(text))
        return None
    return text


def from_config(item, path, problems):
    name = check_port_name(problems, path + ".name", item.get("name"))
    if item.get("name") is None:
        problems.add(path + ".name", "is required")
    members = None
    if item.get("interfaces") is not None:
        members = []
        if not isinstance(item["interfaces"], list):
            problems.add(path + ".interfaces", "must be a list of {name, devargs}")
        else:
            for index, member in enumerate(item["interfaces"]):
                mpath = "%s.interfaces[%d]" % (path, index)
                if not isinstance(member, dict):
                    problems.add(mpath, "must be a dictionary with name and devargs")
                    continue
                mname = check_port_name(problems, mpath + ".name", member.get("name"))
                if member.get("name") is None:
                    problems.add(mpath + ".name", "is required")
                devargs = check_devargs(problems, mpath + ".devargs", member.get("devargs"))
                if member.get("devargs") is None:
                    problems.add(mpath + ".devargs", "is required: the PCI address or vdev of this bond member")
                members.append(Member(name=mname or "", devargs=devargs))
    sub = item.get("flow_control") or {}
    flow = FlowControl(**{key: _check_bool(problems, "%s.flow_control.%s" % (path, key), sub.get(key)) for key in ("tx", "rx", "autoneg")})
    sub = item.get("ingress_policing") or {}
    ingress = IngressPolicing(rate=f.check_int(problems, path + ".ingress_policing.rate", sub.get("rate"), 0, 2 ** 32 - 1),
                              burst=f.check_int(problems, path + ".ingress_policing.burst", sub.get("burst"), 0, 2 ** 32 - 1))
    sub = item.get("egress_policer") or {}
    egress = EgressPolicer(cir=f.check_int(problems, path + ".egress_policer.cir", sub.get("cir"), 0, 2 ** 63 - 1),
                           cbs=f.check_int(problems, path + ".egress_policer.cbs", sub.get("cbs"), 0, 2 ** 63 - 1))
    model = OvsDpdkPort(
        name=name or item.get("name") or "",
        bridge=check_port_name(problems, path + ".bridge", item.get("bridge")),
        type=f.check_choice(problems, path + ".type", item.get("type"), TYPES),
        devargs=check_devargs(problems, path + ".devargs", item.get("devargs")),
        interfaces=members,
        bond_mode=f.check_choice(problems, path + ".bond_mode", item.get("bond_mode"), BOND_MODES),
        lacp=f.check_choice(problems, path + ".lacp", item.get("lacp"), LACP_MODES),
        vhost_server_path=check_socket_path(problems, path + ".vhost_server_path", item.get("vhost_server_path")),
        n_rxq=f.check_int(problems, path + ".n_rxq", item.get("n_rxq"), 1, MAX_QUEUES),
        n_rxq_desc=_check_power_of_two(problems, path + ".n_rxq_desc", item.get("n_rxq_desc"), MAX_DESC),
        n_txq_desc=_check_power_of_two(problems, path + ".n_txq_desc", item.get("n_txq_desc"), MAX_DESC),
        rxq_affinity=_check_affinity(problems, path + ".rxq_affinity", item.get("rxq_affinity")),
        mtu_request=f.check_int(problems, path + ".mtu_request", item.get("mtu_request"), MTU_MIN, MTU_MAX),
        flow_control=flow if any(v is not None for v in dataclasses.astuple(flow)) else None,
        ingress_policing=ingress if any(v is not None for v in dataclasses.astuple(ingress)) else None,
        egress_policer=egress if any(v is not None for v in dataclasses.astuple(egress)) else None,
        tag=f.check_int(problems, path + ".tag", item.get("tag"), 0, 4095),
        trunks=_check_trunks(problems, path + ".trunks", item.get("trunks")),
        vlan_mode=f.check_choice(problems, path + ".vlan_mode", item.get("vlan_mode"), VLAN_MODES),
        ofport_request=f.check_int(problems, path + ".ofport_request", item.get("ofport_request"), 1, OFPORT_MAX),
        external_ids=_check_map(problems, path + ".external_ids", item.get("external_ids")),
        other_config=_check_map(problems, path + ".other_config", item.get("other_config"), OWNED_OTHER_CONFIG),
    )
    _check_combinations(problems, path, model, {key for key, value in item.items() if value is not None})
    return model


FIELDS = tuple(field.name for field in dataclasses.fields(OvsDpdkPort))


def _check_combinations(problems, path, model, known):
    """Rules between fields, each checked only when the fields that decide it are known.

    `known` names the fields whose value is settled: in from_config the fields the item gives
    (a partial merged item says nothing about the rest), in validate_desired every field of the
    completed object (type, n_rxq, interfaces as they will be on the host).
    """
    kind = model.type if "type" in known else None
    bond = model.is_bond if "interfaces" in known else None
    if model.interfaces is not None:
        if len(model.interfaces) < 2:
            problems.add(path + ".interfaces", "a DPDK bond needs at least two interfaces (got %d); for one device use devargs" % len(model.interfaces))
        names = [member.name for member in model.interfaces]
        for name in sorted(set(names)):
            if names.count(name) > 1:
                problems.add(path + ".interfaces", "interface name '%s' is listed twice" % name)
        if model.name in names:
            problems.add(path + ".interfaces", "a bond member cannot have the bond's own name '%s'" % model.name)
    if bond:
        if kind is not None and kind != "dpdk":
            problems.add(path + ".type", "is %s, but a bond ('interfaces') is made of devices; allowed with interfaces: dpdk" % kind)
        if model.devargs is not None:
            problems.add(path + ".devargs", "applies to a single-device port; a bond gives devargs per member in 'interfaces' "
                         "(to turn a port into a bond or back, use state replaced)")
        for key in ("n_rxq", "rxq_affinity", "ofport_request"):
            if getattr(model, key) is not None:
                problems.add(path + "." + key, "applies to a single-device port, not to a bond (this port has interfaces %s)"
                             % ", ".join(model.member_names()))
    elif bond is False:
        for key in ("bond_mode", "lacp"):
            if getattr(model, key) is not None:
                problems.add(path + "." + key, "applies to a bond only (list its devices in 'interfaces')")
    if kind == "dpdk":
        if model.vhost_server_path is not None:
            problems.add(path + ".vhost_server_path", "applies to type dpdkvhostuserclient only (this port's type is dpdk; give type: dpdkvhostuserclient)")
    elif kind is not None:
        for key in ("devargs", "flow_control", "n_rxq", "n_rxq_desc", "n_txq_desc"):
            if getattr(model, key) is not None:
                problems.add(path + "." + key, "applies to type dpdk (a physical device or vdev) only, not to %s" % kind)
        if kind == "dpdkvhostuser" and model.vhost_server_path is not None:
            problems.add(path + ".vhost_server_path", "applies to type dpdkvhostuserclient only; a dpdkvhostuser socket is <vhost-sock-dir>/<name>")
    # queue ids: n_rxq given (which only a single dpdk device takes), or the completed dpdk port's n_rxq (default 1)
    if model.rxq_affinity and "n_rxq" in known and kind in (None, "dpdk") and not bond:
        n_rxq = model.n_rxq or 1
        for queue in sorted(model.rxq_affinity):
            if queue >= n_rxq:
                problems.add("%s.rxq_affinity.%d" % (path, queue), "queue id %d is not below n_rxq (%d%s); queues are 0..%d"
                             % (queue, n_rxq, "" if model.n_rxq else ", the default", n_rxq - 1))
    if model.tag is not None and model.vlan_mode == "trunk":
        problems.add(path + ".tag", "vlan_mode trunk carries no access tag (allowed with tag: access, native-tagged, native-untagged, dot1q-tunnel)")
    if model.trunks and model.vlan_mode == "access":
        problems.add(path + ".trunks", "vlan_mode access carries no trunks (allowed with trunks: trunk, native-tagged, native-untagged, dot1q-tunnel)")


def validate_desired(problems, path, model):
    """Checks on the complete desired object (after merged/replaced filled it in from the host or defaults)."""
    _check_combinations(problems, path, model, FIELDS)
    kind = model.type or "dpdk"
    if not model.bridge:
        problems.add(path + ".bridge", "is required: the netdev bridge the port belongs to")
    if kind == "dpdk" and not model.is_bond and not model.devargs:
        problems.add(path + ".devargs", "is required for type dpdk: a PCI address (0000:01:00.0) or a vdev (net_null0,no-rx=1)")
    if kind == "dpdkvhostuserclient" and not model.vhost_server_path:
        problems.add(path + ".vhost_server_path", "is required for type dpdkvhostuserclient: the socket QEMU listens on")


def check_config(models, problems):
    """Across ports: one device, one member name, one ofport_request each."""
    devices, names, ofports = {}, {}, {}
    for index, model in enumerate(models):
        path = "config[%d]" % index
        for member in model.interfaces or []:
            if member.name in names:
                problems.add(path + ".interfaces", "interface '%s' is also used by %s" % (member.name, names[member.name]))
            names[member.name] = path
        devargs = [member.devargs for member in model.interfaces or []] + [model.devargs]
        for value in devargs:
            device = device_of(value)
            if device is None:
                continue
            if device in devices:
                problems.add(path, "device %s is also used by %s; a device backs one port only" % (device, devices[device]))
            devices[device] = path
        if model.ofport_request is not None:
            if model.ofport_request in ofports:
                problems.add(path + ".ofport_request", "%d is also requested by %s" % (model.ofport_request, ofports[model.ofport_request]))
            ofports[model.ofport_request] = path
    for index, model in enumerate(models):
        if model.name in names:
            problems.add("config[%d].name" % index, "'%s' is also a bond member of %s" % (model.name, names[model.name]))


check_map = _check_map  # shared with the Open_vSwitch row and bridges (model/ovs_global.py, model/ovs_bridge.py)
