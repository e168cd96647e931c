# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hypothesis strategies for the property-based tests (test_properties.py).

An invalid case is a valid base item with one fault put in by a generator that knows which
field it corrupted, so it also knows the field path the error must name:

* bad_value    a value of the right type that the field does not accept (control characters,
               IPv6 scope ids that carry a newline, leading dashes, '.', '..', '/', spaces,
               shell/nft/ovs-vsctl/dnsmasq metacharacters, over-long names, bad MACs including
               the integer YAML 1.1 makes of an unquoted MAC, out-of-range numbers including
               2**32, negatives, floats, "Infinity" and huge ints);
* wrong_type   bool/int/float/str/list/dict where the argument spec wants another type, for
               every option at every nesting level of the module's real argument spec;
* unknown      an option name the spec does not have, at every level;
* missing      a required sub-option left out;
* contradiction  fields that are each fine but not together (per module, hand-written).

`Case.paths` holds the acceptable paths (usually one; two where either field of a
contradiction is the right one to name).
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Tuple

from hypothesis import strategies as st

CONTROL_CHARS = [chr(code) for code in range(0x20)] + ["\x7f"]
SHELL_META = list(";|&$`<>(){}[]*?!~#'\"\\=,^%@:") + ["$(id)", "`id`", "&&", "||", ">/tmp/x", "\\n", "${IFS}"]
INT_SPECIALS = [2 ** 32, 2 ** 32 - 1 + 1, 2 ** 63, 2 ** 64, 10 ** 30, -1, -2 ** 31, -2 ** 63]
NON_INTEGERS = [1.5, -0.5, "Infinity", "-Infinity", "NaN", float("inf"), float("-inf"), float("nan"), "12abc", "0x10", "", "ten",
                "1 2", [1], {"a": 1}, True, False]
NON_BOOLEANS = ["maybe", "2", "-1", 2, -1, 0.5, "", "nope", [True], {"a": 1}, "tru"]


@dataclasses.dataclass
class Case:
    config: list
    paths: Tuple[str, ...]
    label: str            # the class of fault, e.g. "bad_value:ifname"
    field: str            # the field, indices removed, e.g. "config.dns.forwarders.addr"


def _unindexed(path):
    return re.sub(r"\[\d+\]", "", path)


# ---- values -------------------------------------------------------------------------------------
def _with_control(sample, inside_only=False):
    """`sample` with one control character put in (anywhere, or strictly inside)."""
    @st.composite
    def build(draw):
        char = draw(st.sampled_from(CONTROL_CHARS))
        low, high = (1, len(sample) - 1) if inside_only else (0, len(sample))
        where = draw(st.integers(low, high))
        suffix = draw(st.sampled_from(["", "log-queries", "cache-size=7", "conf-file=/tmp/x", "add rule x", "reboot"]))
        return sample[:where] + char + (suffix if where == len(sample) else "") + sample[where:]
    return build()


def _with_meta(sample, exclude=()):
    """`sample` with one metacharacter put in; `exclude` what would make it valid or another fault."""
    @st.composite
    def build(draw):
        meta = draw(st.sampled_from([meta for meta in SHELL_META + [" ", "/", "\t"] if meta not in exclude]))
        where = draw(st.integers(0, len(sample)))
        return sample[:where] + meta + sample[where:]
    return build()


NAME_BAD = ["", ".", "..", "-x", "-eth0", "--help", "a/b", "a b", " a", "a ", "eth0;reboot", "$(id)", "`id`", "a|b", "a&b",
            "a>b", "a*", "a?b", "\u00e4th0", "eth\u200b0", "a,b", "a=b", "a#b", "a:b", "a\\b", "a'b", 'a"b', "a@b"]


def ifname_bad(sample="eth0"):
    return st.one_of(st.sampled_from(NAME_BAD), _with_control(sample), _with_meta(sample),
                     st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=16, max_size=40))


def netname_bad():
    return st.one_of(st.sampled_from(NAME_BAD), _with_control("net0"), _with_meta("net0"),
                     st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=65, max_size=100))


def portname_bad():
    return st.one_of(st.sampled_from(NAME_BAD), _with_control("dpdk0"), _with_meta("dpdk0"),
                     st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=65, max_size=100))


def _sexagesimal(mac):
    """The integer YAML 1.1 makes of an unquoted MAC whose octets are all decimal digits < 60."""
    value = 0
    for octet in mac.split(":"):
        value = value * 60 + int(octet)
    return value


MAC_BAD = ["", "52:54:00:12:34", "52:54:00:12:34:56:78", "zz:54:00:12:34:56", "01:00:5e:00:00:01", "33:33:00:00:00:01",
           "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00", "52-54:00:12:34:56", "52:54:00:12:34:5", "525400123456789",
           "52:54:00:12:34:56;reboot", "52:54:00:12:34:g6", "5254.0012.3456.78", "-52:54:00:12:34:56"]


def mac_bad():
    decimal_mac = st.lists(st.integers(0, 59), min_size=6, max_size=6).map(
        lambda octets: _sexagesimal(":".join("%02d" % o for o in [o & ~1 for o in octets[:1]] + octets[1:])))
    return st.one_of(st.sampled_from(MAC_BAD), decimal_mac, _with_control("52:54:00:12:34:56", inside_only=True),
                     st.just(_sexagesimal("52:54:00:12:34:56")))


SCOPE_BAD = ["eth0\nlog-queries", "x\ncache-size=7", "-x", "a b", "a,b", "a/b", "", "aaaaaaaaaaaaaaaaa", "$(id)", "x\x00", "x\r",
             "..", "a;b"]
IP_BAD = ["", "x", "999.1.1.1", "198.51.100", "198.51.100.1.5", "198.51.100.1 ", " 198.51.100.1", "::g", "1.2.3.4;reboot",
          "198.51.100.1,198.51.100.2", "-198.51.100.1", "198.51.100.1\n", "2001:db8:::1", "localhost"]


def ip_bad(v4_only=False, prefix_form=True):
    bad = list(IP_BAD)
    if prefix_form:  # not for ips[].address, where address/prefix beside prefix is a contradiction
        bad.append("198.51.100.1/24")
    if v4_only:
        bad += ["2001:db8::1", "::ffff:198.51.100.1"]
    # a scope id with '/' reads as address/prefix too: beside ips[].prefix that is the contradiction named above
    scoped = st.sampled_from([scope for scope in SCOPE_BAD if prefix_form or "/" not in scope]).map(lambda scope: "fe80::1%" + scope)
    # ':' put into an IPv6 address can make another valid one (2:001:db8::7); '/' beside ips[].prefix is the contradiction
    meta = _with_meta("2001:db8::7", exclude=(":",) if prefix_form else (":", "/"))
    return st.one_of(st.sampled_from(bad), scoped, _with_control("198.51.100.7"), meta)


def iface_bad():
    """An address with its prefix (vm_interface guest.ip)."""
    bad = ["198.51.100.5/33", "198.51.100.5/-1", "x/24", "198.51.100.0/24", "198.51.100.255/24", "224.0.0.1/24",
           "127.0.0.1/8", "0.0.0.0/0", "2001:db8::5/129", "198.51.100.5/24/24", "198.51.100.5/24 ", "198.51.100.5/",
           "198.51.100.5/255.255.255.0x"]
    scoped = st.sampled_from(SCOPE_BAD).map(lambda scope: "2001:db8::5%" + scope + "/64")
    return st.one_of(st.sampled_from(bad), scoped, _with_control("198.51.100.5/24"))


DNS_BAD = ["", "-a", "a-", "a..b", ".", "..", "a b", "a/b", "a,b", "a;b", "$(id)", "a" * 64 + ".test", ("a" * 60 + ".") * 5,
           "ex\u00e4mple.test", "a@b", "a=b", "#a", "a*b", "-", "a'b"]


def dnsname_bad():
    return st.one_of(st.sampled_from(DNS_BAD), _with_control("example.test"), _with_meta("example.test"))


def text_bad(sample, extra=()):
    return st.one_of(st.sampled_from(list(extra) or [""]), _with_control(sample))


def int_bad(minimum, maximum):
    specials = [minimum - 1, maximum + 1] + [value for value in INT_SPECIALS if not minimum <= value <= maximum]
    outside = st.one_of(st.integers(max_value=minimum - 1), st.integers(min_value=maximum + 1))
    return st.one_of(st.sampled_from(specials), outside, outside.map(str), st.sampled_from(NON_INTEGERS))


def power_of_two_bad(minimum, maximum):
    not_power = st.integers(minimum, maximum).filter(lambda value: value & (value - 1))
    return st.one_of(int_bad(minimum, maximum), not_power)


