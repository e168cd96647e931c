"""state rendered of vm_interface: one NIC in every VMM's syntax, and the combinations a VMM
cannot express refused with the field named. Pure functions: no host, no saved state.

cloud-hypervisor, Firecracker and KubeVirt are not installable here: their renderings are
checked against their documented grammar (the cloud-hypervisor networking guide's --net keys
and num_queues rule, Firecracker's network-interfaces API object, KubeVirt's interfaces,
networks and bridge-CNI NetworkAttachmentDefinition). libvirt's and QEMU's renderings are also
run by the real programs in tests/integration/test_nic_render.py.
"""

import json

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.engine import converge
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.interface import InterfaceResource

ICH0 = {"name": "ich0", "bridge": "ich-int", "guest": {"mac": "a4:a1:c2:00:00:01", "queues": 2, "queue_size": 256}}


def rendered(item, **params):
    return converge(InterfaceResource(), dict({"state": "rendered", "config": [item]}, **params), False)["rendered"][0]


def test_the_cloud_hypervisor_guide_example():
    """ich0 of the guide: two queue pairs are num_queues=4 on a multi-queue tap."""
    result = rendered(ICH0)
    assert result["config"]["multi_queue"] is True
    assert result["cloud_hypervisor"] == "tap=ich0,mac=a4:a1:c2:00:00:01,host_mac=fe:a1:c2:00:00:01,num_queues=4,queue_size=256,id=ich0"
    assert result["qemu"] == ["-netdev", "tap,id=hn-ich0,ifname=ich0,script=no,downscript=no,queues=2",
                              "-device", "virtio-net-pci,netdev=hn-ich0,mac=a4:a1:c2:00:00:01,mq=on,vectors=6,rx_queue_size=256"]
    assert result["libvirt"] == (
        '<interface type="ethernet">\n'
        '  <mac address="a4:a1:c2:00:00:01"/>\n'
        '  <target dev="ich0" managed="no"/>\n'
        '  <model type="virtio"/>\n'
        '  <driver queues="2" rx_queue_size="256"/>\n'
        '</interface>\n')
    assert result["not_rendered"] == {"firecracker": "guest.queues: Firecracker's virtio-net has one queue pair"}


def test_single_queue_tap_for_firecracker_and_kubevirt():
    result = rendered({"name": "fc0", "bridge": "br-fc", "mtu": 9000, "isolated": True, "guest": {"mac": "52:54:00:00:00:0a"}})
    assert result["firecracker"] == {"iface_id": "fc0", "host_dev_name": "fc0", "guest_mac": "52:54:00:00:00:0a"}
    kubevirt = result["kubevirt"]
    assert kubevirt["interfaces"] == [{"name": "fc0", "bridge": {}, "model": "virtio", "macAddress": "52:54:00:00:00:0a"}]
    assert kubevirt["networks"] == [{"name": "fc0", "multus": {"networkName": "br-fc"}}]
    nad = kubevirt["network_attachment_definition"]
    assert nad["kind"] == "NetworkAttachmentDefinition" and nad["metadata"] == {"name": "br-fc"}
    assert json.loads(nad["spec"]["config"]) == {"cniVersion": "0.3.1", "name": "br-fc", "type": "bridge", "bridge": "br-fc",
                                                 "mtu": 9000, "portIsolation": True}
    assert "mtu=9000" in result["cloud_hypervisor"] and "host_mtu=9000" in result["qemu"][3]
    assert '<mtu size="9000"/>' in result["libvirt"]
    assert "not_rendered" not in result


