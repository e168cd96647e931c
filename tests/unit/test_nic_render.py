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


# ---- libvirt's own NICs and sub-elements, and the same concepts in the other targets ----------
def test_bandwidth_is_a_token_bucket_for_cloud_hypervisor_and_firecracker():
    """cloud-hypervisor's --net rate limiter keys (bw_size, bw_one_time_burst, bw_refill_time) and
    Firecracker's rx/tx_rate_limiter token buckets, from libvirt's KiB/s and KiB."""
    limits = {"inbound": {"average": 1000, "burst": 256}, "outbound": {"average": 1000, "burst": 256}}
    result = rendered({"name": "t0", "bandwidth": limits, "guest": {"mac": "52:54:00:00:00:0b"}})
    assert result["cloud_hypervisor"].endswith(",id=t0,bw_size=1024000,bw_refill_time=1000,bw_one_time_burst=262144")
    bucket = {"bandwidth": {"size": 1024000, "one_time_burst": 262144, "refill_time": 1000}}
    assert result["firecracker"] == {"iface_id": "t0", "host_dev_name": "t0", "guest_mac": "52:54:00:00:00:0b",
                                     "rx_rate_limiter": bucket, "tx_rate_limiter": bucket}
    assert '<inbound average="1000" burst="256"/>' in result["libvirt"]
    assert sorted(result["not_rendered"]) == ["kubevirt", "qemu"]
    assert result["not_rendered"]["qemu"] == "bandwidth: only libvirt applies it; qemu has no such setting"


@pytest.mark.parametrize("item, targets, expected", [
    ({"name": "t0", "bandwidth": {"inbound": {"average": 10, "peak": 20}}}, ["firecracker"],
     "config[0].bandwidth.inbound.peak: cannot be rendered for firecracker: firecracker's rate limiter is a token bucket"),
    ({"name": "t0", "bandwidth": {"inbound": {"average": 10}}}, ["cloud_hypervisor"],
     "config[0].bandwidth: cannot be rendered for cloud_hypervisor: cloud-hypervisor's one rate limiter holds for both directions"),
    ({"name": "t0", "libvirt_type": "bridge", "bridge": "br0"}, ["qemu"],
     "config[0].libvirt_type: cannot be rendered for qemu: qemu has no such NIC: libvirt sets it up (bridge)"),
    ({"name": "u0", "kind": "user"}, ["cloud_hypervisor"], "config[0].kind: cannot be rendered for cloud_hypervisor"),
    ({"name": "t0", "bridge": "br0", "guest": {"driver": {"txmode": "timer"}}}, ["kubevirt"],
     "config[0].guest.driver: cannot be rendered for kubevirt: only libvirt renders it"),
    ({"name": "t0", "bridge": "br0", "kubevirt": {"binding": "masquerade"}}, ["kubevirt"],
     "config[0].kubevirt.binding: cannot be rendered for kubevirt: masquerade connects the VM to the pod network only"),
    ({"name": "vf0", "kind": "hostdev", "pci_address": "0000:03:10.2"}, ["kubevirt"],
     "config[0].kubevirt.resource_name: cannot be rendered for kubevirt: the sriov CNI needs the SR-IOV device plugin's resource name"),
    ({"name": "t0", "bridge": "br0", "vlan": {"tags": [{"id": 1}, {"id": 2}]}}, ["kubevirt"],
     "config[0].vlan.tags: cannot be rendered for kubevirt: the bridge CNI's access port has one VLAN"),
    ({"name": "v0", "libvirt_type": "bridge", "bridge": "br0", "isolated": True, "virtualport": {"type": "openvswitch"}}, ["libvirt"],
     "config[0].isolated: cannot be rendered for libvirt: libvirt refuses <port isolated> on an Open vSwitch port"),
])
def test_what_a_target_cannot_say_of_libvirt_s_fields_is_an_error_naming_it(item, targets, expected):
    with pytest.raises(ValidationError) as info:
        rendered(item, targets=targets)
    assert expected in str(info.value)


