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
Files are kept per scope (the host, or the `ip netns` namespace the module runs in), at the
paths persist.Layout gives.
"""

from __future__ import annotations

import errno
import os
import socket

from ansible_collections.hypervisor.networking.plugins.module_utils.backend.dnsmasq import Dnsmasq
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.netlink import Netlink
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.nftables import Nftables
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.sysctl import Sysctl
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.tc import Tc
from ansible_collections.hypervisor.networking.plugins.module_utils.ownership import parse_mark
from ansible_collections.hypervisor.networking.plugins.module_utils.persist import Layout, current_netns_name, read_json, remove_file, write_json

RTPROT_HVNET = 99  # the routes of a network's `routes` field carry this protocol number


def scope_name():
    return current_netns_name() or "host"


class SpecStore:
    """The service fields last applied to each network (what `gathered` reports for them).

    Runtime state: it describes live objects and ends with them at reboot. A record left in
    the previous layout is still read, and removed with the network.
    """

    def __init__(self, layout):
        self.layout = layout
        self.directory = layout.services_dir

    def path(self, name):
        return os.path.join(self.directory, name + ".json")

    def read(self):
        result = {}
        for directory in (self.layout.legacy_services_dir, self.directory):
            try:
                names = sorted(os.listdir(directory))
            except OSError:
                continue
            for file_name in names:
                if file_name.endswith(".json"):
                    spec = read_json(os.path.join(directory, file_name))
                    if spec is not None:
                        result[file_name[:-5]] = spec
        return result

    def write(self, name, spec):
        write_json(self.path(name), spec)
        remove_file(os.path.join(self.layout.legacy_services_dir, name + ".json"), self.layout.legacy_root)

    def remove(self, name):
        remove_file(self.path(name), self.layout.runtime_root)
        remove_file(os.path.join(self.layout.legacy_services_dir, name + ".json"), self.layout.legacy_root)


class NetworkHost(Netlink):
    """Netlink for links and addresses, and the service backends of vm_network."""

    def __init__(self):
        super().__init__()
        self.layout = Layout.current()
        self.scope = self.layout.scope
        self.nft = Nftables(self.layout)
        self.dnsmasq = Dnsmasq(self.layout)
        self.sysctl = Sysctl(self.layout)
        self.tc = Tc()
        self.specs = SpecStore(self.layout)

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
        except self.netlink_error as exc:
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
