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
ID_MAX = 4294967294  # uid_t/gid_t: 2**32 - 1 is (uid_t) -1, "no change" to chown()
# Patterns are matched with fullmatch(): `$` in re.match also matches before a final newline.
_IFNAME_RE = re.compile(r"[A-Za-z0-9_.+][A-Za-z0-9_.+-]*")
_MAC_RE = re.compile(r"([0-9a-f]{2})([:-]?)([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})")
# C0 controls, DEL and the C1 range: a newline in a value becomes a new directive in dnsmasq.conf
_DIGITS_RE = re.compile(r"[0-9]+")
_ACCOUNT_RE = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,30}[$]?")  # useradd's NAME_REGEX, relaxed
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


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
    if value in (".", "..") or not _IFNAME_RE.fullmatch(value):
        problems.add(path, "%s is not a valid interface name; allowed: letters, digits, '_', '.', '+', '-', not '-' first, not '.' or '..'"
                     % quoted(value))
        return None
    return value


def quoted(value):
    """A value for a message, with control characters visible (repr-style) instead of raw."""
    return repr(value) if isinstance(value, str) and _CONTROL_RE.search(value) else "'%s'" % (value,)


def control_character(value):
    """The first control character in a string value, as an escape such as '\\n', or None."""
    match = _CONTROL_RE.search(value) if isinstance(value, str) else None
    return repr(match.group())[1:-1] if match else None


def check_no_control_characters(problems, path, value):
    """Walk a config item: no key or text anywhere may carry a control character.

    Values end up in dnsmasq.conf, nft rules and ovs-vsctl arguments, where a newline or NUL
    starts a new directive or cuts the value short, whatever the field-level check says.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            if control_character(key):
                problems.add("%s.%s" % (path, quoted(key)), "an option name with a control character (%s)" % control_character(key))
            else:
                check_no_control_characters(problems, "%s.%s" % (path, key), item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_no_control_characters(problems, "%s[%d]" % (path, index), item)
    elif control_character(value):
        problems.add(path, "%s contains a control character (%s); no value may contain line breaks, NUL or other control characters"
                     % (quoted(value), control_character(value)))


def check_scope_id(problems, path, ip):
    """An IPv6 scope id ('%eth0') is an interface name; Python's ipaddress accepts any text there."""
    scope = getattr(ip, "scope_id", None)
    if scope is None:
        return ip
    if check_ifname(Problems(), path, scope) is None:
        problems.add(path, "the scope id of %s must be an interface name (letters, digits, '_', '.', '+', '-')" % quoted(str(ip)))
        return None
    return ip


def normalize_mac(problems, path, value, unicast=True):
    """Return the MAC in lower-case colon form; reject multicast when `unicast`."""
    if value is None:
        return None
    match = _MAC_RE.fullmatch(str(value).strip().lower()) if isinstance(value, str) else None
    if not match:
        problems.add(path, "%s is not a MAC address; expected six hex octets such as 52:54:00:12:34:56%s"
                     % (quoted(value), _base60_hint(value)))
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


def _base60_hint(value):
    """YAML 1.1 reads an unquoted 52:54:00:12:34:56 as a base-60 integer; say so, and what was meant."""
    text = str(value)
    if isinstance(value, bool) or not _DIGITS_RE.fullmatch(text):
        return ""
    number, digits = int(text), []
    while number:
        number, digit = divmod(number, 60)
        digits.append(digit)
    meant = ":".join("%02d" % d for d in reversed(digits))
    hint = "; YAML read an unquoted MAC address as a base-60 number: quote it"
    if len(digits) == 6:
        hint += ' (mac: "%s")' % meant
    return hint


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


