# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An emulated host for iommu_info and the passthrough role: sysfs, /proc and /lib/modules trees.

What is emulated (nothing of the real /sys or /proc is written): an Intel CPU booted without
IOMMU arguments, IOMMU groups of PCI NICs laid out by tests/sysfs_emulator.py -

    group 1: 0000:01:00.0 (eth0) with 0000:01:00.1 (eth1, up)      -> shared with a device in use
    group 2: 0000:02:00.0 (eth2) alone
    group 3: 0000:03:00.0 (eth3) with the PCI bridge 0000:00:1c.0    -> no obstacle
    group 4: 0000:04:00.0 (eth4) with a SATA controller bound to ahci -> in use
    group 5: 0000:05:00.0 (eth5) with 0000:05:00.1 (hvt-used)        -> in use when hvt-used holds an address
    group 6: 0000:06:00.0 bound to vfio-pci

and a modules directory whose kernel has vfio_pci (modules.dep) and vfio (built in) but no
vfio_iommu_type1. Used by tests/integration/test_iommu_info.py and, through the command line,
by the passthrough role's molecule scenario:

    python3 tests/iommu_tree.py DIR [--release RELEASE] [--no-modules] [--iommu-off]   # prints {"sysfs_root", "proc_root", "modules_root"}
"""

from __future__ import annotations

import argparse
import json
import os
import sys

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(TESTS_DIR), ".collections"))
sys.path.insert(0, TESTS_DIR)
from sysfs_emulator import SysfsEmulator  # noqa: E402  pylint: disable=wrong-import-position

NIC0, NIC0_F1, NIC2, BRIDGE, NIC3 = "0000:01:00.0", "0000:01:00.1", "0000:02:00.0", "0000:00:1c.0", "0000:03:00.0"
NIC4, SATA, NIC5, NIC6, NIC7 = "0000:04:00.0", "0000:00:17.0", "0000:05:00.0", "0000:05:00.1", "0000:06:00.0"
RELEASE = "6.1.0-emulated"


def build(directory, groups=True, cmdline="BOOT_IMAGE=/vmlinuz ro quiet", modules_dir=True, release=RELEASE):
    """-> ({"sysfs_root", "proc_root", "modules_root"}, the SysfsEmulator).

    Without `modules_dir` the kernel has no modules at all: no modules directory, none loaded."""
    directory = str(directory)
    devices = {NIC0: {"driver": "ixgbe", "netdevs": ["eth0"]}, NIC0_F1: {"driver": "ixgbe", "netdevs": ["eth1"]},
               NIC2: {"driver": "ixgbe", "netdevs": ["eth2"]}, BRIDGE: {"driver": "pcieport"},
               NIC3: {"driver": "ixgbe", "netdevs": ["eth3"]}, NIC4: {"driver": "i40e", "netdevs": ["eth4"]},
               SATA: {"driver": "ahci"}, NIC5: {"driver": "i40e", "netdevs": ["eth5"]},
               NIC6: {"driver": "i40e", "netdevs": ["hvt-used"]}, NIC7: {"driver": "vfio-pci"}}
    emulator = SysfsEmulator(os.path.join(directory, "sys"), devices=devices, drivers=["ixgbe", "i40e", "ahci", "pcieport", "vfio-pci"])
    emulator.add_iommu({"1": [NIC0, NIC0_F1], "2": [NIC2], "3": [BRIDGE, NIC3], "4": [NIC4, SATA], "5": [NIC5, NIC6],
                        "6": [NIC7]} if groups else {},
                       classes={BRIDGE: "0x060400", SATA: "0x010601"}, up=["eth1"], modules=["vfio"] if modules_dir else [])
    proc = os.path.join(directory, "proc")
    os.makedirs(os.path.join(proc, "sys", "kernel"))
    _write(os.path.join(proc, "cmdline"), cmdline + "\n")
    _write(os.path.join(proc, "cpuinfo"), "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Emulated\n")
    _write(os.path.join(proc, "sys", "kernel", "osrelease"), release + "\n")
    modules = os.path.join(directory, "modules")
    os.makedirs(modules)
    if modules_dir:
        os.makedirs(os.path.join(modules, release))
        _write(os.path.join(modules, release, "modules.dep"),
               "kernel/drivers/vfio/pci/vfio-pci.ko.xz: kernel/drivers/vfio/pci/vfio-pci-core.ko.xz\n"
               "kernel/drivers/net/ethernet/intel/ixgbe/ixgbe.ko.xz:\n")
        _write(os.path.join(modules, release, "modules.builtin"), "kernel/drivers/vfio/vfio.ko\n")
    return {"sysfs_root": emulator.root, "proc_root": proc, "modules_root": modules}, emulator


def _write(path, text):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("directory")
    parser.add_argument("--release", default=RELEASE, help="the emulated kernel release (osrelease)")
    parser.add_argument("--no-modules", action="store_true", help="a kernel without modules: no modules directory, none loaded")
    parser.add_argument("--iommu-off", action="store_true", help="no IOMMU groups (the IOMMU is off)")
    args = parser.parse_args()
    roots, _emulator = build(args.directory, release=args.release, modules_dir=not args.no_modules, groups=not args.iommu_off)
    print(json.dumps(roots))


if __name__ == "__main__":
    main()
