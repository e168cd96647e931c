# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the backend's snapshot shape from `ip -d -j addr show` (or `ip -d -j link show`) text."""

from __future__ import annotations

import json

from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import resolve_user

MACVTAP_MODES = ("private", "vepa", "bridge", "passthru", "source")


def snapshot_from_ip_json(text):
    try:
        entries = json.loads(text)
    except ValueError as exc:
        raise ValidationError(["running_config: is not JSON from 'ip -d -j addr show': %s" % exc]) from None
    if not isinstance(entries, list):
        raise ValidationError(["running_config: expected the JSON list that 'ip -d -j addr show' prints"])
    links, addresses = {}, {}
    for entry in entries:
        name = entry.get("ifname")
        if not name:
            continue
        info = entry.get("linkinfo") or {}
        kind = info.get("info_kind")
        data = info.get("info_data") or {}
        link = {
            "name": name,
            "index": entry.get("ifindex"),
            "kind": kind,
            "mtu": entry.get("mtu"),
            "max_mtu": entry.get("max_mtu"),
            "mac": entry.get("address"),
            "alias": entry.get("ifalias"),
            "up": "UP" in (entry.get("flags") or []),
            "master": entry.get("master"),
            "lower": entry.get("link"),
        }
        if kind == "tun":
            link["tun"] = {
                "type": data.get("type", "tap"),
                "multi_queue": bool(data.get("multi_queue")),
                "owner": _id(data.get("user"), "user"),
                "group": _id(data.get("group"), "group"),
            }
        elif kind == "macvtap":
            link["macvtap"] = {"mode": data.get("mode", "vepa")}
        elif kind == "bridge":
            link["bridge"] = {"stp": bool(data.get("stp_state")), "delay": int(data.get("forward_delay", 0)) // 100}
        if info.get("info_slave_kind") == "bridge":
            slave = info.get("info_slave_data") or {}
            link["brport"] = {
                "isolated": bool(slave.get("isolated")),
                "learning": bool(slave.get("learning", True)),
                "flood": bool(slave.get("flood", True)),
            }
        links[name] = link
        addresses[name] = [
            {
                "address": "%s/%s" % (addr["local"], addr["prefixlen"]),
                "family": "ipv6" if addr.get("family") == "inet6" else "ipv4",
                "scope": addr.get("scope", "global"),
                "dynamic": bool(addr.get("dynamic")),
            }
            for addr in entry.get("addr_info") or []
            if "local" in addr
        ]
    return {"links": links, "addresses": addresses, "routes": []}


def _id(value, kind):
    if value is None:
        return None
    return resolve_user(value, kind)