def choice_bad(choices):
    return st.one_of(st.sampled_from(["", "bogus", "NULL", "none"] + [c.upper() for c in choices if c.upper() != c]
                                     + [c + " " for c in choices] + [c + "\n" for c in choices]),
                     st.sampled_from([1, 0.5, [choices[0]], {"a": choices[0]}]))


def bool_bad():
    return st.sampled_from(NON_BOOLEANS)


def path_bad(sample="/srv/tftp", socket=False):
    """Paths no check may let through; a socket path must also be normalised and fit sun_path."""
    bad = ["relative/dir", "", "~/x", "./x", "-x"] + (["/a/../b", "/a//b", "/a/", "/" + "x" * 120] if socket else [])
    return st.one_of(st.sampled_from(bad), _with_control(sample + "/x", inside_only=True))


# ---- walking the real argument spec ------------------------------------------------------------
@dataclasses.dataclass
class Slot:
    path: str           # config[0].dns.forwarders[1].addr
    field: str          # config.dns.forwarders.addr
    spec: dict          # the option's argument spec
    parent: dict        # the dict holding it
    key: str
    present: bool


def slots(spec, item, path, field):
    """Every option of `spec` at `item` (given or not), recursing into the given dicts and lists."""
    found = []
    for key, option in sorted(spec.items()):
        sub_path, sub_field = "%s.%s" % (path, key), "%s.%s" % (field, key)
        present = item.get(key) is not None
        found.append(Slot(sub_path, sub_field, option, item, key, present))
        if not present or not option.get("options"):
            continue
        if option.get("type") == "dict" and isinstance(item[key], dict):
            found += slots(option["options"], item[key], sub_path, sub_field)
        elif option.get("type") == "list" and isinstance(item[key], list):
            for index, element in enumerate(item[key]):
                if isinstance(element, dict):
                    found += slots(option["options"], element, "%s[%d]" % (sub_path, index), sub_field)
    return found


def containers(spec, item, path, field):
    """(dict, its spec, path, field) of the config item and every given sub-dict."""
    found = [(item, spec, path, field)]
    for slot in slots(spec, item, path, field):
        if not slot.present or not slot.spec.get("options"):
            continue
        value = slot.parent[slot.key]
        if isinstance(value, dict):
            found.append((value, slot.spec["options"], slot.path, slot.field))
        else:
            for index, element in enumerate(value):
                found.append((element, slot.spec["options"], "%s[%d]" % (slot.path, index), slot.field))
    return found


def wrong_type_values(option):
    """Values Ansible cannot turn into the option's type, or turns into something invalid."""
    kind = option.get("type", "str")
    if kind == "dict":
        return st.sampled_from([True, False, 0, 5, 1.5, "abc", "x y", "", ["a"], [1, 2], [{"a": 1}]])
    if kind == "list" and option.get("elements") == "dict":
        return st.sampled_from([True, 5, 1.5, "abc", {"a": 1}, [1], ["abc"], [True], [[1]], [{"a": 1}, 5]])
    if kind == "list" and option.get("elements") == "int":
        return st.sampled_from([{"a": 1}, ["a"], [1.5], [[1]], [{"a": 1}], "a"])
    if kind == "list":
        return st.sampled_from([{"a": 1}, [{"a": 1}], [[1]], [["x"]]])
    if kind == "int":
        return st.sampled_from([1.5, "abc", "Infinity", float("inf"), float("nan"), [1], {"a": 1}, True, "", "1.5"])
    if kind == "bool":
        return bool_bad()
    if kind == "path":
        return st.sampled_from([["/x"], {"a": "/x"}])
    # str: a list or dict becomes its repr, which every formatted str field refuses
    return st.sampled_from([["a"], ["eth0", "eth1"], {"a": 1}, [1], [{"a": "b"}]])


@st.composite
def one_fault(draw, bases, spec, values, contradictions, free_text, single=False):
    """A valid base item with one fault put in; see the module docstring. `single`: config is
    that one dict (ovs_dpdk_global), not a list of items, and paths start at `config`."""
    kind = draw(st.sampled_from(["bad_value"] * 6 + ["wrong_type"] * 3 + ["unknown", "missing"] + ["contradiction"] * 2))
    if kind == "contradiction":
        return draw(st.sampled_from(contradictions).flatmap(lambda make: make()))
    base = copy.deepcopy(draw(st.sampled_from(bases)))
    items = base if single else [base]
    root = "config" if single else "config[0]"
    if kind == "missing" and not [s for s in slots(spec, base, root, "config") if s.present and s.spec.get("required")]:
        kind = "unknown"  # nothing is required here
    if kind in ("bad_value", "wrong_type"):
        candidates = [s for s in slots(spec, base, root, "config")
                      if (kind == "wrong_type" and s.field not in free_text) or (kind == "bad_value" and s.field in values)]
        slot = draw(st.sampled_from(candidates))
        path = slot.path
        if kind == "bad_value":
            value = draw(values[slot.field](slot))
            if isinstance(value, At):
                path, value = path + value.suffix, value.value
        else:
            value = draw(wrong_type_values(slot.spec))
        slot.parent[slot.key] = value
        return Case(items, (path,), "%s:%s" % (kind, slot.field), slot.field)
    if kind == "unknown":
        holder, sub_spec, path, field = draw(st.sampled_from(containers(spec, base, root, "config")))
        real = draw(st.sampled_from(sorted(sub_spec)))
        key = draw(st.sampled_from([real + "s", real[:-1], real.upper(), real + "_", "x" + real, "foo", "type_", "Name"]))
        if key in sub_spec:
            key = key + "zz"
        holder[key] = "x"
        return Case(items, ("%s.%s" % (path, key),), "unknown_option", "%s.%s" % (field, key))
    # missing: a required sub-option left out
    required = [s for s in slots(spec, base, root, "config") if s.present and s.spec.get("required")]
    slot = draw(st.sampled_from(required))
    del slot.parent[slot.key]
    return Case(items, (slot.path,), "missing:" + slot.field, slot.field)


def unindexed(path):
    return _unindexed(path)


@dataclasses.dataclass
class At:
    """A bad value that belongs below the field it is put in (an element of a list, a key of a map)."""
    suffix: str
    value: object


def bad_element(bad, valid_sample):
    """A list with one bad element among valid ones; the path names the element."""
    @st.composite
    def build(draw):
        before = draw(st.integers(0, 2))
        value = draw(bad)
        return At("[%d]" % before, [valid_sample] * before + [value] + [valid_sample] * draw(st.integers(0, 1)))
    return build()


def case(items, paths, label, field):
    return Case(items, tuple(paths), "contradiction:" + label, field)


# ---- vm_network -----------------------------------------------------------------------------------
NET_NAT = {
    "name": "hvnat0",
    "forward": {"mode": "nat", "nat": {"addresses": {"start": "203.0.113.10", "end": "203.0.113.20"},
                                       "ports": {"start": 1024, "end": 65535}, "ipv6": False}},
    "bridge": {"name": "hvbr0", "stp": True, "delay": 0, "mac_table_manager": "kernel"},
    "mtu": 1500, "mac": "52:54:00:aa:bb:cc",
    "ips": [{"address": "198.51.100.1", "prefix": 24, "family": "ipv4", "tftp_root": "/srv/tftp",
             "dhcp": {"ranges": [{"start": "198.51.100.100", "end": "198.51.100.150"}],
                      "hosts": [{"mac": "52:54:00:00:00:01", "name": "web", "ip": "198.51.100.10", "id": "01:52:54:00:00:00:01"}],
                      "bootp": {"file": "pxelinux.0", "server": "198.51.100.1"}}},
            {"address": "2001:db8:1::1", "prefix": 64, "family": "ipv6",
             "dhcp": {"ranges": [{"start": "2001:db8:1::100", "end": "2001:db8:1::1ff"}],
                      "hosts": [{"id": "00:01:00:01:aa:bb", "name": "db", "ip": "2001:db8:1::10"}]}}],
    "routes": [{"family": "ipv4", "address": "203.0.113.128", "prefix": 25, "gateway": "198.51.100.2", "metric": 10}],
    "domain": {"name": "example.test", "local_only": True},
    "dns": {"enable": True, "forward_plain_names": False,
            "forwarders": [{"addr": "198.51.100.53"}, {"domain": "corp.test", "addr": "2001:db8::53"}],
            "hosts": [{"ip": "198.51.100.10", "hostnames": ["web", "www.example.test"]}],
            "srv": [{"service": "ldap", "protocol": "tcp", "domain": "example.test", "target": "web.example.test",
                     "port": 389, "priority": 10, "weight": 5}],
            "txt": [{"name": "info", "value": "hello world"}]},
    "bandwidth": {"inbound": {"average": 1000, "peak": 2000, "burst": 100, "floor": 500},
                  "outbound": {"average": 1000, "peak": 2000, "burst": 100}},
    "port_forwards": [{"protocol": "tcp", "host_port": 8080, "guest_ip": "198.51.100.10", "guest_port": 80},
                      {"protocol": "udp", "host_port": 5353, "guest_ip": "198.51.100.10", "guest_port": 53,
                       "host_address": "203.0.113.5"}],
}
NET_ROUTE = {"name": "hvroute0", "forward": {"mode": "route", "dev": "eth0"},
             "ips": [{"address": "203.0.113.1", "prefix": 26, "dhcp": {"ranges": [{"start": "203.0.113.10", "end": "203.0.113.20"}]}}],
             "routes": [{"address": "198.51.100.0", "prefix": 24, "gateway": "203.0.113.2"}],
             "port_forwards": [{"host_port": 2222, "guest_ip": "203.0.113.5", "guest_port": 22}]}
