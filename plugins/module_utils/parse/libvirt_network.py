# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt network XML as config items: the inverse of render/libvirt_network.py.

Every element and attribute of libvirt's network format maps to one config field (snake_case);
the model (model/network.py) then checks the values. Nothing is dropped silently: an element or
attribute without a field is a problem that names it. Two documented exceptions:
- `<metadata>` holds applications' own data (the backend's ownership mark among it); it is not
  part of the config and is skipped here. owner_metadata() reads one application's element.
- what only live XML (`virsh net-dumpxml` of a running network) has: the read-only `connections`
  counter of a forward `<interface>` is skipped, and so are the `<interface>`/`<address>` elements
  beside a `<pf>` (libvirt lists the VFs it found there; a definition cannot have both). The
  network's own `connections` is returned as the read-only field `connections`.
Comments and whitespace are ignored. Booleans: yes/no (stp: on/off), as libvirt writes them.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import quoted
from ansible_collections.hypervisor.networking.plugins.module_utils.model.network import VIRTUALPORT_ATTRIBUTES
from ansible_collections.hypervisor.networking.plugins.module_utils.render.libvirt_network import etree

_ATTRIBUTE_PARAMETERS = {attribute: key for key, attribute in VIRTUALPORT_ATTRIBUTES.items()}
_BANDWIDTH_KEYS = ("average", "peak", "burst", "floor")


def _parser():
    # no entities, DTDs or network access: the text comes from the user
    return etree().XMLParser(remove_comments=True, remove_pis=True, resolve_entities=False, no_network=True, load_dtd=False)


def parse_networks(text, path, problems):
    """Config items of every `<network>` in `text`: one, several one after another, or a `<networks>` wrapper."""
    et = etree()
    try:
        root = et.fromstring("<networks-hvnet>%s</networks-hvnet>" % _without_declaration(text), _parser())
    except et.XMLSyntaxError as exc:
        problems.add(path, "is not well-formed XML: %s" % exc)
        return []
    elements = list(root)
    if len(elements) == 1 and elements[0].tag == "networks":
        _text_free(elements[0], path, problems, "<networks>")
        _no_attributes(elements[0], path, problems, "<networks>")
        elements = list(elements[0])
    _text_free(root, path, problems, "the text")
    items = []
    for index, element in enumerate(elements):
        item_path = "%s[%d]" % (path, index)
        if element.tag != "network":
            problems.add(item_path, "<%s> is not a <network> element" % _name(element))
            continue
        items.append(network_config(element, item_path, problems))
    if not elements and not problems:
        problems.add(path, "holds no <network> element")
    return items


def parse_network_xml(text, path, problems):
    """The config item of one `<network>` element given as text (None if it is not one)."""
    et = etree()
    try:
        root = et.fromstring(_without_declaration(text).strip().encode("utf-8"), _parser())
    except et.XMLSyntaxError as exc:
        problems.add(path, "is not well-formed XML: %s" % exc)
        return None
    if root.tag != "network":
        problems.add(path, "<%s> is not a <network> element" % _name(root))
        return None
    return network_config(root, path, problems)


def owner_metadata(text, namespace_uri):
    """The attributes of the `<metadata>` child in `namespace_uri` (one application's element), or None."""
    root = etree().fromstring(_without_declaration(text).strip().encode("utf-8"), _parser())
    metadata = root.find("metadata")
    if metadata is None:
        return None
    for child in metadata:
        if etree().QName(child).namespace == namespace_uri:
            return dict(child.attrib)
    return None


def _without_declaration(text):
    text = text.strip()
    if text.startswith("<?xml"):
        text = text[text.index("?>") + 2:]
    return text


# ---- walking with checks ------------------------------------------------------------------
def _name(element):
    qname = etree().QName(element)
    return "%s:%s" % (element.prefix, qname.localname) if element.prefix else qname.localname


