# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_network, kernel backend: a Linux bridge per network, its addresses and its uplink.

Enslaving an uplink that carries the host's addresses moves them (and the routes through
the uplink) to the bridge in an order that keeps the host reachable: bridge up with the
uplink's MAC, addresses added to the bridge, uplink enslaved, routes replaced, addresses
removed from the uplink. If the default gateway answered before, it must answer after, or
the whole call rolls back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import probe
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.hostnet import NetworkHost
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HvnetError
from ansible_collections.hypervisor.networking.plugins.module_utils.model import network as m
from ansible_collections.hypervisor.networking.plugins.module_utils.model import network_services as svc
from ansible_collections.hypervisor.networking.plugins.module_utils.model.base import to_config
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems, check_no_control_characters
from ansible_collections.hypervisor.networking.plugins.module_utils.ownership import make_mark, parse_mark
from ansible_collections.hypervisor.networking.plugins.module_utils.plan import Plan
from ansible_collections.hypervisor.networking.plugins.module_utils.render import libvirt_network as libvirt_render
from ansible_collections.hypervisor.networking.plugins.module_utils.render import nftables as nft_render
from ansible_collections.hypervisor.networking.plugins.module_utils.resource import network_services as services
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.common import LinkResource, ip_link_set_command

ROUTE_PROTO_KERNEL = 2
GATEWAY_TIMEOUT = 5.0
MIN_STP_DELAY = 2  # seconds
MAX_ALIAS = 255  # IFALIASZ - 1


