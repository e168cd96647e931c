# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What runs in named network namespaces that are gone left in the runtime root.

`ip netns delete NS` without a `state: deleted` run in NS first leaves NS's runtime directory
(persist.Layout(NS).runtime: dnsmasq files, service records, fingerprints, saved sysctl values)
behind, and a run killed while it held its lock leaves that lock file. Every changing run of any
module plans their removal as ordinary plan actions: check mode reports it and changes nothing,
`commands` and the diff show it, and a rollback puts the files back.

A namespace's runtime directory is left alone while any of these holds:
- /run/netns/NS exists (the namespace is there: runs inside it own its files);
- a dnsmasq started from its configuration still runs (it keeps the namespace alive without a
  name and still uses the pid and lease files);
- a run in NS holds the namespace's lock;
- the scope has no name (unnamed-<inode>: there is no name to look for, a reboot clears it).
Only the runtime root is touched: the saved intent below the persistent root stays, for a
namespace that is created again and restored later.
"""

from __future__ import annotations

import os
import shutil

from ansible_collections.hypervisor.networking.plugins.module_utils import lock, persist
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.dnsmasq import serving_from
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError

DIFF_KEY = "runtime files of vanished network namespaces"


def plan_removal(plan, runtime_root=persist.RUNTIME_ROOT, netns_dir=persist.NETNS_DIR, lock_dir=lock.LOCK_DIR):
    """Add the removal of every vanished namespace's leftovers to `plan`; returns those namespaces' names."""
    vanished = []
    for name in persist.namespaces_with_runtime_files(runtime_root):
        if _in_use(name, runtime_root, netns_dir, lock_dir):
            continue
        vanished.append(name)
        _plan_directory(plan, name, runtime_root, netns_dir, lock_dir)
    live_keys = {lock.netns_scope(name).key for name in _named_namespaces(netns_dir)}
    for file_name, key in sorted(lock.netns_lock_files(lock_dir).items()):
        path = os.path.join(lock_dir, file_name)
        if key not in live_keys and not lock.is_held(path):
            _plan_lock_file(plan, path, file_name)
    return vanished


def _named_namespaces(netns_dir):
    try:
        return os.listdir(netns_dir)
    except OSError:
        return []


def _in_use(name, runtime_root, netns_dir, lock_dir=None):
    """Whether the namespace's runtime files may still be needed (lock_dir None: we hold its lock)."""
    if name.startswith(persist.UNNAMED_PREFIX) or persist.namespace_exists(name, netns_dir):
        return True
    if serving_from(persist.Layout(name, runtime_root=runtime_root).dnsmasq_dir):
        return True
    return lock_dir is not None and lock.is_held(os.path.join(lock_dir, lock.netns_scope(name).file_name))


def _plan_directory(plan, name, runtime_root, netns_dir, lock_dir):
    directory = persist.Layout(name, runtime_root=runtime_root).runtime
    removed = []  # the directory's content, taken when it is removed, for the rollback

    def remove():
        # Under the namespace's lock, checked again: a run in it may have started since the plan.
        try:
            with lock.ScopeLock([lock.netns_scope(name)], timeout=0, directory=lock_dir):
                if _in_use(name, runtime_root, netns_dir) or not os.path.isdir(directory):
                    return
                removed[:] = _read_tree(directory)
                shutil.rmtree(directory)
                persist.prune(os.path.dirname(directory), runtime_root)
        except HostError:
            return  # a run in that namespace holds its lock now: its files stay

    def put_back():
        if not removed:
            return False
        _write_tree(directory, removed)
        return True

    plan.add("remove the runtime files of network namespace %s, which no longer exists (its saved intent, if any, is kept)"
             % name, remove, put_back, partial=True)


def _plan_lock_file(plan, path, file_name):
    removed = []

    def remove():
        text = lock.remove_if_free(path)
        if text is not None:
            removed[:] = [text]

    def put_back():
        if not removed or os.path.lexists(path):
            return False
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, removed[0])
        finally:
            os.close(fd)
        return True

    plan.add("remove the lock file %s left by a run in a network namespace that no longer exists" % file_name, remove, put_back)


def _read_tree(directory):
    """[(relative path, stat, bytes or link target or None)] of `directory`, parents before children."""
    entries = [("", os.lstat(directory), None)]
    for parent, dirs, files in os.walk(directory):
        for entry in sorted(dirs) + sorted(files):
            path = os.path.join(parent, entry)
            info = os.lstat(path)
            relative = os.path.relpath(path, directory)
            if os.path.islink(path):
                entries.append((relative, info, os.readlink(path)))
            elif os.path.isfile(path):
                with open(path, "rb") as handle:
                    entries.append((relative, info, handle.read()))
            elif os.path.isdir(path):
                entries.append((relative, info, None))
    return entries


def _write_tree(directory, entries):
    for relative, info, content in entries:
        path = os.path.join(directory, relative) if relative else directory
        if isinstance(content, str):
            if not os.path.lexists(path):
                os.symlink(content, path)
            continue
        if content is None:
            os.makedirs(path, exist_ok=True)
        else:
            with open(path, "wb") as handle:
                handle.write(content)
        os.chmod(path, info.st_mode & 0o7777)
        os.chown(path, info.st_uid, info.st_gid)
