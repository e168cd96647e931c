# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sriov_pool through the engine, in-process, against an EMULATED SR-IOV NIC.

This machine has no SR-IOV device, netdevsim or vfio. Every test builds a sysfs tree under its
tmp directory (option sysfs_root) and tests/sysfs_emulator.py stands in for the kernel:
sriov_numvfs (EBUSY between two non-zero counts, ERANGE above sriov_totalvfs, VF devices that
appear after a delay), driver_override/unbind/drivers_probe for the VFs, the PF driver's VF
table behind rtnetlink (requests and replies pass through pyroute2's own ifinfmsg encoding),
devlink's eswitch mode, and the udev rules and NetworkManager /run directories. What is real:
the module code, the engine (lock, check mode, diff, rollback, read-back verification) and the
saved state (under tmp). Nothing here writes the real /sys, links or /etc.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils import persist
from ansible_collections.hypervisor.networking.plugins.module_utils.backend import libvirt as lvbackend
from ansible_collections.hypervisor.networking.plugins.module_utils.backend import sysfs
from ansible_collections.hypervisor.networking.plugins.module_utils.engine import converge, restore_all
from ansible_collections.hypervisor.networking.plugins.module_utils.entry import resource_for, restore_main
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ApplyError, HostError, HvnetError, ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.resource import sriov as sriov_resource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.sriov import SriovPoolResource

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import firstuse as fu  # noqa: E402  pylint: disable=wrong-import-position
from sysfs_emulator import SysfsEmulator  # noqa: E402  pylint: disable=wrong-import-position

PF0, PF1, PLAIN = "0000:01:00.0", "0000:01:00.1", "0000:02:00.0"
VF0 = "0000:01:10.0"  # PF0's VF 0 (sriov_offset 128, stride 1)


@pytest.fixture
def new_host(tmp_path, monkeypatch, store):  # pylint: disable=redefined-outer-name,unused-argument
    """A factory of emulated hosts: enp1s0f0 (PF0, 64 VFs, ice/iavf), enp1s0f1 (PF1, 16 VFs),
    eno1 without SR-IOV; ice, iavf and vfio-pci loaded."""
    made = []

    def factory(vf_delay=0.0, ignored_vf_attributes=(), nm_running=True, total=64, netdevs=None):
        host = SysfsEmulator(
            tmp_path / ("sys%d" % len(made)), vf_delay=vf_delay, ignored_vf_attributes=ignored_vf_attributes,
            devices={PF0: {"driver": "ice", "netdevs": (netdevs or {}).get(PF0, ["enp1s0f0"]), "sriov": {"total": total}},
                     PF1: {"driver": "ice", "netdevs": ["enp1s0f1"], "sriov": {"total": 16, "offset": 144}},
                     PLAIN: {"driver": "e1000e", "netdevs": ["eno1"]}},
            drivers=["ice", "iavf", "vfio-pci", "e1000e"],
        ).install_sriov(monkeypatch, nm_running=nm_running)
        made.append(host)
        return host

    yield factory
    for host in made:
        host.close()


@pytest.fixture
def host(new_host):  # pylint: disable=redefined-outer-name
    return new_host()


def _run(host, config, state="merged", check=False, **params):  # pylint: disable=redefined-outer-name
    # libvirt's in-process test driver: the host's libvirtd is never asked which domain uses an emulated VF
    args = {"state": state, "config": config, "persist": True, "sysfs_root": host.root, "timeout": 5, "uri": "test:///default"}
    args.update(params)
    return converge(SriovPoolResource(), args, check)


def _state(host):  # pylint: disable=redefined-outer-name
    """Everything the emulated kernel holds: the sysfs tree, the VF tables, the eswitch modes."""
    return host.dump(), {name: [dict(vf) for vf in table] for name, table in host.vf_table.items()}, \
        {address: spec["eswitch"] for address, spec in host.sriov.items()}


POOL = {"pf": "enp1s0f0", "num_vfs": 4, "driver": "vfio-pci", "vf_defaults": {"vlan": 100},
        "vf_groups": [{"range": "2-3", "driver": "iavf", "vlan": 200, "qos": 5}],
        "vfs": [{"index": 0, "mac": "52:54:00:00:01:00", "trust": True, "max_tx_rate": 1000}]}


def test_create_verify_idempotent_check_mode_and_delete(host):  # pylint: disable=redefined-outer-name
    before = _state(host)
    planned = _run(host, [POOL], check=True)
    assert planned["changed"] and _state(host) == before, "check mode changed the emulated host"
    assert "0000:01:00.0 (enp1s0f0): sriov_numvfs 0 -> 4 (wait at most 5 s for the VFs)" in planned["commands"]

    result = _run(host, [POOL])
    assert result["changed"]
    assert host.numvfs(PF0) == 4
    vfs = host.vf_addresses(PF0)
    assert vfs == ["0000:01:10.0", "0000:01:10.1", "0000:01:10.2", "0000:01:10.3"]
    assert [host.driver(vf) for vf in vfs] == ["vfio-pci", "vfio-pci", "iavf", "iavf"]
    assert [host.override(vf) for vf in vfs] == ["vfio-pci", "vfio-pci", "iavf", "iavf"]
    table = host.vf_table["enp1s0f0"]
    assert table[0] == {"mac": "52:54:00:00:01:00", "vlan": 100, "qos": 0, "proto": 0x8100, "spoofchk": 1, "trust": 1,
                        "min_tx_rate": 0, "max_tx_rate": 1000, "link_state": 0}
    assert [(vf["vlan"], vf["qos"], vf["spoofchk"], vf["trust"]) for vf in table[1:]] == [(100, 0, 1, 0), (200, 5, 1, 0), (200, 5, 1, 0)]
    rule = host.udev_rule(PF0)
    assert all('KERNELS=="%s", ENV{NM_UNMANAGED}="1"' % vf in rule for vf in vfs)
    assert result["diff"]["before"] == {}
    after_vfs = result["diff"]["after"][PF0]["host"]["vfs"]
    assert after_vfs[2]["driver"] == "iavf" and after_vfs[0]["mac"] == "52:54:00:00:01:00"

    settled = _state(host)
    again = _run(host, [POOL])
    assert not again["changed"] and again["commands"] == [] and _state(host) == settled
    assert not _run(host, [dict(POOL, pf=None, pci_address="01:00.0")])["changed"], "the same PF by its PCI address"
    assert not _run(host, [POOL], check=True)["changed"]

    with pytest.raises(ValidationError) as caught:  # VFs bound to vfio-pci count as in use
        _run(host, [], state="deleted")
    assert "config: removing the VFs of 0000:01:00.0 (enp1s0f0) pulls them out" in str(caught.value)
    gone = _run(host, [{"pf": "enp1s0f0", "allow_vf_reset": True}], state="deleted")
    assert gone["changed"] and host.numvfs(PF0) == 0 and host.vf_addresses(PF0) == [] and host.udev_rule(PF0) is None
    assert not _run(host, [], state="deleted")["changed"]


def test_vfs_without_a_loaded_vf_driver_stay_unbound_and_a_second_run_changes_nothing(tmp_path, monkeypatch, store):  # pylint: disable=unused-argument
    # a hypervisor that blacklists the VF driver (iavf) or turns sriov_drivers_autoprobe off: no
    # driver takes the VFs, and "its own driver" (the default) is then no driver at all
    bare = SysfsEmulator(tmp_path / "sys", devices={PF0: {"driver": "ice", "netdevs": ["enp1s0f0"], "sriov": {"total": 8}}},
                         drivers=["ice", "vfio-pci"]).install_sriov(monkeypatch)
    try:
        for state in ("merged", "replaced"):
            first = _run(bare, [{"pf": "enp1s0f0", "num_vfs": 2}], state=state)
            assert [bare.driver(vf) for vf in bare.vf_addresses(PF0)] == [None, None]
            settled = _state(bare)
            again = _run(bare, [{"pf": "enp1s0f0", "num_vfs": 2}], state=state)
            assert (first["changed"], again["changed"], again["commands"]) == (state == "merged", False, []) and _state(bare) == settled
    finally:
        bare.close()


def test_replaced_sets_back_what_is_not_given_merged_leaves_it(host):  # pylint: disable=redefined-outer-name
    _run(host, [POOL])
    merged = _run(host, [{"pf": "enp1s0f0", "vfs": [{"index": 1, "link_state": "disable"}]}])
    assert merged["commands"][:1] == ["0000:01:00.0 (enp1s0f0) VF 1: link_state disable"]
    table = host.vf_table["enp1s0f0"]
    assert table[1]["link_state"] == 2 and table[0]["trust"] == 1 and table[2]["vlan"] == 200, "merged leaves the rest"
    replaced = _run(host, [{"pf": "enp1s0f0", "num_vfs": 4}], state="replaced")
    assert replaced["changed"]
    assert [(vf["vlan"], vf["qos"], vf["trust"], vf["max_tx_rate"], vf["link_state"]) for vf in table] == [(0, 0, 0, 0, 0)] * 4
    assert table[0]["mac"] == "52:54:00:00:01:00", "a MAC not given is left as it is"
    assert [host.override(vf) for vf in host.vf_addresses(PF0)] == ["(null)"] * 4
    assert [host.driver(vf) for vf in host.vf_addresses(PF0)] == ["iavf"] * 4, "back to the VFs' own driver"


def test_a_count_change_needs_allow_vf_reset_and_names_the_vfs_in_use(host):  # pylint: disable=redefined-outer-name
    _run(host, [{"pf": "enp1s0f0", "num_vfs": 4, "vf_groups": [{"range": "0", "driver": "vfio-pci"}]}])
    host.addresses["enp1s0f0v2"] = ["198.51.100.7"]
    before = _state(host)
    with pytest.raises(ValidationError) as caught:
        _run(host, [{"pf": "enp1s0f0", "num_vfs": 8}])
    message = str(caught.value)
    assert "config[0].num_vfs: changing 4 VFs to 8 goes through 0" in message and "allow_vf_reset: true" in message
    assert "VF 0 (0000:01:10.0) bound to vfio-pci" in message and "VF 2 (0000:01:10.2) enp1s0f0v2 holds 198.51.100.7" in message
    assert _state(host) == before
    with pytest.raises(ValidationError) as caught:
        _run(host, [], state="deleted")
    assert "list it with allow_vf_reset: true" in str(caught.value) and _state(host) == before

    result = _run(host, [{"pf": "enp1s0f0", "num_vfs": 8, "allow_vf_reset": True}])
    assert result["commands"][1:3] == ["0000:01:00.0 (enp1s0f0): sriov_numvfs 4 -> 0 (removes every VF)",
                                       "0000:01:00.0 (enp1s0f0): sriov_numvfs 0 -> 8 (wait at most 5 s for the VFs)"]
    assert host.numvfs(PF0) == 8
    assert "allow_vf_reset" not in str(persist.Store().load("sriov_pool", "pci_address")), "a permission is never saved"


def test_the_refusal_names_the_running_libvirt_domain_using_a_vf(host):  # pylint: disable=redefined-outer-name
    """The domain runs in libvirt's own test driver (test:///default, in this process): a real
    libvirtd cannot start a domain whose hostdev is a VF that does not exist. The module reads it
    through the binding (listAllDomains, XMLDesc) like any libvirtd at its uri."""
    libvirt = pytest.importorskip("libvirt")
    _run(host, [{"pf": "enp1s0f0", "num_vfs": 4}])
    conn = libvirt.open("test:///default")
    domain = conn.createXML(
        "<domain type='test'><name>hvt-sriov-vm</name><memory>65536</memory><os><type>hvm</type></os><devices>"
        "<interface type='hostdev' managed='yes'><source><address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x1'/>"
        "</source></interface></devices></domain>", 0)
    try:
        before = _state(host)
        with pytest.raises(ValidationError) as caught:
            _run(host, [{"pf": "enp1s0f0", "num_vfs": 8}])
        assert "VFs in use: VF 1 (0000:01:10.1) in the running libvirt domain hvt-sriov-vm." in str(caught.value)
        with pytest.raises(ValidationError) as caught:  # a VF only a domain names is in use: no silent removal
            _run(host, [{"pf": "enp1s0f0", "num_vfs": 0}])
        assert "num_vfs 0, which removes every VF" in str(caught.value) and "hvt-sriov-vm" in str(caught.value)
        assert _state(host) == before
    finally:
        domain.destroy()
        conn.close()
    with pytest.raises(ValidationError) as caught:
        _run(host, [{"pf": "enp1s0f0", "num_vfs": 8}])
    assert "No VF is in use now" in str(caught.value), "the domain stopped: nothing names the VF any more"


def test_the_boot_restore_never_asks_libvirtd(host, monkeypatch):  # pylint: disable=redefined-outer-name
    """At boot libvirtd may not run yet, and a connection to its socket could start it early."""
    _run(host, [{"pf": "enp1s0f0", "num_vfs": 2}])
    asked = []
    monkeypatch.setattr(lvbackend, "running_pci_users", asked.append)
    assert not _run(host, [{"pf": "enp1s0f0", "num_vfs": 2}], state="replaced", boot_restore=True)["changed"]
    assert asked == []
    _run(host, [{"pf": "enp1s0f0", "num_vfs": 2}])
    assert asked == ["test:///default"], "a module call with VFs asks the libvirtd at its uri"


def test_host_refusals_come_after_value_checks_all_in_one_message(host):  # pylint: disable=redefined-outer-name
    before = _state(host)
    with pytest.raises(ValidationError) as caught:
        _run(host, [{"pf": "eno1", "num_vfs": 2}, {"pf": "enp1s0f1", "num_vfs": 17, "driver": "igb_uio"},
                    {"pf": "nosuch0", "num_vfs": 1}, {"pci_address": "0000:09:00.0", "num_vfs": 1},
                    {"pf": "enp1s0f1", "pci_address": PF0, "num_vfs": 1, "eswitch_mode": "switchdev"}])
    message = str(caught.value)
    for expected in ("config[0].pf: 0000:02:00.0 does not support SR-IOV",
                     "config[1].num_vfs: 17 is above the 16 VFs 0000:01:00.1 (enp1s0f1) supports (sriov_totalvfs)",
                     "config[1].driver: igb_uio is not loaded on this host",
                     "config[2].pf: there is no network interface nosuch0",
                     "config[3].pci_address: there is no PCI device 0000:09:00.0",
                     "config[4].pf: enp1s0f1 is not the interface of 0000:01:00.0"):
        assert expected in message, message
    # a value problem hides the host problems: nothing is checked against the host before the values are right
    with pytest.raises(ValidationError) as caught:
        _run(host, [{"pf": "nosuch0", "num_vfs": 1, "vfs": [{"index": 1}]}])
    assert "config[0].vfs[0].index: VF 1 does not exist" in str(caught.value) and "nosuch0" not in str(caught.value)
    assert _state(host) == before


def test_a_timeout_below_one_second_is_refused(host):  # pylint: disable=redefined-outer-name
    with pytest.raises(ValidationError) as caught:
        _run(host, [{"pf": "enp1s0f0", "num_vfs": 2}], timeout=0)
    assert str(caught.value) == "timeout: must be a whole number of seconds, 1 or more (got 0)"
    assert host.numvfs(PF0) == 0


def test_vfs_made_outside_the_collection_need_adopt(host):  # pylint: disable=redefined-outer-name
    host.write("bus/pci/devices/%s/sriov_numvfs" % PF1, "2\n")
    with pytest.raises(ValidationError) as caught:
        _run(host, [{"pf": "enp1s0f1", "num_vfs": 2}])
    assert "config[0].num_vfs: 0000:01:00.1 (enp1s0f1) has 2 VFs created outside this collection; set adopt: true" in str(caught.value)
    result = _run(host, [{"pf": "enp1s0f1", "num_vfs": 2, "vfs": [{"index": 1, "vlan": 9}]}], adopt=True)
    assert result["changed"] and host.vf_table["enp1s0f1"][1]["vlan"] == 9 and host.numvfs(PF1) == 2
    gathered = {item["pci_address"]: item for item in _run(host, None, state="gathered")["gathered"]}
    assert set(gathered) == {PF0, PF1}, "every SR-IOV PF, owned or not; eno1 has no SR-IOV"
    assert gathered[PF1]["host"]["owned"] and not gathered[PF0]["host"]["owned"]
    assert gathered[PF1]["vfs"][1] == {"index": 1, "vlan": 9, "qos": 0, "vlan_proto": "802.1Q", "spoofchk": True, "trust": False,
                                       "min_tx_rate": 0, "max_tx_rate": 0, "link_state": "auto", "driver": "iavf"}
    assert gathered[PF1]["host"]["vfs"][0] == {"index": 0, "pci_address": "0000:01:12.1", "netdev": "enp1s0f1v0"}


def test_slow_vfs_are_waited_for_and_a_timeout_rolls_back(new_host):  # pylint: disable=redefined-outer-name
    slow = new_host(vf_delay=0.6)
    started = time.monotonic()
    _run(slow, [{"pf": "enp1s0f0", "num_vfs": 4, "driver": "vfio-pci"}], timeout=5)
    assert time.monotonic() - started >= 0.6 and [slow.driver(vf) for vf in slow.vf_addresses(PF0)] == ["vfio-pci"] * 4

    too_slow = new_host(vf_delay=3.0)
    before = _state(too_slow)
    with pytest.raises(ApplyError) as caught:
        _run(too_slow, [{"pf": "enp1s0f0", "num_vfs": 4}], timeout=1)
    assert "0000:01:00.0 has 0 of 4 VFs after waiting 1." in str(caught.value) and "option timeout: 1 s" in str(caught.value)
    assert _state(too_slow) == before, "the count went back to 0"


def test_an_attribute_the_driver_ignores_fails_and_rolls_back(new_host):  # pylint: disable=redefined-outer-name
    host = new_host(ignored_vf_attributes={"IFLA_VF_TRUST"})  # pylint: disable=redefined-outer-name
    _run(host, [{"pf": "enp1s0f0", "num_vfs": 2}])
    before = _state(host)
    with pytest.raises(ApplyError) as caught:
        _run(host, [{"pf": "enp1s0f0", "vf_defaults": {"vlan": 7}, "vfs": [{"index": 1, "trust": True}]}])
    assert "VF 1 of enp1s0f0 has trust False (asked True) after setting them" in str(caught.value)
    assert _state(host) == before, "VF 0's VLAN was set back"


def test_a_failed_count_change_gives_the_old_vfs_back_their_drivers_and_attributes(host):  # pylint: disable=redefined-outer-name
    # the VFs a count change removes come back fresh from the kernel: the rollback sets their
    # drivers and attributes (MAC, VLAN, trust, rates) back as they were
    _run(host, [POOL])
    before = _state(host)
    host.fail_at(3)  # the 4th write of the call: after 4 -> 0 and 0 -> 6, in the VFs' driver bindings
    with pytest.raises(HvnetError):
        _run(host, [dict(POOL, num_vfs=6, allow_vf_reset=True)])
    host.fail_at(None)
    assert _state(host) == before


def test_a_failure_after_overridden_removed_a_pool_gives_its_vfs_back_as_they_were(new_host):  # pylint: disable=redefined-outer-name
    setup = [{"pf": "enp1s0f0", "num_vfs": 2, "vfs": [{"index": 1, "mac": "52:54:00:00:01:01", "vlan": 9, "trust": True}]}]
    request = [{"pf": "enp1s0f1", "num_vfs": 2, "driver": "vfio-pci"}]
    probe = new_host()
    _run(probe, setup)
    probe.fail_at(None)
    _run(probe, request, state="overridden")
    assert probe.numvfs(PF0) == 0
    host = new_host()  # pylint: disable=redefined-outer-name
    _run(host, setup)
    before = _state(host)
    host.fail_at(len(probe.writes) - 1)  # the call's last write: enp1s0f0's VFs are gone by then
    with pytest.raises(HvnetError):
        _run(host, request, state="overridden")
    host.fail_at(None)
    assert _state(host) == before


@pytest.mark.parametrize("case", ["create", "change", "reset", "eswitch"])
def test_a_failed_write_at_every_point_leaves_the_host_as_it_was(new_host, store, case):  # pylint: disable=redefined-outer-name
    """Each write of the call (sysfs, netlink VF, devlink) fails in turn: the host ends as it was."""
    setup = {"create": [], "change": [POOL], "reset": [{"pf": "enp1s0f0", "num_vfs": 2}],
             "eswitch": [{"pf": "enp1s0f0", "num_vfs": 2}]}[case]
    request = {"create": [POOL, {"pf": "enp1s0f1", "num_vfs": 2, "driver": "vfio-pci"}],
               "change": [dict(POOL, vf_defaults={"vlan": 300, "link_state": "enable"}, driver="iavf")],
               "reset": [dict(POOL, allow_vf_reset=True)],
               "eswitch": [{"pf": "enp1s0f0", "num_vfs": 2, "eswitch_mode": "switchdev", "allow_vf_reset": True}]}[case]
    shutil.rmtree(str(store), ignore_errors=True)
    probe = new_host()
    if setup:
        _run(probe, setup)
    probe.fail_at(None)
    _run(probe, request)
    writes = len(probe.writes)
    assert writes >= 3
    for index in range(writes):
        shutil.rmtree(str(store), ignore_errors=True)  # each host starts with no saved state, as the probe did
        host = new_host()  # pylint: disable=redefined-outer-name
        if setup:
            _run(host, setup)
        before = _state(host)
        host.fail_at(index)
        with pytest.raises(HvnetError):
            _run(host, request)
        host.fail_at(None)
        assert _state(host) == before, "write %d (%s) left a change behind" % (index, host.writes[index])


def test_eswitch_mode_goes_through_zero_vfs(host):  # pylint: disable=redefined-outer-name
    _run(host, [{"pf": "enp1s0f0", "num_vfs": 2}])
    with pytest.raises(ValidationError) as caught:
        _run(host, [{"pf": "enp1s0f0", "eswitch_mode": "switchdev"}])
    assert "changing the eswitch mode to switchdev sets the VF count to 0 first" in str(caught.value)
    result = _run(host, [{"pf": "enp1s0f0", "eswitch_mode": "switchdev", "allow_vf_reset": True}])
    assert [line.split(": ", 1)[1] for line in result["commands"][:3]] == [
        "sriov_numvfs 2 -> 0 (removes every VF)", "devlink eswitch mode legacy -> switchdev",
        "sriov_numvfs 0 -> 2 (wait at most 5 s for the VFs)"]
    assert host.sriov[PF0]["eswitch"] == "switchdev" and host.numvfs(PF0) == 2


def test_the_return_sample_is_what_the_module_runs(new_host):  # pylint: disable=redefined-outer-name
    host = new_host(nm_running=False)  # pylint: disable=redefined-outer-name
    sample = fu.yaml.safe_load(re.search(r'^RETURN = r"""\n(.*?)^"""', _module_source(), re.S | re.M).group(1))["commands"]["sample"]
    result = _run(host, [{"pf": "enp1s0f0", "num_vfs": 2, "driver": "vfio-pci", "vfs": [{"index": 0, "mac": "52:54:00:00:01:00"}]}],
                  timeout=60, persist=False)
    assert result["commands"] == sample


def test_check_mode_predicts_the_after_of_the_real_run(host):  # pylint: disable=redefined-outer-name
    predicted = _run(host, [POOL], check=True)
    real = _run(host, [POOL])
    assert predicted["diff"]["after"] == real["diff"]["after"]
    assert predicted["commands"] == real["commands"]


def test_no_udev_rule_without_networkmanager(new_host):  # pylint: disable=redefined-outer-name
    host = new_host(nm_running=False)  # pylint: disable=redefined-outer-name
    result = _run(host, [{"pf": "enp1s0f0", "num_vfs": 2}])
    assert host.udev_rule(PF0) is None and not any("udev" in line for line in result["commands"])


def test_more_than_100_vfs(new_host):  # pylint: disable=redefined-outer-name
    """128 VFs: the PF's link message (IFLA_VFINFO_LIST) grows past 32 KiB and is read whole."""
    host = new_host(total=128)  # pylint: disable=redefined-outer-name
    _run(host, [{"pf": "enp1s0f0", "num_vfs": 128, "vfs": [{"index": 127, "vlan": 127}]}])
    assert host.numvfs(PF0) == 128 and host.vf_table["enp1s0f0"][127]["vlan"] == 127
    assert not _run(host, [{"pf": "enp1s0f0", "num_vfs": 128, "vfs": [{"index": 127, "vlan": 127}]}])["changed"]


def _rebooted(before, new_host, monkeypatch, pf_netdev="enp1s0f0"):  # pylint: disable=redefined-outer-name
    """The same NICs after a reboot, early in boot: no VFs, NetworkManager not started yet, the udev
    rules of /etc still there; the restore program uses the default /sys."""
    host = new_host(netdevs={PF0: [pf_netdev]}, nm_running=False)  # pylint: disable=redefined-outer-name
    rules = os.path.join(before.root, "etc", "udev", "rules.d")
    if os.path.isdir(rules):
        shutil.copytree(rules, os.path.join(host.root, "etc", "udev", "rules.d"), dirs_exist_ok=True)
    monkeypatch.setattr(sysfs, "DEFAULT_ROOT", host.root)
    return host


def test_saved_pools_come_back_at_boot_before_networks(new_host, monkeypatch, capsys):  # pylint: disable=redefined-outer-name
    """The restore program's early phase (the unit before network-pre.target) brings the VFs back, the late one leaves them."""
    first = new_host()
    _run(first, [POOL])
    rebooted = _rebooted(first, new_host, monkeypatch)
    assert restore_main(["early"]) == 0
    assert rebooted.numvfs(PF0) == 4
    rule = first.udev_rule(PF0)
    assert rule is not None and rebooted.udev_rule(PF0) == rule, "NetworkManager, starting later, must find the rule"
    assert [rebooted.driver(vf) for vf in rebooted.vf_addresses(PF0)] == ["vfio-pci", "vfio-pci", "iavf", "iavf"]
    assert rebooted.vf_table["enp1s0f0"][0]["mac"] == "52:54:00:00:01:00" and rebooted.vf_table["enp1s0f0"][3]["qos"] == 5
    assert "sriov_pool: 1 object(s)" in capsys.readouterr().out
    restored = _state(rebooted)
    assert restore_main(["late"]) == 0 and _state(rebooted) == restored and "sriov_pool" not in capsys.readouterr().out
    assert restore_all(["sriov_pool"], resource_for) == 0 and _state(rebooted) == restored  # a second restore changes nothing


def test_the_early_restore_finds_a_pf_udev_has_not_renamed_yet(new_host, monkeypatch):  # pylint: disable=redefined-outer-name
    """Early in boot the PF may still have the kernel's name: the saved pool names it by PCI address too."""
    first = new_host()
    _run(first, [POOL])
    rebooted = _rebooted(first, new_host, monkeypatch, pf_netdev="eth3")
    assert restore_main(["early"]) == 0
    assert rebooted.numvfs(PF0) == 4 and rebooted.vf_table["eth3"][0]["mac"] == "52:54:00:00:01:00"


def _module_source():
    with open(os.path.join(fu.REPO_ROOT, "plugins", "modules", "sriov_pool.py"), encoding="utf-8") as handle:
        return handle.read()


# ---- EXAMPLES, as written, against the emulated NICs ----------------------------------------------
EXAMPLES = fu.module_examples("sriov_pool")


def test_every_example_runs_as_written(host, libvirt_conn, monkeypatch):  # pylint: disable=redefined-outer-name
    """The EXAMPLES block, task by task, in order (sysfs_root added: the emulated tree; libvirt networks
    renamed hvtlv*, as the only names the tests may use in the real libvirtd, and not started: see StartlessLibvirt)."""
    monkeypatch.setattr(sriov_resource, "LibvirtHost", StartlessLibvirt)
    names = []
    for task in EXAMPLES:
        params = dict(task["hypervisor.networking.sriov_pool"])
        params["config"] = [dict(item, libvirt_network=TEST_PREFIX + "ex0") if item.get("libvirt_network") else item
                            for item in params.get("config") or []]
        result = converge(SriovPoolResource(), dict({"state": "merged", "persist": True, "sysfs_root": host.root, "timeout": 60},
                                                    **params), False)
        names.append(task["name"])
        if params.get("state") == "gathered":
            assert {item["pci_address"] for item in result["gathered"]} == {PF0, PF1}
    assert host.numvfs(PF0) == 0 and host.numvfs(PF1) == 0, "the last example removes every pool"
    assert _test_networks(libvirt_conn) == [], "and the pool's libvirt network"
    assert len(names) == 7


def test_gathered_reads_the_real_sysfs_without_writing():
    """The real /sys, read only: every device with sriov_totalvfs is reported (none on this machine)."""
    real = sorted(address for address in os.listdir("/sys/bus/pci/devices")
                  if os.path.exists("/sys/bus/pci/devices/%s/sriov_totalvfs" % address))
    gathered = converge(SriovPoolResource(), {"state": "gathered", "config": []}, False)["gathered"]
    assert [item["pci_address"] for item in gathered] == real


def test_a_pf_without_interface_takes_a_count_not_attributes(tmp_path, monkeypatch, store):  # pylint: disable=redefined-outer-name,unused-argument
    host = SysfsEmulator(tmp_path / "bare", devices={PF0: {"driver": "ice", "sriov": {"total": 8}}},  # pylint: disable=redefined-outer-name
                         drivers=["ice", "iavf", "vfio-pci"]).install_sriov(monkeypatch)
    before = _state(host)
    with pytest.raises(ValidationError) as caught:
        _run(host, [{"pci_address": PF0, "num_vfs": 2, "vfs": [{"index": 1, "vlan": 5}]}])
    assert "config[0]: 0000:01:00.0 has no network interface, and the attributes of VF 1 are set through it" in str(caught.value)
    assert _state(host) == before
    _run(host, [{"pci_address": PF0, "num_vfs": 2, "driver": "vfio-pci"}])  # the secure defaults are what new VFs have
    assert [host.driver(vf) for vf in host.vf_addresses(PF0)] == ["vfio-pci"] * 2
    assert not _run(host, [{"pci_address": PF0, "num_vfs": 2, "driver": "vfio-pci"}])["changed"]


def test_overridden_removes_the_other_pools_it_manages(host):  # pylint: disable=redefined-outer-name
    _run(host, [{"pf": "enp1s0f0", "num_vfs": 2}, {"pf": "enp1s0f1", "num_vfs": 3}])
    result = _run(host, [{"pf": "enp1s0f1", "num_vfs": 3}], state="overridden")
    assert result["commands"][:2] == ["0000:01:00.0 (enp1s0f0): remove udev rule %s" % os.path.join(
        host.root, "etc/udev/rules.d/70-hypervisor-networking-sriov-0000:01:00.0.rules"), "0000:01:00.0 (enp1s0f0): sriov_numvfs 2 -> 0 (removes every VF)"]
    assert host.numvfs(PF0) == 0 and host.numvfs(PF1) == 3 and host.udev_rule(PF0) is None
    assert list(persist.Store().load("sriov_pool", "pci_address")) == [PF1]


# ---- the pool's libvirt hostdev network (libvirt_network), in the real libvirtd ----------------
# libvirtd runs in the root namespace: only networks named hvtlv* (no bridge, no address, no
# firewall rule: hostdev pools have none), removed before and after each test; never `default`.
TEST_PREFIX = "hvtlv"
LIBVIRT_URI = "qemu:///system"
NET = TEST_PREFIX + "sr0"


class StartlessLibvirt(lvbackend.LibvirtHost):
    """The real libvirtd for everything (define, autostart, undefine, read back) but net-start and
    net-destroy: libvirt starts a hostdev pool only over VFs it finds under the real
    /sys/class/net/<pf>/device, which no emulated NIC can give it (it answers "No usable Vf's present
    on SRIOV PF"; test_a_network_that_fails_to_start_takes_the_new_vfs_back runs that real failure).
    Started networks are recorded here instead, and read back as active. Start was never run for real."""
    started = set()

    def start(self, name):
        self._network(name)  # it must be defined
        self.started.add(name)

    def stop(self, name):
        self.started.discard(name)

    def is_active(self, name):
        return name in self.started

    def read(self):
        snapshot = super().read()
        for name, net in snapshot["networks"].items():
            net["active"] = name in self.started
        return snapshot


def _test_networks(conn):
    return sorted(net.name() for net in conn.listAllNetworks(0) if net.name().startswith(TEST_PREFIX + "sr")
                  or net.name().startswith(TEST_PREFIX + "ex"))


def _remove_test_networks(conn):
    for net in conn.listAllNetworks(0):
        if net.name() in _test_networks(conn):
            if net.isActive():
                net.destroy()
            if net.isPersistent():
                net.undefine()


@pytest.fixture
def libvirt_conn():
    """The real libvirtd (started as tests/integration/test_libvirt_network.py starts it), without
    hvtlvsr*/hvtlvex* networks before and after; IPv4 forwarding as it was (hostdev pools leave it alone)."""
    libvirt = pytest.importorskip("libvirt")
    import test_libvirt_network  # pylint: disable=import-outside-toplevel
    test_libvirt_network._ensure_libvirtd()  # pylint: disable=protected-access
    forwarding = test_libvirt_network._read_sysctl("net/ipv4/ip_forward")  # pylint: disable=protected-access
    conn = libvirt.open(LIBVIRT_URI)
    _remove_test_networks(conn)
    StartlessLibvirt.started = set()
    try:
        yield conn
    finally:
        _remove_test_networks(conn)
        conn.close()
        assert test_libvirt_network._read_sysctl("net/ipv4/ip_forward") == forwarding  # pylint: disable=protected-access


def _definition(conn, name):
    return conn.networkLookupByName(name).XMLDesc(1)  # VIR_NETWORK_XML_INACTIVE


def test_the_pool_defines_its_hostdev_network_in_the_same_call(host, libvirt_conn, monkeypatch):  # pylint: disable=redefined-outer-name
    monkeypatch.setattr(sriov_resource, "LibvirtHost", StartlessLibvirt)
    pool = {"pf": "enp1s0f0", "num_vfs": 4, "driver": "vfio-pci", "libvirt_network": NET}
    planned = _run(host, [pool], check=True, uri=LIBVIRT_URI)
    assert planned["changed"] and _test_networks(libvirt_conn) == [] and host.numvfs(PF0) == 0, "check mode changed nothing"
    assert planned["commands"][-4:-1] == ["virsh net-define %s.xml" % NET, "virsh net-start %s" % NET, "virsh net-autostart %s" % NET]

    result = _run(host, [pool], uri=LIBVIRT_URI)
    assert result["commands"] == planned["commands"]
    assert host.numvfs(PF0) == 4 and _test_networks(libvirt_conn) == [NET]
    root = ET.fromstring(_definition(libvirt_conn, NET))
    forward = root.find("forward")
    assert (forward.get("mode"), forward.get("managed"), [pf.get("dev") for pf in forward.findall("pf")]) == ("hostdev", "yes", ["enp1s0f0"])
    assert lvbackend.owned(_definition(libvirt_conn, NET)) == {"module": "sriov_pool"}
    assert libvirt_conn.networkLookupByName(NET).autostart() == 1 and NET in StartlessLibvirt.started
    shown = result["diff"]["after"][PF0]["host"]["libvirt_network"]
    assert shown["active"] and shown["autostart"] and "<pf dev=\"enp1s0f0\"/>" in shown["xml"]
    assert "libvirt_network" not in result["diff"]["before"].get(PF0, {}).get("host", {})
    assert persist.Store().load("sriov_pool", "pci_address")[PF0]["libvirt_network"] == NET, "the pool remembers its network"

    uuid = libvirt_conn.networkLookupByName(NET).UUIDString()
    again = _run(host, [pool], uri=LIBVIRT_URI)
    assert not again["changed"] and again["commands"] == [] and libvirt_conn.networkLookupByName(NET).UUIDString() == uuid
    assert not _run(host, [{"pf": "enp1s0f0"}], uri=LIBVIRT_URI)["changed"], "merged without the field keeps the network"

    gone = _run(host, [{"pf": "enp1s0f0", "allow_vf_reset": True}], state="deleted", uri=LIBVIRT_URI)
    assert gone["commands"][:2] == ["virsh net-destroy %s" % NET, "virsh net-undefine %s" % NET], "first the network, then the VFs"
    assert _test_networks(libvirt_conn) == [] and host.numvfs(PF0) == 0


def test_replaced_without_the_network_removes_it(host, libvirt_conn, monkeypatch):  # pylint: disable=redefined-outer-name
    monkeypatch.setattr(sriov_resource, "LibvirtHost", StartlessLibvirt)
    _run(host, [{"pf": "enp1s0f0", "num_vfs": 2, "libvirt_network": NET}], uri=LIBVIRT_URI)
    renamed = _run(host, [{"pf": "enp1s0f0", "num_vfs": 2, "libvirt_network": NET + "b"}], state="replaced", uri=LIBVIRT_URI)
    assert renamed["changed"] and _test_networks(libvirt_conn) == [NET + "b"] and host.numvfs(PF0) == 2
    _run(host, [{"pf": "enp1s0f0", "num_vfs": 2}], state="replaced", uri=LIBVIRT_URI)
    assert _test_networks(libvirt_conn) == [] and host.numvfs(PF0) == 2


def test_a_network_that_fails_to_start_takes_the_new_vfs_back(host, libvirt_conn):  # pylint: disable=redefined-outer-name
    """The real libvirtd's net-start of a pool over an emulated PF fails: the rollback undefines the
    network and sets the VF count back."""
    before = _state(host)
    with pytest.raises(ApplyError) as caught:
        _run(host, [{"pf": "enp1s0f0", "num_vfs": 4, "libvirt_network": NET}], uri=LIBVIRT_URI)
    message = str(caught.value)
    assert "'virsh net-start %s' failed" % NET in message and "sriov_numvfs 0 -> 4" in message
    assert _test_networks(libvirt_conn) == [] and host.numvfs(PF0) == 0 and _state(host) == before
    assert PF0 not in persist.Store().load("sriov_pool", "pci_address")


def test_a_network_this_module_did_not_make_is_never_touched(host, libvirt_conn, monkeypatch):  # pylint: disable=redefined-outer-name
    monkeypatch.setattr(sriov_resource, "LibvirtHost", StartlessLibvirt)
    by_hand = "<network><name>%s</name><forward mode='hostdev' managed='yes'><pf dev='enp1s0f0'/></forward></network>" % NET
    libvirt_conn.networkDefineXML(by_hand)
    before = _definition(libvirt_conn, NET)
    for adopt in (False, True):
        with pytest.raises(ValidationError) as caught:
            _run(host, [{"pf": "enp1s0f0", "num_vfs": 2, "libvirt_network": NET}], uri=LIBVIRT_URI, adopt=adopt)
        assert "config[0].libvirt_network: libvirt network %s exists and was not made by this collection" % NET in str(caught.value)
    assert _definition(libvirt_conn, NET) == before and host.numvfs(PF0) == 0
    libvirt_conn.networkLookupByName(NET).undefine()
    # nor one of vm_network
    libvirt_conn.networkDefineXML(by_hand.replace("<forward", "<metadata><hvnet:owner xmlns:hvnet='%s' module='vm_network'/></metadata><forward"
                                                  % "https://hypervisor.networking/xmlns/owner/1"))
    with pytest.raises(ValidationError, match=r"config\[0\].libvirt_network: libvirt network %s belongs to module vm_network" % NET):
        _run(host, [{"pf": "enp1s0f0", "num_vfs": 2, "libvirt_network": NET}], uri=LIBVIRT_URI)


def test_without_the_libvirt_binding_nothing_changes(host, monkeypatch):  # pylint: disable=redefined-outer-name
    def no_binding():
        raise HostError("backend libvirt needs libvirt's Python binding on the managed host: the Debian/Ubuntu package python3-libvirt")
    monkeypatch.setattr(lvbackend, "load_binding", no_binding)
    before = _state(host)
    with pytest.raises(HostError, match="python3-libvirt"):
        _run(host, [{"pf": "enp1s0f0", "num_vfs": 2, "libvirt_network": NET}])
    assert _state(host) == before
    assert _run(host, [{"pf": "enp1s0f0", "num_vfs": 2}])["changed"], "pools without a network need no libvirt"


def test_the_boot_restore_leaves_the_network_to_libvirt(new_host, libvirt_conn, monkeypatch):  # pylint: disable=redefined-outer-name
    """libvirtd keeps and autostarts the network; the restore brings the VFs back without libvirt (it may not run yet)."""
    monkeypatch.setattr(sriov_resource, "LibvirtHost", StartlessLibvirt)
    _run(new_host(), [{"pf": "enp1s0f0", "num_vfs": 2, "libvirt_network": NET}], uri=LIBVIRT_URI)
    rebooted = new_host()
    monkeypatch.setattr(sriov_resource, "LibvirtHost", lambda uri: pytest.fail("the restore opened libvirt"))
    monkeypatch.setattr(sysfs, "DEFAULT_ROOT", rebooted.root)
    assert restore_all(["sriov_pool"], resource_for) == 0
    assert rebooted.numvfs(PF0) == 2 and _test_networks(libvirt_conn) == [NET]
