# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persistence, and the one place that knows every path the collection writes.

Two roots per scope (the host, or one `ip netns` namespace NS); docs/state-and-recovery.md
documents the layout, and every other module asks `Layout` for its paths:

  PERSISTENT_ROOT (/var/lib/hypervisor-networking), for a namespace PERSISTENT_ROOT/netns/NS:
    intent/<kind>.json      the saved desired state of each module (only with persist: true)
    restore/                the collection's core plus the `restore` program that re-applies it
  RUNTIME_ROOT (/run/hypervisor-networking), for a namespace RUNTIME_ROOT/netns/NS; all of it
  describes kernel objects and processes that a reboot ends, so it ends with them:
    dnsmasq/<net>.conf, .pid, .leases   generated dnsmasq configuration, pid file, DHCP leases
    vm_network/<net>.json       the service settings last applied to a network
    nft/<table>.sha256          fingerprints of our nftables tables (drift detection)
    sysctl-originals.json       forwarding sysctl values found before we changed them

In the host's own namespace a systemd oneshot unit runs the restore program at boot, after
the network is up and before libvirtd and the VMs start.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile

from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError

PERSISTENT_ROOT = "/var/lib/hypervisor-networking"
RUNTIME_ROOT = "/run/hypervisor-networking"
NETNS_DIR = "/run/netns"  # where `ip netns` names namespaces
UNNAMED_PREFIX = "unnamed-"  # the scope of a namespace without a name (unshare -n, a container)
UNIT_PATH = "/etc/systemd/system/hypervisor-networking-restore.service"
UNIT_LINK = "/etc/systemd/system/multi-user.target.wants/hypervisor-networking-restore.service"
# The previous layout (up to 1.x): read once, moved by the next saving run.
LEGACY_STATE_ROOT = "/etc/hypervisor-networking"
LEGACY_BUNDLE_DIR = "/usr/local/lib/hypervisor-networking"
SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/libexec/platform-python")
PACKAGE = "ansible_collections/hypervisor/networking/plugins/module_utils"
# hugepages and driver bindings first (DPDK needs them), then networks, the Open_vSwitch keys,
# netdev bridges, their ports, and the VMs' interfaces on them
# saved items of a backend other than their module's default one carry its name under this key
BACKEND_KEY = "backend"
KINDS_IN_ORDER = ("hugepages", "pci_driver", "sriov_pool", "vm_network", "ovs_dpdk_global", "ovs_dpdk_bridge", "ovs_dpdk_port", "vm_interface")
RECOVERY_DOC = "docs/state-and-recovery.md"

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


class StateFileError(HostError):
    """A state file exists but cannot be read: never treat it as empty (it would be overwritten)."""

    def __init__(self, path, reason):
        super().__init__(
            "the saved state file %s cannot be used (%s); nothing was changed. Move it aside to start over, or put back "
            "a copy from your backup (see %s in the collection)" % (path, reason, RECOVERY_DOC))


def read_json(path):
    """The JSON document at `path`, or None when there is no such file. Anything else is an error."""
    try:
        with open(path) as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StateFileError(path, "unreadable: %s" % (getattr(exc, "strerror", None) or type(exc).__name__))
    try:
        return json.loads(text)
    except ValueError as exc:
        raise StateFileError(path, "not valid JSON: %s" % exc)


def write_json(path, document):
    _write_atomic(path, json.dumps(document, indent=2, sort_keys=True) + "\n")


def write_text(path, text):
    _write_atomic(path, text)


def remove_file(path, stop_at):
    """Remove `path` and then every directory above it that became empty, up to `stop_at`."""
    _remove(path)
    prune(os.path.dirname(path), stop_at)


def prune(directory, stop_at):
    """Remove `directory` and its parents while they are empty, never `stop_at` or above it."""
    stop_at = os.path.normpath(stop_at)
    directory = os.path.normpath(directory)
    while directory.startswith(stop_at + os.sep):
        try:
            os.rmdir(directory)
        except OSError:
            return  # not empty, or gone
        directory = os.path.dirname(directory)


