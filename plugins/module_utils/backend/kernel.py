# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The running kernel, read only: its command line, the CPU vendor and the modules it could load.

Paths are relative to `proc_root` (``/proc``) and `modules_root` (``/lib/modules``), so tests
point them at a tree of their own. Nothing here writes.
"""

from __future__ import annotations

import os

from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError
from ansible_collections.hypervisor.networking.plugins.module_utils.plan import describe

DEFAULT_PROC = "/proc"
DEFAULT_MODULES = "/lib/modules"


class Kernel:
    def __init__(self, proc_root=None, modules_root=None):
        self.proc_root = proc_root or DEFAULT_PROC
        self.modules_root = modules_root or DEFAULT_MODULES

    def _read(self, path, required=True):
        try:
            with open(path) as handle:
                return handle.read()
        except FileNotFoundError:
            if required:
                raise HostError("%s is missing (is procfs mounted at %s? option proc_root)"
                                % (os.path.relpath(path, self.proc_root), self.proc_root)) from None
            return None
        except OSError as exc:
            raise HostError("cannot read %s: %s" % (os.path.basename(path), describe(exc))) from exc

    def read(self):
        """{"cmdline": [arguments], "vendor": vendor_id or None, "release": str, "modules_available": [names] or None}.

        `modules_available` is None when the kernel's module directory does not exist (a kernel
        without loadable modules, or modules not installed): nothing can be loaded then.
        """
        cmdline = self._read(os.path.join(self.proc_root, "cmdline")).split()
        vendor = None
        for line in (self._read(os.path.join(self.proc_root, "cpuinfo"), required=False) or "").splitlines():
            key, _sep, value = line.partition(":")
            if key.strip() == "vendor_id":
                vendor = value.strip()
                break
        release = self._read(os.path.join(self.proc_root, "sys/kernel/osrelease")).strip()
        return {"cmdline": cmdline, "vendor": vendor, "release": release, "modules_available": self._available(release)}

    def _available(self, release):
        directory = os.path.join(self.modules_root, release)
        if not os.path.isdir(directory):
            return None
        names = set()
        for listing in ("modules.dep", "modules.builtin"):
            for line in (self._read(os.path.join(directory, listing), required=False) or "").splitlines():
                path = line.partition(":")[0].strip()
                if path:
                    names.add(module_name(os.path.basename(path)))
        return sorted(names)


def module_name(file_name):
    """kernel/drivers/vfio/pci/vfio-pci.ko.xz -> vfio_pci: the kernel treats '-' and '_' alike."""
    return file_name.split(".ko")[0].replace("-", "_")
