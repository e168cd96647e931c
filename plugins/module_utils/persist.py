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

        With nothing left to save the state file goes, and the restore program and boot unit
        with it once no kind has anything saved: `deleted` leaves no file behind. Undoing the
        action puts every file it touched back as it was.
        Returns a warning when the host has no boot hook (no systemd), else None.
        """
        old_text = self._read_text(kind)
        new_text = self.render(kind, objects) if objects else None
        others = any(os.path.exists(self.path(other)) for other in KINDS_IN_ORDER if other != kind)
        keep_restore = new_text is not None or others
        bundle = Bundle(self.bundle_directory)
        unit = None if self.netns else BootUnit(os.path.join(BUNDLE_DIR, "restore"))
        if keep_restore:
            bundle_change = bundle.stale()
            unit_change = bool(unit and unit.available() and unit.stale())
        else:
            bundle_change = bundle.installed()
            unit_change = bool(unit and unit.installed())
        warning = None
        if unit and not unit.available() and new_text is not None:
            warning = "this host has no systemd: the saved %s state is not re-applied at boot unless %s runs then" % (
                kind, os.path.join(BUNDLE_DIR, "restore"))
        if old_text == new_text and not bundle_change and not unit_change:
            return warning
        path = self.path(kind)
        where = "network namespace %s" % self.netns if self.netns else "this host"
        touched = [path] + (bundle.paths() if bundle_change else []) + (unit.paths() if unit_change else [])

        def save():
            for changed, part in ((bundle_change, bundle), (unit_change, unit)):
                if changed and keep_restore:
                    part.install()
                elif changed:
                    part.remove()
            if new_text is None:
                _remove(path)
                _prune(self.directory)
            else:
                _write_atomic(path, new_text)

        if new_text is None:
            what = "remove the saved %s state (%s)%s" % (kind, where, "" if keep_restore else " and the restore program")
        else:
            what = "save the desired %s state for boot-time restore (%s)" % (kind, where)
        plan.add(what, save, _Files(touched).put_back)
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

    @staticmethod
    def installed():
        return os.path.lexists(UNIT_PATH) or os.path.lexists(UNIT_LINK)

    @staticmethod
    def paths():
        return [UNIT_LINK, UNIT_PATH]

    def remove(self):
        for path in self.paths():
            _remove(path)


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

    def installed(self):
        return os.path.exists(os.path.join(self.directory, "DIGEST"))

    def paths(self):
        """Every file the bundle has or would have (lib/, restore, DIGEST), for undo and removal."""
        found = {os.path.join(self.directory, name) for name in self._source_files()}
        found.update(os.path.join(self.directory, name) for name in ("restore", "DIGEST"))
        for directory, _dirs, names in os.walk(os.path.join(self.directory, "lib")):
            found.update(os.path.join(directory, name) for name in names)
        return sorted(found)

    def remove(self):
        for path in self.paths():
            _remove(path)
        _prune(os.path.join(self.directory, "lib"))
        _prune(self.directory)

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


def _prune(directory):
    """Remove `directory` and the directories below it when they hold no file."""
    for current, _dirs, _names in sorted(os.walk(directory), key=lambda entry: -len(entry[0])):
        try:
            os.rmdir(current)
        except OSError:
            pass  # not empty (or gone): it stays


class _Files:
    """The files an action may touch, as they were: put_back() restores exactly that."""

    def __init__(self, paths):
        self.before = {}
        self.missing_dirs = set()
        for path in paths:
            self.before[path] = _read_file(path)
            parent = os.path.dirname(path)
            while parent and not os.path.isdir(parent):
                self.missing_dirs.add(parent)
                parent = os.path.dirname(parent)

    def put_back(self):
        for path, was in self.before.items():
            if was is None:
                _remove(path)
            elif was[0] == "link":
                _remove(path)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                os.symlink(was[1], path)
            else:
                _write_atomic(path, was[1], binary=True, mode=was[0])
        for directory in sorted(self.missing_dirs, key=len, reverse=True):
            _prune(directory)


def _read_file(path):
    """('link', target), (mode, bytes), or None when absent."""
    if os.path.islink(path):
        return ("link", os.readlink(path))
    try:
        with open(path, "rb") as handle:
            return (os.stat(path).st_mode & 0o7777, handle.read())
    except FileNotFoundError:
        return None
