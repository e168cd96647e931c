# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel links, addresses and routes through pyroute2.

`read()` takes one snapshot of the network namespace as plain dicts (the same shape
`parse.iproute` builds from `ip -j` output); the other methods each apply one change.
"""

from __future__ import annotations

import errno
import importlib.util
import ipaddress
import socket

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import linkdump, tuntap
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError

# pyroute2 is imported when a call first needs it: importing the package takes 0.1 s, which a
# call that only reads links (vm_interface with nothing to change) can do without.
# Reported by the modules through missing_required_lib.
HAS_PYROUTE2 = importlib.util.find_spec("pyroute2") is not None

IFA_F_NODAD = 0x02
IFA_F_PERMANENT = 0x80
NUD_NOARP = linkdump.NUD_NOARP
NTF_MASTER = 0x04
KERNEL_FEATURE = {"bridge": "bridge", "macvtap": "macvlan/macvtap", "veth": "veth", "vxlan": "vxlan"}
ROUTE_PROTO_KERNEL = 2
RT_TABLE_MAIN = 254


def _family_name(family):
    return "ipv4" if family == socket.AF_INET else "ipv6"


class Netlink:
    """One rtnetlink socket for the life of a module call, opened on first use.

    `links_only`: read() leaves out addresses and routes, for resources that use neither;
    links and FDB entries come from raw dumps, so such a read needs no pyroute2 at all.
    """

    def __init__(self, links_only=False):
        if not HAS_PYROUTE2:
            raise HostError("the Python library pyroute2 is required on the managed host")
        self.links_only = links_only
        self._ipr = None
        # name -> index of the links this call looked up or made, so that the several requests
        # for one new tap do not each ask the kernel first; filled only while applying
        # (the host is locked), dropped with the link.
        self._indexes = {}

    @property
    def ipr(self):
        if self._ipr is None:
            from pyroute2 import IPRoute  # pylint: disable=import-outside-toplevel
            self._ipr = IPRoute()
        return self._ipr

    @property
    def netlink_error(self):
        """pyroute2's NetlinkError, for except clauses (evaluated only once a request failed)."""
        from pyroute2.netlink.exceptions import NetlinkError  # pylint: disable=import-outside-toplevel
        return NetlinkError

    def close(self):
        if self._ipr is not None:
            self._ipr.close()

    # ---- reading -------------------------------------------------------------------
    def read(self):
        """Return {'links': {name: link}, 'addresses': {name: [..]}, 'routes': [..]} (only 'links' when links_only)."""
        links = linkdump.dump_links()
        names = {link["index"]: name for name, link in links.items()}
        for ifindex, mac in linkdump.dump_static_fdb():
            if names.get(ifindex) in links:
                links[names[ifindex]].setdefault("fdb_static", []).append(mac)
        if self.links_only:
            return {"links": links}
        addresses = {name: [] for name in links}
        for msg in self.ipr.get_addr():
            name = names.get(msg["index"])
            if name is None:
                continue
            flags = msg.get_attr("IFA_FLAGS", msg["flags"])
            addresses[name].append({
                "address": "%s/%d" % (msg.get_attr("IFA_ADDRESS"), msg["prefixlen"]),
                "family": _family_name(msg["family"]),
                "scope": "link" if msg["scope"] == 253 else ("host" if msg["scope"] == 254 else "global"),
                "dynamic": not flags & IFA_F_PERMANENT,  # DHCP or SLAAC: its lifetime runs out
            })
        routes = []
        for family in (socket.AF_INET, socket.AF_INET6):
            for msg in self.ipr.get_routes(family=family, table=RT_TABLE_MAIN):
                if msg.get_attr("RTA_TABLE", msg["table"]) != RT_TABLE_MAIN or msg["type"] != 1:
                    continue  # unicast routes of the main table only
                dst = msg.get_attr("RTA_DST")
                routes.append({
                    "family": _family_name(family),
                    "dst": "%s/%d" % (dst, msg["dst_len"]) if dst else ("0.0.0.0/0" if family == socket.AF_INET else "::/0"),
                    "gateway": msg.get_attr("RTA_GATEWAY"),
                    "dev": names.get(msg.get_attr("RTA_OIF")),
                    "metric": msg.get_attr("RTA_PRIORITY", 0),
                    "proto": msg["proto"],
                    "prefsrc": msg.get_attr("RTA_PREFSRC"),
                })
        return {"links": links, "addresses": addresses, "routes": routes}

    # ---- links ---------------------------------------------------------------------
    def _index(self, name):
        if name not in self._indexes:
            # a netlink request, not if_nametoindex(): with it a new tap's carrier change is
            # processed before the call returns, so the host is settled when the module exits
            found = self.ipr.link_lookup(ifname=name)
            if not found:
                raise HostError("interface %s does not exist" % name)
            self._indexes[name] = found[0]
        return self._indexes[name]

    def _create(self, kind, **kwargs):
        try:
            self.ipr.link("add", kind=kind, **kwargs)
        except self.netlink_error as exc:
            if exc.code == errno.EOPNOTSUPP:
                raise HostError("this kernel cannot create %s devices (no %s support)" % (kind, KERNEL_FEATURE.get(kind, kind))) from exc
            raise

    def create_bridge(self, name, stp, delay, mac=None):
        kwargs = {"ifname": name, "br_forward_delay": int(delay * 100), "br_stp_state": 1 if stp else 0}
        if mac:
            kwargs["address"] = mac
        self._create("bridge", **kwargs)

    def set_bridge(self, name, stp, delay):
        # Forward delay first: the kernel refuses delays under 2 s while STP runs.
        self.ipr.link("set", index=self._index(name), kind="bridge", br_forward_delay=int(delay * 100))
        self.ipr.link("set", index=self._index(name), kind="bridge", br_stp_state=1 if stp else 0)

    def create_tap(self, name, multi_queue, owner=None, group=None):
        tuntap.set_tap(name, multi_queue, owner, group)

    def set_tap_owner(self, name, multi_queue, owner, group):
        tuntap.set_tap(name, multi_queue, owner, group)

    def create_macvtap(self, name, lower, mode, mac=None):
        kwargs = {"ifname": name, "link": self._index(lower), "macvtap_mode": mode}
        if mac:
            kwargs["address"] = mac
        self._create("macvtap", **kwargs)

    def set_macvtap_mode(self, name, mode):
        self.ipr.link("set", index=self._index(name), kind="macvtap", macvtap_mode=mode)

    def delete_link(self, name):
        index = self._index(name)
        self._indexes.clear()  # a veth's peer goes with it
        self.ipr.link("del", index=index)

    def set_link(self, name, **attrs):
        """Set any of: mtu, address, ifalias, master (name or None), state ('up'/'down')."""
        kwargs = {}
        for key, value in attrs.items():
            if key == "master":
                kwargs["master"] = self._index(value) if value else 0
            elif key == "ifalias":
                kwargs["IFLA_IFALIAS"] = value or ""
            else:
                kwargs[key] = value
        self.ipr.link("set", index=self._index(name), **kwargs)

    def set_bridge_port(self, name, **flags):
        """Bridge port flags: isolated, learning, flood (unicast flooding)."""
        mapped = {"unicast_flood" if key == "flood" else key: int(bool(value)) for key, value in flags.items()}
        self.ipr.brport("set", index=self._index(name), **mapped)

    def add_static_fdb(self, port, mac):
        self.ipr.fdb("add", ifindex=self._index(port), lladdr=mac, state=NUD_NOARP, flags=NTF_MASTER)

    def delete_static_fdb(self, port, mac):
        self.ipr.fdb("del", ifindex=self._index(port), lladdr=mac, state=NUD_NOARP, flags=NTF_MASTER)

    # ---- addresses and routes ---------------------------------------------------------
    def add_address(self, name, address, nodad=False):
        """Add an address; `nodad` skips IPv6 duplicate detection for an address moved between links."""
        iface = ipaddress.ip_interface(address)
        kwargs = {"index": self._index(name), "address": str(iface.ip), "prefixlen": iface.network.prefixlen}
        if iface.version == 6:
            kwargs["family"] = socket.AF_INET6
            if nodad:
                kwargs["flags"] = IFA_F_NODAD
        self.ipr.addr("add", **kwargs)

    def delete_address(self, name, address):
        iface = ipaddress.ip_interface(address)
        kwargs = {"index": self._index(name), "address": str(iface.ip), "prefixlen": iface.network.prefixlen}
        if iface.version == 6:
            kwargs["family"] = socket.AF_INET6
        self.ipr.addr("del", **kwargs)

    def replace_route(self, route, dev):
        """Add or replace a main-table route so that it leaves through `dev`, keeping its protocol."""
        self.ipr.route("replace", **self._route_args(route, dev))

    def _route_args(self, route, dev):
        kwargs = {"dst": route["dst"], "oif": self._index(dev), "priority": route.get("metric") or 0}
        if route.get("gateway"):
            kwargs["gateway"] = route["gateway"]
        if route.get("proto"):
            kwargs["proto"] = route["proto"]  # a moved 'boot' or 'dhcp' route stays one
        if route["family"] == "ipv6":
            kwargs["family"] = socket.AF_INET6
        return kwargs

    def delete_route(self, route, dev):
        kwargs = self._route_args(route, dev)
        try:
            self.ipr.route("del", **kwargs)
        except self.netlink_error as exc:
            if exc.code != errno.ESRCH:  # already gone with its address
                raise
