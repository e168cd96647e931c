# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One VM NIC in the syntax of each VMM: libvirt, QEMU, cloud-hypervisor, Firecracker, KubeVirt.

Pure functions of a completed VmInterface (every default filled in). Each renderer either
returns its rendering or says, naming the field, why its VMM cannot express the NIC: a
macvtap for cloud-hypervisor is an error, never a silently wrong rendering.
"""

from __future__ import annotations

import json

from ansible_collections.hypervisor.networking.plugins.module_utils.render import libvirt_interface

TARGETS = ("libvirt", "qemu", "cloud_hypervisor", "firecracker", "kubevirt")

# guest.model -> QEMU -device driver
QEMU_DEVICES = {
    "virtio": "virtio-net-pci",
    "virtio-transitional": "virtio-net-pci-transitional",
    "virtio-non-transitional": "virtio-net-pci-non-transitional",
    "e1000": "e1000",
    "e1000e": "e1000e",
    "igb": "igb",
    "rtl8139": "rtl8139",
    "vmxnet3": "vmxnet3",
}
VIRTIO_MODELS = ("virtio", "virtio-transitional", "virtio-non-transitional")
DEFAULT_QUEUE_SIZE = 256  # cloud-hypervisor's default; QEMU's too
DEFAULT_MTU = 1500  # every VMM's default: said only when the NIC differs


def _mtu(model):
    return model.mtu if model.mtu and model.mtu != DEFAULT_MTU else None


class Unsupported(Exception):
    """The target cannot express this NIC; `field` is the config field that makes it so."""

    def __init__(self, field, reason):
        super().__init__(reason)
        self.field = field
        self.reason = reason


def render(model, targets):
    """({target: rendering}, {target: (field, reason)}) for the requested targets."""
    done, refused = {}, {}
    for target in targets:
        try:
            done[target] = RENDERERS[target](model)
        except Unsupported as exc:
            refused[target] = (exc.field, exc.reason)
    return done, refused


def _guest(model):
    return model.guest or _NO_GUEST


class _NoGuest:
    mac = model = queues = queue_size = ip = vcpus = vhost = None


_NO_GUEST = _NoGuest()


def _queues(model):
    return _guest(model).queues or 1


def _model_name(model):
    return _guest(model).model or "virtio"


# ---- QEMU ------------------------------------------------------------------------------------
def qemu(model):
    """-netdev/-device (and -chardev for vhost-user) arguments, as a list of argv words."""
    guest = _guest(model)
    queues = _queues(model)
    netdev_id = "hn-" + model.name
    if model.kind == "macvtap":
        raise Unsupported("kind", "QEMU opens a macvtap only through a file descriptor of /dev/tapN that its caller passes (fd=);"
                          " no command line alone can name it")
    argv = []
    if model.kind == "vhostuser":
        if _model_name(model) not in VIRTIO_MODELS:
            raise Unsupported("guest.model", "vhost-user needs a virtio NIC model")
        chardev = "chr-" + model.name
        # OVS's dpdkvhostuserclient connects to the socket: QEMU is the server
        argv += ["-chardev", "socket,id=%s,path=%s,server=on" % (chardev, model.socket)]
        netdev = "vhost-user,id=%s,chardev=%s" % (netdev_id, chardev)
        if queues > 1:
            netdev += ",queues=%d" % queues
    else:
        netdev = "tap,id=%s,ifname=%s,script=no,downscript=no" % (netdev_id, model.name)
        if queues > 1:
            netdev += ",queues=%d" % queues
        if guest.vhost is not None:
            if _model_name(model) not in VIRTIO_MODELS:
                raise Unsupported("guest.vhost", "vhost-net serves virtio NIC models only (guest.model is %s)" % _model_name(model))
            netdev += ",vhost=%s" % ("on" if guest.vhost else "off")
    argv += ["-netdev", netdev]
    device = "%s,netdev=%s" % (QEMU_DEVICES[_model_name(model)], netdev_id)
    if guest.mac:
        device += ",mac=%s" % guest.mac
    if _model_name(model) in VIRTIO_MODELS:
        if queues > 1:
            device += ",mq=on,vectors=%d" % (2 * queues + 2)
        if guest.queue_size:
            device += ",rx_queue_size=%d" % guest.queue_size
            if model.kind == "vhostuser":  # QEMU takes tx_queue_size only with a vhost-user backend
                device += ",tx_queue_size=%d" % guest.queue_size
        if _mtu(model):
            device += ",host_mtu=%d" % _mtu(model)
    elif queues > 1:
        raise Unsupported("guest.queues", "only virtio NIC models have several queues (guest.model is %s)" % _model_name(model))
    argv += ["-device", device]
    return argv


# ---- cloud-hypervisor ------------------------------------------------------------------------
def cloud_hypervisor(model):
    """The value of one --net argument (key=value pairs)."""
    guest = _guest(model)
    if model.kind == "macvtap":
        raise Unsupported("kind", "cloud-hypervisor opens a macvtap only through a file descriptor passed with fd=")
    if _model_name(model) != "virtio":
        raise Unsupported("guest.model", "cloud-hypervisor emulates virtio-net only")
    queues = _queues(model)
    if guest.vcpus and queues > guest.vcpus:
        raise Unsupported("guest.queues", "%d queue pairs exceed the guest's %d vCPUs; cloud-hypervisor refuses that" % (queues, guest.vcpus))
    pairs = []
    if guest.vhost is not None:
        raise Unsupported("guest.vhost", "cloud-hypervisor's virtio-net runs in the VMM; it has no vhost-net")
    if model.kind == "vhostuser":
        pairs += [("vhost_user", "true"), ("socket", model.socket), ("vhost_mode", "server")]
    else:
        # num_queues above 2 opens the tap once per queue pair: a multi-queue tap (checked by the model)
        pairs.append(("tap", model.name))
    if guest.mac:
        pairs.append(("mac", guest.mac))
    if model.kind != "vhostuser" and model.mac:
        pairs.append(("host_mac", model.mac))
    if _mtu(model):
        pairs.append(("mtu", str(_mtu(model))))
    pairs.append(("num_queues", str(2 * queues)))  # rx and tx queues, two per pair
    pairs.append(("queue_size", str(guest.queue_size or DEFAULT_QUEUE_SIZE)))
    pairs.append(("id", model.name))
    return ",".join("%s=%s" % pair for pair in pairs)


# ---- Firecracker -----------------------------------------------------------------------------
def firecracker(model):
    """One entry of the network-interfaces list of Firecracker's API and config file."""
    guest = _guest(model)
    if model.kind != "tap":
        raise Unsupported("kind", "Firecracker's network devices are taps only (kind is %s)" % model.kind)
    if _model_name(model) != "virtio":
        raise Unsupported("guest.model", "Firecracker emulates virtio-net only")
    if _queues(model) > 1:
        raise Unsupported("guest.queues", "Firecracker's virtio-net has one queue pair")
    if guest.queue_size:
        raise Unsupported("guest.queue_size", "Firecracker's queue size is fixed")
    if guest.vhost:
        raise Unsupported("guest.vhost", "Firecracker's virtio-net runs in the VMM; it has no vhost-net")
    entry = {"iface_id": model.name, "host_dev_name": model.name}
    if guest.mac:
        entry["guest_mac"] = guest.mac
    return entry


