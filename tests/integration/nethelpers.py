# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel-state helpers shared by the integration tests of vm_interface / vm_network.

Everything here reads what iproute2 reports inside a namespace (``ip -d -j link``,
``ip -j addr``, ``ip -j route``, ``bridge -d -j link``); the tests assert on that,
not only on what a module returned.

Import from a test file with::

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import nethelpers as nh
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap

from netns import Netns

MARK_PREFIX = "hypervisor.networking/"
IFACE_MARK = "hypervisor.networking/vm_interface"
NETWORK_MARK = "hypervisor.networking/vm_network"
# The layout of docs/state-and-recovery.md: one persistent and one runtime directory per scope.
PERSISTENT_ROOT = "/var/lib/hypervisor-networking"
RUNTIME_ROOT = "/run/hypervisor-networking"
LEGACY_STATE_ROOT = "/etc/hypervisor-networking"


def restore_program(netns):
    """The restore program persistence installed for namespace `netns` (in its persistent dir)."""
    return os.path.join(PERSISTENT_ROOT, "netns", str(netns), "restore", "restore")


# Fields of `ip -d -j link` / `bridge -d -j link` that the kernel changes by itself
# (running timers, STP port state and topology bookkeeping); everything else must stay
# identical across an idempotent run.
VOLATILE_KEYS = frozenset({
    "hello_timer", "tcn_timer", "topology_change_timer", "gc_timer", "hold_timer",
    "message_age_timer", "forward_delay_timer", "topology_change", "topology_change_detected",
    "topology_change_ack", "config_pending",
})


