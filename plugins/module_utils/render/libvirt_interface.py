# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A VM NIC as libvirt's domain <interface> element.

A tap or macvtap the collection manages is handed to libvirt as it is: type 'ethernet' with
<target managed='no'/> (libvirt >= 5.7), so libvirt neither creates nor reconfigures it and
an unprivileged libvirtd can use it. A vhost-user port is type 'vhostuser' in server mode:
OVS's dpdkvhostuserclient port connects to the socket QEMU listens on. The other types
(libvirt_type bridge, network or direct, and the render-only kinds) are libvirt's own NICs:
only what the config says is rendered, so that parse -> render gives the same XML back.
"""

from __future__ import annotations

from ansible_collections.hypervisor.networking.plugins.module_utils.model import interface as m
from ansible_collections.hypervisor.networking.plugins.module_utils.model import nic_elements as el

MISSING_LXML = "rendering libvirt XML needs the Python package lxml (python3-lxml on Debian/Ubuntu, or pip install lxml)"
DRIVER_NAMES = {True: "vhost", False: "qemu"}  # guest.vhost


def render(model, mtu, unsupported):
    """The <interface> element as text (`mtu`: None for the default); raises `unsupported(field, reason)`
    when libvirt cannot say it."""
    try:
        from lxml import etree  # imported here: only rendering needs lxml
    except ImportError:
        raise unsupported("kind", MISSING_LXML) from None
    guest = model.guest or m.Guest()
    built = m.render_only(model) is None  # a device the collection builds: the defaults it has are said
    kind, libvirt_type = model.effective_kind, model.effective_libvirt_type
    queues = guest.queues or 1
    guest_model = guest.model or ("virtio" if built else None)
    if kind == "vhostuser" and guest_model not in (None, "virtio"):
        raise unsupported("guest.model", "libvirt's vhost-user interfaces need the virtio model")
    attrs = {"type": libvirt_type}
    if kind == "hostdev" and model.managed is not None:
        attrs["managed"] = _yes_no(model.managed)
    if model.trust_guest_rx_filters is not None:
        attrs["trustGuestRxFilters"] = _yes_no(model.trust_guest_rx_filters)
    interface = etree.Element("interface", **attrs)
    if guest.mac:
        etree.SubElement(interface, "mac", address=guest.mac)
    _source(etree, interface, model, libvirt_type)
    if model.renders_target:
        target = etree.SubElement(interface, "target", dev=model.name)
        if libvirt_type == "ethernet":
            target.set("managed", "no")
    if guest_model:
        etree.SubElement(interface, "model", type=guest_model)
    _driver(etree, interface, model, guest, queues, guest_model, unsupported)
    if mtu:
        etree.SubElement(interface, "mtu", size=str(mtu))
    if model.link_state is not None and (not built or model.link_state == "down"):
        etree.SubElement(interface, "link", state=model.link_state)
    if model.isolated and (model.virtualport or {}).get("type") == "openvswitch":
        raise unsupported("isolated", "libvirt refuses <port isolated> on an Open vSwitch port (virtualport type openvswitch)")
    if model.isolated is not None and libvirt_type in ("bridge", "network"):
        etree.SubElement(interface, "port", isolated=_yes_no(model.isolated))
    for element in el.HOST_ELEMENTS:
        add_element(etree, interface, element, getattr(model, element.key))
    for element in el.GUEST_ELEMENTS:
        if element is not el.DRIVER:
            add_element(etree, interface, element, getattr(guest, element.key))
    return etree.tostring(interface, pretty_print=True, encoding="unicode")


def _source(etree, interface, model, libvirt_type):
    if libvirt_type == "bridge":
        etree.SubElement(interface, "source", bridge=model.bridge)
    elif libvirt_type == "network":
        source = etree.SubElement(interface, "source", network=model.network)
        if model.portgroup:
            source.set("portgroup", model.portgroup)
    elif libvirt_type == "direct":
        source = etree.SubElement(interface, "source", dev=model.link)
        if model.mode:
            source.set("mode", model.mode)
    elif libvirt_type == "vhostuser":
        # OVS's dpdkvhostuserclient connects to the socket: QEMU is the server unless told otherwise
        source = etree.SubElement(interface, "source", type="unix", path=model.socket, mode=model.socket_mode or "server")
        add_element(etree, source, el.RECONNECT, model.reconnect)
    elif libvirt_type == "hostdev":
        domain, bus, rest = model.pci_address.split(":")
        slot, function = rest.split(".")
        source = etree.SubElement(interface, "source")
        etree.SubElement(source, "address", type="pci", domain="0x" + domain, bus="0x" + bus, slot="0x" + slot, function="0x" + function)
    elif libvirt_type == "vdpa":
        etree.SubElement(interface, "source", dev=model.device)
    elif libvirt_type in m.SOCKET_KINDS:
        source = etree.SubElement(interface, "source")
        if model.source_address:
            source.set("address", model.source_address)
        source.set("port", str(model.source_port))
        if model.local_address or model.local_port:
            local = etree.SubElement(source, "local")
            if model.local_address:
                local.set("address", model.local_address)
            if model.local_port:
                local.set("port", str(model.local_port))


def _driver(etree, interface, model, guest, queues, guest_model, unsupported):
    attrs = {}
    if model.effective_kind == "hostdev":
        if model.assignment:  # unset: no <driver name>, libvirt chooses (VFIO)
            attrs["name"] = model.assignment
    elif guest.vhost is not None and model.effective_kind != "vhostuser":
        attrs["name"] = DRIVER_NAMES[guest.vhost]
    if queues > 1:
        attrs["queues"] = str(queues)
    if guest.queue_size:
        attrs["rx_queue_size"] = str(guest.queue_size)
        if model.effective_kind == "vhostuser" and "tx_queue_size" not in (guest.driver or {}):
            # QEMU takes tx_queue_size only with a vhost-user backend
            attrs["tx_queue_size"] = str(guest.queue_size)
    if not attrs and not guest.driver:
        return
    if queues > 1 and guest_model and not guest_model.startswith("virtio"):
        raise unsupported("guest.queues", "only virtio NIC models have several queues (guest.model is %s)" % guest_model)
    driver = add_element(etree, interface, el.DRIVER, guest.driver or {})
    for key, value in attrs.items():
        driver.set(key, value)


def add_element(etree, parent, element, value):
    """Append `element` (a nic_elements table entry) holding the config `value`; returns the
    (last) element made, None when the value is unset."""
    if value is None:
        return None
    if element.many:
        made = None
        for item in value:
            made = add_element(etree, parent, _single(element), item)
        return made
    node = etree.SubElement(parent, element.tag)
    if element.scalar:
        if element.scalar.xml:
            node.set(element.scalar.xml, str(value))
        else:
            node.text = str(value)
        return node
    for attr in element.attrs:
        if value.get(attr.key) is not None:
            node.set(attr.xml, str(value[attr.key]))
    for child in element.children:
        add_element(etree, node, child, value.get(child.key))
    return node


def _single(element):
    return el.Element(element.tag, element.key, element.attrs, element.children, False, element.scalar)


def _yes_no(flag):
    return "yes" if flag else "no"
