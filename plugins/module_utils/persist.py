# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persistence: the desired state survives a reboot. One mechanism for every module.

- Each module saves the full desired config of its kind as JSON under STATE_ROOT/state
  (per network namespace under STATE_ROOT/netns/NAME when run inside `ip netns exec NAME`).
- The collection's core is copied next to a `restore` program that re-applies every saved
  object (state replaced), as os-net-config does at boot: to BUNDLE_DIR for the host, into
  the namespace's own state directory for a namespace.
- In the host's own namespace a systemd oneshot unit runs that program at boot, after the
  network is up and before libvirtd and the VMs start.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import zipfile

STATE_ROOT = "/etc/hypervisor-networking"
BUNDLE_DIR = "/usr/local/lib/hypervisor-networking"
UNIT_PATH = "/etc/systemd/system/hypervisor-networking-restore.service"
UNIT_LINK = "/etc/systemd/system/multi-user.target.wants/hypervisor-networking-restore.service"
PACKAGE = "ansible_collections/hypervisor/networking/plugins/module_utils"
# hugepages and driver bindings first (DPDK needs them), then networks, the Open_vSwitch keys,
# netdev bridges, their ports, and the VMs' interfaces on them
KINDS_IN_ORDER = ("hugepages", "pci_driver", "vm_network", "ovs_dpdk_global", "ovs_dpdk_bridge", "ovs_dpdk_port", "vm_interface")

RESTORE_PROGRAM = '''#!%(python)s
"""Re-apply the VM networking saved by hypervisor.networking (written by the collection)."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ansible_collections.hypervisor.networking.plugins.module_utils.entry import restore_main as main
sys.exit(main())
'''

UNIT = """[Unit]
Description=Restore VM networking saved by hypervisor.networking
Documentation=https://github.com/hypervisor-networking/hypervisor.networking
Wants=network-online.target
After=network-online.target
Before=libvirtd.service libvirt-guests.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=%s

[Install]
WantedBy=multi-user.target
"""


def current_netns_name():
    """Name of the network namespace we run in when it is not the host's own, else None.

    A namespace bound under /run/netns (`ip netns`) is known by that name. Another one
    (`unshare -n`, a container) is told apart from the host's by comparing with PID 1 where
    that is readable, and gets a name from its inode so it never writes the host's state.
    """
    try:
        own = os.stat("/proc/self/ns/net")
    except OSError:
        return None
    try:
        names = sorted(os.listdir("/run/netns"))
    except OSError:
        names = []
    for name in names:
        try:
            st = os.stat(os.path.join("/run/netns", name))
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino):
            return name
    try:
        init = os.stat("/proc/1/ns/net")
    except OSError:
        return None  # sandboxes often deny /proc/1/ns: only named namespaces are told apart
    if (init.st_dev, init.st_ino) != (own.st_dev, own.st_ino):
        return "unnamed-%d" % own.st_ino
    return None


class Store:
    def __init__(self, root=STATE_ROOT, netns=None):
        self.netns = netns if netns is not None else current_netns_name()
        self.directory = os.path.join(root, "netns", self.netns) if self.netns else os.path.join(root, "state")

    def path(self, kind):
        return os.path.join(self.directory, kind + ".json")

    def load(self, kind, key="name"):
        """{identity: saved config item}; `key` is the item's identity field (name, address, size)."""
        try:
            with open(self.path(kind)) as handle:
                document = json.load(handle)
        except (OSError, ValueError):
            return {}
        return {item[key]: item for item in document.get("config", []) if isinstance(item, dict) and key in item}

    def _read_text(self, kind):
        try:
            with open(self.path(kind)) as handle:
                return handle.read()
        except OSError:
            return None

    def render(self, kind, objects):
        document = {"kind": kind, "config": [objects[name] for name in sorted(objects)]}
        return json.dumps(document, indent=2, sort_keys=True) + "\n"

    @property
    def bundle_directory(self):
        return self.directory if self.netns else BUNDLE_DIR

    def plan_save(self, plan, kind, objects):
        """Add a save action to `plan` when anything of the restore path would change.

        Returns a warning when the host has no boot hook (no systemd), else None.
        """
        old_text = self._read_text(kind)
        new_text = self.render(kind, objects)
        bundle = Bundle(self.bundle_directory)
        bundle_stale = bundle.stale()
        unit = None if self.netns else BootUnit(os.path.join(BUNDLE_DIR, "restore"))
        unit_stale = bool(unit and unit.available() and unit.stale())
        warning = None
        if unit and not unit.available():
            warning = "this host has no systemd: the saved %s state is not re-applied at boot unless %s runs then" % (
                kind, os.path.join(BUNDLE_DIR, "restore"))
        if old_text == new_text and not bundle_stale and not unit_stale:
            return warning
        path = self.path(kind)
        where = "network namespace %s" % self.netns if self.netns else "this host"

        def save():
            if bundle_stale:
                bundle.install()
            if unit_stale:
                unit.install()
            _write_atomic(path, new_text)

        def undo():
            if old_text is None:
                _remove(path)
            else:
                _write_atomic(path, old_text)

        plan.add("save the desired %s state for boot-time restore (%s)" % (kind, where), save, undo)
        return warning


