# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persistent tap devices through /dev/net/tun ioctls (netlink cannot create them)."""

from __future__ import annotations

import errno
import fcntl
import os
import struct

from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError

TUN_DEVICE = "/dev/net/tun"
# _IOW('T', n, int) on the architectures hypervisors run on (x86_64, aarch64, s390x, ppc64le).
TUNSETIFF = 0x400454CA
TUNSETPERSIST = 0x400454CB
TUNSETOWNER = 0x400454CC
TUNSETGROUP = 0x400454CE
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
IFF_MULTI_QUEUE = 0x0100


def _open_tap(name, multi_queue):
    if not os.path.exists(TUN_DEVICE):
        raise HostError("%s is missing: this kernel has no tun/tap support" % TUN_DEVICE)
    flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (IFF_MULTI_QUEUE if multi_queue else 0)
    fd = os.open(TUN_DEVICE, os.O_RDWR)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode("ascii"), flags))
    except OSError as exc:
        os.close(fd)
        if exc.errno == errno.EBUSY:
            raise HostError("tap %s is in use by a VM; stop it or re-create the tap" % name) from exc
        raise
    return fd


def set_tap(name, multi_queue, owner=None, group=None, persist=True):
    """Create the tap if missing (or attach to it) and set owner/group; the device persists.

    The kernel cannot clear an owner or group once set, so clearing one means re-creating.
    """
    fd = _open_tap(name, multi_queue)
    try:
        if owner is not None:
            fcntl.ioctl(fd, TUNSETOWNER, owner)
        if group is not None:
            fcntl.ioctl(fd, TUNSETGROUP, group)
        fcntl.ioctl(fd, TUNSETPERSIST, 1 if persist else 0)
    finally:
        os.close(fd)
