# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs module calls inside a network namespace for the property-based tests (test_properties.py).

Started once per test module as ``ip netns exec NS python3 props_worker.py``; it reads one
JSON request per line on stdin and answers one JSON line on stdout, so that hypothesis in the
pytest process can stream thousands of cases without one ansible-playbook per case.

Each case runs the module as a real run does, minus the AnsiballZ wrapper: the parameters
are handed to ansible-core exactly as the controller hands them over (JSON, profile
``legacy``) and the module's own ``main()`` runs, so AnsibleModule validates them with the
module's real argument spec and the engine's converge() runs in-process. Requests:

  {"op": "call", "module": "vm_network", "args": {...}, "check_mode": false}
      -> {"outcome": "ok"|"failed"|"crash", "stage": "argspec"|"engine"|"host",
          "msg": ..., "changed": ..., "traceback": ..., "fingerprint": sha256 of dump()}
  {"op": "dump"} -> {"dump": {...}}   the full state of the namespace (see dump())
  {"op": "sysfs", "root": ..., "emulator": {...}} -> {"ok": true}
      builds an emulated sysfs (tests/sysfs_emulator.py, keyword arguments in "emulator") at
      "root" and routes the backend's writes there through it; from then on dump() also holds
      every file and link of that tree (the hugepages, pci_driver and sriov_pool cases run against it; with an SR-IOV
      PF, its VF table, devlink and the udev rule directory are emulated too)

``stage`` says how far the call got: "argspec" (Ansible's checks, before the module's
code ran), "engine" (in the engine, before any host access) or "host" (the backend was
opened: the host was read, and possibly changed).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import os
import subprocess
import sys
import traceback

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO_ROOT, ".collections"))

from ansible.module_utils import basic  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.hypervisor.networking.plugins.module_utils import entry, persist  # noqa: E402  pylint: disable=wrong-import-position

MODULES = ("vm_network", "vm_interface", "ovs_dpdk_port", "ovs_dpdk_bridge", "ovs_dpdk_global", "hugepages", "pci_driver", "sriov_pool",
           "iommu_info")
SYSCTLS = ("net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding", "net/ipv6/conf/default/forwarding")
# ip -d output the kernel changes by itself (running timers, STP bookkeeping; a bridge's TSO limits follow its ports)
VOLATILE_KEYS = frozenset({
    "tso_max_size", "tso_max_segs",
    "hello_timer", "tcn_timer", "topology_change_timer", "gc_timer", "hold_timer", "message_age_timer",
    "forward_delay_timer", "topology_change", "topology_change_detected", "topology_change_ack", "config_pending",
})
DUMP_COMMANDS = {
    "links_and_addresses": ["ip", "-d", "-j", "addr", "show"],
    "routes4": ["ip", "-j", "-4", "route", "show", "table", "all"],
    "routes6": ["ip", "-j", "-6", "route", "show", "table", "all"],
    "rules": ["ip", "-j", "rule", "show"],
    "nft": ["nft", "-j", "list", "ruleset"],
    "qdiscs": ["tc", "-j", "qdisc", "show"],
    "fdb": ["bridge", "-j", "fdb", "show"],
}


class EmulatedSysfs:
    """The emulated sysfs tree of this worker, if any (op "sysfs")."""
    emulator = None


class _Patcher:  # what SysfsEmulator.install() needs of pytest's monkeypatch
    @staticmethod
    def setattr(target, name, value):
        setattr(target, name, value)


def emulate_sysfs(root, options):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from sysfs_emulator import SysfsEmulator  # pylint: disable=import-outside-toplevel
    options = dict(options)
    for key in ("pools", "capacity"):  # JSON keys are strings
        options[key] = {int(kb): value for kb, value in options.get(key, {}).items()}
    emulator = SysfsEmulator(root, **options)
    if emulator.sriov:  # an SR-IOV PF: its VF table (netlink), devlink and the udev rule directory are emulated too
        EmulatedSysfs.emulator = emulator.install_sriov(_Patcher())
    else:
        EmulatedSysfs.emulator = emulator.install(_Patcher())


class Stages:
    """How far the current call got; set by the wrappers installed in instrument()."""
    engine = False
    host = False


def instrument(modules):
    """Mark when a call enters the engine and when it opens the host's backend."""
    for module in modules.values():
        # entry.run (every engine module), or engine.run_module; iommu_info has neither (it reads, and is "argspec" throughout)
        for name in ("run", "run_module"):
            if not hasattr(module, name):
                continue

            def run(*args, _real=getattr(module, name), **kwargs):
                Stages.engine = True
                return _real(*args, **kwargs)
            setattr(module, name, run)
    # on the classes, for every backend's resource (sriov_pool makes a libvirt network resource of its own)
    for resource_class in {type(resource) for resource in entry.ALL_RESOURCES}:
        real_open = resource_class.open_backend

        def open_backend(self, *args, _real=real_open, **kwargs):
            Stages.host = True
            return _real(self, *args, **kwargs)
        resource_class.open_backend = open_backend


