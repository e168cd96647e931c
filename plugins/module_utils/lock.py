# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host-wide lock so that two runs on one host (two plays, AWX and a cron job) serialize."""

from __future__ import annotations

import fcntl
import os
import time

from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError

# In a root-only directory: a lock in world-writable /run/lock could be taken, or planted
# as a symlink, by any local user.
LOCK_PATH = "/run/hypervisor-networking/host.lock"


class HostLock:
    def __init__(self, timeout=300.0, path=LOCK_PATH):
        self.timeout = timeout
        self.path = path
        self.fd = None

    def __enter__(self):
        directory = os.path.dirname(self.path)
        os.makedirs(directory, mode=0o755, exist_ok=True)
        if os.lstat(directory).st_uid != 0 and os.geteuid() == 0:
            raise HostError("%s is not owned by root; refusing to take the host lock there" % directory)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(self.fd)
                    raise HostError("another hypervisor.networking run held the host lock for %d s; try again" % self.timeout)
                time.sleep(0.2)

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        return False