NET_BRIDGE = {"name": "hvbridge0", "forward": {"mode": "bridge"},
              "bridge": {"name": "br-up", "stp": False, "delay": 2, "mac_table_manager": "libvirt", "uplink": "eth0"}, "mtu": 9000}
NET_ISOLATED = {"name": "hviso0", "ips": [{"address": "2001:db8:2::1", "prefix": 64}], "domain": {"name": "iso.test"},
                "dns": {"hosts": [{"ip": "2001:db8:2::5", "hostnames": ["a"]}]}}
NET_OPEN = {"name": "hvopen0", "forward": {"mode": "open"}, "ips": [{"address": "198.51.100.65", "prefix": 26}]}
NETWORK_BASES = [NET_NAT, NET_ROUTE, NET_BRIDGE, NET_ISOLATED, NET_OPEN, {"name": "hvmin0"}]


def _prefix_bad(slot):
    address = str(slot.parent.get("address", ""))
    return int_bad(0, 128 if ":" in address else 32)


NETWORK_VALUES = {
    "config.name": lambda s: netname_bad(),
    "config.forward.dev": lambda s: ifname_bad(),
    "config.forward.mode": lambda s: choice_bad(["isolated", "bridge", "nat", "route", "open"]),
    "config.forward.nat.addresses.start": lambda s: ip_bad(v4_only=True),
    "config.forward.nat.addresses.end": lambda s: ip_bad(v4_only=True),
    "config.forward.nat.ports.start": lambda s: int_bad(1, 65535),
    "config.forward.nat.ports.end": lambda s: int_bad(1, 65535),
    "config.forward.nat.ipv6": lambda s: bool_bad(),
    "config.bridge.name": lambda s: ifname_bad("br0"),
    "config.bridge.stp": lambda s: bool_bad(),
    "config.bridge.delay": lambda s: int_bad(0, 30),
    "config.bridge.mac_table_manager": lambda s: choice_bad(["kernel", "libvirt"]),
    "config.bridge.uplink": lambda s: ifname_bad(),
    "config.mtu": lambda s: int_bad(68, 65535),
    "config.mac": lambda s: mac_bad(),
    "config.ips.address": lambda s: ip_bad(prefix_form=False),
    "config.ips.prefix": _prefix_bad,
    "config.ips.family": lambda s: choice_bad(["ipv4", "ipv6"]),
    "config.ips.tftp_root": lambda s: st.one_of(path_bad(), st.just("/srv/a,b")),
    "config.ips.dhcp.ranges.start": lambda s: ip_bad(),
    "config.ips.dhcp.ranges.end": lambda s: ip_bad(),
    "config.ips.dhcp.hosts.mac": lambda s: mac_bad(),
    "config.ips.dhcp.hosts.name": lambda s: dnsname_bad(),
    "config.ips.dhcp.hosts.ip": lambda s: ip_bad(),
    "config.ips.dhcp.hosts.id": lambda s: st.one_of(st.sampled_from(["zz", "01", "01:02:xyz", "", "01:02:03:", ":01", "01-02"]),
                                                    _with_control("01:02:03")),
    "config.ips.dhcp.bootp.file": lambda s: text_bad("pxelinux.0", ["a,b", ""]),
    "config.ips.dhcp.bootp.server": lambda s: ip_bad(v4_only=True),
    "config.routes.family": lambda s: choice_bad(["ipv4", "ipv6"]),
    "config.routes.address": lambda s: ip_bad(),
    "config.routes.prefix": _prefix_bad,
    "config.routes.gateway": lambda s: ip_bad(),
    "config.routes.metric": lambda s: int_bad(0, 2 ** 32 - 1),
    "config.domain.name": lambda s: dnsname_bad(),
    "config.domain.local_only": lambda s: bool_bad(),
    "config.dns.enable": lambda s: bool_bad(),
    "config.dns.forward_plain_names": lambda s: bool_bad(),
    "config.dns.forwarders.addr": lambda s: ip_bad(),
    "config.dns.forwarders.domain": lambda s: dnsname_bad(),
    "config.dns.hosts.ip": lambda s: ip_bad(),
    "config.dns.hosts.hostnames": lambda s: bad_element(dnsname_bad(), "host"),
    "config.dns.srv.service": lambda s: st.one_of(st.sampled_from(["", "a" * 16, "a_b", "a b", "a.b", "-", "$x"]), _with_control("ldap")),
    "config.dns.srv.protocol": lambda s: choice_bad(["tcp", "udp"]),
    "config.dns.srv.domain": lambda s: dnsname_bad(),
    "config.dns.srv.target": lambda s: st.one_of(st.sampled_from(["a b", "a/b", "a,b", "", "$(id)", "a;b"]), _with_control("web")),
    "config.dns.srv.port": lambda s: int_bad(0, 65535),
    "config.dns.srv.priority": lambda s: int_bad(0, 65535),
    "config.dns.srv.weight": lambda s: int_bad(0, 65535),
    "config.dns.txt.name": lambda s: st.one_of(st.sampled_from(["", "a b", "a/b", "a,b", "a=b", "$x"]), _with_control("info")),
    "config.dns.txt.value": lambda s: text_bad("hello", ['a"b', "a\\b", "\u00e9t\u00e9"]),
    "config.bandwidth.inbound.average": lambda s: int_bad(1, 2 ** 32 - 1),
    "config.bandwidth.inbound.peak": lambda s: int_bad(1, 2 ** 32 - 1),
    "config.bandwidth.inbound.burst": lambda s: int_bad(1, 2 ** 32 - 1),
    "config.bandwidth.inbound.floor": lambda s: int_bad(1, 2 ** 32 - 1),
    "config.bandwidth.outbound.average": lambda s: int_bad(1, 2 ** 32 - 1),
    "config.bandwidth.outbound.peak": lambda s: int_bad(1, 2 ** 32 - 1),
    "config.bandwidth.outbound.burst": lambda s: int_bad(1, 2 ** 32 - 1),
    "config.port_forwards.protocol": lambda s: choice_bad(["tcp", "udp"]),
    "config.port_forwards.host_port": lambda s: int_bad(1, 65535),
    "config.port_forwards.guest_ip": lambda s: ip_bad(),
    "config.port_forwards.guest_port": lambda s: int_bad(1, 65535),
    "config.port_forwards.host_address": lambda s: ip_bad(),
}
# str fields whose repr of a list or dict is a valid value; a netmask beside a prefix is a contradiction
NETWORK_FREE_TEXT = {"config.dns.txt.value", "config.ips.dhcp.bootp.file", "config.ips.netmask"}


def _compact(item):
    return {key: value for key, value in item.items() if value is not None}


def _dhcp_ip(address, prefix, start, end):
    return {"address": address, "prefix": prefix, "dhcp": {"ranges": [{"start": start, "end": end}]}}


def _net(**fields):
    item = {"name": "hvc0", "ips": [{"address": "198.51.100.1", "prefix": 24}]}
    item.update(fields)
    return item


