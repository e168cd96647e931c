# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is a gateway reachable? One ICMP echo at a time, bounded in count and time (root only)."""

from __future__ import annotations

import ipaddress
import os
import select
import socket
import struct
import time


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def reachable(address, timeout=5.0, interval=0.2, dev=None):
    """True when `address` answers an ICMP echo within `timeout` seconds.

    `dev` scopes an IPv6 link-local address (the usual IPv6 default gateway).
    """
    ip = ipaddress.ip_address(address)
    v6 = ip.version == 6
    family = socket.AF_INET6 if v6 else socket.AF_INET
    proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    request_type, reply_type = (128, 129) if v6 else (8, 0)
    ident = os.getpid() & 0xFFFF
    deadline = time.monotonic() + timeout
    with socket.socket(family, socket.SOCK_RAW, proto) as sock:
        sequence = 0
        while time.monotonic() < deadline:
            sequence += 1
            header = struct.pack("!BBHHH", request_type, 0, 0, ident, sequence)
            payload = b"hypervisor.networking"
            checksum = 0 if v6 else _checksum(header + payload)  # the kernel fills ICMPv6's
            packet = struct.pack("!BBHHH", request_type, 0, checksum, ident, sequence) + payload
            try:
                if v6 and ip.is_link_local and dev:
                    sock.sendto(packet, (str(ip), 0, 0, socket.if_nametoindex(dev)))
                else:
                    sock.sendto(packet, (str(ip), 0))
            except OSError:
                time.sleep(interval)
                continue
            wait_until = min(deadline, time.monotonic() + interval)
            while time.monotonic() < wait_until:
                ready = select.select([sock], [], [], max(0.0, wait_until - time.monotonic()))[0]
                if not ready:
                    break
                data, source = sock.recvfrom(2048)
                icmp = data if v6 else data[(data[0] & 0x0F) * 4:]
                if len(icmp) >= 8 and icmp[0] == reply_type and struct.unpack("!H", icmp[4:6])[0] == ident \
                        and ipaddress.ip_address(source[0].split("%")[0]) == ip:
                    return True
    return False
