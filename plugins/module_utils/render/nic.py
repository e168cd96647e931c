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

from ansible_collections.hypervisor.networking.plugins.module_utils.model import interface as m
from ansible_collections.hypervisor.networking.plugins.module_utils.model import nic_elements as el
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


_NO_GUEST = m.Guest()
# libvirt's fields each other target expresses; the rest of el.HOST_KEYS / el.GUEST_KEYS is libvirt's alone
EXPRESSED = {
    "qemu": ("tune", "driver", "boot_order", "rom", "acpi_index", "alias"),
    "cloud_hypervisor": ("bandwidth", "driver", "address"),
    "firecracker": ("bandwidth",),
    "kubevirt": ("vlan", "bandwidth", "trust_guest_rx_filters", "boot_order", "acpi_index", "address"),
}


# libvirt's <driver> as virtio-net-pci properties (as libvirt's own QEMU driver spells them)
QEMU_DRIVER_PROPERTIES = {"ioeventfd": "ioeventfd", "event_idx": "event_idx", "iommu": "iommu_platform", "ats": "ats",
                          "packed": "packed", "page_per_vq": "page-per-vq", "rss": "rss", "rss_hash_report": "hash",
                          "tx_queue_size": "tx_queue_size"}
QEMU_TXMODES = {"iothread": "bh", "timer": "timer"}
QEMU_HOST_OFFLOADS = {"csum": "csum", "gso": "gso", "tso4": "host_tso4", "tso6": "host_tso6", "ecn": "host_ecn", "ufo": "host_ufo",
                      "mrg_rxbuf": "mrg_rxbuf"}
QEMU_GUEST_OFFLOADS = {"csum": "guest_csum", "tso4": "guest_tso4", "tso6": "guest_tso6", "ecn": "guest_ecn", "ufo": "guest_ufo"}


def _qemu_device_properties(model):
    """-device properties of libvirt's guest sub-elements, in the order they are listed."""
    guest = _guest(model)
    driver = dict(guest.driver or {})
    pairs = []
    if driver:
        if _model_name(model) not in VIRTIO_MODELS:
            raise Unsupported("guest.driver", "these are virtio-net settings (guest.model is %s)" % _model_name(model))
        if "txmode" in driver:
            pairs.append(("tx", QEMU_TXMODES[driver.pop("txmode")]))
        for key, prop in QEMU_DRIVER_PROPERTIES.items():
            if key in driver:
                pairs.append((prop, str(driver.pop(key))))
        for group, names in (("host", QEMU_HOST_OFFLOADS), ("guest", QEMU_GUEST_OFFLOADS)):
            for key, value in sorted((driver.pop(group, None) or {}).items()):
                pairs.append((names[key], value))
    rom = guest.rom or {}
    if rom.get("bar") is not None:
        pairs.append(("rombar", "1" if rom["bar"] == "on" else "0"))
    if rom.get("file") is not None:
        pairs.append(("romfile", rom["file"]))
    if rom.get("enabled") == "no":
        pairs.append(("romfile", ""))
    if guest.boot_order is not None:
        pairs.append(("bootindex", str(guest.boot_order)))
    if guest.acpi_index is not None:
        pairs.append(("acpi-index", str(guest.acpi_index)))
    if guest.alias:
        pairs.append(("id", guest.alias))  # libvirt's alias is QEMU's device id
    return "".join(",%s=%s" % pair for pair in pairs)


def _libvirt_only(model, target):
    """Refuse what only libvirt can say: its own NIC types and its sub-elements `target` has no word for."""
    refusal = m.render_only(model)
    # a VMM may still say these: KubeVirt's sriov binding passes a VF, QEMU and cloud-hypervisor connect to a vhost-user socket
    if refusal and refusal[0] != "socket_mode" and not (target == "kubevirt" and model.kind == "hostdev"):
        raise Unsupported(refusal[0], "%s has no such NIC: libvirt sets it up (%s)"
                          % (target, model.effective_libvirt_type if refusal[0] != "target" else "target false"))
    for key in el.HOST_KEYS + ("trust_guest_rx_filters",):
        if getattr(model, key) is not None and key not in EXPRESSED[target]:
            raise Unsupported(key, "only libvirt applies it; %s has no such setting" % target)
    for key in el.GUEST_KEYS:
        if getattr(_guest(model), key) is not None and key not in EXPRESSED[target]:
            raise Unsupported("guest." + key, "only libvirt renders it; %s has no such setting" % target)


