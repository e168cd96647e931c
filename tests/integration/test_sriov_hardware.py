# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sriov_pool on a REAL SR-IOV NIC: opt-in, never run on the development machine (it has none).

Set HV_SRIOV_PF to the network interface of a PF that has no VFs and carries nothing the host
needs (root is required). The test creates 2 VFs with a MAC, a VLAN and trust on VF 0,
verifies them with the kernel's own tools (sysfs, `ip -d -j link show`), re-runs (no change),
runs check mode (no change), and sets the count back to 0. Nothing is saved for boot
(persist: false) and the NetworkManager udev rule goes to a tmp directory.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import sriov as backend_sriov
from ansible_collections.hypervisor.networking.plugins.module_utils.engine import converge
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.sriov import SriovPoolResource

PF = os.environ.get("HV_SRIOV_PF")

pytestmark = pytest.mark.skipif(not PF, reason="opt-in: set HV_SRIOV_PF to the interface of an SR-IOV PF without VFs "
                                               "(this machine has no SR-IOV NIC)")


def _sysfs(name):
    with open("/sys/class/net/%s/device/%s" % (PF, name), encoding="utf-8") as handle:
        return handle.read().strip()


def _vfinfo():
    link = json.loads(subprocess.run(["ip", "-d", "-j", "link", "show", "dev", PF], capture_output=True, text=True,
                                     check=True).stdout)[0]
    return {vf["vf"]: vf for vf in link.get("vfinfo_list", [])}


def _run(config, check=False):
    return converge(SriovPoolResource(), {"state": "merged", "config": config, "persist": False, "adopt": True,
                                          "timeout": 120}, check)


def test_vfs_on_real_hardware(tmp_path, monkeypatch):
    if _sysfs("sriov_numvfs") != "0":
        pytest.skip("%s already has VFs; this test only uses a PF without VFs" % PF)
    monkeypatch.setattr(backend_sriov, "UDEV_RULES_DIR", str(tmp_path / "rules.d"))
    pool = {"pf": PF, "num_vfs": 2, "vfs": [{"index": 0, "mac": "52:54:00:5e:00:01", "vlan": 100, "trust": True}]}
    try:
        assert _run([pool])["changed"]
        assert _sysfs("sriov_numvfs") == "2"
        vfs = _vfinfo()
        assert vfs[0]["address"] == "52:54:00:5e:00:01"
        assert vfs[0].get("vlan_list", [{}])[0].get("vlan", vfs[0].get("vlan")) == 100
        assert vfs[0].get("trust") is True and vfs[1].get("spoofchk") is True and vfs[1].get("trust") is False
        assert not _run([pool])["changed"]
        before = (_sysfs("sriov_numvfs"), _vfinfo())
        assert not _run([pool], check=True)["changed"]
        assert (_sysfs("sriov_numvfs"), _vfinfo()) == before
    finally:
        _run([{"pf": PF, "num_vfs": 0}])
    assert _sysfs("sriov_numvfs") == "0"
