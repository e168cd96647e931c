# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The services of a NAT, routed, open or isolated network: value checks and normal forms.

Field names follow libvirt's network XML: forward.dev, forward.nat (addresses, ports, plus
ipv6), ips[].dhcp (ranges, hosts, bootp), ips[].tftp_root, routes, domain, dns (enable,
forward_plain_names, forwarders, hosts, srv, txt) and bandwidth; port_forwards is ours.

Every value is validated here, once, into a plain normal form (dicts and lists without
unset keys), which is what the planners, renderers and the saved spec use.
"""

from __future__ import annotations

import ipaddress
import os
import re

from ansible_collections.hypervisor.networking.plugins.module_utils.model import fields as f

SERVICE_MODES = ("nat", "route", "open", "isolated")
FORWARDING_MODES = ("nat", "route", "open")
PORT_FORWARD_MODES = ("nat", "route")
# forward.dev: the egress device of nat/route, or the first NIC of a macvtap pool (libvirt writes it so)
DEV_MODES = ("nat", "route", "bridge", "private", "vepa", "passthrough")
DEV_PROBLEM = ("only applies to forward.mode nat or route (the one egress device; open installs no firewall rules to restrict it)"
               " or to a macvtap pool (bridge, private, vepa, passthrough: the first of forward.interfaces), not %s")
PROTOCOLS = ("tcp", "udp")
FAMILIES = ("ipv4", "ipv6")
LEASE_UNITS = ("seconds", "minutes", "hours")
LEASE_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600}  # libvirt's default unit is minutes
MIN_LEASE_SECONDS = 120  # libvirt refuses less; dnsmasq would make it 2 minutes anyway
MAX_LEASE_SECONDS = 2 ** 31 - 1  # dnsmasq reads the number as a C int and multiplies it by the unit
PTR_LABEL_BITS = {4: 8, 6: 4}  # a reverse DNS label is one octet (in-addr.arpa) or one nibble (ip6.arpa)
MAX_U32 = 4294967295
_DNS_NAME_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$")
_DUID_RE = re.compile(r"^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){1,129}$")  # RFC 8415: at most 130 octets
_TXT_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,253}$")
# TXT values land inside "..." in dnsmasq.conf, where a backslash starts an escape
_TXT_VALUE_RE = re.compile(r'^[ !#-\[\]-~]*$')

# dnsmasq reads its configuration in chunks of 1024 bytes: the rest of a longer line would be
# read as a directive of its own. Free-text values are capped so that no line comes near it.
DNSMASQ_MAX_LINE = 1000
MAX_TEXT = 255  # bytes: one DHCP option or DNS string


def _too_long(text, limit=MAX_TEXT):
    return len(str(text).encode("utf-8", "surrogatepass")) > limit


# The fields of VmNetwork this module owns (besides forward.dev and forward.nat).
TOP_FIELDS = ("routes", "domain", "dns", "bandwidth", "port_forwards")


def _given(item, key, default):
    """item[key], or `default` when it is unset: Ansible passes every documented suboption the
    user left out as None, so item.get(key, default) would never see the default."""
    value = item.get(key)
    return default if value is None else value


def _ip(problems, path, value, version=None, scoped=False):
    """An IP address; a scope id ('fe80::1%eth0') only where `scoped`, and then an interface name."""
    if value is None:
        problems.add(path, "is required")
        return None
    try:
        ip = ipaddress.ip_address(str(value))
    except ValueError:
        problems.add(path, "%s is not an IP address" % f.quoted(value))
        return None
    if getattr(ip, "scope_id", None) is not None:
        if not scoped:
            problems.add(path, "%s: a scope id ('%%...') only applies to a link-local DNS forwarder" % f.quoted(str(value)))
            return None
        if f.check_scope_id(problems, path, ip) is None:
            return None
    if version is not None and ip.version != version:
        problems.add(path, "%s is not an IPv%d address" % (ip, version))
        return None
    return ip


def _str(problems, path, value, required=False, pattern=None, what="a name"):
    if value is None:
        if required:
            problems.add(path, "is required")
        return None
    text = str(value)
    if not text or (pattern is not None and not pattern.fullmatch(text)):
        problems.add(path, "%s is not %s" % (f.quoted(text), what))
        return None
    return text


def _compact(item):
    return {key: value for key, value in item.items() if value is not None}


def _range(problems, path, item, minimum, maximum):
    start = f.check_int(problems, path + ".start", item.get("start"), minimum, maximum)
    end = f.check_int(problems, path + ".end", _given(item, "end", item.get("start")), minimum, maximum)
    if item.get("start") is None:
        problems.add(path + ".start", "is required")
    if start is not None and end is not None and start > end:
        problems.add(path, "start %d is above end %d" % (start, end))
        return None
    if start is None or end is None:
        return None
    return {"start": start, "end": end}


def _address_range(problems, path, item, version=None, subnet=None):
    start = _ip(problems, path + ".start", item.get("start"), version)
    if item.get("start") is None and item.get("end") is None:
        return None  # reported once, as start
    end = _ip(problems, path + ".end", _given(item, "end", item.get("start")), version)
    if start is None or end is None:
        return None
    if start.version != end.version:
        problems.add(path, "start %s and end %s are of different families" % (start, end))
        return None
    if start > end:
        problems.add(path, "start %s is above end %s" % (start, end))
        return None
    if subnet is not None:
        for label, ip in (("start", start), ("end", end)):
            if ip not in subnet:
                problems.add("%s.%s" % (path, label), "%s is outside the subnet %s" % (ip, subnet))
                return None
            if subnet.version == 4 and subnet.prefixlen < 31 and ip in (subnet.network_address, subnet.broadcast_address):
                problems.add("%s.%s" % (path, label), "%s is the network or broadcast address of %s" % (ip, subnet))
                return None
    return {"start": str(start), "end": str(end)}


# ---- forward ------------------------------------------------------------------------------
def forward_dev(problems, path, forward_item, mode):
    dev = f.check_ifname(problems, path + ".forward.dev", forward_item.get("dev"))
    # without a mode in the item (a partial merged update) check_desired() decides
    if dev is not None and mode is not None and mode not in DEV_MODES:
        problems.add(path + ".forward.dev", DEV_PROBLEM % mode)
        return None
    return dev


def forward_nat(problems, path, forward_item, mode):
    item = forward_item.get("nat")
    if item is None:
        return None
    path += ".forward.nat"
    item = f.as_dict(problems, path, item)
    if mode is not None and mode != "nat":
        problems.add(path, "only applies to forward.mode nat")
        return None
    result = {}
    if item.get("addresses") is not None:
        result["addresses"] = _address_range(problems, path + ".addresses", f.as_dict(problems, path + ".addresses", item["addresses"]), 4)
    if item.get("ports") is not None:
        result["ports"] = _range(problems, path + ".ports", f.as_dict(problems, path + ".ports", item["ports"]), 1, 65535)
    result["ipv6"] = f.check_bool(problems, path + ".ipv6", item.get("ipv6"))
    return _compact(result) or None


# ---- ips[] ----------------------------------------------------------------------------------
def ip_options(problems, ip_path, ip_item, iface, mode):
    """Return {"dhcp": {...}, "tftp_root": str, "local_ptr": bool} (unset keys left out) or None."""
    result = {}
    local_ptr = f.check_bool(problems, ip_path + ".local_ptr", ip_item.get("local_ptr"))
    if local_ptr and iface is not None and iface.network.prefixlen % PTR_LABEL_BITS[iface.version]:
        # libvirt cannot name the reverse zone either (virSocketAddrPTRDomain) and fails at start
        problems.add(ip_path + ".local_ptr", "needs a prefix that is a multiple of %d for IPv%d, so that the reverse DNS zone is"
                     " whole labels (the prefix is %d)" % (PTR_LABEL_BITS[iface.version], iface.version, iface.network.prefixlen))
    elif local_ptr is not None:
        result["local_ptr"] = local_ptr
    dhcp_item = ip_item.get("dhcp")
    tftp_root = ip_item.get("tftp_root")
    if (dhcp_item is not None or tftp_root is not None) and mode is not None and mode not in SERVICE_MODES:
        problems.add(ip_path + ".dhcp", "DHCP and TFTP need forward.mode nat, route, open or isolated (not %s)" % mode)
        return None
    if tftp_root is not None:
        if iface is not None and iface.version != 4:
            problems.add(ip_path + ".tftp_root", "TFTP is for IPv4 addresses only")
        elif not str(tftp_root).startswith("/") or not str(tftp_root).isprintable() or "," in str(tftp_root) or _too_long(tftp_root):
            problems.add(ip_path + ".tftp_root", "'%s' must be an absolute directory path of at most %d bytes (UTF-8), printable, without ','"
                         % (tftp_root, MAX_TEXT))
        else:
            result["tftp_root"] = os.path.normpath(str(tftp_root))
    if dhcp_item is not None:
        dhcp = _dhcp(problems, ip_path + ".dhcp", f.as_dict(problems, ip_path + ".dhcp", dhcp_item), iface)
        if dhcp is not None:
            result["dhcp"] = dhcp
    return result or None


def _dhcp(problems, path, item, iface):
    subnet = iface.network if iface is not None else None
    version = iface.version if iface is not None else None
    ranges = []
    for index, range_item in enumerate(f.as_list(problems, path + ".ranges", item.get("ranges"))):
        rpath = "%s.ranges[%d]" % (path, index)
        found = _address_range(problems, rpath, f.as_dict(problems, rpath, range_item), version, subnet)
        if found is None:
            continue
        if iface is not None and ipaddress.ip_address(found["start"]) <= iface.ip <= ipaddress.ip_address(found["end"]):
            problems.add(rpath, "contains the network's own address %s" % iface.ip)
        lease = _lease(problems, rpath + ".lease", range_item.get("lease") if isinstance(range_item, dict) else None)
        if lease is not None:
            found["lease"] = lease
        ranges.append(found)
    for i, first in enumerate(ranges):
        for j, second in enumerate(ranges[i + 1:], i + 1):
            if ipaddress.ip_address(first["start"]) <= ipaddress.ip_address(second["end"]) and \
                    ipaddress.ip_address(second["start"]) <= ipaddress.ip_address(first["end"]):
                problems.add("%s.ranges[%d]" % (path, j), "overlaps ranges[%d]" % i)
    hosts = []
    seen = {}
    for index, host_item in enumerate(f.as_list(problems, path + ".hosts", item.get("hosts"))):
        hpath = "%s.hosts[%d]" % (path, index)
        host_item = f.as_dict(problems, hpath, host_item)
        host = {
            "mac": f.normalize_mac(problems, hpath + ".mac", host_item.get("mac")),
            "name": _str(problems, hpath + ".name", host_item.get("name"), pattern=_DNS_NAME_RE, what="a host name"),
            "id": _str(problems, hpath + ".id", host_item.get("id"), pattern=_DUID_RE, what="a client id or DUID (2 to 130 hex octets separated by ':')"),
            "lease": _lease(problems, hpath + ".lease", host_item.get("lease")),
        }
        ip = _ip(problems, hpath + ".ip", host_item.get("ip"), version)
        if ip is not None:
            if subnet is not None and ip not in subnet:
                problems.add(hpath + ".ip", "%s is outside the subnet %s" % (ip, subnet))
            elif iface is not None and ip == iface.ip:
                problems.add(hpath + ".ip", "%s is the network's own address" % ip)
            elif str(ip) in seen:
                problems.add(hpath + ".ip", "%s is also given to hosts[%d]" % (ip, seen[str(ip)]))
            else:
                seen[str(ip)] = index
                host["ip"] = str(ip)
        if version == 6 and host["mac"] is not None:
            problems.add(hpath + ".mac", "an IPv6 host is identified by id or name, not by MAC address")
        if not (host["mac"] or host["name"] or host["id"]):
            problems.add(hpath, "needs mac, id or name to identify the host")
        hosts.append(_compact(host))
    result = {"ranges": ranges or None, "hosts": hosts or None}
    if item.get("bootp") is not None:
        bpath = path + ".bootp"
        bootp = f.as_dict(problems, bpath, item["bootp"])
        if version == 6:
            problems.add(bpath, "BOOTP is for IPv4 only")
        else:
            server = bootp.get("server")
            if server is not None and _ip(problems, bpath + ".server", server, 4) is None:
                server = None
            file_name = _str(problems, bpath + ".file", bootp.get("file"), required=True)
            if file_name is not None and ("," in file_name or not file_name.isprintable() or f.control_character(file_name) or _too_long(file_name)):
                problems.add(bpath + ".file", "must be at most %d bytes (UTF-8) of printable characters without ',' (no line breaks or tabs)" % MAX_TEXT)
                file_name = None
            if file_name is not None:
                result["bootp"] = _compact({"file": file_name, "server": server})
    return _compact(result)


def _lease(problems, path, value):
    """libvirt's <lease expiry unit>: how long a DHCP lease lasts; expiry 0 is forever."""
    if value is None:
        return None
    item = f.as_dict(problems, path, value)
    expiry = f.check_int(problems, path + ".expiry", item.get("expiry"), 0, MAX_U32)
    if item.get("expiry") is None:
        problems.add(path + ".expiry", "is required (0 means the lease never expires)")
    unit = f.check_choice(problems, path + ".unit", item.get("unit"), LEASE_UNITS)
    if expiry is None:
        return None
    seconds = expiry * LEASE_UNIT_SECONDS[unit or "minutes"]
    if 0 < seconds < MIN_LEASE_SECONDS:
        problems.add(path, "%d seconds is shorter than the minimum lease of %d seconds (libvirt and dnsmasq);"
                           " 0 means the lease never expires" % (seconds, MIN_LEASE_SECONDS))
        return None
    if seconds > MAX_LEASE_SECONDS:
        problems.add(path, "%d seconds is longer than dnsmasq's longest lease of %d seconds;"
                           " 0 means the lease never expires" % (seconds, MAX_LEASE_SECONDS))
        return None
    return _compact({"expiry": expiry, "unit": unit})


