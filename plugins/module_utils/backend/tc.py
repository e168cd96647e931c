# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bandwidth of a network's bridge with tc, as libvirt shapes it (rates in KiB/s = tc kbps).

inbound (traffic towards the guests leaves through the bridge): an HTB root qdisc 1: whose
class 1:1 has rate average, ceil peak and burst, and a default leaf class 1:2 (rate floor or
average). outbound (traffic from the guests enters the bridge): an ingress qdisc with a police
filter, which needs the kernel's act_police; hosts without it are refused before any change.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess

from ansible_collections.hypervisor.networking.plugins.module_utils.backend.nftables import find_binary
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError

TIMEOUT = 30


def commands(bridge, bandwidth):
    """The tc argv lists (without the binary) that shape `bridge` as `bandwidth` says."""
    result = []
    inbound = (bandwidth or {}).get("inbound")
    if inbound:
        rate = "%dkbps" % inbound["average"]
        ceil = "%dkbps" % inbound.get("peak", inbound["average"])
        burst = ["burst", "%dkb" % inbound["burst"]] if inbound.get("burst") else []
        result.append(["qdisc", "replace", "dev", bridge, "root", "handle", "1:", "htb", "default", "2"])
        result.append(["class", "replace", "dev", bridge, "parent", "1:", "classid", "1:1", "htb", "rate", rate, "ceil", ceil] + burst)
        leaf = "%dkbps" % inbound.get("floor", inbound["average"])
        result.append(["class", "replace", "dev", bridge, "parent", "1:1", "classid", "1:2", "htb", "rate", leaf, "ceil", ceil] + burst)
    outbound = (bandwidth or {}).get("outbound")
    if outbound:
        burst = "%dkb" % outbound.get("burst", max(1, outbound["average"] // 10))
        result.append(["qdisc", "replace", "dev", bridge, "ingress"])
        result.append(["filter", "replace", "dev", bridge, "parent", "ffff:", "protocol", "all", "prio", "1", "u32", "match", "u32", "0", "0",
                       "police", "rate", "%dkbps" % outbound["average"], "burst", burst, "mtu", "64kb", "drop", "flowid", ":1"])
    return result


def shape(bandwidth):
    """What read() reports for a bridge shaped as `bandwidth`: the structure, not the numbers."""
    return {"htb": bool((bandwidth or {}).get("inbound")), "ingress": bool((bandwidth or {}).get("outbound"))}


def police_available():
    """Whether the kernel has act_police (loaded, built in, or as a loadable module)."""
    if os.path.isdir("/sys/module/act_police"):
        return True
    release = platform.release()
    for name in ("modules.builtin", "modules.dep"):
        try:
            with open(os.path.join("/lib/modules", release, name)) as handle:
                if "act_police" in handle.read():
                    return True
        except OSError:
            continue
    return False


class Tc:
    def __init__(self):
        self.binary = find_binary("tc")

    @property
    def available(self):
        return self.binary is not None

    def _run(self, argv, check=True):
        proc = subprocess.run([self.binary] + argv, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        if check and proc.returncode != 0:
            raise HostError("tc %s failed: %s" % (" ".join(argv), proc.stderr.strip()))
        return proc

    def read(self, bridges):
        """{bridge: {'htb': bool, 'ingress': bool}}: our shaping structure on each bridge."""
        result = {}
        if not self.available or not bridges:
            return result
        proc = self._run(["-j", "qdisc", "show"], check=False)
        try:
            qdiscs = json.loads(proc.stdout or "[]")
        except ValueError:
            qdiscs = []
        for bridge in bridges:
            result[bridge] = {"htb": False, "ingress": False}
        htb_roots = set()
        for qdisc in qdiscs:
            dev = qdisc.get("dev")
            if dev not in result:
                continue
            if qdisc.get("kind") == "htb" and qdisc.get("root") and qdisc.get("handle") == "1:":
                htb_roots.add(dev)
            if qdisc.get("kind") == "ingress":
                result[dev]["ingress"] = True
        for dev in sorted(htb_roots):
            classes = self._run(["class", "show", "dev", dev], check=False).stdout.split()
            result[dev]["htb"] = "1:1" in classes and "1:2" in classes
        return result

    def apply(self, bridge, bandwidth):
        self.clear(bridge)
        for argv in commands(bridge, bandwidth):
            proc = self._run(argv, check=False)
            if proc.returncode != 0:
                if "police" in argv:
                    raise HostError("this kernel has no tc police (act_police); bandwidth.outbound cannot be applied")
                raise HostError("tc %s failed: %s" % (" ".join(argv), proc.stderr.strip()))

    def clear(self, bridge):
        self._run(["qdisc", "del", "dev", bridge, "root"], check=False)
        self._run(["qdisc", "del", "dev", bridge, "ingress"], check=False)
