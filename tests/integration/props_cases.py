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


# ---- sriov_pool (emulated SR-IOV PF) ------------------------------------------------------------------
# the emulated PF of the worker (EMULATED_SYSFS in test_properties.py): enp3s0f0 at 0000:03:00.0, 8 VFs at most
SRIOV_FULL_ATTRIBUTES = {"vlan": 100, "qos": 3, "vlan_proto": "802.1Q", "spoofchk": True, "trust": False, "min_tx_rate": 10,
                         "max_tx_rate": 1000, "link_state": "auto"}
SRIOV_BASES = [
    {"pf": "enp3s0f0", "num_vfs": 4, "driver": "vfio-pci", "eswitch_mode": "legacy", "allow_vf_reset": False,
     "libvirt_network": "vf-pool0", "vf_defaults": dict(SRIOV_FULL_ATTRIBUTES),
     "vf_groups": [{"range": "2-3", "driver": "iavf", "vlan": 200, "qos": 5, "vlan_proto": "802.1ad", "spoofchk": False, "trust": True,
                    "min_tx_rate": 0, "max_tx_rate": 500, "link_state": "enable"}],
     "vfs": [{"index": 0, "mac": "52:54:00:00:01:00", "driver": "vfio-pci", "vlan": 10, "qos": 1, "vlan_proto": "802.1Q", "spoofchk": True,
              "trust": True, "min_tx_rate": 1, "max_tx_rate": 100, "link_state": "disable"}, {"index": 1, "mac": "52:54:00:00:01:01"}]},
    {"pci_address": "0000:03:00.0", "num_vfs": 2},
    {"pf": "enp3s0f0", "pci_address": "03:00.0", "num_vfs": 8, "vf_groups": [{"range": "0"}, {"range": "1-7", "vlan": 7}]},
    {"pf": "enp3s0f0", "num_vfs": 0},
]
VF_RANGE_BAD = ["", "a", "3-1", "-1", "1-", "1--2", "1,2", " 1", "1 ", "1 - 2", "0x1", "1.5", "99999", "0-99999", "1-2-3", "\u0661"]
PCI_DRIVER_BAD = NAME_BAD + ["x" * 65, "vfio pci"]
SRIOV_VALUES = {
    "config.pf": lambda s: ifname_bad("enp3s0f0"),
    "config.pci_address": lambda s: st.one_of(st.sampled_from(PCI_BAD), _with_control("0000:03:00.0"), _with_meta("0000:03:00.0")),
    "config.num_vfs": lambda s: int_bad(0, 65535),
    "config.driver": lambda s: st.one_of(st.sampled_from(PCI_DRIVER_BAD), _with_control("vfio-pci"), _with_meta("vfio-pci")),
    "config.eswitch_mode": lambda s: choice_bad(["legacy", "switchdev"]),
    "config.allow_vf_reset": lambda s: bool_bad(),
    "config.libvirt_network": lambda s: st.one_of(st.sampled_from(NAME_BAD + ["x" * 16, ".pool"]), _with_control("vf-pool0"),
                                                  _with_meta("vf-pool0", exclude=(".", "_"))),
    "config.vf_groups.range": lambda s: st.one_of(st.sampled_from(VF_RANGE_BAD), _with_control("2-3")),
    "config.vfs.index": lambda s: int_bad(0, 65534),
    "config.vfs.mac": lambda s: mac_bad(),
}
for _holder in ("vf_defaults", "vf_groups", "vfs"):
    SRIOV_VALUES.update({
        "config.%s.vlan" % _holder: lambda s: int_bad(0, 4095),
        "config.%s.qos" % _holder: lambda s: int_bad(0, 7),
        "config.%s.vlan_proto" % _holder: lambda s: choice_bad(["802.1Q", "802.1ad"]),
        "config.%s.spoofchk" % _holder: lambda s: bool_bad(),
        "config.%s.trust" % _holder: lambda s: bool_bad(),
        "config.%s.min_tx_rate" % _holder: lambda s: int_bad(0, 2 ** 32 - 1),
        "config.%s.max_tx_rate" % _holder: lambda s: int_bad(0, 2 ** 32 - 1),
        "config.%s.link_state" % _holder: lambda s: choice_bad(["auto", "enable", "disable"]),
    })
    if _holder != "vf_defaults":
        SRIOV_VALUES["config.%s.driver" % _holder] = SRIOV_VALUES["config.driver"]


