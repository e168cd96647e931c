# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirtd's virtual networks through libvirt's own Python binding (never virsh's text).

The binding is imported only when the libvirt backend is asked for, so hosts without libvirt
keep the kernel backend. One connection per module call; read() takes every network's
persistent (inactive) definition, its active and autostart flags and the bridge libvirt chose.
Bridge ports (taps of running guests) are read and re-attached through netlink, in the
namespace libvirtd runs in (this module's, for a local URI).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError
from ansible_collections.hypervisor.networking.plugins.module_utils.ownership import LIBVIRT_MARK_NAMESPACE

DEFAULT_URI = "qemu:///system"
# libvirt's virNetworkUpdate once passed `command` and `section` swapped to the driver; from
# this client library version on, the library itself asks the driver for
# VIR_DRV_FEATURE_NETWORK_UPDATE_HAS_CORRECT_ORDER and passes them in the order the server
# expects. The feature is not exposed to Python, so with an older client library this module
# makes no live updates at all (they are planned as a redefinition and restart instead).
CORRECT_UPDATE_ORDER_SINCE = 7002000  # 7.2.0 as libvirt's getVersion() encodes it

# virNetworkUpdate sections and commands (libvirt.VIR_NETWORK_SECTION_*, ..._COMMAND_*), by name
SECTIONS = {"ip-dhcp-host": 4, "ip-dhcp-range": 5, "forward-interface": 7, "portgroup": 9,
            "dns-host": 10, "dns-txt": 11, "dns-srv": 12}
COMMANDS = {"modify": 1, "delete": 2, "add-last": 3}
AFFECT_LIVE = 1
AFFECT_CONFIG = 2
XML_INACTIVE = 1
ERR_NO_NETWORK = 43  # VIR_ERR_NO_NETWORK
ACTIVE_NETWORKS = 2  # VIR_CONNECT_LIST_NETWORKS_ACTIVE
ACTIVE_DOMAINS = 1  # VIR_CONNECT_LIST_DOMAINS_ACTIVE
ERR_NO_DOMAIN = 42  # VIR_ERR_NO_DOMAIN


def load_binding():
    try:
        import libvirt  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise HostError("backend libvirt needs libvirt's Python binding on the managed host: the Debian/Ubuntu package "
                        "python3-libvirt, or libvirt-python from PyPI") from None
    # errors come back as exceptions whose messages the module words itself; not also on stderr
    libvirt.registerErrorHandler(lambda _context, _error: None, None)
    return libvirt


class LibvirtHost:
    """One connection to one libvirtd (its `uri`)."""

    def __init__(self, uri=DEFAULT_URI, netlink_factory=None, read_only=False):
        self.libvirt = load_binding()
        self.uri = uri or DEFAULT_URI
        try:
            self.conn = (self.libvirt.openReadOnly if read_only else self.libvirt.open)(self.uri)
        except self.libvirt.libvirtError as exc:
            raise HostError("cannot connect to libvirt at %s: %s" % (self.uri, _message(exc))) from None
        self._netlink_factory = netlink_factory
        self._netlink = None
        self.allow_restart = False  # the module option: a change that needs a restart is refused unless set

    def close(self):
        if self._netlink is not None:
            self._netlink.close()
        try:
            self.conn.close()
        except self.libvirt.libvirtError:
            pass

    @property
    def live_updates(self):
        """Whether virNetworkUpdate passes command and section in the order this server expects (see above)."""
        return self.libvirt.getVersion() >= CORRECT_UPDATE_ORDER_SINCE

    # ---- reading -------------------------------------------------------------------
    def read(self):
        """{'networks': {name: {xml, active, autostart, persistent, bridge, owned}}, 'ports': {bridge: [port names]},
        'live_updates', 'allow_restart'}; xml is the persistent definition."""
        networks = {}
        for net in self.conn.listAllNetworks(0):
            try:
                name = net.name()
                persistent = bool(net.isPersistent())
                xml = net.XMLDesc(XML_INACTIVE if persistent else 0)
                active = bool(net.isActive())
                networks[name] = {
                    "xml": xml,
                    "active": active,
                    "autostart": bool(net.autostart()) if persistent else False,
                    "persistent": persistent,
                    "bridge": _bridge_name(xml),
                    "owned": owned(xml),
                }
            except self.libvirt.libvirtError as exc:
                if exc.get_error_code() == ERR_NO_NETWORK:
                    continue  # undefined by someone else while we read
                raise HostError("reading libvirt networks failed: %s" % _message(exc)) from None
        bridges = [net["bridge"] for net in networks.values() if net["active"] and net["bridge"]]
        links = self.netlink().read()["links"] if bridges else {}
        ports = {bridge: sorted(name for name, link in links.items() if link.get("master") == bridge) for bridge in bridges}
        return {"networks": networks, "ports": ports, "live_updates": self.live_updates, "allow_restart": self.allow_restart}

    def bridge_ports(self, bridge):
        """Names of the links enslaved to `bridge` (a running guest's taps)."""
        links = self.netlink().read()["links"]
        return sorted(name for name, link in links.items() if link.get("master") == bridge)

    def netlink(self):
        if self._netlink is None:
            if self._netlink_factory is None:
                from ansible_collections.hypervisor.networking.plugins.module_utils.backend.netlink import Netlink  # pylint: disable=import-outside-toplevel
                self._netlink_factory = Netlink
            self._netlink = self._netlink_factory()
        return self._netlink

    # ---- changing ------------------------------------------------------------------
    def _network(self, name):
        return self._call(self.conn.networkLookupByName, name)

    def _call(self, function, *args):
        try:
            return function(*args)
        except self.libvirt.libvirtError as exc:
            raise HostError(_message(exc)) from None

    def define(self, xml):
        self._call(self.conn.networkDefineXML, xml)

    def undefine(self, name):
        self._call(self._network(name).undefine)

    def start(self, name):
        self._call(self._network(name).create)

    def stop(self, name):
        self._call(self._network(name).destroy)

    def is_active(self, name):
        return bool(self._call(self._network(name).isActive))

    def set_autostart(self, name, autostart):
        self._call(self._network(name).setAutostart, 1 if autostart else 0)

    def update(self, name, command, section, xml, parent_index=-1, live=True):
        """virNetworkUpdate on the persistent definition, and on the running network when `live`."""
        flags = AFFECT_CONFIG | (AFFECT_LIVE if live else 0)
        self._call(self._network(name).update, COMMANDS[command], SECTIONS[section], parent_index, xml, flags)

    def attach(self, port, bridge):
        self.netlink().set_link(port, master=bridge)


def owned(xml):
    """The attributes of this collection's mark in a network's <metadata>, or None when unmarked."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None
    mark = root.find("metadata/{%s}owner" % LIBVIRT_MARK_NAMESPACE)
    return dict(mark.attrib) if mark is not None else None


def active_bridge_settings(uri, bridge):
    """The <bridge> attributes of the running network whose bridge libvirt made as `bridge`, or
    None (no binding, no libvirtd, no such network). Read-only: callers only ask."""
    try:
        host = LibvirtHost(uri, read_only=True)
    except HostError:
        return None
    try:
        for net in host.conn.listAllNetworks(ACTIVE_NETWORKS):
            root = ET.fromstring(net.XMLDesc(0))
            found = root.find("bridge")
            forward = root.find("forward")
            if found is not None and found.get("name") == bridge and (forward is None or forward.get("mode") != "bridge"):
                return dict(found.attrib)
        return None
    except host.libvirt.libvirtError:
        return None
    finally:
        host.close()


def running_pci_users(uri):
    """{PCI address: [names of the running domains that have it]}, from every running domain's
    <hostdev type='pci'> and <interface type='hostdev'>; {} when the binding is missing or no
    libvirtd answers at `uri` (callers use it to explain, never to decide alone). Read-only."""
    try:
        host = LibvirtHost(uri, read_only=True)
    except HostError:
        return {}
    try:
        return pci_users(host.conn, host.libvirt.libvirtError)
    except host.libvirt.libvirtError:
        return {}
    finally:
        host.close()


def pci_users(conn, libvirt_error=Exception):
    """running_pci_users on an open connection: one listAllDomains(active), one XMLDesc per domain."""
    users = {}
    for domain in conn.listAllDomains(ACTIVE_DOMAINS):
        try:
            name, xml = domain.name(), domain.XMLDesc(0)
        except libvirt_error as exc:
            if getattr(exc, "get_error_code", lambda: None)() == ERR_NO_DOMAIN:
                continue  # stopped while we read: it uses nothing any more
            raise
        for address in hostdev_pci_addresses(xml):
            users.setdefault(address, [])
            if name not in users[address]:
                users[address].append(name)
    return {address: sorted(names) for address, names in users.items()}


def hostdev_pci_addresses(xml):
    """The PCI addresses ('0000:01:10.2') a domain's XML passes through: <hostdev mode='subsystem'
    type='pci'> and <interface type='hostdev'> sources (libvirt writes the numbers in hex, 0x...)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return []
    sources = [hostdev.find("source/address") for hostdev in root.iter("hostdev")
               if hostdev.get("mode", "subsystem") == "subsystem" and hostdev.get("type") == "pci"]
    sources += [interface.find("source/address") for interface in root.iter("interface") if interface.get("type") == "hostdev"]
    addresses = []
    for address in sources:
        if address is None or address.get("type", "pci") != "pci":
            continue
        try:
            numbers = [int(address.get(key, "0"), 0) for key in ("domain", "bus", "slot", "function")]
        except ValueError:
            continue
        addresses.append("%04x:%02x:%02x.%x" % tuple(numbers))
    return addresses


def _bridge_name(xml):
    try:
        bridge = ET.fromstring(xml).find("bridge")
    except ET.ParseError:
        return None
    return bridge.get("name") if bridge is not None else None


def _message(exc):
    """libvirt's message without the URI or paths it may quote."""
    return (exc.get_error_message() if hasattr(exc, "get_error_message") else None) or str(exc)
