# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A virtual network for VMs, with field names from libvirt's network XML.

One model for every backend: a config moves between backends by changing the word
`backend`. Fields only one backend can make are listed in BACKEND_FIELDS, and
unsupported_fields() is what each backend's resource refuses with.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Dict, List, Optional

from ansible_collections.hypervisor.networking.plugins.module_utils.model import fields as f
from ansible_collections.hypervisor.networking.plugins.module_utils.model import network_services as svc

FORWARD_MODES = ("isolated", "bridge", "nat", "route", "open", "private", "vepa", "passthrough", "hostdev")
MACVTAP_MODES = ("bridge", "private", "vepa", "passthrough")  # a pool of host NICs, each guest a macvtap on one
POOL_MODES = MACVTAP_MODES + ("hostdev",)
# libvirt has no <bridge> element for these: guests sit on a NIC (macvtap) or get a PCI function
BRIDGELESS_MODES = ("private", "vepa", "passthrough", "hostdev")
HOSTDEV_DRIVERS = ("vfio", "kvm")
MAC_TABLE_MANAGERS = ("kernel", "libvirt")
NATIVE_MODES = ("tagged", "untagged")
VIRTUALPORT_TYPES = ("openvswitch", "802.1Qbg", "802.1Qbh", "midonet")
# parameters of each virtualport type, snake_case of libvirt's attributes (see VIRTUALPORT_ATTRIBUTES)
VIRTUALPORT_PARAMETERS = {
    None: ("interface_id", "profile_id", "manager_id", "type_id", "type_id_version", "instance_id"),
    "openvswitch": ("interface_id", "profile_id"),
    "802.1Qbg": ("manager_id", "type_id", "type_id_version", "instance_id"),
    "802.1Qbh": ("profile_id",),
    "midonet": ("interface_id",),
}
VIRTUALPORT_ATTRIBUTES = {"interface_id": "interfaceid", "profile_id": "profileid", "manager_id": "managerid",
                          "type_id": "typeid", "type_id_version": "typeidversion", "instance_id": "instanceid"}
MAX_VLAN_ID = 4095
_UUID_RE = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")
_PCI_RE = re.compile(r"(?:([0-9a-f]{1,4}):)?([0-9a-f]{1,2}):([0-9a-f]{1,2})\.([0-7])")
_ZONE_RE = re.compile(r"[A-Za-z0-9_-]{1,17}")  # firewalld zone names: at most 17 characters
_PROFILE_RE = re.compile(r"[ -~]{1,39}")  # libvirt's profileid: at most 39 printable characters
_PORTGROUP_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
FAMILIES = ("ipv4", "ipv6")
# Not '-' or '.' first: the name reaches file names and command lines (no '.', '..' or options)
_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
MAX_FORWARD_DELAY = 30  # seconds, the kernel's ceiling with STP on


@dataclasses.dataclass
class Forward:
    mode: Optional[str] = None
    dev: Optional[str] = None  # nat/route: restrict egress to this device; macvtap pools: the first interface
    nat: Optional[dict] = None  # nat: {addresses: {start, end}, ports: {start, end}, ipv6}; see network_services
    interfaces: Optional[List[str]] = None  # macvtap pool: host NICs
    pf: Optional[str] = None  # macvtap or hostdev pool: the VFs of this physical function
    addresses: Optional[List[str]] = None  # hostdev pool: PCI functions as "dddd:bb:ss.f"
    driver: Optional[str] = None  # hostdev: vfio or kvm
    managed: Optional[bool] = None  # hostdev: libvirt binds the VF to the driver itself


