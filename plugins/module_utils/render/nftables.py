# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables table of one network, as `nft -f` text (a pure function of the model).

One `table inet hvnet_<name>` per network, owned by the collection. Its first rule carries the
ownership mark as a rule comment (`nft -j` shows rule comments, not table comments), with a
digest of the rendered table and its rule count, so a later run sees whether the live table is
still what was applied. The rules are libvirt's for a NAT network:

- hv_forward (filter, forward): guest-to-guest through the bridge accepted; from the subnet out
  (only via forward.dev when set) accepted; into the subnet only related/established (nat) or
  everything (route, and IPv6 of a nat network without nat.ipv6, which libvirt routes);
  port forwards accepted; anything else in or out of the bridge rejected. An isolated network
  keeps only the guest-to-guest and reject rules.
- hv_postrouting (nat): multicast 224.0.0.0/24 and broadcast left alone, TCP/UDP masqueraded
  into source ports 1024-65535 (or nat.ports), the rest masqueraded; SNAT to nat.addresses
  when given; IPv6 too with nat.ipv6; hairpin masquerade for port forwards.
- hv_prerouting (nat): port_forwards as DNAT.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re

TABLE_PREFIX = "hvnet_"
FAMILY = "inet"
MARK_PREFIX = "hypervisor.networking/vm_network"
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def table_name(network_name):
    """A valid nft identifier for the network; a digest keeps sanitised names apart."""
    safe = _UNSAFE.sub("_", network_name)
    if safe != network_name:
        safe += "_" + hashlib.sha256(network_name.encode()).hexdigest()[:6]
    return TABLE_PREFIX + safe


def make_mark(network_name, digest, rules):
    return "%s name=%s sha=%s rules=%d" % (MARK_PREFIX, network_name, digest, rules)


def parse_mark(comment):
    """(name, digest, rules) from a rule comment, or None for anything else."""
    if not comment or not comment.startswith(MARK_PREFIX + " "):
        return None
    attrs = dict(word.partition("=")[::2] for word in comment.split()[1:])
    if "name" not in attrs:
        return None
    try:
        rules = int(attrs.get("rules", "-1"))
    except ValueError:
        rules = -1
    return attrs["name"], attrs.get("sha", ""), rules


def _q(name):
    return '"%s"' % name


def _fam(net):
    return "ip" if net.version == 4 else "ip6"


def _port_range(nat):
    ports = (nat or {}).get("ports")
    if ports is None:
        return "1024-65535"
    return "%d-%d" % (ports["start"], ports["end"]) if ports["start"] != ports["end"] else str(ports["start"])


def _snat_target(nat, with_ports):
    addresses = (nat or {}).get("addresses")
    ports = _port_range(nat) if with_ports else None
    if addresses is None:
        return "masquerade to :%s" % ports if ports else "masquerade"
    target = addresses["start"] if addresses["start"] == addresses["end"] else "%s-%s" % (addresses["start"], addresses["end"])
    return "snat ip to %s:%s" % (target, ports) if ports else "snat ip to %s" % target