def call(modules, module_name, args, check_mode):
    params = dict(args)
    params.update({"_ansible_check_mode": bool(check_mode), "_ansible_diff": False, "_ansible_module_name": module_name,
                   "_ansible_verbosity": 0})
    # what the controller sends (json.dumps writes inf/nan as Infinity/NaN, as a YAML .inf arrives)
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": params}).encode()  # pylint: disable=protected-access
    basic._ANSIBLE_PROFILE = "legacy"  # pylint: disable=protected-access
    Stages.engine = Stages.host = False
    out = io.StringIO()
    answer = {}
    try:
        with contextlib.redirect_stdout(out):
            modules[module_name].main()
        answer = {"outcome": "crash", "traceback": "main() returned without exit_json or fail_json"}
    except SystemExit:
        text = out.getvalue().strip().splitlines()
        try:
            result = json.loads(text[-1])
        except (IndexError, ValueError):
            answer = {"outcome": "crash", "traceback": "no JSON result on stdout: %r" % out.getvalue()[-2000:]}
        else:
            if result.get("failed"):
                crashed = "exception" in result or "internal error" in str(result.get("msg"))
                answer = {"outcome": "crash" if crashed else "failed", "msg": str(result.get("msg")),
                          "traceback": result.get("exception")}
            else:
                answer = {"outcome": "ok", "changed": result.get("changed"), "msg": str(result.get("msg", ""))}
    except BaseException:  # pylint: disable=broad-except  # anything else is what a user sees as MODULE FAILURE
        answer = {"outcome": "crash", "traceback": traceback.format_exc()}
    answer["stage"] = "host" if Stages.host else "engine" if Stages.engine else "argspec"
    return answer


def _strip(value):
    if isinstance(value, dict):
        return {key: _strip(item) for key, item in value.items() if key not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_strip(item) for item in value]
    return value


def _processes():
    """(pid, command line) of every process in this namespace but this worker."""
    own = os.stat("/proc/self/ns/net").st_ino
    found = []
    for entry_name in os.listdir("/proc"):
        if not entry_name.isdigit() or int(entry_name) == os.getpid():
            continue
        try:
            if os.stat("/proc/%s/ns/net" % entry_name).st_ino != own:
                continue
            with open("/proc/%s/cmdline" % entry_name, "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        found.append([int(entry_name), cmdline])
    return sorted(found)


def state_dirs(ns):
    """Every place the collection keeps state for namespace `ns` (persist.Layout knows them), the previous layout's too."""
    layout = persist.Layout(ns)
    return [layout.persistent, layout.runtime, layout.legacy_bundle, layout.legacy_services_dir] + sorted(
        set(layout.legacy_dnsmasq_dirs.values()))


def _files(ns):
    """Every state file of the collection for this namespace: path -> content (or its digest)."""
    found = {}
    for top in state_dirs(ns):
        for directory, _dirs, names in os.walk(top):
            found[directory] = "<dir>"
            for name in names:
                path = os.path.join(directory, name)
                try:
                    with open(path, "rb") as handle:
                        content = handle.read()
                except OSError as exc:
                    content = ("<unreadable: %s>" % exc).encode()
                try:
                    found[path] = content.decode() if len(content) < 65536 else hashlib.sha256(content).hexdigest()
                except UnicodeDecodeError:
                    found[path] = hashlib.sha256(content).hexdigest()
    return found


def dump(ns):
    state = {}
    for key, argv in DUMP_COMMANDS.items():
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        try:
            state[key] = _strip(json.loads(proc.stdout)) if proc.stdout.strip() else []
        except ValueError:
            state[key] = proc.stdout
    sysctls = {}
    for name in SYSCTLS:
        with open("/proc/sys/" + name) as handle:
            sysctls[name] = handle.read().strip()
    state["sysctl"] = sysctls
    state["processes"] = _processes()
    state["files"] = _files(ns)
    if EmulatedSysfs.emulator is not None:
        emulator = EmulatedSysfs.emulator
        state["sysfs"] = emulator.dump()
        if emulator.sriov:  # what the emulated PF driver keeps outside sysfs
            state["sriov"] = {"vf_table": emulator.vf_table, "eswitch": {address: spec["eswitch"] for address, spec in emulator.sriov.items()}}
    return state


def fingerprint(state):
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def main():
    ns = persist.current_netns_name()
    if not ns:
        sys.stderr.write("props_worker: must run inside a named network namespace (ip netns exec NS ...)\n")
        return 2
    modules = {name: importlib.import_module("ansible_collections.hypervisor.networking.plugins.modules." + name) for name in MODULES}
    instrument(modules)
    protocol = sys.stdout
    sys.stdout = sys.stderr  # nothing but answers on the protocol stream
    protocol.write(json.dumps({"ready": ns}) + "\n")
    protocol.flush()
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "call":
            answer = call(modules, request["module"], request["args"], request.get("check_mode", False))
            if request.get("fingerprint", True):
                answer["fingerprint"] = fingerprint(dump(ns))
        elif request["op"] == "sysfs":
            emulate_sysfs(request["root"], request.get("emulator", {}))
            answer = {"ok": True}
        elif request["op"] == "dump":
            answer = {"dump": dump(ns)}
        else:
            answer = {"error": "unknown op %r" % request["op"]}
        protocol.write(json.dumps(answer) + "\n")
        protocol.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