def test_vhost_user_port_is_the_server_for_ovs():
    item = {"name": "vhu0", "kind": "vhostuser", "bridge": "br-dpdk", "socket": "/var/lib/vhost_sockets/vhu0",
            "guest": {"mac": "52:54:00:00:00:03", "queues": 4, "queue_size": 1024}}
    result = rendered(item)
    assert result["qemu"] == ["-chardev", "socket,id=chr-vhu0,path=/var/lib/vhost_sockets/vhu0,server=on",
                              "-netdev", "vhost-user,id=hn-vhu0,chardev=chr-vhu0,queues=4",
                              "-device", "virtio-net-pci,netdev=hn-vhu0,mac=52:54:00:00:00:03,mq=on,vectors=10,"
                              "rx_queue_size=1024,tx_queue_size=1024"]
    assert result["cloud_hypervisor"] == ("vhost_user=true,socket=/var/lib/vhost_sockets/vhu0,vhost_mode=server,mac=52:54:00:00:00:03,"
                                          "num_queues=8,queue_size=1024,id=vhu0")
    assert '<source type="unix" path="/var/lib/vhost_sockets/vhu0" mode="server"/>' in result["libvirt"]
    assert sorted(result["not_rendered"]) == ["firecracker", "kubevirt"]


def test_emulated_models_for_qemu():
    result = rendered({"name": "e0", "guest": {"model": "e1000e", "mac": "52:54:00:00:00:0e"}}, targets=["qemu", "libvirt"])
    assert result["qemu"] == ["-netdev", "tap,id=hn-e0,ifname=e0,script=no,downscript=no", "-device", "e1000e,netdev=hn-e0,mac=52:54:00:00:00:0e"]
    assert '<model type="e1000e"/>' in result["libvirt"]
    assert set(result) >= {"qemu", "libvirt"} and "cloud_hypervisor" not in result and "not_rendered" not in result


@pytest.mark.parametrize("item, targets, expected", [
    ({"name": "mv0", "kind": "macvtap", "link": "eth1"}, ["cloud_hypervisor"], "config[0].kind: cannot be rendered for cloud_hypervisor"),
    ({"name": "mv0", "kind": "macvtap", "link": "eth1"}, ["qemu"], "config[0].kind: cannot be rendered for qemu"),
    ({"name": "t0", "guest": {"queues": 2}}, ["firecracker"], "config[0].guest.queues: cannot be rendered for firecracker"),
    ({"name": "t0", "guest": {"model": "e1000"}}, ["cloud_hypervisor"], "config[0].guest.model: cannot be rendered for cloud_hypervisor"),
    ({"name": "t0", "guest": {"queues": 4, "vcpus": 2}}, ["cloud_hypervisor"], "4 queue pairs exceed the guest's 2 vCPUs"),
    ({"name": "t0"}, ["kubevirt"], "config[0].bridge: cannot be rendered for kubevirt"),
    ({"name": "t0", "guest": {"model": "rtl8139", "queues": 2}}, ["qemu"], "config[0].guest.queues: cannot be rendered for qemu"),
])
def test_a_target_that_cannot_express_the_nic_is_an_error_when_asked_for(item, targets, expected):
    with pytest.raises(ValidationError) as info:
        rendered(item, targets=targets)
    assert expected in str(info.value)


def test_vhost_net_is_said_only_when_asked_for():
    result = rendered(dict(ICH0, guest=dict(ICH0["guest"], vhost=True)), targets=["qemu", "libvirt"])
    assert result["qemu"][1].endswith(",queues=2,vhost=on")
    assert '<driver name="vhost" queues="2" rx_queue_size="256"/>' in result["libvirt"]
    off = rendered(dict(ICH0, guest=dict(ICH0["guest"], vhost=False)), targets=["qemu", "libvirt"])
    assert off["qemu"][1].endswith(",vhost=off") and '<driver name="qemu"' in off["libvirt"]
    with pytest.raises(ValidationError, match="config\\[0\\].guest.vhost: cannot be rendered for cloud_hypervisor"):
        rendered(dict(ICH0, guest=dict(ICH0["guest"], vhost=True)), targets=["cloud_hypervisor"])


def test_rendered_is_the_same_every_time_and_needs_no_host():
    assert rendered(ICH0) == rendered(ICH0)
