# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sriov_pool: one Physical Function's Virtual Functions - values and checks without a host.

A VF's attributes resolve in layers, the later winning: the pool's defaults (under replaced and
for a new pool: the secure defaults, spoofchk on and trust off), `vf_defaults`, every
`vf_groups` entry whose range holds the VF, the VF's own `vfs` entry. An attribute that no layer
sets (None; only under merged) is left as the VF has it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import List, Optional

from ansible_collections.hypervisor.networking.plugins.module_utils.model import fields as f
from ansible_collections.hypervisor.networking.plugins.module_utils.model.base import overlay
from ansible_collections.hypervisor.networking.plugins.module_utils.model.sysfs import check_driver, check_pci_address

MAX_VFS = 65535  # the PCI SR-IOV capability's NumVFs is 16 bits
MAX_VLAN = 4095
MAX_QOS = 7
MAX_RATE = 2 ** 32 - 1  # Mbit/s, a u32 in IFLA_VF_RATE
VLAN_PROTOS = ("802.1Q", "802.1ad")
LINK_STATES = ("auto", "enable", "disable")
ESWITCH_MODES = ("legacy", "switchdev")
KERNEL_DRIVER = "(kernel)"  # the VF's own kernel driver: what an omitted `driver` means under replaced
ATTRIBUTES = ("vlan", "qos", "vlan_proto", "spoofchk", "trust", "min_tx_rate", "max_tx_rate", "link_state")
_RANGE_RE = re.compile(r"^([0-9]+)(?:-([0-9]+))?$")
_NETWORK_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$")


@dataclasses.dataclass
class VfAttributes:
    vlan: Optional[int] = None
    qos: Optional[int] = None
    vlan_proto: Optional[str] = None
    spoofchk: Optional[bool] = None
    trust: Optional[bool] = None
    min_tx_rate: Optional[int] = None
    max_tx_rate: Optional[int] = None
    link_state: Optional[str] = None


SECURE_DEFAULTS = VfAttributes(vlan=0, qos=0, vlan_proto="802.1Q", spoofchk=True, trust=False, min_tx_rate=0, max_tx_rate=0,
                               link_state="auto")


@dataclasses.dataclass
class VfGroup(VfAttributes):
    range: Optional[str] = None
    driver: Optional[str] = None

    @property
    def indexes(self):
        match = _RANGE_RE.match(self.range or "")
        if not match:
            return range(0)
        first = int(match.group(1))
        return range(first, int(match.group(2) or first) + 1)


@dataclasses.dataclass
class VfConfig(VfAttributes):
    index: Optional[int] = None
    mac: Optional[str] = None
    driver: Optional[str] = None


@dataclasses.dataclass
class SriovPool:
    pf: Optional[str] = None
    pci_address: Optional[str] = None
    num_vfs: Optional[int] = None
    driver: Optional[str] = None
    eswitch_mode: Optional[str] = None
    vf_defaults: Optional[VfAttributes] = None
    # merged adds the given groups and VFs to the pool's (coalesce() then joins entries of one range or index)
    vf_groups: Optional[List[VfGroup]] = dataclasses.field(default=None, metadata={"merge": "union"})
    vfs: Optional[List[VfConfig]] = dataclasses.field(default=None, metadata={"merge": "union"})
    allow_vf_reset: Optional[bool] = None  # a permission of this call, never saved
    libvirt_network: Optional[str] = None

    @property
    def name(self):
        """The PCI address once known (the host resolves `pf`), else the interface name given."""
        return self.pci_address or self.pf


def _attributes(problems, path, item):
    return dict(
        vlan=f.check_int(problems, path + ".vlan", item.get("vlan"), 0, MAX_VLAN),
        qos=f.check_int(problems, path + ".qos", item.get("qos"), 0, MAX_QOS),
        vlan_proto=f.check_choice(problems, path + ".vlan_proto", item.get("vlan_proto"), VLAN_PROTOS),
        spoofchk=f.check_bool(problems, path + ".spoofchk", item.get("spoofchk")),
        trust=f.check_bool(problems, path + ".trust", item.get("trust")),
        min_tx_rate=f.check_int(problems, path + ".min_tx_rate", item.get("min_tx_rate"), 0, MAX_RATE),
        max_tx_rate=f.check_int(problems, path + ".max_tx_rate", item.get("max_tx_rate"), 0, MAX_RATE),
        link_state=f.check_choice(problems, path + ".link_state", item.get("link_state"), LINK_STATES),
    )


