# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One dnsmasq per network: its files, its process, its supervision.

Files are kept per scope (the host, or one `ip netns` namespace) at the paths persist.Layout gives:
  config  <runtime dir>/dnsmasq/<network>.conf   (written again by every run and by the restore)
  pid     <runtime dir>/dnsmasq/<network>.pid
  leases  <runtime dir>/dnsmasq/<network>.leases (kept across dnsmasq restarts and runs)
A dnsmasq started under the previous layout is still found (its pid file and config path), so
the next run replaces it; its lease file moves with it.
Where systemd runs (/run/systemd/system exists) each instance is a unit
`hvnet-dnsmasq-<scope>-<network>.service` (inside a namespace with NetworkNamespacePath=);
elsewhere dnsmasq is started directly and found again through its pid file.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time

from ansible_collections.hypervisor.networking.plugins.module_utils.backend.nftables import find_binary
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError
from ansible_collections.hypervisor.networking.plugins.module_utils.persist import prune, remove_file

UNIT_DIR = "/etc/systemd/system"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
_UNIT_SAFE = re.compile(r"[^A-Za-z0-9_.-]")

UNIT = """[Unit]
Description=dnsmasq of VM network %(name)s (hypervisor.networking)
After=network.target hypervisor-networking-restore.service

[Service]
Type=simple
ExecStart=%(binary)s --keep-in-foreground --conf-file=%(conf)s
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
%(netns)s
[Install]
WantedBy=multi-user.target
"""