def test_kubevirt_sriov_binding_and_its_cni():
    """A VF (kind hostdev) is KubeVirt's sriov binding with the sriov CNI (its documented keys:
    vlan, vlanQoS, spoofchk, trust, link_state, max_tx_rate) and the resource name annotation."""
    item = {"name": "vf0", "kind": "hostdev", "pci_address": "0000:03:10.2", "trust_guest_rx_filters": True, "link_state": "up",
            "vlan": {"tags": [{"id": 100}]}, "bandwidth": {"outbound": {"average": 15625}},
            "kubevirt": {"resource_name": "intel.com/sriov_netdevice", "spoofchk": False, "vlan_qos": 3, "network_name": "sriov-net"},
            "guest": {"mac": "52:54:00:00:00:21", "boot_order": 2, "acpi_index": 4,
                      "address": {"type": "pci", "domain": "0x0000", "bus": "0x08", "slot": "0x01", "function": "0x0"}}}
    kubevirt = rendered(item, targets=["kubevirt"])["kubevirt"]
    assert kubevirt["interfaces"] == [{"name": "vf0", "sriov": {}, "macAddress": "52:54:00:00:00:21", "bootOrder": 2, "acpiIndex": 4,
                                       "pciAddress": "0000:08:01.0"}]
    assert kubevirt["networks"] == [{"name": "vf0", "multus": {"networkName": "sriov-net"}}]
    nad = kubevirt["network_attachment_definition"]
    assert nad["metadata"] == {"name": "sriov-net", "annotations": {"k8s.v1.cni.cncf.io/resourceName": "intel.com/sriov_netdevice"}}
    assert json.loads(nad["spec"]["config"]) == {"cniVersion": "0.3.1", "name": "sriov-net", "type": "sriov", "vlan": 100, "vlanQoS": 3,
                                                 "spoofchk": "off", "trust": "on", "link_state": "enable", "max_tx_rate": 128}


def test_kubevirt_pod_network_bindings_and_bridge_cni_vlans():
    masquerade = rendered({"name": "p0", "kubevirt": {"binding": "masquerade", "network": "pod", "ports": [{"name": "http", "port": 80}]}},
                          targets=["kubevirt"])["kubevirt"]
    assert masquerade == {"interfaces": [{"name": "p0", "masquerade": {}, "model": "virtio", "ports": [{"name": "http", "port": 80}]}],
                          "networks": [{"name": "p0", "pod": {}}]}
    passt = rendered({"name": "p1", "kubevirt": {"binding": "passt", "network": "pod"}}, targets=["kubevirt"])["kubevirt"]
    assert passt["interfaces"] == [{"name": "p1", "binding": {"name": "passt"}, "model": "virtio"}]
    trunk = rendered({"name": "t0", "bridge": "br0", "kubevirt": {"spoofchk": True},
                      "vlan": {"trunk": "yes", "tags": [{"id": 42}, {"id": 123, "native_mode": "untagged"}]}}, targets=["kubevirt"])
    cni = json.loads(trunk["kubevirt"]["network_attachment_definition"]["spec"]["config"])
    assert (cni["vlan"], cni["vlanTrunk"], cni["macspoofchk"]) == (123, [{"id": 42}], True)


def test_libvirt_own_types_render_only_what_is_given():
    result = rendered({"name": "vnet7", "libvirt_type": "network", "network": "default", "portgroup": "engineering",
                       "guest": {"mac": "00:11:22:33:44:55"}, "virtualport": {"parameters": {"instanceid": "09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f"}}})
    assert result["libvirt"] == (
        '<interface type="network">\n'
        '  <mac address="00:11:22:33:44:55"/>\n'
        '  <source network="default" portgroup="engineering"/>\n'
        '  <target dev="vnet7"/>\n'
        '  <virtualport>\n'
        '    <parameters instanceid="09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f"/>\n'
        '  </virtualport>\n'
        '</interface>\n')
    assert result["commands"] == [] and result["config"]["libvirt_type"] == "network" and "mtu" not in result["config"]