def _token_buckets(model, target):
    """libvirt's bandwidth (KiB/s and KiB) as token buckets in bytes refilled every second:
    {'inbound'|'outbound': {'size', 'one_time_burst', 'refill_time'}}."""
    result = {}
    for direction, values in sorted((model.bandwidth or {}).items()):
        for key in ("peak", "floor"):
            if values.get(key) is not None:
                raise Unsupported("bandwidth.%s.%s" % (direction, key), "%s's rate limiter is a token bucket: an average rate and"
                                  " a burst, no %s" % (target, key))
        if values.get("average") is None:
            raise Unsupported("bandwidth.%s.average" % direction, "%s's rate limiter needs an average rate" % target)
        bucket = {"size": values["average"] * 1024, "refill_time": 1000}
        if values.get("burst"):
            bucket["one_time_burst"] = values["burst"] * 1024
        result[direction] = bucket
    return result


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
    _libvirt_only(model, "qemu")
    if model.kind == "macvtap":
        raise Unsupported("kind", "QEMU opens a macvtap only through a file descriptor of /dev/tapN that its caller passes (fd=);"
                          " no command line alone can name it")
    argv = []
    if model.kind == "vhostuser":
        if _model_name(model) not in VIRTIO_MODELS:
            raise Unsupported("guest.model", "vhost-user needs a virtio NIC model")
        chardev = "chr-" + model.name
        # OVS's dpdkvhostuserclient connects to the socket: QEMU is the server
        if model.socket_mode == "client":  # QEMU connects to the socket the other side listens on
            chardev_options = "socket,id=%s,path=%s" % (chardev, model.socket)
            if (model.reconnect or {}).get("enabled") == "yes":
                chardev_options += ",reconnect=%d" % model.reconnect.get("timeout", 1)
        else:
            chardev_options = "socket,id=%s,path=%s,server=on" % (chardev, model.socket)
        argv += ["-chardev", chardev_options]
        if model.tune:
            raise Unsupported("tune", "the send buffer is a tap's; a vhost-user port has none")
        netdev = "vhost-user,id=%s,chardev=%s" % (netdev_id, chardev)
        if queues > 1:
            netdev += ",queues=%d" % queues
    else:
        netdev = "tap,id=%s,ifname=%s,script=no,downscript=no" % (netdev_id, model.name)
        if queues > 1:
            netdev += ",queues=%d" % queues
        if (model.tune or {}).get("sndbuf") is not None:
            netdev += ",sndbuf=%d" % model.tune["sndbuf"]
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
            if model.kind == "vhostuser" and "tx_queue_size" not in (guest.driver or {}):
                device += ",tx_queue_size=%d" % guest.queue_size  # QEMU takes tx_queue_size only with a vhost-user backend
        if _mtu(model):
            device += ",host_mtu=%d" % _mtu(model)
    elif queues > 1:
        raise Unsupported("guest.queues", "only virtio NIC models have several queues (guest.model is %s)" % _model_name(model))
    device += _qemu_device_properties(model)
    argv += ["-device", device]
    return argv


