# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A VM NIC as libvirt's domain <interface> element.

A tap or macvtap the collection manages is handed to libvirt as it is: type 'ethernet' with
<target managed='no'/> (libvirt >= 5.7), so libvirt neither creates nor reconfigures it and
an unprivileged libvirtd can use it. A vhost-user port is type 'vhostuser' in server mode:
OVS's dpdkvhostuserclient port connects to the socket QEMU listens on.
"""

from __future__ import annotations

MISSING_LXML = "rendering libvirt XML needs the Python package lxml (python3-lxml on Debian/Ubuntu, or pip install lxml)"


def render(model, mtu, unsupported):
    """The <interface> element as text (`mtu`: None for the default); raises `unsupported(field, reason)`
    when libvirt cannot say it."""
    try:
        from lxml import etree  # imported here: only rendering needs lxml
    except ImportError:
        raise unsupported("kind", MISSING_LXML) from None
    guest = model.guest
    queues = (guest.queues if guest else None) or 1
    queue_size = guest.queue_size if guest else None
    guest_model = (guest.model if guest else None) or "virtio"
    if model.kind == "vhostuser":
        if guest_model != "virtio":
            raise unsupported("guest.model", "libvirt's vhost-user interfaces need the virtio model")
        interface = etree.Element("interface", type="vhostuser")
    else:
        interface = etree.Element("interface", type="ethernet")
    if guest and guest.mac:
        etree.SubElement(interface, "mac", address=guest.mac)
    if model.kind == "vhostuser":
        etree.SubElement(interface, "source", type="unix", path=model.socket, mode="server")
    else:
        etree.SubElement(interface, "target", dev=model.name, managed="no")
    etree.SubElement(interface, "model", type=guest_model)
    driver = {}
    vhost = guest.vhost if guest else None
    if vhost is not None and model.kind != "vhostuser":
        driver["name"] = "vhost" if vhost else "qemu"
    if queues > 1:
        driver["queues"] = str(queues)
    if queue_size:
        driver["rx_queue_size"] = str(queue_size)
        if model.kind == "vhostuser":  # QEMU takes tx_queue_size only with a vhost-user backend
            driver["tx_queue_size"] = str(queue_size)
    if driver:
        if queues > 1 and not guest_model.startswith("virtio"):
            raise unsupported("guest.queues", "only virtio NIC models have several queues (guest.model is %s)" % guest_model)
        etree.SubElement(interface, "driver", **driver)
    if mtu:
        etree.SubElement(interface, "mtu", size=str(mtu))
    return etree.tostring(interface, pretty_print=True, encoding="unicode")