# ---- routes, domain, dns, bandwidth, port forwards ------------------------------------------
def routes(problems, path, value, networks):
    if value is None:
        return None
    result = []
    for index, item in enumerate(f.as_list(problems, path + ".routes", value)):
        rpath = "%s.routes[%d]" % (path, index)
        item = f.as_dict(problems, rpath, item)
        family = f.check_choice(problems, rpath + ".family", item.get("family"), FAMILIES)
        version = {"ipv4": 4, "ipv6": 6}.get(family)
        address = _ip(problems, rpath + ".address", item.get("address"), version)
        if address is None:
            continue
        version = address.version
        prefix = f.check_int(problems, rpath + ".prefix", _given(item, "prefix", 32 if version == 4 else 128), 0, 32 if version == 4 else 128)
        if prefix is None:
            continue
        try:
            network = ipaddress.ip_network("%s/%d" % (address, prefix))
        except ValueError:
            problems.add(rpath + ".address", "%s has host bits set for prefix %d" % (address, prefix))
            continue
        gateway = _ip(problems, rpath + ".gateway", item.get("gateway"), version)
        if gateway is not None and networks is not None and not any(gateway in net for net in networks if net.version == version):
            problems.add(rpath + ".gateway", "%s is not reachable: no ips entry of this network has a subnet containing it" % gateway)
            continue
        metric = f.check_int(problems, rpath + ".metric", item.get("metric"), 0, MAX_U32)
        if gateway is not None:
            result.append(_compact({"family": "ipv%d" % version, "address": str(network.network_address), "prefix": prefix,
                                    "gateway": str(gateway), "metric": metric}))
    return result or None


