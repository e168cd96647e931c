# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A private OVS-DPDK (ovsdb-server + ovs-vswitchd-dpdk) inside a test network namespace.

Nothing of the host's own Open vSwitch is used or touched: the database, run, log and
config directories live in a temporary directory, hugepages come from a hugetlbfs mount
of our own, and DPDK gets a file prefix of its own.  ovs-vswitchd runs inside a network
namespace (``ip netns exec``) so that ``net_af_packet`` vdevs can open veths of that
namespace.  DPDK needs no NIC here: ``--no-pci`` plus vdevs (net_null, net_af_packet,
net_tap) and vhost-user ports.

    ovs = OvsDpdk(ns, workdir)
    ovs.start()              # bounded waits; raises OvsDpdkError with the log tail
    ovs.vsctl("show")
    ovs.stop()               # always call (fixture teardown)

Command-line use (the molecule scenario of roles/dpdk; argv lists only, no shell)::

    python3 tests/integration/ovs_dpdk.py start --netns NS --workdir DIR [--pmd-core N]
        # reserves the hugepages, starts both daemons (detached) and prints the state
        # (also written to DIR/ovs/state.json): database, rundir, hugedir, other_config...
    python3 tests/integration/ovs_dpdk.py stop --workdir DIR
        # stops what DIR/ovs/state.json describes, unmounts, removes /var/run/dpdk/<prefix>,
        # restores the hugepage pool; idempotent (nothing started: nothing to do)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

# The backend's decoder of OVSDB's JSON notation, so the tests read OVSDB as the module does;
# importable from pytest (tests/conftest.py) and from the command line alike.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), ".collections"))
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.ovsdb import plain_value  # noqa: E402  pylint: disable=wrong-import-position

VSWITCHD = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"
OVSDB_SERVER = "/usr/sbin/ovsdb-server"
OVSDB_TOOL = "/usr/bin/ovsdb-tool"
VSCTL = "/usr/bin/ovs-vsctl"
APPCTL = "/usr/bin/ovs-appctl"
SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages"
HUGEPAGES_NEEDED = 512  # 2 MiB pages: 1 GiB, of which dpdk-socket-mem takes 512 MiB
DPDK_RUNTIME = "/var/run/dpdk"
DEBIAN_PACKAGES = ("openvswitch-switch-dpdk librte-net-af-packet23 librte-net-null23 librte-net-tap23 "
                   "librte-net-virtio23 librte-bus-vdev23 librte-mempool-ring23")


class OvsDpdkError(RuntimeError):
    pass


def missing_requirements():
    """Why a private OVS-DPDK cannot run on this machine, or None."""
    for path in (VSWITCHD, OVSDB_SERVER, OVSDB_TOOL, VSCTL, SCHEMA):
        if not os.path.exists(path):
            return "%s is missing: install the Debian packages %s (scripts/bootstrap.sh does)" % (path, DEBIAN_PACKAGES)
    with open("/proc/filesystems", encoding="utf-8") as handle:
        if "hugetlbfs" not in handle.read():
            return "the kernel has no hugetlbfs; DPDK needs hugepages"
    if os.geteuid() != 0:
        return "needs root (hugepages, network namespaces)"
    return None


def ensure_hugepages(count=HUGEPAGES_NEEDED):
    """Raise the 2 MiB hugepage pool to `count`; return the previous value (to restore)."""
    with open(NR_HUGEPAGES, encoding="utf-8") as handle:
        before = int(handle.read().strip())
    if before < count:
        with open(NR_HUGEPAGES, "w", encoding="utf-8") as handle:
            handle.write(str(count))
        with open(NR_HUGEPAGES, encoding="utf-8") as handle:
            got = int(handle.read().strip())
        if got < count // 2:
            raise OvsDpdkError("could reserve only %d of %d hugepages" % (got, count))
    return before


def restore_hugepages(value):
    with open(NR_HUGEPAGES, "w", encoding="utf-8") as handle:
        handle.write(str(value))


