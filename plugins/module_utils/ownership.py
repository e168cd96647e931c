# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ownership marks: what the collection created carries a mark; only marked objects are removed.

Kernel links carry the mark in their alias (`ip link set DEV alias ...`), e.g.
``hypervisor.networking/vm_network name=default mode=bridge uplink=eth0``.
libvirt networks carry it in their definition's <metadata>, as an element in our own
namespace: ``<hvnet:owner xmlns:hvnet="LIBVIRT_MARK_NAMESPACE" module="vm_network" .../>``.
"""

from __future__ import annotations

MARK_PREFIX = "hypervisor.networking/"
# OVSDB rows (Port, QoS) carry the mark as external_ids:<OVS_OWNER_KEY>=<module name>
OVS_OWNER_KEY = "hypervisor-networking-owner"
# libvirt definitions carry the mark as <metadata><owner xmlns=LIBVIRT_MARK_NAMESPACE .../></metadata>
LIBVIRT_MARK_NAMESPACE = "https://hypervisor.networking/xmlns/owner/1"
LIBVIRT_MARK_PREFIX = "hvnet"


def make_mark(kind, **attrs):
    parts = [MARK_PREFIX + kind]
    for key in sorted(attrs):
        value = attrs[key]
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        parts.append("%s=%s" % (key, value))
    return " ".join(parts)


def parse_mark(alias):
    """Return (kind, attrs) for a marked alias, or None for anything the collection does not own."""
    if not alias or not alias.startswith(MARK_PREFIX):
        return None
    words = alias.split()
    kind = words[0][len(MARK_PREFIX):]
    attrs = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if sep:
            attrs[key] = value
    return kind, attrs


def owned_kind(link):
    mark = parse_mark(link.get("alias"))
    return mark[0] if mark else None
