# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iommu_info, the read-only IOMMU report, run as a module inside a namespace.

What is emulated: this machine has no IOMMU, no PCI NICs and no vfio, so sysfs, /proc and
/lib/modules are trees under the test's tmp directory laid out by tests/iommu_tree.py (its
docstring lists the IOMMU groups) with tests/sysfs_emulator.py. The module only reads, so no write is
emulated. What is real: the module and its argument checks, run through ansible in a network
namespace, and the addresses it reads there through netlink (a veth named like an
emulated NIC's netdev holds 198.51.100.2/24). The last test reads the real /sys and /proc.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import iommu_tree  # noqa: E402  pylint: disable=wrong-import-position
from iommu_tree import NIC0, NIC0_F1, NIC2, NIC3, NIC4, NIC5, NIC6, NIC7  # noqa: E402  pylint: disable=wrong-import-position


def _tree(tmp_path, **kwargs):
    return iommu_tree.build(tmp_path, **kwargs)


def test_groups_shared_with_devices_in_use_are_reported(tmp_path, netns_factory, run_module):
    hv = netns_factory("hv")
    # the netdev of NIC6 holds an address in the namespace the module runs in (read through netlink)
    hv.run("ip", "link", "add", "hvt-used", "type", "veth", "peer", "name", "hvt-peer")  # no dummy module in this kernel
    hv.run("ip", "addr", "add", "198.51.100.2/24", "dev", "hvt-used")
    roots, emulator = _tree(tmp_path)
    before = emulator.dump()
    args = dict(roots, devices=["01:00.0", NIC2, NIC3, "eth4", NIC5, NIC7])
    result = run_module(hv, "iommu_info", args)
    assert not result["failed"] and result["changed"] is False, result
    assert result["iommu_enabled"] is True and result["iommu_group_count"] == 6
    assert (result["kernel_args"], result["missing_kernel_args"]) == ([], ["intel_iommu=on", "iommu=pt"])
    by_device = {entry["device"]: entry for entry in result["devices"]}
    assert by_device["01:00.0"]["address"] == NIC0 and by_device["01:00.0"]["group"] == "1"
    assert by_device["01:00.0"]["shared_with"] == [{"address": NIC0_F1, "driver": "ixgbe", "netdevs": ["eth1"],
                                                    "in_use": True, "reasons": ["eth1 is up"]}]
    assert by_device[NIC2]["shared_with"] == [], "alone in its group"
    assert by_device[NIC3]["shared_with"][0]["in_use"] is False, "a PCI bridge in the group is no obstacle"
    assert by_device["eth4"]["address"] == NIC4, "an interface name stands for its PCI device"
    problems = result["iommu_problems"]
    assert len(problems) == 3, problems
    assert problems[0].startswith("devices[0]: 01:00.0 (0000:01:00.0) shares IOMMU group 1 with 0000:01:00.1 (eth1 is up)")
    assert problems[1].startswith("devices[3]: eth4 (0000:04:00.0) shares IOMMU group 4 with 0000:00:17.0 (bound to ahci)")
    assert problems[2].startswith("devices[4]: %s (%s) shares IOMMU group 5 with %s (hvt-used has an address)" % (NIC5, NIC5, NIC6))
    assert result["modules"] == {"vfio": {"loaded": True, "available": True}, "vfio_pci": {"loaded": False, "available": True},
                                 "vfio_iommu_type1": {"loaded": False, "available": False}}
    assert result["modules_missing"] == ["vfio_iommu_type1"] and result["modules_to_load"] == ["vfio_pci"]
    assert "vfio_iommu_type1" in result["vfio_problems"][0] and result["ready"] is False
    assert any("alone in its group" in line for line in result["report"])
    # read only, the same in check mode
    assert run_module(hv, "iommu_info", args, check=True)["iommu_problems"] == problems
    assert emulator.dump() == before


def test_iommu_off_and_no_modules_are_reported_with_the_arguments_to_add(tmp_path, hv_ns, run_module):
    roots, _emulator = _tree(tmp_path, groups=False, cmdline="ro intel_iommu=off", modules_dir=False)
    result = run_module(hv_ns, "iommu_info", dict(roots, devices=[NIC2, "0000:09:00.0", "nosuch0"]))
    assert not result["failed"], result
    assert result["iommu_enabled"] is False and result["kernel_args"] == ["intel_iommu=off"]
    problems = result["iommu_problems"]
    assert problems[0].startswith("the IOMMU is off: /sys/kernel/iommu_groups is empty (IOMMU arguments on the kernel "
                                  "command line: intel_iommu=off); add intel_iommu=on iommu=pt to the kernel command line and reboot")
    assert problems[1:] == ["devices[1]: there is no PCI device 0000:09:00.0", "devices[2]: there is no interface nosuch0"]
    wanted = run_module(hv_ns, "iommu_info", dict(roots, kernel_args=["intel_iommu=on", "vfio-pci.ids=8086:10fb"]))
    assert wanted["missing_kernel_args"] == ["intel_iommu=on", "vfio-pci.ids=8086:10fb"]
    assert result["vfio_problems"] == ["the kernel 6.1.0-emulated cannot load vfio, vfio_pci, vfio_iommu_type1: it has no loadable modules installed"]


def test_bad_input_names_every_entry_and_reads_nothing(tmp_path, hv_ns, run_module):
    result = run_module(hv_ns, "iommu_info", {"devices": ["01:00.0", "eth 0", "0000:zz:00.0", ""], "modules": ["vfio", "x;y"],
                                              "kernel_args": ["iommu=pt", "a=\"$(reboot)\""],
                                              "sysfs_root": str(tmp_path / "absent")})
    assert result["failed"]
    msg = result["msg"]
    for expected in ("devices[1]: 'eth 0' is neither a PCI address", "devices[2]: '0000:zz:00.0' is neither",
                     "devices[3]: '' is neither", "modules[1]: 'x;y' is not a kernel module name",
                     "kernel_args[1]: 'a=\"$(reboot)\"' is not a kernel argument"):
        assert expected in msg, msg
    assert "sysfs is not mounted" not in msg, "value checks come before reading the host"


def test_the_real_host_is_read_only(hv_ns, run_module):
    """The real /sys, /proc and /lib/modules: whatever this machine has, the module reports and changes nothing."""
    result = run_module(hv_ns, "iommu_info", {})
    assert not result["failed"] and result["changed"] is False, result
    assert isinstance(result["iommu_enabled"], bool) and result["report"]
