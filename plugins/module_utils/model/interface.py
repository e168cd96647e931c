# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host side of a VM NIC (vm_interface) and what the guest sees of it."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Optional

from ansible_collections.hypervisor.networking.plugins.module_utils.model import fields as f
from ansible_collections.hypervisor.networking.plugins.module_utils.model import nic_elements as el
from ansible_collections.hypervisor.networking.plugins.module_utils.model.ovs_port import MTU_MAX, check_socket_path

HOST_KINDS = ("tap", "macvtap", "vhostuser")  # the kinds the collection builds on the host
# libvirt's own interface types: no host side for the collection, for state rendered and parsed only
RENDER_ONLY_KINDS = ("hostdev", "user", "vdpa", "mcast", "server", "client", "udp")
SOCKET_KINDS = ("mcast", "server", "client", "udp")
KINDS = HOST_KINDS + RENDER_ONLY_KINDS
# how libvirt is told about a tap or macvtap: 'ethernet' hands it the collection's device,
# 'bridge', 'network' and 'direct' let libvirt create its own
LIBVIRT_TYPES = {"tap": ("ethernet", "bridge", "network"), "macvtap": ("ethernet", "direct")}
SOCKET_MODES = ("server", "client")
MACVTAP_MODES = ("vepa", "bridge", "private", "passthru")
LINK_STATES = ("up", "down")
GUEST_MODELS = ("virtio", "virtio-transitional", "virtio-non-transitional", "e1000", "e1000e", "igb", "rtl8139", "vmxnet3", "ne2k_pci",
                "pcnet")
MAX_QUEUE_PAIRS = 128   # cloud-hypervisor num_queues = 2 x pairs; a tap holds at most 256 queues
QUEUE_SIZE_MIN, QUEUE_SIZE_MAX = 64, 32768
MAX_VCPUS = 4096
TAP_ONLY = ("multi_queue", "owner", "group", "bridge", "isolated", "learning", "flood")
MACVTAP_ONLY = ("link", "mode")
BRIDGE_PORT_FLAGS = ("isolated", "learning", "flood")
# vhostuser: a dpdkvhostuserclient port on an OVS netdev bridge; QEMU (as `owner`) listens on `socket`
VHOSTUSER_FIELDS = ("name", "kind", "bridge", "socket", "owner", "mtu", "guest", "socket_mode", "reconnect", "target",
                    "trust_guest_rx_filters", "kubevirt") + el.HOST_KEYS
# how libvirt hands a hostdev NIC's PCI device to the guest (<driver name>): VFIO, or legacy KVM or Xen assignment
HOSTDEV_ASSIGNMENTS = ("vfio", "kvm", "xen")
# fields of one libvirt type only: (field, the kinds or libvirt types that take it)
SOURCE_FIELDS = (
    ("network", ("network",)), ("portgroup", ("network",)), ("socket_mode", ("vhostuser",)), ("reconnect", ("vhostuser",)),
    ("managed", ("hostdev",)), ("assignment", ("hostdev",)), ("pci_address", ("hostdev",)), ("device", ("vdpa",)),
    ("source_address", SOCKET_KINDS), ("source_port", SOCKET_KINDS), ("local_address", ("udp",)), ("local_port", ("udp",)),
)
# required by a libvirt type
SOURCE_REQUIRED = {"network": ("network",), "bridge": ("bridge",), "direct": ("link",), "hostdev": ("pci_address",), "vdpa": ("device",),
                   "mcast": ("source_address", "source_port"), "client": ("source_address", "source_port"),
                   "udp": ("source_address", "source_port"), "server": ("source_port",)}
# host-side fields that mean something only on a device the collection builds
BUILT_ONLY = ("multi_queue", "owner", "group", "mac", "learning", "flood")
PCI_ADDRESS_RE = re.compile(r"([0-9a-fA-F]{4}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])")
VHOSTUSER_MTU_MAX = MTU_MAX


@dataclasses.dataclass
class Guest:
    mac: Optional[str] = None
    model: Optional[str] = None
    queues: Optional[int] = None
    queue_size: Optional[int] = None
    ip: Optional[str] = None
    vcpus: Optional[int] = None  # only checks renderings: cloud-hypervisor refuses more queue pairs than vCPUs
    vhost: Optional[bool] = None  # virtio-net in the kernel (/dev/vhost-net) rather than in the VMM; unset: the VMM's default
    # libvirt's sub-elements (nic_elements.GUEST_ELEMENTS)
    driver: Optional[dict] = None
    boot_order: Optional[int] = None
    rom: Optional[dict] = None
    coalesce: Optional[dict] = None
    teaming: Optional[dict] = None
    alias: Optional[str] = None
    acpi_index: Optional[int] = None
    address: Optional[dict] = None
    dev: Optional[str] = None


