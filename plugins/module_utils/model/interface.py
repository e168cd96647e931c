# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host side of a VM NIC (vm_interface) and what the guest sees of it."""

from __future__ import annotations

import dataclasses
from typing import Optional

from ansible_collections.hypervisor.networking.plugins.module_utils.model import fields as f
from ansible_collections.hypervisor.networking.plugins.module_utils.model.ovs_port import MTU_MAX, check_socket_path

KINDS = ("tap", "macvtap", "vhostuser")
MACVTAP_MODES = ("vepa", "bridge", "private", "passthru")
LINK_STATES = ("up", "down")
GUEST_MODELS = ("virtio", "virtio-transitional", "virtio-non-transitional", "e1000", "e1000e", "igb", "rtl8139", "vmxnet3")
MAX_QUEUE_PAIRS = 128   # cloud-hypervisor num_queues = 2 x pairs; a tap holds at most 256 queues
QUEUE_SIZE_MIN, QUEUE_SIZE_MAX = 64, 32768
MAX_VCPUS = 4096
TAP_ONLY = ("multi_queue", "owner", "group", "bridge", "isolated", "learning", "flood")
MACVTAP_ONLY = ("link", "mode")
BRIDGE_PORT_FLAGS = ("isolated", "learning", "flood")
# vhostuser: a dpdkvhostuserclient port on an OVS netdev bridge; QEMU (as `owner`) listens on `socket`
VHOSTUSER_FIELDS = ("name", "kind", "bridge", "socket", "owner", "mtu", "guest")
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

    @property
    def effective_kind(self):
        return self.kind or "tap"


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
    )
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
    )
    _check_combinations(problems, path, item, model)
    return model


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


def _check_combinations(problems, path, item, model):
    kind = model.kind or "tap"
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