def _pool(**fields):
    item = {"pf": "enp3s0f0", "num_vfs": 4}
    item.update(fields)
    return _compact(item)


def _sriov_contradictions():
    holders = st.sampled_from([("vf_defaults", None), ("vf_groups", {"range": "1-2"}), ("vfs", {"index": 2})])

    def placed(holder, attributes):
        """`attributes` in vf_defaults, a group or a VF -> (pool fields, path of the holder)."""
        name, entry = holder
        if entry is None:
            return {name: attributes}, "config[0].%s" % name
        return {name: [dict(entry, **attributes)]}, "config[0].%s[0]" % name

    def attribute_case(attributes, field, label):
        return holders.map(lambda holder: (placed(holder, attributes))).map(lambda o: case(
            [_pool(**o[0])], ["%s.%s" % (o[1], field)], label, "config.%s" % field))

    return [
        lambda: st.integers(1, 7).flatmap(lambda qos: attribute_case({"qos": qos}, "qos", "qos_without_vlan")),
        lambda: st.sampled_from([{}, {"vlan": 0}]).flatmap(lambda vlan: attribute_case(
            dict(vlan, vlan_proto="802.1ad"), "vlan_proto", "802.1ad_without_vlan")),
        lambda: st.tuples(st.integers(1, 10000), st.integers(1, 10000)).flatmap(lambda o: attribute_case(
            {"min_tx_rate": o[0] + o[1], "max_tx_rate": o[0]}, "min_tx_rate", "min_rate_above_max_rate")),
        lambda: st.tuples(st.integers(0, 8), st.integers(0, 3)).map(lambda o: case(
            [_pool(num_vfs=o[0], vfs=[{"index": o[0] + o[1]}])], ["config[0].vfs[0].index"], "vf_index_not_below_num_vfs",
            "config.vfs.index")),
        lambda: st.integers(0, 3).map(lambda index: case(
            [_pool(vfs=[{"index": index}, {"index": index, "trust": True}])], ["config[0].vfs[1].index"], "vf_listed_twice",
            "config.vfs.index")),
        lambda: st.sampled_from([("0-3", "3"), ("0-1", "1-2"), ("2", "0-3"), ("1-2", "2")]).map(lambda o: case(
            [_pool(vf_groups=[{"range": o[0]}, {"range": o[1], "vlan": 5}])], ["config[0].vf_groups[1].range"], "overlapping_groups",
            "config.vf_groups.range")),
        lambda: st.sampled_from(["3-4", "4", "0-7", "5-9"]).map(lambda rng: case(
            [_pool(vf_groups=[{"range": rng}])], ["config[0].vf_groups[0].range"], "group_beyond_num_vfs", "config.vf_groups.range")),
        lambda: st.sampled_from([{"num_vfs": 2}, {"num_vfs": 2, "driver": "vfio-pci"}, {"vfs": [{"index": 0}]}]).map(lambda item: case(
            [item], ["config[0]"], "neither_pf_nor_pci_address", "config")),
        config_wrong_type(),
    ]


SRIOV = {"bases": SRIOV_BASES, "values": SRIOV_VALUES, "free_text": set(), "contradictions": _sriov_contradictions()}