@dataclasses.dataclass
class VmInterface:
    name: str
    kind: Optional[str] = None
    multi_queue: Optional[bool] = None
    owner: Optional[str] = None
    group: Optional[str] = None
    mtu: Optional[int] = None
    mac: Optional[str] = None
    link_state: Optional[str] = None
    bridge: Optional[str] = None
    isolated: Optional[bool] = None
    learning: Optional[bool] = None
    flood: Optional[bool] = None
    link: Optional[str] = None
    mode: Optional[str] = None
    guest: Optional[Guest] = None
    socket: Optional[str] = None
    # how libvirt sees it (render/libvirt_interface.py)
    libvirt_type: Optional[str] = None
    target: Optional[bool] = None
    network: Optional[str] = None
    portgroup: Optional[str] = None
    socket_mode: Optional[str] = None
    reconnect: Optional[dict] = None
    managed: Optional[bool] = None
    assignment: Optional[str] = None  # hostdev: libvirt's <driver name>; unset, libvirt chooses (VFIO)
    pci_address: Optional[str] = None
    device: Optional[str] = None
    source_address: Optional[str] = None
    source_port: Optional[int] = None
    local_address: Optional[str] = None
    local_port: Optional[int] = None
    trust_guest_rx_filters: Optional[bool] = None
    # libvirt's sub-elements of the host side (nic_elements.HOST_ELEMENTS)
    bandwidth: Optional[dict] = None
    vlan: Optional[dict] = None
    virtualport: Optional[dict] = None
    filterref: Optional[dict] = None
    backend: Optional[dict] = None
    backenddomain: Optional[str] = None
    script: Optional[str] = None
    downscript: Optional[str] = None
    ip_addresses: Optional[list] = None
    routes: Optional[list] = None
    tune: Optional[dict] = None
    kubevirt: Optional[dict] = None  # KubeVirt's own settings (render/nic.py)

    @property
    def effective_kind(self):
        return self.kind or "tap"

    @property
    def effective_libvirt_type(self):
        if self.effective_kind in LIBVIRT_TYPES:
            return self.libvirt_type or "ethernet"
        return self.effective_kind

    @property
    def renders_target(self):
        """Whether libvirt is told the device's name (<target dev>): by default for taps and macvtaps."""
        return self.target if self.target is not None else self.effective_kind in LIBVIRT_TYPES


# what the collection keeps in its saved state only, as it keeps guest: the kernel does not hold it
SAVED_ONLY = ("guest", "trust_guest_rx_filters", "kubevirt") + el.HOST_KEYS


def restore_saved_only(model, saved_item):
    """What only the saved state keeps (guest, libvirt's settings), as the last call gave it."""
    for key in SAVED_ONLY:
        value = saved_item.get(key)
        if value is not None and value != {}:  # false is kept: trust_guest_rx_filters: false says <... trustGuestRxFilters='no'>
            setattr(model, key, Guest(**value) if key == "guest" else value)


def render_only(model):
    """(field, reason) when the collection builds no host side for this NIC (state rendered and
    parsed only), else None."""
    kind = model.effective_kind
    if kind in RENDER_ONLY_KINDS:
        return "kind", ("a %s NIC has no host side the collection builds (libvirt or the VMM sets it up); it is for state rendered"
                        " and parsed only" % kind)
    if model.effective_libvirt_type != model.effective_kind and model.effective_libvirt_type != "ethernet":
        return "libvirt_type", ("with %s libvirt creates the %s itself, so the collection builds nothing; it is for state rendered and"
                                " parsed only (libvirt_type ethernet hands libvirt the collection's device)"
                                % (model.effective_libvirt_type, kind))
    if kind in LIBVIRT_TYPES and model.target is False:
        return "target", "false lets libvirt create and name the %s itself; it is for state rendered and parsed only" % kind
    if kind == "vhostuser" and model.socket_mode == "client":
        return "socket_mode", ("client makes QEMU connect to a socket OVS listens on; the collection builds OVS's vhost-user-client"
                               " port, for which QEMU is the server; it is for state rendered and parsed only")
    return None