# ---- cloud-hypervisor ------------------------------------------------------------------------
def cloud_hypervisor(model):
    """The value of one --net argument (key=value pairs)."""
    guest = _guest(model)
    _libvirt_only(model, "cloud_hypervisor")
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
        pairs += [("vhost_user", "true"), ("socket", model.socket), ("vhost_mode", model.socket_mode or "server")]
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
    pairs += _cloud_hypervisor_driver(model)
    if guest.address:
        pairs.append(("pci_segment", str(_pci_segment(guest.address))))
    buckets = _token_buckets(model, "cloud_hypervisor")
    if buckets:
        if model.kind == "vhostuser":
            raise Unsupported("bandwidth", "cloud-hypervisor has no rate limiter for vhost-user")
        if len(buckets) != 2 or buckets["inbound"] != buckets["outbound"]:
            raise Unsupported("bandwidth", "cloud-hypervisor's one rate limiter holds for both directions: give inbound and outbound alike")
        bucket = buckets["inbound"]
        pairs += [("bw_size", str(bucket["size"])), ("bw_refill_time", str(bucket["refill_time"]))]
        if "one_time_burst" in bucket:
            pairs.append(("bw_one_time_burst", str(bucket["one_time_burst"])))
    return ",".join("%s=%s" % pair for pair in pairs)


def _pci_segment(address):
    """libvirt's guest PCI address as cloud-hypervisor's pci_segment: it picks the segment (domain), not the slot."""
    others = sorted(key for key in set(address) - {"type", "domain"} if address[key] not in ("0x0", "0x00", "0", None))
    if address.get("type") != "pci" or others:
        raise Unsupported("guest.address" + ("." + others[0] if others else ""),
                          "cloud-hypervisor places a NIC on a PCI segment (type pci, domain) only; it picks bus, slot and function")
    try:
        return int(address.get("domain") or "0", 0)
    except ValueError:
        raise Unsupported("guest.address.domain", "cloud-hypervisor's pci_segment is a number") from None


# libvirt's offloads behind each of cloud-hypervisor's switches (it turns host and guest features together)
CLOUD_HYPERVISOR_OFFLOADS = (("offload_tso", ("tso4", "tso6")), ("offload_ufo", ("ufo",)), ("offload_csum", ("csum",)))


def _cloud_hypervisor_driver(model):
    """libvirt's <driver> as cloud-hypervisor's iommu and offload_* keys, with its rules: vhost-user
    has no IOMMU, and checksum offload off needs TSO and UFO off."""
    driver = dict(_guest(model).driver or {})
    host, guest = driver.pop("host", None) or {}, driver.pop("guest", None) or {}
    pairs = []
    iommu = driver.pop("iommu", None)
    if driver:
        raise Unsupported("guest.driver." + sorted(driver)[0], "cloud-hypervisor has no such virtio-net setting")
    if iommu == "on":
        if model.kind == "vhostuser":
            raise Unsupported("guest.driver.iommu", "cloud-hypervisor refuses iommu with vhost-user")
        pairs.append(("iommu", "on"))
    for side, offloads in (("host", host), ("guest", guest)):
        others = sorted(set(offloads) - {"tso4", "tso6", "ufo", "csum"})
        if others:
            raise Unsupported("guest.driver.%s.%s" % (side, others[0]), "cloud-hypervisor switches only TSO, UFO and checksum offloads")
    switches = {}
    for switch, names in CLOUD_HYPERVISOR_OFFLOADS:
        values = {side[name] for side in (host, guest) for name in names if name in side}
        if len(values) > 1:
            raise Unsupported("guest.driver", "cloud-hypervisor's %s turns %s on or off for host and guest together" % (switch, "/".join(names)))
        if values:
            switches[switch] = values.pop()
            pairs.append((switch, "true" if switches[switch] == "on" else "false"))
    if switches.get("offload_csum") == "off" and (switches.get("offload_tso") != "off" or switches.get("offload_ufo") != "off"):
        raise Unsupported("guest.driver", "cloud-hypervisor needs TSO and UFO off (tso4, tso6, ufo) when checksum offload is off")
    return pairs


# ---- Firecracker -----------------------------------------------------------------------------
def firecracker(model):
    """One entry of the network-interfaces list of Firecracker's API and config file."""
    guest = _guest(model)
    _libvirt_only(model, "firecracker")
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
    # libvirt's inbound is what reaches the guest: Firecracker's rx
    for direction, bucket in _token_buckets(model, "firecracker").items():
        entry[{"inbound": "rx_rate_limiter", "outbound": "tx_rate_limiter"}[direction]] = {"bandwidth": bucket}
    return entry