# ---- vm_network, backend libvirt, state rendered: the libvirt-only fields ----------------------------------
LV_UUID = "3e3fce45-4f53-4fa7-bb32-11f34168b82b"
LV_BANDWIDTH = {"inbound": {"average": 1000, "peak": 5000, "burst": 5120, "floor": 100}, "outbound": {"average": 128, "peak": 256, "burst": 256}}
LV_POOL = {"name": "hvlvpool0", "uuid": LV_UUID, "trust_guest_rx_filters": True, "autostart": True,
           "forward": {"mode": "private", "dev": "eth20", "interfaces": ["eth20", "eth21"]},
           "portgroups": [{"name": "engineering", "default": True,
                           "virtualport": {"type": "802.1Qbh", "parameters": {"profile_id": "test"}}},
                          {"name": "sales", "trust_guest_rx_filters": False, "virtualport": {"type": "802.1Qbh", "parameters": {"profile_id": "s"}}}]}
LV_HOSTDEV = {"name": "hvlvvfs", "forward": {"mode": "hostdev", "managed": False, "driver": "kvm", "addresses": ["0000:04:10.7", "04:10.6"]},
              "vlan": {"tags": [{"id": 42}]},
              "virtualport": {"type": "802.1Qbg", "parameters": {"manager_id": 11, "type_id": 1193047, "type_id_version": 2,
                                                                 "instance_id": "09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f"}}}
LV_OVS = {"name": "hvlvovs", "forward": {"mode": "bridge"}, "bridge": {"name": "ovsbr0"},
          "virtualport": {"type": "openvswitch", "parameters": {"interface_id": LV_UUID, "profile_id": "p1"}},
          "vlan": {"trunk": True, "tags": [{"id": 42}, {"id": 47, "native_mode": "untagged"}]},
          "portgroups": [{"name": "vlan-42", "default": True, "vlan": {"tags": [{"id": 42, "native_mode": "tagged"}]}},
                         {"name": "other", "bandwidth": LV_BANDWIDTH,
                          "virtualport": {"type": "openvswitch", "parameters": {"profile_id": "p2"}}}]}
LV_NAT = {"name": "hvlvnat", "forward": {"mode": "nat", "nat": {"addresses": {"start": "203.0.113.10", "end": "203.0.113.20"}}},
          "bridge": {"name": "virbr9", "zone": "libvirt", "stp": False, "delay": 0},
          "ips": [{"address": "198.51.100.1", "prefix": 24, "local_ptr": True,
                   "dhcp": {"ranges": [{"start": "198.51.100.100", "end": "198.51.100.199", "lease": {"expiry": 1, "unit": "hours"}}],
                            "hosts": [{"mac": "52:54:00:00:00:01", "name": "a", "ip": "198.51.100.10", "lease": {"expiry": 0}}]}}],
          "domain": {"name": "example.test"},
          "dns": {"srv": [{"service": "ldap", "protocol": "tcp", "domain": "example.test", "target": "a.example.test", "port": 389,
                           "priority": 10, "weight": 5}],
                  "txt": [{"name": "info", "value": "hello world"}]}}
LV_ISOLATED = {"name": "hvlviso", "ipv6": True, "bridge": {"name": "virbr8", "zone": "trusted"}, "uuid": LV_UUID.replace("-", "")}
LV_PASSTHROUGH = {"name": "hvlvpt", "forward": {"mode": "passthrough", "pf": "enp3s0f0"}, "vlan": {"tags": [{"id": 7}]}}
LV_VFPOOL = {"name": "hvlvvfpool", "forward": {"mode": "hostdev", "pf": "enp3s0f0", "managed": True, "driver": "vfio"}}
LIBVIRT_BASES = [LV_POOL, LV_HOSTDEV, LV_OVS, LV_NAT, LV_ISOLATED, LV_PASSTHROUGH, LV_VFPOOL]
UUID_BAD = ["", "nope", LV_UUID[:-1], LV_UUID + "0", LV_UUID.replace("3", "g"), "{%s}" % LV_UUID, LV_UUID.replace("-", ":"),
            "3e3fce45--4f53-4fa7-bb32-11f34168b82b", "%s;reboot" % LV_UUID]
