# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A virtual network for VMs, with field names from libvirt's network XML."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Dict, List, Optional

from ansible_collections.hypervisor.networking.plugins.module_utils.model import fields as f
from ansible_collections.hypervisor.networking.plugins.module_utils.model import network_services as svc

FORWARD_MODES = ("isolated", "bridge", "nat", "route", "open")
MAC_TABLE_MANAGERS = ("kernel", "libvirt")
FAMILIES = ("ipv4", "ipv6")
# Not '-' or '.' first: the name reaches file names and command lines (no '.', '..' or options)
_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
MAX_FORWARD_DELAY = 30  # seconds, the kernel's ceiling with STP on


@dataclasses.dataclass
class Forward:
    mode: Optional[str] = None
    dev: Optional[str] = None  # nat/route: restrict egress to this device
    nat: Optional[dict] = None  # nat: {addresses: {start, end}, ports: {start, end}, ipv6}; see network_services


@dataclasses.dataclass
class Bridge:
    name: Optional[str] = None
    stp: Optional[bool] = None
    delay: Optional[int] = None
    mac_table_manager: Optional[str] = None
    uplink: Optional[str] = None


@dataclasses.dataclass
class VmNetwork:
    name: str
    forward: Optional[Forward] = None
    bridge: Optional[Bridge] = None
    mtu: Optional[int] = None
    mac: Optional[str] = None
    # Interface addresses as "address/prefix" strings; merged adds to what is there.
    ips: Optional[List[str]] = dataclasses.field(default=None, metadata={"merge": "union"})
    # Services of nat/route/open/isolated networks, in the normal forms of network_services.
    # "address/prefix" -> {dhcp, tftp_root}; merged keeps the settings of addresses not given
    ip_options: Optional[Dict[str, dict]] = dataclasses.field(default=None, metadata={"merge": "union"})
    routes: Optional[List[dict]] = None
    domain: Optional[dict] = None
    dns: Optional[dict] = None
    bandwidth: Optional[dict] = None
    port_forwards: Optional[List[dict]] = None

    @property
    def mode(self):
        return self.forward.mode if self.forward and self.forward.mode else "isolated"

    @property
    def bridge_name(self):
        return self.bridge.name if self.bridge and self.bridge.name else self.name


DEFAULTS = VmNetwork(
    name="", forward=Forward(mode="isolated"),
    bridge=Bridge(stp=True, delay=0, mac_table_manager="kernel"), ips=[],
)


def from_config(item, path, problems):
    name = item.get("name")
    if name is None:
        problems.add(path + ".name", "is required")
    elif not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        problems.add(path + ".name", "%s is not a valid network name; use 1-64 letters, digits, '_', '.', '-', starting with a letter,"
                     " digit or '_'" % f.quoted(name))
    forward_item = f.as_dict(problems, path + ".forward", item.get("forward"))
    bridge_item = f.as_dict(problems, path + ".bridge", item.get("bridge"))
    forward = Forward(mode=f.check_choice(problems, path + ".forward.mode", forward_item.get("mode"), FORWARD_MODES))
    forward.dev = svc.forward_dev(problems, path, forward_item, forward.mode)
    forward.nat = svc.forward_nat(problems, path, forward_item, forward.mode)
    bridge = Bridge(
        name=f.check_ifname(problems, path + ".bridge.name", bridge_item.get("name")),
        stp=f.check_bool(problems, path + ".bridge.stp", bridge_item.get("stp")),
        delay=f.check_int(problems, path + ".bridge.delay", bridge_item.get("delay"), 0, MAX_FORWARD_DELAY),
        mac_table_manager=f.check_choice(problems, path + ".bridge.mac_table_manager", bridge_item.get("mac_table_manager"), MAC_TABLE_MANAGERS),
        uplink=f.check_ifname(problems, path + ".bridge.uplink", bridge_item.get("uplink")),
    )
    ips = None
    ip_options = {}
    if item.get("ips") is not None:
        ips = []
        for index, ip_item in enumerate(f.as_list(problems, path + ".ips", item["ips"])):
            ip_path = "%s.ips[%d]" % (path, index)
            ip_item = f.as_dict(problems, ip_path, ip_item)
            family = f.check_choice(problems, ip_path + ".family", ip_item.get("family"), FAMILIES)
            iface = f.parse_interface_address(problems, ip_path, ip_item.get("address"), ip_item.get("prefix"), ip_item.get("netmask"), family)
            if iface is not None:
                ips.append(str(iface))
            options = svc.ip_options(problems, ip_path, ip_item, iface, forward.mode)
            if options and iface is not None:
                ip_options[str(iface)] = options
        _check_overlaps(problems, path + ".ips", ips)
        svc.check_ip_options(problems, path, ips, ip_options)
    networks = [ipaddress.ip_interface(ip).network for ip in ips] if ips is not None else None
    model = VmNetwork(
        name=str(name) if name is not None else "",
        forward=forward if any(v is not None for v in dataclasses.astuple(forward)) else None,
        bridge=bridge if any(v is not None for v in dataclasses.astuple(bridge)) else None,
        mtu=f.check_int(problems, path + ".mtu", item.get("mtu"), 68, 65535),
        mac=f.normalize_mac(problems, path + ".mac", item.get("mac")),
        ips=ips,
        ip_options=ip_options or (None if ips is None else {}),
        routes=svc.routes(problems, path, item.get("routes"), networks),
        domain=svc.domain(problems, path, item.get("domain")),
        dns=svc.dns(problems, path, item.get("dns")),
        bandwidth=svc.bandwidth(problems, path, item.get("bandwidth")),
        port_forwards=svc.port_forwards(problems, path, item.get("port_forwards"), networks, forward.mode),
    )
    if forward.mode is not None and forward.mode != "bridge" and bridge.uplink:
        problems.add(path + ".bridge.uplink", uplink_problem(forward.mode))
    if isinstance(name, str) and bridge.name is None and _NAME_RE.fullmatch(name) and f.check_ifname(f.Problems(), "", name) is None:
        problems.add(path + ".bridge.name", "is required: the network name '%s' is not a valid interface name" % name)
    return model


def uplink_problem(mode):
    if mode == "isolated":
        return "an isolated network has no uplink; use forward.mode bridge"
    return "only forward.mode bridge takes an uplink (a %s network forwards through the host's routing, not a bridged NIC)" % mode


def _check_overlaps(problems, path, ips):
    networks = [ipaddress.ip_interface(ip).network for ip in ips]
    for i, first in enumerate(networks):
        for second in networks[i + 1:]:
            if first.version == second.version and first.overlaps(second):
                problems.add(path, "%s and %s overlap; give each subnet once" % (first, second))


def ip_to_config(ip, options=None):
    iface = ipaddress.ip_interface(ip)
    config = {"address": str(iface.ip), "prefix": iface.network.prefixlen, "family": "ipv%d" % iface.version}
    config.update(options or {})  # dhcp, tftp_root (see network_services)
    return config
