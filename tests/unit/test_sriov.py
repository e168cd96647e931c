"""sriov_pool without a host: value checks, the resolution of VF attributes, VF addresses, the
udev rule, and the netlink VF messages at the encoding level.

No SR-IOV hardware exists here. The netlink tests build and read messages with pyroute2's own
classes (ifinfmsg, and the request filter behind IPRoute.link('set', vf=...)), encode them to
bytes and decode them again, as they cross the socket; what is emulated is only the kernel's
side (which VF attributes it would report)."""

from __future__ import annotations

import os
import re

import pytest
import yaml
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.requests.link import LinkIPRouteFilter

from ansible_collections.hypervisor.networking.plugins.module_utils import persist
from ansible_collections.hypervisor.networking.plugins.module_utils.backend import libvirt as backend_libvirt
from ansible_collections.hypervisor.networking.plugins.module_utils.backend import sriov as backend_sriov
from ansible_collections.hypervisor.networking.plugins.module_utils.backend import vf_netlink
from ansible_collections.hypervisor.networking.plugins.module_utils.engine import converge
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError, ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.model import sriov as m
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.sriov import SriovPoolResource


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _rendered(item):
    return converge(SriovPoolResource(), {"state": "rendered", "config": [item]}, check_mode=False)["rendered"][0]


def _problems(config, state="rendered"):
    with pytest.raises(ValidationError) as caught:
        converge(SriovPoolResource(), {"state": state, "config": config}, check_mode=False)
    return str(caught.value)


def test_every_value_problem_in_one_message_with_its_field():
    message = _problems([{
        "pf": "enp1s0f0", "num_vfs": 4,
        "vf_defaults": {"vlan": 4096, "qos": 3},
        "vf_groups": [{"range": "0-5"}, {"range": "1-2"}, {"range": "3-1"}],
        "vfs": [{"index": 4, "mac": "01:00:5e:00:00:01"}, {"index": 1, "mac": "00:00:00:00:00:00"},
                {"index": 1}, {"index": 2, "min_tx_rate": 200, "max_tx_rate": 100}],
    }])
    for expected in (
        "config[0].vf_defaults.vlan: 4096 is outside the allowed range 0..4095",
        "config[0].vfs[0].mac: '01:00:5e:00:00:01' is a multicast MAC address",
        "config[0].vfs[1].mac: the all-zero MAC address cannot be assigned",
        "config[0].vfs[2].index: VF 1 is listed twice (also config[0].vfs[1])",
        "config[0].vf_groups[2].range: '3-1' is not a VF range",
    ):
        assert expected in message, message


def test_a_range_beyond_the_largest_vf_count_is_refused_at_once():
    # the range is checked before any loop over its VFs: a typo of many digits is an error, not a hang
    message = _problems([{"pf": "enp1s0f0", "num_vfs": 4, "vf_groups": [{"range": "0-40000000000", "vlan": 5}]}])
    assert "config[0].vf_groups[0].range: '0-40000000000' reaches beyond VF 65534" in message, message


def test_whole_pool_checks_name_the_field_the_value_came_from():
    message = _problems([{
        "pci_address": "0000:01:00.0", "num_vfs": 4,
        "vf_defaults": {"qos": 3},
        "vf_groups": [{"range": "0-5"}, {"range": "1-2"}],
        "vfs": [{"index": 4}, {"index": 2, "min_tx_rate": 200, "max_tx_rate": 100}, {"index": 3, "vlan_proto": "802.1ad"}],
    }])
    for expected in (
        "config[0].vfs[0].index: VF 4 does not exist with num_vfs 4 (VF indexes are 0 to 3)",
        "config[0].vf_groups[0].range: '0-5' reaches VF 5, which does not exist with num_vfs 4",
        "config[0].vf_groups[1].range: '1-2' overlaps config[0].vf_groups[0]",
        "config[0].vf_defaults.qos: a QoS of 3 needs a VLAN",
        "config[0].vfs[1].min_tx_rate: 200 Mbit/s is above max_tx_rate 100 Mbit/s",
        "config[0].vfs[2].vlan_proto: 802.1ad needs a VLAN",
    ):
        assert expected in message, message
    assert message.count("needs a VLAN; the VLAN resolves to none (VF") == 0  # one message per place, not per VF
    assert "config[0]: one of pf (the PF's network interface) and pci_address is required" in _problems([{"num_vfs": 1}])
    assert "config[0].num_vfs: is required" in _problems([{"pf": "enp1s0f0"}])


