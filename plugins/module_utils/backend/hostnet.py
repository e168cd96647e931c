# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vm_network kernel backend: netlink plus nftables, dnsmasq, sysctl, tc and the saved specs.

`read()` returns one snapshot dict: the netlink keys (links, addresses, routes) plus
  nft       {'available', 'owned': {network: table}, 'foreign': [...]}   (backend/nftables.py)
  dnsmasq   {network: {'conf', 'pid'}}                                   (backend/dnsmasq.py)
  sysctl    {'values': {ipv4, ipv6}, 'originals': {...}}                  (backend/sysctl.py)
  tc        {bridge: {'htb', 'ingress'}}                                  (backend/tc.py)
  services  {network: spec}: the service fields last applied, per network
Files are kept per scope: the `ip netns` name the module runs in, or "host".
"""

from __future__ import annotations

import errno
import json
import os
import socket

from ansible_collections.hypervisor.networking.plugins.module_utils.backend.dnsmasq import RUN_ROOT, Dnsmasq
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.netlink import Netlink, NetlinkError
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.nftables import Nftables
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.sysctl import Sysctl
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.tc import Tc
from ansible_collections.hypervisor.networking.plugins.module_utils.ownership import parse_mark
from ansible_collections.hypervisor.networking.plugins.module_utils.persist import current_netns_name

SPEC_ROOT = "/etc/hypervisor-networking/vm_network"
RTPROT_HVNET = 99  # the routes of a network's `routes` field carry this protocol number


def scope_name():
    return current_netns_name() or "host"


class SpecStore:
    """The service fields last applied to each network (what `gathered` reports for them)."""

    def __init__(self, scope):
        self.directory = os.path.join(SPEC_ROOT, scope)

    def path(self, name):
        return os.path.join(self.directory, name + ".json")

    def read(self):
        result = {}
        try:
            names = sorted(os.listdir(self.directory))
        except OSError:
            return result
        for file_name in names:
            if file_name.endswith(".json"):
                try:
                    with open(os.path.join(self.directory, file_name)) as handle:
                        result[file_name[:-5]] = json.load(handle)
                except (OSError, ValueError):
                    continue
        return result

    def write(self, name, spec):
        os.makedirs(self.directory, exist_ok=True)
        temp = self.path(name) + ".tmp"
        with open(temp, "w") as handle:
            json.dump(spec, handle, indent=2, sort_keys=True)
        os.replace(temp, self.path(name))

    def remove(self, name):
        try:
            os.unlink(self.path(name))
        except FileNotFoundError:
            pass
        try:
            os.rmdir(self.directory)
        except OSError:
            pass


class NetworkHost(Netlink):
    """Netlink for links and addresses, and the service backends of vm_network."""

    def __init__(self):
        super().__init__()
        netns = current_netns_name()
        self.scope = netns or "host"
        self.nft = Nftables(os.path.join(RUN_ROOT, self.scope))
        self.dnsmasq = Dnsmasq(self.scope, netns)
        self.sysctl = Sysctl(os.path.join(RUN_ROOT, self.scope))
        self.tc = Tc()
        self.specs = SpecStore(self.scope)

    def read(self):
        snapshot = super().read()
        bridges = sorted(name for name, link in snapshot["links"].items()
                         if link.get("kind") == "bridge" and (parse_mark(link.get("alias")) or ("",))[0] == "vm_network")
        snapshot["nft"] = self.nft.read()
        snapshot["dnsmasq"] = self.dnsmasq.read()
        snapshot["dnsmasq_available"] = self.dnsmasq.available
        snapshot["sysctl"] = self.sysctl.read()
        snapshot["tc"] = self.tc.read(bridges)
        snapshot["services"] = self.specs.read()
        return snapshot

    # ---- static routes of a network (marked with our protocol number) -----------------------
    def add_network_route(self, route, dev):
        self.ipr.route("replace", **_route_args(self, route, dev))

    def delete_network_route(self, route, dev):
        try:
            self.ipr.route("del", **_route_args(self, route, dev))
        except NetlinkError as exc:
            if exc.code != errno.ESRCH:
                raise


def _route_args(host, route, dev):
    kwargs = {"dst": "%s/%d" % (route["address"], route["prefix"]), "gateway": route["gateway"], "oif": host._index(dev),
              "proto": RTPROT_HVNET}
    if route.get("metric") is not None:
        kwargs["priority"] = route["metric"]
    if route["family"] == "ipv6":
        kwargs["family"] = socket.AF_INET6
    return kwargs
