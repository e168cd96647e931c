# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sub-elements of libvirt's domain <interface> that map one to one to config fields.

One table serves three readers: the value checks of vm_interface's config (model/interface.py),
the libvirt renderer (render/libvirt_interface.py) and the libvirt parser
(parse/libvirt_interface.py), so a field, its XML spelling and its allowed values are written
once. An element becomes a dict of its attributes and children (a list of dicts when it
repeats); an element with a single attribute or only text (`scalar`) becomes that value.
Elements whose meaning is shared with the host side or other VMMs (type, source, target, mac,
model, driver's queues, mtu, link, port) are handled by the renderer and parser themselves.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Tuple

from ansible_collections.hypervisor.networking.plugins.module_utils.model import fields as f

ON_OFF = ("on", "off")
YES_NO = ("yes", "no")


@dataclasses.dataclass(frozen=True)
class Attr:
    xml: str
    key: str
    kind: str = "str"  # str, int, or choice (of `choices`)
    choices: Tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Element:
    tag: str
    key: str
    attrs: Tuple[Attr, ...] = ()
    children: Tuple["Element", ...] = ()
    many: bool = False  # repeats: a list in config
    scalar: Optional[Attr] = None  # the element is this one attribute (xml '' for its text)


def _on_off(*names):
    return tuple(Attr(name, name, "choice", ON_OFF) for name in names)


def _ints(*names):
    return tuple(Attr(name, name, "int") for name in names)


def _strs(*names):
    return tuple(Attr(name, name) for name in names)


# ---- the host side (top-level config fields) --------------------------------------------------
HOST_ELEMENTS = (
    Element("bandwidth", "bandwidth", children=(
        Element("inbound", "inbound", attrs=_ints("average", "peak", "burst", "floor")),
        Element("outbound", "outbound", attrs=_ints("average", "peak", "burst")),
    )),
    Element("vlan", "vlan", attrs=(Attr("trunk", "trunk", "choice", YES_NO),), children=(
        Element("tag", "tags", many=True, attrs=(Attr("id", "id", "int"), Attr("nativeMode", "native_mode", "choice", ("tagged", "untagged")))),
    )),
    Element("virtualport", "virtualport", attrs=(Attr("type", "type", "choice", ("openvswitch", "802.1Qbg", "802.1Qbh", "midonet")),),
            children=(Element("parameters", "parameters",
                              attrs=_strs("interfaceid", "profileid", "managerid", "typeid", "typeidversion", "instanceid")),)),
    Element("filterref", "filterref", attrs=_strs("filter"), children=(
        Element("parameter", "parameters", many=True, attrs=_strs("name", "value")),
    )),
    Element("backend", "backend", attrs=_strs("tap", "vhost", "type", "logFile")),
    Element("backenddomain", "backenddomain", scalar=Attr("name", "backenddomain")),
    Element("script", "script", scalar=Attr("path", "script")),
    Element("downscript", "downscript", scalar=Attr("path", "downscript")),
    Element("ip", "ip_addresses", many=True, attrs=(
        Attr("family", "family", "choice", ("ipv4", "ipv6")), Attr("address", "address"), Attr("prefix", "prefix", "int"),
        Attr("peer", "peer"))),
    Element("route", "routes", many=True, attrs=(
        Attr("family", "family", "choice", ("ipv4", "ipv6")), Attr("address", "address"), Attr("prefix", "prefix", "int"),
        Attr("gateway", "gateway"), Attr("metric", "metric", "int"))),
    Element("tune", "tune", children=(Element("sndbuf", "sndbuf", scalar=Attr("", "sndbuf", "int")),)),
)

# ---- what the guest sees (config fields under guest) -----------------------------------------
OFFLOADS_HOST = ("csum", "gso", "tso4", "tso6", "ecn", "ufo", "mrg_rxbuf")
OFFLOADS_GUEST = ("csum", "tso4", "tso6", "ecn", "ufo")
DRIVER = Element("driver", "driver", attrs=(
    Attr("txmode", "txmode", "choice", ("iothread", "timer")), Attr("tx_queue_size", "tx_queue_size", "int"),
) + _on_off("ioeventfd", "event_idx", "iommu", "ats", "packed", "page_per_vq", "rss", "rss_hash_report"), children=(
    Element("host", "host", attrs=_on_off(*OFFLOADS_HOST)),
    Element("guest", "guest", attrs=_on_off(*OFFLOADS_GUEST)),
))
GUEST_ELEMENTS = (
    DRIVER,
    Element("boot", "boot_order", scalar=Attr("order", "boot_order", "int")),
    Element("rom", "rom", attrs=(Attr("bar", "bar", "choice", ON_OFF), Attr("file", "file"), Attr("enabled", "enabled", "choice", YES_NO))),
    Element("coalesce", "coalesce", children=(
        Element("rx", "rx", children=(Element("frames", "frames", scalar=Attr("max", "frames", "int")),)),)),
    Element("teaming", "teaming", attrs=(Attr("type", "type", "choice", ("persistent", "transient")), Attr("persistent", "persistent"))),
    Element("alias", "alias", scalar=Attr("name", "alias")),
    Element("acpi", "acpi_index", scalar=Attr("index", "acpi_index", "int")),
    Element("address", "address", attrs=_strs("type", "domain", "bus", "slot", "function", "multifunction", "controller", "target",
                                              "unit", "cssid", "ssid", "devno", "iobase", "irq", "reg", "port")),
    Element("guest", "dev", scalar=Attr("dev", "dev")),
)
# the vhost-user <source>'s child
RECONNECT = Element("reconnect", "reconnect", attrs=(Attr("enabled", "enabled", "choice", YES_NO), Attr("timeout", "timeout", "int")))

HOST_KEYS = tuple(element.key for element in HOST_ELEMENTS)
GUEST_KEYS = tuple(element.key for element in GUEST_ELEMENTS)
INT_MAX = 2 ** 32 - 1


def check(problems, path, element, value):
    """The config value of `element` checked and normalised (None when absent or wrong): unknown
    keys and wrong values are problems naming the field and what it allows."""
    if value is None:
        return None
    if element.scalar:
        return _check_attr(problems, path, element.scalar, value)
    if element.many:
        items = f.as_list(problems, path, value)
        result = [_check_dict(problems, "%s[%d]" % (path, index), element, item) for index, item in enumerate(items)]
        return result if all(item is not None for item in result) else None
    return _check_dict(problems, path, element, value)


def _check_dict(problems, path, element, value):
    if not isinstance(value, dict):
        problems.add(path, "must be a dictionary")
        return None
    known = {attr.key: attr for attr in element.attrs}
    children = {child.key: child for child in element.children}
    result = {}
    for key in sorted(value, key=str):
        if key in known:
            checked = _check_attr(problems, "%s.%s" % (path, key), known[key], value[key])
        elif key in children:
            checked = check(problems, "%s.%s" % (path, key), children[key], value[key])
        else:
            problems.add("%s.%s" % (path, key), "is not a field of %s (allowed: %s)" % (path, ", ".join(list(known) + list(children))))
            continue
        if checked is not None:
            result[key] = checked
    return result


def _check_attr(problems, path, attr, value):
    if value is None:
        return None
    if attr.kind == "int":
        return f.check_int(problems, path, value, 0, INT_MAX)
    if attr.kind == "choice":
        if isinstance(value, bool) and attr.choices in (ON_OFF, YES_NO):
            value = attr.choices[0] if value else attr.choices[1]  # YAML reads a bare on/yes as true
        return f.check_choice(problems, path, value, attr.choices)
    if not isinstance(value, str) or not value:
        problems.add(path, "must be a non-empty string")
        return None
    return value