def _text_free(element, path, problems, where):
    texts = [element.text] + [child.tail for child in element]
    if any(text and text.strip() for text in texts):
        problems.add(path, "%s has text where libvirt allows only elements" % where)


def _no_attributes(element, path, problems, where):
    if element.attrib:
        problems.add(path, "%s takes no attributes (found: %s)" % (where, ", ".join(sorted(element.attrib))))


class _Walker:
    """Reads one element: known attributes and children are taken, the rest reported by name."""

    def __init__(self, element, path, problems, where, attributes=(), children=(), text=False):
        self.element = element
        self.path = path
        self.problems = problems
        self.where = where
        unknown = sorted(set(element.attrib) - set(attributes))
        for name in unknown:
            problems.add(path, "%s has an unknown attribute %s=%s (known: %s)"
                         % (where, _attribute_name(name), quoted(element.get(name)), ", ".join(attributes) or "none"))
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag not in children:
                problems.add(path, "%s has an unknown element <%s> (known: %s)"
                             % (where, _name(child), ", ".join("<%s>" % c for c in children) or "none"))
        if not text:
            _text_free(element, path, problems, where)

    def get(self, name):
        return self.element.get(name)

    def children(self, tag):
        return [child for child in self.element if child.tag == tag]

    def child(self, tag):
        found = self.children(tag)
        if len(found) > 1:
            self.problems.add(self.path, "%s has %d <%s> elements; libvirt allows one" % (self.where, len(found), tag))
        return found[0] if found else None

    def boolean(self, name, true="yes", false="no"):
        value = self.element.get(name)
        if value is None:
            return None
        if value not in (true, false):
            self.problems.add(self.path, "%s %s=%s is not %s or %s" % (self.where, name, quoted(value), true, false))
            return None
        return value == true

    def integer(self, name, base=10):
        value = self.element.get(name)
        if value is None:
            return None
        try:
            return int(value.strip(), base)
        except ValueError:
            self.problems.add(self.path, "%s %s=%s is not a whole number" % (self.where, name, quoted(value)))
            return None


def _attribute_name(name):
    return name if not name.startswith("{") else "%s (namespace %s)" % (etree().QName(name).localname, etree().QName(name).namespace)


def _compact(item):
    return {key: value for key, value in item.items() if value is not None and value != [] and value != {}}


# ---- the network ---------------------------------------------------------------------------
_NETWORK_CHILDREN = ("name", "uuid", "metadata", "forward", "bridge", "mtu", "mac", "domain", "dns", "vlan", "bandwidth", "ip",
                     "route", "virtualport", "portgroup")


def network_config(root, path, problems):
    """The config item of a parsed `<network>` element."""
    net = _Walker(root, path, problems, "<network>", ("connections", "ipv6", "trustGuestRxFilters"), _NETWORK_CHILDREN)
    config = {
        "name": _text_of(net, "name", path, problems),
        "uuid": _text_of(net, "uuid", path, problems),
        "connections": net.integer("connections"),
        "ipv6": net.boolean("ipv6"),
        "trust_guest_rx_filters": net.boolean("trustGuestRxFilters"),
    }
    if config["name"] is None:
        problems.add(path, "<network> has no <name>")
    forward = net.child("forward")
    config["forward"] = _forward(forward, path, problems) if forward is not None else {"mode": "isolated"}
    bridge = net.child("bridge")
    if bridge is not None:
        walker = _Walker(bridge, path, problems, "<bridge>", ("name", "zone", "stp", "delay", "macTableManager"))
        config["bridge"] = _compact({"name": walker.get("name"), "zone": walker.get("zone"), "stp": walker.boolean("stp", "on", "off"),
                                     "delay": walker.integer("delay"), "mac_table_manager": walker.get("macTableManager")})
    mtu = net.child("mtu")
    if mtu is not None:
        config["mtu"] = _Walker(mtu, path, problems, "<mtu>", ("size",)).integer("size")
    mac = net.child("mac")
    if mac is not None:
        config["mac"] = _Walker(mac, path, problems, "<mac>", ("address",)).get("address")
    domain = net.child("domain")
    if domain is not None:
        walker = _Walker(domain, path, problems, "<domain>", ("name", "localOnly"))
        config["domain"] = _compact({"name": walker.get("name"), "local_only": walker.boolean("localOnly")})
    dns = net.child("dns")
    if dns is not None:
        config["dns"] = _dns(dns, path, problems)
    config["vlan"] = _vlan(net.child("vlan"), path, problems)
    config["bandwidth"] = _bandwidth(net.child("bandwidth"), path, problems)
    ips = [_ip(element, path, problems) for element in net.children("ip")]
    if ips:
        config["ips"] = ips
    routes = [_route(element, path, problems) for element in net.children("route")]
    if routes:
        config["routes"] = routes
    config["virtualport"] = _virtualport(net.child("virtualport"), path, problems)
    groups = [_portgroup(element, path, problems) for element in net.children("portgroup")]
    if groups:
        config["portgroups"] = groups
    return _compact(config)


