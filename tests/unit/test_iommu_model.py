# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IOMMU report of iommu_info without a host: snapshots written by hand."""

from __future__ import annotations

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.backend.kernel import module_name
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.model import iommu

KERNEL = {"cmdline": ["ro", "iommu=pt"], "vendor": iommu.AMD, "release": "6.1.0", "modules_available": ["vfio", "vfio_pci", "vfio_iommu_type1"]}


def _snapshot(netdev=None, driver="i40e", device_class="0x020000"):
    netdevs = [] if netdev is None else ["eth1"]
    return {"groups": {"7": ["0000:01:00.0", "0000:01:00.1"]},
            "pci": {"0000:01:00.0": {"driver": "i40e", "class": "0x020000", "group": "7", "netdevs": ["eth0"]},
                    "0000:01:00.1": {"driver": driver, "class": device_class, "group": "7", "netdevs": netdevs}},
            "netdevs": {"eth0": {"address": "0000:01:00.0", "up": True, "uppers": []},
                        "eth1": dict({"address": "0000:01:00.1", "up": False, "uppers": []}, **(netdev or {}))},
            "modules": []}


@pytest.mark.parametrize("vendor, expected", [(iommu.INTEL, ["intel_iommu=on", "iommu=pt"]), (iommu.AMD, ["iommu=pt"]), ("CentaurHauls", [])])
def test_recommended_arguments_follow_the_cpu(vendor, expected):
    assert iommu.recommended_kernel_args(vendor) == expected


@pytest.mark.parametrize("netdev, driver, device_class, reasons", [
    ({}, "i40e", "0x020000", []),                                            # a NIC that is down, no address, no master
    ({"up": True}, "i40e", "0x020000", ["eth1 is up"]),
    ({"uppers": ["br0"]}, "i40e", "0x020000", ["eth1 is under br0"]),
    (None, "nvme", "0x010802", ["bound to nvme"]),                           # a device without netdev, in use by its driver
    (None, None, "0x020000", []),                                            # no driver
    (None, "vfio-pci", "0x020000", []),
    (None, "pcieport", "0x060400", []),                                      # bridges stay with pcieport
])
def test_what_counts_as_in_use(netdev, driver, device_class, reasons):
    assert iommu.in_use_reasons(_snapshot(netdev, driver, device_class), "0000:01:00.1", {}) == reasons


def test_a_link_local_address_alone_is_not_use():
    snapshot = _snapshot({})
    link_local = {"eth1": [{"address": "fe80::1/64", "scope": "link"}]}
    assert iommu.in_use_reasons(snapshot, "0000:01:00.1", link_local) == []
    assert iommu.in_use_reasons(snapshot, "0000:01:00.1", {"eth1": [{"address": "198.51.100.7/24", "scope": "global"}]}) == ["eth1 has an address"]


def test_report_of_a_shared_group_and_of_the_modules():
    devices = iommu.check_devices(["eth0"], ["vfio-pci", "vfio"])
    result = iommu.report(_snapshot({"up": True}), KERNEL, devices, ["vfio-pci", "vfio"], {})
    assert result["missing_kernel_args"] == [] and result["kernel_args"] == ["iommu=pt"]
    assert result["iommu_problems"] == ["devices[0]: eth0 (0000:01:00.0) shares IOMMU group 7 with 0000:01:00.1 (eth1 is up), which the "
                                        "host still uses: a VM can only have the whole group; free those devices or move the card to another slot"]
    assert result["modules"] == {"vfio_pci": {"loaded": False, "available": True}, "vfio": {"loaded": False, "available": True}}
    assert result["modules_to_load"] == ["vfio_pci", "vfio"] and result["vfio_problems"] == [] and result["ready"] is False


def test_every_bad_value_is_named_at_once():
    with pytest.raises(ValidationError) as error:
        iommu.check_devices(["0000:01:00.0", "a/b", "x" * 16], ["ok", "-x"], ["intel_iommu=on", "-bad", "a b", "q=\"1\""])
    allowed = "is not a kernel argument; allowed: letters, digits and '_.,:=+/-', not starting with a punctuation mark (such as intel_iommu=on)"
    assert error.value.problems == [
        "devices[1]: 'a/b' is neither a PCI address (such as 0000:01:00.0) nor an interface name",
        "devices[2]: '%s' is neither a PCI address (such as 0000:01:00.0) nor an interface name" % ("x" * 16),
        "modules[1]: '-x' is not a kernel module name (1 to 55 ASCII letters, digits, '_', '-', not starting with '-')",
        "kernel_args[1]: '-bad' " + allowed, "kernel_args[2]: 'a b' " + allowed, "kernel_args[3]: 'q=\"1\"' " + allowed,
    ], error.value.problems


@pytest.mark.parametrize("name", ["-", "-x", "--help", "\u00e4", "vfio\u0661", "x" * 56, "", "a b", "a.b"])
def test_module_names_are_what_modprobe_takes_never_an_option(name):
    """Found by the property tests: '-' and '--help' (an option to modprobe) and non-ASCII letters passed."""
    with pytest.raises(ValidationError) as error:
        iommu.check_devices([], ["vfio", name])
    assert error.value.problems[0].startswith("modules[1]: ")
    assert iommu.check_devices([], ["vfio_pci", "vfio-pci", "x" * 55]) == []


def test_module_file_names_read_as_the_kernel_reads_them():
    assert module_name("vfio-pci.ko.xz") == "vfio_pci" and module_name("vfio_iommu_type1.ko") == "vfio_iommu_type1"
