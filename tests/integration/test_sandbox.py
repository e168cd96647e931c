# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sandbox module (behind playbooks sandbox_create / sandbox_destroy).

It runs in the root namespace, as on a controller, and only creates namespaces
named after its prefix (hvt-...), veths made inside them, and a marked user.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import uuid

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.persist import Layout

from netns import Netns, ping

USER = "hvt-sb-vmm"


def _sandbox(ansible_runner, tmp_path, args, check=False):
    """Run hypervisor.networking.sandbox on localhost with the controller's Python."""
    result_file = str(tmp_path / f"sandbox-{uuid.uuid4().hex[:6]}.jsonl")
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-i", "localhost,", "-c", "local",
            "-e", f"ansible_python_interpreter={sys.executable}",
            "-m", "hypervisor.networking.sandbox", "-a", json.dumps(args)]
    if check:
        argv.append("--check")
    proc = subprocess.run(argv, env=ansible_runner.env(result_file), capture_output=True, text=True,
                          timeout=120, check=False)
    with open(result_file, encoding="utf-8") as handle:
        results = [json.loads(line) for line in handle if line.strip()]
    assert results, proc.stdout + proc.stderr
    return results[-1]["result"]


def _namespaces(prefix):
    return sorted(name for name in os.listdir("/run/netns") if name.startswith(prefix))


def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture(name="sandbox")
def sandbox_fixture(ansible_runner, tmp_path):
    """Runs the module; the sandbox is removed at teardown, even when the test fails."""
    directory = str(tmp_path / "sb")
    prefix = f"hvt-sb{uuid.uuid4().hex[:4]}-"

    def run(args, check=False):
        return _sandbox(ansible_runner, tmp_path, dict({"directory": directory, "prefix": prefix}, **args), check)

    run.directory, run.prefix = directory, prefix
    yield run
    run({"state": "absent"})
    assert not _namespaces(prefix)


PLATFORMS = [
    {"name": "hv1", "groups": ["hypervisors"],
     "uplinks": [{"name": "eno1", "addresses": ["198.51.100.11/24", "2001:db8:5b::11/64"],
                  "gateway": "198.51.100.1", "gateway6": "2001:db8:5b::1"}],
     "vms": [{"name": "vm1", "port": "vnet0", "addresses": ["203.0.113.10/24"], "mac": "52:54:00:5b:00:01"}],
     "users": [USER]},
    {"name": "hv2", "uplinks": [{"name": "eno1", "addresses": ["198.51.100.12/24"], "gateway": "198.51.100.1"}]},
]


def test_bad_values_are_all_named_and_nothing_is_made(sandbox):
    result = sandbox({"platforms": [
        {"name": "hv1", "uplinks": [{"name": "an-uplink-name-too-long", "addresses": ["198.51.100.11"],
                                     "gateway": "203.0.113.1"}],
         "vms": [{"name": "vm1", "port": "vnet0", "mac": "nope"}], "users": ["Bad User"]}]})
    assert result["failed"]
    for field in ("platforms[0].uplinks[0].name", "platforms[0].uplinks[0].addresses[0]",
                  "platforms[0].uplinks[0].gateway", "platforms[0].vms[0].mac", "platforms[0].users[0]"):
        assert field in result["msg"]
    assert not _namespaces(sandbox.prefix)
    assert not os.path.exists(sandbox.directory)


def test_hosts_look_like_hypervisors_and_destroy_leaves_nothing(sandbox):
    assert not _user_exists(USER)
    result = sandbox({"platforms": PLATFORMS})
    assert result["changed"] and not result["failed"], result
    hv1, hv2 = Netns(sandbox.prefix + "hv1"), Netns(sandbox.prefix + "hv2")
    vm1, upstream = Netns(sandbox.prefix + "_hv1_vm1"), Netns(sandbox.prefix + "_upstream")
    assert _namespaces(sandbox.prefix) == sorted(ns.name for ns in (hv1, hv2, vm1, upstream))
    assert hv1.link("lo")["operstate"] == "UNKNOWN" and "UP" in hv1.link("lo")["flags"]
    assert {"198.51.100.11/24", "2001:db8:5b::11/64"} <= set(hv1.addresses("eno1"))
    defaults = [(r["family"], r["gateway"]) for r in hv1.routes() if r["dst"] == "default"]
    assert defaults == [("inet", "198.51.100.1"), ("inet6", "2001:db8:5b::1")]
    assert ping(hv1, "198.51.100.1") and ping(hv1, "198.51.100.12") and ping(hv1, "2001:db8:5b::1")
    assert vm1.link("eth0")["address"] == "52:54:00:5b:00:01" and hv1.link("vnet0") is not None
    assert pwd.getpwnam(USER).pw_gecos.endswith(sandbox.prefix)
    with open(os.path.join(sandbox.directory, "python-hv1"), encoding="utf-8") as handle:
        assert handle.read() == f'#!/bin/sh\nexec ip netns exec {hv1.name} {sys.executable} "$@"\n'
    assert result["instances"][0]["vms"] == {"vm1": vm1.name}

    assert sandbox({"platforms": PLATFORMS})["changed"] is False

    # Saved state of a namespace, and a process inside it, as a module run would leave them.
    state_dir = Layout(hv1.name).persistent
    os.makedirs(state_dir)
    sleeper = hv1.popen("sleep", "60")
    checked = sandbox({"state": "absent"}, check=True)
    assert checked["changed"] and os.path.isdir(state_dir) and hv1.exists() and sleeper.poll() is None

    removed = sandbox({"state": "absent"})
    assert removed["changed"]
    assert sleeper.wait(timeout=10) is not None
    assert not _namespaces(sandbox.prefix) and not os.path.exists(state_dir) and not _user_exists(USER)
    assert os.listdir(sandbox.directory) == []
    assert sandbox({"state": "absent"})["changed"] is False


def test_destroy_finds_what_a_killed_run_left(sandbox):
    # No sandbox.json: only names tell what belongs to the sandbox.
    left = Netns(sandbox.prefix + "hv1")
    subprocess.run(["ip", "netns", "add", left.name], check=True)
    run_dir = Layout(left.name).runtime
    os.makedirs(run_dir)
    other = Netns.create("sb-other")
    try:
        result = sandbox({"state": "absent"})
        assert result["changed"] and f"namespace {left.name}" in result["removed"]
        assert not left.exists() and not os.path.exists(run_dir)
        assert other.exists()  # another sandbox's (or test's) namespace is not ours
    finally:
        other.destroy()


def test_a_failure_while_building_removes_what_was_made(sandbox):
    # Valid input the kernel refuses only when asked: a multicast MAC on the second host's NIC.
    platforms = [dict(PLATFORMS[0]), {"name": "hv2", "uplinks": [{"name": "eno1", "mac": "01:00:5e:00:00:01"}]}]
    result = sandbox({"platforms": platforms})
    assert result["failed"] and "removed again" in result["msg"], result
    assert not _namespaces(sandbox.prefix) and not _user_exists(USER)
    assert not os.path.exists(os.path.join(sandbox.directory, "sandbox.json"))