def test_resolution_secure_defaults_then_defaults_groups_and_the_vf():
    rendered = _rendered({"pf": "enp1s0f0", "num_vfs": 4, "driver": "vfio-pci", "vf_defaults": {"vlan": 100},
                          "vf_groups": [{"range": "0-1", "vlan": 0, "trust": True, "driver": "iavf"}],
                          "vfs": [{"index": 1, "mac": "52:54:00:00:01:01", "max_tx_rate": 1000}]})
    vfs = rendered["vfs"]
    assert vfs[0] == {"index": 0, "driver": "iavf", "vlan": 0, "qos": 0, "vlan_proto": "802.1Q", "spoofchk": True, "trust": True,
                      "min_tx_rate": 0, "max_tx_rate": 0, "link_state": "auto"}
    assert vfs[1]["mac"] == "52:54:00:00:01:01" and vfs[1]["max_tx_rate"] == 1000 and vfs[1]["trust"] is True
    assert vfs[3]["driver"] == "vfio-pci" and vfs[3]["vlan"] == 100
    assert vfs[3]["spoofchk"] is True and vfs[3]["trust"] is False, "secure defaults"
    assert rendered["commands"][0] == "enp1s0f0: sriov_numvfs 4"
    # merged on an existing pool: an attribute no layer sets is left as the VF has it
    pool = m.pool_from_config({"pf": "x", "num_vfs": 2, "vf_defaults": {"vlan": 5}}, "config[0]", Problems())
    assert m.resolve(pool)[0][0] == {"driver": None, "mac": None, "vlan": 5}


def test_allow_vf_reset_and_the_kernel_driver_are_not_saved():
    pool = m.pool_from_config({"pci_address": "01:00.0", "num_vfs": 2, "allow_vf_reset": True}, "config[0]", Problems())
    full = m.pool_defaults(pool)
    assert pool.pci_address == "0000:01:00.0"
    config = SriovPoolResource().to_config(type(pool)(**dict(vars(full), num_vfs=2, allow_vf_reset=True)))
    assert "allow_vf_reset" not in config and "driver" not in config and config["vf_defaults"]["spoofchk"] is True


def test_vf_addresses_follow_offset_and_stride_across_a_bus():
    assert backend_sriov.vf_address("0000:3b:00.0", 16, 1, 0) == "0000:3b:02.0"
    assert backend_sriov.vf_address("0000:3b:00.1", 15, 1, 0) == "0000:3b:02.0"
    assert backend_sriov.vf_address("0000:01:00.0", 128, 1, 200) == "0000:02:09.0"
    assert backend_sriov.vf_address("0000:01:00.0", 128, 2, 3) == "0000:01:10.6"


def test_udev_rule_marks_each_vf_unmanaged():
    rule = backend_sriov.udev_rule("0000:01:00.0", ["0000:01:10.0", "0000:01:10.1"])
    assert rule.splitlines()[1:] == ['ACTION=="add|change", SUBSYSTEM=="net", KERNELS=="0000:01:10.0", ENV{NM_UNMANAGED}="1"',
                                     'ACTION=="add|change", SUBSYSTEM=="net", KERNELS=="0000:01:10.1", ENV{NM_UNMANAGED}="1"']


