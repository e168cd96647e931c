# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_interface: tap and macvtap devices, planned against one snapshot of the host."""

from __future__ import annotations

import dataclasses
import os

from ansible_collections.hypervisor.networking.plugins.module_utils.backend.netlink import Netlink
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.ovsdb import WithOvsdb, database_of, ovsdb_present
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.tuntap import TUN_DEVICE
from ansible_collections.hypervisor.networking.plugins.module_utils.lock import ovsdb_scope
from ansible_collections.hypervisor.networking.plugins.module_utils.model import interface as m
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import missing_prerequisite, name_for_id, resolve_user
from ansible_collections.hypervisor.networking.plugins.module_utils.ownership import make_mark
from ansible_collections.hypervisor.networking.plugins.module_utils.parse import libvirt_interface as libvirt_xml
from ansible_collections.hypervisor.networking.plugins.module_utils.plan import Plan
from ansible_collections.hypervisor.networking.plugins.module_utils.render import nic
from ansible_collections.hypervisor.networking.plugins.module_utils.resource import ovs_port, vhostuser
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.common import LinkResource, ip_link_set_command

TAP_MAX_MTU = 65521  # tun's ceiling (64 KiB minus headers)
DEFAULT_MTU = 1500
# the flags the kernel gives every new bridge port (new_nbp()): setting them again is a no-op
NEW_PORT_FLAGS = {"isolated": False, "learning": True, "flood": True}