LV_PCI_BAD = ["", "zz", "4:20.1", "0000:04:20.8", "0000:04:20", "0000:04:20.1.1", "00000:04:20.1", "0000:004:20.1", "0000:04:20.1;x",
              "../0000:04:20.1", " 0000:04:20.1"]
LIBVIRT_VALUES = dict(NETWORK_VALUES)
LIBVIRT_VALUES.update({
    "config.forward.mode": lambda s: choice_bad(["isolated", "bridge", "nat", "route", "open", "private", "vepa", "passthrough", "hostdev"]),
    "config.forward.interfaces": lambda s: bad_element(ifname_bad(), "eth2%d" % len(s.parent.get("interfaces") or [])),
    "config.forward.pf": lambda s: ifname_bad("enp3s0f0"),
    "config.forward.addresses": lambda s: bad_element(st.one_of(st.sampled_from(LV_PCI_BAD), _with_control("0000:04:10.5")), "0000:04:11.0"),
    "config.forward.driver": lambda s: choice_bad(["vfio", "kvm"]),
    "config.forward.managed": lambda s: bool_bad(),
    "config.bridge.zone": lambda s: st.one_of(st.sampled_from(["", "a zone", "x" * 18, "a.b", "\u00e4"]), _with_control("libvirt"),
                                              _with_meta("libvirt", exclude=("-",))),
    "config.ips.local_ptr": lambda s: bool_bad(),
    "config.ips.dhcp.ranges.lease.expiry": lambda s: int_bad(0, 2 ** 32 - 1),
    "config.ips.dhcp.ranges.lease.unit": lambda s: choice_bad(["seconds", "minutes", "hours"]),
    "config.ips.dhcp.hosts.lease.expiry": lambda s: int_bad(0, 2 ** 32 - 1),
    "config.ips.dhcp.hosts.lease.unit": lambda s: choice_bad(["seconds", "minutes", "hours"]),
    "config.uuid": lambda s: st.one_of(st.sampled_from(UUID_BAD), _with_control(LV_UUID)),
    "config.ipv6": lambda s: bool_bad(),
    "config.trust_guest_rx_filters": lambda s: bool_bad(),
    "config.autostart": lambda s: bool_bad(),
})
for _prefix in ("config", "config.portgroups"):
    LIBVIRT_VALUES.update({
        _prefix + ".vlan.trunk": lambda s: bool_bad(),
        _prefix + ".vlan.tags.id": lambda s: int_bad(0, 4095),
        _prefix + ".vlan.tags.native_mode": lambda s: choice_bad(["tagged", "untagged"]),
        _prefix + ".virtualport.type": lambda s: choice_bad(["openvswitch", "802.1Qbg", "802.1Qbh", "midonet"]),
        _prefix + ".virtualport.parameters.interface_id": lambda s: st.one_of(st.sampled_from(UUID_BAD), _with_control(LV_UUID)),
        _prefix + ".virtualport.parameters.instance_id": lambda s: st.one_of(st.sampled_from(UUID_BAD), _with_control(LV_UUID)),
        _prefix + ".virtualport.parameters.profile_id": lambda s: st.one_of(st.sampled_from(["", "x" * 40, "\u00e9t\u00e9"]),
                                                                            _with_control("test")),
        _prefix + ".virtualport.parameters.manager_id": lambda s: int_bad(0, 255),
        _prefix + ".virtualport.parameters.type_id": lambda s: int_bad(0, 0xFFFFFF),
        _prefix + ".virtualport.parameters.type_id_version": lambda s: int_bad(0, 255),
    })