class Layout:
    """Every path the collection writes for one scope: the host, or one `ip netns` namespace."""

    def __init__(self, netns=None, persistent_root=PERSISTENT_ROOT, runtime_root=RUNTIME_ROOT, legacy_root=LEGACY_STATE_ROOT):
        self.netns = netns
        self.scope = netns or "host"
        self.persistent_root = persistent_root
        self.runtime_root = runtime_root
        self.legacy_root = legacy_root
        below = ("netns", netns) if netns else ()
        self.persistent = os.path.join(persistent_root, *below)
        self.runtime = os.path.join(runtime_root, *below)

    @classmethod
    def current(cls):
        return cls(current_netns_name())

    # ---- persistent -------------------------------------------------------------------------
    def intent(self, kind):
        return os.path.join(self.persistent, "intent", kind + ".json")

    @property
    def bundle(self):
        return os.path.join(self.persistent, "restore")

    @property
    def restore_program(self):
        return os.path.join(self.bundle, "restore")

    # ---- runtime ----------------------------------------------------------------------------
    @property
    def dnsmasq_dir(self):
        """Config, pid and leases of each network's dnsmasq: the leases survive dnsmasq restarts
        and every run; after a reboot clients ask again for their address (dhcp-authoritative)."""
        return os.path.join(self.runtime, "dnsmasq")

    @property
    def services_dir(self):
        return os.path.join(self.runtime, "vm_network")

    @property
    def nft_dir(self):
        return os.path.join(self.runtime, "nft")

    @property
    def sysctl_originals(self):
        return os.path.join(self.runtime, "sysctl-originals.json")

    def root_of(self, path):
        """Where `prune` must stop for a path of this layout: at one of the two roots; the previous
        layout's directories were ours alone, so they go too once empty."""
        for root in (self.persistent_root, self.runtime_root):
            if path.startswith(root + os.sep):
                return root
        for root in (self.legacy_root, LEGACY_BUNDLE_DIR):
            if path.startswith(root + os.sep):
                return os.path.dirname(root)
        return os.path.dirname(path)

    # ---- the previous layout (read once, moved or removed by the next run that writes) --------
    def legacy_intent(self, kind):
        directory = os.path.join(self.legacy_root, "netns", self.netns) if self.netns else os.path.join(self.legacy_root, "state")
        return os.path.join(directory, kind + ".json")

    @property
    def legacy_bundle(self):
        return os.path.join(self.legacy_root, "netns", self.netns) if self.netns else LEGACY_BUNDLE_DIR

    @property
    def legacy_runtime_dir(self):
        return os.path.join(self.runtime_root, self.scope)

    @property
    def legacy_dnsmasq_dirs(self):
        """conf, pid and lease directories of the previous layout."""
        return {"conf": os.path.join(self.legacy_root, "dnsmasq", self.scope), "pid": self.legacy_runtime_dir,
                "leases": os.path.join(self.persistent_root, self.scope)}

    @property
    def legacy_services_dir(self):
        return os.path.join(self.legacy_root, "vm_network", self.scope)

    @property
    def legacy_sysctl_originals(self):
        return os.path.join(self.legacy_runtime_dir, "sysctl-originals.json")

    def legacy_bundle_files(self):
        """{path: bytes} of the previous layout's restore program and core for this scope."""
        files = {}
        names = ["restore", "DIGEST"]
        lib = os.path.join(self.legacy_bundle, "lib")
        for directory, _dirs, found in os.walk(lib):
            names += [os.path.relpath(os.path.join(directory, name), self.legacy_bundle) for name in found]
        for name in names:
            path = os.path.join(self.legacy_bundle, name)
            try:
                with open(path, "rb") as handle:
                    files[path] = handle.read()
            except OSError:
                continue
        return files


def namespace_exists(name, netns_dir=NETNS_DIR):
    return os.path.lexists(os.path.join(netns_dir, name))