def _strip(value, drop=VOLATILE_KEYS):
    if isinstance(value, dict):
        return {k: _strip(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [_strip(v, drop) for v in value]
    return value


def _json(ns, *argv):
    out = ns.run(*argv).stdout.strip()
    return json.loads(out) if out else []


# ---- raw-ish dumps ----------------------------------------------------------------------
def link_dump(ns):
    """`ip -d -j link show` without running timers; port STP state removed."""
    links = _strip(_json(ns, "ip", "-d", "-j", "link", "show"))
    for link in links:
        slave = (link.get("linkinfo") or {}).get("info_slave_data")
        if slave:
            slave.pop("state", None)
    return links


def _key(item):
    return json.dumps(item, sort_keys=True)


def addr_dump(ns):
    """`ip -j addr show`; each link's addresses in a fixed order (the kernel lists by age)."""
    entries = _json(ns, "ip", "-j", "addr", "show")
    for entry in entries:
        entry["addr_info"] = sorted(entry.get("addr_info", []), key=_key)
    return entries


def route_dump(ns):
    """All routes of all tables, in a fixed order."""
    return {
        "v4": sorted(_json(ns, "ip", "-4", "-j", "route", "show", "table", "all"), key=_key),
        "v6": sorted(_json(ns, "ip", "-6", "-j", "route", "show", "table", "all"), key=_key),
    }


def bridge_dump(ns):
    ports = _strip(_json(ns, "bridge", "-d", "-j", "link", "show"))
    for port in ports:
        port.pop("state", None)
    return ports


def kernel_state(ns):
    """Everything the rules compare: links, addresses, routes, bridge ports."""
    return {"links": link_dump(ns), "addrs": addr_dump(ns), "routes": route_dump(ns), "ports": bridge_dump(ns)}


# ---- single facts -----------------------------------------------------------------------
def link(ns, name):
    """`ip -d -j link show dev NAME` entry or None."""
    return ns.link(name)


def link_names(ns):
    return sorted(entry["ifname"] for entry in _json(ns, "ip", "-j", "link", "show"))


def ifindex(ns, name):
    entry = ns.link(name)
    assert entry is not None, "%s does not exist in %s" % (name, ns)
    return entry["ifindex"]


def info_kind(entry):
    return (entry.get("linkinfo") or {}).get("info_kind")


def info_data(entry):
    return (entry.get("linkinfo") or {}).get("info_data") or {}


def marked_links(ns, kind=None):
    """Names of links carrying the collection's mark (optionally of one module kind)."""
    prefix = MARK_PREFIX + kind if kind else MARK_PREFIX
    return sorted(entry["ifname"] for entry in _json(ns, "ip", "-j", "link", "show")
                  if (entry.get("ifalias") or "").startswith(prefix))


def global_addrs(ns, dev):
    """{"addr/prefix"} of scope global on dev."""
    return {"%s/%s" % (a["local"], a["prefixlen"]) for a in ns.address_info(dev) if a.get("scope") == "global"}


def brport(ns, name):
    for port in ns.bridge_ports():
        if port["ifname"] == name:
            return port
    return None


def default_routes(ns):
    """[(family, gateway, dev)] of the main table's default routes."""
    return sorted((r["family"], r.get("gateway"), r.get("dev")) for r in ns.routes() if r.get("dst") == "default")


# ---- module results ---------------------------------------------------------------------
def assert_ok(result):
    assert not result.get("failed"), "module failed: %s" % result.get("msg")
    return result


def assert_unchanged_run(result):
    """An idempotent run: ok, changed false, no commands."""
    assert_ok(result)
    assert result["changed"] is False, "expected no change, plan was: %s" % result.get("commands")
    assert result.get("commands", []) == []


def assert_failed(result, *fragments):
    assert result.get("failed") is True, "expected failure, got %s" % json.dumps(result, indent=1)[:2000]
    msg = result.get("msg", "")
    for fragment in fragments:
        assert fragment in msg, "%r not in message: %s" % (fragment, msg)
    return msg


# ---- persistence ------------------------------------------------------------------------
def state_dir(ns):
    """The namespace's persistent directory (saved intent, restore bundle, leases)."""
    name = ns.name if isinstance(ns, Netns) else str(ns)
    return os.path.join(PERSISTENT_ROOT, "netns", name)


def runtime_dir(ns):
    """The namespace's runtime directory (dnsmasq config and pid, service record, fingerprints)."""
    name = ns.name if isinstance(ns, Netns) else str(ns)
    return os.path.join(RUNTIME_ROOT, "netns", name)


def intent_file(ns, kind):
    return os.path.join(state_dir(ns), "intent", kind + ".json")


def scope_files(ns):
    """Every file the collection keeps for namespace `ns` (both directories), sorted."""
    found = []
    for root in (state_dir(ns), runtime_dir(ns)):
        for directory, _dirs, names in os.walk(root):
            found += [os.path.join(directory, name) for name in names]
    return sorted(found)


def remove_state_dir(ns):
    for root in (state_dir(ns), runtime_dir(ns)):
        shutil.rmtree(root, ignore_errors=True)


# ---- ping -------------------------------------------------------------------------------
_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")


class ContinuousPing:
    """A bounded flood-ish ping (`-i 0.01`, at most `count` packets) run in a namespace.

    stop() sends SIGINT (ping then prints its summary) and returns (transmitted, received).
    """

    def __init__(self, ns, address, count=2000, interval="0.01"):
        self.address = address
        argv = ["ping", "-n", "-q", "-i", interval, "-c", str(count), "-W", "1", address]
        if ":" in address:
            argv.insert(1, "-6")
        self.proc = ns.popen(*argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output = ""

    def running(self):
        return self.proc.poll() is None

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.output = self.proc.communicate(timeout=timeout)[0]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.output = self.proc.communicate()[0]
        match = _SUMMARY.search(self.output or "")
        assert match, "no ping summary in: %s" % self.output
        return int(match.group(1)), int(match.group(2))


def without_ifindex(state):
    """A kernel_state() dump without interface indexes: a device a rollback had to create
    again (an undone removal) is the same device with a new index."""
    if isinstance(state, dict):
        return {key: without_ifindex(value) for key, value in state.items() if key != "ifindex"}
    if isinstance(state, list):
        return [without_ifindex(item) for item in state]
    return state


def assert_same_state(before, after, what="kernel state"):
    """Equality of two kernel_state() dumps, with a unified diff of the JSON on failure."""
    if before == after:
        return
    import difflib

    old = json.dumps(before, indent=1, sort_keys=True).splitlines()
    new = json.dumps(after, indent=1, sort_keys=True).splitlines()
    diff = "\n".join(difflib.unified_diff(old, new, "before", "after", lineterm="", n=2))
    raise AssertionError("%s changed:\n%s" % (what, diff[:6000]))


def settled_state(ns, quiet=1.2, limit=8.0):
    """kernel_state() once the kernel has stopped changing it by itself.

    Carrier and operstate of a bridge follow its ports asynchronously (linkwatch runs up
    to a second later), so a "before" snapshot taken right after a change can differ from
    one taken a moment later although nobody touched the namespace. Waits until two reads
    `quiet` seconds apart agree (at most `limit` seconds), then returns that state.
    """
    import time

    state = kernel_state(ns)
    stable_since = time.monotonic()
    deadline = stable_since + limit
    while time.monotonic() < deadline:
        time.sleep(0.3)
        again = kernel_state(ns)
        if again != state:
            state, stable_since = again, time.monotonic()
        elif time.monotonic() - stable_since >= quiet and not _dad_running(state):
            break
    return state


def _dad_running(state):
    """True while an address on a link with carrier is still tentative (IPv6 DAD)."""
    for entry in state["addrs"]:
        if "LOWER_UP" not in entry.get("flags", []):
            continue  # without carrier DAD does not run at all
        if any(a.get("tentative") for a in entry.get("addr_info", [])):
            return True
    return False


# ---- TCP between namespaces -------------------------------------------------------------
TCP_LISTENER = textwrap.dedent("""\
    import socket, sys
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((sys.argv[1], int(sys.argv[2])))
    server.listen(1)
    server.settimeout(float(sys.argv[3]))
    print("ready", flush=True)
    try:
        conn, peer = server.accept()
        print("peer", peer[0], flush=True)
        conn.close()
    except socket.timeout:
        print("timeout", flush=True)
""")

TCP_CONNECT = textwrap.dedent("""\
    import socket, sys
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()
        print("connected")
    except ConnectionRefusedError:
        print("refused")
    except OSError as exc:
        print("error", exc)
""")


def listen(ns, address, port, seconds=8):
    """A one-connection TCP listener in `ns` (bounded by `seconds`); peer_of() tells who came."""
    proc = ns.popen(sys.executable, "-c", TCP_LISTENER, address, str(port), str(seconds), stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def peer_of(proc):
    return proc.communicate(timeout=20)[0].strip().split()[-1]


def connect(ns, address, port, seconds=3):
    """'connected', 'refused' or 'error ...' for a TCP connect from `ns`."""
    return ns.run(sys.executable, "-c", TCP_CONNECT, address, str(port), str(seconds), timeout=seconds + 10).stdout.strip()


# ---- locks --------------------------------------------------------------------------------
COLLECTIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), ".collections")

LOCK_HOLDER = textwrap.dedent("""\
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from ansible_collections.hypervisor.networking.plugins.module_utils import lock
    make = {"netns": lambda value: lock.netns_scope(), "ovsdb": lock.ovsdb_scope, "sysfs": lock.sysfs_scope}
    scopes = [make[kind](value) for kind, value in json.loads(sys.argv[2])]
    with lock.ScopeLock(scopes, timeout=30):
        print("held", flush=True)
        sys.stdin.readline()  # released when the test writes a line or goes away
""")


class LockHolder:
    """A process inside `ns` holding the given scopes (("netns", None), ("ovsdb", database), ("sysfs", root)) until
    release(); it takes them exactly as a run does (lock.ScopeLock), so a test decides when they are free."""

    def __init__(self, ns, *scopes):
        self.proc = ns.popen(sys.executable, "-c", LOCK_HOLDER, COLLECTIONS_DIR, json.dumps(scopes),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.strip() == "held", "the lock holder did not start: %s" % self.proc.stderr.read()

    def holding(self):
        return self.proc.poll() is None

    def release(self):
        if self.proc.poll() is None:
            self.proc.stdin.write("release\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


# ---- ansible-playbook output ------------------------------------------------------------
RECAP_RE = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def recap(output):
    """{host: (ok, changed, unreachable, failed)} from the PLAY RECAP of an ansible-playbook run."""
    return {host: tuple(int(n) for n in counts) for host, *counts in RECAP_RE.findall(output)}
