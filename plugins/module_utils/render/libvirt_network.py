# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The model as libvirt network XML: the `<network>` element, as `virsh net-dumpxml` orders it.

A pure function of the model: what the model holds is written, nothing else. Defaults
libvirt fills in (uuid, MAC, bridge name, the forward dev of a macvtap pool) are chosen
by the backend's complete(), not here; what goes into <metadata> (the ownership mark) is the
backend's, passed in.
Booleans are written as libvirt writes them: stp on/off, every other one yes/no. IPv4
addresses of <ip> get a netmask, IPv6 ones a prefix, as libvirt's own examples have them.
The parser (parse/libvirt_network.py) is the inverse.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HvnetError
from ansible_collections.hypervisor.networking.plugins.module_utils.model import network as m


def etree():
    """lxml.etree, imported only when libvirt XML is asked for."""
    try:
        from lxml import etree as lxml_etree  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise HvnetError("backend libvirt needs the Python package lxml on the managed host (Debian/Ubuntu: python3-lxml,"
                         " Fedora/EL: python3-lxml, pip: lxml)") from None
    return lxml_etree


def yes_no(value):
    return "yes" if value else "no"


def network_xml(model, metadata=()):
    """The `<network>` element of `model` as text (pretty-printed, no XML declaration).

    `metadata`: elements (XML text, each in its own namespace) for `<metadata>`, such as the
    backend's ownership mark; libvirt keeps them in the definition where it dumps them, after <uuid>.
    """
    return etree().tostring(network_element(model, metadata), pretty_print=True, encoding="unicode")


def network_element(model, metadata=()):
    """The `<network>` element of `model` as an lxml element."""
    et = etree()
    root = et.Element("network")
    _set(root, "connections", model.connections)
    if model.ipv6 is not None:
        root.set("ipv6", yes_no(model.ipv6))
    if model.trust_guest_rx_filters is not None:
        root.set("trustGuestRxFilters", yes_no(model.trust_guest_rx_filters))
    et.SubElement(root, "name").text = model.name
    if model.uuid:
        et.SubElement(root, "uuid").text = model.uuid
    if metadata:
        holder = et.SubElement(root, "metadata")
        for text in metadata:
            holder.append(et.fromstring(text))
    _forward(et, root, model)
    bridge = model.bridge or m.Bridge()
    if any(value is not None for value in (bridge.name, bridge.zone, bridge.stp, bridge.delay, bridge.mac_table_manager)):
        element = et.SubElement(root, "bridge")
        _set(element, "name", bridge.name)
        _set(element, "zone", bridge.zone)
        if bridge.stp is not None:
            element.set("stp", "on" if bridge.stp else "off")
        _set(element, "delay", bridge.delay)
        _set(element, "macTableManager", bridge.mac_table_manager)
    if model.mtu is not None:
        et.SubElement(root, "mtu", size=str(model.mtu))
    if model.mac:
        et.SubElement(root, "mac", address=model.mac)
    if model.domain:
        element = et.SubElement(root, "domain", name=model.domain["name"])
        if model.domain.get("local_only") is not None:
            element.set("localOnly", yes_no(model.domain["local_only"]))
    _dns(et, root, model.dns)
    _vlan(et, root, model.vlan)
    _bandwidth(et, root, model.bandwidth)
    for ip in model.ips or []:
        _ip(et, root, ip, (model.ip_options or {}).get(ip) or {})
    for route in model.routes or []:
        element = et.SubElement(root, "route")
        if route.get("family") == "ipv6":
            element.set("family", "ipv6")
        for key in ("address", "prefix", "gateway", "metric"):
            _set(element, key, route.get(key))
    _virtualport(et, root, model.virtualport)
    for group in model.portgroups or []:
        element = et.SubElement(root, "portgroup", name=group["name"])
        if group.get("default") is not None:
            element.set("default", yes_no(group["default"]))
        if group.get("trust_guest_rx_filters") is not None:
            element.set("trustGuestRxFilters", yes_no(group["trust_guest_rx_filters"]))
        _vlan(et, element, group.get("vlan"))
        _bandwidth(et, element, group.get("bandwidth"))
        _virtualport(et, element, group.get("virtualport"))
    return root


def _set(element, attribute, value):
    if value is not None:
        element.set(attribute, str(value))