def _network_contradictions():
    modes = st.sampled_from
    pf = {"protocol": "tcp", "host_port": 8080, "guest_ip": "198.51.100.10", "guest_port": 80}
    return [
        lambda: modes(["nat", "route", "open", "isolated", None]).map(lambda mode: case(
            [_net(forward=_compact({"mode": mode}), bridge={"uplink": "eth0"})], ["config[0].bridge.uplink", "config[0].forward.mode"],
            "uplink_without_bridge_mode", "config.bridge.uplink")),
        # the same protocol and host port again: without guest_port (issue 13), to another guest, or on one host address
        lambda: st.sampled_from([{"guest_port": None}, {"guest_port": 8080}, {"host_address": "203.0.113.5"}, {"guest_ip": "198.51.100.11"}]).map(
            lambda change: case([_net(forward={"mode": "nat"}, port_forwards=[pf, _compact(dict(pf, **change))])],
                                ["config[0].port_forwards[1]", "config[0].port_forwards[1].host_port"],
                                "duplicate_port_forward", "config.port_forwards")),
        lambda: modes(["isolated", "open", "bridge"]).map(lambda mode: case(
            [_net(forward={"mode": mode, "dev": "eth0"})], ["config[0].forward.dev"], "dev_without_nat_or_route", "config.forward.dev")),
        lambda: modes(["isolated", "open", "bridge", "route"]).map(lambda mode: case(
            [_net(forward={"mode": mode, "nat": {"ports": {"start": 1024, "end": 2048}}})], ["config[0].forward.nat"],
            "nat_without_nat_mode", "config.forward.nat")),
        lambda: modes(["isolated", "open", "bridge"]).map(lambda mode: case(
            [_net(forward={"mode": mode}, port_forwards=[pf])], ["config[0].port_forwards"], "port_forward_without_nat_or_route",
            "config.port_forwards")),
        lambda: st.sampled_from([("198.51.100.100", "198.51.101.5", "end"),
                                 ("198.51.100.0", "198.51.100.5", "start"), ("198.51.100.200", "198.51.100.255", "end")]).map(
            lambda r: case([_net(ips=[{"address": "198.51.100.1", "prefix": 24, "dhcp": {"ranges": [{"start": r[0], "end": r[1]}]}}])],
                           ["config[0].ips[0].dhcp.ranges[0].%s" % r[2]], "dhcp_range_outside_subnet", "config.ips.dhcp.ranges")),
        lambda: st.just(case([_net(ips=[{"address": "198.51.100.1", "prefix": 24,
                                         "dhcp": {"ranges": [{"start": "198.51.100.1", "end": "198.51.100.9"}]}}])],
                             ["config[0].ips[0].dhcp.ranges[0]"], "dhcp_range_holds_own_address", "config.ips.dhcp.ranges")),
        lambda: st.just(case([_net(ips=[_dhcp_ip("198.51.100.1", 25, "198.51.100.10", "198.51.100.20"),
                                        _dhcp_ip("198.51.100.129", 25, "198.51.100.140", "198.51.100.150")])],
                             ["config[0].ips[1].dhcp"], "dhcp_twice_per_family", "config.ips.dhcp")),
        lambda: st.sampled_from([("198.51.100.1", 24, "198.51.100.2", 25), ("198.51.100.1", 24, "198.51.100.200", 24),
                                 ("2001:db8::1", 64, "2001:db8::2", 48)]).map(
            lambda o: case([_net(ips=[{"address": o[0], "prefix": o[1]}, {"address": o[2], "prefix": o[3]}])],
                           ["config[0].ips"], "overlapping_ips", "config.ips")),
        lambda: st.sampled_from(["203.0.113.1", "198.51.101.1", "2001:db8::1"]).map(lambda gw: case(
            [_net(routes=[{"address": "203.0.113.128", "prefix": 25, "gateway": gw}])], ["config[0].routes[0].gateway"],
            "route_gateway_unreachable", "config.routes.gateway")),
        lambda: st.just(case([_net(routes=[{"address": "203.0.113.129", "prefix": 25, "gateway": "198.51.100.2"}])],
                             ["config[0].routes[0].address", "config[0].routes[0].prefix"], "route_host_bits", "config.routes.address")),
        lambda: st.sampled_from([{"address": "198.51.100.1", "prefix": 24, "netmask": "255.255.255.0"},
                                 {"address": "198.51.100.1/24", "prefix": 24}, {"address": "198.51.100.1/24", "netmask": "255.255.255.0"}]).map(
            lambda ip: case([_net(ips=[ip])], ["config[0].ips[0]", "config[0].ips[0].prefix", "config[0].ips[0].netmask"],
                            "prefix_given_twice", "config.ips")),
        lambda: st.sampled_from([("198.51.100.1", "ipv6"), ("2001:db8::1", "ipv4")]).map(lambda o: case(
            [_net(ips=[{"address": o[0], "prefix": 24, "family": o[1]}])], ["config[0].ips[0].family"], "family_mismatch", "config.ips.family")),
        lambda: st.sampled_from([("inbound", {"average": 1000, "peak": 10}, "peak"), ("inbound", {"average": 10, "floor": 1000}, "floor"),
                                 ("outbound", {"average": 1000, "floor": 10}, "floor"), ("inbound", {"peak": 1000}, "average")]).map(
            lambda o: case([_net(forward={"mode": "nat"}, bandwidth={o[0]: o[1]})], ["config[0].bandwidth.%s.%s" % (o[0], o[2])],
                           "bandwidth_contradiction", "config.bandwidth")),
        lambda: st.sampled_from([("ports", {"start": 2000, "end": 1000}), ("addresses", {"start": "203.0.113.20", "end": "203.0.113.10"})]).map(
            lambda o: case([_net(forward={"mode": "nat", "nat": {o[0]: o[1]}})], ["config[0].forward.nat.%s" % o[0]],
                           "nat_range_reversed", "config.forward.nat")),
        lambda: st.one_of(st.sampled_from(["0.0.0.255", "255.0.255.0", "255.255.255.256", "x", "255.255.255.0/24", "24x",
                                           "255.255.255.0\n", "ffff:ffff::"]), _with_control("255.255.255.0")).map(
            lambda mask: case([_net(ips=[{"address": "198.51.100.1", "netmask": mask}])], ["config[0].ips[0].netmask"],
                              "bad_netmask", "config.ips.netmask")),
        lambda: st.sampled_from(["198.51.101.10", "203.0.113.10", "2001:db8::10"]).map(lambda ip: case(
            [_net(forward={"mode": "nat"}, port_forwards=[dict(pf, guest_ip=ip)])], ["config[0].port_forwards[0].guest_ip"],
            "guest_ip_outside_subnets", "config.port_forwards.guest_ip")),
        lambda: st.text(alphabet="abcdefghij0123456789", min_size=16, max_size=64).map(lambda name: case(
            [{"name": name}], ["config[0].bridge.name", "config[0].name"], "name_not_an_interface_name", "config.bridge.name")),
        lambda: st.sampled_from([("tftp_root", "/srv/tftp"),
                                 ("dhcp", {"bootp": {"file": "x.efi"}, "ranges": [{"start": "2001:db8::10", "end": "2001:db8::20"}]})]).map(
            lambda o: case([_net(ips=[{"address": "2001:db8::1", "prefix": 64, o[0]: o[1]}])],
                           ["config[0].ips[0].%s" % ("tftp_root" if o[0] == "tftp_root" else "dhcp.bootp")], "ipv4_only_service_on_ipv6",
                           "config.ips")),
        lambda: st.just(case([{"name": "hvdup0"}, {"name": "hvdup0"}], ["config[1].name"], "duplicate_name", "config.name")),
        lambda: st.sampled_from([([{"mac": "52:54:00:00:00:01", "ip": "198.51.101.10"}], "[0].ip"),
                                 ([{"mac": "52:54:00:00:00:01", "ip": "198.51.100.10"}, {"mac": "52:54:00:00:00:02", "ip": "198.51.100.10"}], "[1].ip"),
                                 ([{"ip": "198.51.100.10"}], "[0]"), ([{"mac": "52:54:00:00:00:01", "ip": "198.51.100.1"}], "[0].ip")]).map(
            lambda o: case([_net(ips=[{"address": "198.51.100.1", "prefix": 24, "dhcp": {"hosts": o[0]}}])],
                           ["config[0].ips[0].dhcp.hosts" + o[1]], "dhcp_host_contradiction", "config.ips.dhcp.hosts")),
        lambda: st.just(case([_net(ips=[{"address": "2001:db8::1", "prefix": 64, "dhcp": {"hosts": [{"mac": "52:54:00:00:00:01", "ip": "2001:db8::5"}]}}])],
                             ["config[0].ips[0].dhcp.hosts[0].mac"], "ipv6_dhcp_host_by_mac", "config.ips.dhcp.hosts.mac")),
        lambda: st.just(case([_net(dns={"forwarders": [{}]})], ["config[0].dns.forwarders[0]"], "empty_forwarder", "config.dns.forwarders")),
    ]