def namespaces_with_runtime_files(runtime_root=RUNTIME_ROOT):
    """Names of the named namespaces that have a runtime directory (real directories only)."""
    parent = os.path.join(runtime_root, "netns")
    try:
        names = sorted(os.listdir(parent))
    except OSError:
        return []
    return [name for name in names if os.path.isdir(os.path.join(parent, name)) and not os.path.islink(os.path.join(parent, name))]


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
        names = sorted(os.listdir(NETNS_DIR))
    except OSError:
        names = []
    for name in names:
        try:
            st = os.stat(os.path.join(NETNS_DIR, name))
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino):
            return name
    try:
        init = os.stat("/proc/1/ns/net")
    except OSError:
        return None  # sandboxes often deny /proc/1/ns: only named namespaces are told apart
    if (init.st_dev, init.st_ino) != (own.st_dev, own.st_ino):
        return UNNAMED_PREFIX + str(own.st_ino)
    return None


class Store:
    """The saved intent of one scope: one JSON document per module kind."""

    def __init__(self, layout=None):
        self.layout = layout or Layout.current()
        self.netns = self.layout.netns

    def path(self, kind):
        return self.layout.intent(kind)

    def _existing_path(self, kind):
        """Where the saved state of `kind` is now: the layout's path, or the previous layout's."""
        for path in (self.path(kind), self.layout.legacy_intent(kind)):
            if os.path.lexists(path):
                return path
        return None

    def load(self, kind, key="name"):
        """{identity: saved item}; `key` is the item's identity field (name, address, size).
        A file that is there but unusable is an error, never read as empty."""
        path = self._existing_path(kind)
        document = read_json(path) if path else None
        if document is None:
            return {}
        config = document.get("config") if isinstance(document, dict) else None
        if not isinstance(config, list) or not all(isinstance(item, dict) and item.get(key) is not None for item in config):
            raise StateFileError(path, "not a saved %s state: expected {\"kind\": ..., \"config\": [{\"%s\": ...}, ...]}" % (kind, key))
        return {item[key]: item for item in config}

    def _read_text(self, kind):
        path = self._existing_path(kind)
        if path is None:
            return None
        with open(path) as handle:
            return handle.read()

    def render(self, kind, objects):
        """The file's text, or None when nothing is saved (then there is no file at all)."""
        if not objects:
            return None
        document = {"kind": kind, "config": [objects[name] for name in sorted(objects)]}
        return json.dumps(document, indent=2, sort_keys=True) + "\n"

    def _others_saved(self, kind):
        return any(self._existing_path(other) for other in KINDS_IN_ORDER if other != kind)

    def _legacy_files(self):
        """{path: bytes} of every file of this scope's previous layout that a save moves or removes."""
        files = {}
        for kind in KINDS_IN_ORDER:
            path = self.layout.legacy_intent(kind)
            if os.path.exists(path):
                with open(path, "rb") as handle:
                    files[path] = handle.read()
        files.update(self.layout.legacy_bundle_files())
        return files

    def plan_save(self, plan, kind, objects, key="name"):
        """Add a save action to `plan` when anything of the restore path would change.

        Saving also moves the scope's files of the previous layout into this one. When nothing
        is saved any more in the scope, the restore bundle (and the host's boot unit) go too.
        Returns a list of warnings (no boot hook, an interpreter that may not outlive the run).
        """
        self.load(kind, key)  # a corrupt file stops the run here, before anything changes
        layout = self.layout
        old_text = self._read_text(kind)
        new_text = self.render(kind, objects)
        legacy = self._legacy_files()
        keep_bundle = new_text is not None or self._others_saved(kind)
        bundle = Bundle(layout.bundle)
        bundle_stale = bundle.stale() if keep_bundle else bundle.present()
        unit = None if self.netns else BootUnit(bundle.program)
        unit_stale = bool(unit and unit.available() and (unit.stale() if keep_bundle else unit.present()))
        warnings = []
        if keep_bundle and unit and not unit.available():
            warnings.append("this host has no systemd: the saved %s state is not re-applied at boot unless %s runs then" % (
                kind, layout.restore_program))
        if old_text == new_text and not bundle_stale and not unit_stale and not legacy:
            return warnings
        if keep_bundle and bundle_stale:
            warning = interpreter_warning()
            if warning:
                warnings.append(warning)
        path = self.path(kind)
        where = "network namespace %s" % self.netns if self.netns else "this host"
        old_in_layout = os.path.lexists(path)
        bundle_was_present = bundle.present()
        unit_was_present = bool(unit and unit.present())
        moved = {}  # new path: text, for the other kinds' intent moved from the previous layout

        def save():
            for other in KINDS_IN_ORDER:
                source = layout.legacy_intent(other)
                if other != kind and source in legacy and not os.path.exists(self.path(other)):
                    moved[self.path(other)] = legacy[source]
                    _write_atomic(self.path(other), legacy[source], binary=True)
            if keep_bundle:
                if bundle_stale:
                    bundle.install()
                if unit_stale:
                    unit.install()
            if new_text is None:
                remove_file(path, layout.persistent_root)
            else:
                _write_atomic(path, new_text)
            if not keep_bundle:
                if unit_stale:
                    unit.remove()
                bundle.remove(layout.persistent_root)
            for legacy_path in legacy:
                remove_file(legacy_path, layout.root_of(legacy_path))

        def undo():
            for legacy_path, content in legacy.items():
                _write_atomic(legacy_path, content, binary=True, mode=0o755 if os.path.basename(legacy_path) == "restore" else 0o644)
            for moved_path in moved:
                remove_file(moved_path, layout.persistent_root)
            if old_in_layout:
                _write_atomic(path, old_text)
            else:
                remove_file(path, layout.persistent_root)
            if bundle_stale:
                if bundle_was_present:
                    bundle.install()
                else:
                    bundle.remove(layout.persistent_root)
            if unit_stale:
                if unit_was_present:
                    unit.install()
                else:
                    unit.remove()

        if new_text is None:
            what = "forget the saved %s state (%s): nothing of this kind is kept for boot-time restore" % (kind, where)
        else:
            what = "save the desired %s state for boot-time restore (%s)" % (kind, where)
        plan.add(what, save, undo)
        return warnings


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
    def present():
        return os.path.lexists(UNIT_PATH) or os.path.lexists(UNIT_LINK)

    @staticmethod
    def remove():
        _remove(UNIT_LINK)
        _remove(UNIT_PATH)