class OvsDpdk:
    """One private ovsdb-server + ovs-vswitchd-dpdk; ovs-vswitchd runs inside namespace `ns`."""

    def __init__(self, ns, workdir, pmd_core=1, extra_config=None, frontend=False):
        self.ns = ns
        self.dir = os.path.join(str(workdir), "ovs")
        self.rundir = os.path.join(self.dir, "run")
        self.hugedir = os.path.join(self.dir, "huge")
        self.sockdir = os.path.join(self.rundir, "vhost")
        self.db_path = os.path.join(self.dir, "db", "conf.db")
        self.socket = os.path.join(self.rundir, "db.sock")
        self.database = "unix:" + self.socket
        self.prefix = "hvt" + uuid.uuid4().hex[:8]
        self.pmd_core = pmd_core
        self.extra_config = dict(extra_config or {})
        # a QEMU stand-in (connect_frontend) shares DPDK memory over vhost-user, which takes
        # at most 8 memory regions: one file per hugepage segment list instead of per page
        self.frontend = frontend
        self.procs = {}
        self.mounted = False
        # the command line's daemons outlive it: own session, no stdin
        self.detach = False

    # ---- environment ------------------------------------------------------------------
    def env(self):
        env = dict(os.environ)
        env.update({
            "OVS_RUNDIR": self.rundir,
            "OVS_DBDIR": os.path.dirname(self.db_path),
            "OVS_LOGDIR": os.path.join(self.dir, "log"),
            "OVS_SYSCONFDIR": os.path.join(self.dir, "etc"),
        })
        return env

    def log_path(self, daemon="ovs-vswitchd"):
        return os.path.join(self.dir, "log", daemon + ".log")

    def log_tail(self, lines=30, daemon="ovs-vswitchd"):
        try:
            with open(self.log_path(daemon), encoding="utf-8", errors="replace") as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return "(no log)"

    # ---- commands ---------------------------------------------------------------------
    def vsctl(self, *args, check=True, timeout=30):
        argv = [VSCTL, "--db=" + self.database, "--timeout=%d" % timeout, *[str(a) for a in args]]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 5, check=False, env=self.env())
        if check and proc.returncode != 0:
            raise OvsDpdkError("%s failed (%d): %s" % (" ".join(argv), proc.returncode, proc.stderr.strip()))
        return proc.stdout

    def vsctl_json(self, *args):
        """`ovs-vsctl --format=json list ...` as a list of {column: plain value} rows."""
        return parse_table(json.loads(self.vsctl("--format=json", *args)))

    def interface(self, name):
        rows = self.vsctl_json("--if-exists", "list", "Interface", name) if self.exists("Interface", name) else []
        return rows[0] if rows else None

    def port(self, name):
        rows = self.vsctl_json("list", "Port", name) if self.exists("Port", name) else []
        return rows[0] if rows else None

    def exists(self, table, name):
        out = self.vsctl("--format=json", "--columns=name", "find", table, "name=%s" % json.dumps(name))
        return bool(json.loads(out)["data"])

    def port_names(self):
        return sorted(row["name"] for row in self.vsctl_json("--columns=name", "list", "Port"))

    def qos_rows(self):
        return self.vsctl_json("list", "QoS")

    def appctl(self, *args, timeout=20):
        ctl = os.path.join(self.rundir, "ovs-vswitchd.ctl")
        proc = subprocess.run(self.ns.argv(APPCTL, "--timeout=%d" % timeout, "-t", ctl, *args), capture_output=True,
                              text=True, timeout=timeout + 5, check=False, env=self.env())
        if proc.returncode != 0:
            raise OvsDpdkError("ovs-appctl %s failed: %s" % (" ".join(args), proc.stderr.strip()))
        return proc.stdout

    def connect_frontend(self, bridge, name, socket_path, timeout=30):
        """A QEMU stand-in: DPDK's virtio-user driver listens on `socket_path` as QEMU does, as
        port `name` on netdev bridge `bridge` of this same ovs-vswitchd; returns when the
        dpdkvhostuserclient interface(s) using that socket report status connected.

        Needs frontend=True. ovs-vswitchd blocks in the driver's init until a vhost-user client
        connects, so the client port must exist before this is called."""
        clients = [row["name"] for row in self.vsctl_json("--columns=name,options", "list", "Interface")
                   if row["options"].get("vhost-server-path") == socket_path]
        if not self.frontend or not clients:
            raise OvsDpdkError("connect_frontend needs OvsDpdk(frontend=True) and a dpdkvhostuserclient port on %s" % socket_path)
        index = len(self.vsctl_json("--columns=name", "list", "Interface"))
        devargs = "net_virtio_user%d,path=%s,server=1,queues=1,mrg_rxbuf=1" % (index, socket_path)
        self.vsctl("add-port", bridge, name, "--", "set", "Interface", name, "type=dpdk",
                   "options:dpdk-devargs=%s" % json.dumps(devargs), timeout=timeout)

        def connected():
            return all((self.interface(client) or {}).get("status", {}).get("status") == "connected" for client in clients)

        self._wait(connected, timeout, "vhost-user clients %s did not connect" % ", ".join(clients), "ovs-vswitchd")

    def ofctl(self, *args):
        """ovs-ofctl against a bridge's management socket (inside the namespace's rundir)."""
        proc = subprocess.run(self.ns.argv("ovs-ofctl", *args), capture_output=True, text=True, timeout=30,
                              check=False, env=self.env())
        if proc.returncode != 0:
            raise OvsDpdkError("ovs-ofctl %s failed: %s" % (" ".join(args), proc.stderr.strip()))
        return proc.stdout

    def dump(self):
        """Everything the module may touch, for before/after comparisons (status columns left out)."""
        tables = {}
        for table, columns in (
            ("Bridge", "name,datapath_type,ports,other_config,external_ids"),
            ("Port", "_uuid,name,interfaces,tag,trunks,vlan_mode,bond_mode,lacp,qos,external_ids,other_config"),
            ("Interface", "_uuid,name,type,options,mtu_request,ingress_policing_rate,ingress_policing_burst,"
                          "ofport_request,ofport,error,external_ids,other_config"),
            ("QoS", "_uuid,type,other_config"),
        ):
            rows = self.vsctl_json("--columns=" + columns, "list", table)
            key = "name" if table != "QoS" else "_uuid"
            tables[table] = {row[key]: row for row in rows}
        return tables

    # ---- life cycle -------------------------------------------------------------------
    def start(self, timeout=60, vswitchd=True):
        for sub in ("run", "db", "log", "etc", "huge", "run/vhost"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        subprocess.run(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "hvt-hugetlbfs", self.hugedir], check=True,
                       capture_output=True, timeout=30)
        self.mounted = True
        subprocess.run([OVSDB_TOOL, "create", self.db_path, SCHEMA], check=True, capture_output=True, timeout=30)
        self._spawn("ovsdb-server", [
            OVSDB_SERVER, self.db_path, "--remote=punix:" + self.socket,
            "--unixctl=" + os.path.join(self.rundir, "ovsdb-server.ctl"),
            "--pidfile=" + os.path.join(self.rundir, "ovsdb-server.pid"),
            "--log-file=" + self.log_path("ovsdb-server"), "-vconsole:off",
        ])
        self._wait(lambda: os.path.exists(self.socket), timeout, "ovsdb-server did not open its socket", "ovsdb-server")
        config = {
            "dpdk-init": "true",
            "dpdk-extra": "--no-pci --file-prefix=%s%s" % (self.prefix, " --single-file-segments" if self.frontend else ""),
            "dpdk-socket-mem": "512",
            "dpdk-socket-limit": "512",
            "per-port-memory": "true",
            "dpdk-hugepage-dir": self.hugedir,
            "dpdk-lcore-mask": "0x%x" % (1 << (1 - self.pmd_core)),
            "pmd-cpu-mask": "0x%x" % (1 << self.pmd_core),
            "pmd-maxsleep": "10000",  # sleep up to 10 ms when idle: the 2-core machine stays usable
            "vhost-sock-dir": "vhost",
        }
        config.update(self.extra_config)
        self.vsctl("--no-wait", "init")
        self.vsctl("--no-wait", "set", "Open_vSwitch", ".",
                   *["other_config:%s=%s" % (key, json.dumps(value)) for key, value in config.items()])
        if vswitchd:
            self.start_vswitchd(timeout)
        return self

    def start_vswitchd(self, timeout=60):
        self._spawn("ovs-vswitchd", self.ns.argv(
            VSWITCHD, self.database,
            "--unixctl=" + os.path.join(self.rundir, "ovs-vswitchd.ctl"),
            "--pidfile=" + os.path.join(self.rundir, "ovs-vswitchd.pid"),
            "--log-file=" + self.log_path(), "-vconsole:off",
        ))

        def initialised():
            out = self.vsctl("--no-wait", "get", "Open_vSwitch", ".", "dpdk_initialized", check=False).strip()
            return out == "true"

        self._wait(initialised, timeout, "ovs-vswitchd did not initialise DPDK", "ovs-vswitchd")

    def stop_vswitchd(self):
        self._stop("ovs-vswitchd", "ovs-vswitchd.ctl")

    def _spawn(self, name, argv):
        log = open(os.path.join(self.dir, "log", name + ".stderr"), "ab")  # pylint: disable=consider-using-with
        try:
            extra = {"stdin": subprocess.DEVNULL, "start_new_session": True} if self.detach else {}
            self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=log, env=self.env(),  # pylint: disable=consider-using-with
                                                **extra)
        finally:
            log.close()

    def _wait(self, condition, timeout, message, daemon):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs.get(daemon)
            if proc is not None and proc.poll() is not None:
                raise OvsDpdkError("%s exited with %s\n%s" % (daemon, proc.returncode, self.log_tail(daemon=daemon)))
            if condition():
                return
            time.sleep(0.2)
        raise OvsDpdkError("%s within %d s\n%s" % (message, timeout, self.log_tail(daemon=daemon)))

    def _stop(self, name, ctl):
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            subprocess.run(self.ns.argv(APPCTL, "--timeout=10", "-t", os.path.join(self.rundir, ctl), "exit"),
                           capture_output=True, timeout=20, check=False, env=self.env())
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)

    def stop(self):
        """Stop both daemons, unmount the hugepages, remove DPDK's runtime files. Idempotent."""
        errors = []
        for name, ctl in (("ovs-vswitchd", "ovs-vswitchd.ctl"), ("ovsdb-server", "ovsdb-server.ctl")):
            try:
                self._stop(name, ctl)
            except Exception as exc:  # pylint: disable=broad-exception-caught
                errors.append("%s: %s" % (name, exc))
        if self.mounted:
            proc = subprocess.run(["umount", self.hugedir], capture_output=True, text=True, timeout=30, check=False)
            if proc.returncode != 0:
                proc = subprocess.run(["umount", "-l", self.hugedir], capture_output=True, text=True, timeout=30, check=False)
            if proc.returncode != 0:
                errors.append("umount: %s" % proc.stderr.strip())
            self.mounted = False
        shutil.rmtree(os.path.join(DPDK_RUNTIME, self.prefix), ignore_errors=True)
        if errors:
            raise OvsDpdkError("; ".join(errors))