NETWORK = {"bases": NETWORK_BASES, "values": NETWORK_VALUES, "free_text": NETWORK_FREE_TEXT, "contradictions": _network_contradictions()}


# ---- vm_interface ---------------------------------------------------------------------------------
IF_GUEST = {"mac": "52:54:00:aa:00:02", "model": "virtio", "queues": 4, "queue_size": 256, "ip": "198.51.100.5/24"}
IF_TAP = {"name": "tap0", "kind": "tap", "multi_queue": True, "owner": "root", "group": "root", "mtu": 1500,
          "mac": "52:54:00:aa:00:01", "link_state": "up", "bridge": "br0", "isolated": True, "learning": False, "flood": True,
          "guest": IF_GUEST}
IF_MACVTAP = {"name": "mvt0", "kind": "macvtap", "link": "eth0", "mode": "bridge", "mtu": 1500, "mac": "52:54:00:aa:00:03",
              "link_state": "down", "guest": {"model": "e1000", "ip": "2001:db8::5/64"}}
IF_VHOST = {"name": "vhu0", "kind": "vhostuser", "bridge": "br-dpdk", "socket": "/run/vhost/vhu0.sock", "owner": "root", "mtu": 1500,
            "guest": {"mac": "52:54:00:aa:00:04", "queues": 2, "queue_size": 1024}}
INTERFACE_BASES = [IF_TAP, IF_MACVTAP, IF_VHOST, {"name": "tap1"}, {"name": "tap2", "mtu": 9000, "guest": {"mac": "52:54:00:aa:00:05"}}]
ID_BAD = ["4294967296", "4294967295", "99999999999999999999", "-1", "-root", "root;id", "$(id)", "a b", "", "root/x"]
INTERFACE_VALUES = {
    "config.name": lambda s: ifname_bad("tap0"),
    "config.kind": lambda s: choice_bad(["tap", "macvtap", "vhostuser"]),
    "config.socket": lambda s: path_bad("/run/vhost", socket=True),
    "config.multi_queue": lambda s: bool_bad(),
    "config.owner": lambda s: st.one_of(st.sampled_from(ID_BAD), _with_control("root")),
    "config.group": lambda s: st.one_of(st.sampled_from(ID_BAD), _with_control("root")),
    "config.mtu": lambda s: int_bad(68, 65535),
    "config.mac": lambda s: mac_bad(),
    "config.link_state": lambda s: choice_bad(["up", "down"]),
    "config.bridge": lambda s: ifname_bad("br0"),
    "config.isolated": lambda s: bool_bad(),
    "config.learning": lambda s: bool_bad(),
    "config.flood": lambda s: bool_bad(),
    "config.link": lambda s: ifname_bad(),
    "config.mode": lambda s: choice_bad(["vepa", "bridge", "private", "passthru"]),
    "config.guest.mac": lambda s: mac_bad(),
    "config.guest.model": lambda s: choice_bad(["virtio", "e1000"]),
    "config.guest.queues": lambda s: int_bad(1, 128),
    "config.guest.queue_size": lambda s: power_of_two_bad(64, 32768),
    "config.guest.ip": lambda s: iface_bad(),
}
INTERFACE_FREE_TEXT = {"config.owner", "config.group"}  # any user name may exist: the host decides


def _interface_contradictions():
    flags = st.sampled_from(["isolated", "learning", "flood"])
    return [
        # isolated: false is the default, harmless without a bridge; learning and flood default to the bridge's own
        lambda: st.tuples(flags, st.sampled_from([None, "tap"]), st.booleans()).filter(lambda o: o[0] != "isolated" or o[2]).map(lambda o: case(
            [_compact({"name": "tap5", "kind": o[1], o[0]: o[2]})], ["config[0].%s" % o[0]],
            "bridge_port_flag_without_bridge", "config." + o[0])),
        lambda: st.sampled_from([None, "tap"]).map(lambda kind: case(
            [_compact({"name": "tap5", "kind": kind, "mac": "52:54:00:aa:00:09", "guest": {"mac": "52:54:00:AA:00:09"}})],
            ["config[0].mac", "config[0].guest.mac"], "host_mac_equals_guest_mac", "config.mac")),
        lambda: st.sampled_from([("multi_queue", True), ("owner", "root"), ("group", "root"), ("bridge", "br0"), ("isolated", True),
                                 ("learning", True), ("flood", False)]).map(
            lambda o: case([{"name": "mvt5", "kind": "macvtap", "link": "eth0", o[0]: o[1]}], ["config[0].%s" % o[0]],
                           "tap_field_on_macvtap", "config." + o[0])),
        lambda: st.just(case([{"name": "mvt5", "kind": "macvtap"}], ["config[0].link"], "macvtap_without_link", "config.link")),
        lambda: st.sampled_from([("link", "eth0"), ("mode", "vepa")]).map(lambda o: case(
            [{"name": "tap5", "kind": "tap", o[0]: o[1]}], ["config[0].%s" % o[0]], "macvtap_field_on_tap", "config." + o[0])),
        lambda: st.sampled_from([None, "tap", "macvtap"]).map(lambda kind: case(
            [_compact({"name": "tap5", "kind": kind, "link": "eth0" if kind == "macvtap" else None, "socket": "/run/vhost/x.sock"})],
            ["config[0].socket"], "socket_without_vhostuser",
            "config.socket")),
        lambda: st.sampled_from([("multi_queue", True), ("mac", "52:54:00:aa:00:0a"), ("link_state", "down"), ("isolated", True),
                                 ("learning", False), ("flood", True), ("link", "eth0"), ("mode", "vepa"), ("group", "root")]).map(
            lambda o: case([{"name": "vhu5", "kind": "vhostuser", "socket": "/run/vhost/v.sock", o[0]: o[1]}], ["config[0].%s" % o[0]],
                           "field_not_for_vhostuser", "config." + o[0])),
        lambda: st.just(case([{"name": "vhu5", "kind": "vhostuser"}], ["config[0].socket"], "vhostuser_without_socket", "config.socket")),
        lambda: st.tuples(st.integers(2, 128), st.sampled_from([None, "tap"])).map(lambda o: case(
            [_compact({"name": "tap5", "kind": o[1], "multi_queue": False, "guest": {"queues": o[0]}})],
            ["config[0].multi_queue", "config[0].guest.queues"], "queues_on_single_queue_tap", "config.multi_queue")),
        lambda: st.integers(9711, 65535).map(lambda mtu: case(
            [{"name": "vhu5", "kind": "vhostuser", "socket": "/run/vhost/v.sock", "mtu": mtu}], ["config[0].mtu"], "vhostuser_mtu_above_ovs",
            "config.mtu")),
        lambda: st.just(case([{"name": "tapdup"}, {"name": "tapdup"}], ["config[1].name"], "duplicate_name", "config.name")),
    ]


INTERFACE = {"bases": INTERFACE_BASES, "values": INTERFACE_VALUES, "free_text": INTERFACE_FREE_TEXT,
             "contradictions": _interface_contradictions()}


# ---- ovs_dpdk_port --------------------------------------------------------------------------------
OVS_DPDK = {"name": "dpdk0", "bridge": "br0", "type": "dpdk", "devargs": "net_null0,no-rx=1", "n_rxq": 2, "n_rxq_desc": 1024,
            "n_txq_desc": 1024, "rxq_affinity": {"0": 1, "1": 2}, "mtu_request": 9000,
            "flow_control": {"tx": True, "rx": False, "autoneg": False}, "ingress_policing": {"rate": 10000, "burst": 1000},
            "egress_policer": {"cir": 1000000, "cbs": 2048}, "tag": 10, "vlan_mode": "native-untagged", "trunks": [20, 30],
            "ofport_request": 10, "external_ids": {"app": "x"}, "other_config": {"tx-steering": "thread"}}
OVS_BOND = {"name": "bond0", "bridge": "br0", "type": "dpdk", "interfaces": [{"name": "m0", "devargs": "0000:01:00.0"},
                                                                             {"name": "m1", "devargs": "0000:01:00.1"}],
            "bond_mode": "balance-tcp", "lacp": "active", "mtu_request": 1500}
OVS_CLIENT = {"name": "vhc0", "bridge": "br0", "type": "dpdkvhostuserclient", "vhost_server_path": "/run/vhost/vhc0.sock",
              "mtu_request": 1500, "tag": 5, "vlan_mode": "access"}
