# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network-namespace helpers for the hypervisor.networking test suite.

Everything the tests do to networking happens inside namespaces created here
(names start with ``hvt-``); nothing is ever created in the root namespace.
Commands are always passed as argv lists, never through a shell.

Library use::

    from netns import Netns, veth, ping

    with Netns.create("hv") as hv, Netns.create("vm") as vm:
        veth(hv, "hv0", vm, "eth0")
        hv.run("ip", "addr", "add", "198.51.100.1/24", "dev", "hv0")
        vm.run("ip", "addr", "add", "198.51.100.2/24", "dev", "eth0")
        assert ping(vm, "198.51.100.1")

Command-line use (handy from molecule playbooks or by hand)::

    python3 tests/netns.py create NAME      # prints the unique name (hvt-NAME-xxxxxx)
    python3 tests/netns.py destroy FULLNAME [...]
    python3 tests/netns.py list             # hvt-* namespaces
    python3 tests/netns.py cleanup          # destroy every hvt-* namespace
    python3 tests/netns.py exec FULLNAME -- CMD [ARGS...]
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid

PREFIX = "hvt-"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_NETNS_DIR = "/run/netns"
_RUNTIME_DIR = "/run/hypervisor-networking/netns"  # the collection's runtime files per namespace
# namespaces created by this process that must not outlive it
_AUTO_CLEAN: dict[str, "Netns"] = {}

# Every namespace starts from these values, the kernel's defaults for the sysctls the tests and
# the modules depend on. A new namespace copies the root namespace's IPv4 settings (and its IPv6
# ones too with net.core.devconf_inherit_init_net=1): a host running libvirt or Docker has
# ip_forward=1, distributions set rp_filter. A test must pass whatever the root looks like.
# Devices made later take conf.default; lo exists already, hence its own keys.
BASELINE_SYSCTLS = (
    ("net.ipv4.ip_forward", "0"),   # = conf.all.forwarding; writing it sets every device's too
    ("net.ipv4.conf.default.forwarding", "0"),
    ("net.ipv4.conf.all.rp_filter", "0"),
    ("net.ipv4.conf.default.rp_filter", "0"),
    ("net.ipv4.conf.lo.rp_filter", "0"),
    ("net.ipv6.conf.all.disable_ipv6", "0"),     # writing all.* sets every device's too
    ("net.ipv6.conf.default.disable_ipv6", "0"),
    ("net.ipv6.conf.all.forwarding", "0"),
    ("net.ipv6.conf.default.forwarding", "0"),
    ("net.ipv6.conf.all.accept_ra", "1"),
    ("net.ipv6.conf.default.accept_ra", "1"),
)
# What a namespace inherits from a hostile root (libvirt/Docker forwarding, strict rp_filter,
# IPv6 off, no RAs). Netns.inherited set to these (fixture `hostile_root`, or the whole run with
# HV_TEST_HOSTILE_ROOT=1) writes them into each new namespace first, as the kernel would copy
# them, so tests prove they set their own preconditions; the root namespace is never touched.
HOSTILE_ROOT_SYSCTLS = (
    ("net.ipv4.ip_forward", "1"),
    ("net.ipv4.conf.default.forwarding", "1"),
    ("net.ipv4.conf.all.rp_filter", "1"),
    ("net.ipv4.conf.default.rp_filter", "1"),
    ("net.ipv4.conf.lo.rp_filter", "1"),
    ("net.ipv6.conf.all.forwarding", "1"),
    ("net.ipv6.conf.default.forwarding", "1"),
    ("net.ipv6.conf.all.accept_ra", "0"),
    ("net.ipv6.conf.default.accept_ra", "0"),
    ("net.ipv6.conf.all.disable_ipv6", "1"),
    ("net.ipv6.conf.default.disable_ipv6", "1"),
)


class NetnsError(subprocess.CalledProcessError):
    """A command run inside (or for) a namespace failed; str() shows stderr."""

    def __str__(self):
        text = super().__str__()
        err = (self.stderr or "").strip()
        out = (self.output or "").strip()
        if err:
            text += f"\nstderr: {err}"
        if out:
            text += f"\nstdout: {out}"
        return text


