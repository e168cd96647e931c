# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_interface kind vhostuser: a VM's dpdkvhostuserclient port on an OVS netdev bridge.

QEMU listens on `socket` (running as `owner`) and OVS connects to it. The port is planned by
the ovs_dpdk_port planner (same rows, mark `vm_interface`). The socket may be in any directory.
With an `owner`, its directory must belong to that user, so QEMU can create the socket there:
a missing directory is created for the owner; inside OVS's vhost-user socket directory an
existing one is re-owned (that tree is ours to manage); elsewhere an existing directory of
another user is refused, never re-owned (it may be shared: /var/lib, /tmp).
"""

from __future__ import annotations

import os

from ansible_collections.hypervisor.networking.plugins.module_utils.model import interface as mi
from ansible_collections.hypervisor.networking.plugins.module_utils.model import ovs_port as mo
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import name_for_id, resolve_user
from ansible_collections.hypervisor.networking.plugins.module_utils.resource import ovs_port as op

KIND = "vhostuser"
MARK = "vm_interface"


def is_vhost(model):
    return model is not None and model.kind == KIND


def as_port(model):
    return mo.OvsDpdkPort(name=model.name, bridge=model.bridge, type="dpdkvhostuserclient",
                          vhost_server_path=model.socket, mtu_request=model.mtu)


def _dir_owner(path):
    try:
        return name_for_id(os.stat(os.path.dirname(path)).st_uid, "user")
    except (OSError, TypeError):
        return None


def current(snapshot, saved):
    ovs = snapshot.get("ovs")
    result = {}
    if not ovs:
        return result
    for name, port in ovs["ports"].items():
        if op.owner_of(port) != MARK:
            continue
        row = op.model_from_rows(name, ovs)
        model = mi.VmInterface(name=name, kind=KIND, bridge=row.bridge, socket=row.vhost_server_path, mtu=row.mtu_request,
                               owner=_dir_owner(row.vhost_server_path) if row.vhost_server_path else None)
        mi.restore_saved_only(model, saved.get(name) or {})
        result[name] = model
    return result


def conflict(snapshot, model, adopt):
    if snapshot.get("ovs") is None:
        return None
    return op.conflict(snapshot["ovs"], as_port(model), False, MARK)


def check_host(desired, snapshot, problems, warnings, check_mode, path_of):
    if not desired:
        return
    ovs = snapshot.get("ovs")
    if ovs is None:
        problems.add("config", "kind vhostuser needs Open vSwitch with DPDK: %s" % snapshot.get("ovs_error"))
        return
    reason = op.dpdk_problem(ovs)
    if reason:
        problems.add("config", reason)
        return
    _check_directory_owners(desired, ovs, problems, path_of)
    for name, model in desired.items():
        path = path_of.get(name, name)
        if not model.bridge:
            problems.add(path + ".bridge", "is required for kind vhostuser: the OVS netdev bridge")
            continue
        op.host_problems(problems, path, as_port(model), ovs, MARK, check_mode, warnings)
        if model.owner is not None and resolve_user(model.owner, "user") is None:
            problems.add(path + ".owner", "user '%s' does not exist on this host" % model.owner)
        elif model.owner is not None:
            _check_socket_directory(problems, path, model, op.socket_dir(ovs))


def _check_socket_directory(problems, path, model, base):
    """With an owner: QEMU, running as the owner, must be able to create the socket."""
    uid = resolve_user(model.owner, "user")
    directory = os.path.dirname(model.socket)
    if directory == base:
        try:
            st = os.stat(base)
        except OSError:
            problems.add(path + ".socket", "the vhost-user socket directory does not exist; create it (role hypervisor.networking.dpdk)")
            return
        if st.st_uid != uid and not st.st_mode & 0o002:
            problems.add(path + ".socket", "user %s cannot create a socket directly in the vhost-user socket directory; "
                         "use a subdirectory (it is created owned by %s)" % (model.owner, model.owner))
        return
    if is_managed_directory(directory, base):
        return  # created or re-owned for the owner by plan()
    try:
        existing = os.stat(directory).st_uid
    except OSError:
        return  # created for the owner by plan()
    if existing != uid:
        problems.add(path + ".owner", "socket directory %s exists and belongs to user %s; outside the vhost-user socket directory %s "
                     "an existing directory is never re-owned (it may be shared); give it to %s, or use a directory that does not "
                     "exist yet (it is created owned by %s)" % (directory, name_for_id(existing, "user"), base, model.owner, model.owner))


def is_managed_directory(directory, base):
    """A subdirectory of OVS's vhost-user socket directory: created or re-owned for a socket's owner."""
    return directory != base and directory.startswith(base.rstrip("/") + "/")


def _check_directory_owners(desired, ovs, problems, path_of):
    """One owner per socket subdirectory, in this call and against what exists (else each run re-owns it)."""
    base = op.socket_dir(ovs)
    owners = {}
    for name in sorted(desired, key=lambda n: path_of.get(n, n)):
        model = desired[name]
        if model.owner is None or not model.socket or os.path.dirname(model.socket) == base:
            continue
        directory = os.path.dirname(model.socket)
        path = path_of.get(name, name)
        uid = resolve_user(model.owner, "user")
        if uid is None:
            continue  # reported with the port's other checks
        first = owners.setdefault(directory, (uid, model.owner, path))
        if first[0] != uid:
            problems.add(path + ".owner", "socket directory %s is also used by %s with owner %s; one directory has one owner "
                         "(give each owner its own directory)" % (directory, first[2], first[1]))
            continue
        if not is_managed_directory(directory, base):
            continue  # never re-owned: _check_socket_directory
        try:
            existing = os.stat(directory).st_uid
        except OSError:
            continue
        if existing == uid:
            continue
        users = sorted(other for other, row in ovs["interfaces"].items()
                       if other not in desired
                       and os.path.dirname((row.get("options") or {}).get("vhost-server-path") or "") == directory)
        if users:
            problems.add(path + ".owner", "socket directory %s belongs to user %s and holds the socket of OVS interface %s; "
                         "it is not re-owned to %s (give each owner its own directory under %s)"
                         % (directory, name_for_id(existing, "user"), ", ".join(users), model.owner, base))


def plan(plan_, backend, cur, want, snapshot):
    """Port (in the batched transaction) and, for an owner, the socket's own directory."""
    ovs = snapshot["ovs"]
    op.plan_port(backend.pending, MARK, as_port(cur) if is_vhost(cur) else None, as_port(want), ovs)
    if want.owner is None:
        return
    directory = os.path.dirname(want.socket)
    if directory == op.socket_dir(ovs):
        return  # never re-own the shared socket directory
    uid = resolve_user(want.owner, "user")
    if not os.path.isdir(directory):
        created = []
        # partial: make_dirs records each directory as it makes it, so a failure part-way is undone exactly
        plan_.add("install -d -o %s -m 0750 %s" % (want.owner, directory),
                  lambda: make_dirs(directory, uid, created), lambda: remove_dirs(created), partial=True)
    elif os.stat(directory).st_uid != uid and is_managed_directory(directory, op.socket_dir(ovs)):
        old = os.stat(directory).st_uid
        plan_.add("chown %s %s" % (want.owner, directory), lambda: os.chown(directory, uid, -1), lambda: os.chown(directory, old, -1))


def plan_removal(backend, cur, snapshot):
    op.plan_removal(backend.pending, MARK, as_port(cur), snapshot["ovs"])


def render(model):
    return [op.ovs_command_text_for(as_port(model), MARK)]


def make_dirs(directory, uid, created=None):
    """Create `directory` and its missing parents, each owned by `uid` (QEMU must pass through them);
    returns exactly the directories created, outermost first (what undo removes). Each is added to
    `created` as soon as it exists, so a failure part-way leaves the list of what to remove."""
    missing = []
    current = directory
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    created = [] if created is None else created
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o750)
        except FileExistsError:
            continue  # made meanwhile by someone else: not ours to remove
        created.append(path)
        os.chmod(path, 0o750)  # not the umask's choice
        os.chown(path, uid, -1)
    return created


def remove_dirs(created):
    """Undo make_dirs: remove the directories it created, innermost first (each only when empty)."""
    for path in reversed(created):
        try:
            os.rmdir(path)
        except OSError:
            pass
    del created[:]