OVS_VHOST = {"name": "vhu0", "bridge": "br0", "type": "dpdkvhostuser", "trunks": [1, 2], "vlan_mode": "trunk"}
OVS_BASES = [OVS_DPDK, OVS_BOND, OVS_CLIENT, OVS_VHOST]
DEVARGS_BAD = ["", "0000:01:00.0\n", "01:00.8", "net_null", "net_null0,", "net_null0,a", "net_null0,a=b c", 'net_null0,a="b"',
               "eth0", "$(id)", "0000:01:00.0;ls", "-x", "net_null0,,a=b", "net_null0,a=b,", "0000:01:00.0 ", "net_null0,a=b\nc=d"]


def _map_bad(slot):
    key_bad = st.one_of(st.sampled_from(["a b", "a=b", "", "a,b", "$x", "a\"b", "a{b"]), _with_control("key"))
    value_bad = _with_control("value")
    return st.one_of(key_bad.map(lambda key: At("", {key: "v"})), value_bad.map(lambda value: At(".app", {"app": value})))


def _affinity_bad(slot):
    return st.one_of(
        st.sampled_from([{"x": 1}, {"-1": 1}, {"1024": 1}, {"0.5": 1}, {"": 1}]).map(lambda value: At("", value)),
        int_bad(0, 1023).map(lambda core: At(".0", {"0": core})))


OVS_VALUES = {
    "config.name": lambda s: portname_bad(),
    "config.bridge": lambda s: portname_bad(),
    "config.type": lambda s: choice_bad(["dpdk", "dpdkvhostuserclient", "dpdkvhostuser"]),
    "config.devargs": lambda s: st.one_of(st.sampled_from(DEVARGS_BAD), _with_control("net_null0")),
    "config.interfaces.name": lambda s: portname_bad(),
    "config.interfaces.devargs": lambda s: st.one_of(st.sampled_from(DEVARGS_BAD), _with_control("0000:01:00.0")),
    "config.bond_mode": lambda s: choice_bad(["active-backup", "balance-slb", "balance-tcp"]),
    "config.lacp": lambda s: choice_bad(["active", "passive", "off"]),
    "config.vhost_server_path": lambda s: path_bad("/run/vhost", socket=True),
    "config.n_rxq": lambda s: int_bad(1, 1024),
    "config.n_rxq_desc": lambda s: power_of_two_bad(1, 4096),
    "config.n_txq_desc": lambda s: power_of_two_bad(1, 4096),
    "config.rxq_affinity": _affinity_bad,
    "config.mtu_request": lambda s: int_bad(68, 9710),
    "config.flow_control.tx": lambda s: bool_bad(),
    "config.flow_control.rx": lambda s: bool_bad(),
    "config.flow_control.autoneg": lambda s: bool_bad(),
    "config.ingress_policing.rate": lambda s: int_bad(0, 2 ** 32 - 1),
    "config.ingress_policing.burst": lambda s: int_bad(0, 2 ** 32 - 1),
    "config.egress_policer.cir": lambda s: int_bad(0, 2 ** 63 - 1),
    "config.egress_policer.cbs": lambda s: int_bad(0, 2 ** 63 - 1),
    "config.tag": lambda s: int_bad(0, 4095),
    "config.trunks": lambda s: bad_element(st.one_of(st.sampled_from([-1, 4096, 2 ** 32, 10 ** 30]), st.integers(min_value=4096)), 100),
    "config.vlan_mode": lambda s: choice_bad(["access", "trunk"]),
    "config.ofport_request": lambda s: int_bad(1, 65279),
    "config.external_ids": _map_bad,
    "config.other_config": _map_bad,
}
OVS_FREE_TEXT = set()


def _ovs_contradictions():
    single = {"name": "dpdk5", "bridge": "br0", "type": "dpdk", "devargs": "net_null5"}
    members = [{"name": "m0", "devargs": "0000:01:00.0"}, {"name": "m1", "devargs": "0000:01:00.1"}]
    bond = {"name": "bond5", "bridge": "br0", "type": "dpdk", "interfaces": members}
    return [
        lambda: st.sampled_from([members[:1], [members[0], dict(members[1], name="m0")], [members[0], dict(members[1], name="bond5")]]).map(
            lambda m: case([dict(bond, interfaces=m)], ["config[0].interfaces"], "bad_bond_members", "config.interfaces")),
        lambda: st.sampled_from([("devargs", "net_null7"), ("n_rxq", 2), ("rxq_affinity", {"0": 1}), ("ofport_request", 7),
                                 ("type", "dpdkvhostuser"), ("type", "dpdkvhostuserclient")]).map(
            lambda o: case([dict(bond, **{o[0]: o[1]})], ["config[0].%s" % o[0]], "single_device_field_on_bond", "config." + o[0])),
        lambda: st.just(case([dict(single, vhost_server_path="/run/vhost/x.sock")], ["config[0].vhost_server_path"],
                             "vhost_path_on_dpdk", "config.vhost_server_path")),
        lambda: st.tuples(st.sampled_from(["dpdkvhostuser", "dpdkvhostuserclient"]),
                          st.sampled_from([("devargs", "net_null9"), ("flow_control", {"tx": True}), ("n_rxq", 2), ("n_rxq_desc", 512),
                                           ("n_txq_desc", 512)])).map(
            lambda o: case([{"name": "vh5", "bridge": "br0", "type": o[0], "vhost_server_path": "/run/vhost/v.sock"
                             if o[0] == "dpdkvhostuserclient" else None, o[1][0]: o[1][1]}], ["config[0].%s" % o[1][0]],
                           "dpdk_field_on_vhost", "config." + o[1][0])),
        lambda: st.tuples(st.integers(1, 8), st.integers(0, 40)).map(lambda o: case(
            [dict(single, n_rxq=o[0], rxq_affinity={str(o[0] + o[1]): 1})], ["config[0].rxq_affinity.%d" % (o[0] + o[1])],
            "affinity_queue_not_below_n_rxq", "config.rxq_affinity")),
        lambda: st.sampled_from([({"tag": 5, "vlan_mode": "trunk"}, "tag"), ({"trunks": [5], "vlan_mode": "access"}, "trunks")]).map(
            lambda o: case([dict(single, **o[0])], ["config[0].%s" % o[1]], "vlan_contradiction", "config." + o[1])),
        lambda: st.just(case([dict(single, other_config={"pmd-rxq-affinity": "0:1"})], ["config[0].other_config.pmd-rxq-affinity"],
                             "owned_other_config_key", "config.other_config")),
        lambda: st.sampled_from([
            ([single, dict(single, name="dpdk6")], "config[1]", "same_device"),
            ([dict(single, ofport_request=5), dict(single, name="dpdk6", devargs="net_null6", ofport_request=5)], "config[1].ofport_request",
             "same_ofport_request"),
            ([single, dict(single, devargs="net_null6")], "config[1].name", "duplicate_name"),
            ([bond, dict(single, name="m0")], "config[1].name", "port_named_like_a_bond_member"),
        ]).map(lambda o: case(o[0], [o[1]], o[2], "config")),
    ]


OVS = {"bases": OVS_BASES, "values": OVS_VALUES, "free_text": OVS_FREE_TEXT, "contradictions": _ovs_contradictions()}


def config_wrong_type(single=False):
    """`config` itself of the wrong container type, or (a list) holding a non-dict."""
    if single:
        return lambda: st.sampled_from([[{"dpdk_init": True}], [], "abc", 5, True, 1.5]).map(
            lambda value: Case(value, ("config",), "wrong_type:config", "config"))
    return lambda: st.one_of(
        st.sampled_from([{"a": 1}, "abc", 5, True, 1.5]).map(lambda value: Case(value, ("config",), "wrong_type:config", "config")),
        st.sampled_from([5, "abc", True, ["x"], None]).map(lambda value: Case([value], ("config[0]",), "wrong_type:config", "config")))


# ---- ovs_dpdk_bridge ------------------------------------------------------------------------------
BRIDGE_BASES = [{"name": "br0", "fail_mode": "secure", "other_config": {"hwaddr": "52:54:00:aa:bb:01"}, "external_ids": {"app": "x"}},
                {"name": "br-dpdk"}, {"name": "br_t.1+x", "fail_mode": "standalone", "other_config": {"datapath-id": "0000000000000001"}},
                {"name": "br-tenant", "external_ids": {"app": "y", "vm-id": "7"}}, {"name": "brx", "fail_mode": "standalone"},
                {"name": "br-int15chars_x", "other_config": {"hwaddr": "52:54:00:aa:bb:02", "datapath-id": "0000000000000002"}}]
BRIDGE_VALUES = {
    "config.name": lambda s: ifname_bad("br0"),
    "config.fail_mode": lambda s: choice_bad(["standalone", "secure"]),
    "config.other_config": _map_bad,
    "config.external_ids": _map_bad,
}