LIBVIRT_VALUES.update({
    "config.portgroups.name": lambda s: st.one_of(st.sampled_from(["", "a b", "a/b", "x" * 65, "a;b", "$(id)", "\u00e4"]),
                                                  _with_control("sales")),
    "config.portgroups.default": lambda s: bool_bad(),
    "config.portgroups.trust_guest_rx_filters": lambda s: bool_bad(),
})
for _direction in ("inbound", "outbound"):
    for _rate in ("average", "peak", "burst") + (("floor",) if _direction == "inbound" else ()):
        LIBVIRT_VALUES["config.portgroups.bandwidth.%s.%s" % (_direction, _rate)] = lambda s: int_bad(1, 2 ** 32 - 1)
# a profile id is any printable ASCII: the repr of a list or dict is one
LIBVIRT_FREE_TEXT = NETWORK_FREE_TEXT | {"config.virtualport.parameters.profile_id", "config.portgroups.virtualport.parameters.profile_id"}


def _libvirt_contradictions():
    return [
        lambda: st.sampled_from(["private", "vepa", "passthrough", "bridge"]).map(lambda mode: case(
            [{"name": "hvlvc", "forward": {"mode": mode, "dev": "eth1", "interfaces": ["eth0", "eth1"]}}], ["config[0].forward.dev"],
            "dev_not_first_of_interfaces", "config.forward.dev")),
        lambda: st.sampled_from(["nat", "route", "isolated", "open", "hostdev"]).map(lambda mode: case(
            [{"name": "hvlvc", "forward": {"mode": mode, "interfaces": ["eth0"]}}], ["config[0].forward.interfaces"],
            "nic_pool_without_macvtap_mode", "config.forward.interfaces")),
        lambda: st.sampled_from(["nat", "route", "private", "bridge"]).flatmap(lambda mode: st.sampled_from(["managed", "driver"]).map(
            lambda field: case([{"name": "hvlvc", "forward": _compact({"mode": mode, "dev": "eth0" if mode in ("private",) else None,
                                                                       field: True if field == "managed" else "vfio"})}],
                               ["config[0].forward.%s" % field], "hostdev_field_without_hostdev", "config.forward." + field))),
        lambda: st.just(case([{"name": "hvlvc", "forward": {"mode": "hostdev", "pf": "eth0"}, "bridge": {"name": "br0"}}],
                             ["config[0].bridge"], "hostdev_with_bridge", "config.bridge")),
        lambda: st.sampled_from(["passthrough", "hostdev"]).map(lambda mode: case(
            [{"name": "hvlvc", "forward": {"mode": mode}}], ["config[0].forward"], "pool_missing", "config.forward")),
        lambda: st.sampled_from(["04:00.1", "0000:04:00.1", "0:4:0.1"]).map(lambda again: case(
            [{"name": "hvlvc", "forward": {"mode": "hostdev", "addresses": ["0000:04:00.1", again]}}], ["config[0].forward.addresses[1]"],
            "address_twice", "config.forward.addresses")),
        lambda: st.lists(st.integers(0, 4095), min_size=2, max_size=4, unique=True).map(lambda ids: case(
            [{"name": "hvlvc", "forward": {"mode": "passthrough", "pf": "eth0"}, "vlan": {"trunk": False, "tags": [{"id": i} for i in ids]}}],
            ["config[0].vlan.trunk"], "several_tags_without_trunk", "config.vlan.trunk")),
        lambda: st.sampled_from([{"bridge": {"name": "br0"}, "forward": {"mode": "bridge"}}, {"forward": {"mode": "private", "dev": "eth0"}},
                                 {"forward": {"mode": "nat"}}]).map(lambda item: case(
                                     [dict(item, name="hvlvc", vlan={"tags": [{"id": 3}]})], ["config[0].vlan"], "vlan_where_nothing_tags",
                                     "config.vlan")),
        lambda: st.sampled_from(["manager_id", "type_id", "instance_id"]).map(lambda key: case(
            [{"name": "hvlvc", "forward": {"mode": "bridge"}, "bridge": {"name": "br0"},
              "virtualport": {"type": "openvswitch", "parameters": {key: LV_UUID if key == "instance_id" else 3}}}],
            ["config[0].virtualport.parameters.%s" % key], "parameter_of_another_virtualport_type", "config.virtualport.parameters")),
        lambda: st.sampled_from(["a", "pg.1"]).map(lambda name: case(
            [dict(LV_POOL, portgroups=[{"name": name}, {"name": name, "trust_guest_rx_filters": True}])], ["config[0].portgroups[1].name"],
            "portgroup_twice", "config.portgroups.name")),
        lambda: st.just(case([dict(LV_POOL, portgroups=[{"name": "a", "default": True}, {"name": "b", "default": True}])],
                             ["config[0].portgroups[1].default"], "two_default_portgroups", "config.portgroups.default")),
        lambda: st.integers(1, 1000).map(lambda floor: case(
            [dict(LV_OVS, portgroups=[{"name": "a", "bandwidth": {"outbound": {"average": 10, "floor": floor}}}])],
            ["config[0].portgroups[0].bandwidth.outbound.floor"], "outbound_floor", "config.portgroups.bandwidth")),
        lambda: st.sampled_from(["bridge", "private", "hostdev"]).map(lambda mode: case(
            [{"name": "hvlvc", "forward": _compact({"mode": mode, "pf": "eth0" if mode != "bridge" else None}),
              "bridge": {"name": "br0", "zone": "trusted"} if mode == "bridge" else {"zone": "trusted"}}],
            ["config[0].bridge.zone", "config[0].bridge"], "zone_without_libvirt_bridge", "config.bridge.zone")),
        config_wrong_type(),
    ]