def _text_of(walker, tag, path, problems):
    element = walker.child(tag)
    if element is None:
        return None
    _Walker(element, path, problems, "<%s>" % tag, text=True)
    return (element.text or "").strip()


def _forward(element, path, problems):
    walker = _Walker(element, path, problems, "<forward>", ("mode", "dev", "managed"), ("driver", "nat", "pf", "interface", "address"))
    forward = {"mode": walker.get("mode") or "nat", "dev": walker.get("dev"), "managed": walker.boolean("managed")}
    driver = walker.child("driver")
    if driver is not None:
        forward["driver"] = _Walker(driver, path, problems, "<forward><driver>", ("name",)).get("name")
    nat = walker.child("nat")
    if nat is not None:
        nat_walker = _Walker(nat, path, problems, "<nat>", ("ipv6",), ("address", "port"))
        result = {"ipv6": nat_walker.boolean("ipv6")}
        address = nat_walker.child("address")
        if address is not None:
            address_walker = _Walker(address, path, problems, "<nat><address>", ("start", "end"))
            result["addresses"] = _compact({"start": address_walker.get("start"), "end": address_walker.get("end")})
        port = nat_walker.child("port")
        if port is not None:
            port_walker = _Walker(port, path, problems, "<nat><port>", ("start", "end"))
            result["ports"] = _compact({"start": port_walker.integer("start"), "end": port_walker.integer("end")})
        forward["nat"] = _compact(result)
    pfs = walker.children("pf")
    if len(pfs) > 1:
        problems.add(path, "<forward> has %d <pf> elements; libvirt takes one" % len(pfs))
    if pfs:
        forward["pf"] = _Walker(pfs[0], path, problems, "<forward><pf>", ("dev",)).get("dev")
    # connections: the read-only use count of live XML, skipped (see the module docstring)
    forward["interfaces"] = [_Walker(child, path, problems, "<forward><interface>", ("dev", "connections")).get("dev")
                             for child in walker.children("interface")]
    forward["addresses"] = [_pci(child, path, problems) for child in walker.children("address")]
    if pfs:  # live XML: the VFs libvirt found on the pf, not part of the definition
        forward["interfaces"] = forward["addresses"] = None
    return _compact(forward)