def check_id(problems, path, value, kind):
    """A user or group for a tap: a name, or a numeric id within uid_t/gid_t. Returns text or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        problems.add(path, "must be a %s name or a numeric id" % kind)
        return None
    text = str(value)
    if _DIGITS_RE.fullmatch(text):
        if int(text) > ID_MAX:
            problems.add(path, "%s is outside the allowed range of %s ids 0..%d" % (text, kind, ID_MAX))
            return None
        return str(int(text))
    if not _ACCOUNT_RE.fullmatch(text):
        problems.add(path, "%s is not a %s name; allowed: letters, digits, '_', '.', '-', not '-' first, at most 32 characters"
                     % (quoted(text), kind))
        return None
    return text


def as_list(problems, path, value):
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(path, "must be a list, not %s" % type(value).__name__)
        return []
    return value


def as_dict(problems, path, value):
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(path, "must be a dictionary, not %s" % type(value).__name__)
        return {}
    return value


def check_bool(problems, path, value):
    if value is None:
        return None
    if not isinstance(value, bool):
        problems.add(path, "%s is not a boolean; use true or false" % quoted(value))
        return None
    return value


def check_choice(problems, path, value, choices):
    if value is None:
        return None
    if value not in choices:
        problems.add(path, "%s is not one of: %s" % (quoted(value), ", ".join(choices)))
        return None
    return value


def parse_interface_address(problems, path, address, prefix=None, netmask=None, family=None, inline_prefix=False):
    """Return an ipaddress.IPv4Interface/IPv6Interface from address plus prefix or netmask.

    `address` may itself carry '/prefix'. Exactly one source of the prefix is allowed; with
    `inline_prefix` the field has no prefix/netmask siblings and must be written address/prefix.
    Each problem names the field it is in: the address, the prefix or the netmask.
    """
    address_field = path if inline_prefix else path + ".address"
    if address is None:
        problems.add(address_field, "is required")
        return None
    if not isinstance(address, str):
        problems.add(address_field, "%s is not an IP address" % quoted(address))
        return None
    text = address
    sources = [s for s in ("/" in text, prefix is not None, netmask is not None) if s]
    if len(sources) > 1:
        problems.add(path, "give the prefix once: as address/prefix, as prefix, or as netmask")
        return None
    if "%" in text:
        problems.add(address_field, "%s: an interface address has no scope id ('%%...')" % quoted(text))
        return None
    address_text, slash, inline = text.partition("/")
    try:
        ip = ipaddress.ip_address(address_text)
    except ValueError:
        problems.add(address_field, "%s is not an IP address" % quoted(address_text if slash else text))
        return None
    longest = 32 if ip.version == 4 else 128
    if slash:
        if not _DIGITS_RE.fullmatch(inline) or int(inline) > longest:
            problems.add(address_field, "%s: the prefix after '/' must be a number from 0 to %d" % (quoted(text), longest))
            return None
        length = int(inline)
    elif prefix is not None:
        length = check_int(problems, path + ".prefix", prefix, 0, longest)
        if length is None:
            return None
    elif netmask is not None:
        if ip.version == 6:
            problems.add(path + ".netmask", "netmask is for IPv4; use prefix for IPv6")
            return None
        if not isinstance(netmask, str) or not _is_netmask(netmask):
            problems.add(path + ".netmask", "%s is not a netmask (ones, then zeros), such as 255.255.255.0" % quoted(netmask))
            return None
        length = ipaddress.IPv4Network("0.0.0.0/%s" % netmask).prefixlen
    elif inline_prefix:
        problems.add(path, "%s needs a prefix: write it as address/prefix, such as 198.51.100.10/24" % quoted(text))
        return None
    else:
        problems.add(path + ".prefix", "is required for %s (or netmask for IPv4)" % quoted(text))
        return None
    iface = ipaddress.ip_interface("%s/%d" % (ip, length))
    if family is not None and {"ipv4": 4, "ipv6": 6}.get(family) != iface.version:
        problems.add(path + ".family", "'%s' does not match the address %s" % (family, iface.ip))
        return None
    if iface.ip.is_multicast or iface.ip.is_unspecified or iface.ip.is_loopback:
        problems.add(address_field, "%s cannot be assigned to an interface" % iface.ip)
        return None
    if iface.version == 4 and iface.network.prefixlen < 31 and iface.ip in (iface.network.network_address, iface.network.broadcast_address):
        problems.add(address_field, "%s is the network or broadcast address of %s" % (iface.ip, iface.network))
        return None
    return iface


def _is_netmask(text):
    """A dotted netmask: ones, then zeros (ipaddress also takes host masks such as 0.0.0.255)."""
    try:
        bits = int(ipaddress.IPv4Address(text))
    except ValueError:
        return False
    inverted = ~bits & 0xFFFFFFFF
    return inverted & (inverted + 1) == 0


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