def service_user():
    """The unprivileged user and group dnsmasq drops to: dnsmasq if it exists, else nobody."""
    for name in ("dnsmasq", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        try:
            group = grp.getgrgid(entry.pw_gid).gr_name
        except KeyError:
            group = str(entry.pw_gid)
        return name, group
    raise HostError("neither user dnsmasq nor nobody exists; dnsmasq cannot drop root")


class Dnsmasq:
    def __init__(self, layout):
        self.layout = layout
        self.scope = layout.scope
        self.netns = layout.netns
        self.binary = find_binary("dnsmasq")
        self.conf_dir = layout.dnsmasq_dir
        self.run_dir = layout.dnsmasq_dir
        self.lease_dir = layout.dnsmasq_dir
        self.legacy = layout.legacy_dnsmasq_dirs
        self.systemd = os.path.isdir("/run/systemd/system")

    @property
    def available(self):
        return self.binary is not None

    def paths(self, name):
        return {"conf": os.path.join(self.conf_dir, name + ".conf"), "pid": os.path.join(self.run_dir, name + ".pid"),
                "leases": os.path.join(self.lease_dir, name + ".leases")}

    def legacy_paths(self, name):
        return {key: os.path.join(self.legacy[key], name + "." + key) for key in ("conf", "pid", "leases")}

    def unit_name(self, name):
        return "hvnet-dnsmasq-%s-%s.service" % (_UNIT_SAFE.sub("_", self.scope), _UNIT_SAFE.sub("_", name))

    # ---- reading ---------------------------------------------------------------------
    def read(self):
        """{network: {'conf': text, 'pid': pid or None}} for every config file of this scope."""
        result = {}
        for directory in (self.legacy["conf"], self.conf_dir):
            try:
                names = sorted(os.listdir(directory))
            except OSError:
                names = []
            for file_name in names:
                if not file_name.endswith(".conf"):
                    continue
                name = file_name[:-len(".conf")]
                with open(os.path.join(directory, file_name)) as handle:
                    conf = handle.read()
                result[name] = {"conf": conf, "pid": self.running_pid(name)}
        return result

    def running_pid(self, name):
        """The pid of this network's dnsmasq when it runs in our namespace, else None.

        Either layout's pid file and config path count: a dnsmasq of the previous layout, or one
        that a rollback started again with the previous layout's configuration text, is found.
        """
        candidates = (self.paths(name), self.legacy_paths(name))
        confs = [("--conf-file=%s" % paths["conf"]).encode() for paths in candidates]
        for paths in candidates:
            try:
                with open(paths["pid"]) as handle:
                    pid = int(handle.read().strip())
                with open("/proc/%d/cmdline" % pid, "rb") as handle:
                    cmdline = handle.read().split(b"\0")
                same_netns = os.stat("/proc/%d/ns/net" % pid).st_ino == os.stat("/proc/self/ns/net").st_ino
            except (OSError, ValueError):
                continue
            if same_netns and any(conf in cmdline for conf in confs):
                return pid
        return None

    # ---- changing ----------------------------------------------------------------------
    def write_conf(self, name, text):
        paths = self.paths(name)
        for directory in (self.conf_dir, self.run_dir, self.lease_dir):
            os.makedirs(directory, mode=0o755, exist_ok=True)
        legacy_leases = self.legacy_paths(name)["leases"]
        if os.path.exists(legacy_leases) and not os.path.exists(paths["leases"]):
            shutil.move(legacy_leases, paths["leases"])  # the previous layout's leases stay the network's
            prune(os.path.dirname(legacy_leases), self.layout.persistent_root)
        temp = paths["conf"] + ".tmp"
        with open(temp, "w") as handle:
            handle.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, paths["conf"])

    def remove_files(self, name, leases=True):
        """Remove the network's files (also those of the previous layout) and directories left empty."""
        for paths in (self.paths(name), self.legacy_paths(name)):
            for key in ("conf", "pid") + (("leases",) if leases else ()):
                remove_file(paths[key], self.layout.root_of(paths[key]))

    def start(self, name):
        if self.binary is None:
            raise HostError("dnsmasq is not installed (Debian/Ubuntu package dnsmasq-base)")
        if self.running_pid(name):
            return
        if self.systemd:
            self._write_unit(name)
            self._systemctl("enable", "--now", self.unit_name(name))
        else:
            self._start_direct(name)
        self._wait_running(name)

    def restart(self, name):
        if self.systemd:
            self._write_unit(name)
            self._systemctl("restart", self.unit_name(name))
            self._wait_running(name)
            return
        self.stop(name, keep_unit=True)
        self.start(name)

    def stop(self, name, keep_unit=False):
        self._stop(name, keep_unit)
        legacy = self.legacy_paths(name)  # a dnsmasq of the previous layout is stopped now: its files go
        for key in ("conf", "pid"):
            remove_file(legacy[key], self.layout.root_of(legacy[key]))

    def _stop(self, name, keep_unit):
        if self.systemd and not keep_unit:
            unit = os.path.join(UNIT_DIR, self.unit_name(name))
            if os.path.exists(unit):
                self._systemctl("disable", "--now", self.unit_name(name))
                os.unlink(unit)
                self._systemctl("daemon-reload")
        pid = self.running_pid(name)
        if pid is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + STOP_TIMEOUT
            while time.monotonic() < deadline:
                if not os.path.exists("/proc/%d" % pid) or _is_zombie(pid):
                    return
                time.sleep(0.05)
        raise HostError("dnsmasq of network %s (pid %d) did not stop" % (name, pid))

    def _start_direct(self, name):
        paths = self.paths(name)
        with tempfile.TemporaryFile(mode="w+") as errors:
            proc = subprocess.run([self.binary, "--conf-file=%s" % paths["conf"]], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=errors, timeout=START_TIMEOUT, check=False)
            errors.seek(0)
            message = errors.read().strip()
        if proc.returncode != 0:
            raise HostError("dnsmasq of network %s did not start: %s" % (name, self._scrub(message) or "exit %d" % proc.returncode))

    def _wait_running(self, name):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.running_pid(name):
                return
            time.sleep(0.05)
        raise HostError("dnsmasq of network %s did not come up within %d s" % (name, START_TIMEOUT))

    def _write_unit(self, name):
        netns = "NetworkNamespacePath=/run/netns/%s\n" % self.netns if self.netns else ""
        text = UNIT % {"name": name, "binary": self.binary, "conf": self.paths(name)["conf"], "netns": netns}
        path = os.path.join(UNIT_DIR, self.unit_name(name))
        with open(path + ".tmp", "w") as handle:
            handle.write(text)
        os.replace(path + ".tmp", path)
        self._systemctl("daemon-reload")

    def _systemctl(self, *args):
        proc = subprocess.run(["systemctl"] + list(args), capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            raise HostError("systemctl %s failed: %s" % (" ".join(args), self._scrub(proc.stderr.strip())))

    def _scrub(self, text):
        """No host paths in messages: name the files by role."""
        for root, label in ((self.conf_dir, "<config dir>"), (self.run_dir, "<run dir>"), (self.lease_dir, "<lease dir>")):
            text = text.replace(root, label)
        return text


def serving_from(directory):
    """Pids of the running dnsmasq processes started with a configuration file in `directory`.

    Any namespace, any layout: such a process keeps its namespace alive and still uses the
    directory's pid and lease files, even when the namespace's name is gone.
    """
    prefix = ("--conf-file=%s%s" % (os.path.normpath(directory), os.sep)).encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join("/proc", entry, "cmdline"), "rb") as handle:
                arguments = handle.read().split(b"\0")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if any(argument.startswith(prefix) for argument in arguments) and not _is_zombie(int(entry)):
            pids.append(int(entry))
    return pids


def _is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True