@pytest.mark.parametrize("item, expected", [
    ({"name": "t0", "bandwidth": {"inbound": {"avrage": 1}}},
     "config[0].bandwidth.inbound.avrage: is not a field of config[0].bandwidth.inbound (allowed: average, peak, burst, floor)"),
    ({"name": "t0", "vlan": {"tags": [{"id": 1, "native_mode": "both"}]}},
     "config[0].vlan.tags[0].native_mode: 'both' is not one of: tagged, untagged"),
    ({"name": "t0", "guest": {"driver": {"host": {"tso4": "maybe"}}}}, "config[0].guest.driver.host.tso4: 'maybe' is not one of: on, off"),
    ({"name": "t0", "guest": {"colour": "red"}}, "config[0].guest.colour: is not a field"),
    ({"name": "t0", "network": "default"}, "config[0].network: applies to libvirt_type network only"),
    ({"name": "t0", "libvirt_type": "network"}, "config[0].network: is required for libvirt_type network"),
    ({"name": "m0", "kind": "mcast", "local_port": 2}, "config[0].local_port: applies to kind udp only"),
    ({"name": "v0", "kind": "vhostuser", "socket": "/run/v0", "reconnect": {"enabled": "yes"}},
     "config[0].reconnect: needs socket_mode client"),
    ({"name": "vf0", "kind": "hostdev", "pci_address": "03:10.2"}, "config[0].pci_address: '03:10.2' is not a PCI address"),
    ({"name": "vf0", "kind": "hostdev", "pci_address": "0000:03:10.2", "assignment": "uio"},
     "config[0].assignment: 'uio' is not one of: vfio, kvm, xen"),
    ({"name": "t0", "assignment": "vfio"}, "config[0].assignment: applies to kind hostdev only"),
    ({"name": "vf0", "kind": "hostdev", "pci_address": "0000:03:10.2", "owner": "qemu"},
     "config[0].owner: does not apply to kind hostdev: libvirt, not the collection, sets up this NIC"),
    ({"name": "v0", "kind": "vhostuser", "socket": "/run/v0", "libvirt_type": "bridge"},
     "config[0].libvirt_type: applies to kinds tap and macvtap only"),
    ({"name": "m0", "kind": "mcast", "source_port": 70000}, "config[0].source_port: 70000 is outside the allowed range 1..65535"),
    ({"name": "t0", "kubevirt": {"binding": "bridge", "vlan_qos": 9}}, "config[0].kubevirt.vlan_qos: 9 is outside the allowed range 0..7"),
])
def test_bad_sub_elements_name_the_field_and_the_allowed_values(item, expected):
    with pytest.raises(ValidationError) as info:
        rendered(item)
    assert expected in str(info.value)


def test_render_only_items_are_refused_before_the_host_is_checked():
    """merged and friends: the refusal names the field and why (check_host runs before any plan)."""
    from ansible_collections.hypervisor.networking.plugins.module_utils.model import interface as m
    from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems

    resource, problems = InterfaceResource(), Problems()
    models = {"vnet0": m.from_config({"name": "vnet0", "libvirt_type": "network", "network": "default"}, "config[0]", problems),
              "net1": m.from_config({"name": "net1", "target": False}, "config[1]", problems),
              "v0": m.from_config({"name": "v0", "kind": "vhostuser", "socket": "/run/v0", "socket_mode": "client"}, "config[2]", problems)}
    assert not problems
    resource.check_host(models, resource.empty_snapshot(), problems, [], False,
                        [("config[0]", "vnet0"), ("config[1]", "net1"), ("config[2]", "v0")])
    assert [item.split(":")[0] for item in problems.items] == ["config[0].libvirt_type", "config[1].target", "config[2].socket_mode"]


def test_libvirt_guest_settings_as_qemu_device_properties():
    """libvirt's <driver>, <boot>, <rom>, <acpi>, <alias> and <tune> in QEMU's spelling (the
    real QEMU of tests/integration/test_nic_render.py takes these properties)."""
    item = {"name": "t0", "tune": {"sndbuf": 1600},
            "guest": {"mac": "52:54:00:00:00:31", "boot_order": 1, "acpi_index": 5, "alias": "ua-net0", "rom": {"bar": "off"},
                      "driver": {"txmode": "iothread", "iommu": "on", "host": {"tso4": "off"}, "guest": {"csum": "off"}}}}
    assert rendered(item, targets=["qemu"])["qemu"] == [
        "-netdev", "tap,id=hn-t0,ifname=t0,script=no,downscript=no,sndbuf=1600",
        "-device", "virtio-net-pci,netdev=hn-t0,mac=52:54:00:00:00:31,tx=bh,iommu_platform=on,host_tso4=off,guest_csum=off,rombar=0,"
                   "bootindex=1,acpi-index=5,id=ua-net0"]
    with pytest.raises(ValidationError, match=r"config\[0\].guest.driver: cannot be rendered for qemu: these are virtio-net settings"):
        rendered({"name": "t0", "guest": {"model": "e1000", "driver": {"txmode": "timer"}}}, targets=["qemu"])