class InterfaceResource(LinkResource):
    bridge_owners = ()  # the vm_network resources, one per backend (set by entry.py)
    kind = "vm_interface"
    adoptable_kinds = ("tun", "macvtap")

    from_config = staticmethod(m.from_config)

    def lock_scopes(self, params):
        # vhostuser interfaces live in OVSDB: lock it when there is one to read, so that taps in
        # namespaces of a machine without Open vSwitch do not wait for each other
        scopes = super().lock_scopes(params)
        if ovsdb_present(params):
            scopes.append(ovsdb_scope(database_of(params)))
        return scopes

    def open_backend(self, params):
        # kind vhostuser lives in OVSDB: the kernel backend plus ovs-vsctl
        # taps and macvtaps use no addresses or routes: a read of links alone needs no pyroute2
        return WithOvsdb(Netlink(links_only=True), params.get("database"), params.get("vhost_socket_dir"))

    @staticmethod
    def defaults(model):
        if m.render_only(model):
            return m.VmInterface(name=model.name, kind=model.effective_kind)  # only what the user says is rendered
        if model.effective_kind == "vhostuser":
            return m.VmInterface(name=model.name, kind="vhostuser")
        if model.effective_kind == "macvtap":
            return m.VmInterface(name=model.name, kind="macvtap", mode="vepa", link_state="up")
        return dataclasses.replace(m.DEFAULTS, name=model.name)

    def check_config(self, models, problems):
        """Cross-object value checks: none yet for interfaces."""

    def check_desired(self, problems, path, model):
        m.check_desired(problems, path, model)

    # ---- reading ---------------------------------------------------------------------
    def current(self, snapshot, saved, adopt=()):
        if "libvirt" in snapshot:  # state parsed of libvirt XML: the NICs it describes
            return {model.name: model for model in snapshot["libvirt"]}
        result = {}
        for name, link, _attrs in self.owned_links(snapshot, adopt):
            model = m.VmInterface(name=name, mtu=link["mtu"], mac=link["mac"], link_state="up" if link["up"] else "down")
            if link["kind"] == "tun":
                tun = link.get("tun") or {}
                model.kind = "tap"
                model.multi_queue = tun.get("multi_queue", False)
                model.owner = _id_text(tun.get("owner"), "user")
                model.group = _id_text(tun.get("group"), "group")
                model.bridge = link.get("master")
                brport = link.get("brport")
                if brport:
                    model.isolated, model.learning, model.flood = brport["isolated"], brport["learning"], brport["flood"]
            elif link["kind"] == "macvtap":
                model.kind = "macvtap"
                model.link = link.get("lower")
                model.mode = (link.get("macvtap") or {}).get("mode")
            else:
                continue
            m.restore_saved_only(model, saved.get(name) or {})
            result[name] = model
        result.update(vhostuser.current(snapshot, saved))
        return result

    def parse_running_config(self, text):
        if text.lstrip().startswith("<"):  # libvirt's <interface> or <domain> XML
            return dict(self.empty_snapshot(), libvirt=libvirt_xml.parse(text))
        return super().parse_running_config(text)

    def conflict(self, snapshot, model, adopt):
        if m.render_only(model):
            return None
        if model.kind == "vhostuser":
            return vhostuser.conflict(snapshot, model, adopt)
        return super().conflict(snapshot, model, adopt)

    # ---- defaults that depend on the host --------------------------------------------
    def _bridge_settings(self, snapshot, bridge):
        """What the network that owns `bridge` says about its ports, asked once per call of every
        vm_network backend (entry.py sets bridge_owners); {} for a bridge no network of ours owns."""
        cache = snapshot.setdefault("bridge_settings", {})
        if bridge not in cache:
            answers = (owner.bridge_settings(bridge, snapshot["links"], boot_restore=snapshot.get("boot_restore", False))
                       for owner in self.bridge_owners)
            cache[bridge] = next((answer for answer in answers if answer is not None), {})
        return cache[bridge]

    def complete(self, model, snapshot):
        model = dataclasses.replace(model)
        if model.kind == "vhostuser" or m.render_only(model):
            return model
        links = snapshot["links"]
        queues = model.guest.queues if model.guest and model.guest.queues else 1
        if model.kind == "tap":
            if model.multi_queue is None:
                model.multi_queue = queues > 1
            if model.bridge:
                manager = self._bridge_settings(snapshot, model.bridge).get("mac_table_manager", "kernel")
                # libvirt's macTableManager: the bridge learns nothing from VM ports.
                port_default = manager != "libvirt"
                model.isolated = bool(model.isolated)
                model.learning = port_default if model.learning is None else model.learning
                model.flood = port_default if model.flood is None else model.flood
            else:
                # port flags mean nothing off a bridge; one set anyway stays for check_desired to refuse
                model.isolated = True if model.isolated else None
            if model.mtu is None:
                model.mtu = (links.get(model.bridge) or {}).get("mtu") or DEFAULT_MTU
            if model.mac is None and model.guest and model.guest.mac:
                # libvirt's host-side MAC: the guest's with fe: first, never the bridge's lowest
                model.mac = "fe" + model.guest.mac[2:]
        else:
            if model.mac is None and model.guest and model.guest.mac:
                model.mac = model.guest.mac  # a macvtap's own MAC is the one the guest uses
            if model.mtu is None:
                model.mtu = (links.get(model.link) or {}).get("mtu") or DEFAULT_MTU
        for key, kind in (("owner", "user"), ("group", "group")):
            value = getattr(model, key)
            number = resolve_user(value, kind) if value is not None else None
            if number is not None:
                setattr(model, key, name_for_id(number, kind))
        return model

    def check_host(self, desired, snapshot, problems, warnings, check_mode, paths):
        links = snapshot["links"]
        path_of = {name: path for path, name in paths}
        for name, model in desired.items():
            refusal = m.render_only(model)
            if refusal:
                problems.add("%s.%s" % (path_of.get(name, name), refusal[0]), "cannot be built on the host: " + refusal[1])
        if problems:
            return  # nothing of a NIC libvirt sets up is half-built
        vhost = {name: model for name, model in desired.items() if model.kind == "vhostuser"}
        vhostuser.check_host(vhost, snapshot, problems, warnings, check_mode, path_of)
        desired = {name: model for name, model in desired.items() if name not in vhost}
        for name, model in desired.items():
            path = path_of.get(name, name)
            if model.kind == "tap":
                if not os.path.exists(TUN_DEVICE):
                    problems.add(path + ".kind", "this kernel has no tun/tap support (%s is missing)" % TUN_DEVICE)
                ceiling, what = TAP_MAX_MTU, "a tap"
                if model.bridge:
                    bridge = links.get(model.bridge)
                    if bridge is None:
                        missing_prerequisite(problems, warnings, check_mode, path + ".bridge",
                                             "bridge %s does not exist; create it first (hypervisor.networking.vm_network)" % model.bridge)
                    elif bridge.get("kind") != "bridge":
                        problems.add(path + ".bridge", "%s is a %s device, not a Linux bridge" % (model.bridge, bridge.get("kind") or "physical"))
                    elif bridge.get("max_mtu") and bridge["max_mtu"] < ceiling:
                        ceiling, what = bridge["max_mtu"], "bridge %s" % model.bridge
                if model.mtu and model.mtu > ceiling:
                    problems.add(path + ".mtu", "%d is above the maximum of %s (%d)" % (model.mtu, what, ceiling))
                for key, kind in (("owner", "user"), ("group", "group")):
                    value = getattr(model, key)
                    if value is not None and resolve_user(value, kind) is None:
                        missing_prerequisite(problems, warnings, check_mode, path + "." + key, "%s '%s' does not exist on this host; "
                                             "create it first (ansible.builtin.%s)" % (kind, value, kind))
            else:
                lower = links.get(model.link)
                if lower is None:
                    problems.add(path + ".link", "lower device %s does not exist" % model.link)
                elif model.mtu and lower.get("mtu") and model.mtu > lower["mtu"]:
                    problems.add(path + ".mtu", "%d is above the MTU of lower device %s (%d); a macvtap cannot exceed it"
                                 % (model.mtu, model.link, lower["mtu"]))

    # ---- planning --------------------------------------------------------------------
    def plan_object(self, plan, backend, current, desired, snapshot):
        if vhostuser.is_vhost(desired) or vhostuser.is_vhost(current):
            if current is not None and vhostuser.is_vhost(current) != vhostuser.is_vhost(desired):
                self.plan_removal(plan, backend, current, snapshot)  # kind cannot change in place
                current = None
            if vhostuser.is_vhost(desired):
                vhostuser.plan(plan, backend, current, desired, snapshot)
                return
        link = snapshot["links"].get(desired.name)
        mark = make_mark(self.kind)
        why = _recreate_reason(current, desired)
        recreate = why is not None
        if recreate:
            self._plan_delete(plan, backend, current, reason=" (re-create: %s)" % why)
        if current is None or recreate:
            self._plan_create(plan, backend, desired, mark)
            return
        self._plan_update(plan, backend, current, desired, link, mark)

    def plan_removal(self, plan, backend, current, snapshot):
        if vhostuser.is_vhost(current):
            vhostuser.plan_removal(backend, current, snapshot)
            return
        self._plan_delete(plan, backend, current)

    def finish_plan(self, plan, backend, snapshot):
        ovs_port.finish(plan, backend)  # the vhostuser ports' one ovs-vsctl transaction, if any

    def _plan_create(self, plan, nl, model, mark):
        name = model.name
        if model.kind == "tap":
            uid, gid = _ids(model)
            words = ["ip", "tuntap", "add", "name", name, "mode", "tap", "vnet_hdr"]
            words += ["multi_queue"] if model.multi_queue else []
            # offline renderings keep a name the controller cannot resolve as given
            words += ["user", str(uid if uid is not None else model.owner)] if model.owner is not None else []
            words += ["group", str(gid if gid is not None else model.group)] if model.group is not None else []
            plan.add(" ".join(words), _marked(nl, name, mark, lambda: nl.create_tap(name, model.multi_queue, uid, gid)),
                     lambda: nl.delete_link(name))
        else:
            plan.add("ip link add link %s name %s type macvtap mode %s" % (model.link, name, model.mode),
                     _marked(nl, name, mark, lambda: nl.create_macvtap(name, model.link, model.mode, model.mac)),
                     lambda: nl.delete_link(name))
        attrs = {"mtu": model.mtu}
        if model.mac:
            attrs["address"] = model.mac
        attrs["ifalias"] = mark
        if model.kind == "tap":
            attrs["master"] = model.bridge
        attrs["state"] = model.link_state
        plan.add(ip_link_set_command(name, **attrs), lambda: nl.set_link(name, **attrs))
        if model.kind == "tap" and model.bridge:
            flags = _port_flags_to_set(model, NEW_PORT_FLAGS)
            if flags:
                plan.add(_bridge_link_command(name, flags), lambda: nl.set_bridge_port(name, **flags))
            _plan_static_fdb(plan, nl, name, _static_fdb(model), set())

    def _plan_delete(self, plan, nl, cur, reason=""):
        name = cur.name
        plan.add("ip link del %s%s" % (name, reason), lambda: nl.delete_link(name), lambda: self._recreate(nl, cur))

    def _recreate(self, nl, model):
        """Undo of a deletion: build the device again as it was."""
        scratch = type("Scratch", (), {"actions": [], "add": lambda self, c, d, u=None: self.actions.append(d)})()
        self._plan_create(scratch, nl, model, make_mark(self.kind))
        for do in scratch.actions:
            do()

    def _plan_update(self, plan, nl, cur, want, link, mark):
        name = want.name
        if want.kind == "tap" and (_ids(cur) != _ids(want)):
            uid, gid = _ids(want)
            old_uid, old_gid = _ids(cur)
            plan.add("ip tuntap set owner of %s: user %s group %s" % (name, _none_text(uid), _none_text(gid)),
                     lambda: nl.set_tap_owner(name, want.multi_queue, uid, gid),
                     lambda: nl.set_tap_owner(name, cur.multi_queue, old_uid, old_gid), partial=True)
        if want.kind == "macvtap" and cur.mode != want.mode:
            plan.add("ip link set %s type macvtap mode %s" % (name, want.mode),
                     lambda: nl.set_macvtap_mode(name, want.mode), lambda: nl.set_macvtap_mode(name, cur.mode))
        new, old = {}, {}
        if want.mtu is not None and want.mtu != cur.mtu:
            new["mtu"], old["mtu"] = want.mtu, cur.mtu
        if want.mac is not None and want.mac != cur.mac:
            new["address"], old["address"] = want.mac, cur.mac
        if want.kind == "tap" and want.bridge != cur.bridge:
            new["master"], old["master"] = want.bridge, cur.bridge
        if (link or {}).get("alias") != mark:
            new["ifalias"], old["ifalias"] = mark, (link or {}).get("alias")
        if want.link_state != cur.link_state:
            new["state"], old["state"] = want.link_state, cur.link_state
        if new:
            # partial: the kernel applies attributes one by one; the undo puts every old value back
            plan.add(ip_link_set_command(name, **new), lambda: nl.set_link(name, **new), lambda: nl.set_link(name, **old), partial=True)
        if want.kind == "tap" and want.bridge:
            # a port that (re)joins a bridge starts with the kernel's flags, whatever it had before
            flags = _port_flags_to_set(want, NEW_PORT_FLAGS if new.get("master") else {key: getattr(cur, key) for key in NEW_PORT_FLAGS})
            if flags:
                old_flags = {key: getattr(cur, key) for key in flags if getattr(cur, key) is not None}
                plan.add(_bridge_link_command(name, flags), lambda: nl.set_bridge_port(name, **flags),
                         (lambda: nl.set_bridge_port(name, **old_flags)) if old_flags else None)
            # a port that (re)joins a bridge starts with no entries: the kernel flushed them
            have = set() if new.get("master") else set((link or {}).get("fdb_static") or ())
            _plan_static_fdb(plan, nl, name, _static_fdb(want), have)

    # ---- offline renderings --------------------------------------------------------------
    def render(self, model, params, path, problems):
        if m.render_only(model):
            result = {"name": model.name, "config": self.to_config(model), "commands": []}  # libvirt builds it
        elif vhostuser.is_vhost(model):
            # without its OVS bridge (libvirt's XML does not name it) there is no port to make yet
            result = {"name": model.name, "config": self.to_config(model), "commands": vhostuser.render(model) if model.bridge else []}
        else:
            plan = Plan()  # only its commands: rendered applies nothing
            self._plan_create(plan, None, model, make_mark(self.kind))
            result = {"name": model.name, "config": self.to_config(model), "commands": plan.commands}
        asked = params.get("targets")
        renderings, refused = nic.render(model, asked or nic.TARGETS)
        result.update(renderings)
        for target, (field, reason) in sorted(refused.items()):
            if asked:  # named explicitly: a rendering that cannot be made is an error
                problems.add("%s.%s" % (path, field), "cannot be rendered for %s: %s" % (target, reason))
        if refused and not asked:
            result["not_rendered"] = {target: "%s: %s" % (field, reason) for target, (field, reason) in sorted(refused.items())}
        return result


