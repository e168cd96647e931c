# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""hugepages and pci_driver through the engine, in-process, against an EMULATED sysfs.

This machine has no spare NIC, no vfio and hugepage pools that belong to the whole machine, so
nothing here writes the real /sys: every test builds a tree under its tmp directory (option
sysfs_root) and tests/sysfs_emulator.py stands in for the kernel's reaction to each write
(nr_hugepages allocation, driver_override, unbind, drivers_probe). What is real: the module
code, the engine (lock, check mode, diff, rollback, read-back verification) and the saved state
(under tmp, as a namespace's). The real pool is read, never written, in the last test.
"""

from __future__ import annotations

import os
import sys

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.engine import converge
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ApplyError, HvnetError, ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.sysfs import HugepagesResource, PciDriverResource

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sysfs_emulator import SysfsEmulator  # noqa: E402  pylint: disable=wrong-import-position

NIC0, NIC1, MGMT = "0000:01:00.0", "0000:01:00.1", "0000:02:00.0"


@pytest.fixture
def new_host(tmp_path, monkeypatch, store):  # pylint: disable=redefined-outer-name,unused-argument
    """A factory of emulated hosts: 2 MiB and 1 GiB pools (room for 600 and 0 pages), two NICs
    (one bound to ixgbe, one unbound), a management NIC under eth0 -> bond0 -> br-mgmt."""
    counter = []

    def factory():
        counter.append(1)
        return SysfsEmulator(
            tmp_path / ("sys%d" % len(counter)), pools={2048: 0, 1048576: 0}, capacity={2048: 600, 1048576: 0},
            devices={NIC0: {"driver": "ixgbe", "netdevs": ["eth1"]}, NIC1: {"driver": None, "kernel_driver": "ixgbe"},
                     MGMT: {"driver": "ixgbe", "netdevs": ["eth0"]}},
            drivers=["ixgbe", "vfio-pci"], uppers={"eth0": ["bond0"], "bond0": ["br-mgmt"]},
        ).install(monkeypatch)

    return factory


@pytest.fixture
def host(new_host):  # pylint: disable=redefined-outer-name
    return new_host()


def _run(kind, host, config, state="merged", check=False, **params):  # pylint: disable=redefined-outer-name
    resource = {"hugepages": HugepagesResource(), "pci_driver": PciDriverResource()}[kind]
    args = {"state": state, "config": config, "persist": True, "sysfs_root": host.root}
    args.update(params)
    return converge(resource, args, check)


# ---- hugepages -----------------------------------------------------------------------------------
def test_hugepages_set_read_back_idempotent_check_mode(host):  # pylint: disable=redefined-outer-name
    before = host.dump()
    result = _run("hugepages", host, [{"size": "2M", "count": 512}], check=True)
    assert result["changed"] and result["commands"][0] == "kernel/mm/hugepages/hugepages-2048kB/nr_hugepages: 0 -> 512"
    assert host.dump() == before, "check mode wrote sysfs"
    result = _run("hugepages", host, [{"size": "2048kB", "count": 512}])
    assert host.pool(2048) == 512
    assert result["diff"] == {"before": {"2048kB": {"size": "2048kB", "count": 0}}, "after": {"2048kB": {"size": "2048kB", "count": 512}}}
    result = _run("hugepages", host, [{"size": "2M", "count": 512}])
    assert result["changed"] is False and result["commands"] == []
    assert {"size": "2048kB", "count": 512} in _run("hugepages", host, [], state="gathered")["gathered"]


def test_hugepages_short_allocation_fails_and_rolls_back_every_pool(host):  # pylint: disable=redefined-outer-name
    before = host.dump()
    with pytest.raises(ApplyError) as error:
        _run("hugepages", host, [{"size": "2M", "count": 100}, {"size": "1G", "count": 2}])
    text = str(error.value)
    assert "the kernel holds 0 1048576kB hugepages after 2 were requested (was 0)" in text, text
    assert "rolled back" in text and "nr_hugepages: 0 -> 100" in text, text
    assert host.pool(2048) == 0 and host.dump() == before


def test_hugepages_refusals_change_nothing(host):  # pylint: disable=redefined-outer-name
    before = host.dump()
    with pytest.raises(ValidationError) as error:
        _run("hugepages", host, [{"size": "3X", "count": -1}, {"size": "2M", "count": 1}, {"size": "2048kB", "count": 2}])
    text = str(error.value)
    assert "config[0].size: '3X' is not a page size" in text and "config[0].count: -1 is outside" in text
    assert "config[2].size: '2048kB' is listed twice" in text, text
    with pytest.raises(ValidationError, match=r"config\[0\].size: 64kB hugepages are not available on this host .*pools here: 2048kB, 1048576kB"):
        _run("hugepages", host, [{"size": "64k", "count": 1}])
    with pytest.raises(HvnetError, match="a hugepage pool cannot be deleted"):
        _run("hugepages", host, [], state="deleted")
    assert host.dump() == before


# ---- pci_driver ----------------------------------------------------------------------------------
def test_pci_driver_bind_idempotent_check_mode_and_give_back(host):  # pylint: disable=redefined-outer-name
    config = [{"address": "01:00.0", "driver": "vfio-pci"}, {"address": NIC1, "driver": "vfio-pci"}]
    before = host.dump()
    result = _run("pci_driver", host, config, check=True)
    assert result["commands"][:2] == ["bind 0000:01:00.0 to vfio-pci (driver_override vfio-pci; unbind from ixgbe; drivers_probe)",
                                      "bind 0000:01:00.1 to vfio-pci (driver_override vfio-pci; drivers_probe)"]
    assert host.dump() == before, "check mode wrote sysfs"
    result = _run("pci_driver", host, config)
    assert result["changed"]
    assert (host.driver(NIC0), host.override(NIC0), host.driver(NIC1), host.override(NIC1)) == ("vfio-pci", "vfio-pci", "vfio-pci", "vfio-pci")
    assert result["diff"]["after"] == {NIC0: {"address": NIC0, "driver": "vfio-pci"}, NIC1: {"address": NIC1, "driver": "vfio-pci"}}
    assert _run("pci_driver", host, config)["changed"] is False
    gathered = _run("pci_driver", host, [], state="gathered")["gathered"]
    assert gathered == [{"address": NIC0, "driver": "vfio-pci"}, {"address": NIC1, "driver": "vfio-pci"}]
    # deleted gives a device back to its own kernel driver: one by address (the driver field is not needed), then the rest
    result = _run("pci_driver", host, [{"address": "01:00.0", "driver": "ignored"}], state="deleted")
    assert result["changed"] and (host.driver(NIC0), host.override(NIC0)) == ("ixgbe", "(null)")
    assert host.driver(NIC1) == "vfio-pci"
    result = _run("pci_driver", host, [], state="deleted")
    assert result["changed"] and host.driver(NIC1) == "ixgbe", "probed again without the override: the kernel's own driver"
    assert _run("pci_driver", host, [], state="deleted")["changed"] is False


def test_pci_driver_refusals_name_every_problem_and_change_nothing(host, tmp_path):  # pylint: disable=redefined-outer-name
    before = host.dump()
    with pytest.raises(ValidationError) as error:
        _run("pci_driver", host, [{"address": "1:0.0", "driver": "vfio pci"}, {"address": NIC0, "driver": "x;y"}])
    text = str(error.value)
    assert "config[0].address: '1:0.0' is not a PCI address" in text and "config[0].driver: 'vfio pci' is not a driver name" in text
    assert "config[1].driver: 'x;y' is not a driver name" in text
    with pytest.raises(ValidationError) as error:
        _run("pci_driver", host, [{"address": MGMT, "driver": "vfio-pci"}, {"address": NIC0, "driver": "uio_pci_generic"},
                                  {"address": "0000:09:00.0", "driver": "vfio-pci"}], protected_interfaces=["br-mgmt"])
    text = str(error.value)
    assert ("config[0].address: 0000:02:00.0 carries the management interface br-mgmt (its devices and their masters: "
            "eth0 -> bond0 -> br-mgmt); binding it to vfio-pci would cut the host off") in text, text
    assert "config[1].driver: uio_pci_generic is not loaded on this host (no bus/pci/drivers/uio_pci_generic)" in text, text
    assert "config[2].address: there is no PCI device 0000:09:00.0 on this host" in text, text
    assert host.dump() == before
    # vfio-pci missing: the reason is named
    missing = SysfsEmulator(tmp_path / "sys2", devices={NIC0: {"driver": "ixgbe"}}, drivers=["ixgbe"])
    with pytest.raises(ValidationError, match=r"config\[0\].driver: vfio-pci is not loaded on this host .*modprobe vfio-pci; it needs an IOMMU"):
        _run("pci_driver", missing, [{"address": NIC0, "driver": "vfio-pci"}])


def test_pci_driver_a_driver_that_does_not_take_the_device_rolls_back(host):  # pylint: disable=redefined-outer-name
    host.refuse.add((NIC1, "vfio-pci"))
    before = host.dump()
    with pytest.raises(ApplyError) as error:
        _run("pci_driver", host, [{"address": NIC0, "driver": "vfio-pci"}, {"address": NIC1, "driver": "vfio-pci"}])
    text = str(error.value)
    assert "0000:01:00.1 is bound to no driver after probing, not to vfio-pci" in text, text
    assert "rolled back 1 of 1 applied changes" in text, text
    assert host.dump() == before


def test_a_partly_allocated_pool_is_set_back(host):  # pylint: disable=redefined-outer-name
    host.capacity[2048] = 50
    with pytest.raises(ApplyError, match="the kernel holds 50 2048kB hugepages after 100 were requested"):
        _run("hugepages", host, [{"size": "2M", "count": 100}])
    assert host.pool(2048) == 0


@pytest.mark.parametrize("kind,config", [
    ("pci_driver", [{"address": NIC0, "driver": "vfio-pci"}, {"address": NIC1, "driver": "vfio-pci"}]),
    ("hugepages", [{"size": "2M", "count": 300}, {"size": "1G", "count": 4}]),
])
def test_a_failed_write_at_every_point_leaves_sysfs_as_it_was(new_host, kind, config):  # pylint: disable=redefined-outer-name
    """Fault injection: the k-th sysfs write of the call fails (EIO), for every k of the plan, each on a fresh emulated host."""
    probe = new_host()
    probe.capacity[1048576] = 4
    _run(kind, probe, config, persist=False)
    writes = len(probe.writes)
    assert writes >= 2
    for index in range(writes):
        host = new_host()  # pylint: disable=redefined-outer-name
        host.capacity[1048576] = 4
        before = host.dump()
        host.fail_at(index)
        with pytest.raises(ApplyError):
            _run(kind, host, config, persist=False)
        assert host.dump() == before, "write %d of %d failed and the rollback left a difference" % (index, writes)


def test_gathered_reads_the_real_pools_without_writing():
    """The real /sys, read only: every pool of this machine is reported."""
    pools = {item["size"] for item in converge(HugepagesResource(), {"state": "gathered", "config": []}, False)["gathered"]}
    assert "2048kB" in pools
