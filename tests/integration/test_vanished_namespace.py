# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A named namespace deleted (`ip netns delete`) before its objects were: any later changing run
of any module, in another namespace, plans the removal of its runtime files; a live namespace's
files and the vanished namespace's saved intent are never touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/sbin/dnsmasq"), reason="needs dnsmasq-base")

NAT = {"name": "natleft", "bridge": {"name": "br-left", "stp": False}, "forward": {"mode": "nat"},
       "ips": [{"address": "198.51.100.1/24", "dhcp": {"ranges": [{"start": "198.51.100.100", "end": "198.51.100.110"}]}}]}
SAVED = {"name": "keptnet", "bridge": {"name": "br-kept", "stp": False}, "ips": [{"address": "203.0.113.1/24"}]}


def _contents(ns):
    """{path: bytes} of the namespace's files in both roots."""
    found = {}
    for path in nh.scope_files(ns):
        with open(path, "rb") as handle:
            found[path] = handle.read()
    return found


def _removal(name):
    return "remove the runtime files of network namespace %s, which no longer exists (its saved intent, if any, is kept)" % name


def _dnsmasq_running(ns):
    for pid in ns.pids():
        try:
            with open("/proc/%d/comm" % pid, encoding="utf-8") as handle:
                if handle.read().strip() == "dnsmasq":
                    return True
        except OSError:
            continue
    return False


def test_runtime_files_of_a_vanished_namespace_are_removed_by_the_next_run(netns_factory, run_module):
    gone, live, other = netns_factory("gone"), netns_factory("live"), netns_factory("other")
    try:
        nh.assert_ok(run_module(gone, "vm_network", {"config": [NAT], "persist": False}))
        nh.assert_ok(run_module(gone, "vm_network", {"config": [SAVED]}))  # persist: true, saved intent
        nh.assert_ok(run_module(live, "vm_network", {"config": [NAT], "persist": False}))
        assert _dnsmasq_running(gone) and _dnsmasq_running(live)
        assert os.path.isdir(nh.runtime_dir(gone)) and os.path.exists(nh.intent_file(gone, "vm_network"))

        # the namespace goes without a `state: deleted` run, as at a container teardown: its
        # processes end first, then its name
        gone.kill_processes()
        subprocess.run(["ip", "netns", "delete", gone.name], check=True, timeout=30)
        left, live_files = _contents(gone), _contents(live)
        assert any(path.startswith(nh.runtime_dir(gone) + os.sep) for path in left)

        # check mode, in another namespace, of a module that has nothing to do there: reported, nothing changed
        checked = nh.assert_ok(run_module(other, "vm_interface", {"state": "deleted", "persist": False}, check=True, diff=True))
        assert checked["changed"] is True and _removal(gone.name) in checked["commands"]
        assert not any(live.name in command for command in checked["commands"])
        assert gone.name in checked["diff"]["before"]["runtime files of vanished network namespaces"]
        assert checked["diff"]["after"]["runtime files of vanished network namespaces"] == []
        assert _contents(gone) == left and _contents(live) == live_files

        # the real run removes the runtime directory only
        result = nh.assert_ok(run_module(other, "vm_interface", {"state": "deleted", "persist": False}))
        assert result["changed"] is True and _removal(gone.name) in result["commands"]
        assert not os.path.exists(nh.runtime_dir(gone))
        kept = {path: data for path, data in left.items() if path.startswith(nh.state_dir(gone) + os.sep)}
        assert kept and _contents(gone) == kept  # the saved intent stays, for a later restore
        assert _contents(live) == live_files and _dnsmasq_running(live)

        again = nh.assert_ok(run_module(other, "vm_interface", {"state": "deleted", "persist": False}))
        assert not any(gone.name in command or live.name in command for command in again["commands"])
        assert nh.link_names(other) == ["lo"]
    finally:
        nh.remove_state_dir(gone)


def test_a_vanished_namespace_whose_dnsmasq_still_runs_keeps_its_files(netns_factory, run_module):
    """`ip netns delete` with dnsmasq still in it: the namespace lives on, unnamed, and dnsmasq uses the files."""
    gone, other = netns_factory("gone"), netns_factory("other")
    pids = []
    try:
        nh.assert_ok(run_module(gone, "vm_network", {"config": [NAT], "persist": False}))
        pids = gone.pids()
        assert pids
        subprocess.run(["ip", "netns", "delete", gone.name], check=True, timeout=30)
        left = _contents(gone)
        result = nh.assert_ok(run_module(other, "vm_interface", {"state": "deleted", "persist": False}))
        assert not any(gone.name in command for command in result["commands"])
        assert _contents(gone) == left
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        nh.remove_state_dir(gone)