def check_range(problems, path, value):
    if value is None:
        problems.add(path, "is required: the VF indexes, N or N-M such as 0-3")
        return None
    match = _RANGE_RE.match(value) if isinstance(value, str) else None
    if not match or (match.group(2) is not None and int(match.group(2)) < int(match.group(1))):
        problems.add(path, "%s is not a VF range; expected N or N-M with N <= M, such as 0-3" % f.quoted(value))
        return None
    if int(match.group(2) or match.group(1)) > MAX_VFS - 1:  # checked here: later checks loop over the range's VFs
        problems.add(path, "%s reaches beyond VF %d, the last a PF can have (VF indexes are 0 to %d)"
                     % (f.quoted(value), MAX_VFS - 1, MAX_VFS - 1))
        return None
    return value


def pool_from_config(item, path, problems):
    pci_address = check_pci_address(problems, path + ".pci_address", item["pci_address"]) if item.get("pci_address") is not None else None
    pf = f.check_ifname(problems, path + ".pf", item.get("pf")) if item.get("pf") is not None else None
    if item.get("pf") is None and item.get("pci_address") is None:
        problems.add(path, "one of pf (the PF's network interface) and pci_address is required")
    defaults_path = path + ".vf_defaults"
    vf_defaults = f.as_dict(problems, defaults_path, item.get("vf_defaults"))
    groups = []
    for index, group in enumerate(f.as_list(problems, path + ".vf_groups", item.get("vf_groups"))):
        group_path = "%s.vf_groups[%d]" % (path, index)
        group = f.as_dict(problems, group_path, group)
        groups.append(VfGroup(range=check_range(problems, group_path + ".range", group.get("range")),
                              driver=check_driver(problems, group_path + ".driver", group.get("driver")),
                              **_attributes(problems, group_path, group)))
    vfs = []
    seen = {}
    for index, vf in enumerate(f.as_list(problems, path + ".vfs", item.get("vfs"))):
        vf_path = "%s.vfs[%d]" % (path, index)
        vf = f.as_dict(problems, vf_path, vf)
        number = f.check_int(problems, vf_path + ".index", vf.get("index"), 0, MAX_VFS - 1)
        if vf.get("index") is None:
            problems.add(vf_path + ".index", "is required: the VF number, from 0")
        elif number is not None and number in seen:
            problems.add(vf_path + ".index", "VF %d is listed twice (also %s.vfs[%d])" % (number, path, seen[number]))
        if number is not None:
            seen.setdefault(number, index)
        vfs.append(VfConfig(index=number, mac=f.normalize_mac(problems, vf_path + ".mac", vf.get("mac")),
                            driver=check_driver(problems, vf_path + ".driver", vf.get("driver")),
                            **_attributes(problems, vf_path, vf)))
    network = item.get("libvirt_network")
    if network is not None and (not isinstance(network, str) or not _NETWORK_RE.match(network)):
        problems.add(path + ".libvirt_network", "%s is not a network name; allowed: 1 to 15 letters, digits, '_', '-', '.', "
                     "not starting with '-' or '.'" % f.quoted(network))
        network = None
    return SriovPool(
        pf=pf, pci_address=pci_address,
        num_vfs=f.check_int(problems, path + ".num_vfs", item.get("num_vfs"), 0, MAX_VFS),
        driver=check_driver(problems, path + ".driver", item.get("driver")),
        eswitch_mode=f.check_choice(problems, path + ".eswitch_mode", item.get("eswitch_mode"), ESWITCH_MODES),
        vf_defaults=VfAttributes(**_attributes(problems, defaults_path, vf_defaults)) if item.get("vf_defaults") is not None else None,
        vf_groups=groups if item.get("vf_groups") is not None else None,
        vfs=vfs if item.get("vfs") is not None else None,
        allow_vf_reset=f.check_bool(problems, path + ".allow_vf_reset", item.get("allow_vf_reset")),
        libvirt_network=network,
    )