@pytest.mark.parametrize("driver, expected", [
    ({"iommu": "on", "host": {"tso4": "off", "tso6": "off", "ufo": "off", "csum": "off"}, "guest": {"csum": "off"}},
     ",iommu=on,offload_tso=false,offload_ufo=false,offload_csum=false"),
    ({"host": {"tso4": "on"}, "guest": {"tso4": "on", "tso6": "on"}}, ",offload_tso=true"),
])
def test_cloud_hypervisor_offload_switches(driver, expected):
    """The guide's offload_tso/offload_ufo/offload_csum and iommu keys, from libvirt's driver."""
    result = rendered({"name": "t0", "guest": {"driver": driver}}, targets=["cloud_hypervisor"])
    assert result["cloud_hypervisor"] == "tap=t0,num_queues=2,queue_size=256,id=t0" + expected


@pytest.mark.parametrize("item, expected", [
    ({"name": "t0", "guest": {"driver": {"host": {"csum": "off"}}}}, "config[0].guest.driver: cannot be rendered for cloud_hypervisor: "
     "cloud-hypervisor needs TSO and UFO off (tso4, tso6, ufo) when checksum offload is off"),
    ({"name": "t0", "guest": {"driver": {"host": {"tso4": "off"}, "guest": {"tso4": "on"}}}},
     "config[0].guest.driver: cannot be rendered for cloud_hypervisor: cloud-hypervisor's offload_tso turns"),
    ({"name": "v0", "kind": "vhostuser", "bridge": "br0", "socket": "/run/v0", "guest": {"driver": {"iommu": "on"}}},
     "config[0].guest.driver.iommu: cannot be rendered for cloud_hypervisor: cloud-hypervisor refuses iommu with vhost-user"),
    ({"name": "v0", "kind": "vhostuser", "bridge": "br0", "socket": "/run/v0",
      "bandwidth": {"inbound": {"average": 8}, "outbound": {"average": 8}}},
     "config[0].bandwidth: cannot be rendered for cloud_hypervisor: cloud-hypervisor has no rate limiter for vhost-user"),
    ({"name": "t0", "guest": {"driver": {"txmode": "timer"}}}, "config[0].guest.driver.txmode: cannot be rendered for cloud_hypervisor"),
])
def test_cloud_hypervisor_rules_on_offloads_iommu_and_rate_limits(item, expected):
    with pytest.raises(ValidationError) as info:
        rendered(item, targets=["cloud_hypervisor"])
    assert expected in str(info.value)


def test_the_saved_state_gives_back_libvirt_s_settings_false_included():
    """gathered/before/after show what only the saved state keeps, as the call gave it."""
    from ansible_collections.hypervisor.networking.plugins.module_utils.model import interface as m

    model = m.VmInterface(name="t0", kind="tap")
    m.restore_saved_only(model, {"name": "t0", "trust_guest_rx_filters": False, "bandwidth": {"inbound": {"average": 8}},
                                 "guest": {"mac": "52:54:00:00:00:51", "boot_order": 2}, "mtu": 9000})
    assert (model.trust_guest_rx_filters, model.bandwidth, model.guest.boot_order, model.mtu) == (False, {"inbound": {"average": 8}}, 2, None)


def test_a_vhost_user_client_for_qemu_and_cloud_hypervisor():
    """socket_mode client is libvirt's <source mode='client'>, QEMU's chardev without server=on (with
    reconnect) and cloud-hypervisor's vhost_mode=client; the collection does not build it."""
    item = {"name": "vhu1", "kind": "vhostuser", "socket": "/run/vhu1", "socket_mode": "client", "reconnect": {"enabled": "yes", "timeout": 10},
            "guest": {"mac": "52:54:00:00:00:61"}}
    result = rendered(item)
    assert result["qemu"][:2] == ["-chardev", "socket,id=chr-vhu1,path=/run/vhu1,reconnect=10"]
    assert result["cloud_hypervisor"].startswith("vhost_user=true,socket=/run/vhu1,vhost_mode=client,")
    assert '<source type="unix" path="/run/vhu1" mode="client">' in result["libvirt"] and result["commands"] == []


def test_cloud_hypervisor_pci_segment_from_the_guest_address():
    result = rendered({"name": "t0", "guest": {"address": {"type": "pci", "domain": "0x0001"}}}, targets=["cloud_hypervisor"])
    assert result["cloud_hypervisor"].endswith(",id=t0,pci_segment=1")
    with pytest.raises(ValidationError, match=r"config\[0\].guest.address.slot: cannot be rendered for cloud_hypervisor"):
        rendered({"name": "t0", "guest": {"address": {"type": "pci", "domain": "0x0000", "slot": "0x05"}}}, targets=["cloud_hypervisor"])