def _pci(element, path, problems):
    walker = _Walker(element, path, problems, "<forward><address>", ("type", "domain", "bus", "slot", "function"))
    if walker.get("type") not in (None, "pci"):
        problems.add(path, "<forward><address> type=%s is not pci (the only type of a hostdev pool)" % quoted(walker.get("type")))
    numbers = []
    for key in ("domain", "bus", "slot", "function"):
        text = (walker.get(key) or "0").strip().lower()
        # libvirt reads these with base 0 (strtol): 0x.. hex, 0.. octal, else decimal
        base = 16 if text.startswith("0x") else 8 if text.startswith("0") and len(text) > 1 else 10
        try:
            numbers.append(int(text, base))
        except ValueError:
            problems.add(path, "<forward><address> %s=%s is not a number" % (key, quoted(walker.get(key))))
            return None
    domain, bus, slot, function = numbers
    if domain > 0xFFFF or bus > 0xFF or slot > 0x1F or function > 7:
        problems.add(path, "<forward><address> domain %d bus %d slot %d function %d is outside PCI's ranges (ffff, ff, 1f, 7)" % tuple(numbers))
        return None
    return "%04x:%02x:%02x.%x" % (domain, bus, slot, function)


def _dns(element, path, problems):
    walker = _Walker(element, path, problems, "<dns>", ("enable", "forwardPlainNames"), ("forwarder", "txt", "srv", "host"))
    dns = {"enable": walker.boolean("enable"), "forward_plain_names": walker.boolean("forwardPlainNames")}
    dns["forwarders"] = [_compact({"domain": w.get("domain"), "addr": w.get("addr")})
                         for w in (_Walker(c, path, problems, "<dns><forwarder>", ("domain", "addr")) for c in walker.children("forwarder"))]
    dns["txt"] = [_compact({"name": w.get("name"), "value": w.get("value")})
                  for w in (_Walker(c, path, problems, "<dns><txt>", ("name", "value")) for c in walker.children("txt"))]
    srvs = []
    for child in walker.children("srv"):
        srv = _Walker(child, path, problems, "<dns><srv>", ("service", "protocol", "domain", "target", "port", "priority", "weight"))
        srvs.append(_compact({"service": srv.get("service"), "protocol": srv.get("protocol"), "domain": srv.get("domain"),
                              "target": srv.get("target"), "port": srv.integer("port"), "priority": srv.integer("priority"),
                              "weight": srv.integer("weight")}))
    dns["srv"] = srvs
    hosts = []
    for child in walker.children("host"):
        host = _Walker(child, path, problems, "<dns><host>", ("ip",), ("hostname",))
        names = [_text_of_element(name, path, problems, "<dns><host><hostname>") for name in host.children("hostname")]
        hosts.append(_compact({"ip": host.get("ip"), "hostnames": names}))
    dns["hosts"] = hosts
    return _compact(dns)


def _text_of_element(element, path, problems, where):
    _Walker(element, path, problems, where, text=True)
    return (element.text or "").strip()


def _vlan(element, path, problems):
    if element is None:
        return None
    walker = _Walker(element, path, problems, "<vlan>", ("trunk",), ("tag",))
    tags = []
    for child in walker.children("tag"):
        tag = _Walker(child, path, problems, "<vlan><tag>", ("id", "nativeMode"))
        tags.append(_compact({"id": tag.integer("id"), "native_mode": tag.get("nativeMode")}))
    return _compact({"trunk": walker.boolean("trunk"), "tags": tags})


def _bandwidth(element, path, problems):
    if element is None:
        return None
    walker = _Walker(element, path, problems, "<bandwidth>", (), ("inbound", "outbound"))
    result = {}
    for direction in ("inbound", "outbound"):
        child = walker.child(direction)
        if child is not None:
            rates = _Walker(child, path, problems, "<bandwidth><%s>" % direction, _BANDWIDTH_KEYS)
            result[direction] = _compact({key: rates.integer(key) for key in _BANDWIDTH_KEYS})
    return result


def _virtualport(element, path, problems):
    if element is None:
        return None
    walker = _Walker(element, path, problems, "<virtualport>", ("type",), ("parameters",))
    result = {"type": walker.get("type")}
    parameters = walker.child("parameters")
    if parameters is not None:
        params = _Walker(parameters, path, problems, "<virtualport><parameters>", tuple(_ATTRIBUTE_PARAMETERS))
        result["parameters"] = {}
        for attribute, key in _ATTRIBUTE_PARAMETERS.items():
            if params.get(attribute) is None:
                continue
            numeric = key in ("manager_id", "type_id", "type_id_version")
            result["parameters"][key] = params.integer(attribute) if numeric else params.get(attribute)
    return _compact(result)


