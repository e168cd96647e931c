# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SR-IOV VF attributes through rtnetlink (pyroute2): the one place that reads and sets them.

The kernel reports a PF's VFs in its link message (IFLA_VFINFO_LIST, asked for with
RTEXT_FILTER_VF) and takes changes as an RTM_NEWLINK on the PF carrying one IFLA_VF_INFO per VF.
A link message grows by some 200 bytes per VF: a PF with more than 100 VFs sends one message
larger than the 16 or 32 KiB buffers many netlink clients read with (iproute2's old
"message truncated"), so the socket gets a large receive buffer and each link is asked for
alone (`get`, not a dump of every link).
"""

from __future__ import annotations

from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError

try:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError
    HAS_PYROUTE2 = True
except ImportError:  # reported when the module needs netlink
    IPRoute = None
    NetlinkError = OSError
    HAS_PYROUTE2 = False

RTEXT_FILTER_VF = 1
RECEIVE_BUFFER = 8 * 1024 * 1024  # room for several link messages of a few hundred VFs each
ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8
VLAN_PROTO_NAMES = {ETH_P_8021Q: "802.1Q", ETH_P_8021AD: "802.1ad"}
VLAN_PROTO_NUMBERS = {name: number for number, name in VLAN_PROTO_NAMES.items()}
LINK_STATE_NAMES = {0: "auto", 1: "enable", 2: "disable"}  # IFLA_VF_LINK_STATE_AUTO, _ENABLE, _DISABLE
LINK_STATE_NUMBERS = {name: number for number, name in LINK_STATE_NAMES.items()}
UNSUPPORTED = 2 ** 32 - 1  # spoofchk/trust a driver does not report come as (u32) -1


def parse_vfinfo_list(link):
    """[{index, mac, vlan, qos, vlan_proto, spoofchk, trust, min_tx_rate, max_tx_rate, link_state}] of a
    decoded ifinfmsg (pyroute2's class), sorted by VF index. An attribute the driver does not
    report is left out."""
    vflist = link.get_attr("IFLA_VFINFO_LIST")
    result = []
    for info in (vflist.get_attrs("IFLA_VF_INFO") if vflist is not None else []):
        vf = {}
        mac = info.get_attr("IFLA_VF_MAC")
        if mac is not None:
            vf["index"] = mac["vf"]
            vf["mac"] = mac["mac"]
        vlan = info.get_attr("IFLA_VF_VLAN")
        if vlan is not None:
            vf["index"] = vlan["vf"]
            vf["vlan"], vf["qos"], vf["vlan_proto"] = vlan["vlan"], vlan["qos"], "802.1Q"
        vlan_list = info.get_attr("IFLA_VF_VLAN_LIST")
        entries = vlan_list.get_attrs("IFLA_VF_VLAN_INFO") if vlan_list is not None else []
        if entries:
            vf["vlan"], vf["qos"] = entries[0]["vlan"], entries[0]["qos"]
            vf["vlan_proto"] = VLAN_PROTO_NAMES.get(entries[0]["proto"], "0x%04x" % entries[0]["proto"])
        for attr, key in (("IFLA_VF_SPOOFCHK", "spoofchk"), ("IFLA_VF_TRUST", "trust")):
            value = info.get_attr(attr)
            if value is not None and value[key] != UNSUPPORTED:
                vf[key] = bool(value[key])
        rate = info.get_attr("IFLA_VF_RATE")
        if rate is not None:
            vf["min_tx_rate"], vf["max_tx_rate"] = rate["min_tx_rate"], rate["max_tx_rate"]
        state = info.get_attr("IFLA_VF_LINK_STATE")
        if state is not None:
            vf["link_state"] = LINK_STATE_NAMES.get(state["link_state"], str(state["link_state"]))
        if "index" in vf:
            result.append(vf)
    return sorted(result, key=lambda vf: vf["index"])


def vf_request(index, attributes):
    """The `vf` argument of pyroute2's link('set', index=PF, vf=...) that sets `attributes` (only the
    keys given) of VF `index`. A VLAN goes as IFLA_VF_VLAN_LIST when its protocol is given (the
    only form that carries 802.1ad), else as IFLA_VF_VLAN, which every driver takes."""
    spec = {"vf": index}
    if "mac" in attributes:
        spec["mac"] = attributes["mac"]
    if "vlan" in attributes or "qos" in attributes or "vlan_proto" in attributes:
        vlan = {"vlan": attributes.get("vlan") or 0, "qos": attributes.get("qos") or 0}
        if attributes.get("vlan_proto") == "802.1ad":
            spec["vlan"] = [dict(vlan, proto=ETH_P_8021AD)]
        else:
            spec["vlan"] = vlan
    if "min_tx_rate" in attributes or "max_tx_rate" in attributes:
        spec["rate"] = {"min_tx_rate": attributes.get("min_tx_rate") or 0, "max_tx_rate": attributes.get("max_tx_rate") or 0}
    for key in ("spoofchk", "trust"):
        if key in attributes:
            spec[key] = int(bool(attributes[key]))
    if "link_state" in attributes:
        spec["link_state"] = LINK_STATE_NUMBERS[attributes["link_state"]]
    return spec


class VfNetlink:
    """One rtnetlink socket for the VFs of the PFs of one call (in the caller's network namespace)."""

    def __init__(self, ipr_factory=None):
        self._ipr_factory = ipr_factory or _open_iproute
        self._ipr = None

    @property
    def ipr(self):
        if self._ipr is None:  # opened on first use: a call on PFs without VFs needs no socket
            self._ipr = self._ipr_factory()
        return self._ipr

    def close(self):
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None

    def _index(self, ifname):
        found = self.ipr.link_lookup(ifname=ifname)
        if not found:
            raise HostError("there is no network interface %s (the PF) in this network namespace" % ifname)
        return found[0]

    def read_vfs(self, ifname):
        """The VFs of PF `ifname` as parse_vfinfo_list gives them."""
        try:
            links = self.ipr.link("get", index=self._index(ifname), ext_mask=RTEXT_FILTER_VF)
        except NetlinkError as exc:
            raise HostError("reading the VFs of %s failed: %s" % (ifname, exc)) from exc
        return parse_vfinfo_list(links[0]) if links else []

    def set_vf(self, ifname, index, attributes):
        """Set `attributes` of VF `index` of PF `ifname`; the driver's refusal names the attributes."""
        try:
            self.ipr.link("set", index=self._index(ifname), vf=vf_request(index, attributes))
        except NetlinkError as exc:
            raise HostError("setting %s of VF %d of %s failed: %s (does the NIC's driver support them?)"
                            % (", ".join(sorted(attributes)), index, ifname, exc)) from exc

    def addresses(self):
        """{ifname: [addresses]} of every interface holding an address (for 'VF in use')."""
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in self.ipr.get_links()}
        result = {}
        for message in self.ipr.get_addr():
            name = names.get(message["index"])
            if name:
                result.setdefault(name, []).append(message.get_attr("IFA_ADDRESS"))
        return result


def _open_iproute():
    if not HAS_PYROUTE2:
        raise HostError("the Python library pyroute2 is required on the managed host for SR-IOV VF attributes")
    return IPRoute(rcvbuf=RECEIVE_BUFFER)