class NetworkResource(LinkResource):
    kind = "vm_network"
    backend = default_backend = "kernel"  # the word of the module's `backend` option this resource implements
    conflict_field = "bridge.name"
    adoptable_kinds = ("bridge",)

    from_config = staticmethod(m.from_config)

    def defaults(self, model):
        if model.mode in m.BRIDGELESS_MODES or (self.backend == "libvirt" and model.mode == "bridge"):
            # guests sit on NICs, PCI functions or a bridge libvirt does not manage (it refuses stp and delay there)
            return m.VmNetwork(name=model.name, forward=m.Forward(mode="isolated"), ips=[])
        uplink = model.bridge.uplink if model.bridge else None
        # STP stays off on bridges with a physical uplink: top-of-rack ports with BPDU guard
        # shut down when a hypervisor starts sending BPDUs.
        return m.VmNetwork(
            name=model.name, forward=m.Forward(mode="isolated"),
            bridge=m.Bridge(stp=uplink is None, delay=0, mac_table_manager="kernel"), ips=[],
        )

    def link_name(self, model):
        return model.bridge_name

    @staticmethod
    def bridge_settings(bridge, links, boot_restore=False):
        """How the network on `bridge` treats its ports ({mac_table_manager}), when this backend
        made it (its mark in the alias); None for any other bridge. vm_interface asks every backend."""
        mark = parse_mark(((links or {}).get(bridge) or {}).get("alias"))
        if not mark or mark[0] != "vm_network":
            return None
        return {"mac_table_manager": mark[1].get("mac_table_manager", "kernel")}

    def to_config(self, model):
        config = to_config(dataclasses.replace(model, ips=None, ip_options=None))
        if model.ips is not None:
            config["ips"] = [m.ip_to_config(ip, (model.ip_options or {}).get(ip)) for ip in model.ips]
        return config

    def host_facts(self, model, snapshot):
        """The bridge's addresses including those moved from the uplink (not in `ips`: they go back with
        the uplink), and the network's nftables table, whose name is sanitised and so not always hvnet_<name>."""
        uplink = model.bridge.uplink if model.bridge else None
        moved = []
        if uplink and (snapshot["links"].get(uplink) or {}).get("master") == model.bridge_name:
            moved = sorted(_marked_moved(snapshot["links"].get(model.bridge_name)))
        elif uplink:
            moved = _global_addresses(snapshot, uplink)  # they move when this is applied
        table = nft_render.render(model)
        return {"addresses": list(model.ips or []) + [ip for ip in moved if ip not in (model.ips or [])],
                "nftables_table": "%s %s" % (table["family"], table["table"]) if table else None}

    def open_backend(self, params):
        return NetworkHost()

    def conflict(self, snapshot, model, adopt):
        found = super().conflict(snapshot, model, adopt)
        if found:
            return found
        owner = _network_of(snapshot["links"].get(self.link_name(model)))
        if owner not in (None, model.name):
            return "bridge %s belongs to network %s" % (self.link_name(model), owner)
        return None

    def check_config(self, models, problems):
        bridges, uplinks, subnets = {}, {}, []
        for index, model in enumerate(models):
            path = "config[%d]" % index
            for seen, key, value in ((bridges, "bridge.name", model.bridge_name),
                                     (uplinks, "bridge.uplink", model.bridge.uplink if model.bridge else None)):
                if value is None:
                    continue
                if value in seen:
                    problems.add("%s.%s" % (path, key), "%s is also used by config[%d]" % (value, seen[value]))
                seen[value] = index
            for ip in model.ips or []:
                network = ipaddress.ip_interface(ip).network
                for other_index, other in subnets:
                    if other_index != index and other.version == network.version and other.overlaps(network):
                        problems.add(path + ".ips", "%s overlaps %s of config[%d]" % (network, other, other_index))
                subnets.append((index, network))
        services.check_config(models, problems)

    # ---- reading ---------------------------------------------------------------------
    def _current_links(self, snapshot, adopt):
        result = {}
        for link_name, link, attrs in self.owned_links(snapshot, adopt):
            if link.get("kind") != "bridge":
                continue
            name = attrs.get("name", link_name)
            moved = set(attrs.get("moved", "").split(",")) - {""}
            bridge_info = link.get("bridge") or {}
            result[name] = m.VmNetwork(
                name=name,
                forward=m.Forward(mode=attrs.get("mode", "bridge")),
                bridge=m.Bridge(name=link_name, stp=bridge_info.get("stp"), delay=bridge_info.get("delay"),
                                mac_table_manager=attrs.get("mac_table_manager", "kernel"), uplink=attrs.get("uplink")),
                # only an MTU that was asked for: an unmanaged bridge's follows its ports
                mtu=link.get("mtu") if "mtu" in attrs else None,
                mac=link.get("mac"),
                ips=[a["address"] for a in snapshot["addresses"].get(link_name, [])
                     if a["scope"] == "global" and a["address"] not in moved],
            )
            services.fill_from_spec(result[name], (snapshot.get("services") or {}).get(name))
        return result

    def complete(self, model, snapshot):
        if model.mode in m.BRIDGELESS_MODES or self.backend != "kernel":
            return model  # the kernel's bridge only (bridgeless modes are refused in check_desired: needs backend libvirt)
        model = dataclasses.replace(model, forward=dataclasses.replace(model.forward), bridge=dataclasses.replace(model.bridge))
        model.bridge.name = model.bridge_name
        if model.bridge.stp and model.bridge.delay < MIN_STP_DELAY:
            model.bridge.delay = MIN_STP_DELAY  # the kernel raises it to this while STP runs
        if model.mac is None and model.bridge.uplink:
            model.mac = (snapshot["links"].get(model.bridge.uplink) or {}).get("mac")
        elif model.mac is None:
            # a bridge's MAC otherwise follows its lowest port: every tap that comes or goes
            # would change the VMs' gateway MAC. libvirt's 52:54:00 prefix, stable per network;
            # a default that never depends on what exists, so saved and planned intent agree.
            digest = hashlib.sha256(model.name.encode()).hexdigest()
            model.mac = "52:54:00:%s:%s:%s" % (digest[0:2], digest[2:4], digest[4:6])
        return model

    def check_desired(self, problems, path, model):
        for suffix, reason in m.unsupported_fields(model, self.backend):
            problems.add("%s.%s" % (path, suffix), reason)
        if model.bridge and model.bridge.uplink and model.mode != "bridge":  # the mode may come from the host under merged
            problems.add(path + ".bridge.uplink", m.uplink_problem(model.mode))
        m.check_desired(problems, path, model)
        svc.check_desired(problems, path, model)

    def check_host(self, desired, snapshot, problems, warnings, check_mode, paths):
        links = snapshot["links"]
        path_of = {name: path for path, name in paths}
        for name, model in desired.items():
            path = path_of.get(name, name)
            own_bridge = next((link_name for link_name, link in links.items() if _network_of(link) == name), None)
            if own_bridge not in (None, model.bridge.name):
                problems.add(path + ".bridge.name", "network %s is on bridge %s and a bridge cannot be renamed in place; "
                             "delete the network (state deleted) and create it again" % (name, own_bridge))
                continue
            uplink_name = model.bridge.uplink
            if uplink_name and model.bridge.stp:
                warnings.append("%s.bridge.stp: STP is on with uplink %s; the bridge sends BPDUs to the switch, and switch ports"
                                " with BPDU guard shut down" % (path, uplink_name))
            if uplink_name:
                uplink = links.get(uplink_name)
                if uplink is None:
                    problems.add(path + ".bridge.uplink", "%s does not exist" % uplink_name)
                    continue
                moving = _global_addresses(snapshot, uplink_name)
                for address in _global_addresses(snapshot, uplink_name, dynamic=True):
                    if address not in moving:
                        warnings.append("%s.bridge.uplink: %s on %s is a DHCP/SLAAC address and stays there; point the host's DHCP"
                                        " client at bridge %s" % (path, address, uplink_name, model.bridge.name))
                for ip in model.ips or []:
                    if ip in moving:
                        problems.add(path + ".ips", "%s is on uplink %s and moves to the bridge with it; leave it out of ips" % (ip, uplink_name))
                if uplink.get("master") != model.bridge.name and len(_mark(model, moving)) > MAX_ALIAS:
                    problems.add(path + ".bridge.uplink", "%s has more addresses (%d) than this module can record for moving back"
                                 % (uplink_name, len(moving)))
                if uplink.get("kind") in ("bridge", "tun", "macvtap") or uplink_name == "lo":
                    problems.add(path + ".bridge.uplink", "%s is a %s device; an uplink is a NIC, bond or veth"
                                 % (uplink_name, uplink.get("kind") or "loopback"))
                elif uplink.get("master") not in (None, model.bridge.name):
                    problems.add(path + ".bridge.uplink", "%s is already enslaved to %s" % (uplink_name, uplink["master"]))
                if model.mtu and uplink.get("max_mtu") and model.mtu > uplink["max_mtu"]:
                    problems.add(path + ".mtu", "%d is above the maximum MTU of uplink %s (%d)" % (model.mtu, uplink_name, uplink["max_mtu"]))
            for ip in model.ips or []:
                network = ipaddress.ip_interface(ip).network
                for other, addresses in snapshot["addresses"].items():
                    if other in (model.bridge.name, uplink_name, own_bridge):
                        continue
                    for address in addresses:
                        if address["scope"] == "global" and ipaddress.ip_interface(address["address"]).network.overlaps(network):
                            problems.add(path + ".ips", "%s overlaps %s on %s" % (network, address["address"], other))
        services.check_host(desired, snapshot, problems, warnings, path_of)

    # ---- planning --------------------------------------------------------------------
    def plan_object(self, plan, backend, current, desired, snapshot):
        bridge = desired.bridge.name
        link = snapshot["links"].get(bridge)
        old_uplink = current.bridge.uplink if current else None
        new_uplink = desired.bridge.uplink
        moved = _marked_moved(link) if old_uplink == new_uplink else set()
        # a move a killed run left half done (the mark names the uplink, the host does not show
        # it moved) is completed: the steps already done are skipped
        moving = new_uplink and (new_uplink != old_uplink or _move_unfinished(snapshot, bridge, new_uplink, moved))
        if moving:
            moved |= set(_global_addresses(snapshot, new_uplink))
        mark = _mark(desired, moved)
        if current is None:
            words = ["ip", "link", "add", "name", bridge, "type", "bridge", "stp_state", "1" if desired.bridge.stp else "0",
                     "forward_delay", str(desired.bridge.delay * 100)]
            if desired.mac:
                words += ["address", desired.mac]
            attrs = {"ifalias": mark, "state": "up"}
            if desired.mtu:
                attrs["mtu"] = desired.mtu

            def create():
                # marked in the same step: a run killed right after would leave a bridge
                # without the mark, which the next run must refuse as someone else's
                backend.create_bridge(bridge, desired.bridge.stp, desired.bridge.delay, desired.mac)
                try:
                    backend.set_link(bridge, **attrs)
                except Exception:
                    backend.delete_link(bridge)
                    raise
            plan.add("%s; %s" % (" ".join(words), ip_link_set_command(bridge, **attrs)), create, lambda: backend.delete_link(bridge))
            current_ips = []
        stp_on_last = False
        if current is not None:
            stp_on_last = (current.bridge.stp, current.bridge.delay) != (desired.bridge.stp, desired.bridge.delay) and desired.bridge.stp
            if (current.bridge.stp, current.bridge.delay) != (desired.bridge.stp, desired.bridge.delay) and not stp_on_last:
                self._plan_stp(plan, backend, bridge, current, desired)  # off before any uplink joins
            new, old = {}, {}
            for key, attr in (("mtu", "mtu"), ("mac", "address")):
                wanted = getattr(desired, key)
                if wanted is not None and wanted != getattr(current, key):
                    new[attr], old[attr] = wanted, getattr(current, key)
            if link.get("alias") != mark:
                new["ifalias"], old["ifalias"] = mark, link.get("alias")
            if not link.get("up"):
                new["state"], old["state"] = "up", "down"
            if new:
                # partial: the kernel applies attributes one by one; the undo puts every old value back
                plan.add(ip_link_set_command(bridge, **new), lambda: backend.set_link(bridge, **new), lambda: backend.set_link(bridge, **old),
                         partial=True)
            current_ips = current.ips
        for ip in current_ips:
            if ip not in desired.ips:
                plan.add("ip addr del %s dev %s" % (ip, bridge), _call(backend, "delete_address", bridge, ip), _call(backend, "add_address", bridge, ip))
        for ip in desired.ips:
            if ip not in current_ips:
                plan.add("ip addr add %s dev %s" % (ip, bridge), _call(backend, "add_address", bridge, ip), _call(backend, "delete_address", bridge, ip))
        if old_uplink and old_uplink != new_uplink:
            self._plan_release(plan, backend, bridge, old_uplink, _marked_moved(link), snapshot)
        if moving:
            self._plan_enslave(plan, backend, bridge, new_uplink, desired.mtu, snapshot)
        elif new_uplink and desired.mtu and (snapshot["links"].get(new_uplink) or {}).get("mtu") != desired.mtu:
            old_mtu = snapshot["links"][new_uplink]["mtu"]
            plan.add("ip link set %s mtu %d" % (new_uplink, desired.mtu), lambda: backend.set_link(new_uplink, mtu=desired.mtu),
                     lambda: backend.set_link(new_uplink, mtu=old_mtu))
        if stp_on_last:
            self._plan_stp(plan, backend, bridge, current, desired)  # on only once the uplink left
        services.plan(plan, backend, current, desired, snapshot)

    @staticmethod
    def _plan_stp(plan, backend, bridge, current, desired):
        want, had = desired.bridge, current.bridge
        plan.add("ip link set %s type bridge forward_delay %d stp_state %d" % (bridge, want.delay * 100, int(want.stp)),
                 lambda: backend.set_bridge(bridge, want.stp, want.delay), lambda: backend.set_bridge(bridge, had.stp, had.delay),
                 partial=True)  # two netlink requests: the undo sets both back

    def plan_removal(self, plan, backend, current, snapshot):
        services.plan_removal(plan, backend, current, snapshot)
        bridge = current.bridge.name
        link = snapshot["links"].get(bridge) or {}
        releasing = bool(current.bridge.uplink) and (snapshot["links"].get(current.bridge.uplink) or {}).get("master") == bridge
        if releasing:
            self._plan_release(plan, backend, bridge, current.bridge.uplink, _marked_moved(link), snapshot)
        plan.add("ip link del %s" % bridge, lambda: backend.delete_link(bridge),
                 lambda: self._recreate(backend, current, link, snapshot, releasing))

    def _recreate(self, nl, cur, link, snapshot, released):
        """Undo of a removal: the bridge as it was, with its addresses, routes and ports (the VMs' taps).

        When the same plan released the uplink, the release's own undos move the host's
        addresses and routes back onto the bridge; doing it here too would collide.
        """
        nl.create_bridge(cur.bridge.name, cur.bridge.stp, cur.bridge.delay, cur.mac)
        nl.set_link(cur.bridge.name, ifalias=link.get("alias"), mtu=cur.mtu, state="up")
        for port in snapshot["links"].values():
            if port.get("master") == cur.bridge.name and port["name"] != cur.bridge.uplink and port["name"] in _present(nl):
                nl.set_link(port["name"], master=cur.bridge.name)
                if port.get("brport"):
                    nl.set_bridge_port(port["name"], **port["brport"])
        for ip in cur.ips + ([] if released else sorted(_marked_moved(link))):
            nl.add_address(cur.bridge.name, ip, nodad=True)
        if not released:
            for route in _routes_via(snapshot, cur.bridge.name):
                nl.replace_route(route, cur.bridge.name)

    def _plan_enslave(self, plan, nl, bridge, uplink, mtu, snapshot):
        addresses = _global_addresses(snapshot, uplink)
        on_bridge = _global_addresses(snapshot, bridge, dynamic=True)
        routes = _routes_via(snapshot, uplink)
        gateways = [r["gateway"] for r in routes if r.get("gateway") and r["dst"] in ("0.0.0.0/0", "::/0")]
        for ip in addresses:
            if ip not in on_bridge:
                plan.add("ip addr add %s dev %s nodad" % (ip, bridge), _call(nl, "add_address", bridge, ip, True), _call(nl, "delete_address", bridge, ip))
        old = {key: (snapshot["links"].get(uplink) or {}).get(key) for key in ("master", "mtu")}
        attrs = {"master": bridge} if old["master"] != bridge else {}
        if mtu and mtu != old["mtu"]:
            attrs["mtu"] = mtu
        if attrs:
            undo = {key: old[key] for key in attrs}
            plan.add(ip_link_set_command(uplink, **attrs), lambda: nl.set_link(uplink, **attrs), lambda: nl.set_link(uplink, **undo))
        for route in routes:
            plan.add("ip route replace %s%s dev %s" % (route["dst"], " via %s" % route["gateway"] if route.get("gateway") else "", bridge),
                     _call(nl, "replace_route", route, bridge), _call(nl, "replace_route", route, uplink))
        for ip in addresses:
            plan.add("ip addr del %s dev %s" % (ip, uplink), _call(nl, "delete_address", uplink, ip), _call(nl, "add_address", uplink, ip, True))
        _guard_gateways(plan, nl, gateways, uplink, bridge, "after %s moved into %s" % (uplink, bridge))

    def _plan_release(self, plan, nl, bridge, uplink, moved, snapshot):
        routes = _routes_via(snapshot, bridge)
        gateways = [r["gateway"] for r in routes if r.get("gateway") and r["dst"] in ("0.0.0.0/0", "::/0")]
        _guard_gateways(plan, nl, gateways, bridge, uplink, "after %s left %s" % (uplink, bridge))
        # a move a killed run left half done may have left addresses where they were
        on_uplink = _global_addresses(snapshot, uplink, dynamic=True)
        on_bridge = _global_addresses(snapshot, bridge, dynamic=True)
        for ip in sorted(moved):
            if ip not in on_uplink:
                plan.add("ip addr add %s dev %s nodad" % (ip, uplink), _call(nl, "add_address", uplink, ip, True), _call(nl, "delete_address", uplink, ip))
        if (snapshot["links"].get(uplink) or {}).get("master") == bridge:
            plan.add("ip link set %s nomaster" % uplink, lambda: nl.set_link(uplink, master=None), lambda: nl.set_link(uplink, master=bridge))
        for route in routes:
            plan.add("ip route replace %s%s dev %s" % (route["dst"], " via %s" % route["gateway"] if route.get("gateway") else "", uplink),
                     _call(nl, "replace_route", route, uplink), _call(nl, "replace_route", route, bridge))
        for ip in sorted(moved):
            if ip in on_bridge:
                plan.add("ip addr del %s dev %s" % (ip, bridge), _call(nl, "delete_address", bridge, ip), _call(nl, "add_address", bridge, ip, True))

    def finish_plan(self, plan, backend, snapshot):
        services.finish(plan, backend, snapshot)

    def parse_running_config(self, text):
        """`ip -d -j addr show` output, or libvirt network XML (one or more <network> elements)."""
        if text.lstrip().startswith("<"):
            return _libvirt_snapshot(text)
        return super().parse_running_config(text)

    def current(self, snapshot, saved, adopt=()):
        if "libvirt_networks" in snapshot:  # state parsed with network XML
            return dict(snapshot["libvirt_networks"])
        return self._current_links(snapshot, adopt)

    def render(self, model, params, path, problems):
        if self.backend == "libvirt":
            return {"name": model.name, "config": self.to_config(model), "libvirt_xml": libvirt_render.network_xml(model)}
        plan = Plan()  # only its commands: rendered applies nothing
        self.plan_object(plan, None, None, model, self.empty_snapshot())
        self.finish_plan(plan, None, self.empty_snapshot())
        return dict({"name": model.name, "config": self.to_config(model), "commands": plan.commands}, **services.rendered(model))


