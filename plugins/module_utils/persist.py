# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persistence: the desired state survives a reboot. One mechanism for every module.

- Each module saves the full desired config of its kind as JSON under STATE_ROOT
  (per network namespace under STATE_ROOT/netns/NAME when run inside `ip netns exec NAME`).
- The collection's core is copied to BUNDLE_DIR with a `restore` program that re-applies
  every saved kind (state replaced), as os-net-config does at boot.
- In the host's own namespace a systemd oneshot unit runs that program at boot, after the
  network is up and before libvirtd and VMs start.
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
KINDS_IN_ORDER = ("vm_network", "ovs_dpdk_port", "vm_interface")

RESTORE_PROGRAM = '''#!%(python)s
"""Re-apply the VM networking saved by hypervisor.networking (written by the collection)."""
import sys
sys.path.insert(0, %(bundle)r)
from ansible_collections.hypervisor.networking.plugins.module_utils.entry import restore_main as main
sys.exit(main())
'''

UNIT = """[Unit]
Description=Restore VM networking saved by hypervisor.networking
Documentation=https://github.com/hypervisor-networking/hypervisor.networking
Wants=network-online.target
After=network-online.target
Before=libvirtd.service libvirt-guests.service ovs-vswitchd.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=%s

[Install]
WantedBy=multi-user.target
"""


def current_netns_name():
    """Name of the named network namespace we run in (`ip netns`), None for the host's own.

    Compares our namespace with the ones bound under /run/netns, so it needs no access to
    PID 1 (sandboxes often deny /proc/1/ns).
    """
    try:
        own = os.stat("/proc/self/ns/net")
        names = os.listdir("/run/netns")
    except OSError:
        return None
    for name in sorted(names):
        try:
            st = os.stat(os.path.join("/run/netns", name))
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino):
            return name
    return None


class Store:
    def __init__(self, root=STATE_ROOT, netns=None):
        self.netns = netns if netns is not None else current_netns_name()
        self.directory = os.path.join(root, "netns", self.netns) if self.netns else os.path.join(root, "state")

    def path(self, kind):
        return os.path.join(self.directory, kind + ".json")

    def load(self, kind):
        try:
            with open(self.path(kind)) as handle:
                document = json.load(handle)
        except (OSError, ValueError):
            return {}
        return {item["name"]: item for item in document.get("config", []) if isinstance(item, dict) and "name" in item}

    def _read_text(self, kind):
        try:
            with open(self.path(kind)) as handle:
                return handle.read()
        except OSError:
            return None

    def render(self, kind, objects):
        document = {"kind": kind, "config": [objects[name] for name in sorted(objects)]}
        return json.dumps(document, indent=2, sort_keys=True) + "\n"

    def plan_save(self, plan, kind, objects):
        """Add a save action to `plan` when the saved state or the restore program would change."""
        old_text = self._read_text(kind)
        new_text = self.render(kind, objects)
        bundle = Bundle()
        bundle_stale = bundle.stale()
        if old_text == new_text and not bundle_stale:
            return
        path = self.path(kind)
        where = "network namespace %s" % self.netns if self.netns else "this host"

        def save():
            if bundle_stale:
                bundle.install(with_unit=self.netns is None)
            _write_atomic(path, new_text)

        def undo():
            if old_text is None:
                _remove(path)
            else:
                _write_atomic(path, old_text)

        plan.add("save the desired %s state for boot-time restore (%s)" % (kind, where), save, undo)


class Bundle:
    """The collection's core plus a restore program, copied from the running module."""

    def __init__(self, directory=BUNDLE_DIR):
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
        program = RESTORE_PROGRAM % {"python": sys.executable, "bundle": BUNDLE_DIR}
        files["restore"] = program.encode()
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

    def install(self, with_unit):
        files = self._source_files()
        for name, content in files.items():
            target = os.path.join(self.directory, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            _write_atomic(target, content, binary=True)
        os.chmod(os.path.join(self.directory, "restore"), 0o755)
        _write_atomic(os.path.join(self.directory, "DIGEST"), self._digest(files) + "\n")
        if with_unit and os.path.isdir("/etc/systemd/system"):
            _write_atomic(UNIT_PATH, UNIT % os.path.join(self.directory, "restore"))
            os.makedirs(os.path.dirname(UNIT_LINK), exist_ok=True)
            if not os.path.lexists(UNIT_LINK):
                os.symlink(UNIT_PATH, UNIT_LINK)


def _write_atomic(path, content, binary=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temp = path + ".tmp"
    with open(temp, "wb" if binary else "w") as handle:
        handle.write(content)
    os.replace(temp, path)


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