@dataclasses.dataclass
class Bridge:
    name: Optional[str] = None
    stp: Optional[bool] = None
    delay: Optional[int] = None
    mac_table_manager: Optional[str] = None
    uplink: Optional[str] = None
    zone: Optional[str] = None  # firewalld zone (libvirt)


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
    # libvirt's network attributes and elements without a kernel-backend counterpart
    uuid: Optional[str] = None
    ipv6: Optional[bool] = None  # guest-to-guest IPv6 without any IPv6 address on the bridge
    trust_guest_rx_filters: Optional[bool] = None
    vlan: Optional[dict] = None  # {trunk, tags: [{id, native_mode}]}
    virtualport: Optional[dict] = None  # {type, parameters: {...}}
    portgroups: Optional[List[dict]] = None  # [{name, default, trust_guest_rx_filters, vlan, bandwidth, virtualport}]
    autostart: Optional[bool] = None
    connections: Optional[int] = None  # read-only: guest interfaces on the running network (parsed, gathered)

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
    _forward_pool(problems, path + ".forward", forward_item, forward)
    bridge = Bridge(
        name=f.check_ifname(problems, path + ".bridge.name", bridge_item.get("name")),
        stp=f.check_bool(problems, path + ".bridge.stp", bridge_item.get("stp")),
        delay=f.check_int(problems, path + ".bridge.delay", bridge_item.get("delay"), 0, MAX_FORWARD_DELAY),
        mac_table_manager=f.check_choice(problems, path + ".bridge.mac_table_manager", bridge_item.get("mac_table_manager"), MAC_TABLE_MANAGERS),
        uplink=f.check_ifname(problems, path + ".bridge.uplink", bridge_item.get("uplink")),
        zone=_text(problems, path + ".bridge.zone", bridge_item.get("zone"), _ZONE_RE,
                   "a firewalld zone name (1-17 letters, digits, '_', '-')"),
    )
    if item.get("connections") is not None:
        problems.add(path + ".connections", "is read-only: libvirt reports how many guest interfaces use a running network;"
                     " leave it out of config")
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
        uuid=_uuid(problems, path + ".uuid", item.get("uuid")),
        ipv6=f.check_bool(problems, path + ".ipv6", item.get("ipv6")),
        trust_guest_rx_filters=f.check_bool(problems, path + ".trust_guest_rx_filters", item.get("trust_guest_rx_filters")),
        vlan=_vlan(problems, path + ".vlan", item.get("vlan")),
        virtualport=_virtualport(problems, path + ".virtualport", item.get("virtualport")),
        portgroups=_portgroups(problems, path + ".portgroups", item.get("portgroups")),
        autostart=f.check_bool(problems, path + ".autostart", item.get("autostart")),
    )
    if forward.mode is not None and forward.mode != "bridge" and bridge.uplink:
        problems.add(path + ".bridge.uplink", uplink_problem(forward.mode))
    if isinstance(name, str) and bridge.name is None and forward.mode not in BRIDGELESS_MODES and _NAME_RE.fullmatch(name) \
            and f.check_ifname(f.Problems(), "", name) is None:
        problems.add(path + ".bridge.name", "is required: the network name '%s' is not a valid interface name" % name)
    return model


# ---- libvirt's pools, VLANs, virtual ports and port groups ------------------------------------
def _text(problems, path, value, pattern, what):
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        problems.add(path, "%s is not %s" % (f.quoted(value), what))
        return None
    return value


def _uuid(problems, path, value):
    """RFC 4122 text, normalised to lower case with dashes (libvirt also reads it without them)."""
    if value is None:
        return None
    text = str(value).strip().lower() if isinstance(value, str) else ""
    if not _UUID_RE.fullmatch(text):
        problems.add(path, "%s is not a UUID; expected 32 hex digits such as 3e3fce45-4f53-4fa7-bb32-11f34168b82b" % f.quoted(value))
        return None
    digits = text.replace("-", "")
    return "%s-%s-%s-%s-%s" % (digits[:8], digits[8:12], digits[12:16], digits[16:20], digits[20:])