def _marked(nl, name, mark, create):
    """Create the device and mark it in the same step: a run killed right after would otherwise
    leave a device without the mark, which the next run must refuse as someone else's."""
    def run():
        create()
        try:
            nl.set_link(name, ifalias=mark)
        except Exception:
            nl.delete_link(name)
            raise
    return run


def _recreate_reason(cur, want):
    """Why the device must be re-created to match, or None when it can change in place."""
    if cur is None:
        return None
    if cur.kind != want.kind:
        return "kind cannot change in place"
    if want.kind == "tap":
        if cur.multi_queue != want.multi_queue:
            return "multi_queue cannot change in place"
        for key in ("owner", "group"):
            if getattr(cur, key) is not None and getattr(want, key) is None:
                return "the kernel cannot clear a tap's %s in place" % key
    elif cur.link != want.link:
        return "the lower device cannot change in place"
    elif cur.mode != want.mode and "passthru" in (cur.mode, want.mode):
        return "the kernel cannot switch a macvtap to or from passthru in place"
    return None


def _static_fdb(model):
    """libvirt's macTableManager: with learning off the bridge only reaches the guest through
    a static entry for its MAC on the tap, which libvirt adds and so do we."""
    if model.kind == "tap" and model.bridge and model.learning is False and model.guest and model.guest.mac:
        return {model.guest.mac}
    return set()


