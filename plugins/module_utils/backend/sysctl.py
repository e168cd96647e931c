# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IP forwarding sysctls of the current network namespace (/proc/sys/net is per namespace).

When the collection turns forwarding on, it records the value it found (in the scope's runtime
directory, see persist.Layout), and puts that value back when no network needs forwarding any more.
"""

from __future__ import annotations

import os

from ansible_collections.hypervisor.networking.plugins.module_utils.persist import read_json, remove_file, write_json

KEYS = {"ipv4": "net/ipv4/ip_forward", "ipv6": "net/ipv6/conf/all/forwarding"}
NAMES = {"ipv4": "net.ipv4.ip_forward", "ipv6": "net.ipv6.conf.all.forwarding"}


class Sysctl:
    def __init__(self, layout, proc="/proc/sys"):
        self.proc = proc
        self.layout = layout
        self.originals_path = layout.sysctl_originals

    def read(self):
        values = {}
        for family, key in KEYS.items():
            try:
                with open(os.path.join(self.proc, key)) as handle:
                    values[family] = handle.read().strip()
            except OSError:
                values[family] = None
        originals = read_json(self.originals_path)
        if originals is None:
            originals = read_json(self.layout.legacy_sysctl_originals) or {}
        return {"values": values, "originals": originals, "accept_ra": self._accept_ra()}

    def _accept_ra(self):
        """{interface: accept_ra}: with forwarding on, only 2 keeps router advertisements."""
        result = {}
        conf = os.path.join(self.proc, "net", "ipv6", "conf")
        try:
            names = os.listdir(conf)
        except OSError:
            return result
        for name in names:
            try:
                with open(os.path.join(conf, name, "accept_ra")) as handle:
                    result[name] = handle.read().strip()
            except OSError:
                continue
        return result

    def set(self, family, value, original=None):
        """Write the sysctl; with `original`, remember it (first time only) for a later reset."""
        if original is not None:
            originals = self.read()["originals"]
            originals.setdefault(family, original)
            self._save(originals)
        with open(os.path.join(self.proc, KEYS[family]), "w") as handle:
            handle.write(str(value))

    def forget(self, family):
        originals = self.read()["originals"]
        originals.pop(family, None)
        self._save(originals)

    def _save(self, originals):
        remove_file(self.layout.legacy_sysctl_originals, self.layout.runtime_root)
        if not originals:
            remove_file(self.originals_path, self.layout.runtime_root)
            return
        write_json(self.originals_path, originals)