def domain(problems, path, value):
    if value is None:
        return None
    item = f.as_dict(problems, path + ".domain", value)
    name = _str(problems, path + ".domain.name", item.get("name"), required=True, pattern=_DNS_NAME_RE, what="a domain name")
    local_only = f.check_bool(problems, path + ".domain.local_only", item.get("local_only"))
    if name is None:
        return None
    return _compact({"name": name.rstrip("."), "local_only": local_only})


def dns(problems, path, value):
    if value is None:
        return None
    path += ".dns"
    item = f.as_dict(problems, path, value)
    result = {
        "enable": f.check_bool(problems, path + ".enable", item.get("enable")),
        "forward_plain_names": f.check_bool(problems, path + ".forward_plain_names", item.get("forward_plain_names")),
    }
    forwarders = []
    for index, fitem in enumerate(f.as_list(problems, path + ".forwarders", item.get("forwarders"))):
        fpath = "%s.forwarders[%d]" % (path, index)
        fitem = f.as_dict(problems, fpath, fitem)
        addr = _ip(problems, fpath + ".addr", fitem["addr"], scoped=True) if fitem.get("addr") is not None else None
        dom = _str(problems, fpath + ".domain", fitem.get("domain"), pattern=_DNS_NAME_RE, what="a domain name")
        if fitem.get("addr") is None and fitem.get("domain") is None:
            problems.add(fpath, "needs addr, domain or both")
        forwarders.append(_compact({"addr": str(addr) if addr else None, "domain": dom}))
    hosts = []
    for index, hitem in enumerate(f.as_list(problems, path + ".hosts", item.get("hosts"))):
        hpath = "%s.hosts[%d]" % (path, index)
        hitem = f.as_dict(problems, hpath, hitem)
        ip = _ip(problems, hpath + ".ip", hitem.get("ip"))
        names = []
        for nindex, name in enumerate(f.as_list(problems, hpath + ".hostnames", hitem.get("hostnames"))):
            name = _str(problems, "%s.hostnames[%d]" % (hpath, nindex), name, required=True, pattern=_DNS_NAME_RE, what="a host name")
            if name:
                names.append(name)
        if not names and not hitem.get("hostnames"):
            problems.add(hpath + ".hostnames", "is required (at least one name)")
        if ip is not None and names:
            hosts.append({"ip": str(ip), "hostnames": names})
    srvs = []
    for index, sitem in enumerate(f.as_list(problems, path + ".srv", item.get("srv"))):
        spath = "%s.srv[%d]" % (path, index)
        sitem = f.as_dict(problems, spath, sitem)
        srv = {
            "service": _str(problems, spath + ".service", sitem.get("service"), required=True, pattern=re.compile(r"^[A-Za-z0-9-]{1,15}$"),
                            what="a service name (1-15 letters, digits, '-')"),
            "protocol": f.check_choice(problems, spath + ".protocol", sitem.get("protocol"), PROTOCOLS),
            "domain": _str(problems, spath + ".domain", sitem.get("domain"), pattern=_DNS_NAME_RE, what="a domain name"),
            "target": _str(problems, spath + ".target", sitem.get("target"), pattern=re.compile(r"^(\.|[A-Za-z0-9_.-]{1,253})$"),
                           what="a host name (at most 253 characters) or '.'"),
            "port": f.check_int(problems, spath + ".port", sitem.get("port"), 0, 65535),
            "priority": f.check_int(problems, spath + ".priority", sitem.get("priority"), 0, 65535),
            "weight": f.check_int(problems, spath + ".weight", sitem.get("weight"), 0, 65535),
        }
        if sitem.get("protocol") is None:
            problems.add(spath + ".protocol", "is required (one of: tcp, udp)")
        if srv["service"] and srv["protocol"]:
            srvs.append(_compact(srv))
    txts = []
    for index, titem in enumerate(f.as_list(problems, path + ".txt", item.get("txt"))):
        tpath = "%s.txt[%d]" % (path, index)
        titem = f.as_dict(problems, tpath, titem)
        name = _str(problems, tpath + ".name", titem.get("name"), required=True, pattern=_TXT_NAME_RE,
                    what="a record name of at most 253 letters, digits, '_', '.', '-'")
        value_text = titem.get("value")
        if value_text is None:
            problems.add(tpath + ".value", "is required")
        elif not _TXT_VALUE_RE.fullmatch(str(value_text)) or _too_long(value_text):
            problems.add(tpath + ".value", "must be at most %d characters of printable ASCII without '\"' or '\\'" % MAX_TEXT)
        elif name:
            txts.append({"name": name, "value": str(value_text)})
    result.update({"forwarders": forwarders or None, "hosts": hosts or None, "srv": srvs or None, "txt": txts or None})
    return _compact(result) or None


