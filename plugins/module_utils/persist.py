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

In the host's own namespace the restore program runs at boot in two phases, each from its own
systemd oneshot unit: `early` (host-level sysfs state: hugepages, driver bindings, SR-IOV VFs)
before networking starts, `late` (networks, OVS, interfaces) after the network is up and before
libvirtd and the VMs start. Without a phase (a unit written before phases existed, or by hand
in a namespace) it restores every kind.
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
UNIT_DIR = "/etc/systemd/system"
# The previous layout (up to 1.x): read once, moved by the next saving run.
LEGACY_STATE_ROOT = "/etc/hypervisor-networking"
LEGACY_BUNDLE_DIR = "/usr/local/lib/hypervisor-networking"
SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/libexec/platform-python")
PACKAGE = "ansible_collections/hypervisor/networking/plugins/module_utils"
# The restore's two phases. EARLY kinds need no network and must be there before networking
# starts (the host's own network configuration may name a VF or enslave one to a bridge); LATE
# kinds build on the network being up.
EARLY = "early"
LATE = "late"
PHASES = (EARLY, LATE)
# Every saved kind with its phase, in restore order: hugepages and driver bindings first (DPDK
# needs them), the VFs, then networks, the Open_vSwitch keys, netdev bridges, their ports, and
# the VMs' interfaces on them. The one place a kind's phase is declared.
RESTORE_ORDER = (
    ("hugepages", EARLY), ("pci_driver", EARLY), ("sriov_pool", EARLY),
    ("vm_network", LATE), ("ovs_dpdk_global", LATE), ("ovs_dpdk_bridge", LATE), ("ovs_dpdk_port", LATE), ("vm_interface", LATE),
)
KINDS_IN_ORDER = tuple(kind for kind, _phase in RESTORE_ORDER)
# saved items of a backend other than their module's default one carry its name under this key
BACKEND_KEY = "backend"
RECOVERY_DOC = "docs/state-and-recovery.md"

RESTORE_PROGRAM = '''#!%(python)s
"""Re-apply the VM networking saved by hypervisor.networking (written by the collection)."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ansible_collections.hypervisor.networking.plugins.module_utils.entry import restore_main as main
sys.exit(main(sys.argv[1:]))
'''

DOCUMENTATION_URL = "https://github.com/hypervisor-networking/hypervisor.networking"
# One unit per phase: (unit name, the target that wants it, its [Unit] section). Each is installed
# while its phase has saved state, and runs only when an intent file of its phase exists (the
# ConditionPathExists=| lines: a file removed by hand).
UNITS = {
    # Like nftables.service: outside the default dependencies, so that it can run before
    # network-pre.target; after the local file systems (the saved intent), the modules of
    # /etc/modules-load.d (vfio-pci) and the end of udev's coldplug, which loads the PF's driver
    # (no sriov_totalvfs without it): udev-settle, deprecated but the one wait for that, as
    # os-net-config's sriov_config.service does. Only installed while an early kind is saved.
    EARLY: ("hypervisor-networking-restore-early.service", "sysinit.target", """\
Description=Restore host state saved by hypervisor.networking (hugepages, PCI drivers, SR-IOV VFs) before networking
Documentation=%(documentation)s
DefaultDependencies=no
Wants=network-pre.target systemd-udev-settle.service
After=local-fs.target systemd-modules-load.service systemd-udev-settle.service
Before=network-pre.target shutdown.target
Conflicts=shutdown.target
"""),
    LATE: ("hypervisor-networking-restore.service", "multi-user.target", """\
Description=Restore VM networking saved by hypervisor.networking
Documentation=%(documentation)s
Wants=network-online.target
After=network-online.target hypervisor-networking-restore-early.service
Before=libvirtd.service libvirt-guests.service
"""),
}

UNIT = """[Unit]
%(unit)s%(conditions)s
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=%(program)s %(phase)s

[Install]
WantedBy=%(wanted_by)s
"""