def parse_table(document):
    headings = document["headings"]
    return [{heading: plain_value(cell) for heading, cell in zip(headings, row)} for row in document["data"]]


# ---- command line (molecule) ------------------------------------------------------------
STATE_FILE = "state.json"


class _PassThrough:
    """Stands in for a namespace that is already gone: ovs-appctl needs only the unix socket."""

    @staticmethod
    def argv(*argv):
        return [str(arg) for arg in argv]


class _Adopted:
    """A daemon started by an earlier process, known by its pid; polls and signals like a Popen."""

    def __init__(self, pid):
        self.pid = pid
        self.returncode = None

    def poll(self):
        try:
            with open("/proc/%d/stat" % self.pid, encoding="utf-8") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            state = "X"
        if state in ("Z", "X"):
            self.returncode = 0
        return self.returncode

    def wait(self, timeout=None):
        deadline = time.monotonic() + (timeout if timeout is not None else 3600)
        while self.poll() is None:
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired("pid %d" % self.pid, timeout)
            time.sleep(0.1)
        return self.returncode

    def _signal(self, sig):
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def terminate(self):
        self._signal(signal.SIGTERM)

    def kill(self):
        self._signal(signal.SIGKILL)


def _daemon_pid(ovs, name, recorded):
    """The pid of daemon `name` of this instance: its pidfile, the one recorded at start, else a search.

    Only a process started with this instance's control socket (--unixctl=<rundir>/<name>.ctl)
    counts: no pid reuse, and nothing of another OVS is ever touched."""
    candidates = []
    try:
        with open(os.path.join(ovs.rundir, name + ".pid"), encoding="utf-8") as handle:
            candidates.append(int(handle.read().strip()))
    except (OSError, ValueError):
        pass
    if recorded:
        candidates.append(int(recorded))
    candidates.extend(int(entry) for entry in sorted(os.listdir("/proc")) if entry.isdigit())
    unixctl = ("--unixctl=" + os.path.join(ovs.rundir, name + ".ctl")).encode()
    for pid in candidates:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                if unixctl in handle.read().split(b"\0"):
                    return pid
        except OSError:
            continue
    return None