def test_documented_ranges_are_the_checked_ones():
    with open(os.path.join(REPO_ROOT, "plugins", "modules", "sriov_pool.py"), encoding="utf-8") as handle:
        source = handle.read()
    options = yaml.safe_load(re.search(r'^DOCUMENTATION = r"""\n(.*?)^"""', source, re.S | re.M).group(1))["options"]
    attributes = options["config"]["suboptions"]["vf_defaults"]["suboptions"]
    assert "0 to %d" % m.MAX_VLAN in attributes["vlan"]["description"]
    assert "0 to %d" % m.MAX_QOS in attributes["qos"]["description"]
    assert attributes["vlan_proto"]["choices"] == list(m.VLAN_PROTOS)
    assert attributes["link_state"]["choices"] == list(m.LINK_STATES)
    assert options["config"]["suboptions"]["eswitch_mode"]["choices"] == list(m.ESWITCH_MODES)
    for group in ("vf_groups", "vfs"):
        assert set(m.ATTRIBUTES) <= set(options["config"]["suboptions"][group]["suboptions"])


def test_restored_before_networks():
    kinds = persist.KINDS_IN_ORDER
    assert kinds.index("pci_driver") < kinds.index("sriov_pool") < kinds.index("vm_network")


# ---- netlink messages (pyroute2's classes, encoded and decoded) --------------------------------------
def _wire(message):
    message.encode()
    received = type(message)(message.data)
    received.decode()
    return received


def _sent(spec):
    """The IFLA_VF_INFO attributes IPRoute.link('set', vf=spec) sends, after encoding and decoding."""
    request = ifinfmsg()
    request["index"] = 7
    request["attrs"] = [("IFLA_VFINFO_LIST", LinkIPRouteFilter("set").set_vf({}, spec)["IFLA_VFINFO_LIST"])]
    info = _wire(request).get_attr("IFLA_VFINFO_LIST").get_attrs("IFLA_VF_INFO")[0]
    return dict(info["attrs"])


def test_vf_request_encodes_every_attribute():
    sent = _sent(vf_netlink.vf_request(3, {"mac": "52:54:00:00:01:03", "vlan": 100, "qos": 2, "vlan_proto": "802.1Q",
                                           "spoofchk": True, "trust": False, "min_tx_rate": 10, "max_tx_rate": 1000,
                                           "link_state": "disable"}))
    assert sent["IFLA_VF_MAC"]["mac"] == "52:54:00:00:01:03" and sent["IFLA_VF_MAC"]["vf"] == 3
    assert (sent["IFLA_VF_VLAN"]["vlan"], sent["IFLA_VF_VLAN"]["qos"]) == (100, 2)
    assert (sent["IFLA_VF_RATE"]["min_tx_rate"], sent["IFLA_VF_RATE"]["max_tx_rate"]) == (10, 1000)
    assert sent["IFLA_VF_SPOOFCHK"]["spoofchk"] == 1 and sent["IFLA_VF_TRUST"]["trust"] == 0
    assert sent["IFLA_VF_LINK_STATE"]["link_state"] == 2
    qinq = _sent(vf_netlink.vf_request(0, {"vlan": 200, "qos": 0, "vlan_proto": "802.1ad"}))
    entry = qinq["IFLA_VF_VLAN_LIST"].get_attrs("IFLA_VF_VLAN_INFO")[0]
    assert (entry["vlan"], entry["proto"]) == (200, vf_netlink.ETH_P_8021AD)
    assert set(_sent(vf_netlink.vf_request(0, {"trust": True}))) == {"IFLA_VF_TRUST"}, "only the attributes given"


def _link_with_vfs(count, trust=0):
    link = ifinfmsg()
    link["index"] = 7
    vfs = []
    for index in range(count):
        vfs.append(("IFLA_VF_INFO", {"attrs": [
            ("IFLA_VF_MAC", {"vf": index, "mac": "52:54:00:00:%02x:%02x" % (index >> 8, index & 0xFF)}),
            ("IFLA_VF_VLAN", {"vf": index, "vlan": index % 4096, "qos": 0}),
            ("IFLA_VF_VLAN_LIST", {"attrs": [("IFLA_VF_VLAN_INFO",
                                              {"vf": index, "vlan": index % 4096, "qos": 0, "proto": vf_netlink.ETH_P_8021Q})]}),
            ("IFLA_VF_TX_RATE", {"vf": index, "tx_rate": 0}),
            ("IFLA_VF_RATE", {"vf": index, "min_tx_rate": 0, "max_tx_rate": 0}),
            ("IFLA_VF_SPOOFCHK", {"vf": index, "spoofchk": 1}),
            ("IFLA_VF_LINK_STATE", {"vf": index, "link_state": 0}),
            ("IFLA_VF_TRUST", {"vf": index, "trust": trust}),
            ("IFLA_VF_STATS", {"attrs": [("IFLA_VF_STATS_RX_PACKETS", 0), ("IFLA_VF_STATS_TX_PACKETS", 0),
                                         ("IFLA_VF_STATS_RX_BYTES", 0), ("IFLA_VF_STATS_TX_BYTES", 0)]}),
        ]}))
    link["attrs"] = [("IFLA_IFNAME", "enp1s0f0"), ("IFLA_VFINFO_LIST", {"attrs": vfs})]
    return _wire(link)


