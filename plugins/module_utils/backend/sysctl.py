# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IP forwarding sysctls of the current network namespace (/proc/sys/net is per namespace).

When the collection turns forwarding on, it records the value it found, and puts that value
back when no network needs forwarding any more.
"""

from __future__ import annotations

import json
import os

KEYS = {"ipv4": "net/ipv4/ip_forward", "ipv6": "net/ipv6/conf/all/forwarding"}
NAMES = {"ipv4": "net.ipv4.ip_forward", "ipv6": "net.ipv6.conf.all.forwarding"}


class Sysctl:
    def __init__(self, run_dir, proc="/proc/sys"):
        self.proc = proc
        self.originals_path = os.path.join(run_dir, "sysctl-originals.json")

    def read(self):
        values = {}
        for family, key in KEYS.items():
            try:
                with open(os.path.join(self.proc, key)) as handle:
                    values[family] = handle.read().strip()
            except OSError:
                values[family] = None
        try:
            with open(self.originals_path) as handle:
                originals = json.load(handle)
        except (OSError, ValueError):
            originals = {}
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
        if not originals:
            for remove in (os.unlink, os.rmdir):
                try:
                    remove(self.originals_path if remove is os.unlink else os.path.dirname(self.originals_path))
                except OSError:
                    pass  # gone already, or the directory still holds a dnsmasq pid file
            return
        os.makedirs(os.path.dirname(self.originals_path), exist_ok=True)
        with open(self.originals_path, "w") as handle:
            json.dump(originals, handle)
