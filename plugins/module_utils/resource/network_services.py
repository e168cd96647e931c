# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_network services planner: firewall, DHCP/DNS, forwarding sysctls, routes, bandwidth.

The bridge itself is planned in resource/network.py; this module plans what a nat, route,
open or isolated network adds on top, comparing what the renderers produce for the desired
model with what the snapshot holds (the live nft table, the dnsmasq config and process, the
sysctls, the routes, the tc structure). Drift on the host therefore shows up as a change even
when the saved spec still matches.
"""

from __future__ import annotations

import copy
import ipaddress

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import tc as tc_backend
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.dnsmasq import service_user
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.hostnet import RTPROT_HVNET
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.sysctl import NAMES as SYSCTL_NAMES
from ansible_collections.hypervisor.networking.plugins.module_utils.model import network_services as svc
from ansible_collections.hypervisor.networking.plugins.module_utils.ownership import parse_mark
from ansible_collections.hypervisor.networking.plugins.module_utils.render import dnsmasq as dnsmasq_render
from ansible_collections.hypervisor.networking.plugins.module_utils.render import nftables as nft_render

RTPROT_RA = 9  # routes the kernel learned from router advertisements

PLACEHOLDER_PATHS = {"pid": "<run dir>/%s.pid", "leases": "<lease dir>/%s.leases"}


# ---- the spec: the service fields of a model as plain data --------------------------------
def spec_of(model):
    forward = model.forward
    spec = {
        "forward": {key: value for key, value in (("dev", forward.dev if forward else None), ("nat", forward.nat if forward else None)) if value},
        "ip_options": {ip: opts for ip, opts in (model.ip_options or {}).items() if opts},
    }
    for field in svc.TOP_FIELDS:
        if getattr(model, field):
            spec[field] = getattr(model, field)
    return {key: value for key, value in spec.items() if value}


def fill_from_spec(model, spec):
    """Set the service fields of a model read from the host (current) from its saved spec."""
    spec = copy.deepcopy(spec or {})
    if model.forward is not None:
        model.forward.dev = spec.get("forward", {}).get("dev")
        model.forward.nat = spec.get("forward", {}).get("nat")
    model.ip_options = {ip: opts for ip, opts in spec.get("ip_options", {}).items() if ip in (model.ips or [])}
    for field in svc.TOP_FIELDS:
        setattr(model, field, spec.get(field))
    return model


def _paths(backend, name):
    if backend is None:
        return {key: value % name for key, value in PLACEHOLDER_PATHS.items()}
    return backend.dnsmasq.paths(name)


def dnsmasq_conf(model, backend):
    if not svc.runs_dnsmasq(model):
        return None
    paths = _paths(backend, model.name)
    user, group = service_user() if backend is not None else ("dnsmasq", "nogroup")
    return dnsmasq_render.render(model, paths["pid"], paths["leases"], user, group)


def rendered(model):
    """state rendered: the nft table and dnsmasq config the network gets (paths as placeholders)."""
    table = nft_render.render(model)
    return {"nftables": table["text"] if table else None, "dnsmasq": dnsmasq_conf(model, None),
            "tc": [" ".join(["tc"] + argv) for argv in tc_backend.commands(model.bridge_name, model.bandwidth)],
            "sysctl": ["%s=1" % SYSCTL_NAMES[family] for family in sorted(_forwarding_needs(model))]}


# ---- checks against the host -------------------------------------------------------------
def check_host(desired, snapshot, problems, warnings, path_of):
    links = snapshot.get("links", {})
    nft = snapshot.get("nft") or {}
    for name, model in desired.items():
        path = path_of.get(name, name)
        _check_accept_ra(problems, path, model, snapshot)
        table = nft_render.render(model)
        if table is not None:
            if snapshot.get("nft") is not None and not nft.get("available", True):
                problems.add(path + ".forward.mode", "%s needs nftables rules, but nft is not installed (package nftables)" % model.mode)
            if table["table"] in nft.get("foreign", []):
                problems.add(path + ".name", "nftables table inet %s exists and was not created by hypervisor.networking" % table["table"])
        if svc.runs_dnsmasq(model) and snapshot.get("dnsmasq") is not None and _backend_missing_dnsmasq(snapshot):
            problems.add(path + ".ips", "DHCP/DNS need dnsmasq, which is not installed (package dnsmasq-base)")
        if (model.bandwidth or {}).get("outbound") and not tc_backend.police_available():
            problems.add(path + ".bandwidth.outbound", "needs tc police (act_police), which this kernel does not have; use inbound only")
        dev = model.forward.dev if model.forward else None
        if dev and dev not in links:
            warnings.append("%s.forward.dev: %s does not exist (yet); the rules apply once it does" % (path, dev))
        for index, pf in enumerate(model.port_forwards or []):
            for other_name, other in snapshot.get("services", {}).items():
                if other_name == name or other_name in desired:
                    continue
                for opf in other.get("port_forwards", []):
                    if svc.keys_clash(svc.port_forward_key(pf), svc.port_forward_key(opf)):
                        problems.add("%s.port_forwards[%d]" % (path, index),
                                     "%s port %d is already forwarded by network %s" % (pf["protocol"], pf["host_port"], other_name))


def _backend_missing_dnsmasq(snapshot):
    return snapshot.get("dnsmasq_available") is False


def check_config(models, problems):
    seen = {}
    for index, model in enumerate(models):
        for pindex, key in enumerate(svc.port_forward_keys(model)):
            for other_key, where in seen.items():
                if svc.keys_clash(key, other_key):
                    problems.add("config[%d].port_forwards[%d]" % (index, pindex), "%s port %d is also forwarded by %s" % (key[0], key[2], where))
            seen[key] = "config[%d].port_forwards[%d]" % (index, pindex)


# ---- planning ------------------------------------------------------------------------------
def _tracker(plan):
    tracker = getattr(plan, "hvnet_services", None)
    if tracker is None:
        tracker = {"desired": {}, "removed": set()}
        plan.hvnet_services = tracker
    return tracker


def plan(plan_, host, cur, want, snapshot):
    """Services of one desired network (after its bridge and addresses are planned)."""
    _tracker(plan_)["desired"][want.name] = want
    bridge = want.bridge_name
    _plan_routes(plan_, host, want.name, bridge, want.routes or [], snapshot)
    _plan_nft(plan_, host, want.name, nft_render.render(want), snapshot)
    _plan_tc(plan_, host, want.name, bridge, want.bandwidth, snapshot, creating=cur is None)
    _plan_dnsmasq(plan_, host, want.name, dnsmasq_conf(want, host), snapshot)
    _plan_spec(plan_, host, want.name, spec_of(want), snapshot)


def plan_removal(plan_, host, cur, snapshot):
    """Everything but the bridge: stop dnsmasq, drop the table and the spec (the bridge goes next)."""
    _tracker(plan_)["removed"].add(cur.name)
    _plan_dnsmasq(plan_, host, cur.name, None, snapshot)
    _plan_nft(plan_, host, cur.name, None, snapshot)
    _plan_spec(plan_, host, cur.name, None, snapshot)


def finish(plan_, host, snapshot):
    """IP forwarding: on while any network needs it, back to the value found when none does."""
    tracker = _tracker(plan_)
    if not tracker["desired"] and not tracker["removed"]:
        return
    needs = set()
    for name, mode, ips in _networks_on_host(snapshot):
        if name in tracker["removed"] or name in tracker["desired"]:
            continue
        needs |= _needs(mode, ips)
    for model in tracker["desired"].values():
        needs |= _forwarding_needs(model)
    sysctl = snapshot.get("sysctl") or {"values": {}, "originals": {}}
    for family in ("ipv4", "ipv6"):
        value = sysctl["values"].get(family)
        original = sysctl["originals"].get(family)
        name = SYSCTL_NAMES[family]
        if value is None:
            continue
        if family in needs and value != "1":
            undo = _call(host, "sysctl", "set", family, value)
            if original is None:  # the value this action records goes with it
                undo = _chain(undo, _call(host, "sysctl", "forget", family))
            plan_.add("sysctl -w %s=1" % name, _call(host, "sysctl", "set", family, "1", value), undo)
        elif family not in needs and original is not None and value == "1" and original != "1":
            plan_.add("sysctl -w %s=%s (the value before a network needed forwarding)" % (name, original),
                      _chain(_call(host, "sysctl", "set", family, original), _call(host, "sysctl", "forget", family)),
                      _call(host, "sysctl", "set", family, "1", original))


def _check_accept_ra(problems, path, model, snapshot):
    """Turning IPv6 forwarding on makes the kernel ignore router advertisements on every
    interface with accept_ra 1: a host that learned its default route by RA would lose it.
    libvirt refuses this too."""
    sysctl = snapshot.get("sysctl") or {}
    if "ipv6" not in _forwarding_needs(model) or (sysctl.get("values") or {}).get("ipv6") in (None, "1"):
        return
    accept_ra = sysctl.get("accept_ra") or {}
    for dev in sorted({r["dev"] for r in snapshot.get("routes", []) if r.get("proto") == RTPROT_RA and r.get("dev")}):
        if accept_ra.get(dev) != "2":
            problems.add(path + ".ips", "IPv6 forwarding would make %s ignore the router advertisements its routes come from;"
                         " set net.ipv6.conf.%s.accept_ra=2 first (accept_ra is %s)" % (dev, dev, accept_ra.get(dev, "unknown")))


def _forwarding_needs(model):
    return _needs(model.mode, model.ips or [])


def _needs(mode, ips):
    if mode not in svc.FORWARDING_MODES:
        return set()
    return {"ipv%d" % ipaddress.ip_interface(ip).version for ip in ips}


def _networks_on_host(snapshot):
    for link_name, link in snapshot.get("links", {}).items():
        mark = parse_mark(link.get("alias"))
        if not mark or mark[0] != "vm_network" or link.get("kind") != "bridge":
            continue
        ips = [a["address"] for a in snapshot.get("addresses", {}).get(link_name, []) if a["scope"] == "global"]
        yield mark[1].get("name", link_name), mark[1].get("mode", "bridge"), ips


def _call(host, part, method, *args):
    return lambda: getattr(getattr(host, part), method)(*args)


def _chain(*steps):
    def run():
        for step in steps:
            step()
    return run


def _plan_routes(plan_, host, name, bridge, routes, snapshot):
    live = []
    for route in snapshot.get("routes", []):
        if route.get("dev") == bridge and route.get("proto") == RTPROT_HVNET:
            address, _sep, prefix = route["dst"].partition("/")
            live.append({"family": route["family"], "address": address, "prefix": int(prefix or 0), "gateway": route.get("gateway"),
                         "metric": route.get("metric")})
    wanted = [dict(r, metric=r.get("metric", 0 if r["family"] == "ipv4" else 1024)) for r in routes]
    for route in live:
        if route not in wanted:
            plan_.add("ip route del %s/%d via %s dev %s" % (route["address"], route["prefix"], route["gateway"], bridge),
                      lambda route=route: host.delete_network_route(route, bridge), lambda route=route: host.add_network_route(route, bridge))
    for route in wanted:
        if route not in live:
            words = (route["address"], route["prefix"], route["gateway"], bridge, route["metric"], RTPROT_HVNET)
            plan_.add("ip route replace %s/%d via %s dev %s metric %d proto %d" % words,
                      lambda route=route: host.add_network_route(route, bridge), lambda route=route: host.delete_network_route(route, bridge))


def _plan_nft(plan_, host, name, table, snapshot):
    live = ((snapshot.get("nft") or {}).get("owned") or {}).get(name)

    def put_back():
        host.nft.restore(live["family"], live["table"], live["objects"])

    if table is None:
        if live:
            plan_.add("nft delete table %s %s" % (live["family"], live["table"]),
                      lambda: host.nft.delete(live["family"], live["table"]), put_back)
        return
    if live and (live["table"], live["digest"], live["rules"]) == (table["table"], table["digest"], table["rules"]):
        return
    if live and live["table"] != table["table"]:
        plan_.add("nft delete table %s %s" % (live["family"], live["table"]), lambda: host.nft.delete(live["family"], live["table"]), put_back)
        live = None
    plan_.add("nft -f - (table %s %s, %d rules, for network %s)" % (table["family"], table["table"], table["rules"], name),
              lambda: host.nft.apply(nft_render.replace_script(table), table["table"]),
              put_back if live else (lambda: host.nft.delete(table["family"], table["table"])))


def _plan_tc(plan_, host, name, bridge, bandwidth, snapshot, creating):
    live = None if creating else (snapshot.get("tc") or {}).get(bridge)
    live = live or {"htb": False, "ingress": False}
    wanted = tc_backend.shape(bandwidth)
    recorded = ((snapshot.get("services") or {}).get(name) or {}).get("bandwidth")
    if live == wanted and (not bandwidth or recorded == bandwidth):
        return
    # a rollback puts back the shaping that was applied before, not merely none
    previous = recorded if recorded and live == tc_backend.shape(recorded) else None

    def put_back():
        host.tc.clear(bridge)
        if previous:
            host.tc.apply(bridge, previous)

    if bandwidth:
        text = "; ".join(" ".join(["tc"] + argv) for argv in tc_backend.commands(bridge, bandwidth))
        plan_.add(text, lambda: host.tc.apply(bridge, bandwidth), put_back, partial=True)  # several tc commands; put_back starts from clear
    else:
        plan_.add("tc qdisc del dev %s root; tc qdisc del dev %s ingress" % (bridge, bridge), lambda: host.tc.clear(bridge),
                  put_back if previous else None)


def _plan_dnsmasq(plan_, host, name, conf, snapshot):
    live = (snapshot.get("dnsmasq") or {}).get(name) or {}
    old_conf, running = live.get("conf"), bool(live.get("pid"))
    if conf is None:
        if old_conf is not None or running:
            def undo():
                if old_conf is not None:
                    host.dnsmasq.write_conf(name, old_conf)
                    if running:
                        host.dnsmasq.start(name)
            plan_.add("stop dnsmasq of network %s and remove its files" % name,
                      _chain(lambda: host.dnsmasq.stop(name), lambda: host.dnsmasq.remove_files(name)), undo)
        return
    if conf == old_conf and running:
        return
    if conf == old_conf:
        plan_.add("start dnsmasq of network %s" % name, lambda: host.dnsmasq.start(name), lambda: host.dnsmasq.stop(name))
        return

    def undo():
        if old_conf is None:
            host.dnsmasq.stop(name)
            host.dnsmasq.remove_files(name)
            return
        host.dnsmasq.write_conf(name, old_conf)
        if running:
            host.dnsmasq.restart(name)
        else:
            host.dnsmasq.stop(name)

    def do():
        host.dnsmasq.write_conf(name, conf)
        try:
            if running:
                host.dnsmasq.restart(name)
            else:
                host.dnsmasq.start(name)
        except Exception:
            undo()  # a failed step is not in the plan's applied list: leave no config behind
            raise

    what = "restart dnsmasq of network %s with its new configuration" if running else "write the dnsmasq configuration of network %s and start it"
    plan_.add(what % name, do, undo)


def _plan_spec(plan_, host, name, spec, snapshot):
    old = (snapshot.get("services") or {}).get(name)
    if not spec:
        spec = None
    if spec == old:
        return
    if spec is None:
        plan_.add("forget the service settings of network %s" % name, lambda: host.specs.remove(name), lambda: host.specs.write(name, old))
        return
    plan_.add("record the service settings of network %s" % name, lambda: host.specs.write(name, spec),
              (lambda: host.specs.write(name, old)) if old else (lambda: host.specs.remove(name)))