def kinds_of_phase(phase=None):
    """The kinds one restore phase re-applies, in order; no phase means every kind."""
    return tuple(kind for kind, of in RESTORE_ORDER if phase in (None, of))


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

    def __init__(self, netns=None, persistent_root=PERSISTENT_ROOT, runtime_root=RUNTIME_ROOT, legacy_root=LEGACY_STATE_ROOT,
                 unit_dir=UNIT_DIR):
        self.netns = netns
        self.unit_dir = unit_dir
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

    # ---- the host's boot units (outside the two roots) ------------------------------------------
    def unit_path(self, phase):
        return os.path.join(self.unit_dir, UNITS[phase][0])

    def unit_link(self, phase):
        """The link that enables the unit: in the .wants directory of the target that starts it."""
        name, wanted_by, _unit = UNITS[phase]
        return os.path.join(self.unit_dir, wanted_by + ".wants", name)

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

    def _saved_after(self, kind, saving):
        """The kinds that have saved state once `kind` is saved (`saving`) or forgotten."""
        return {other for other in KINDS_IN_ORDER if (saving if other == kind else self._existing_path(other))}

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
        is saved any more in the scope, the restore bundle (and the host's boot units) go too.
        Returns a list of warnings (no boot hook, an interpreter that may not outlive the run).
        """
        self.load(kind, key)  # a corrupt file stops the run here, before anything changes
        layout = self.layout
        old_text = self._read_text(kind)
        new_text = self.render(kind, objects)
        legacy = self._legacy_files()
        saved_after = self._saved_after(kind, new_text is not None)
        keep_bundle = bool(saved_after)
        bundle = Bundle(layout.bundle)
        bundle_stale = bundle.stale() if keep_bundle else bundle.present()
        warnings = []
        # a phase's unit exists while its phase has saved state (the early one pulls in udev-settle)
        units = {} if self.netns else {BootUnit(layout, phase): bool(saved_after & set(kinds_of_phase(phase))) for phase in PHASES}
        if units and not BootUnit.available(layout):
            units = {}
            if keep_bundle:
                warnings.append("this host has no systemd: the saved %s state is not re-applied at boot unless %s runs then" % (
                    kind, layout.restore_program))
        stale_units = [unit for unit, wanted in units.items() if (unit.stale() if wanted else unit.present())]
        wanted_units = {unit for unit, wanted in units.items() if wanted}
        if old_text == new_text and not bundle_stale and not stale_units and not legacy:
            return warnings
        if keep_bundle and bundle_stale:
            warning = interpreter_warning()
            if warning:
                warnings.append(warning)
        path = self.path(kind)
        where = "network namespace %s" % self.netns if self.netns else "this host"
        old_in_layout = os.path.lexists(path)
        bundle_was_present = bundle.present()
        units_before = [(unit, unit.installed()) for unit in stale_units]
        moved = {}  # new path: text, for the other kinds' intent moved from the previous layout

        def save():
            for other in KINDS_IN_ORDER:
                source = layout.legacy_intent(other)
                if other != kind and source in legacy and not os.path.exists(self.path(other)):
                    moved[self.path(other)] = legacy[source]
                    _write_atomic(self.path(other), legacy[source], binary=True)
            if keep_bundle and bundle_stale:
                bundle.install()
            for unit in stale_units:
                if unit in wanted_units:
                    unit.install()
            if new_text is None:
                remove_file(path, layout.persistent_root)
            else:
                _write_atomic(path, new_text)
            for unit in stale_units:
                if unit not in wanted_units:
                    unit.remove()
            if not keep_bundle:
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
            for unit, installed in units_before:
                unit.put_back(installed)

        if new_text is None:
            what = "forget the saved %s state (%s): nothing of this kind is kept for boot-time restore" % (kind, where)
        else:
            what = "save the desired %s state for boot-time restore (%s)" % (kind, where)
        plan.add(what, save, undo)
        return warnings


class BootUnit:
    """The systemd unit that runs the host's restore program at boot for one phase."""

    def __init__(self, layout, phase):
        self.path = layout.unit_path(phase)
        self.link = layout.unit_link(phase)
        _name, wanted_by, unit = UNITS[phase]
        conditions = "".join("ConditionPathExists=|%s\n" % layout.intent(kind) for kind in kinds_of_phase(phase))
        self.text = UNIT % {"unit": unit % {"documentation": DOCUMENTATION_URL}, "conditions": conditions,
                            "program": layout.restore_program, "phase": phase, "wanted_by": wanted_by}

    @staticmethod
    def available(layout):
        return os.path.isdir("/run/systemd/system") or os.path.isdir(layout.unit_dir)

    def stale(self):
        return self.installed() != (self.text, True)

    def installed(self):
        """(the unit file's text or None, whether it is enabled): what put_back restores."""
        try:
            with open(self.path) as handle:
                text = handle.read()
        except OSError:
            text = None
        return text, os.path.islink(self.link)

    def install(self):
        self.put_back((self.text, True))

    def put_back(self, installed):
        text, enabled = installed
        if text is None:
            _remove(self.path)
        else:
            _write_atomic(self.path, text, mode=0o644)
        if not enabled:
            _remove(self.link)
        elif not os.path.islink(self.link):
            _remove(self.link)
            os.makedirs(os.path.dirname(self.link), exist_ok=True)
            os.symlink(self.path, self.link)

    def present(self):
        return os.path.lexists(self.path) or os.path.lexists(self.link)

    def remove(self):
        self.put_back((None, False))


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