# state rendered opens no backend (a case that did would be reported at stage "host"): one dump in 20 cases
NETWORK_LIBVIRT = {"bases": LIBVIRT_BASES, "values": LIBVIRT_VALUES, "free_text": LIBVIRT_FREE_TEXT,
                   "contradictions": _libvirt_contradictions(), "fingerprint_every": 20}


# ---- iommu_info (emulated IOMMU tree; no config: its options are lists at the top) ----------------------
IOMMU_BASES = [{"devices": ["0000:02:00.0", "eth3"], "modules": ["vfio_pci", "vfio"], "kernel_args": ["intel_iommu=on", "iommu=pt"]},
               {"devices": ["01:00.0"]}, {"devices": ["eth0", "0000:06:00.0", "eth5"], "kernel_args": ["amd_iommu=on"]}, {}]
IOMMU_VALID_ELEMENTS = {"devices": "eth2", "modules": "vfio_iommu_type1", "kernel_args": "vfio-pci.ids=8086:10fb"}
KERNEL_ARG_BAD = ["", "-x", "=on", ".x", "a b", "a;b", "a|b", "$(id)", "`id`", "a\"b", "a'b", "a\\b", "\u00e4", "a*", "a>b", "a&b"]
MODULE_NAME_BAD = ["", "a b", "a.b", "a/b", "a;b", "$(id)", "-", "a=b", "\u00e4", "a,b", "a:b", "a+b"]
# a device is a PCI address or else an interface name: a bad PCI address that is a good interface name (0000-01-00.0) is one
IOMMU_PCI_BAD = [value for value in PCI_BAD if not re.fullmatch(r"[A-Za-z0-9_.+][A-Za-z0-9_.+-]{0,14}", value)]
IOMMU_ELEMENTS_BAD = {
    "devices": lambda: st.one_of(ifname_bad(), st.sampled_from(IOMMU_PCI_BAD), _with_control("0000:02:00.0")),
    "modules": lambda: st.one_of(st.sampled_from(MODULE_NAME_BAD), _with_control("vfio_pci"), _with_meta("vfio_pci")),
    "kernel_args": lambda: st.one_of(st.sampled_from(KERNEL_ARG_BAD), _with_control("intel_iommu=on"), _with_meta("intel_iommu=on",
                                                                                                                  exclude=tuple("=,:/"))),
}
IOMMU_WRONG_TYPES = [{"a": 1}, [{"a": 1}], [["x"]], [["eth0", "eth1"]], [{"a": "b"}]]