def _portgroup(element, path, problems):
    walker = _Walker(element, path, problems, "<portgroup>", ("name", "default", "trustGuestRxFilters"),
                     ("vlan", "bandwidth", "virtualport"))
    return _compact({"name": walker.get("name"), "default": walker.boolean("default"),
                     "trust_guest_rx_filters": walker.boolean("trustGuestRxFilters"),
                     "vlan": _vlan(walker.child("vlan"), path, problems),
                     "bandwidth": _bandwidth(walker.child("bandwidth"), path, problems),
                     "virtualport": _virtualport(walker.child("virtualport"), path, problems)})


def _ip(element, path, problems):
    walker = _Walker(element, path, problems, "<ip>", ("family", "address", "netmask", "prefix", "localPtr"), ("tftp", "dhcp"))
    ip = {"family": walker.get("family"), "address": walker.get("address"), "netmask": walker.get("netmask"),
          "prefix": walker.integer("prefix"), "local_ptr": walker.boolean("localPtr")}
    tftp = walker.child("tftp")
    if tftp is not None:
        ip["tftp_root"] = _Walker(tftp, path, problems, "<ip><tftp>", ("root",)).get("root")
    dhcp = walker.child("dhcp")
    if dhcp is not None:
        dhcp_walker = _Walker(dhcp, path, problems, "<dhcp>", (), ("range", "host", "bootp"))
        ranges = []
        for child in dhcp_walker.children("range"):
            entry = _Walker(child, path, problems, "<dhcp><range>", ("start", "end"), ("lease",))
            ranges.append(_compact({"start": entry.get("start"), "end": entry.get("end"), "lease": _lease(entry, path, problems)}))
        hosts = []
        for child in dhcp_walker.children("host"):
            entry = _Walker(child, path, problems, "<dhcp><host>", ("mac", "id", "name", "ip"), ("lease",))
            hosts.append(_compact({"mac": entry.get("mac"), "id": entry.get("id"), "name": entry.get("name"), "ip": entry.get("ip"),
                                   "lease": _lease(entry, path, problems)}))
        result = {"ranges": ranges, "hosts": hosts}
        bootp = dhcp_walker.child("bootp")
        if bootp is not None:
            bootp_walker = _Walker(bootp, path, problems, "<dhcp><bootp>", ("file", "server"))
            result["bootp"] = _compact({"file": bootp_walker.get("file"), "server": bootp_walker.get("server")})
        ip["dhcp"] = _compact(result)
    result = _compact(ip)
    if dhcp is not None and "dhcp" not in result:
        result["dhcp"] = {}  # <dhcp/>: DHCP on, no ranges or hosts yet
    return result


def _lease(walker, path, problems):
    element = walker.child("lease")
    if element is None:
        return None
    lease = _Walker(element, path, problems, "<lease>", ("expiry", "unit"))
    return _compact({"expiry": lease.integer("expiry"), "unit": lease.get("unit")})


def _route(element, path, problems):
    walker = _Walker(element, path, problems, "<route>", ("family", "address", "prefix", "netmask", "gateway", "metric"))
    route = {"family": walker.get("family"), "address": walker.get("address"), "prefix": walker.integer("prefix"),
             "gateway": walker.get("gateway"), "metric": walker.integer("metric")}
    netmask = walker.get("netmask")
    if netmask is not None and route["prefix"] is None:
        try:  # the model has prefixes only: an IPv4 netmask is one spelling of it
            route["prefix"] = ipaddress.IPv4Network("0.0.0.0/%s" % netmask).prefixlen
        except ValueError:
            problems.add(path, "<route> netmask=%s is not a netmask" % quoted(netmask))
    return _compact(route)