def pci_address(problems, path, value):
    """A PCI function as "dddd:bb:ss.f" (domain optional, hex), normalised to 0000:04:00.1."""
    match = _PCI_RE.fullmatch(value.strip().lower()) if isinstance(value, str) else None
    if not match or int(match.group(3), 16) > 0x1f:
        problems.add(path, "%s is not a PCI function; write domain:bus:slot.function in hex, such as 0000:04:00.1"
                     " (slot 00-1f, function 0-7)" % f.quoted(value))
        return None
    domain, bus, slot, function = (int(group or "0", 16) for group in match.groups())
    return "%04x:%02x:%02x.%x" % (domain, bus, slot, function)


def _forward_pool(problems, path, item, forward):
    """forward.interfaces, pf, addresses, driver and managed: the pools of macvtap and hostdev networks."""
    mode = forward.mode
    if item.get("interfaces") is not None:
        names = []
        for index, name in enumerate(f.as_list(problems, path + ".interfaces", item["interfaces"])):
            name = f.check_ifname(problems, "%s.interfaces[%d]" % (path, index), name)
            if name in names:
                problems.add("%s.interfaces[%d]" % (path, index), "%s is listed twice" % name)
            elif name is not None:
                names.append(name)
        forward.interfaces = names
    forward.pf = f.check_ifname(problems, path + ".pf", item.get("pf"))
    if item.get("addresses") is not None:
        functions = []
        for index, value in enumerate(f.as_list(problems, path + ".addresses", item["addresses"])):
            function = pci_address(problems, "%s.addresses[%d]" % (path, index), value)
            if function in functions:
                problems.add("%s.addresses[%d]" % (path, index), "%s is listed twice" % function)
            elif function is not None:
                functions.append(function)
        forward.addresses = functions
    forward.driver = f.check_choice(problems, path + ".driver", item.get("driver"), HOSTDEV_DRIVERS)
    forward.managed = f.check_bool(problems, path + ".managed", item.get("managed"))
    if mode is not None:  # else check_desired() decides, with the mode from the host
        for problem in forward_pool_problems(forward):
            problems.add(path + problem[0], problem[1])


def forward_pool_problems(forward):
    """libvirt's rules of the pools, as [(suffix under forward, message)]."""
    mode = forward.mode or "isolated"
    found = []
    if forward.interfaces and mode not in MACVTAP_MODES:
        found.append((".interfaces", "a pool of host NICs is for forward.mode bridge, private, vepa or passthrough (macvtap), not %s" % mode))
    if forward.pf and mode not in POOL_MODES:
        found.append((".pf", "a physical function's VFs are a pool of forward.mode bridge, private, vepa, passthrough or hostdev, not %s" % mode))
    if forward.pf and (forward.interfaces or forward.addresses):
        found.append((".pf", "give the pool once: pf, or forward.interfaces / forward.addresses (libvirt lists the VFs of pf itself)"))
    if forward.addresses and mode != "hostdev":
        found.append((".addresses", "PCI functions are the pool of forward.mode hostdev, not %s" % mode))
    for field in ("driver", "managed"):
        if getattr(forward, field) is not None and mode != "hostdev":
            found.append(("." + field, "only applies to forward.mode hostdev, not %s" % mode))
    if forward.dev and mode in MACVTAP_MODES and forward.interfaces and forward.dev != forward.interfaces[0]:
        found.append((".dev", "%s must be the first of forward.interfaces (%s), as libvirt has it" % (forward.dev, forward.interfaces[0])))
    if mode in BRIDGELESS_MODES and not (forward.interfaces or forward.pf or forward.addresses or forward.dev):
        pool = "forward.addresses or forward.pf" if mode == "hostdev" else "forward.interfaces, forward.pf or forward.dev"
        found.append(("", "forward.mode %s needs its pool: %s" % (mode, pool)))
    return found


