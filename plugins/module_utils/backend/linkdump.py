# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The link and bridge FDB dumps, decoded for the few attributes the snapshot keeps.

pyroute2 decodes every attribute of every message (statistics, per-family configuration...):
about 0.5 ms a link, most of a no-op run with hundreds of taps, each of which also has several
FDB entries. This reads the same dumps on a plain netlink socket and walks only the attributes
`netlink.Netlink.read` uses; the result is what the pyroute2 path built.
"""

from __future__ import annotations

import os
import socket
import struct

NETLINK_ROUTE = 0
RTM_NEWLINK = 16
RTM_GETLINK = 18
RTM_NEWNEIGH = 28
RTM_GETNEIGH = 30
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLM_F_DUMP_INTR = 0x10
NLA_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED / NLA_F_NET_BYTEORDER

IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_LINK = 5
IFLA_MASTER = 10
IFLA_LINKINFO = 18
IFLA_IFALIAS = 20
IFLA_EXT_MASK = 29
IFLA_MAX_MTU = 51
RTEXT_FILTER_SKIP_STATS = 1 << 3  # the dump needs no counters: smaller messages

IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
IFLA_INFO_SLAVE_KIND = 4
IFLA_INFO_SLAVE_DATA = 5

IFLA_TUN_OWNER = 1
IFLA_TUN_GROUP = 2
IFLA_TUN_TYPE = 3
IFLA_TUN_MULTI_QUEUE = 7
IFLA_BR_FORWARD_DELAY = 1
IFLA_BR_STP_STATE = 5
IFLA_MACVLAN_MODE = 1
IFLA_BRPORT_LEARNING = 8
IFLA_BRPORT_UNICAST_FLOOD = 9
IFLA_BRPORT_ISOLATED = 33

NDA_LLADDR = 2
NDA_MASTER = 9
NUD_NOARP = 0x40  # a static bridge FDB entry (`bridge fdb add MAC dev PORT master static`)

IFF_UP = 0x1
IFINFOMSG = struct.Struct("=BxHiII")
NDMSG = struct.Struct("=BxxxiHBB")
NLMSGHDR = struct.Struct("=IHHII")
NLA = struct.Struct("=HH")
MACVTAP_MODES = {1: "private", 2: "vepa", 4: "bridge", 8: "passthru", 16: "source"}
RECV_SIZE = 1 << 20
MAX_RETRIES = 5  # a dump interrupted by a concurrent change is taken again


class LinkDumpError(OSError):
    pass


def attributes(data, offset=0, end=None):
    """{type: payload bytes} of the attributes in data[offset:end] (the first of a repeated type)."""
    end = len(data) if end is None else end
    found = {}
    while offset + 4 <= end:
        length, kind = NLA.unpack_from(data, offset)
        if length < 4:
            break
        found.setdefault(kind & NLA_TYPE_MASK, data[offset + 4:offset + length])
        offset += (length + 3) & ~3
    return found


def _u32(attrs, kind):
    value = attrs.get(kind)
    return struct.unpack_from("=I", value)[0] if value is not None and len(value) >= 4 else None


def _u8(attrs, kind):
    value = attrs.get(kind)
    return value[0] if value else None


def _text(attrs, kind):
    value = attrs.get(kind)
    return value.split(b"\0", 1)[0].decode("utf-8", "replace") if value is not None else None


def link_from_message(data, offset, end):
    """The raw link of one RTM_NEWLINK payload (after the netlink header); names still as indexes."""
    _family, _type, index, flags, _change = IFINFOMSG.unpack_from(data, offset)
    attrs = attributes(data, offset + IFINFOMSG.size, end)
    info = attributes(attrs[IFLA_LINKINFO]) if IFLA_LINKINFO in attrs else None
    kind = _text(info, IFLA_INFO_KIND) if info else None
    address = attrs.get(IFLA_ADDRESS)
    link = {
        "name": _text(attrs, IFLA_IFNAME),
        "index": index,
        "kind": kind,
        "mtu": _u32(attrs, IFLA_MTU),
        "max_mtu": _u32(attrs, IFLA_MAX_MTU),
        "mac": ":".join("%02x" % byte for byte in address) or None if address is not None else None,
        "alias": _text(attrs, IFLA_IFALIAS) or None,
        "up": bool(flags & IFF_UP),
        "master": _u32(attrs, IFLA_MASTER),
        "lower": _u32(attrs, IFLA_LINK),
    }
    data_attrs = attributes(info[IFLA_INFO_DATA]) if info and IFLA_INFO_DATA in info else None
    if kind == "tun" and data_attrs is not None:
        link["tun"] = {
            "type": "tap" if _u8(data_attrs, IFLA_TUN_TYPE) == 2 else "tun",
            "multi_queue": bool(_u8(data_attrs, IFLA_TUN_MULTI_QUEUE)),
            "owner": _u32(data_attrs, IFLA_TUN_OWNER),
            "group": _u32(data_attrs, IFLA_TUN_GROUP),
        }
    elif kind == "macvtap" and data_attrs is not None:
        link["macvtap"] = {"mode": MACVTAP_MODES.get(_u32(data_attrs, IFLA_MACVLAN_MODE), "unknown")}
    elif kind == "bridge" and data_attrs is not None:
        link["bridge"] = {
            "stp": bool(_u32(data_attrs, IFLA_BR_STP_STATE)),
            "delay": (_u32(data_attrs, IFLA_BR_FORWARD_DELAY) or 0) // 100,
        }
    if info and _text(info, IFLA_INFO_SLAVE_KIND) == "bridge" and IFLA_INFO_SLAVE_DATA in info:
        slave = attributes(info[IFLA_INFO_SLAVE_DATA])
        link["brport"] = {
            "isolated": bool(_u8(slave, IFLA_BRPORT_ISOLATED)),
            "learning": bool(_u8(slave, IFLA_BRPORT_LEARNING)),
            "flood": bool(_u8(slave, IFLA_BRPORT_UNICAST_FLOOD)),
        }
    return link


def parse_dump(chunks, decode):
    """[decode(data, offset, end, msg_type)] over the datagrams of one dump; None when the kernel flagged it interrupted."""
    items = []
    interrupted = False
    for data in chunks:
        offset = 0
        while offset + NLMSGHDR.size <= len(data):
            length, kind, flags, _seq, _pid = NLMSGHDR.unpack_from(data, offset)
            if length < NLMSGHDR.size:
                break
            interrupted = interrupted or bool(flags & NLM_F_DUMP_INTR)
            if kind == NLMSG_ERROR:
                code = -struct.unpack_from("=i", data, offset + NLMSGHDR.size)[0]
                if code:
                    raise LinkDumpError(code, "netlink dump failed: %s" % os.strerror(code))
            elif kind != NLMSG_DONE:
                item = decode(data, offset + NLMSGHDR.size, offset + length, kind)
                if item is not None:
                    items.append(item)
            offset += (length + 3) & ~3
    return None if interrupted else items


def _receive(request):
    chunks = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE) as sock:
        sock.bind((0, 0))
        sock.sendall(request)
        while True:
            data = sock.recv(RECV_SIZE)
            if not data:
                break
            chunks.append(data)
            offset = 0
            done = False
            while offset + NLMSGHDR.size <= len(data):
                length, kind = NLMSGHDR.unpack_from(data, offset)[:2]
                if kind in (NLMSG_DONE, NLMSG_ERROR) or length < NLMSGHDR.size:
                    done = True
                    break
                offset += (length + 3) & ~3
            if done:
                break
    return chunks


def _dump(msg_type, body, decode):
    request = NLMSGHDR.pack(NLMSGHDR.size + len(body), msg_type, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body
    for _attempt in range(MAX_RETRIES):
        items = parse_dump(_receive(request), decode)
        if items is not None:
            return items
    raise LinkDumpError(0, "a netlink dump was interrupted by concurrent changes %d times" % MAX_RETRIES)


def _link(data, offset, end, kind):
    return link_from_message(data, offset, end) if kind == RTM_NEWLINK else None


def _static_fdb(data, offset, end, kind):
    if kind != RTM_NEWNEIGH:
        return None
    _family, ifindex, state, _flags, _type = NDMSG.unpack_from(data, offset)
    if state != NUD_NOARP:
        return None
    attrs = attributes(data, offset + NDMSG.size, end)
    if NDA_MASTER not in attrs or NDA_LLADDR not in attrs:
        return None
    return ifindex, ":".join("%02x" % byte for byte in attrs[NDA_LLADDR])


def dump_links():
    """{name: link} of every link of this network namespace, master/lower as names."""
    body = IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + NLA.pack(8, IFLA_EXT_MASK) + struct.pack("=I", RTEXT_FILTER_SKIP_STATS)
    by_index = {link["index"]: link for link in _dump(RTM_GETLINK, body, _link)}
    names = {index: link["name"] for index, link in by_index.items()}
    links = {}
    for link in by_index.values():
        link["master"] = names.get(link["master"])
        link["lower"] = names.get(link["lower"])
        links[link["name"]] = link
    return links


def dump_static_fdb():
    """[(port ifindex, mac)] of the static FDB entries added towards a bridge port, in dump order."""
    return _dump(RTM_GETNEIGH, NDMSG.pack(socket.AF_BRIDGE, 0, 0, 0, 0), _static_fdb)