def _libvirt_snapshot(text):
    """A snapshot of the networks in libvirt network XML (state parsed); problems name running_config[i]."""
    from ansible_collections.hypervisor.networking.plugins.module_utils.parse import libvirt_network as libvirt_parse

    problems = Problems()
    models = {}
    for index, config in enumerate(libvirt_parse.parse_networks(text, "running_config", problems)):
        path = "running_config[%d]" % index
        connections = config.pop("connections", None)  # read-only: refused as input, returned when read
        check_no_control_characters(problems, path, config)
        model = m.from_config(config, path, problems)
        model.connections = connections
        if model.name in models:
            problems.add(path + ".name", "'%s' is given twice" % model.name)
        models[model.name] = model
    problems.raise_if_any()
    return dict(NetworkResource.empty_snapshot(), libvirt_networks=models)


def _call(nl, method, *args):
    """Defer the backend call (offline renderings plan with no backend at all)."""
    return lambda: getattr(nl, method)(*args)


def _mark(model, moved):
    return make_mark("vm_network", name=model.name, mode=model.mode, mac_table_manager=model.bridge.mac_table_manager,
                     uplink=model.bridge.uplink, moved=sorted(moved), mtu=model.mtu)


def _marked_moved(link):
    from ansible_collections.hypervisor.networking.plugins.module_utils.ownership import parse_mark

    mark = parse_mark((link or {}).get("alias"))
    return set((mark[1].get("moved", "") if mark else "").split(",")) - {""}


