# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Value checks and normalisation shared by every model.

Each check appends a message naming the field path and the allowed values to a
`Problems` collector instead of raising, so one call reports every problem.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ValidationError

IFNAME_MAX = 15  # IFNAMSIZ - 1
_IFNAME_RE = re.compile(r"^[A-Za-z0-9_.+-]+$")
_MAC_RE = re.compile(r"^([0-9a-f]{2})([:-]?)([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$")


class Problems:
    """Collects validation problems; `raise_if_any` raises them all at once."""

    def __init__(self):
        self.items = []

    def add(self, path, message):
        self.items.append("%s: %s" % (path, message))

    def __bool__(self):
        return bool(self.items)

    def raise_if_any(self):
        if self.items:
            raise ValidationError(self.items)


def check_ifname(problems, path, value):
    """Linux interface name: 1..15 characters, no '/', whitespace or ':'."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        problems.add(path, "must be a non-empty interface name")
        return None
    if len(value) > IFNAME_MAX:
        problems.add(path, "'%s' is %d characters; an interface name has at most %d" % (value, len(value), IFNAME_MAX))
        return None
    if value in (".", "..") or not _IFNAME_RE.match(value):
        problems.add(path, "'%s' has characters an interface name cannot have; allowed: letters, digits, '_', '.', '+', '-'" % value)
        return None
    return value


def normalize_mac(problems, path, value, unicast=True):
    """Return the MAC in lower-case colon form; reject multicast when `unicast`."""
    if value is None:
        return None
    match = _MAC_RE.match(str(value).strip().lower())
    if not match:
        problems.add(path, "'%s' is not a MAC address; expected six hex octets such as 52:54:00:12:34:56" % value)
        return None
    octets = [match.group(i) for i in (1, 3, 4, 5, 6, 7)]
    mac = ":".join(octets)
    if unicast and int(octets[0], 16) & 1:
        problems.add(path, "'%s' is a multicast MAC address; a NIC needs a unicast one (first octet even)" % mac)
        return None
    if mac == "00:00:00:00:00:00":
        problems.add(path, "the all-zero MAC address cannot be assigned")
        return None
    return mac


def missing_prerequisite(problems, warnings, check_mode, path, message):
    """Something an earlier task creates (a bridge) is missing: in check mode that task only
    planned it, so warn; otherwise the request cannot be met."""
    if check_mode:
        warnings.append("%s: %s, unless an earlier task creates it" % (path, message))
    else:
        problems.add(path, message)


def check_int(problems, path, value, minimum, maximum):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(path, "must be an integer between %d and %d" % (minimum, maximum))
        return None
    if not minimum <= value <= maximum:
        problems.add(path, "%d is outside the allowed range %d..%d" % (value, minimum, maximum))
        return None
    return value


def check_choice(problems, path, value, choices):
    if value is None:
        return None
    if value not in choices:
        problems.add(path, "'%s' is not one of: %s" % (value, ", ".join(choices)))
        return None
    return value


def parse_interface_address(problems, path, address, prefix=None, netmask=None, family=None):
    """Return an ipaddress.IPv4Interface/IPv6Interface from address plus prefix or netmask.

    `address` may itself carry '/prefix'. Exactly one source of the prefix is allowed.
    """
    if address is None:
        problems.add(path + ".address", "is required")
        return None
    text = str(address)
    sources = [s for s in ("/" in text, prefix is not None, netmask is not None) if s]
    if len(sources) > 1:
        problems.add(path, "give the prefix once: as address/prefix, as prefix, or as netmask")
        return None
    try:
        if prefix is not None:
            iface = ipaddress.ip_interface("%s/%s" % (text, prefix))
        elif netmask is not None:
            iface = ipaddress.ip_interface("%s/%s" % (text, netmask))
            if iface.version == 6:
                problems.add(path + ".netmask", "netmask is for IPv4; use prefix for IPv6")
                return None
        else:
            iface = ipaddress.ip_interface(text)
            if "/" not in text:
                problems.add(path + ".prefix", "is required for %s (or netmask for IPv4)" % text)
                return None
    except ValueError as exc:
        problems.add(path, "invalid address: %s" % exc)
        return None
    if family is not None and {"ipv4": 4, "ipv6": 6}.get(family) != iface.version:
        problems.add(path + ".family", "'%s' does not match the address %s" % (family, iface.ip))
        return None
    if iface.ip.is_multicast or iface.ip.is_unspecified or iface.ip.is_loopback:
        problems.add(path + ".address", "%s cannot be assigned to an interface" % iface.ip)
        return None
    if iface.version == 4 and iface.network.prefixlen < 31 and iface.ip in (iface.network.network_address, iface.network.broadcast_address):
        problems.add(path + ".address", "%s is the network or broadcast address of %s" % (iface.ip, iface.network))
        return None
    return iface


def resolve_user(value, kind):
    """Resolve a user or group (name or numeric id) to its numeric id, or None if unknown."""
    import grp
    import pwd

    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return pwd.getpwnam(text).pw_uid if kind == "user" else grp.getgrnam(text).gr_gid
    except KeyError:
        return None


def name_for_id(number, kind):
    """Reverse of resolve_user, for gathered output: the name when the host knows one."""
    import grp
    import pwd

    try:
        return pwd.getpwuid(number).pw_name if kind == "user" else grp.getgrgid(number).gr_name
    except KeyError:
        return str(number)