def _state_path(workdir):
    return os.path.join(str(workdir), "ovs", STATE_FILE)


def _write_state(path, state):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)


def _nr_hugepages():
    with open(NR_HUGEPAGES, encoding="utf-8") as handle:
        return int(handle.read().strip())


def cli_start(netns_name, workdir, pmd_core=1, timeout=60):
    """Start a detached private OVS-DPDK with ovs-vswitchd inside `netns_name`; return its state."""
    from netns import Netns  # pylint: disable=import-outside-toplevel

    reason = missing_requirements()
    if reason:
        raise OvsDpdkError("OVS-DPDK cannot run here: " + reason)
    ns = Netns(netns_name)
    if not ns.exists():
        raise OvsDpdkError("network namespace %s does not exist" % netns_name)
    path = _state_path(workdir)
    if os.path.exists(path):
        raise OvsDpdkError("%s exists: an instance was started there; stop it first" % path)
    ovs = OvsDpdk(ns, workdir, pmd_core=pmd_core)
    ovs.detach = True
    os.makedirs(ovs.dir, exist_ok=True)
    state = {"netns": ns.name, "workdir": str(workdir), "prefix": ovs.prefix, "pmd_core": pmd_core,
             "hugepages_before": _nr_hugepages()}
    # written before anything starts: `stop` can undo a start that was interrupted
    _write_state(path, state)
    try:
        ensure_hugepages()
        ovs.start(timeout=timeout)
    except BaseException:
        try:
            cli_stop(workdir)
        except OvsDpdkError:
            pass
        raise
    state.update({
        "pids": {name: proc.pid for name, proc in ovs.procs.items()},
        "database": ovs.database,
        "rundir": ovs.rundir,
        "hugedir": ovs.hugedir,
        "sockdir": ovs.sockdir,
        "nr_hugepages": _nr_hugepages(),
        "other_config": ovs.vsctl_json("--columns=other_config", "list", "Open_vSwitch")[0]["other_config"],
    })
    _write_state(path, state)
    return state