def pool_defaults(model):
    """Under replaced and for a new pool: the secure VF defaults and the VFs' own kernel driver."""
    return SriovPool(pf=model.pf, pci_address=model.pci_address, driver=KERNEL_DRIVER, vf_defaults=SECURE_DEFAULTS)


def coalesce(model):
    """One entry per VF index and per group range, the later entry's attributes winning (merged
    appends the given entries to the pool's)."""
    def joined(entries, key):
        if entries is None:
            return None
        result = {}
        for entry in entries:
            name = getattr(entry, key)
            result[name] = overlay(result[name], entry) if name in result else entry
        return list(result.values())

    return dataclasses.replace(model, vf_groups=joined(model.vf_groups, "range"), vfs=joined(model.vfs, "index"))


def resolve(model, count=None):
    """[(attributes, sources)] for VF 0..count-1: each attribute's value (None: left as the VF has it)
    and the config path it came from (for messages). `count` defaults to model.num_vfs."""
    count = model.num_vfs if count is None else count
    result = []
    for index in range(count or 0):
        values = {"driver": model.driver, "mac": None}
        sources = {"driver": ""}
        layers = [(".vf_defaults", model.vf_defaults)]
        layers += [(".vf_groups[%d]" % number, group) for number, group in enumerate(model.vf_groups or [])
                   if index in group.indexes]
        layers += [(".vfs[%d]" % number, vf) for number, vf in enumerate(model.vfs or []) if vf.index == index]
        for source, layer in layers:
            if layer is None:
                continue
            for name in ATTRIBUTES + ("driver", "mac"):
                value = getattr(layer, name, None)
                if value is not None:
                    values[name] = value
                    sources[name] = source
        result.append((values, sources))
    return result


def check_pool(problems, path, model):
    """Checks on the whole pool (request plus host under merged): run for rendered too, before any host check."""
    if model.num_vfs is None:
        problems.add(path + ".num_vfs", "is required: how many VFs the PF has (0 removes them)")
        return
    for number, vf in enumerate(model.vfs or []):
        if vf.index is not None and vf.index >= model.num_vfs:
            problems.add("%s.vfs[%d].index" % (path, number), "VF %d does not exist with num_vfs %d (VF indexes are 0 to %d)"
                         % (vf.index, model.num_vfs, model.num_vfs - 1))
    owner = {}
    for number, group in enumerate(model.vf_groups or []):
        group_path = "%s.vf_groups[%d].range" % (path, number)
        indexes = group.indexes
        if indexes and indexes[-1] >= model.num_vfs:
            problems.add(group_path, "'%s' reaches VF %d, which does not exist with num_vfs %d"
                         % (group.range, indexes[-1], model.num_vfs))
        overlap = sorted({owner[index] for index in indexes if index in owner})
        if overlap:
            problems.add(group_path, "'%s' overlaps %s; each VF may be in one group"
                         % (group.range, ", ".join("%s.vf_groups[%d]" % (path, other) for other in overlap)))
        for index in indexes:
            owner.setdefault(index, number)
    reported = set()
    for values, sources in resolve(model):
        for problem in _vf_problems(values, sources):
            field, message = problem
            key = (path + sources[field] + "." + field, message)
            if key not in reported:  # one message per place in the config, not one per VF it reaches
                reported.add(key)
                problems.add(key[0], message)


def _vf_problems(values, sources):
    vlan = values.get("vlan")
    if values.get("qos") and not vlan and "qos" in sources:
        yield "qos", "a QoS of %d needs a VLAN; the VLAN resolves to %s" % (values["qos"], vlan or "none")
    if values.get("vlan_proto") == "802.1ad" and not vlan and "vlan_proto" in sources:
        yield "vlan_proto", "802.1ad needs a VLAN; the VLAN resolves to %s" % (vlan or "none")
    low, high = values.get("min_tx_rate"), values.get("max_tx_rate")
    if low and high and low > high and "min_tx_rate" in sources:
        yield "min_tx_rate", "%d Mbit/s is above max_tx_rate %d Mbit/s" % (low, high)
