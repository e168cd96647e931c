# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark: the modules against the floor and the per-item loops, in throwaway namespaces.

Run it through scripts/benchmark.sh (which makes the benchmark's own virtualenv .venv-bench with
matplotlib and the `ansible` 10.x package). It writes docs/performance.md and its plots
(docs/performance/*.svg), and the raw figures to build/benchmark/results.json.

Everything happens in network namespaces named hvb-*, made and removed here; nothing of the root
namespace is touched, except libvirt rows (libvirtd lives there): hvb- networks on documentation
subnets, removed afterwards, with net.ipv4.ip_forward put back as it was.

The module's own time of a row = median wall time of `ansible-playbook` running that one task
minus the median wall time of the same `ansible-playbook` command on a play with no task (the
fixed cost of starting ansible). Every row, the loops included, is measured that way.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "integration"))
import netns  # noqa: E402  pylint: disable=wrong-import-position

netns.PREFIX = "hvb-"  # apart from the tests' hvt-* namespaces (and their cleanup)
VENV_BIN = os.path.join(REPO_ROOT, ".venv", "bin")
MODULE_PYTHON = os.path.join(VENV_BIN, "python")
PERSISTENT_NETNS_DIR = "/var/lib/hypervisor-networking/netns"
BENCH_SITE = os.path.join(sys.prefix, "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
PLAY_HEADER = "- hosts: localhost\n  gather_facts: false\n  tasks:\n"


class RootNamespace:
    """Where libvirtd is: the playbook runs as it is, in the benchmark's own (root) namespace."""

    @staticmethod
    def argv(*argv):
        return [str(arg) for arg in argv]


class Bench:
    def __init__(self, args):
        self.args = args
        self.workdir = tempfile.mkdtemp(prefix="hvb-")
        self.results = {"rows": [], "skipped": [], "profile": {}, "meta": {}}
        self.counter = 0
        self.empty_s = None

    # ---- plumbing ----------------------------------------------------------------------
    def log(self, text):
        sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), text))
        sys.stderr.flush()

    def path(self, name):
        self.counter += 1
        return os.path.join(self.workdir, "%03d-%s" % (self.counter, name))

    def namespace(self, name):
        return netns.Netns.create(name)

    def destroy(self, ns):
        ns.destroy()
        shutil.rmtree(os.path.join(PERSISTENT_NETNS_DIR, ns.name), ignore_errors=True)

    def env(self, extra=None):
        env = dict(os.environ)
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([os.path.join(REPO_ROOT, ".collections"), BENCH_SITE]),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
            "ANSIBLE_LOCAL_TEMP": os.path.join(self.workdir, "ansible-local-tmp"),
            "ANSIBLE_REMOTE_TEMP": os.path.join(self.workdir, "ansible-remote-tmp"),
        })
        env.update(extra or {})
        return env

    def playbook(self, ns, tasks_yaml, extra_vars=None, env=None, interpreter=MODULE_PYTHON, expect_changed=None):
        """Run one play inside `ns`; return its wall time in seconds."""
        play = self.path("play.yml")
        with open(play, "w", encoding="utf-8") as handle:
            handle.write(PLAY_HEADER + (tasks_yaml or "    []\n"))
        vars_file = self.path("vars.json")
        with open(vars_file, "w", encoding="utf-8") as handle:
            json.dump(extra_vars or {}, handle)
        argv = ns.argv(os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                       "-e", "ansible_python_interpreter=" + interpreter, "-e", "@" + vars_file, play)
        started = time.perf_counter()
        proc = subprocess.run(argv, env=self.env(env), cwd=self.workdir, capture_output=True, text=True, check=False,
                              timeout=3600)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError("ansible-playbook failed (rc=%d):\n%s\n%s" % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
        if expect_changed is not None:
            changed = "changed=0 " not in proc.stdout
            if changed != expect_changed:
                raise RuntimeError("expected changed=%s:\n%s" % (expect_changed, proc.stdout[-3000:]))
        return wall

    def empty_playbook_s(self):
        if self.empty_s is None:
            ns = self.namespace("empty")
            try:
                self.empty_s = statistics.median(self.playbook(ns, None) for _rep in range(self.args.reps))
            finally:
                self.destroy(ns)
            self.results["meta"]["empty_playbook_s"] = self.empty_s
            self.log("empty ansible-playbook: %.2f s" % self.empty_s)
            ns = self.namespace("ping")
            try:
                ping = statistics.median(self.playbook(ns, "    - ansible.builtin.ping:\n") for _rep in range(self.args.reps))
            finally:
                self.destroy(ns)
            # any module task costs this much beyond the empty play: the floor of a re-run through ansible
            self.results["meta"]["ping_task_own_s"] = max(ping - self.empty_s, 0.0)
            self.log("one ansible.builtin.ping task: %.2f s own" % self.results["meta"]["ping_task_own_s"])
        return self.empty_s

    def record(self, group, what, n, seconds, own=True, note="", baseline=None):
        baseline = self.empty_playbook_s() if baseline is None else baseline
        row = {"group": group, "what": what, "n": n, "wall_s": seconds,
               "own_s": max(seconds - baseline, 0.0) if own else seconds, "note": note}
        self.results["rows"].append(row)
        self.log("%s %s N=%d: %.2f s (own %.2f s)" % (group, what, n, row["wall_s"], row["own_s"]))
        return row

    def skip(self, group, what, reason):
        self.results["skipped"].append({"group": group, "what": what, "reason": reason})
        self.log("skipped %s %s: %s" % (group, what, reason))

    # ---- taps --------------------------------------------------------------------------
    @staticmethod
    def tap_config(n):
        return [{"name": "hvb%d" % i, "kind": "tap", "multi_queue": True, "bridge": "hvbbr0"} for i in range(n)]

    def tap_namespace(self):
        ns = self.namespace("tap")
        ns.run("ip", "link", "add", "hvbbr0", "type", "bridge")
        ns.run("ip", "link", "set", "hvbbr0", "up")
        return ns

    def check_taps(self, ns, n):
        links = {link["ifname"]: link for link in ns.links()}
        missing = [i for i in range(n) if links.get("hvb%d" % i, {}).get("master") != "hvbbr0"]
        if missing:
            raise RuntimeError("%d taps missing or not on the bridge" % len(missing))

    def taps_floor(self, n):
        times = []
        for _rep in range(self.args.reps):
            ns = self.tap_namespace()
            try:
                batch = self.path("taps.batch")
                with open(batch, "w", encoding="utf-8") as handle:
                    for i in range(n):
                        handle.write("tuntap add name hvb%d mode tap vnet_hdr multi_queue\n" % i)
                        handle.write("link set hvb%d master hvbbr0 up\n" % i)
                started = time.perf_counter()
                ns.run("ip", "-batch", batch, timeout=3600)
                times.append(time.perf_counter() - started)
                self.check_taps(ns, n)
            finally:
                self.destroy(ns)
        return self.record("taps", "floor: ip -batch", n, statistics.median(times), own=False)

    def taps_module(self, n, rss=False):
        task = "    - hypervisor.networking.vm_interface:\n        config: \"{{ taps }}\"\n"
        first, again, peaks = [], [], []
        extra_env, interpreter = None, MODULE_PYTHON
        if rss:
            rss_file = self.path("rss.txt")
            extra_env = {"HVB_RSS_FILE": rss_file}
            interpreter = self.path("python-rss")
            with open(interpreter, "w", encoding="utf-8") as handle:
                handle.write('#!/bin/sh\nexec %s %s "$@"\n' % (MODULE_PYTHON, os.path.join(HERE, "peak_rss.py")))
            os.chmod(interpreter, 0o755)
        for _rep in range(self.args.reps):
            ns = self.tap_namespace()
            try:
                first.append(self.playbook(ns, task, {"taps": self.tap_config(n)}, expect_changed=True))
                self.check_taps(ns, n)
                again.append(self.playbook(ns, task, {"taps": self.tap_config(n)}, expect_changed=False,
                                           env=extra_env, interpreter=interpreter))
            finally:
                self.destroy(ns)
        self.record("taps", "vm_interface first run", n, statistics.median(first))
        self.record("taps", "vm_interface re-run", n, statistics.median(again))
        if rss:
            with open(rss_file, encoding="utf-8") as handle:
                peaks = [int(line) for line in handle if line.strip()]
            self.results["meta"]["peak_rss_mib_n%d_rerun" % n] = max(peaks) / 1024.0
            # and of a first run
            ns = self.tap_namespace()
            try:
                self.playbook(ns, task, {"taps": self.tap_config(n)}, env=extra_env, interpreter=interpreter)
            finally:
                self.destroy(ns)
            with open(rss_file, encoding="utf-8") as handle:
                peaks = [int(line) for line in handle if line.strip()]
            self.results["meta"]["peak_rss_mib_n%d" % n] = max(peaks) / 1024.0
            self.log("peak RSS at N=%d: %.0f MiB" % (n, max(peaks) / 1024.0))

    def taps_command_loop(self, n):
        task = ("    - ansible.builtin.command: ip tuntap add name {{ item }} mode tap vnet_hdr multi_queue\n"
                "      loop: \"{{ names }}\"\n"
                "    - ansible.builtin.command: ip link set {{ item }} master hvbbr0 up\n"
                "      loop: \"{{ names }}\"\n")
        ns = self.tap_namespace()
        try:
            wall = self.playbook(ns, task, {"names": ["hvb%d" % i for i in range(n)]})
            self.check_taps(ns, n)
        finally:
            self.destroy(ns)
        return self.record("taps", "ansible.builtin.command loop", n, wall, note="one repetition")

    def profile_noop(self, n):
        """cProfile of one no-op re-run, in-process: where the module's time goes."""
        ns = self.tap_namespace()
        try:
            request = self.path("request.json")
            with open(request, "w", encoding="utf-8") as handle:
                json.dump({"module": "vm_interface", "args": {"config": self.tap_config(n)}}, handle)
            ns.run(MODULE_PYTHON, os.path.join(HERE, "inprocess.py"), request, timeout=3600)
            runs = []
            for _rep in range(self.args.reps):
                runs.append(json.loads(ns.run(MODULE_PYTHON, os.path.join(HERE, "inprocess.py"), request).stdout))
            stats_file = self.path("noop.pstats")
            ns.run(MODULE_PYTHON, os.path.join(HERE, "inprocess.py"), request, "--profile", stats_file)
        finally:
            self.destroy(ns)
        stats = pstats.Stats(stats_file)
        # (label, file name ending, function): cumulative seconds of the outermost call of each phase
        phases = (
            ("read the host (netlink dumps, OVSDB)", "backend/ovsdb.py", "read"),
            ("argument spec (AnsibleModule validates the config)", "module_utils/argspec.py", "checked_module"),
            ("model: validate and build the objects", "module_utils/engine.py", "_validate"),
            ("plan: compare desired with current", "module_utils/resource/interface.py", "plan_object"),
            ("persistence: load the saved intent", "module_utils/persist.py", "load"),
            ("persistence: the intent to save, compared with the saved one", "module_utils/engine.py", "_saved_intent"),
            ("persistence: plan the save", "module_utils/persist.py", "plan_save"),
            ("result: JSON of before/after/diff", "module_utils/basic.py", "exit_json"),
        )
        found = {}
        for (filename, _line, func), row in stats.stats.items():  # pylint: disable=no-member
            for label, suffix, name in phases:
                if func == name and filename.endswith(suffix):
                    found[label] = max(found.get(label, 0.0), row[3])
        total = statistics.median(r["import_s"] + r["run_s"] for r in runs)
        self.results["profile"] = {
            "n": n,
            "in_process_s": total,
            "import_s": statistics.median(r["import_s"] for r in runs),
            "profiled_phases_s": found,
            "profiled_total_s": stats.total_tt,  # pylint: disable=no-member
        }
        self.log("in-process no-op of %d taps: %.2f s; profile: %s" % (n, total, found))

    # ---- OVS-DPDK ----------------------------------------------------------------------
    def ovs_available(self):
        if not os.path.exists("/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"):
            return "openvswitch-switch-dpdk is not installed"
        proc = subprocess.run(["pgrep", "-f", "ovs-vswitchd"], capture_output=True, text=True, check=False)
        if proc.stdout.strip():
            return "an ovs-vswitchd is running (a test run shares the hugepages): run the benchmark on a quiet machine"
        return None

    def ovs_run(self, n, loop_n):
        import ovs_dpdk  # pylint: disable=import-outside-toplevel
        ns = self.namespace("ovs")
        ovs = ovs_dpdk.OvsDpdk(ns, os.path.join(self.workdir, "ovs-%d" % n))
        try:
            ovs.start()
            ovs.vsctl("add-br", "hvbbr0", "--", "set", "bridge", "hvbbr0", "datapath_type=netdev")
            # ovs-vswitchd's PMD thread polls one of the cores: the empty play is timed again beside it
            baseline = statistics.median(self.playbook(ns, None, env=ovs.env()) for _rep in range(self.args.reps))
            ping = statistics.median(self.playbook(ns, "    - ansible.builtin.ping:\n", env=ovs.env()) for _rep in range(self.args.reps))
            self.results["meta"]["ovs_empty_playbook_s_n%d" % n] = baseline
            self.results["meta"]["ovs_ping_task_own_s_n%d" % n] = max(ping - baseline, 0.0)
            self.log("with OVS-DPDK running: empty ansible-playbook %.2f s, ping task %.2f s own" % (baseline, ping - baseline))
            sock = os.path.join(self.workdir, "vhu")
            os.makedirs(sock, exist_ok=True)

            def clear():
                names = [p for p in ovs.vsctl("list-ports", "hvbbr0").split() if p]
                if names:
                    args = []
                    for name in names:
                        args += ["--", "del-port", "hvbbr0", name]
                    ovs.vsctl(*args)

            def count():
                return len([p for p in ovs.vsctl("list-ports", "hvbbr0").split() if p])

            # floor: one transaction
            times = []
            for _rep in range(self.args.reps):
                args = []
                for i in range(n):
                    args += ["--", "add-port", "hvbbr0", "vhu%d" % i, "--", "set", "Interface", "vhu%d" % i,
                             "type=dpdkvhostuserclient", "options:vhost-server-path=%s/vhu%d.sock" % (sock, i)]
                started = time.perf_counter()
                ovs.vsctl(*args, timeout=600)
                times.append(time.perf_counter() - started)
                if count() != n:
                    raise RuntimeError("the ovs-vsctl floor made %d ports, not %d" % (count(), n))
                clear()
            self.record("ovs", "floor: one ovs-vsctl transaction", n, statistics.median(times), own=False)

            config = [{"name": "vhu%d" % i, "bridge": "hvbbr0", "type": "dpdkvhostuserclient",
                       "vhost_server_path": "%s/vhu%d.sock" % (sock, i)} for i in range(n)]
            task = ("    - hypervisor.networking.ovs_dpdk_port:\n        database: \"%s\"\n        config: \"{{ ports }}\"\n"
                    % ovs.database)
            first, again = [], []
            for _rep in range(self.args.reps):
                first.append(self.playbook(ns, task, {"ports": config}, env=ovs.env(), expect_changed=True))
                if count() != n:
                    raise RuntimeError("ovs_dpdk_port made %d ports, not %d" % (count(), n))
                again.append(self.playbook(ns, task, {"ports": config}, env=ovs.env(), expect_changed=False))
                self.playbook(ns, "    - hypervisor.networking.ovs_dpdk_port:\n        database: \"%s\"\n"
                              "        state: deleted\n" % ovs.database, env=ovs.env())
                clear()
            self.record("ovs", "ovs_dpdk_port first run", n, statistics.median(first), baseline=baseline)
            self.record("ovs", "ovs_dpdk_port re-run", n, statistics.median(again), baseline=baseline)

            if loop_n:
                task = ("    - openvswitch.openvswitch.openvswitch_port:\n"
                        "        bridge: hvbbr0\n        port: \"{{ item }}\"\n"
                        "        set: \"Interface {{ item }} type=dpdkvhostuserclient options:vhost-server-path=%s/{{ item }}.sock\"\n"
                        "      loop: \"{{ names }}\"\n" % sock)
                wall = self.playbook(ns, task, {"names": ["vhu%d" % i for i in range(loop_n)]}, env=ovs.env())
                if count() != loop_n:
                    raise RuntimeError("the openvswitch_port loop made %d ports, not %d" % (count(), loop_n))
                clear()
                self.record("ovs", "openvswitch_port loop", loop_n, wall, note="one repetition", baseline=baseline)
        finally:
            ovs.stop()
            self.destroy(ns)

    # ---- NAT networks ------------------------------------------------------------------
    @staticmethod
    def nat_config(n):
        config = []
        for i in range(n):
            base, block = ("198.51.100", i) if i < 16 else ("203.0.113", i - 16)
            first = block * 16
            config.append({
                "name": "hvb-n%d" % i, "bridge": {"name": "hvb-n%d" % i}, "forward": {"mode": "nat"},
                "ips": [{"address": "%s.%d" % (base, first + 1), "prefix": 28,
                         "dhcp": {"ranges": [{"start": "%s.%d" % (base, first + 2), "end": "%s.%d" % (base, first + 14)}]}}],
            })
        return config

    def libvirt_accepted(self):
        """Whether vm_network takes `backend: libvirt` (another branch is adding it)."""
        ns = self.namespace("probe")
        try:
            self.playbook(ns, "    - hypervisor.networking.vm_network:\n        backend: libvirt\n        state: rendered\n"
                          "        config: \"{{ nets }}\"\n", {"nets": self.nat_config(1)})
            return None
        except RuntimeError as exc:
            said = [line.strip() for line in str(exc).splitlines() if "backend" in line]
            return "vm_network does not accept `backend: libvirt` in this checkout yet%s" % (
                " (%s)" % said[0][:200] if said else "")
        finally:
            self.destroy(ns)

    @staticmethod
    def libvirtd_reachable():
        if not shutil.which("virsh"):
            return "virsh is not installed"
        proc = subprocess.run(["virsh", "-c", "qemu:///system", "uri"], capture_output=True, text=True, check=False, timeout=30)
        if proc.returncode != 0:
            return "libvirtd is not running (virsh -c qemu:///system: %s)" % (proc.stderr.strip().splitlines() or ["no answer"])[-1][:160]
        return None

    def nat_run(self, n):
        task = "    - hypervisor.networking.vm_network:\n        config: \"{{ nets }}\"\n"
        first, again = [], []
        for _rep in range(self.args.reps):
            ns = self.namespace("nat")
            try:
                first.append(self.playbook(ns, task, {"nets": self.nat_config(n)}, expect_changed=True))
                links = {link["ifname"] for link in ns.links()}
                if not all("hvb-n%d" % i in links for i in range(n)):
                    raise RuntimeError("vm_network did not make every bridge")
                again.append(self.playbook(ns, task, {"nets": self.nat_config(n)}, expect_changed=False))
                self.playbook(ns, "    - hypervisor.networking.vm_network:\n        state: deleted\n")
            finally:
                self.destroy(ns)
        self.record("nat", "vm_network (kernel) first run", n, statistics.median(first))
        self.record("nat", "vm_network (kernel) re-run", n, statistics.median(again))
        daemon = self.libvirtd_reachable()
        backend = daemon or self.libvirt_accepted()
        if backend:
            self.skip("nat", "vm_network (libvirt backend)", backend)
        if daemon:
            self.skip("nat", "community.libvirt.virt_net loop", daemon)
            return
        self.libvirt_rows(n, with_module=backend is None)

    def libvirt_rows(self, n, with_module):
        """libvirtd lives in the root namespace: hvb- networks on documentation subnets only, all removed."""
        with open("/proc/sys/net/ipv4/ip_forward", encoding="utf-8") as handle:
            forward_before = handle.read().strip()
        root = RootNamespace()
        nets = self.nat_config(n)
        xml = ("<network><name>{{ item.name }}</name><forward mode='nat'/><bridge name='{{ item.bridge.name }}'/>"
               "<ip address='{{ item.ips[0].address }}' prefix='28'><dhcp><range start='{{ item.ips[0].dhcp.ranges[0].start }}'"
               " end='{{ item.ips[0].dhcp.ranges[0].end }}'/></dhcp></ip></network>")
        loop_tasks = (
            "    - community.libvirt.virt_net: {command: define, name: \"{{ item.name }}\", xml: \"%s\"}\n"
            "      loop: \"{{ nets }}\"\n"
            "    - community.libvirt.virt_net: {state: active, name: \"{{ item.name }}\"}\n"
            "      loop: \"{{ nets }}\"\n"
            "    - community.libvirt.virt_net: {autostart: true, name: \"{{ item.name }}\"}\n"
            "      loop: \"{{ nets }}\"\n" % xml)
        cleanup = ("    - community.libvirt.virt_net: {state: inactive, name: \"{{ item.name }}\"}\n"
                   "      loop: \"{{ nets }}\"\n      ignore_errors: true\n"
                   "    - community.libvirt.virt_net: {state: absent, name: \"{{ item.name }}\"}\n"
                   "      loop: \"{{ nets }}\"\n      ignore_errors: true\n")
        # persist: false in the root namespace: no saved state or boot unit on the host (libvirt autostarts its own)
        module_task = ("    - hypervisor.networking.vm_network:\n        backend: libvirt\n        persist: false\n"
                       "        config: \"{{ nets }}\"\n")
        try:
            first, again = [], []
            for _rep in range(self.args.reps if with_module else 0):
                first.append(self.playbook(root, module_task, {"nets": nets}, expect_changed=True))
                again.append(self.playbook(root, module_task, {"nets": nets}, expect_changed=False))
                self.playbook(root, "    - hypervisor.networking.vm_network:\n        backend: libvirt\n        persist: false\n"
                              "        state: deleted\n        config: \"{{ nets }}\"\n", {"nets": nets})
            if with_module:
                self.record("nat", "vm_network (libvirt) first run", n, statistics.median(first))
                self.record("nat", "vm_network (libvirt) re-run", n, statistics.median(again))
            wall = self.playbook(root, loop_tasks, {"nets": nets})
            self.record("nat", "community.libvirt.virt_net loop", n, wall, note="one repetition")
        finally:
            try:
                self.playbook(root, cleanup, {"nets": nets})
            finally:
                with open("/proc/sys/net/ipv4/ip_forward", "w", encoding="utf-8") as handle:
                    handle.write(forward_before)

    # ---- the run -----------------------------------------------------------------------
    def run(self):
        args = self.args
        self.results["meta"].update({
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "scripts/benchmark.sh" + (" --quick" if args.quick else ""),
            "machine": "%s, %d CPUs, %.0f GiB, Linux %s" % (_cpu_model(), os.cpu_count() or 0, _memory_gib(), platform.release()),
            "load_before": os.getloadavg(),
            "reps": args.reps,
        })
        self.empty_playbook_s()
        if "taps" in args.parts:
            for n in args.tap_ns:
                self.taps_floor(n)
                self.taps_module(n, rss=(n == max(args.tap_ns)))
            self.taps_command_loop(args.tap_loop_n)
            self.profile_noop(args.tap_headline)
        if "ovs" in args.parts:
            reason = self.ovs_available()
            if reason:
                self.skip("ovs", "all OVS-DPDK rows", reason)
            else:
                for n in args.ovs_ns:
                    self.ovs_run(n, args.ovs_loop_n if n == max(args.ovs_ns) else 0)
        if "nat" in args.parts:
            self.nat_run(args.nat_n)
        self.results["meta"]["load_after"] = os.getloadavg()
        return self.results


def _cpu_model():
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def _memory_gib():
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024.0 / 1024.0
    return 0.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small N, one repetition (a smoke run, not figures)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--parts", default="taps,ovs,nat")
    parser.add_argument("--results", default=os.path.join(REPO_ROOT, "build", "benchmark", "results.json"))
    parser.add_argument("--report-only", action="store_true", help="write the page from --results, measure nothing")
    args = parser.parse_args(argv)
    args.parts = args.parts.split(",")
    if args.quick:
        args.reps, args.tap_ns, args.tap_headline, args.tap_loop_n = 1, [10, 50], 50, 10
        args.ovs_ns, args.ovs_loop_n, args.nat_n = [10], 10, 4
    else:
        args.tap_ns, args.tap_headline, args.tap_loop_n = [10, 100, 500, 1000], 500, 100
        args.ovs_ns, args.ovs_loop_n, args.nat_n = [10, 100], 100, 20
    if not args.report_only:
        bench = Bench(args)
        try:
            results = bench.run()
        finally:
            shutil.rmtree(bench.workdir, ignore_errors=True)
        os.makedirs(os.path.dirname(args.results), exist_ok=True)
        with open(args.results, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)
    with open(args.results, encoding="utf-8") as handle:
        results = json.load(handle)
    import report  # pylint: disable=import-outside-toplevel
    report.write(results, os.path.join(REPO_ROOT, "docs"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