def _vlan(problems, path, value):
    if value is None:
        return None
    item = f.as_dict(problems, path, value)
    tags = []
    native = None
    for index, tag_item in enumerate(f.as_list(problems, path + ".tags", item.get("tags"))):
        tpath = "%s.tags[%d]" % (path, index)
        tag_item = f.as_dict(problems, tpath, tag_item)
        tag_id = f.check_int(problems, tpath + ".id", tag_item.get("id"), 0, MAX_VLAN_ID)
        if tag_item.get("id") is None:
            problems.add(tpath + ".id", "is required (0..%d)" % MAX_VLAN_ID)
        native_mode = f.check_choice(problems, tpath + ".native_mode", tag_item.get("native_mode"), NATIVE_MODES)
        if native_mode is not None:
            if native is not None:
                problems.add(tpath + ".native_mode", "tags[%d] is already the native VLAN; one tag may have native_mode" % native)
            native = index if native is None else native
        if tag_id is not None and tag_id in [tag["id"] for tag in tags]:
            problems.add(tpath + ".id", "%d is listed twice" % tag_id)
        elif tag_id is not None:
            tags.append(svc._compact({"id": tag_id, "native_mode": native_mode}))  # pylint: disable=protected-access
    if not tags and not item.get("tags"):
        problems.add(path + ".tags", "is required (at least one tag)")
    trunk = f.check_bool(problems, path + ".trunk", item.get("trunk"))
    if trunk is False and len(tags) > 1:
        problems.add(path + ".trunk", "several tags are a trunk; trunk false allows one tag")
    if not tags:
        return None
    return svc._compact({"trunk": trunk, "tags": tags})  # pylint: disable=protected-access


def _virtualport(problems, path, value):
    if value is None:
        return None
    item = f.as_dict(problems, path, value)
    port_type = f.check_choice(problems, path + ".type", item.get("type"), VIRTUALPORT_TYPES)
    allowed = VIRTUALPORT_PARAMETERS[port_type]
    given = f.as_dict(problems, path + ".parameters", item.get("parameters"))
    parameters = {}
    for key in sorted(given):
        parameter = given[key]
        ppath = "%s.parameters.%s" % (path, key)
        if parameter is None:
            continue
        if key not in allowed:
            problems.add(ppath, "is not a parameter of virtualport type %s; allowed: %s" % (port_type or "(none)", ", ".join(allowed)))
        elif key in ("interface_id", "instance_id"):
            parameters[key] = _uuid(problems, ppath, parameter)
        elif key == "profile_id":
            parameters[key] = _text(problems, ppath, parameter, _PROFILE_RE, "a profile id (1-39 printable ASCII characters)")
        else:
            parameters[key] = f.check_int(problems, ppath, parameter, 0, 0xFFFFFF if key == "type_id" else 0xFF)
    result = svc._compact({"type": port_type, "parameters": svc._compact(parameters) or None})  # pylint: disable=protected-access
    if item.get("type") is None and not result:
        return {}
    return result


def _portgroups(problems, path, value):
    if value is None:
        return None
    groups = []
    seen = {}
    default = None
    for index, item in enumerate(f.as_list(problems, path, value)):
        gpath = "%s[%d]" % (path, index)
        item = f.as_dict(problems, gpath, item)
        name = _text(problems, gpath + ".name", item.get("name"), _PORTGROUP_RE, "a port group name (1-64 letters, digits, '_', '.', '-')")
        if item.get("name") is None:
            problems.add(gpath + ".name", "is required")
        elif name in seen:
            problems.add(gpath + ".name", "'%s' is also portgroups[%d]" % (name, seen[name]))
        if name is not None:
            seen.setdefault(name, index)
        is_default = f.check_bool(problems, gpath + ".default", item.get("default"))
        if is_default:
            if default is not None:
                problems.add(gpath + ".default", "portgroups[%d] is already the default; one port group may be" % default)
            default = index if default is None else default
        group = svc._compact({  # pylint: disable=protected-access
            "name": name,
            "default": is_default,
            "trust_guest_rx_filters": f.check_bool(problems, gpath + ".trust_guest_rx_filters", item.get("trust_guest_rx_filters")),
            "vlan": _vlan(problems, gpath + ".vlan", item.get("vlan")),
            "bandwidth": svc.bandwidth(problems, gpath, item.get("bandwidth")),
            "virtualport": _virtualport(problems, gpath + ".virtualport", item.get("virtualport")),
        })
        if name is not None:
            groups.append(group)
    return groups