def _forward(et, root, model):
    if model.mode == "isolated":
        return
    forward = model.forward
    element = et.SubElement(root, "forward")
    _set(element, "dev", forward.dev)
    element.set("mode", forward.mode)
    if forward.managed is not None:
        element.set("managed", yes_no(forward.managed))
    if forward.driver:
        et.SubElement(element, "driver", name=forward.driver)
    nat = forward.nat or {}
    if nat:
        nat_element = et.SubElement(element, "nat")
        if nat.get("ipv6") is not None:
            nat_element.set("ipv6", yes_no(nat["ipv6"]))
        if nat.get("addresses"):
            et.SubElement(nat_element, "address", start=nat["addresses"]["start"], end=nat["addresses"]["end"])
        if nat.get("ports"):
            et.SubElement(nat_element, "port", start=str(nat["ports"]["start"]), end=str(nat["ports"]["end"]))
    if forward.pf:
        et.SubElement(element, "pf", dev=forward.pf)
    for dev in forward.interfaces or []:
        et.SubElement(element, "interface", dev=dev)
    for function in forward.addresses or []:
        domain, bus, rest = function.split(":")
        slot, number = rest.split(".")
        # libvirt's own spelling of a PCI address
        et.SubElement(element, "address", type="pci", domain="0x%s" % domain, bus="0x%s" % bus, slot="0x%s" % slot,
                      function="0x%s" % number)


def _dns(et, root, dns):
    if dns is None:
        return
    element = et.SubElement(root, "dns")
    if dns.get("enable") is not None:
        element.set("enable", yes_no(dns["enable"]))
    if dns.get("forward_plain_names") is not None:
        element.set("forwardPlainNames", yes_no(dns["forward_plain_names"]))
    for forwarder in dns.get("forwarders") or []:
        child = et.SubElement(element, "forwarder")
        _set(child, "domain", forwarder.get("domain"))
        _set(child, "addr", forwarder.get("addr"))
    for txt in dns.get("txt") or []:
        et.SubElement(element, "txt", name=txt["name"], value=txt["value"])
    for srv in dns.get("srv") or []:
        child = et.SubElement(element, "srv")
        for key in ("service", "protocol", "domain", "target", "port", "priority", "weight"):
            _set(child, key, srv.get(key))
    for host in dns.get("hosts") or []:
        child = et.SubElement(element, "host", ip=host["ip"])
        for name in host["hostnames"]:
            et.SubElement(child, "hostname").text = name


def _vlan(et, parent, vlan):
    if not vlan:
        return
    element = et.SubElement(parent, "vlan")
    if vlan.get("trunk") is not None:
        element.set("trunk", yes_no(vlan["trunk"]))
    for tag in vlan["tags"]:
        child = et.SubElement(element, "tag", id=str(tag["id"]))
        _set(child, "nativeMode", tag.get("native_mode"))


def _bandwidth(et, parent, bandwidth):
    if not bandwidth:
        return
    element = et.SubElement(parent, "bandwidth")
    for direction in ("inbound", "outbound"):
        rates = bandwidth.get(direction)
        if rates:
            child = et.SubElement(element, direction)
            for key in ("average", "peak", "burst", "floor"):
                _set(child, key, rates.get(key))


def _virtualport(et, parent, virtualport):
    if virtualport is None:
        return
    element = et.SubElement(parent, "virtualport")
    _set(element, "type", virtualport.get("type"))
    parameters = virtualport.get("parameters")
    if parameters:
        child = et.SubElement(element, "parameters")
        for key in sorted(parameters):
            child.set(m.VIRTUALPORT_ATTRIBUTES[key], str(parameters[key]))


def _ip(et, root, ip, options):
    iface = ipaddress.ip_interface(ip)
    element = et.SubElement(root, "ip")
    if iface.version == 6:
        element.set("family", "ipv6")
    element.set("address", str(iface.ip))
    if iface.version == 4:
        element.set("netmask", str(iface.netmask))
    else:
        element.set("prefix", str(iface.network.prefixlen))
    if options.get("local_ptr") is not None:
        element.set("localPtr", yes_no(options["local_ptr"]))
    if options.get("tftp_root"):
        et.SubElement(element, "tftp", root=options["tftp_root"])
    dhcp = options.get("dhcp")
    if dhcp is None:
        return
    child = et.SubElement(element, "dhcp")
    for item in dhcp.get("ranges") or []:
        entry = et.SubElement(child, "range", start=item["start"], end=item["end"])
        _lease(et, entry, item.get("lease"))
    for host in dhcp.get("hosts") or []:
        entry = et.SubElement(child, "host")
        for key in ("mac", "id", "name", "ip"):
            _set(entry, key, host.get(key))
        _lease(et, entry, host.get("lease"))
    if dhcp.get("bootp"):
        entry = et.SubElement(child, "bootp", file=dhcp["bootp"]["file"])
        _set(entry, "server", dhcp["bootp"].get("server"))


def _lease(et, parent, lease):
    if lease:
        entry = et.SubElement(parent, "lease", expiry=str(lease["expiry"]))
        _set(entry, "unit", lease.get("unit"))