def bandwidth(problems, path, value):
    if value is None:
        return None
    path += ".bandwidth"
    item = f.as_dict(problems, path, value)
    result = {}
    for direction in ("inbound", "outbound"):
        if item.get(direction) is None:
            continue
        dpath = "%s.%s" % (path, direction)
        ditem = f.as_dict(problems, dpath, item[direction])
        rates = {key: f.check_int(problems, "%s.%s" % (dpath, key), ditem.get(key), 1, MAX_U32)
                 for key in ("average", "peak", "burst", "floor")}
        if direction == "outbound" and rates["floor"] is not None:
            problems.add(dpath + ".floor", "floor applies to inbound traffic only")
            continue
        if rates["average"] is None:
            if ditem.get("average") is None:
                problems.add(dpath + ".average", "is required (KiB/s)")
            continue
        if rates["peak"] is not None and rates["peak"] < rates["average"]:
            problems.add(dpath + ".peak", "%d is below average %d" % (rates["peak"], rates["average"]))
            continue
        if rates["floor"] is not None and rates["floor"] > rates["average"]:
            problems.add(dpath + ".floor", "%d is above average %d" % (rates["floor"], rates["average"]))
            continue
        result[direction] = _compact(rates)
    return result or None


def port_forwards(problems, path, value, networks, mode):
    if value is None:
        return None
    items = f.as_list(problems, path + ".port_forwards", value)
    if items and mode is not None and mode not in PORT_FORWARD_MODES:
        problems.add(path + ".port_forwards", "need forward.mode nat or route (not %s)" % mode)
        return None
    result = []
    seen = {}
    for index, item in enumerate(items):
        ppath = "%s.port_forwards[%d]" % (path, index)
        item = f.as_dict(problems, ppath, item)
        protocol = f.check_choice(problems, ppath + ".protocol", _given(item, "protocol", "tcp"), PROTOCOLS)
        host_port = f.check_int(problems, ppath + ".host_port", item.get("host_port"), 1, 65535)
        if item.get("host_port") is None:
            problems.add(ppath + ".host_port", "is required (1..65535)")
        guest_port = f.check_int(problems, ppath + ".guest_port", _given(item, "guest_port", item.get("host_port")), 1, 65535)
        guest_ip = _ip(problems, ppath + ".guest_ip", item.get("guest_ip"))
        if guest_ip is not None and networks is not None and not any(guest_ip in net for net in networks):
            problems.add(ppath + ".guest_ip", "%s is outside every subnet of this network's ips" % guest_ip)
            guest_ip = None
        host_address = None
        if item.get("host_address") is not None:
            host_address = _ip(problems, ppath + ".host_address", item["host_address"], guest_ip.version if guest_ip else None)
        if None in (protocol, host_port, guest_port, guest_ip):
            continue
        key = (protocol, str(host_address) if host_address else None, host_port, guest_ip.version)
        if key in seen:
            problems.add(ppath, "%s port %d is also forwarded by port_forwards[%d]" % (protocol, host_port, seen[key]))
            continue
        seen[key] = index
        result.append(_compact({"protocol": protocol, "host_port": host_port, "guest_ip": str(guest_ip), "guest_port": guest_port,
                                "host_address": str(host_address) if host_address else None}))
    return result or None