def check_desired(problems, path, model):
    """libvirt's rules that need the whole model (under merged, the mode may come from the host)."""
    forward = model.forward or Forward()
    for suffix, message in forward_pool_problems(dataclasses.replace(forward, mode=model.mode)):
        problems.add(path + ".forward" + suffix, message)
    bridge = model.bridge or Bridge()
    if model.mode in BRIDGELESS_MODES and any(value is not None for value in dataclasses.astuple(bridge)):
        problems.add(path + ".bridge", "a %s network has no bridge: guests use the NICs or PCI functions of forward" % model.mode)
    _check_vlans(problems, path, model)
    # per-guest bandwidth needs the traffic to pass a bridge: libvirt's own, or a named host bridge
    host_bridge = model.mode == "bridge" and bridge.name is not None and not forward.interfaces and not forward.pf
    bandwidth_allowed = model.mode in svc.SERVICE_MODES or host_bridge
    for index, group in enumerate(model.portgroups or []):
        if group.get("bandwidth") and not bandwidth_allowed:
            problems.add("%s.portgroups[%d].bandwidth" % (path, index), "needs forward.mode nat, route, open, isolated or bridge with"
                         " bridge.name (not %s)" % model.mode)
    if bridge.zone is not None and model.mode not in svc.SERVICE_MODES:
        problems.add(path + ".bridge.zone", "a firewalld zone is for the bridge libvirt makes (forward.mode nat, route, open, isolated), not %s"
                     % model.mode)


def _check_vlans(problems, path, model):
    """libvirt tags guest traffic only where the connection can: an SR-IOV VF (hostdev, passthrough)
    or an Open vSwitch port; a Linux bridge or macvtap cannot. A port group with its own virtualport
    decides for its guests, one without inherits the network's."""
    why = ("VLAN tags need forward.mode hostdev or passthrough (SR-IOV VFs), or forward.mode bridge with virtualport type"
           " openvswitch; a Linux bridge or macvtap does not tag (not %s)" % model.mode)
    network_ovs = (model.virtualport or {}).get("type") == "openvswitch"
    allowed = model.mode in ("hostdev", "passthrough") or (model.mode == "bridge" and network_ovs)
    has_default = False
    for index, group in enumerate(model.portgroups or []):
        has_default = has_default or bool(group.get("default"))
        if not (model.vlan or group.get("vlan")):
            continue
        virtualport = group.get("virtualport")
        group_allowed = (model.mode == "bridge" and virtualport.get("type") == "openvswitch") if virtualport else allowed
        if not group_allowed:
            problems.add("%s.portgroups[%d]%s" % (path, index, ".vlan" if group.get("vlan") else ""), why)
    if model.vlan and not allowed and not has_default:
        problems.add(path + ".vlan", why)


# ---- which backend can make which field ------------------------------------------------------
BACKENDS = ("kernel", "libvirt")
LIBVIRT_ONLY = "needs backend: libvirt"
# (field path under the item, backends that can make it, why not elsewhere); the value getter is in _field_values
# libvirt neither makes nor addresses the bridge of forward.mode bridge (an existing host bridge) or
# the NICs and VFs of a pool; the kernel backend builds its bridge-mode bridge itself
LIBVIRT_UNMANAGED = ("needs backend: kernel in forward.mode bridge, private, vepa, passthrough and hostdev: libvirt neither makes"
                     " nor addresses that bridge or those NICs")
