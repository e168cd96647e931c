# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ovs_dpdk_global and ovs_dpdk_bridge against a real OVS-DPDK (private ovsdb-server + ovs-vswitchd-dpdk).

The real modules run inside the test namespace; what they did is read back with ovs-vsctl.
The fixture's ovs-vswitchd keeps running with the keys it started with: a key that needs a
restart is only written and reported (restart_required), as the module promises.
"""

from __future__ import annotations

OWNER = "hypervisor-networking-owner"


def _run(run_module, ovs, module, config, state="merged", check=False, diff=False, **params):
    args = {"config": config, "state": state, "persist": False, "database": ovs.database}
    args.update(params)
    return run_module(ovs.ns, module, args, check=check, diff=diff)


def _ok(result):
    assert not result.get("failed"), result.get("msg")
    return result


def _other_config(ovs):
    return ovs.vsctl_json("--columns=other_config", "list", "Open_vSwitch")[0]["other_config"]


def test_global_keys_restart_reporting_check_mode_and_idempotence(ovs, run_module):
    start = _other_config(ovs)
    assert start["pmd-cpu-mask"] == "0x2"
    before = ovs.dump(), start
    result = _ok(_run(run_module, ovs, "ovs_dpdk_global", {"pmd_maxsleep": 5000, "other_config": {"emc-insert-inv-prob": "0"}},
                      check=True, diff=True))
    assert result["changed"] and result["restart_required"] is False
    assert (ovs.dump(), _other_config(ovs)) == before, "check mode changed OVSDB"

    result = _ok(_run(run_module, ovs, "ovs_dpdk_global", {"pmd_maxsleep": 5000, "other_config": {"emc-insert-inv-prob": "0"}}, diff=True))
    assert result["changed"] and result["restart_required"] is False, "pmd-maxsleep and emc keys apply at runtime"
    config = _other_config(ovs)
    assert config["pmd-maxsleep"] == "5000" and config["emc-insert-inv-prob"] == "0"
    assert {k: v for k, v in config.items() if k not in ("pmd-maxsleep", "emc-insert-inv-prob")} == \
        {k: v for k, v in start.items() if k != "pmd-maxsleep"}, "merged leaves the other keys"
    assert result["diff"]["before"]["Open_vSwitch"]["pmd_maxsleep"] == 10000
    assert result["diff"]["after"]["Open_vSwitch"]["pmd_maxsleep"] == 5000
    assert _ok(_run(run_module, ovs, "ovs_dpdk_global", {"pmd_maxsleep": 5000}))["changed"] is False

    # a key DPDK reads at start: written, and the restart is reported, not done
    result = _ok(_run(run_module, ovs, "ovs_dpdk_global", {"socket_limit": [1024], "pmd_cores": [1], "lcore_cores": [0]}))
    assert result["restart_required"] is True and result["restart_reasons"] == ["dpdk-socket-limit changes"], result
    assert _other_config(ovs)["dpdk-socket-limit"] == "1024"
    gathered = _ok(_run(run_module, ovs, "ovs_dpdk_global", None, state="gathered"))["gathered"]
    assert gathered[0]["socket_limit"] == [1024] and gathered[0]["pmd_cores"] == [1] and gathered[0]["dpdk_init"] is True

    # replaced: typed keys not given are removed; other_config keys only when given with null
    full = {"dpdk_init": True, "lcore_cores": [0], "pmd_cores": [1], "socket_mem": [512], "socket_limit": [512],
            "dpdk_extra": start["dpdk-extra"], "vhost_sock_dir": "vhost", "per_port_memory": True, "hugepage_dir": start["dpdk-hugepage-dir"],
            "other_config": {"emc-insert-inv-prob": None}}
    result = _ok(_run(run_module, ovs, "ovs_dpdk_global", full, state="replaced"))
    config = _other_config(ovs)
    assert "pmd-maxsleep" not in config and "emc-insert-inv-prob" not in config and config["dpdk-socket-limit"] == "512"
    assert result["restart_required"] is True


def test_global_refusals_change_nothing(ovs, run_module):
    before = _other_config(ovs)
    bad = {"lcore_cores": [0, 1], "pmd_cores": [1], "vhost_sock_dir": "../x", "other_config": {"dpdk-init": "false"}}
    result = _run(run_module, ovs, "ovs_dpdk_global", bad)
    assert result["failed"]
    for expected in ("config.pmd_cores: core(s) 1 are also in lcore_cores", "config.vhost_sock_dir: '../x'",
                     "config.other_config.dpdk-init: is managed by dpdk_init"):
        assert expected in result["msg"], result["msg"]
    assert _other_config(ovs) == before


def test_bridge_lifecycle_ownership_and_refusals(ovs, run_module):
    result = _ok(_run(run_module, ovs, "ovs_dpdk_bridge", [{"name": "br-dpdk", "fail_mode": "secure"}], check=True))
    assert result["changed"] and ovs.vsctl_json("list", "Bridge") == []
    result = _ok(_run(run_module, ovs, "ovs_dpdk_bridge", [{"name": "br-dpdk", "fail_mode": "secure",
                                                            "other_config": {"hwaddr": "52:54:00:00:00:0a"}}], diff=True))
    assert result["changed"] and result["diff"]["after"]["br-dpdk"]["fail_mode"] == "secure"
    row = ovs.vsctl_json("list", "Bridge", "br-dpdk")[0]
    assert row["datapath_type"] == "netdev" and row["fail_mode"] == "secure"
    assert row["external_ids"] == {OWNER: "ovs_dpdk_bridge"} and row["other_config"] == {"hwaddr": "52:54:00:00:00:0a"}
    assert ovs.interface("br-dpdk")["ofport"] == 65534 and ovs.interface("br-dpdk")["error"] == []
    assert _ok(_run(run_module, ovs, "ovs_dpdk_bridge", [{"name": "br-dpdk", "fail_mode": "secure"}]))["changed"] is False

    # replaced: fail_mode back to OVS's default; other_config keys only when given
    _ok(_run(run_module, ovs, "ovs_dpdk_bridge", [{"name": "br-dpdk"}], state="replaced"))
    row = ovs.vsctl_json("list", "Bridge", "br-dpdk")[0]
    assert row["fail_mode"] == [] and row["other_config"] == {"hwaddr": "52:54:00:00:00:0a"}

    # a bridge made by hand is refused, a kernel-datapath one always, adopt takes a netdev one over
    ovs.vsctl("add-br", "br-hand", "--", "set", "Bridge", "br-hand", "datapath_type=netdev")
    ovs.vsctl("add-br", "br-sys")
    result = _run(run_module, ovs, "ovs_dpdk_bridge", [{"name": "br-hand"}, {"name": "br-sys"}])
    assert result["failed"]
    assert "config[0].name: OVS bridge br-hand already exists and was not created by hypervisor.networking" in result["msg"]
    assert "config[1].name: OVS bridge br-sys already exists with datapath_type system" in result["msg"]
    _ok(_run(run_module, ovs, "ovs_dpdk_bridge", [{"name": "br-hand"}], adopt=True))
    assert ovs.vsctl_json("list", "Bridge", "br-hand")[0]["external_ids"] == {OWNER: "ovs_dpdk_bridge"}

    # a bridge with a port is not removed; without, it is; a bridge not ours never
    ovs.vsctl("add-port", "br-dpdk", "null0", "--", "set", "Interface", "null0", "type=dpdk", "options:dpdk-devargs=net_null0")
    result = _run(run_module, ovs, "ovs_dpdk_bridge", [], state="deleted")
    assert result["failed"] and "OVS bridge br-dpdk still has ports null0; remove them first" in result["msg"], result["msg"]
    assert sorted(row["name"] for row in ovs.vsctl_json("--columns=name", "list", "Bridge")) == ["br-dpdk", "br-hand", "br-sys"]
    ovs.vsctl("del-port", "br-dpdk", "null0")
    result = _ok(_run(run_module, ovs, "ovs_dpdk_bridge", [], state="deleted"))
    assert result["changed"]
    assert [row["name"] for row in ovs.vsctl_json("--columns=name", "list", "Bridge")] == ["br-sys"]
    assert _ok(_run(run_module, ovs, "ovs_dpdk_bridge", [], state="deleted"))["changed"] is False


def test_bridge_ovs_cannot_bring_up_rolls_back_the_whole_call(ovs, run_module):
    """A kernel link already holds the name the bridge's internal (tap) interface needs: OVS reports an
    error on that interface; the call fails with OVS's text and no bridge of the call is left."""
    ovs.ns.run("ip", "link", "add", "br-clash", "type", "veth", "peer", "name", "br-clash-p")
    before = ovs.dump()
    result = _run(run_module, ovs, "ovs_dpdk_bridge", [{"name": "br-ok"}, {"name": "br-clash"}])
    assert result["failed"], result
    assert "br-clash" in result["msg"] and "rolled back 1 of 1 applied changes" in result["msg"], result["msg"]
    assert ovs.dump() == before