def rules(model):
    """{chain: [rule, ...]} for the network, or None when it needs no table."""
    mode = model.mode
    if mode in ("bridge", "open") or not model.ips:
        return None
    bridge = model.bridge_name
    dev = model.forward.dev if model.forward else None
    nat = model.forward.nat if model.forward else None
    nets = [ipaddress.ip_interface(ip).network for ip in model.ips]
    forward, post, pre = ['iifname %s oifname %s accept' % (_q(bridge), _q(bridge))], [], []
    out_dev = " oifname %s" % _q(dev) if dev else ""
    in_dev = " iifname %s" % _q(dev) if dev else ""
    pfs = model.port_forwards or []
    if mode in ("nat", "route"):
        for net in nets:
            forward.append("iifname %s%s %s saddr %s accept" % (_q(bridge), out_dev, _fam(net), net))
        for net in nets:
            routed = mode == "route" or (net.version == 6 and not (nat or {}).get("ipv6"))
            state = "" if routed else " ct state related,established"
            forward.append("oifname %s%s %s daddr %s%s accept" % (_q(bridge), in_dev, _fam(net), net, state))
        for pf in pfs:
            guest = ipaddress.ip_address(pf["guest_ip"])
            forward.append("oifname %s %s daddr %s meta l4proto %s th dport %d ct status dnat accept"
                           % (_q(bridge), "ip" if guest.version == 4 else "ip6", guest, pf["protocol"], pf["guest_port"]))
        if pfs:
            # replies of forwarded connections leave by whatever interface the client came in on,
            # which forward.dev does not restrict
            forward.append("iifname %s ct status dnat ct state established,related accept" % _q(bridge))
    forward += ["iifname %s reject" % _q(bridge), "oifname %s reject" % _q(bridge)]
    for pf in pfs:
        guest = ipaddress.ip_address(pf["guest_ip"])
        fam = "ip" if guest.version == 4 else "ip6"
        match = "%s daddr %s" % (fam, pf["host_address"]) if pf.get("host_address") else \
            "meta nfproto ipv%d fib daddr type local" % guest.version
        target = "%s:%d" % (guest, pf["guest_port"]) if guest.version == 4 else "[%s]:%d" % (guest, pf["guest_port"])
        pre.append("%s meta l4proto %s th dport %d dnat %s to %s" % (match, pf["protocol"], pf["host_port"], fam, target))
        subnet = [net for net in nets if guest in net][0]
        post.append("oifname %s %s saddr %s %s daddr %s ct status dnat masquerade" % (_q(bridge), fam, subnet, fam, guest))
    if mode == "nat":
        for net in nets:
            if net.version == 6 and not (nat or {}).get("ipv6"):
                continue
            fam = _fam(net)
            if net.version == 4:
                post.append("%s saddr %s %s daddr 224.0.0.0/24 return" % (fam, net, fam))
                post.append("%s saddr %s %s daddr 255.255.255.255 return" % (fam, net, fam))
                nat4 = nat
            else:
                post.append("%s saddr %s %s daddr ff00::/8 return" % (fam, net, fam))
                nat4 = dict(nat or {}, addresses=None)
            base = "%s%s saddr %s %s daddr != %s" % (out_dev.strip() + " " if dev else "", fam, net, fam, net)
            post.append("%s meta l4proto { tcp, udp } %s" % (base, _snat_target(nat4, True)))
            post.append("%s %s" % (base, _snat_target(nat4, False)))
    return {"hv_forward": _unique(forward), "hv_postrouting": _unique(post), "hv_prerouting": pre}


def _unique(items):
    seen = set()
    return [item for item in items if not (item in seen or seen.add(item))]


HOOKS = (
    ("hv_forward", "type filter hook forward priority filter; policy accept;"),
    ("hv_postrouting", "type nat hook postrouting priority srcnat; policy accept;"),
    ("hv_prerouting", "type nat hook prerouting priority dstnat; policy accept;"),
)


def render(model):
    """{'table', 'family', 'text', 'digest', 'rules'} for the network, or None (no table)."""
    chains = rules(model)
    if chains is None:
        return None
    body = []
    for chain, hook in HOOKS:
        if chains[chain]:
            body.append((chain, hook, list(chains[chain])))
    count = sum(len(items) for _c, _h, items in body)
    digest = hashlib.sha256(repr(body).encode()).hexdigest()[:10]
    body[0][2][0] += " comment %s" % _q(make_mark(model.name, digest, count))
    name = table_name(model.name)
    lines = ["table %s %s {" % (FAMILY, name), "\tcomment %s" % _q("hypervisor.networking vm_network %s" % model.name)]
    for index, (chain, hook, items) in enumerate(body):
        if index:
            lines.append("")
        lines.append("\tchain %s {" % chain)
        lines.append("\t\t" + hook)
        lines.extend("\t\t" + rule for rule in items)
        lines.append("\t}")
    lines.append("}")
    return {"table": name, "family": FAMILY, "text": "\n".join(lines) + "\n", "digest": digest, "rules": count}


def replace_script(rendered):
    """`nft -f -` input that atomically replaces (or creates) the table."""
    head = "table %s %s\ndelete table %s %s\n" % (rendered["family"], rendered["table"], rendered["family"], rendered["table"])
    return head + rendered["text"]


def delete_script(family, table):
    return "delete table %s %s\n" % (family, table)