DEFAULTS = VmInterface(name="", kind="tap", link_state="up", isolated=False)


def from_config(item, path, problems):
    """Validate one config item (values only, no host look-ups) into a VmInterface."""
    name = f.check_ifname(problems, path + ".name", item.get("name"))
    if item.get("name") is None:
        problems.add(path + ".name", "is required")
    kind = f.check_choice(problems, path + ".kind", item.get("kind"), KINDS)
    guest_item = f.as_dict(problems, path + ".guest", item.get("guest"))
    guest = Guest(
        mac=f.normalize_mac(problems, path + ".guest.mac", guest_item.get("mac")),
        model=f.check_choice(problems, path + ".guest.model", guest_item.get("model"), GUEST_MODELS),
        queues=f.check_int(problems, path + ".guest.queues", guest_item.get("queues"), 1, MAX_QUEUE_PAIRS),
        queue_size=_check_queue_size(problems, path + ".guest.queue_size", guest_item.get("queue_size")),
        ip=_check_guest_ip(problems, path + ".guest.ip", guest_item.get("ip")),
        vcpus=f.check_int(problems, path + ".guest.vcpus", guest_item.get("vcpus"), 1, MAX_VCPUS),
        vhost=f.check_bool(problems, path + ".guest.vhost", guest_item.get("vhost")),
        **{element.key: el.check(problems, path + ".guest." + element.key, element, guest_item.get(element.key))
           for element in el.GUEST_ELEMENTS}
    )
    _check_unknown(problems, path + ".guest", guest_item, [field.name for field in dataclasses.fields(Guest)])
    model = VmInterface(
        name=name or item.get("name") or "",
        kind=kind,
        multi_queue=f.check_bool(problems, path + ".multi_queue", item.get("multi_queue")),
        owner=f.check_id(problems, path + ".owner", item.get("owner"), "user"),
        group=f.check_id(problems, path + ".group", item.get("group"), "group"),
        mtu=f.check_int(problems, path + ".mtu", item.get("mtu"), 68, 65535),
        mac=f.normalize_mac(problems, path + ".mac", item.get("mac")),
        link_state=f.check_choice(problems, path + ".link_state", item.get("link_state"), LINK_STATES),
        bridge=f.check_ifname(problems, path + ".bridge", item.get("bridge")),
        isolated=f.check_bool(problems, path + ".isolated", item.get("isolated")),
        learning=f.check_bool(problems, path + ".learning", item.get("learning")),
        flood=f.check_bool(problems, path + ".flood", item.get("flood")),
        link=f.check_ifname(problems, path + ".link", item.get("link")),
        mode=f.check_choice(problems, path + ".mode", item.get("mode"), MACVTAP_MODES),
        guest=guest if any(dataclasses.astuple(guest)) else None,
        socket=check_socket_path(problems, path + ".socket", item.get("socket")),
        libvirt_type=_check_libvirt_type(problems, path + ".libvirt_type", item.get("libvirt_type"), kind or "tap"),
        target=f.check_bool(problems, path + ".target", item.get("target")),
        network=_check_text(problems, path + ".network", item.get("network")),
        portgroup=_check_text(problems, path + ".portgroup", item.get("portgroup")),
        socket_mode=f.check_choice(problems, path + ".socket_mode", item.get("socket_mode"), SOCKET_MODES),
        reconnect=el.check(problems, path + ".reconnect", el.RECONNECT, item.get("reconnect")),
        managed=f.check_bool(problems, path + ".managed", item.get("managed")),
        assignment=f.check_choice(problems, path + ".assignment", item.get("assignment"), HOSTDEV_ASSIGNMENTS),
        pci_address=_check_pci_address(problems, path + ".pci_address", item.get("pci_address")),
        device=_check_text(problems, path + ".device", item.get("device")),
        source_address=_check_ip(problems, path + ".source_address", item.get("source_address")),
        source_port=f.check_int(problems, path + ".source_port", item.get("source_port"), 1, 65535),
        local_address=_check_ip(problems, path + ".local_address", item.get("local_address")),
        local_port=f.check_int(problems, path + ".local_port", item.get("local_port"), 1, 65535),
        trust_guest_rx_filters=f.check_bool(problems, path + ".trust_guest_rx_filters", item.get("trust_guest_rx_filters")),
        kubevirt=_check_kubevirt(problems, path + ".kubevirt", item.get("kubevirt")),
        **{element.key: el.check(problems, path + "." + element.key, element, item.get(element.key)) for element in el.HOST_ELEMENTS}
    )
    _check_combinations(problems, path, item, model)
    return model


