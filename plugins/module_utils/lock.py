# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Locks on what runs share, so that two runs on one host (two plays, AWX and a cron job) serialize.

A run locks exactly what it reads and changes, so runs that share nothing run in parallel:
- its network namespace (links, nftables, sysctls, dnsmasq and the saved state of that
  namespace): `netns_scope()`, named as persist.py names the namespace's state directory;
- the Open vSwitch database it talks to, which every namespace of the machine shares:
  `ovsdb_scope(database)`;
- the sysfs tree whose hugepage pools and PCI drivers it sets, which also belong to the whole
  machine, whatever namespace a run is in: `sysfs_scope(root)`;
- the libvirtd it talks to (its networks, whatever namespace the run is in): `libvirt_scope(uri)`.
Scopes are always taken in one order (SCOPE_ORDER), so two runs never wait for each other in a cycle.
A lock file exists only while a run holds it, so namespaces that come and go leave none behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import stat
import time

from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError
from ansible_collections.hypervisor.networking.plugins.module_utils.persist import current_netns_name

# In a root-only directory: a lock in world-writable /run/lock could be taken, or planted
# as a symlink, by any local user.
LOCK_DIR = "/run/hypervisor-networking"
DEFAULT_TIMEOUT = 300
POLL_INTERVAL = 0.1
SCOPE_ORDER = ("netns", "ovsdb", "sysfs", "libvirt")
_SAFE_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class LockScope:
    """One shared thing a run locks: `kind` (SCOPE_ORDER), `key` (its file name), `label` (for messages)."""

    def __init__(self, kind, key, label):
        self.kind = kind
        self.key = key
        self.label = label

    def __eq__(self, other):
        return isinstance(other, LockScope) and (self.kind, self.key) == (other.kind, other.key)

    def __hash__(self):
        return hash((self.kind, self.key))

    def __repr__(self):
        return "LockScope(%r, %r)" % (self.kind, self.key)

    @property
    def file_name(self):
        return "%s.lock" % self.key


def netns_scope(netns=None):
    """The network namespace this process runs in; the host's own one keeps the earlier file name, host.lock."""
    name = netns if netns is not None else current_netns_name()
    if not name:
        return LockScope("netns", "host", "the host's network namespace")
    key = name if _SAFE_NAME_RE.match(name) and name not in (".", "..") else _digest(name)
    return LockScope("netns", "netns-" + key, "network namespace %s" % name)


def ovsdb_scope(database):
    """One Open vSwitch database, however it is spelled (unix:/var/run/... and unix:/run/... are one file)."""
    target = database
    if database.startswith("unix:"):
        target = "unix:" + os.path.realpath(database[len("unix:"):])
    return LockScope("ovsdb", "ovsdb-" + _digest(target), "the Open vSwitch database %s" % database)


def sysfs_scope(root=None):
    """One sysfs tree: /sys is the machine's own (every namespace sees the same pools and devices);
    another root, such as a test's emulated tree, is one of its own."""
    target = os.path.realpath(root or "/sys")
    key = "sysfs" if target == "/sys" else "sysfs-" + _digest(target)
    return LockScope("sysfs", key, "sysfs at %s" % target)


def libvirt_scope(uri):
    """One libvirtd, by the URI that reaches it (two spellings of one daemon are two scopes:
    libvirtd itself serializes each call, this lock keeps a run's read-plan-apply whole)."""
    return LockScope("libvirt", "libvirt-" + _digest(uri), "libvirt at %s" % uri)


def _digest(text):
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]


class ScopeLock:
    """Exclusive flock()s on the given scopes, waiting at most `timeout` seconds in all."""

    def __init__(self, scopes, timeout=None, directory=LOCK_DIR):
        self.scopes = sorted(set(scopes), key=lambda scope: (SCOPE_ORDER.index(scope.kind), scope.key))
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self.directory = directory
        self.held = []  # (file descriptor, path), in the order taken

    def __enter__(self):
        _check_directory(self.directory)
        deadline = time.monotonic() + self.timeout
        try:
            for scope in self.scopes:
                self.held.append(_take(os.path.join(self.directory, scope.file_name), scope, deadline, self.timeout))
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc):
        self._release()
        return False

    def _release(self):
        while self.held:
            _release_file(*self.held.pop())


def netns_lock_files(directory=LOCK_DIR):
    """{file name: key} of the namespace lock files there now (other than the host's)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return {}
    return {name: name[:-len(".lock")] for name in names if name.startswith("netns-") and name.endswith(".lock")}


def is_held(path):
    """Whether a run holds the lock file at `path` now (a missing file is not held)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also releases the probe's own lock
    return False


def remove_if_free(path):
    """Remove the lock file at `path` unless a run holds it; returns its text when removed, else None.

    It is locked first and removed before it is unlocked, as a run releases its own, so a run
    that opened it meanwhile finds it gone (_is_current) and locks a new one.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None  # gone, or not a plain file of ours
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # a run holds it
        if not _is_current(fd, path):
            return None
        text = os.pread(fd, 64, 0)
        _release_file(fd, path)
        fd = None
        return text
    finally:
        if fd is not None:
            os.close(fd)


def _check_directory(directory):
    os.makedirs(directory, mode=0o755, exist_ok=True)
    info = os.lstat(directory)
    if os.geteuid() == 0 and (not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o022):
        raise HostError("%s is not a directory owned and writable only by root; refusing to take a lock there" % directory)


def _take(path, scope, deadline, timeout):
    """Lock `path`; the file exists only while a run holds it (see _release_file)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise HostError("another hypervisor.networking run%s held the lock on %s for longer than lock_timeout "
                                        "(%s s); nothing was changed. Try again, or raise lock_timeout"
                                        % (_holder(fd), scope.label, _seconds(timeout))) from None
                    time.sleep(POLL_INTERVAL)
            if _is_current(fd, path):
                # who holds it, for the message of a run that gives up waiting
                os.ftruncate(fd, 0)
                os.pwrite(fd, b"%d\n" % os.getpid(), 0)
                return fd, path
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the holder removed this file while we waited: lock the one at `path` now


def _is_current(fd, path):
    try:
        named = os.lstat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _release_file(fd, path):
    # Removed before unlocking, so no run ever locks a file nobody else can find; a waiter
    # that opened it before sees that with _is_current() and locks a new one.
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def _holder(fd):
    try:
        pid = int(os.pread(fd, 32, 0).decode("ascii").strip())
    except (OSError, ValueError):
        return ""
    return " (process %d)" % pid


def _seconds(value):
    return ("%g" % value) if isinstance(value, float) else str(value)
