# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The private OVS-DPDK itself: DPDK initialises, vdev ports attach, a bad vdev shows OVS's error."""

from __future__ import annotations


def test_private_ovs_dpdk_initialises(ovs):
    assert ovs.vsctl("get", "Open_vSwitch", ".", "dpdk_initialized").strip() == "true"
    ovs.vsctl("add-br", "br0", "--", "set", "Bridge", "br0", "datapath_type=netdev")
    ovs.vsctl("add-port", "br0", "null0", "--", "set", "Interface", "null0", "type=dpdk",
              'options:dpdk-devargs="net_null0,no-rx=1"')
    ovs.vsctl("add-port", "br0", "tap1", "--", "set", "Interface", "tap1", "type=dpdk", "options:dpdk-devargs=net_tap1")
    # net_tap needs as many rx queues as OVS opens tx queues (PMD threads + 1)
    ovs.vsctl("add-port", "br0", "tap0", "--", "set", "Interface", "tap0", "type=dpdk", "options:dpdk-devargs=net_tap0",
              "options:n_rxq=2")
    ovs.vsctl("add-port", "br0", "bad0", "--", "set", "Interface", "bad0", "type=dpdk", "options:dpdk-devargs=net_bogus0")
    assert ovs.interface("null0")["ofport"] > 0
    assert ovs.interface("null0")["error"] == []
    assert ovs.interface("tap0")["ofport"] > 0, ovs.log_tail()
    print(ovs.interface("tap1"))
    assert "Error attaching device 'net_bogus0'" in ovs.interface("bad0")["error"]
