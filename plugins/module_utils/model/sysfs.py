# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hugepage pools (hugepages) and PCI driver bindings (pci_driver): values and checks without a host."""

from __future__ import annotations

import dataclasses
import re
from typing import Optional

from ansible_collections.hypervisor.networking.plugins.module_utils.model import fields as f

MAX_PAGES = 2 ** 31 - 1
_SIZE_RE = re.compile(r"^([0-9]+)([kKmMgG])[bB]?$")
_UNITS = {"k": 1, "m": 1024, "g": 1024 * 1024}
_PCI_RE = re.compile(r"^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$")
_DRIVER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")  # no leading dash: never read as an option


@dataclasses.dataclass
class HugepagePool:
    size: str            # normalised: "2048kB", as the pool's sysfs directory names it
    count: Optional[int] = None

    @property
    def name(self):
        return self.size

    @property
    def size_kb(self):
        return int(self.size[:-2])


@dataclasses.dataclass
class PciDriver:
    address: str         # normalised: 0000:01:00.0
    driver: Optional[str] = None

    @property
    def name(self):
        return self.address


def size_text(size_kb):
    return "%dkB" % size_kb


def check_size(problems, path, value):
    """2M, 1G, 2048kB, 1048576kB -> '2048kB'."""
    if value is None:
        problems.add(path, "is required: the page size, such as 2M or 1G")
        return None
    # matched as given: a value with spaces or a line break around it is refused, not trimmed
    match = _SIZE_RE.fullmatch(value) if isinstance(value, str) else None
    if not match or int(match.group(1)) == 0:
        problems.add(path, "'%s' is not a page size; expected a size such as 2M, 1G or 2048kB" % value)
        return None
    return size_text(int(match.group(1)) * _UNITS[match.group(2).lower()])


def check_pci_address(problems, path, value):
    """A PCI address, domain optional; -> 0000:01:00.0 (lower case), as sysfs names the device."""
    if value is None:
        problems.add(path, "is required: the device's PCI address, such as 0000:01:00.0")
        return None
    match = _PCI_RE.fullmatch(value) if isinstance(value, str) else None
    if not match:
        problems.add(path, "'%s' is not a PCI address; expected domain:bus:device.function such as 0000:01:00.0" % value)
        return None
    return ("%s:%s:%s.%s" % (match.group(1) or "0000", match.group(2), match.group(3), match.group(4))).lower()


def check_driver(problems, path, value):
    if value is None:
        return None
    if not isinstance(value, str) or not _DRIVER_RE.match(value):
        problems.add(path, "'%s' is not a driver name; allowed: 1 to 64 letters, digits, '_', '-', not starting with '-' (such as vfio-pci)" % value)
        return None
    return value


def pool_from_config(item, path, problems):
    size = check_size(problems, path + ".size", item.get("size"))
    return HugepagePool(size=size or str(item.get("size")), count=f.check_int(problems, path + ".count", item.get("count"), 0, MAX_PAGES))


def pool_defaults(model):
    return HugepagePool(size=model.size)


def binding_from_config(item, path, problems):
    address = check_pci_address(problems, path + ".address", item.get("address"))
    return PciDriver(address=address or str(item.get("address")), driver=check_driver(problems, path + ".driver", item.get("driver")))


def binding_defaults(model):
    return PciDriver(address=model.address)