def test_a_pf_with_more_than_100_vfs_is_read_whole():
    """200 VFs make one link message larger than a 16 or 32 KiB read; every VF comes back."""
    link = _link_with_vfs(200)
    assert len(link.data) > 32 * 1024
    vfs = vf_netlink.parse_vfinfo_list(link)
    assert [vf["index"] for vf in vfs] == list(range(200))
    assert vfs[199] == {"index": 199, "mac": "52:54:00:00:00:c7", "vlan": 199, "qos": 0, "vlan_proto": "802.1Q", "spoofchk": True,
                        "trust": False, "min_tx_rate": 0, "max_tx_rate": 0, "link_state": "auto"}
    assert len(link.data) * 4 < vf_netlink.RECEIVE_BUFFER


def test_an_attribute_the_driver_does_not_report_is_left_out():
    vfs = vf_netlink.parse_vfinfo_list(_link_with_vfs(1, trust=vf_netlink.UNSUPPORTED))
    assert "trust" not in vfs[0] and vfs[0]["spoofchk"] is True


def test_the_socket_gets_the_large_receive_buffer(monkeypatch):
    opened = []
    monkeypatch.setattr(vf_netlink, "IPRoute", lambda **kwargs: opened.append(kwargs) or object())
    monkeypatch.setattr(vf_netlink, "HAS_PYROUTE2", True)
    assert vf_netlink.VfNetlink().ipr is not None
    assert opened == [{"rcvbuf": vf_netlink.RECEIVE_BUFFER}]


# ---- VFs named in a running libvirt domain (backend/libvirt.py running_pci_users) ----------------

REFERENCE = os.environ.get("HV_LIBVIRT_INTERFACE_REFERENCE", "/work/shared/reference/libvirt-domain-interface-xml.rst.patch")
HOSTDEV_DOMAIN = """<domain type='kvm'><name>hvt-vm1</name><devices>
  <hostdev mode='subsystem' type='pci' managed='yes'>
    <source><address domain='0x0000' bus='0x01' slot='0x10' function='0x1'/></source>
  </hostdev>
  <hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/><product id='0xbeef'/></source></hostdev>
  <interface type='hostdev'><source><address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x3'/></source></interface>
  <interface type='network'><source network='default'/><address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x5'/></interface>
</devices></domain>"""


def _reference_hostdev_examples():
    """The hostdev elements of libvirt's interface documentation, as the .rst has them (the patch's
    '+' and the mail's line wrapping undone, the '...' elisions dropped)."""
    if not os.path.exists(REFERENCE):
        pytest.skip("the libvirt reference document is not on this machine (HV_LIBVIRT_INTERFACE_REFERENCE)")
    with open(REFERENCE, encoding="utf-8") as handle:
        text = handle.read()
    start = text.index("+++ b/docs/formatdomain-devices-interface.rst")
    text = text[start:text.index("diff --git", start)]
    text = "\n".join(line[1:] if line.startswith("+") else line for line in text.splitlines())
    found = re.findall(r"<interface type='hostdev' managed=.*?</interface>|<hostdev mode=.*?</hostdev>", text, re.S)
    return [example.replace("\n...", "") for example in found]