def _check_unknown(problems, path, item, known):
    for key in sorted(set(item) - set(known), key=str):
        problems.add("%s.%s" % (path, key), "is not a field (allowed: %s)" % ", ".join(known))


KUBEVIRT_FIELDS = ("binding", "network", "network_name", "ports", "resource_name", "spoofchk", "vlan_qos")
KUBEVIRT_NETWORKS = ("multus", "pod")
KUBEVIRT_PROTOCOLS = ("TCP", "UDP", "SCTP")
_DNS_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)?")


def _check_kubevirt(problems, path, value):
    if value is None:
        return None
    value = f.as_dict(problems, path, value)
    _check_unknown(problems, path, value, KUBEVIRT_FIELDS)
    result = {}
    for key in ("binding", "network_name", "resource_name"):
        if value.get(key) is not None:
            result[key] = _check_text(problems, "%s.%s" % (path, key), value[key])
    if value.get("network_name") is not None and not _DNS_LABEL_RE.fullmatch(str(value["network_name"])):
        problems.add(path + ".network_name", "%s is not a NetworkAttachmentDefinition name ([namespace/]name, lower-case DNS labels)"
                     % f.quoted(value["network_name"]))
    result["network"] = f.check_choice(problems, path + ".network", value.get("network"), KUBEVIRT_NETWORKS)
    result["spoofchk"] = f.check_bool(problems, path + ".spoofchk", value.get("spoofchk"))
    result["vlan_qos"] = f.check_int(problems, path + ".vlan_qos", value.get("vlan_qos"), 0, 7)
    ports = []
    for index, port in enumerate(f.as_list(problems, path + ".ports", value.get("ports"))):
        where = "%s.ports[%d]" % (path, index)
        port = f.as_dict(problems, where, port)
        _check_unknown(problems, where, port, ("name", "port", "protocol"))
        entry = {"port": f.check_int(problems, where + ".port", port.get("port"), 1, 65535)}
        if port.get("port") is None:
            problems.add(where + ".port", "is required")
        if port.get("name") is not None:
            entry["name"] = _check_text(problems, where + ".name", port["name"])
        if port.get("protocol") is not None:
            entry["protocol"] = f.check_choice(problems, where + ".protocol", port["protocol"], KUBEVIRT_PROTOCOLS)
        ports.append(entry)
    if value.get("ports") is not None:
        result["ports"] = ports
    return {key: item for key, item in result.items() if item is not None}


def _check_libvirt_type(problems, path, value, kind):
    if value is None:
        return None
    choices = LIBVIRT_TYPES.get(kind)
    if not choices:
        problems.add(path, "applies to kinds tap and macvtap only; a %s NIC is libvirt's type %s" % (kind, kind))
        return None
    return f.check_choice(problems, path, value, choices)


def _check_text(problems, path, value):
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        problems.add(path, "must be a non-empty string")
        return None
    return value


def _check_ip(problems, path, value):
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        problems.add(path, "%s is not an IPv4 or IPv6 address" % f.quoted(value))
        return None


def _check_pci_address(problems, path, value):
    if value is None:
        return None
    match = PCI_ADDRESS_RE.fullmatch(value) if isinstance(value, str) else None
    if not match:
        problems.add(path, "%s is not a PCI address; use domain:bus:slot.function, for example 0000:03:10.2" % f.quoted(value))
        return None
    return value.lower()


def _check_queue_size(problems, path, value):
    value = f.check_int(problems, path, value, QUEUE_SIZE_MIN, QUEUE_SIZE_MAX)
    if value is not None and value & (value - 1):
        problems.add(path, "%d is not a power of two; virtio queues have 64, 128, ... 32768 entries" % value)
        return None
    return value


def _check_guest_ip(problems, path, value):
    if value is None:
        return None
    iface = f.parse_interface_address(problems, path, value, inline_prefix=True)
    return str(iface) if iface else None


def _type_name(name):
    """'kind hostdev' or 'libvirt_type network': how a message names a libvirt type."""
    return ("kind " if name in KINDS else "libvirt_type ") + name