class BootUnit:
    """The systemd unit that runs the host's restore program at boot."""

    def __init__(self, program):
        self.text = UNIT % program

    @staticmethod
    def available():
        return os.path.isdir("/run/systemd/system") or os.path.isdir("/etc/systemd/system")

    def stale(self):
        try:
            with open(UNIT_PATH) as handle:
                if handle.read() != self.text:
                    return True
        except OSError:
            return True
        return not os.path.islink(UNIT_LINK)

    def install(self):
        _write_atomic(UNIT_PATH, self.text, mode=0o644)
        os.makedirs(os.path.dirname(UNIT_LINK), exist_ok=True)
        if not os.path.lexists(UNIT_LINK):
            os.symlink(UNIT_PATH, UNIT_LINK)


class Bundle:
    """The collection's core plus a restore program, copied from the running module."""

    def __init__(self, directory):
        self.directory = directory

    @staticmethod
    def _source_files():
        """{relative path: bytes} of our module_utils, from the AnsiballZ zip or a source tree."""
        from ansible_collections.hypervisor.networking.plugins import module_utils

        files = {}
        archive = getattr(getattr(module_utils, "__loader__", None), "archive", None)
        if archive:
            with zipfile.ZipFile(archive) as payload:
                for name in payload.namelist():
                    if name.startswith(PACKAGE + "/") and name.endswith(".py"):
                        files[name] = payload.read(name)
        else:
            root = os.path.dirname(module_utils.__file__)
            for directory, _dirs, names in os.walk(root):
                for name in names:
                    if name.endswith(".py"):
                        full = os.path.join(directory, name)
                        with open(full, "rb") as handle:
                            files[PACKAGE + "/" + os.path.relpath(full, root)] = handle.read()
        parts = PACKAGE.split("/")
        for depth in range(1, len(parts) + 1):
            files.setdefault("/".join(parts[:depth]) + "/__init__.py", b"")
        files = {"lib/" + name: content for name, content in files.items()}
        files["restore"] = (RESTORE_PROGRAM % {"python": sys.executable}).encode()
        return files

    @staticmethod
    def _digest(files):
        digest = hashlib.sha256()
        for name in sorted(files):
            digest.update(name.encode() + b"\0" + files[name] + b"\0")
        return digest.hexdigest()

    def stale(self):
        try:
            with open(os.path.join(self.directory, "DIGEST")) as handle:
                installed = handle.read().strip()
        except OSError:
            return True
        return installed != self._digest(self._source_files())

    def install(self):
        files = self._source_files()
        for name, content in files.items():
            target = os.path.join(self.directory, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            _write_atomic(target, content, binary=True, mode=0o755 if name == "restore" else 0o644)
        _write_atomic(os.path.join(self.directory, "DIGEST"), self._digest(files) + "\n", mode=0o644)


def _write_atomic(path, content, binary=False, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temp = path + ".tmp"
    with open(temp, "wb" if binary else "w") as handle:
        handle.write(content)
    os.chmod(temp, mode)
    os.replace(temp, path)


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