def _global_addresses(snapshot, name, dynamic=False):
    """Global addresses of `name` that move with it (with `dynamic`, also DHCP/SLAAC ones), as text."""
    return [a["address"] for a in snapshot["addresses"].get(name, [])
            if a["scope"] == "global" and (dynamic or not a.get("dynamic"))]


def _move_unfinished(snapshot, bridge, uplink, moved):
    """The uplink is not enslaved yet, or still holds addresses the move took (a killed run)."""
    if (snapshot["links"].get(uplink) or {}).get("master") != bridge:
        return True
    return bool(moved & set(_global_addresses(snapshot, uplink)))


def _present(nl):
    return set(nl.read()["links"])


def _network_of(link):
    """The network a bridge belongs to, by its mark; None for anything else."""
    from ansible_collections.hypervisor.networking.plugins.module_utils.ownership import parse_mark

    mark = parse_mark((link or {}).get("alias"))
    if not mark or mark[0] != "vm_network":
        return None
    return mark[1].get("name", link.get("name"))


def _routes_via(snapshot, dev):
    """Routes through `dev` that someone configured (not the kernel's own prefix routes)."""
    return [r for r in snapshot["routes"] if r["dev"] == dev and r["proto"] != ROUTE_PROTO_KERNEL
            and not (r["family"] == "ipv6" and r["dst"].startswith("fe80:"))]


def _guard_gateways(plan, nl, gateways, dev_before, dev_after, what):
    """A default gateway that answers now must answer after the change, or the call rolls back."""
    if nl is None:  # offline renderings probe nothing
        return
    answering = [gw for gw in gateways if probe.reachable(gw, timeout=1.0, dev=dev_before)]
    if answering:
        plan.verifications.append(lambda: _check_gateways(answering, dev_after, what))


def _check_gateways(gateways, dev, what):
    for gateway in gateways:
        if not probe.reachable(gateway, timeout=GATEWAY_TIMEOUT, dev=dev):
            raise HvnetError("default gateway %s stopped answering %s" % (gateway, what))