def test_the_pci_addresses_of_the_reference_s_hostdev_examples():
    """<interface type='hostdev'> passes its <source> PCI address through; <hostdev mode='capabilities'
    type='net'> (a host interface given to a container) and <hostdev type='usb'> pass no PCI device."""
    examples = _reference_hostdev_examples()
    assert len(examples) == 2
    domain = "<domain type='kvm'><name>hvt-ref</name><devices>%s</devices></domain>" % "".join(examples)
    assert backend_libvirt.hostdev_pci_addresses(domain) == ["0000:00:07.0"]
    assert backend_libvirt.hostdev_pci_addresses(HOSTDEV_DOMAIN) == ["0000:01:10.1", "0000:01:10.3"], \
        "a guest PCI <address> of another device is not a host device"
    assert backend_libvirt.hostdev_pci_addresses("<domain") == []


class FakeDomain:
    def __init__(self, name, xml, vanished=False):
        self._name, self._xml, self._vanished = name, xml, vanished

    def name(self):
        return self._name

    def XMLDesc(self, flags):  # noqa: N802  pylint: disable=invalid-name
        assert flags == 0, "the live definition: what the running domain holds"
        if self._vanished:
            raise FakeLibvirtError(backend_libvirt.ERR_NO_DOMAIN)
        return self._xml


class FakeLibvirtError(Exception):
    def __init__(self, code):
        super().__init__("domain not found")
        self.code = code

    def get_error_code(self):
        return self.code


class FakeConnection:
    """Stands in for a libvirt connection (listAllDomains, XMLDesc) only because no SR-IOV VF exists
    here: a real libvirtd cannot start a domain with a hostdev of a device that does not exist."""

    def __init__(self, domains):
        self.domains = domains
        self.flags = []

    def listAllDomains(self, flags):  # noqa: N802  pylint: disable=invalid-name
        self.flags.append(flags)
        return self.domains


def test_pci_users_names_every_running_domain_per_device_and_skips_one_that_stopped():
    conn = FakeConnection([FakeDomain("hvt-vm2", HOSTDEV_DOMAIN.replace("hvt-vm1", "hvt-vm2")), FakeDomain("hvt-vm1", HOSTDEV_DOMAIN),
                           FakeDomain("hvt-gone", HOSTDEV_DOMAIN, vanished=True)])
    users = backend_libvirt.pci_users(conn, FakeLibvirtError)
    assert users == {"0000:01:10.1": ["hvt-vm1", "hvt-vm2"], "0000:01:10.3": ["hvt-vm1", "hvt-vm2"]}
    assert conn.flags == [backend_libvirt.ACTIVE_DOMAINS], "one listing, of the running domains only"


def test_running_pci_users_through_libvirt_s_own_test_driver():
    """libvirt's built-in test driver (test:///default, in this process, no daemon) runs a domain
    with both hostdev forms: the real binding, listAllDomains and XMLDesc."""
    libvirt = pytest.importorskip("libvirt")
    conn = libvirt.open("test:///default")
    xml = HOSTDEV_DOMAIN.replace("type='kvm'>", "type='test'><memory>65536</memory><os><type>hvm</type></os>")
    domain = conn.createXML(xml.replace("hvt-vm1", "hvt-sriov-unit"), 0)
    try:
        users = backend_libvirt.running_pci_users("test:///default")
        assert users["0000:01:10.1"] == ["hvt-sriov-unit"] and users["0000:01:10.3"] == ["hvt-sriov-unit"]
    finally:
        domain.destroy()
        conn.close()
    assert "0000:01:10.1" not in backend_libvirt.running_pci_users("test:///default"), "a stopped domain uses nothing"


def test_no_binding_or_no_daemon_is_skipped_silently(monkeypatch, tmp_path):
    pytest.importorskip("libvirt")
    assert backend_libvirt.running_pci_users("qemu+unix:///system?socket=%s/absent.sock" % tmp_path) == {}

    def missing():
        raise HostError("backend libvirt needs libvirt's Python binding")

    monkeypatch.setattr(backend_libvirt, "load_binding", missing)
    assert backend_libvirt.running_pci_users("test:///default") == {}
