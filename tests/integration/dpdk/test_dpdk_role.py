# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/dpdk_host.yml (role hypervisor.networking.dpdk) against the private OVS-DPDK.

Host files the role would write (sysctl.d, fstab, grub, udev) are redirected into the test's
temporary directory; the hugepage pool is "set" to the count it has when the test starts (what
the fixture reserved), so the machine's pool never changes. Where the role writes sysfs (a pool
that changes, NICs), it runs against a tree under the test's directory (dpdk_sysfs); a kernel
that fills a pool only in part, and every failed write, are in tests/integration/test_sysfs_modules.py.
The restart handler is a no-op here (the DPDK keys that need a restart are already what the
fixture started ovs-vswitchd with).
"""

from __future__ import annotations

import os

PLAYBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                        "playbooks", "dpdk_host.yml")


def _machine_pool():
    with open("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", encoding="utf-8") as handle:
        return int(handle.read().strip())


def _vars(ovs, tmp_path, **extra):
    files = tmp_path / "etc"
    files.mkdir(exist_ok=True)
    config = dict(ovs.vsctl_json("--columns=other_config", "list", "Open_vSwitch")[0]["other_config"])
    result = {
        "dpdk_hosts": "localhost",
        "dpdk_database": ovs.database,
        "dpdk_ovs_rundir": ovs.rundir,
        "dpdk_hugepages_2m": _machine_pool(),
        "dpdk_hugepages_sysctl_file": str(files / "sysctl.conf"),
        "dpdk_hugepages_fstab": str(files / "fstab"),
        "dpdk_tmpfiles_file": str(files / "tmpfiles.conf"),
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
    # made by the collection's module, so marked as its own
    assert ovs.vsctl("get", "Bridge", "br-dpdk", "external_ids:hypervisor-networking-owner").strip() == "ovs_dpdk_bridge"
    assert sorted(ovs.port_names()) == ["bond0", "br-dpdk", "null0", "vhu0"]
    for name in ("null0", "bond0-a", "bond0-b", "vhu0"):
        assert ovs.interface(name)["error"] == [] and ovs.interface(name)["ofport"] > 0
    assert os.stat(ovs.sockdir).st_mode & 0o777 == 0o770
    assert (tmp_path / "etc" / "sysctl.conf").read_text().strip().endswith("vm.nr_hugepages = %d" % extra["dpdk_hugepages_2m"])
    assert ovs.hugedir in (tmp_path / "etc" / "fstab").read_text()
    # /run is emptied at boot: systemd-tmpfiles re-creates the socket directory with its owner
    assert "d %s 0770 nobody nogroup -\n" % ovs.sockdir in (tmp_path / "etc" / "tmpfiles.conf").read_text()
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


def _fake_sysfs(root, pool):
    """A sysfs tree with what the role reads: CPUs, one NUMA node, the 2 MiB pool, vfio-pci and two NICs."""
    (root / "devices/system/cpu").mkdir(parents=True)
    (root / "devices/system/cpu/online").write_text("0-1\n")
    (root / "devices/system/node/node0").mkdir(parents=True)
    pool_dir = root / "kernel/mm/hugepages/hugepages-2048kB"
    pool_dir.mkdir(parents=True)
    (pool_dir / "nr_hugepages").write_text("%d\n" % pool)
    (root / "bus/pci/drivers/vfio-pci").mkdir(parents=True)
    # 0000:00:09.0's netdev is enslaved to the bridge carrying the default IPv6 route;
    # 0000:00:0a.0's netdev holds the address Ansible connects to
    for nic, netdev in (("0000:00:09.0", "eth9"), ("0000:00:0a.0", "mgmt4")):
        (root / "bus/pci/devices" / nic / "net" / netdev).mkdir(parents=True)
        (root / "bus/pci/devices" / nic / "driver_override").write_text("\n")
        (root / "class/net" / netdev).mkdir(parents=True)
    os.symlink("../mgmt-br", root / "class/net/eth9/upper_mgmt-br")
    return str(root)


def test_dpdk_role_hugepage_readback_and_management_nic(ovs, run_playbook, tmp_path):
    """A sysfs tree under tmp (dpdk_sysfs) with plain files: a pool write sticks, NICs are refused before any write."""
    # the pool is set, read back, and reported changed once
    sysfs = _fake_sysfs(tmp_path / "sys", 100)
    for link in ("mgmt-br", "mgmt4"):   # veth pairs inside the namespace (carrier up)
        ovs.ns.run("ip", "link", "add", link, "type", "veth", "peer", "name", link + "-p")
        ovs.ns.run("ip", "link", "set", link + "-p", "up")
        ovs.ns.run("ip", "link", "set", link, "up")
    ovs.ns.run("ip", "-6", "addr", "add", "2001:db8:9::1/64", "dev", "mgmt-br", "nodad")
    ovs.ns.run("ip", "-6", "route", "add", "default", "via", "2001:db8:9::fe", "dev", "mgmt-br")
    ovs.ns.run("ip", "addr", "add", "198.51.100.9/24", "dev", "mgmt4")
    extra = _vars(ovs, tmp_path, dpdk_sysfs=sysfs, dpdk_nics=["0000:00:09.0", "0000:00:0a.0"], ansible_host="198.51.100.9",
                  dpdk_hugepages_2m=512)
    rc, out = run_playbook(ovs.ns, PLAYBOOK, extra)
    assert (tmp_path / "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages").read_text().strip() == "512"
    assert any("read back" in r["task"] for r in run_playbook.results if r.get("result", {}).get("changed")), out
    # neither NIC is taken: one is under the default IPv6 route's bridge, the other holds ansible_host
    assert rc != 0, out
    assert "0000:00:09.0 carries the management interface mgmt-br (its devices and their masters: eth9 -> mgmt-br" in out, out
    assert "0000:00:0a.0 carries the management interface mgmt4" in out, out
    for nic in ("0000:00:09.0", "0000:00:0a.0"):
        assert (tmp_path / "sys/bus/pci/devices" / nic / "driver_override").read_text() == "\n"
    rc, out = run_playbook(ovs.ns, PLAYBOOK, dict(extra, dpdk_nics=[]))
    assert not any("hugepage" in r["task"] for r in run_playbook.results if r.get("result", {}).get("changed")), out