class Bundle:
    """The collection's core plus a restore program, copied from the running module."""

    def __init__(self, directory):
        self.directory = directory
        self.program = os.path.join(directory, "restore")

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
        files["restore"] = (RESTORE_PROGRAM % {"python": restore_interpreter()}).encode()
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

    def present(self):
        return os.path.lexists(self.directory)

    def remove(self, stop_at):
        """Remove the bundle (a directory only the collection writes), then the directories left empty."""
        shutil.rmtree(self.directory, ignore_errors=True)
        prune(os.path.dirname(self.directory), stop_at)

    def install(self):
        files = self._source_files()
        for name, content in files.items():
            target = os.path.join(self.directory, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            _write_atomic(target, content, binary=True, mode=0o755 if name == "restore" else 0o644)
        _write_atomic(os.path.join(self.directory, "DIGEST"), self._digest(files) + "\n", mode=0o644)


_INTERPRETER = []


def restore_interpreter():
    """The Python the restore program runs with at boot: one that outlives a deployment run.

    The Python that runs the module may be a virtualenv a later deployment removes; a system
    Python is preferred when it can import what the collection needs (pyroute2).
    """
    if _INTERPRETER:
        return _INTERPRETER[0]
    chosen = sys.executable
    if _in_virtualenv():
        for candidate in SYSTEM_PYTHONS:
            if os.access(candidate, os.X_OK) and _can_import(candidate, "pyroute2"):
                chosen = candidate
                break
    _INTERPRETER.append(chosen)
    return chosen


def interpreter_warning():
    if restore_interpreter() == sys.executable and _in_virtualenv():
        return ("the boot-time restore program runs with the Python of a virtualenv (no system Python can import pyroute2): "
                "if that virtualenv is removed, restore fails at the next boot; install pyroute2 for /usr/bin/python3 "
                "(Debian/Ubuntu package python3-pyroute2) and run again")
    return None


def _in_virtualenv():
    return sys.prefix != getattr(sys, "base_prefix", sys.prefix)


def _can_import(python, module):
    try:
        proc = subprocess.run([python, "-c", "import " + module], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


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
