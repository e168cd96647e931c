# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""hugepages and pci_driver value checks, without a host."""

from __future__ import annotations

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.model import sysfs as m
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems


@pytest.mark.parametrize("value, expected", [("2M", "2048kB"), ("1G", "1048576kB"), ("2048kB", "2048kB"), ("1gb", "1048576kB")])
def test_page_sizes_are_normalised(value, expected):
    assert m.check_size(Problems(), "config[0].size", value) == expected


@pytest.mark.parametrize("value", [" 2M", "2M ", "2 M", "0M", "2", "2T", 2])
def test_page_size_is_matched_as_given(value):
    # found by tests/integration/test_properties.py: " 2M" and "2 M" were trimmed and accepted
    problems = Problems()
    assert m.check_size(problems, "config[0].size", value) is None
    assert any(item.startswith("config[0].size: ") for item in problems.items), problems.items


def test_pci_address_normalised():
    assert m.check_pci_address(Problems(), "config[0].address", "01:00.1") == "0000:01:00.1"
    assert m.check_pci_address(Problems(), "config[0].address", "0000:AB:1f.7") == "0000:ab:1f.7"


@pytest.mark.parametrize("value", [" 0000:01:00.0", "0000:01:00.0 ", "0000:01:00.8", "01:00", 100])
def test_pci_address_is_matched_as_given(value):
    # found by tests/integration/test_properties.py: an address with spaces around it was trimmed and accepted
    problems = Problems()
    assert m.check_pci_address(problems, "config[0].address", value) is None
    assert any(item.startswith("config[0].address: ") for item in problems.items), problems.items


@pytest.mark.parametrize("value", ["-x", "--help", "a/b", "..", "x" * 65, "vfio pci"])
def test_driver_names_refused(value):
    problems = Problems()
    assert m.check_driver(problems, "config[0].driver", value) is None
    assert any(item.startswith("config[0].driver: ") for item in problems.items), problems.items


def test_driver_names_accepted():
    assert m.check_driver(Problems(), "config[0].driver", "vfio-pci") == "vfio-pci"