def _bridge_contradictions():
    return [
        lambda: st.sampled_from(["ovs_dpdk_bridge", "x", ""]).map(lambda owner: case(
            [{"name": "br5", "external_ids": {"hypervisor-networking-owner": owner}}],
            ["config[0].external_ids.hypervisor-networking-owner"], "owner_mark_set_by_user", "config.external_ids")),
        lambda: st.just(case([{"name": "br5"}, {"name": "br5", "fail_mode": "secure"}], ["config[1].name"], "duplicate_name", "config.name")),
        config_wrong_type(),
    ]


BRIDGE = {"bases": BRIDGE_BASES, "values": BRIDGE_VALUES, "free_text": set(), "contradictions": _bridge_contradictions(),
          "example_factor": 1.5}


# ---- ovs_dpdk_global (config is one dict) -------------------------------------------------------------
GLOBAL_BASES = [
    {"dpdk_init": True, "lcore_cores": [0], "pmd_cores": [2, 3], "socket_mem": [1024, 1024], "socket_limit": [2048, 2048],
     "dpdk_extra": "--iova-mode=va", "vhost_sock_dir": "vhost", "per_port_memory": True, "pmd_maxsleep": 50,
     "hugepage_dir": "/dev/hugepages", "other_config": {"pmd-rxq-assign": "cycles"}},
    {"dpdk_init": False},
    {"pmd_cores": [1], "socket_mem": [0, 2048], "other_config": {"userspace-tso-enable": "true"}},
]
MAX_CORE = 1023
MAX_SOCKET_MEM = 1048576
REL_DIR_BAD = ["/abs", "..", "../x", "a/../b", "a//b", "a/", "./a", "/"]
ABS_DIR_BAD = ["rel", "./x", "/a/../b", "/a//b", "/a/", "//a", "~/x"]
GLOBAL_VALUES = {
    "config.dpdk_init": lambda s: bool_bad(),
    "config.per_port_memory": lambda s: bool_bad(),
    "config.lcore_cores": lambda s: bad_element(int_bad(0, MAX_CORE), 5),
    "config.pmd_cores": lambda s: bad_element(int_bad(0, MAX_CORE), 7),
    "config.socket_mem": lambda s: bad_element(int_bad(0, MAX_SOCKET_MEM), 512),
    "config.socket_limit": lambda s: bad_element(int_bad(0, MAX_SOCKET_MEM), 4096),
    "config.dpdk_extra": lambda s: _with_control("--iova-mode=va"),
    "config.vhost_sock_dir": lambda s: st.one_of(st.sampled_from(REL_DIR_BAD), _with_control("vhost/x", inside_only=True)),
    "config.hugepage_dir": lambda s: st.one_of(st.sampled_from(ABS_DIR_BAD), _with_control("/dev/hugepages", inside_only=True)),
    "config.pmd_maxsleep": lambda s: int_bad(0, 10000),
    "config.other_config": _map_bad,
}
GLOBAL_TYPED_KEYS = ["dpdk-init", "dpdk-lcore-mask", "pmd-cpu-mask", "dpdk-socket-mem", "dpdk-socket-limit", "dpdk-extra",
                     "vhost-sock-dir", "per-port-memory", "pmd-maxsleep", "dpdk-hugepage-dir"]


def _single(config, paths, label, field):
    return Case(config, tuple(paths), "contradiction:" + label, field)


def _global_contradictions():
    return [
        lambda: st.lists(st.integers(0, 63), min_size=1, max_size=4, unique=True).map(lambda cores: _single(
            {"lcore_cores": cores, "pmd_cores": cores[:1] + [100]}, ["config.pmd_cores"], "pmd_cores_overlap_lcore_cores", "config.pmd_cores")),
        lambda: st.tuples(st.integers(1, 4096), st.integers(1, 4096)).map(lambda o: _single(
            {"socket_mem": [o[0] + o[1]], "socket_limit": [o[0]]}, ["config.socket_limit[0]"], "socket_limit_below_socket_mem",
            "config.socket_limit")),
        lambda: st.sampled_from(["socket_mem", "socket_limit"]).map(lambda field: _single(
            {field: [1024] * 65}, ["config." + field], "more_numa_nodes_than_64", "config." + field)),
        lambda: st.sampled_from(["lcore_cores", "pmd_cores"]).map(lambda field: _single(
            {field: [4, 4]}, ["config.%s[1]" % field], "core_listed_twice", "config." + field)),
        lambda: st.sampled_from(GLOBAL_TYPED_KEYS).map(lambda key: _single(
            {"other_config": {key: "1"}}, ["config.other_config." + key], "typed_key_in_other_config", "config.other_config")),
        config_wrong_type(single=True),
    ]


GLOBAL = {"bases": GLOBAL_BASES, "values": GLOBAL_VALUES, "free_text": set(), "contradictions": _global_contradictions(), "single": True}


# ---- hugepages (emulated sysfs) ---------------------------------------------------------------------
# several spellings and counts, so that one fault in different bases makes distinct cases
HUGEPAGES_BASES = [{"size": size, "count": count} for size in ("2M", "1G", "2048kB", "1048576kb", "2m", "1024M")
                   for count in (0, 1, 16, 512)]
SIZE_BAD = ["", "2", "0M", "0kB", "2T", "-2M", "+2M", "2M;reboot", "2 M", " 2M", "2M ", "1.5G", "2MiB", "Infinity", "NaN", "0x2M",
            "2**32", "2MB2", "M", "kB", "2048 kB", "$(id)"]
HUGEPAGES_VALUES = {
    "config.size": lambda s: st.one_of(st.sampled_from(SIZE_BAD), _with_control("2M"), _with_meta("2M")),
    "config.count": lambda s: int_bad(0, 2 ** 31 - 1),
}


def _hugepages_contradictions():
    return [
        lambda: st.sampled_from([("2M", "2048kB"), ("1G", "1048576kB"), ("2m", "2M"), ("1g", "1024M")]).map(lambda o: case(
            [{"size": o[0], "count": 1}, {"size": o[1], "count": 2}], ["config[1].size"], "same_pool_twice", "config.size")),
        config_wrong_type(),
    ]


HUGEPAGES = {"bases": HUGEPAGES_BASES, "values": HUGEPAGES_VALUES, "free_text": set(), "contradictions": _hugepages_contradictions(),
             "example_factor": 2}


# ---- pci_driver (emulated sysfs) --------------------------------------------------------------------
PCI_BASES = [{"address": "0000:01:00.0", "driver": "vfio-pci"}, {"address": "01:00.1", "driver": "ixgbe"},
             {"address": "0000:AB:1f.7", "driver": "uio_pci_generic"}]
PCI_BAD = ["", "0000:01:00.8", "0000:01:00", "01:00", "0000:01:00.0.0", "00000:01:00.0", "0000:001:00.0", "g000:01:00.0",
           "0000-01-00.0", " 0000:01:00.0", "0000:01:00.0 ", "0000:01:00.0;reboot", "../../0000:01:00.0", "0000:01:00.0/..",
           "-0000:01:00.0", "0000:01:00.-1", "0000:01:0x.0"]
PCI_VALUES = {
    "config.address": lambda s: st.one_of(st.sampled_from(PCI_BAD), _with_control("0000:01:00.0"), _with_meta("0000:01:00.0")),
    "config.driver": lambda s: st.one_of(st.sampled_from(NAME_BAD + ["x" * 65, "vfio pci"]),
                                         _with_control("vfio-pci"), _with_meta("vfio-pci")),
}


def _pci_contradictions():
    return [
        lambda: st.sampled_from([("01:00.0", "0000:01:00.0"), ("0000:ab:00.0", "0000:AB:00.0")]).map(lambda o: case(
            [{"address": o[0], "driver": "vfio-pci"}, {"address": o[1], "driver": "ixgbe"}], ["config[1].address"], "same_device_twice",
            "config.address")),
        config_wrong_type(),
    ]


PCI = {"bases": PCI_BASES, "values": PCI_VALUES, "free_text": set(), "contradictions": _pci_contradictions()}
MODULE_CASES = {"vm_network": NETWORK, "vm_interface": INTERFACE, "ovs_dpdk_port": OVS, "ovs_dpdk_bridge": BRIDGE,
                "ovs_dpdk_global": GLOBAL, "hugepages": HUGEPAGES, "pci_driver": PCI}


# ---- valid random configs (applied to a real kernel in a namespace) ------------------------------
_SUFFIX = st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=6)
_LOCAL_MAC = st.lists(st.integers(0, 255), min_size=3, max_size=3).map(lambda octets: "52:54:00:%02x:%02x:%02x" % tuple(octets))