@st.composite
def iommu_fault(draw):
    """The module's options with one fault: a bad element of one of its lists, a list of the wrong type, an unknown option.
    Paths have no `config`: devices[1], kernel_args[0]."""
    base = copy.deepcopy(draw(st.sampled_from(IOMMU_BASES)))
    kind = draw(st.sampled_from(["bad_value"] * 6 + ["wrong_type"] * 2 + ["unknown"]))
    option = draw(st.sampled_from(sorted(IOMMU_ELEMENTS_BAD)))
    if kind == "unknown":
        key = draw(st.sampled_from([option + "s", option[:-1], option.upper(), "x" + option, "foo", "device", "config"]))
        base[key] = ["x"]
        return Case(base, (key,), "unknown_option", key)
    if kind == "wrong_type":
        base[option] = draw(st.sampled_from(IOMMU_WRONG_TYPES))
        return Case(base, (option,), "wrong_type:" + option, option)
    valid = list(base.get(option) or [IOMMU_VALID_ELEMENTS[option]])
    index = draw(st.integers(0, len(valid)))
    valid.insert(index, draw(IOMMU_ELEMENTS_BAD[option]()))
    base[option] = valid
    return Case(base, ("%s[%d]" % (option, index),), "bad_value:" + option, option)


# iommu_info only reads: a dump per case would prove little and cost ~25 ms (the batch's dumps before and after still compare)
IOMMU = {"bases": IOMMU_BASES, "strategy": iommu_fault, "fingerprint_every": 20}


MODULE_CASES = {"vm_network": NETWORK, "vm_interface": INTERFACE, "ovs_dpdk_port": OVS, "ovs_dpdk_bridge": BRIDGE,
                "ovs_dpdk_global": GLOBAL, "hugepages": HUGEPAGES, "pci_driver": PCI,
                "sriov_pool": SRIOV, "vm_network_libvirt": NETWORK_LIBVIRT, "iommu_info": IOMMU}


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


@st.composite
def valid_sriov_pool(draw):
    """VFs of the emulated PF (enp3s0f0 at 0000:03:00.0, 8 VFs at most), named either way, with drivers and attributes."""
    item = dict(draw(st.sampled_from([{"pf": "enp3s0f0"}, {"pci_address": "0000:03:00.0"}, {"pci_address": "03:00.0"},
                                      {"pf": "enp3s0f0", "pci_address": "0000:03:00.0"}])))
    count = draw(st.integers(1, 8))
    item["num_vfs"] = count
    if draw(st.booleans()):
        item["driver"] = draw(st.sampled_from(["vfio-pci", "iavf"]))
    if draw(st.booleans()):
        # legacy, the PF's mode: state deleted leaves the eswitch mode as it is (switchdev would stay behind)
        item["eswitch_mode"] = "legacy"
    if draw(st.booleans()):
        item["vf_defaults"] = {"vlan": draw(st.integers(1, 4095)), "qos": draw(st.integers(0, 7)), "spoofchk": draw(st.booleans()),
                               "trust": draw(st.booleans())}
    if count > 1 and draw(st.booleans()):
        first = draw(st.integers(1, count - 1))
        item["vf_groups"] = [{"range": "%d-%d" % (first, count - 1), "driver": draw(st.sampled_from(["vfio-pci", "iavf"])),
                              "max_tx_rate": draw(st.integers(0, 10000)), "link_state": draw(st.sampled_from(["auto", "enable", "disable"]))}]
    if draw(st.booleans()):
        item["vfs"] = [{"index": 0, "mac": draw(_LOCAL_MAC), "vlan": draw(st.integers(1, 4095)),
                        "vlan_proto": draw(st.sampled_from(["802.1Q", "802.1ad"]))}]
    return item