def check_ip_options(problems, path, ips, options):
    """libvirt's rules across ips[]: DHCP on one address of each family, TFTP on one address."""
    dhcp_seen = {}
    tftp_seen = None
    for index, ip in enumerate(ips or []):
        opts = (options or {}).get(ip) or {}
        version = ipaddress.ip_interface(ip).version
        if opts.get("dhcp"):
            if version in dhcp_seen:
                problems.add("%s.ips[%d].dhcp" % (path, index), "DHCP is already on ips[%d]; one address of each family may have it" % dhcp_seen[version])
            dhcp_seen.setdefault(version, index)
        if opts.get("tftp_root"):
            if tftp_seen is not None:
                problems.add("%s.ips[%d].tftp_root" % (path, index), "TFTP is already on ips[%d]; one address may have it" % tftp_seen)
            tftp_seen = index if tftp_seen is None else tftp_seen


def port_forward_keys(model):
    """(protocol, host_address or None, host_port, family) of every port forward of a network."""
    return [port_forward_key(p) for p in model.port_forwards or []]


def port_forward_key(forward):
    return (forward["protocol"], forward.get("host_address"), forward["host_port"], ipaddress.ip_address(forward["guest_ip"]).version)


def keys_clash(first, second):
    return first[0] == second[0] and first[2] == second[2] and first[3] == second[3] and \
        (first[1] is None or second[1] is None or first[1] == second[1])


