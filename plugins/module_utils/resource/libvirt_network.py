# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_network, libvirt backend: the same model as the kernel backend, made by libvirtd.

A network is ours when its definition carries our mark in <metadata>. "Unchanged" means the
persistent (inactive) definition equals the desired one once both are canonical (attribute
order, whitespace, child order aside; libvirt's uuid and our mark apart): a second run defines
nothing, keeps the UUID and restarts nothing. A change libvirt can make live goes through
virNetworkUpdate (running network and persistent definition at once); any other change of a
running network needs a restart, which is refused unless allow_restart is true. Every action
has its undo (define <-> old definition or undefine, start <-> stop, update <-> reverse update).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import xml.etree.ElementTree as ET

from ansible_collections.hypervisor.networking.plugins.module_utils.backend.libvirt import DEFAULT_URI, LibvirtHost, active_bridge_settings, owned
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HvnetError
from ansible_collections.hypervisor.networking.plugins.module_utils.lock import libvirt_scope, netns_scope
from ansible_collections.hypervisor.networking.plugins.module_utils.model import network as m
from ansible_collections.hypervisor.networking.plugins.module_utils.model.base import overlay
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems
from ansible_collections.hypervisor.networking.plugins.module_utils.ownership import LIBVIRT_MARK_NAMESPACE, LIBVIRT_MARK_PREFIX, parse_mark
from ansible_collections.hypervisor.networking.plugins.module_utils.persist import current_netns_name
from ansible_collections.hypervisor.networking.plugins.module_utils.parse import libvirt_network as libvirt_parse
from ansible_collections.hypervisor.networking.plugins.module_utils.render import libvirt_network as libvirt_render
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.network import NetworkResource

# What virNetworkUpdate changes live, as (section, path of the element under <network>).
# Everything else of a running network needs a restart (libvirt's rules).
LIVE_SECTIONS = (
    ("ip-dhcp-host", "ip/dhcp/host"),
    ("ip-dhcp-range", "ip/dhcp/range"),
    ("dns-host", "dns/host"),
    ("dns-txt", "dns/txt"),
    ("dns-srv", "dns/srv"),
    ("portgroup", "portgroup"),
    ("forward-interface", "forward/interface"),
)
# sections whose entries have a key: a changed entry is modified in place, not deleted and added
MODIFY_KEYS = {"ip-dhcp-host": ("mac", "id", "name"), "portgroup": ("name",)}
MARK_XML = '<%s:owner xmlns:%s="%s" module="%%s"/>' % (LIBVIRT_MARK_PREFIX, LIBVIRT_MARK_PREFIX, LIBVIRT_MARK_NAMESPACE)
OWNER = "vm_network"  # the mark's module: whose networks these are (sriov_pool marks its pools' networks as its own)
# the config field each top-level element of the network XML comes from (for messages)
FIELD_OF_ELEMENT = {"forward": "forward", "bridge": "bridge", "mtu": "mtu", "mac": "mac", "ip": "ips", "domain": "domain",
                    "dns": "dns", "route": "routes", "bandwidth": "bandwidth", "vlan": "vlan", "virtualport": "virtualport",
                    "portgroup": "portgroups", "name": "name"}
LIBVIRT_ONLY_TAGS = ("uuid", "metadata")


class LibvirtNetworkResource(NetworkResource):
    backend = "libvirt"
    conflict_field = "name"
    # libvirtd keeps its definitions and starts autostart networks at boot: the saved intent is
    # a record, the boot-time restore leaves these to libvirt (docs/state-and-recovery.md)
    restored_at_boot = False
    owner = OWNER  # the module whose mark this resource writes and whose marked networks it manages

    @staticmethod
    def bridge_settings(bridge, links, boot_restore=False):
        """How the running libvirt network on `bridge` treats its ports ({mac_table_manager}), or None.

        Only asked for a bridge of the host's namespace without a kernel mark: a local libvirtd
        makes its bridges in its own namespace, the host's (libvirt's bridges carry no mark of
        ours; their network's definition says it). The local default URI is asked, read-only.
        Never in the boot-time restore: it runs before libvirtd, so no libvirt network runs yet,
        and connecting to libvirtd's socket would start libvirtd, which waits for the restore."""
        link = (links or {}).get(bridge)
        if link is None or boot_restore or parse_mark(link.get("alias")) or current_netns_name():
            return None
        found = active_bridge_settings(DEFAULT_URI, bridge)
        if found is None:
            return None
        return {"mac_table_manager": found.get("macTableManager", "kernel")}

    # ---- host --------------------------------------------------------------------------
    def lock_scopes(self, params):
        # the netns scope guards the saved intent of this namespace; the libvirt scope the daemon's networks
        return [netns_scope(), libvirt_scope(params.get("uri") or DEFAULT_URI)]

    def open_backend(self, params):
        backend = LibvirtHost(params.get("uri") or DEFAULT_URI)
        backend.allow_restart = bool(params.get("allow_restart"))
        return backend

    @staticmethod
    def empty_snapshot():
        return {"networks": {}}

    def current(self, snapshot, saved, adopt=()):
        if "networks" not in snapshot:  # state parsed: network XML the user gave (the base resource reads it)
            return super().current(snapshot, saved, adopt)
        result = {}
        for name, net in snapshot["networks"].items():
            if (net["owned"] is None and name not in adopt) or not self.owns(net):
                continue
            result[name] = model_of_xml(net["xml"], name)
        return result

    def conflict(self, snapshot, model, adopt):
        net = snapshot["networks"].get(model.name)
        if net is not None and net["owned"] is None and not adopt:
            return ("libvirt network %s exists and was not made by this collection (no mark in its <metadata>); "
                    "adopt: true takes it over" % model.name)
        if net is not None and not self.owns(net):
            return "libvirt network %s belongs to module %s of this collection; change it there" % (model.name, _owner(net))
        return None

    def owns(self, net):
        """Whether a network libvirt has is this resource's: unmarked (adopt decides) or marked by self.owner."""
        return net["owned"] is None or _owner(net) == self.owner

    def host_facts(self, model, snapshot):
        """The definition as libvirt XML (diff mode shows it), and libvirt's state of the network."""
        net = snapshot["networks"].get(model.name) or {}
        return {"xml": network_xml(model, uuid=_uuid(net.get("xml")), owner=self.owner), "active": net.get("active", False),
                "autostart": net.get("autostart", False)}

    def complete(self, model, snapshot):
        """What libvirt would otherwise choose itself (bridge name, MAC, STP and delay), chosen here,
        so that the definition read back equals the desired one."""
        if model.mode in m.BRIDGELESS_MODES or model.mode == "bridge":
            # guests on NICs, PCI functions or an existing host bridge: libvirt makes no bridge, chooses nothing
            return model
        model = dataclasses.replace(model, bridge=dataclasses.replace(model.bridge or m.Bridge()))
        model.bridge.name = model.bridge_name
        if model.bridge.stp is None:
            model.bridge.stp = True
        if model.bridge.delay is None:
            model.bridge.delay = 0
        if model.bridge.mac_table_manager is None:
            model.bridge.mac_table_manager = "kernel"  # libvirt's default, which it leaves out of the definition
        if model.mac is None:
            digest = hashlib.sha256(model.name.encode()).hexdigest()
            model.mac = "52:54:00:%s:%s:%s" % (digest[0:2], digest[2:4], digest[4:6])
        return model

    def check_host(self, desired, snapshot, problems, warnings, check_mode, paths):
        path_of = {name: path for path, name in paths}
        # the bridges libvirt makes (a forward mode bridge network only names a host bridge)
        bridges = {net["bridge"]: name for name, net in snapshot["networks"].items() if net["bridge"] and _forward_mode(net["xml"]) != "bridge"}
        for name, model in desired.items():
            path = path_of.get(name, name)
            user = bridges.get(model.bridge.name) if model.bridge else None
            if model.mode != "bridge" and user not in (None, name):
                problems.add(path + ".bridge.name", "%s is the bridge of libvirt network %s" % (model.bridge.name, user))
            net = snapshot["networks"].get(name)
            if net is None or not net["active"] or snapshot.get("allow_restart"):
                continue
            fields = restart_fields(self._normalized(net, name), network_xml(model, owner=self.owner), snapshot.get("live_updates", True))
            if fields:
                problems.add(path, "network %s is running and libvirt cannot change %s without restarting it (running guests "
                             "lose their connection for a moment); set allow_restart: true to restart it"
                             % (name, ", ".join(fields)))

    # ---- planning --------------------------------------------------------------------
    def plan_object(self, plan, backend, current, desired, snapshot):
        name = desired.name
        net = snapshot["networks"].get(name)
        new_xml = network_xml(desired, uuid=_uuid(net["xml"]) if net else None, owner=self.owner)
        autostart = desired.autostart is not False  # networks start with the host unless asked otherwise
        if net is None:
            plan.add("virsh net-define %s.xml" % name, lambda: backend.define(new_xml), lambda: backend.undefine(name))
            plan.add("virsh net-start %s" % name, lambda: backend.start(name), lambda: backend.stop(name))
            if autostart:
                plan.add("virsh net-autostart %s" % name, lambda: backend.set_autostart(name, True), lambda: backend.set_autostart(name, False))
            return
        old_xml = net["xml"]  # as libvirt has it: what an undo puts back
        normalized = self._normalized(net, name)  # compared: what libvirt leaves implicit made explicit
        live = snapshot.get("live_updates", True)
        if not same_definition(normalized, new_xml) or net["owned"] is None:
            if net["active"] and not restart_fields(normalized, new_xml, live):
                if net["owned"] is None:  # adopt: the mark first, in the persistent definition only
                    marked = _with_mark(old_xml, self.owner)
                    plan.add("virsh net-define %s.xml" % name, lambda: backend.define(marked), lambda: backend.define(old_xml))
                self._plan_live_updates(plan, backend, name, normalized, new_xml)
            elif net["active"]:
                ports = snapshot.get("ports", {}).get(net["bridge"], [])
                new_bridge = desired.bridge.name if desired.bridge else None
                # one action: its undo must put the old definition back before restarting
                plan.add("virsh net-define %s.xml; virsh net-destroy %s; virsh net-start %s%s"
                         % (name, name, name, _reattach_words(ports, new_bridge)),
                         lambda: _redefine_and_restart(backend, name, new_xml, ports, new_bridge),
                         lambda: _redefine_and_restart(backend, name, old_xml, ports, net["bridge"]), partial=True)
            else:
                plan.add("virsh net-define %s.xml" % name, lambda: backend.define(new_xml), lambda: backend.define(old_xml))
        if not net["active"]:
            plan.add("virsh net-start %s" % name, lambda: backend.start(name), lambda: backend.stop(name))
        if net["autostart"] != autostart:
            plan.add("virsh net-autostart %s%s" % (name, "" if autostart else " --disable"), lambda: backend.set_autostart(name, autostart),
                     lambda: backend.set_autostart(name, net["autostart"]))

    def _normalized(self, net, name):
        """The definition libvirt has, read into the model and written back with every default this
        collection makes explicit (STP on, delay 0, the MAC table manager, netmask or prefix...): a
        hand-written definition that means the same as the desired one compares equal to it."""
        model = model_of_xml(net["xml"], name)
        return network_xml(self.complete(overlay(self.defaults(model), model), {}), uuid=_uuid(net["xml"]), owner=self.owner)

    @staticmethod
    def _plan_live_updates(plan, backend, name, old_xml, new_xml):
        for command, section, xml, parent, undo in live_updates(old_xml, new_xml):
            parent_index = " --parent-index %d" % parent if parent >= 0 else ""
            words = "virsh net-update %s %s %s '%s'%s --live --config" % (name, command, section, xml, parent_index)
            plan.add(words, _update(backend, name, command, section, xml, parent), _update(backend, name, *undo))

    def plan_removal(self, plan, backend, current, snapshot):
        name = current.name
        net = snapshot["networks"][name]
        if net["active"]:
            ports = snapshot.get("ports", {}).get(net["bridge"], [])
            plan.add("virsh net-destroy %s" % name, lambda: backend.stop(name), lambda: _start(backend, name, ports, net["bridge"]))
        old_xml = net["xml"]

        def define_again():
            backend.define(old_xml)
            if net["autostart"]:
                backend.set_autostart(name, True)
        plan.add("virsh net-undefine %s" % name, lambda: backend.undefine(name), define_again)

    def finish_plan(self, plan, backend, snapshot):
        """Nothing is batched; the libvirt backend has no services of its own beside libvirt's."""


def _update(backend, name, command, section, xml, parent):
    return lambda: backend.update(name, command, section, xml, parent)


def _start(backend, name, ports, bridge):
    backend.start(name)
    _reattach(backend, ports, bridge)


def _redefine_and_restart(backend, name, xml, ports, bridge):
    """A restart takes the bridge down with its ports: the running guests' taps go back on it
    (libvirt does that only when libvirtd itself restarts), and are checked."""
    backend.define(xml)
    if backend.is_active(name):
        backend.stop(name)
    _start(backend, name, ports, bridge)


def _reattach(backend, ports, bridge):
    if not ports:
        return
    for port in ports:
        backend.attach(port, bridge)
    missing = sorted(set(ports) - set(backend.bridge_ports(bridge)))
    if missing:
        raise HvnetError("after the restart, %s could not be put back on bridge %s" % (", ".join(missing), bridge))


def _reattach_words(ports, bridge):
    return "".join("; ip link set %s master %s" % (port, bridge) for port in ports)


# ---- the definition as XML ----------------------------------------------------------------

def network_xml(model, uuid=None, owner=OWNER):
    """The network's definition (render/libvirt_network) with the mark of module `owner` in
    <metadata>, and libvirt's uuid when known and not given, so that a redefinition keeps it."""
    if uuid and not model.uuid:
        model = dataclasses.replace(model, uuid=uuid)
    return libvirt_render.network_xml(model, metadata=[MARK_XML % owner])


def model_of_xml(xml, name):
    """The model of a network definition as libvirt has it (parse/libvirt_network)."""
    problems = Problems()
    path = "libvirt network %s" % name
    config = libvirt_parse.parse_network_xml(xml, path, problems) or {"name": name}
    connections = config.pop("connections", None)
    forward = config.get("forward") or {}
    if forward.get("dev") and forward.get("interfaces") == [forward["dev"]]:
        del forward["interfaces"]  # libvirt's own copy of forward dev (see _definition)
    model = m.from_config(config, path, problems)
    model.connections = connections
    return model


# ---- comparing definitions ---------------------------------------------------------------

def _owner(net):
    return net["owned"].get("module", OWNER)


def _with_mark(xml, owner):
    root = ET.fromstring(xml)
    metadata = root.find("metadata")
    if metadata is None:
        metadata = ET.Element("metadata")
        root.insert(2, metadata)
    ET.SubElement(metadata, "{%s}owner" % LIBVIRT_MARK_NAMESPACE, {"module": owner})
    ET.register_namespace(LIBVIRT_MARK_PREFIX, LIBVIRT_MARK_NAMESPACE)
    return ET.tostring(root, encoding="unicode")


def _forward_mode(xml):
    forward = ET.fromstring(xml).find("forward")
    return forward.get("mode", "nat") if forward is not None else "isolated"


def _uuid(xml):
    if not xml:
        return None
    found = ET.fromstring(xml).find("uuid")
    return found.text if found is not None else None


def _canonical(element, with_children=True):
    """A hashable form of an element: attributes sorted, whitespace and child order aside."""
    if element is None:
        return None
    children = tuple(sorted(repr(_canonical(child)) for child in element)) if with_children else ()
    return (element.tag, tuple(sorted(element.attrib.items())), (element.text or "").strip(), children)


def _definition(xml):
    """The definition without what libvirt adds or keeps beside it (uuid, our mark, connections)."""
    root = ET.fromstring(xml)
    for tag in LIBVIRT_ONLY_TAGS:
        for found in root.findall(tag):
            root.remove(found)
    root.attrib.pop("connections", None)
    forward = root.find("forward")
    interfaces = forward.findall("interface") if forward is not None else []
    # libvirt writes forward dev as the first <interface>, and the first <interface> as forward dev
    if interfaces and forward.get("dev") == interfaces[0].get("dev"):
        if len(interfaces) == 1 and len(interfaces[0].attrib) == 1:
            forward.remove(interfaces[0])
        else:
            del forward.attrib["dev"]
    return root


def owned_mark_equal(old_xml, new_xml):
    return owned(old_xml) == owned(new_xml)


def same_definition(old_xml, new_xml):
    return _canonical(_definition(old_xml)) == _canonical(_definition(new_xml)) and owned_mark_equal(old_xml, new_xml)


def _without_live(xml):
    """(the definition without its live-updatable entries, {section: [(parent_index, element)]})."""
    root = _definition(xml)
    entries = {}
    for section, path in LIVE_SECTIONS:
        parent_path, _slash, tag = path.rpartition("/")
        found = []
        if parent_path.startswith("ip"):
            for index, ip_el in enumerate(root.findall("ip")):
                dhcp = ip_el.find("dhcp")
                for entry in (dhcp.findall(tag) if dhcp is not None else []):
                    found.append((index, entry))
                    dhcp.remove(entry)
        else:
            parent = root.find(parent_path) if parent_path else root
            for entry in (parent.findall(tag) if parent is not None else []):
                found.append((-1, entry))
                parent.remove(entry)
        entries[section] = found
    for ip_el in root.findall("ip"):  # an emptied <dhcp/> is no DHCP: the same as none
        dhcp = ip_el.find("dhcp")
        if dhcp is not None and not list(dhcp) and not dhcp.attrib:
            ip_el.remove(dhcp)
    dns = root.find("dns")
    if dns is not None and not list(dns) and not dns.attrib:
        root.remove(dns)
    return root, entries


def restart_fields(old_xml, new_xml, live_supported=True):
    """The config fields whose change needs the running network restarted (sorted), or []."""
    old_root, _old_live = _without_live(old_xml) if live_supported else (_definition(old_xml), None)
    new_root, _new_live = _without_live(new_xml) if live_supported else (_definition(new_xml), None)
    fields = set()
    tags = {child.tag for child in old_root} | {child.tag for child in new_root}
    for tag in tags:
        old = sorted(repr(_canonical(child)) for child in old_root.findall(tag))
        new = sorted(repr(_canonical(child)) for child in new_root.findall(tag))
        if old != new:
            fields.add(FIELD_OF_ELEMENT.get(tag, tag))
    if old_root.attrib != new_root.attrib:
        fields.update(FIELD_OF_ELEMENT.get(key, key) for key in set(old_root.attrib) ^ set(new_root.attrib))
    return sorted(fields)


def live_updates(old_xml, new_xml):
    """virNetworkUpdate calls that turn the old live entries into the new ones:
    [(command, section, xml, parent_index, undo as (command, section, xml, parent_index))].
    Deletions first (an address may move from one host entry to another), then modifications, then additions."""
    old_entries = _without_live(old_xml)[1]
    new_entries = _without_live(new_xml)[1]
    deletes, modifies, adds = [], [], []
    for section, _path in LIVE_SECTIONS:
        keys = MODIFY_KEYS.get(section, ())
        old = [(parent, _text(entry), entry) for parent, entry in old_entries[section]]
        new = [(parent, _text(entry), entry) for parent, entry in new_entries[section]]
        old_texts = {entry[:2] for entry in old}
        new_texts = {entry[:2] for entry in new}
        gone = [item for item in old if (item[0], item[1]) not in new_texts]
        coming = [item for item in new if (item[0], item[1]) not in old_texts]
        for parent, text, entry in list(coming):
            key = _entry_key(entry, keys)
            match = next((item for item in gone if key and item[0] == parent and _entry_key(item[2], keys) == key), None)
            if match is not None:
                gone.remove(match)
                coming.remove((parent, text, entry))
                modifies.append(("modify", section, text, parent, ("modify", section, match[1], parent)))
        for parent, text, _entry in gone:
            deletes.append(("delete", section, text, parent, ("add-last", section, text, parent)))
        for parent, text, _entry in coming:
            adds.append(("add-last", section, text, parent, ("delete", section, text, parent)))
    return deletes + modifies + adds


def _entry_key(entry, keys):
    for key in keys:
        if entry.get(key):
            return (key, entry.get(key).lower())
    return None


def _text(entry):
    entry = copy.deepcopy(entry)
    entry.tail = None
    return ET.tostring(entry, encoding="unicode")
