# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Self-tests of the test harness (tests/netns.py + tests/integration/conftest.py).

They use only ansible.builtin modules, so they run before any
hypervisor.networking module exists.
"""

from __future__ import annotations

import json
import subprocess
import time

from netns import BASELINE_SYSCTLS, Netns, list_namespaces, ping, veth


def _root_links():
    out = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True, check=True).stdout
    return {link["ifname"] for link in json.loads(out)}


def test_netns_lifecycle():
    ns = Netns.create("life")
    assert ns.name.startswith("hvt-life-")
    assert ns.name in list_namespaces()
    assert ns.link("lo")["operstate"] in ("UNKNOWN", "UP")
    sleeper = ns.popen("sleep", "300")
    # `ip netns exec` joins the namespace just after it starts: poll, bounded.
    deadline = time.monotonic() + 5
    while sleeper.pid not in ns.pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleeper.pid in ns.pids()
    ns.destroy()
    assert sleeper.wait(timeout=10) != 0
    assert not ns.exists()
    ns.destroy()  # second call is a no-op


def test_veth_and_ping(netns_factory):
    hv = netns_factory("hv")
    vm = netns_factory("vm")
    veth(hv, "hvt0", vm, "eth0")
    hv.run("ip", "addr", "add", "198.51.100.1/24", "dev", "hvt0")
    vm.run("ip", "addr", "add", "198.51.100.2/24", "dev", "eth0")
    hv.run("ip", "-6", "addr", "add", "2001:db8:1::1/64", "dev", "hvt0", "nodad")
    vm.run("ip", "-6", "addr", "add", "2001:db8:1::2/64", "dev", "eth0", "nodad")
    assert "198.51.100.1/24" in hv.addresses("hvt0")
    assert hv.link("hvt0")["linkinfo"]["info_kind"] == "veth"
    assert vm.link("eth0") is not None
    assert hv.link("eth0") is None
    assert "hvt0" not in _root_links()
    assert any(r.get("dst") == "198.51.100.0/24" for r in hv.routes())
    assert ping(vm, "198.51.100.1", count=1, timeout=5)
    assert ping(vm, "2001:db8:1::1", count=1, timeout=5)
    assert not ping(vm, "203.0.113.1", count=1, timeout=1)


def test_bridge_ports(hv_ns, netns_factory):
    vm = netns_factory("vm")
    hv_ns.run("ip", "link", "add", "br-hvt", "type", "bridge")
    veth(hv_ns, "vnet0", vm, "eth0")
    hv_ns.run("ip", "link", "set", "vnet0", "master", "br-hvt")
    ports = hv_ns.bridge_ports()
    assert [(p["ifname"], p["master"]) for p in ports] == [("vnet0", "br-hvt")]


def test_run_module_sees_namespace(hv_ns, netns_factory, run_module):
    peer = netns_factory("peer")
    veth(hv_ns, "hvtveth0", peer, "hvtveth1")
    result = run_module(hv_ns, "ansible.builtin.command", {"argv": ["ip", "-j", "link", "show"]})
    assert result["changed"] is True
    assert result["rc"] == 0
    names = {link["ifname"] for link in json.loads(result["stdout"])}
    assert names == {"lo", "hvtveth0"}
    assert "hvtveth0" not in _root_links()
    assert "hvtveth1" not in _root_links()


def test_run_module_failure_and_check_mode(hv_ns, run_module):
    failed = run_module(hv_ns, "ansible.builtin.command", {"argv": ["false"]})
    assert failed["failed"] is True
    assert failed["rc"] == 1
    assert "msg" in failed
    checked = run_module(hv_ns, "ansible.builtin.command", {"argv": ["true"]}, check=True)
    assert checked["failed"] is False
    assert checked["changed"] is False
    assert "check mode" in checked["msg"]


def test_run_module_diff(hv_ns, run_module, tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("old\n", encoding="utf-8")
    result = run_module(
        hv_ns, "ansible.builtin.copy", {"dest": str(target), "content": "new\n"}, check=True, diff=True
    )
    assert result["changed"] is True
    assert result["diff"]
    assert target.read_text(encoding="utf-8") == "old\n"


def test_run_playbook(hv_ns, run_playbook, tmp_path):
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: all\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.command: ip -j link show\n"
        "      register: out\n"
        "      changed_when: false\n"
        "    - ansible.builtin.assert:\n"
        "        that: (out.stdout | from_json | map(attribute='ifname') | list) == [wanted]\n",
        encoding="utf-8",
    )
    rc, out = run_playbook(hv_ns, playbook, {"wanted": "lo"})
    assert rc == 0, out
    assert [r["status"] for r in run_playbook.results] == ["ok", "ok"]
    rc, out = run_playbook(hv_ns, playbook, {"wanted": "eth0"})
    assert rc != 0
    assert run_playbook.results[-1]["status"] == "failed"


def test_namespaces_start_from_the_baseline_whatever_they_inherit(hostile_root, monkeypatch):
    """The inheritance simulation is real (without the baseline a namespace keeps the hostile
    values), and the baseline undoes it; only namespaces of ours are written."""
    with Netns.create("inherit") as ns:
        for key, value in BASELINE_SYSCTLS:
            assert ns.sysctl(key) == value, key
    monkeypatch.setattr(Netns, "baseline", ())
    with Netns.create("inherit") as ns:
        for key, value in hostile_root:
            assert ns.sysctl(key) == value, key