@st.composite
def valid_network(draw):
    mode = draw(st.sampled_from(["isolated", "nat", "route", "open"]))
    item = {"name": "hvp" + draw(_SUFFIX), "forward": {"mode": mode}}
    ips = []
    guest = None
    if draw(st.booleans()) or mode != "isolated":
        base = 64 * draw(st.integers(0, 3))
        guest = "198.51.100.%d" % (base + 30)
        ip = {"address": "198.51.100.%d" % (base + 1), "prefix": 26}
        if draw(st.booleans()):
            ip["dhcp"] = {"ranges": [{"start": "198.51.100.%d" % (base + 10), "end": "198.51.100.%d" % (base + 20)}]}
            if draw(st.booleans()):
                ip["dhcp"]["hosts"] = [{"mac": draw(_LOCAL_MAC), "name": "vm" + draw(_SUFFIX), "ip": guest}]
        ips.append(ip)
        if draw(st.booleans()):
            item["routes"] = [{"address": "203.0.113.0", "prefix": 25, "gateway": "198.51.100.%d" % (base + 2)}]
        if mode in ("nat", "route") and draw(st.booleans()):
            item["port_forwards"] = [{"protocol": draw(st.sampled_from(["tcp", "udp"])), "host_port": draw(st.integers(1024, 65535)),
                                      "guest_ip": guest, "guest_port": draw(st.integers(1, 65535))}]
    if draw(st.booleans()):
        ip = {"address": "2001:db8:%x::1" % draw(st.integers(1, 0xffff)), "prefix": 64}
        if draw(st.booleans()):
            prefix = ip["address"][:-1]
            ip["dhcp"] = {"ranges": [{"start": prefix + "100", "end": prefix + "1ff"}]}
        ips.append(ip)
    if ips:
        item["ips"] = ips
    if draw(st.booleans()):
        item["mac"] = draw(_LOCAL_MAC)
    if draw(st.booleans()):
        stp = draw(st.booleans())
        item["bridge"] = {"stp": stp, "delay": draw(st.integers(2, 30)) if stp else 0}
    if ips and draw(st.booleans()):
        item["domain"] = {"name": "p%s.test" % draw(_SUFFIX)}
        if guest and draw(st.booleans()):
            item["dns"] = {"hosts": [{"ip": guest, "hostnames": ["web"]}]}
    if draw(st.booleans()):
        average = draw(st.integers(100, 100000))
        item["bandwidth"] = {"inbound": {"average": average, "peak": average * 2, "burst": draw(st.integers(16, 1024))}}
    return item


@st.composite
def valid_interface(draw, lower, bridge):
    """A tap or macvtap; `lower` and `bridge` exist in the namespace beforehand."""
    kind = draw(st.sampled_from(["tap", "tap", "macvtap", None]))
    item = {"name": "hvt" + draw(_SUFFIX)}
    if kind:
        item["kind"] = kind
    host_mac = draw(_LOCAL_MAC)
    if draw(st.booleans()):
        item["mac"] = host_mac
    if draw(st.booleans()):
        item["link_state"] = draw(st.sampled_from(["up", "down"]))
    guest = {}
    if kind == "macvtap":
        item.update({"link": lower, "mode": draw(st.sampled_from(["vepa", "bridge", "private"]))})
        if draw(st.booleans()):
            item["mtu"] = draw(st.integers(1280, 1500))
    else:
        if draw(st.booleans()):
            item["mtu"] = draw(st.integers(1280, 9000))
        queues = draw(st.integers(1, 8))
        if queues > 1 or draw(st.booleans()):
            item["multi_queue"] = queues > 1 or draw(st.booleans())
            if queues > 1:
                guest["queues"] = queues
        if draw(st.booleans()):
            item["owner"] = draw(st.sampled_from(["root", "0", "nobody"]))
        if draw(st.booleans()):
            item["group"] = draw(st.sampled_from(["root", "0"]))
        if draw(st.booleans()):
            item["bridge"] = bridge
            for flag in ("isolated", "learning", "flood"):
                if draw(st.booleans()):
                    item[flag] = draw(st.booleans())
    if draw(st.booleans()):
        guest["mac"] = draw(_LOCAL_MAC.filter(lambda mac: mac != host_mac))
    if draw(st.booleans()):
        guest["model"] = draw(st.sampled_from(["virtio", "e1000", "rtl8139"]))
    if draw(st.booleans()):
        guest["queue_size"] = draw(st.sampled_from([64, 256, 1024]))
    if draw(st.booleans()):
        guest["ip"] = draw(st.sampled_from(["198.51.100.5/24", "2001:db8::5/64"]))
    if guest:
        item["guest"] = guest
    return item


@st.composite
def valid_ovs_port(draw, bridge, sockdir):
    """A dpdk port on a net_null vdev, or a dpdkvhostuserclient port (QEMU absent: OVS retries in the background)."""
    number = draw(st.integers(0, 999))
    if draw(st.booleans()):
        item = {"name": "dpdk%d" % number, "bridge": bridge, "type": "dpdk", "devargs": "net_null%d,no-rx=1" % number}
        if draw(st.booleans()):
            item["n_rxq"] = draw(st.integers(1, 4))
        if draw(st.booleans()):
            item["ingress_policing"] = {"rate": draw(st.integers(1, 100000)), "burst": draw(st.integers(1, 10000))}
    else:
        item = {"name": "vhc%d" % number, "bridge": bridge, "type": "dpdkvhostuserclient",
                "vhost_server_path": "%s/vhc%d.sock" % (sockdir, number)}
    if draw(st.booleans()):
        item["mtu_request"] = draw(st.integers(1280, 9000))
    vlan = draw(st.sampled_from([None, "access", "trunk", "native-untagged"]))
    if vlan:
        item["vlan_mode"] = vlan
        if vlan != "trunk":
            item["tag"] = draw(st.integers(1, 4094))
        if vlan != "access":
            item["trunks"] = sorted(set(draw(st.lists(st.integers(1, 4094), min_size=1, max_size=4))))
    if draw(st.booleans()):
        item["external_ids"] = {"vm-id": "vm-%d" % draw(st.integers(0, 99))}
    return item


@st.composite
def valid_hugepages(draw):
    """A pool of the emulated host (2 MiB: room for 600 pages, 1 GiB: 4), in one of its spellings."""
    size = draw(st.sampled_from(["2M", "2048kB", "2m", "1G", "1048576kB", "1024M"]))
    room = 600 if size in ("2M", "2048kB", "2m") else 4
    return {"size": size, "count": draw(st.integers(1, room))}


@st.composite
def valid_pci_binding(draw):
    """A NIC of the emulated host that does not carry the management interface, bound to a loaded driver."""
    address = draw(st.sampled_from(["0000:01:00.0", "01:00.0", "0000:01:00.1", "01:00.1"]))
    return {"address": address, "driver": draw(st.sampled_from(["vfio-pci", "uio_pci_generic"]))}


@st.composite
def valid_ovs_bridge(draw):
    item = {"name": "hvpb" + draw(_SUFFIX)}
    if draw(st.booleans()):
        item["fail_mode"] = draw(st.sampled_from(["standalone", "secure"]))
    if draw(st.booleans()):
        item["other_config"] = {"hwaddr": draw(_LOCAL_MAC)}
    if draw(st.booleans()):
        item["external_ids"] = {"vm-id": "vm-%d" % draw(st.integers(0, 99))}
    return item


@st.composite
def valid_ovs_global(draw):
    """DPDK settings that need no restart to be written (--no-wait): the values are only stored in OVSDB."""
    config = {}
    lcore = draw(st.lists(st.integers(0, 3), max_size=2, unique=True))
    if lcore:
        config["lcore_cores"] = lcore
    pmd = draw(st.lists(st.integers(4, 7), max_size=2, unique=True))
    if pmd:
        config["pmd_cores"] = pmd
    if draw(st.booleans()):
        config["socket_mem"] = [draw(st.sampled_from([0, 512, 1024]))]
        if draw(st.booleans()):
            config["socket_limit"] = [config["socket_mem"][0] + draw(st.sampled_from([0, 1024]))]
    if draw(st.booleans()):
        config["pmd_maxsleep"] = draw(st.integers(0, 10000))
    if draw(st.booleans()):
        config["per_port_memory"] = draw(st.booleans())
    # a key of its own, so that every case changes the row
    config["other_config"] = {"hv-props-case": "c%d" % draw(st.integers(0, 10 ** 6))}
    if draw(st.booleans()):
        config["other_config"]["pmd-rxq-assign"] = draw(st.sampled_from(["cycles", "roundrobin", "group"]))
    return config