def dns_enabled(model):
    return (model.dns or {}).get("enable", True)


def host_record(host, domain_name):
    """dnsmasq's host-record line of a dns.hosts entry: as libvirt's addn-hosts with expand-hosts,
    plain names also in the network's domain."""
    names = list(host["hostnames"])
    if domain_name:
        names += ["%s.%s" % (name, domain_name) for name in host["hostnames"] if "." not in name]
    return "host-record=%s,%s" % (",".join(names), host["ip"])


def local_ptr_addresses(model):
    """[(index in ips, address)] of the addresses whose reverse DNS the network answers itself."""
    return [(index, address) for index, address in enumerate(model.ips or [])
            if ((model.ip_options or {}).get(address) or {}).get("local_ptr")]


def runs_dnsmasq(model):
    """Whether the network needs its own dnsmasq.

    DHCP (or TFTP) needs it on every mode that has services; DNS follows libvirt (on by default)
    on nat, route and open networks, and runs on isolated networks only when dns, domain or an
    address's local_ptr is given, so an isolated network with only gateway addresses stays a plain bridge.
    """
    if model.mode not in SERVICE_MODES or not model.ips:
        return False
    if any(opts.get("dhcp") or opts.get("tftp_root") for opts in (model.ip_options or {}).values()):
        return True
    if not dns_enabled(model):
        return False
    return model.mode in FORWARDING_MODES or model.dns is not None or model.domain is not None or bool(local_ptr_addresses(model))