def _check_combinations(problems, path, item, model):
    kind = model.kind or "tap"
    libvirt_type = model.effective_libvirt_type
    for key, owners in SOURCE_FIELDS:
        if item.get(key) is not None and kind not in owners and libvirt_type not in owners:
            problems.add(path + "." + key, "applies to %s only" % ", ".join(_type_name(owner) for owner in owners))
    if model.reconnect is not None and model.socket_mode != "client":
        problems.add(path + ".reconnect", "needs socket_mode client: only the side that connects reconnects")
    for key in SOURCE_REQUIRED.get(libvirt_type, ()):
        if item.get(key) is None:
            problems.add(path + "." + key, "is required for %s" % _type_name(libvirt_type))
    if kind in RENDER_ONLY_KINDS or libvirt_type not in ("ethernet", kind):
        for key in BUILT_ONLY + (("bridge",) if libvirt_type != "bridge" else ()) + (("isolated",) if kind != "tap" else ()):
            if item.get(key) is not None:
                problems.add(path + "." + key, "does not apply to %s: libvirt, not the collection, sets up this NIC" % (
                    "kind " + kind if kind in RENDER_ONLY_KINDS else "libvirt_type " + libvirt_type))
        return
    if kind != "vhostuser" and item.get("socket") is not None:
        problems.add(path + ".socket", "applies to kind vhostuser only")
    if kind == "vhostuser":
        for key in sorted(set(item) - set(VHOSTUSER_FIELDS)):
            if item.get(key) is not None:
                problems.add(path + "." + key, "does not apply to kind vhostuser (allowed: %s)" % ", ".join(VHOSTUSER_FIELDS))
        if not item.get("socket"):
            problems.add(path + ".socket", "is required for kind vhostuser: the vhost-user socket QEMU listens on")
        if model.mtu is not None and model.mtu > VHOSTUSER_MTU_MAX:
            problems.add(path + ".mtu", "%d is above the OVS-DPDK maximum of %d" % (model.mtu, VHOSTUSER_MTU_MAX))
        return
    queues = model.guest.queues if model.guest else None
    if kind == "tap" and queues and queues > 1 and model.multi_queue is False:
        problems.add(path + ".multi_queue", "must be true: the guest opens %d queue pairs and a single-queue tap fails with EINVAL at VM start" % queues)
    if item.get("kind") is None:
        return  # an existing object may keep its kind: check_desired() sees the result (and checks the rest)
    if kind == "macvtap":
        for key in TAP_ONLY:
            if item.get(key) is not None:
                problems.add(path + "." + key, "applies to kind tap only (a macvtap device hangs off its lower device 'link')")
        if not item.get("link"):
            problems.add(path + ".link", "is required for kind macvtap: the lower device the macvtap sits on")
    else:
        for key in MACVTAP_ONLY:
            if item.get(key) is not None:
                problems.add(path + "." + key, "applies to kind macvtap only")


def check_desired(problems, path, model):
    """Kind-dependent checks on the object as it will be (request merged with the host's)."""
    if model.effective_kind in RENDER_ONLY_KINDS or model.effective_libvirt_type not in ("ethernet", model.effective_kind):
        return  # libvirt sets it up: from_config checked what applies
    if model.kind == "macvtap":
        for key in TAP_ONLY:
            if getattr(model, key) is not None:
                problems.add(path + "." + key, "applies to kind tap only (a macvtap device hangs off its lower device 'link')")
        if not model.link:
            problems.add(path + ".link", "is required for kind macvtap: the lower device the macvtap sits on")
    elif model.kind == "tap":
        for key in MACVTAP_ONLY:
            if getattr(model, key) is not None:
                problems.add(path + "." + key, "applies to kind macvtap only")
        if model.bridge is None:
            # isolated defaults to false; a flag set without a bridge would silently do nothing
            for key in BRIDGE_PORT_FLAGS:
                if getattr(model, key) is not None and getattr(model, key) != getattr(DEFAULTS, key):
                    problems.add(path + "." + key, "is a bridge port flag; set bridge as well")
        if model.mac and model.guest and model.guest.mac and model.mac == model.guest.mac:
            problems.add(path + ".mac", "equals guest.mac; the host side of a tap needs its own MAC or the bridge sees the guest's MAC"
                         " on two ports")
        queues = model.guest.queues if model.guest and model.guest.queues else 1
        if queues > 1 and not model.multi_queue:
            problems.add(path + ".multi_queue", "must be true: the guest opens %d queue pairs and a single-queue tap fails with EINVAL"
                         " at VM start (changing it re-creates the tap)" % queues)