# ---- KubeVirt --------------------------------------------------------------------------------
def kubevirt(model):
    """The VirtualMachine's interfaces and networks entries and, on a secondary (Multus) network,
    its NetworkAttachmentDefinition: bridge CNI for a tap, sriov CNI for a VF (kind hostdev)."""
    guest = _guest(model)
    settings = model.kubevirt or {}
    _libvirt_only(model, "kubevirt")
    binding = settings.get("binding") or ("sriov" if model.kind == "hostdev" else "bridge")
    pod = settings.get("network") == "pod"
    if binding == "masquerade" and not pod:
        raise Unsupported("kubevirt.binding", "masquerade connects the VM to the pod network only (set kubevirt.network: pod)")
    if binding == "sriov" and (model.kind != "hostdev" or pod):
        raise Unsupported("kubevirt.binding", "sriov passes a VF (kind hostdev) on a secondary network")
    if model.kind == "hostdev" and binding != "sriov":
        raise Unsupported("kind", "KubeVirt passes a VF to the guest with the sriov binding only")
    if model.kind not in ("tap", "hostdev"):
        raise Unsupported("kind", "KubeVirt's pod NICs are taps or SR-IOV VFs (kind is %s)" % model.kind)
    interface = {"name": model.name}
    if binding in ("bridge", "masquerade", "sriov"):
        interface[binding] = {}
    else:
        interface["binding"] = {"name": binding}  # a network binding plugin, such as passt
    if binding != "sriov":
        interface["model"] = _model_name(model)
    if guest.mac:
        interface["macAddress"] = guest.mac
    for key, value in (("ports", settings.get("ports")), ("bootOrder", guest.boot_order), ("acpiIndex", guest.acpi_index)):
        if value is not None:
            interface[key] = value
    if guest.address:
        interface["pciAddress"] = _pci_address(guest.address)
    if model.link_state == "down":
        interface["state"] = "down"
    if pod:
        for key in ("bridge", "vlan", "bandwidth"):
            if getattr(model, key):
                raise Unsupported(key, "the pod network is Kubernetes'; KubeVirt sets no %s on it" % key)
        return {"interfaces": [interface], "networks": [{"name": model.name, "pod": {}}]}
    if binding == "sriov":
        name, cni, annotations = _sriov_cni(model, settings)
    else:
        name, cni, annotations = _bridge_cni(model, settings)
    network = {"name": model.name, "multus": {"networkName": settings.get("network_name") or name}}
    metadata = {"name": settings.get("network_name") or name}
    if annotations:
        metadata["annotations"] = annotations
    attachment = {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": metadata,
        "spec": {"config": json.dumps(dict(cni, name=metadata["name"]), sort_keys=True)},
    }
    return {"interfaces": [interface], "networks": [network], "network_attachment_definition": attachment}


def _bridge_cni(model, settings):
    if not model.bridge:
        raise Unsupported("bridge", "KubeVirt attaches a secondary NIC through the bridge CNI, so the NIC needs a Linux bridge")
    if model.bandwidth:
        raise Unsupported("bandwidth", "the bridge CNI has no rate limit")
    if model.trust_guest_rx_filters is not None:
        raise Unsupported("trust_guest_rx_filters", "the bridge CNI has no trust setting (the sriov CNI's trust is a VF's)")
    cni = {"cniVersion": "0.3.1", "type": "bridge", "bridge": model.bridge}
    if _mtu(model):
        cni["mtu"] = _mtu(model)
    if model.isolated:
        cni["portIsolation"] = True
    if settings.get("spoofchk") is not None:
        cni["macspoofchk"] = settings["spoofchk"]
    cni.update(_bridge_cni_vlan(model.vlan))
    return model.bridge, cni, {}