# ---- KubeVirt --------------------------------------------------------------------------------
def kubevirt(model):
    """The VirtualMachine's interfaces and networks entries and the bridge CNI attachment."""
    guest = _guest(model)
    if model.kind != "tap":
        raise Unsupported("kind", "KubeVirt's bridge binding attaches a tap-like pod NIC to a Linux bridge (kind is %s)" % model.kind)
    if not model.bridge:
        raise Unsupported("bridge", "KubeVirt attaches a secondary NIC through the bridge CNI, so the NIC needs a Linux bridge")
    interface = {"name": model.name, "bridge": {}, "model": _model_name(model)}
    if guest.mac:
        interface["macAddress"] = guest.mac
    network = {"name": model.name, "multus": {"networkName": model.bridge}}
    cni = {"cniVersion": "0.3.1", "name": model.bridge, "type": "bridge", "bridge": model.bridge}
    if _mtu(model):
        cni["mtu"] = _mtu(model)
    if model.isolated:
        cni["portIsolation"] = True
    attachment = {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": {"name": model.bridge},
        "spec": {"config": json.dumps(cni, sort_keys=True)},
    }
    return {"interfaces": [interface], "networks": [network], "network_attachment_definition": attachment}


def libvirt(model):
    return libvirt_interface.render(model, _mtu(model), Unsupported)


RENDERERS = {
    "libvirt": libvirt,
    "qemu": qemu,
    "cloud_hypervisor": cloud_hypervisor,
    "firecracker": firecracker,
    "kubevirt": kubevirt,
}