# (field path under the item, backends that can make it, why not elsewhere, the modes the row is about or None for all)
BACKEND_FIELDS = (
    ("forward.mode", ("libvirt",), LIBVIRT_ONLY + " (macvtap and PCI passthrough pools)", BRIDGELESS_MODES),
    ("forward.dev", ("libvirt",), LIBVIRT_ONLY + " (the first NIC of a macvtap pool)", MACVTAP_MODES),
    ("forward.interfaces", ("libvirt",), LIBVIRT_ONLY, None),
    ("forward.pf", ("libvirt",), LIBVIRT_ONLY, None),
    ("forward.addresses", ("libvirt",), LIBVIRT_ONLY, None),
    ("forward.driver", ("libvirt",), LIBVIRT_ONLY, None),
    ("forward.managed", ("libvirt",), LIBVIRT_ONLY, None),
    ("bridge.zone", ("libvirt",), LIBVIRT_ONLY + " (firewalld zones)", None),
    ("bridge.uplink", ("kernel",), "needs backend: kernel; with backend libvirt, forward.mode bridge puts guests on an existing"
                                   " host bridge (bridge.name), whose ports are the host's business", None),
    ("bridge.stp", ("kernel",), LIBVIRT_UNMANAGED, POOL_MODES),
    ("bridge.delay", ("kernel",), LIBVIRT_UNMANAGED, POOL_MODES),
    ("mtu", ("kernel",), LIBVIRT_UNMANAGED, POOL_MODES),
    ("mac", ("kernel",), LIBVIRT_UNMANAGED, POOL_MODES),
    ("ips", ("kernel",), LIBVIRT_UNMANAGED, POOL_MODES),
    ("port_forwards", ("kernel",), "needs backend: kernel; libvirt networks have no port forwarding", None),
    ("uuid", ("libvirt",), LIBVIRT_ONLY, None),
    ("ipv6", ("libvirt",), LIBVIRT_ONLY, None),
    ("trust_guest_rx_filters", ("libvirt",), LIBVIRT_ONLY, None),
    ("vlan", ("libvirt",), LIBVIRT_ONLY, None),
    ("virtualport", ("libvirt",), LIBVIRT_ONLY, None),
    ("portgroups", ("libvirt",), LIBVIRT_ONLY, None),
    ("autostart", ("libvirt",), LIBVIRT_ONLY + " (the kernel backend restores every network it saved at boot; see persist)", None),
)
# (field, backends that need it, modes, why): libvirt forwards only a network it has an address on
BACKEND_REQUIRED = (
    ("ips", ("libvirt",), ("nat", "route", "open"), "is required with backend libvirt for forward.mode nat, route and open"
                                                    " (libvirt forwards only for a network it has an address on)"),
)


def _field_values(model, field):
    """[(path suffix with indexes, value)] of a BACKEND_FIELDS path in the model."""
    forward = model.forward or Forward()
    bridge = model.bridge or Bridge()
    if field == "forward.mode":
        return [(field, model.mode)]
    if field.startswith("forward."):
        return [(field, getattr(forward, field.split(".")[1]))]
    if field.startswith("bridge."):
        return [(field, getattr(bridge, field.split(".")[1]))]
    return [(field, getattr(model, field))]


def unsupported_fields(model, backend):
    """[(field path suffix, reason)] of the fields set in `model` that `backend` cannot make.

    The one table of what differs between backends: each backend's resource refuses these in
    check_desired, before anything is read or changed.
    """
    found = []
    for field, backends, reason, modes in BACKEND_FIELDS:
        if backend in backends or (modes is not None and model.mode not in modes):
            continue
        for suffix, value in _field_values(model, field):
            if value not in (None, [], {}):
                found.append((suffix, reason))
    for field, backends, modes, reason in BACKEND_REQUIRED:
        if backend in backends and model.mode in modes and not getattr(model, field):
            found.append((field, reason))
    return found


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