def cli_stop(workdir):
    """Stop the instance DIR/ovs/state.json describes; False if there was none. Idempotent."""
    from netns import Netns  # pylint: disable=import-outside-toplevel

    path = _state_path(workdir)
    try:
        with open(path, encoding="utf-8") as handle:
            state = json.load(handle)
    except FileNotFoundError:
        return False
    ns = Netns(state["netns"])
    ovs = OvsDpdk(ns if ns.exists() else _PassThrough(), workdir, pmd_core=state.get("pmd_core", 1))
    ovs.prefix = state["prefix"]
    for name in ("ovs-vswitchd", "ovsdb-server"):
        pid = _daemon_pid(ovs, name, state.get("pids", {}).get(name))
        if pid is not None:
            ovs.procs[name] = _Adopted(pid)
    ovs.mounted = os.path.ismount(ovs.hugedir)
    ovs.stop()  # raises OvsDpdkError if a daemon or the mount would not go: the state file stays
    before = state.get("hugepages_before")
    if before is not None and before < HUGEPAGES_NEEDED:
        restore_hugepages(before)
    os.unlink(path)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description="A private OVS-DPDK for tests (see the module docstring).")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start it; prints the state as JSON")
    start.add_argument("--netns", required=True, help="namespace ovs-vswitchd runs in (must exist)")
    start.add_argument("--workdir", required=True, help="directory for the database, run, log and hugepage dirs")
    start.add_argument("--pmd-core", type=int, default=1, choices=(0, 1))
    start.add_argument("--timeout", type=int, default=60)
    stop = sub.add_parser("stop", help="stop what `start` started in --workdir (idempotent)")
    stop.add_argument("--workdir", required=True)
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        if args.command == "start":
            print(json.dumps(cli_start(args.netns, os.path.abspath(args.workdir), args.pmd_core, args.timeout),
                             sort_keys=True))
        else:
            print("stopped" if cli_stop(os.path.abspath(args.workdir)) else "nothing to stop")
    except (OvsDpdkError, subprocess.SubprocessError, OSError) as exc:
        print("ovs_dpdk.py %s: %s" % (args.command, exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