def _plan_static_fdb(plan, nl, name, wanted, have):
    for mac in sorted(have - wanted):
        plan.add("bridge fdb del %s dev %s master static" % (mac, name),
                 lambda mac=mac: nl.delete_static_fdb(name, mac), lambda mac=mac: nl.add_static_fdb(name, mac))
    for mac in sorted(wanted - have):
        plan.add("bridge fdb add %s dev %s master static" % (mac, name),
                 lambda mac=mac: nl.add_static_fdb(name, mac), lambda mac=mac: nl.delete_static_fdb(name, mac))


def _ids(model):
    uid = resolve_user(model.owner, "user") if model.owner is not None else None
    gid = resolve_user(model.group, "group") if model.group is not None else None
    return uid, gid


def _id_text(number, kind):
    if number is None or number == 0xFFFFFFFF:
        return None
    return name_for_id(number, kind)


def _none_text(value):
    return "none" if value is None else str(value)


def _port_flags_to_set(model, have):
    """The bridge port flags the model sets (not None) that differ from `have`."""
    flags = {}
    for key in NEW_PORT_FLAGS:
        wanted = getattr(model, key)
        if wanted is not None and wanted != have.get(key):
            flags[key] = wanted
    return flags


def _bridge_link_command(name, flags):
    words = ["bridge", "link", "set", "dev", name]
    for key, value in flags.items():
        words += [key, "on" if value else "off"]
    return " ".join(words)