def _sriov_cni(model, settings):
    """The sriov CNI's settings of the VF (the device plugin's resource picks the VF: its
    PCI address is the node's business, not the VM's)."""
    if not settings.get("resource_name"):
        raise Unsupported("kubevirt.resource_name", "the sriov CNI needs the SR-IOV device plugin's resource name")
    cni = {"cniVersion": "0.3.1", "type": "sriov"}
    vlan = model.vlan or {}
    if vlan:
        tags = vlan.get("tags") or []
        if vlan.get("trunk") == "yes" or len(tags) != 1:
            raise Unsupported("vlan", "the sriov CNI sets one VLAN on the VF, no trunk")
        cni["vlan"] = tags[0]["id"]
    if settings.get("vlan_qos") is not None:
        if "vlan" not in cni:
            raise Unsupported("kubevirt.vlan_qos", "is the priority of the VF's VLAN: set vlan as well")
        cni["vlanQoS"] = settings["vlan_qos"]
    if settings.get("spoofchk") is not None:
        cni["spoofchk"] = "on" if settings["spoofchk"] else "off"
    if model.trust_guest_rx_filters is not None:
        cni["trust"] = "on" if model.trust_guest_rx_filters else "off"
    if model.link_state is not None:
        cni["link_state"] = {"up": "enable", "down": "disable"}[model.link_state]
    for direction, values in sorted((model.bandwidth or {}).items()):
        if direction != "outbound" or set(values) - {"average"}:
            raise Unsupported("bandwidth", "the sriov CNI limits what the VF sends (outbound average) only")
        bits = values["average"] * 8192  # KiB/s to bit/s
        if bits % 1000000:
            raise Unsupported("bandwidth.outbound.average", "the sriov CNI's max_tx_rate is whole Mbit/s; %d KiB/s is %.3f Mbit/s"
                              % (values["average"], bits / 1e6))
        cni["max_tx_rate"] = bits // 1000000
    if _mtu(model):
        raise Unsupported("mtu", "a VF's MTU is the node's (the SR-IOV network operator's), not the sriov CNI's")
    return model.name, cni, {"k8s.v1.cni.cncf.io/resourceName": settings["resource_name"]}


def _pci_address(address):
    """libvirt's guest <address type='pci'> as KubeVirt's pciAddress (domain:bus:slot.function)."""
    if address.get("type") != "pci" or not all(address.get(key) for key in ("bus", "slot")):
        raise Unsupported("guest.address", "KubeVirt places a NIC by PCI address only (type pci with bus and slot)")
    keys = set(address) - {"type", "domain", "bus", "slot", "function"}
    if keys:
        raise Unsupported("guest.address." + sorted(keys)[0], "KubeVirt's pciAddress has domain, bus, slot and function only")
    try:
        numbers = [int(address.get(key) or "0", 0) for key in ("domain", "bus", "slot", "function")]
    except ValueError:
        raise Unsupported("guest.address", "KubeVirt's pciAddress needs numeric domain, bus, slot and function") from None
    return "%04x:%02x:%02x.%x" % tuple(numbers)


def _bridge_cni_vlan(vlan):
    """libvirt's <vlan> as the bridge CNI's vlan (the untagged VLAN) and vlanTrunk (the tagged ones)."""
    if not vlan:
        return {}
    tags = vlan.get("tags") or []
    if vlan.get("trunk") != "yes":
        if len(tags) != 1:
            raise Unsupported("vlan.tags", "the bridge CNI's access port has one VLAN; several tags need trunk: yes")
        return {"vlan": tags[0]["id"]}
    result = {"vlanTrunk": [{"id": tag["id"]} for tag in tags if tag.get("native_mode") != "untagged"]}
    native = [tag for tag in tags if tag.get("native_mode") == "untagged"]
    if native:
        result["vlan"] = native[0]["id"]
    if any(tag.get("native_mode") == "tagged" for tag in tags):
        raise Unsupported("vlan.tags", "the bridge CNI has no tagged native VLAN (native_mode tagged)")
    return result


def libvirt(model):
    return libvirt_interface.render(model, model.mtu if m.render_only(model) else _mtu(model), Unsupported)


RENDERERS = {
    "libvirt": libvirt,
    "qemu": qemu,
    "cloud_hypervisor": cloud_hypervisor,
    "firecracker": firecracker,
    "kubevirt": kubevirt,
}
