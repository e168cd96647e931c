# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt's domain <interface> elements (alone or every one of a <domain>) as vm_interface models.

The inverse of render/libvirt_interface.py: rendering the models gives the same elements back.
Anything this cannot represent (an unknown element, attribute or type) is an error naming it,
never silently dropped.
"""

from __future__ import annotations

from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.model import interface as m
from ansible_collections.hypervisor.networking.plugins.module_utils.model import nic_elements as el
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems
from ansible_collections.hypervisor.networking.plugins.module_utils.render.libvirt_interface import MISSING_LXML

# libvirt type -> (kind, libvirt_type)
TYPES = {"ethernet": ("tap", None), "bridge": ("tap", "bridge"), "network": ("tap", "network"), "direct": ("macvtap", "direct")}
TYPES.update((kind, (kind, None)) for kind in ("vhostuser",) + m.RENDER_ONLY_KINDS)
RUNTIME_ATTRIBUTES = ("portid", "bridge")  # what libvirt adds to a network's <source> while the domain runs
CORE_TAGS = ("mac", "source", "target", "model", "driver", "mtu", "link", "port")


def parse(text):
    """[VmInterface] of an <interface> or of every <interface> of a <domain>; raises ValidationError."""
    try:
        from lxml import etree  # imported here: only libvirt XML needs lxml
    except ImportError:
        raise ValidationError(["running_config: " + MISSING_LXML]) from None
    try:
        root = etree.fromstring(text.strip().encode(), etree.XMLParser(remove_comments=True, resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise ValidationError(["running_config: is not well-formed XML (%s)" % exc]) from None
    if root.tag == "interface":
        nodes = [root]
    elif root.tag == "domain":
        nodes = root.findall("devices/interface")
    else:
        raise ValidationError(["running_config: <%s> is neither a libvirt <interface> nor a <domain>" % root.tag])
    problems = Problems()
    models, names = [], set()
    for index, node in enumerate(nodes):
        path = "running_config.interface[%d]" % index
        item = _item(node, path, problems)
        if item is None:
            continue
        if item.get("name") is None:
            # libvirt names the device itself: the item still needs a name, as libvirt's own aliases go
            number = index
            while "net%d" % number in names:
                number += 1
            item["name"] = "net%d" % number
        names.add(item["name"])
        models.append(m.from_config(item, path, problems))
    problems.raise_if_any()
    return models


def _item(node, path, problems):
    libvirt_type = node.get("type")
    if libvirt_type not in TYPES:
        problems.add(path + ".type", "%s is not a libvirt interface type vm_interface represents (allowed: %s)"
                     % (libvirt_type, ", ".join(sorted(TYPES))))
        return None
    kind, type_field = TYPES[libvirt_type]
    item = {"kind": kind}
    if type_field:
        item["libvirt_type"] = type_field
    guest = {}
    for name, value in node.attrib.items():
        if name == "trustGuestRxFilters":
            item["trust_guest_rx_filters"] = _flag(problems, path + "." + name, value)
        elif name == "managed" and kind == "hostdev":
            item["managed"] = _flag(problems, path + "." + name, value)
        elif name != "type":
            problems.add("%s.%s" % (path, name), "is an attribute of <interface> vm_interface does not represent")
    host_elements = {element.tag: element for element in el.HOST_ELEMENTS}
    guest_elements = {element.tag: element for element in el.GUEST_ELEMENTS if element is not el.DRIVER}
    seen = set()
    for child in node:
        tag, where = child.tag, "%s.%s" % (path, child.tag)
        many = tag in host_elements and host_elements[tag].many
        if tag in seen and not many:
            problems.add(where, "appears twice")
            continue
        seen.add(tag)
        if tag in CORE_TAGS:
            _core(child, where, kind, libvirt_type, item, guest, problems)
        elif tag in host_elements:
            _merge(item, host_elements[tag], read_element(child, host_elements[tag], where, problems))
        elif tag in guest_elements:
            guest[guest_elements[tag].key] = read_element(child, guest_elements[tag], where, problems)
        else:
            problems.add(where, "<%s> is an element of <interface> vm_interface does not represent" % tag)
    if kind in m.LIBVIRT_TYPES and "target" not in seen:
        item["target"] = False
    if guest:
        item["guest"] = guest
    return item


def _merge(item, element, value):
    if element.many:
        item.setdefault(element.key, []).append(value)
    else:
        item[element.key] = value


def _core(child, where, kind, libvirt_type, item, guest, problems):
    attrs = dict(child.attrib)
    tag = child.tag
    if tag == "mac":
        guest["mac"] = attrs.pop("address", None)
    elif tag == "target":
        item["name"] = attrs.pop("dev", None)
        if kind not in m.LIBVIRT_TYPES:
            item["target"] = True
        managed = attrs.pop("managed", None)
        if (managed == "no") != (libvirt_type == "ethernet"):
            problems.add(where + ".managed", "vm_interface represents managed='no' on type ethernet only (a tap libvirt takes as it is)")
    elif tag == "model":
        guest["model"] = attrs.pop("type", None)
    elif tag == "mtu":
        item["mtu"] = _int(problems, where + ".size", attrs.pop("size", None))
    elif tag == "link":
        item["link_state"] = attrs.pop("state", None)
    elif tag == "port":
        item["isolated"] = _flag(problems, where + ".isolated", attrs.pop("isolated", None))
    elif tag == "driver":
        _driver(child, where, kind, item, guest, attrs, problems)
        attrs = {}
    else:
        _source(child, where, libvirt_type, item, attrs, problems)
        attrs = {}
    for name in attrs:
        problems.add("%s.%s" % (where, name), "is an attribute of <%s> vm_interface does not represent" % tag)
    if tag not in ("source", "driver") and len(child):
        problems.add(where, "<%s> has child elements vm_interface does not represent" % tag)


def _driver(child, where, kind, item, guest, attrs, problems):
    name = attrs.pop("name", None)
    if kind == "hostdev" and name is not None:
        if name in m.HOSTDEV_ASSIGNMENTS:
            item["assignment"] = name
        else:
            problems.add(where + ".name", "%s: vm_interface represents %s for hostdev" % (name, ", ".join(m.HOSTDEV_ASSIGNMENTS)))
    elif name in ("vhost", "qemu"):
        guest["vhost"] = name == "vhost"
    elif name is not None:
        problems.add(where + ".name", "%s: vm_interface represents vhost and qemu (%s for hostdev)" % (name, ", ".join(m.HOSTDEV_ASSIGNMENTS)))
    if "queues" in attrs:
        guest["queues"] = _int(problems, where + ".queues", attrs.pop("queues"))
    if "rx_queue_size" in attrs:
        guest["queue_size"] = _int(problems, where + ".rx_queue_size", attrs.pop("rx_queue_size"))
        if kind == "vhostuser" and attrs.get("tx_queue_size") == child.get("rx_queue_size"):
            del attrs["tx_queue_size"]  # the renderer says it for vhost-user
    driver = read_element(child, el.DRIVER, where, problems, attrs)
    if driver:
        guest["driver"] = driver


def _source(child, where, libvirt_type, item, attrs, problems):
    children = list(child)
    wanted = {"bridge": {"bridge": "bridge"}, "network": {"network": "network", "portgroup": "portgroup"},
              "direct": {"dev": "link", "mode": "mode"}, "vdpa": {"dev": "device"},
              "vhostuser": {"type": None, "path": "socket", "mode": "socket_mode"}}.get(libvirt_type)
    if libvirt_type in m.SOCKET_KINDS:
        wanted = {"address": "source_address", "port": "source_port"}
    for name, value in attrs.items():
        key = (wanted or {}).get(name, "")
        if wanted is None or key == "":
            hint = "; it is a running domain's: read 'virsh dumpxml --inactive'" if name in RUNTIME_ATTRIBUTES else ""
            problems.add("%s.%s" % (where, name), "is an attribute of <source> vm_interface does not represent for type %s%s"
                         % (libvirt_type, hint))
        elif key in ("source_port",):
            item[key] = _int(problems, "%s.%s" % (where, name), value)
        elif key == "socket_mode":
            if value != "server":
                item[key] = value
        elif key is None:
            if value != "unix":
                problems.add("%s.%s" % (where, name), "%s: vm_interface represents vhost-user over unix sockets only" % value)
        else:
            item[key] = value
    for sub in children:
        sub_where = "%s.%s" % (where, sub.tag)
        if libvirt_type == "vhostuser" and sub.tag == "reconnect":
            item["reconnect"] = read_element(sub, el.RECONNECT, sub_where, problems)
        elif libvirt_type == "hostdev" and sub.tag == "address":
            item["pci_address"] = _pci_address(sub, sub_where, problems)
        elif libvirt_type == "udp" and sub.tag == "local":
            for name, value in sub.attrib.items():
                if name == "address":
                    item["local_address"] = value
                elif name == "port":
                    item["local_port"] = _int(problems, sub_where + ".port", value)
                else:
                    problems.add("%s.%s" % (sub_where, name), "is an attribute of <local> vm_interface does not represent")
        else:
            problems.add(sub_where, "<%s> in <source> of type %s is an element vm_interface does not represent" % (sub.tag, libvirt_type))


def _pci_address(node, where, problems):
    attrs = dict(node.attrib)
    if attrs.pop("type", None) != "pci":
        problems.add(where + ".type", "a hostdev NIC is placed by PCI address (type='pci')")
        return None
    try:
        numbers = [int(attrs.pop(key, "0"), 0) for key in ("domain", "bus", "slot", "function")]
    except ValueError:
        problems.add(where, "domain, bus, slot and function must be numbers")
        return None
    for name in attrs:
        problems.add("%s.%s" % (where, name), "is an attribute of a hostdev's PCI address vm_interface does not represent")
    return "%04x:%02x:%02x.%x" % tuple(numbers)


def read_element(node, element, where, problems, attrib=None):
    """The config value of `node` read through its nic_elements table entry (`attrib`: its
    attributes not taken yet, by default all)."""
    if element.scalar:
        if element.scalar.xml:
            extra = set(node.attrib) - {element.scalar.xml}
            for name in sorted(extra):
                problems.add("%s.%s" % (where, name), "is an attribute of <%s> vm_interface does not represent" % node.tag)
            value = node.get(element.scalar.xml)
        else:
            value = (node.text or "").strip()
        return _int(problems, where, value) if element.scalar.kind == "int" else value
    attrs = {attr.xml: attr for attr in element.attrs}
    children = {child.tag: child for child in element.children}
    result = {}
    for name, value in (node.attrib if attrib is None else attrib).items():
        if name not in attrs:
            problems.add("%s.%s" % (where, name), "is an attribute of <%s> vm_interface does not represent" % node.tag)
            continue
        attr = attrs[name]
        result[attr.key] = _int(problems, "%s.%s" % (where, name), value) if attr.kind == "int" else value
    for sub in node:
        sub_where = "%s.%s" % (where, sub.tag)
        if sub.tag not in children:
            problems.add(sub_where, "<%s> in <%s> is an element vm_interface does not represent" % (sub.tag, node.tag))
            continue
        spec = children[sub.tag]
        value = read_element(sub, spec, sub_where, problems)
        if spec.many:
            result.setdefault(spec.key, []).append(value)
        else:
            result[spec.key] = value
    return result


def _int(problems, where, value):
    try:
        return int(value, 0) if isinstance(value, str) and value.lower().startswith("0x") else int(value)
    except (TypeError, ValueError):
        problems.add(where, "%r is not a number" % (value,))
        return None


def _flag(problems, where, value):
    if value not in ("yes", "no"):
        problems.add(where, "%r is not yes or no" % (value,))
        return None
    return value == "yes"
