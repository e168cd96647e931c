# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/dpdk_host.yml (role hypervisor.networking.dpdk) against the private OVS-DPDK.

Host files the role would write (sysctl.d, fstab, grub, udev) are redirected into the test's
temporary directory; the hugepage pool is set to the value the fixture already reserved, so
nothing of the host changes. The restart handler is a no-op here (the DPDK keys that need a
restart are already what the fixture started ovs-vswitchd with).
"""

from __future__ import annotations

import os

PLAYBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                        "playbooks", "dpdk_host.yml")


def _vars(ovs, tmp_path, **extra):
    files = tmp_path / "etc"
    files.mkdir(exist_ok=True)
    config = dict(ovs.vsctl_json("--columns=other_config", "list", "Open_vSwitch")[0]["other_config"])
    result = {
        "dpdk_hosts": "localhost",
        "dpdk_database": ovs.database,
        "dpdk_ovs_rundir": ovs.rundir,
        "dpdk_hugepages_2m": 512,
        "dpdk_hugepages_sysctl_file": str(files / "sysctl.conf"),
        "dpdk_hugepages_fstab": str(files / "fstab"),
        "dpdk_hugepage_mounts": [{"path": ovs.hugedir, "pagesize": "2M"}],
        "dpdk_lcore_cores": [0],
        "dpdk_pmd_cores": [1],
        "dpdk_socket_mem": [512],
        "dpdk_socket_limit": [512],
        "dpdk_extra": config["dpdk-extra"],
        "dpdk_hugepage_dir": ovs.hugedir,
        "dpdk_pmd_maxsleep": 10000,
        "dpdk_vhost_user": "nobody",
        "dpdk_vhost_group": "nogroup",
        "dpdk_restart_command": ["true"],
        "dpdk_select_alternative": False,
        "dpdk_persist": False,
        "dpdk_bridges": [{"name": "br-dpdk"}],
        "dpdk_ports": [
            {"name": "null0", "bridge": "br-dpdk", "devargs": "net_null0,no-rx=1", "n_rxq": 2, "rxq_affinity": {"0": 1}},
            {"name": "bond0", "bridge": "br-dpdk", "bond_mode": "active-backup",
             "interfaces": [{"name": "bond0-a", "devargs": "net_null1,no-rx=1"}, {"name": "bond0-b", "devargs": "net_null2,no-rx=1"}]},
            {"name": "vhu0", "bridge": "br-dpdk", "type": "dpdkvhostuserclient",
             "vhost_server_path": os.path.join(ovs.sockdir, "vhu0.sock")},
        ],
    }
    result.update(extra)
    return result


def _changed(results):
    return [r["task"] for r in results if r.get("result", {}).get("changed")]


def test_dpdk_host_playbook(ovs, run_playbook, tmp_path):
    extra = _vars(ovs, tmp_path, dpdk_other_config_extra={"emc-insert-inv-prob": "0"})
    before = ovs.dump()
    rc, out = run_playbook(ovs.ns, PLAYBOOK, extra, check=True, diff=True)
    assert rc == 0, out
    assert ovs.dump() == before, "check mode changed OVSDB"

    rc, out = run_playbook(ovs.ns, PLAYBOOK, extra)
    assert rc == 0, out
    assert ovs.vsctl("get", "Open_vSwitch", ".", "other_config:emc-insert-inv-prob").strip() == '"0"'
    assert ovs.vsctl("get", "Bridge", "br-dpdk", "datapath_type").strip() == "netdev"
    assert sorted(ovs.port_names()) == ["bond0", "br-dpdk", "null0", "vhu0"]
    for name in ("null0", "bond0-a", "bond0-b", "vhu0"):
        assert ovs.interface(name)["error"] == [] and ovs.interface(name)["ofport"] > 0
    assert os.stat(ovs.sockdir).st_mode & 0o777 == 0o770
    assert (tmp_path / "etc" / "sysctl.conf").read_text().strip().endswith("vm.nr_hugepages = 512")
    assert ovs.hugedir in (tmp_path / "etc" / "fstab").read_text()
    assert any("DPDK initialised" in str(r.get("result", {}).get("msg", "")) for r in run_playbook.results)

    rc, out = run_playbook(ovs.ns, PLAYBOOK, extra)
    assert rc == 0, out
    assert _changed(run_playbook.results) == [], out

    # a key that needs a restart notifies the handler; one that does not, does not
    rc, out = run_playbook(ovs.ns, PLAYBOOK, dict(extra, dpdk_pmd_maxsleep=5000))
    assert rc == 0 and "RUNNING HANDLER" not in out, out
    rc, out = run_playbook(ovs.ns, PLAYBOOK, dict(extra, dpdk_socket_limit=[1024]))
    assert rc == 0 and "RUNNING HANDLER [hypervisor.networking.dpdk : Restart ovs-vswitchd]" in out, out


def test_dpdk_role_refusals(ovs, run_playbook, tmp_path):
    rc, out = run_playbook(ovs.ns, PLAYBOOK, _vars(ovs, tmp_path, dpdk_pmd_cores=[0]))
    assert rc != 0 and "must not overlap" in out
    rc, out = run_playbook(ovs.ns, PLAYBOOK, _vars(ovs, tmp_path, dpdk_nics=["0000:00:03.0"]))
    assert rc != 0 and "vfio-pci is not loaded on this host" in out
    assert ovs.port_names() == []