def _run(argv, check=True, timeout=60, input_text=None):
    argv = [str(arg) for arg in argv]
    proc = subprocess.run(
        argv,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise NetnsError(proc.returncode, argv, proc.stdout, proc.stderr)
    return proc


def _name_of(ns):
    return ns.name if isinstance(ns, Netns) else str(ns)


def list_namespaces(prefix=PREFIX):
    """Names of existing network namespaces starting with ``prefix``."""
    try:
        names = os.listdir(_NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(name for name in names if name.startswith(prefix))


class Netns:
    """One named network namespace (``ip netns``)."""

    # simulated inheritance from the root namespace, written before BASELINE_SYSCTLS (see there)
    inherited = HOSTILE_ROOT_SYSCTLS if os.environ.get("HV_TEST_HOSTILE_ROOT") == "1" else ()
    baseline = BASELINE_SYSCTLS

    def __init__(self, name):
        if not _NAME_RE.match(name):
            raise ValueError(f"invalid namespace name {name!r}")
        self.name = name

    def __repr__(self):
        return f"Netns({self.name!r})"

    def __str__(self):
        return self.name

    # -- life cycle ---------------------------------------------------------
    @classmethod
    def create(cls, name="ns", lo_up=True, autoclean=True):
        """Create a new namespace named ``hvt-<name>-<random>``.

        ``lo_up`` brings the loopback interface up.  With ``autoclean`` the
        namespace is destroyed when the Python process exits, should the
        caller forget (or crash before) calling destroy().  The sysctls of
        BASELINE_SYSCTLS are set first, whatever the namespace inherited.
        """
        if not _NAME_RE.match(name):
            raise ValueError(f"invalid namespace name {name!r}")
        full = f"{PREFIX}{name}-{uuid.uuid4().hex[:6]}"
        _run(["ip", "netns", "add", full])
        ns = cls(full)
        if autoclean:
            _AUTO_CLEAN[full] = ns
        try:
            for values in (cls.inherited, cls.baseline):
                ns.set_sysctls(values)
            if lo_up:
                ns.run("ip", "link", "set", "lo", "up")
        except Exception:
            ns.destroy()
            raise
        return ns

    def exists(self):
        return os.path.exists(os.path.join(_NETNS_DIR, self.name))

    def set_sysctls(self, values):
        """Write (key, value) pairs, in order, inside this namespace only."""
        if values:
            self.run("sysctl", "-q", "-w", *["%s=%s" % (key, value) for key, value in values])

    def sysctl(self, key):
        return self.run("sysctl", "-n", key).stdout.strip()

    def pids(self):
        proc = _run(["ip", "netns", "pids", self.name], check=False)
        if proc.returncode != 0:
            return []
        return [int(pid) for pid in proc.stdout.split() if pid.isdigit()]

    def kill_processes(self, grace=2.0):
        """SIGTERM every process in the namespace, SIGKILL what survives."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and self.pids():
                time.sleep(0.05)

    def destroy(self):
        """Kill remaining processes and delete the namespace (idempotent)."""
        _AUTO_CLEAN.pop(self.name, None)
        if not self.exists():
            return
        self.kill_processes()
        # As a reboot would: the collection's runtime files of this namespace go with it, before its
        # name does, so that no run elsewhere on this machine sees a vanished namespace's files
        # (and reports their removal as a change). Tests of that case use `ip netns delete` directly.
        shutil.rmtree(os.path.join(_RUNTIME_DIR, self.name), ignore_errors=True)
        proc = _run(["ip", "netns", "delete", self.name], check=False)
        if proc.returncode != 0 and self.exists():
            raise NetnsError(proc.returncode, proc.args, proc.stdout, proc.stderr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.destroy()
        return False

    # -- running things -----------------------------------------------------
    def argv(self, *argv):
        """The argv that runs ``argv`` inside this namespace."""
        return ["ip", "netns", "exec", self.name, *[str(arg) for arg in argv]]

    def run(self, *argv, check=True, timeout=60, input_text=None):
        """Run argv inside the namespace; returns CompletedProcess (text)."""
        if not argv:
            raise ValueError("run() needs a command")
        return _run(self.argv(*argv), check=check, timeout=timeout, input_text=input_text)

    def popen(self, *argv, **kwargs):
        """Start a long-running process in the namespace (killed by destroy())."""
        return subprocess.Popen(self.argv(*argv), **kwargs)  # pylint: disable=consider-using-with

    def ip_json(self, *args):
        """Parsed ``ip -j ARGS`` output from inside the namespace."""
        out = self.run("ip", "-j", *args).stdout.strip()
        return json.loads(out) if out else []

    # -- inspection ---------------------------------------------------------
    def links(self):
        """All links, with details (``ip -j -d link show``)."""
        return self.ip_json("-d", "link", "show")

    def link(self, name):
        """Details of link ``name`` or None if it does not exist."""
        proc = self.run("ip", "-j", "-d", "link", "show", "dev", name, check=False)
        if proc.returncode != 0 or not proc.stdout.strip():
            return None
        data = json.loads(proc.stdout)
        return data[0] if data else None

    def link_names(self):
        return [link["ifname"] for link in self.links()]

    def address_info(self, name):
        """Raw ``addr_info`` list of link ``name`` (empty if it has none)."""
        data = self.ip_json("addr", "show", "dev", name)
        return data[0].get("addr_info", []) if data else []

    def addresses(self, name):
        """Addresses of link ``name`` as ``"addr/prefixlen"`` strings."""
        return [f"{a['local']}/{a['prefixlen']}" for a in self.address_info(name)]

    def routes(self, table="main"):
        """IPv4 followed by IPv6 routes of ``table``; each gets a "family" key."""
        result = []
        for family in ("-4", "-6"):
            for route in self.ip_json(family, "route", "show", "table", table):
                route["family"] = "inet" if family == "-4" else "inet6"
                result.append(route)
        return result

    def bridge_ports(self):
        """Parsed ``bridge -d -j link show`` (all bridge ports in the namespace)."""
        out = self.run("bridge", "-d", "-j", "link", "show").stdout.strip()
        return json.loads(out) if out else []

    def set_up(self, name):
        self.run("ip", "link", "set", "dev", name, "up")


def veth(ns_a, name_a, ns_b, name_b, up=True):
    """Create veth pair ``name_a`` (in ns_a) <-> ``name_b`` (in ns_b).

    The pair is created inside ns_a with its peer placed directly in ns_b, so
    nothing ever appears in the root namespace.
    """
    a = ns_a if isinstance(ns_a, Netns) else Netns(ns_a)
    b = ns_b if isinstance(ns_b, Netns) else Netns(ns_b)
    a.run("ip", "link", "add", name_a, "type", "veth", "peer", "name", name_b, "netns", b.name)
    if up:
        a.set_up(name_a)
        b.set_up(name_b)


def ping(src_ns, address, count=1, timeout=5):
    """True if ``address`` answers ping from ``src_ns``.

    ``count`` is capped at 10 and the whole run at ``timeout`` seconds
    (capped at 30), so a test can never hang on it.
    """
    ns = src_ns if isinstance(src_ns, Netns) else Netns(src_ns)
    count = max(1, min(int(count), 10))
    timeout = max(1, min(int(timeout), 30))
    proc = ns.run(
        "ping", "-n", "-q", "-c", count, "-W", timeout, "-w", timeout, address,
        check=False, timeout=timeout + 10,
    )
    return proc.returncode == 0


@atexit.register
def _cleanup_at_exit():
    for ns in list(_AUTO_CLEAN.values()):
        try:
            ns.destroy()
        except Exception:  # pylint: disable=broad-exception-caught
            pass


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: netns.py create NAME | destroy NAME... | list | cleanup | exec NAME -- CMD..."
    if not args:
        print(usage, file=sys.stderr)
        return 2
    cmd, rest = args[0], args[1:]
    try:
        if cmd == "create" and len(rest) == 1:
            print(Netns.create(rest[0], autoclean=False).name)
        elif cmd == "destroy" and rest:
            for name in rest:
                Netns(name).destroy()
        elif cmd == "list" and not rest:
            for name in list_namespaces():
                print(name)
        elif cmd == "cleanup" and not rest:
            for name in list_namespaces():
                Netns(name).destroy()
        elif cmd == "exec" and len(rest) >= 3 and rest[1] == "--":
            ns = Netns(rest[0])
            os.execvp("ip", ns.argv(*rest[2:]))
        else:
            print(usage, file=sys.stderr)
            return 2
    except (NetnsError, ValueError) as exc:
        print(f"netns.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