def check_desired(problems, path, model):
    """Checks that need the whole model (under merged, the fields the call did not give come
    from the host): fields against the mode, and addresses against the network's subnets."""
    mode = model.mode
    networks = [ipaddress.ip_interface(ip).network for ip in model.ips or []]
    forward = model.forward
    if forward is not None and forward.dev and mode not in DEV_MODES:
        problems.add(path + ".forward.dev", DEV_PROBLEM % mode)
    if forward is not None and forward.nat and mode != "nat":
        problems.add(path + ".forward.nat", "only applies to forward.mode nat (not %s)" % mode)
    if mode not in SERVICE_MODES:
        for field in TOP_FIELDS:
            if getattr(model, field):
                problems.add("%s.%s" % (path, field), "needs forward.mode nat, route, open or isolated (not %s)" % mode)
        if any(opts.get("dhcp") or opts.get("tftp_root") for opts in (model.ip_options or {}).values()):
            problems.add(path + ".ips", "DHCP and TFTP need forward.mode nat, route, open or isolated (not %s)" % mode)
        for index, _address in local_ptr_addresses(model):
            problems.add("%s.ips[%d].local_ptr" % (path, index), "needs the network's DNS, so forward.mode nat, route, open or isolated (not %s)" % mode)
        return
    if not dns_enabled(model):
        for index, _address in local_ptr_addresses(model):
            problems.add("%s.ips[%d].local_ptr" % (path, index), "needs the network's DNS, which dns.enable false turns off")
    if model.port_forwards and mode not in PORT_FORWARD_MODES:
        problems.add(path + ".port_forwards", "need forward.mode nat or route (not %s)" % mode)
    for index, route in enumerate(model.routes or []):
        gateway = ipaddress.ip_address(route["gateway"])
        if not any(gateway in net for net in networks):
            problems.add("%s.routes[%d].gateway" % (path, index), "%s is not reachable: no ips entry of this network has a subnet containing it" % gateway)
    for index, forward_item in enumerate(model.port_forwards or []):
        guest_ip = ipaddress.ip_address(forward_item["guest_ip"])
        if not any(guest_ip in net for net in networks):
            problems.add("%s.port_forwards[%d].guest_ip" % (path, index), "%s is outside every subnet of this network's ips" % guest_ip)
    domain_name = (model.domain or {}).get("name")
    for index, host in enumerate((model.dns or {}).get("hosts") or []):
        if _too_long(host_record(host, domain_name), DNSMASQ_MAX_LINE):
            problems.add("%s.dns.hosts[%d].hostnames" % (path, index), "are too many for one dnsmasq line of at most %d characters "
                         "(plain names also count with the domain added); split them over several hosts entries" % DNSMASQ_MAX_LINE)
    if runs_dnsmasq(model):
        for index, address in enumerate(model.ips or []):
            iface = ipaddress.ip_interface(address)
            if iface.version == 6 and iface.network.prefixlen < 64:
                problems.add("%s.ips[%d].prefix" % (path, index), "%d is too short for a network with DHCP, DNS or router advertisements:"
                             " dnsmasq needs a /64 or longer" % iface.network.prefixlen)
    for address in (model.ip_options or {}):
        if address not in (model.ips or []):
            problems.add(path + ".ips", "DHCP/TFTP settings for %s, which is not among the network's ips" % address)
