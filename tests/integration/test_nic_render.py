# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The renderings of vm_interface, accepted by the programs that read them.

- QEMU: the rendered -netdev/-device words start a real qemu-system-x86_64 (TCG, paused with
  -S, no guest image) on a multi-queue tap that vm_interface made inside a test namespace and
  gave to an unprivileged user; QEMU runs as that user. /dev/net/tun is root-only on this
  machine, so QEMU gets a private 0666 tun node in a private mount namespace (the host's node
  is never changed). Every queue of the tap is then attached: the kernel reports carrier.
- libvirt: the rendered <interface>, inside a minimal domain, passes virt-xml-validate, and a
  real libvirtd defines the domain; what `virsh dumpxml --inactive` gives back keeps every
  element and attribute we rendered. Only a domain named hvt-* is defined, never started, and
  it is undefined again; libvirtd's networks and firewall are not touched.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position

QEMU = shutil.which("qemu-system-x86_64")
VIRSH = shutil.which("virsh")
VALIDATE = shutil.which("virt-xml-validate")
UNPRIVILEGED = "nobody"  # exists on every Debian host; the test gives it the tap

# Runs inside the namespace, in a private mount namespace: a 0666 tun node over /dev/net/tun
# for this process tree only, then QEMU as the unprivileged user.
AS_VMM = r"""
import os, pwd, stat, subprocess, sys, tempfile
node = os.path.join(tempfile.mkdtemp(), "tun")
os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(10, 200))
os.chmod(node, 0o666)
subprocess.run(["mount", "--bind", node, "/dev/net/tun"], check=True)
user = pwd.getpwnam(sys.argv[1])
os.setgroups([])
os.setgid(user.pw_gid)
os.setuid(user.pw_uid)
os.execv(sys.argv[2], sys.argv[2:])
"""


def _rendered(run_module, ns, item, targets):
    result = nh.assert_ok(run_module(ns, "vm_interface", {"state": "rendered", "config": [item], "targets": targets}))
    return result["rendered"][0]


@pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 is not installed (scripts/bootstrap.sh installs qemu-system-x86)")
def test_qemu_starts_as_an_unprivileged_user_on_the_rendered_multi_queue_tap(hv_ns, run_module):
    # with libvirt's driver, boot, rom, ACPI and alias settings and a send buffer: QEMU takes each property
    item = {"name": "vm0-tap", "owner": UNPRIVILEGED, "tune": {"sndbuf": 1600},
            "guest": {"mac": "52:54:00:00:00:31", "queues": 2, "queue_size": 256, "boot_order": 1, "acpi_index": 5, "alias": "ua-net0",
                      "rom": {"bar": "off"}, "driver": {"txmode": "iothread", "ioeventfd": "on", "event_idx": "off", "packed": "on",
                                                        "host": {"csum": "on", "tso4": "off"}, "guest": {"tso4": "off"}}}}
    nh.assert_ok(run_module(hv_ns, "vm_interface", {"config": [item], "persist": False}))
    assert "NO-CARRIER" in nh.link(hv_ns, "vm0-tap")["flags"]
    words = _rendered(run_module, hv_ns, item, ["qemu"])["qemu"]
    argv = ["ip", "netns", "exec", hv_ns.name, "unshare", "--mount", "--propagation", "private",
            sys.executable, "-c", AS_VMM, UNPRIVILEGED, QEMU, "-S", "-nodefaults", "-display", "none",
            "-machine", "q35,accel=tcg", "-m", "64"] + words
    qemu = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        carrier = False
        while time.monotonic() < deadline and qemu.poll() is None:
            link = nh.link(hv_ns, "vm0-tap")
            if "NO-CARRIER" not in link["flags"] and "UP" in link["flags"]:
                carrier = True
                break
            time.sleep(0.2)
        assert qemu.poll() is None, "QEMU exited (%s): %s" % (qemu.returncode, qemu.communicate()[1])
        assert carrier, "QEMU runs but the tap has no carrier"
        assert _uids_of_qemu(hv_ns) == [pwd.getpwnam(UNPRIVILEGED).pw_uid]
    finally:
        qemu.kill()
        qemu.wait(timeout=10)


def _uids_of_qemu(ns):
    uids = []
    for pid in ns.pids():
        try:
            with open("/proc/%d/status" % pid, encoding="ascii") as handle:
                status = dict(line.split(":", 1) for line in handle if ":" in line)
        except OSError:
            continue
        if status.get("Name", "").strip().startswith("qemu"):
            uids.append(int(status["Uid"].split()[1]))  # the effective uid
    return uids


def _domain(interface_xml, name):
    return ("<domain type='qemu'><name>%s</name><uuid>%s</uuid><memory unit='MiB'>64</memory><vcpu>2</vcpu>"
            "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>%s</devices></domain>"
            % (name, uuid.uuid4(), interface_xml))


@pytest.fixture(scope="module")
def libvirtd():
    """A running libvirtd in the root namespace (libvirt's home); started if none runs."""
    if VIRSH is None or shutil.which("libvirtd") is None:
        pytest.skip("libvirt is not installed (scripts/bootstrap.sh installs libvirt-daemon and libvirt-clients)")
    probe = subprocess.run([VIRSH, "-c", "qemu:///system", "version"], capture_output=True, text=True, check=False)
    started = None
    if probe.returncode != 0:
        os.makedirs("/var/log/libvirt", exist_ok=True)
        started = subprocess.Popen(["libvirtd"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while subprocess.run([VIRSH, "-c", "qemu:///system", "version"], capture_output=True, check=False).returncode != 0:
            assert started.poll() is None, "libvirtd exited: %s" % started.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "libvirtd did not answer within 30 s"
            time.sleep(0.5)
    yield VIRSH
    if started is not None:  # leave the machine as it was
        started.terminate()
        started.wait(timeout=30)


LIBVIRT_ITEMS = [
    {"name": "vnet-ich0", "bridge": "ich-int", "guest": {"mac": "a4:a1:c2:00:00:01", "queues": 2, "queue_size": 256, "vhost": True}},
    {"name": "vnet-e0", "mtu": 9000, "guest": {"mac": "52:54:00:00:00:0e", "model": "e1000e"}},
    {"name": "vhu0", "kind": "vhostuser", "bridge": "br-dpdk", "socket": "/var/lib/vhost_sockets/vhu0",
     "guest": {"mac": "52:54:00:00:00:03", "queues": 4, "queue_size": 1024}},
]
# libvirt's own NICs (render-only): types and sub-elements the collection does not build
LIBVIRT_OWN_ITEMS = [
    {"name": "hvt-nb0", "libvirt_type": "bridge", "bridge": "hvt-br0",
     "vlan": {"trunk": "yes", "tags": [{"id": 42}, {"id": 123, "native_mode": "untagged"}]},
     "virtualport": {"type": "openvswitch", "parameters": {"interfaceid": "09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f"}},
     "guest": {"mac": "52:54:00:00:01:01", "model": "virtio", "boot_order": 1, "acpi_index": 3, "alias": "ua-nb0",
               "rom": {"bar": "off"}, "address": {"type": "pci", "domain": "0x0000", "bus": "0x00", "slot": "0x09", "function": "0x0"}}},
    {"name": "hvt-nn0", "libvirt_type": "network", "network": "hvt-net", "portgroup": "engineering", "link_state": "down", "mtu": 1400,
     "isolated": True,
     "bandwidth": {"inbound": {"average": 1000, "peak": 5000, "burst": 1024, "floor": 200}, "outbound": {"average": 128, "burst": 256}},
     "filterref": {"filter": "clean-traffic", "parameters": [{"name": "IP", "value": "198.51.100.7"}]},
     "trust_guest_rx_filters": False,
     "guest": {"mac": "52:54:00:00:01:02", "model": "virtio", "queues": 2, "queue_size": 256, "vhost": True,
               "driver": {"txmode": "iothread", "ioeventfd": "on", "event_idx": "off", "tx_queue_size": 256,
                          "host": {"csum": "off", "tso4": "off"}, "guest": {"tso4": "off"}},
               "coalesce": {"rx": {"frames": 7}}}},
    {"name": "hvt-nd0", "kind": "macvtap", "libvirt_type": "direct", "link": "hvt-up0", "mode": "vepa", "target": False,
     "guest": {"mac": "52:54:00:00:01:03", "model": "virtio"}},
    {"name": "vf0", "kind": "hostdev", "pci_address": "0000:03:10.2", "managed": True, "assignment": "vfio", "guest": {"mac": "52:54:00:00:01:04"}},
    {"name": "u0", "kind": "user", "guest": {"mac": "52:54:00:00:01:05", "model": "virtio"}},
    {"name": "mc0", "kind": "mcast", "source_address": "230.0.0.1", "source_port": 5558, "guest": {"mac": "52:54:00:00:01:06"}},
    {"name": "ud0", "kind": "udp", "source_address": "127.0.0.1", "source_port": 11115, "local_address": "127.0.0.1", "local_port": 11116,
     "guest": {"mac": "52:54:00:00:01:07"}},
    {"name": "sv0", "kind": "server", "source_address": "127.0.0.1", "source_port": 5559, "guest": {"mac": "52:54:00:00:01:08"}},
    {"name": "cl0", "kind": "client", "source_address": "127.0.0.1", "source_port": 5559, "guest": {"mac": "52:54:00:00:01:09"}},
]
# validated only: libvirtd's define looks for the vhost-vdpa device, which this machine has not
LIBVIRT_VALIDATED_ONLY = [{"name": "vd0", "kind": "vdpa", "device": "/dev/vhost-vdpa-0", "guest": {"mac": "52:54:00:00:01:0a"}}]


@pytest.mark.skipif(VALIDATE is None, reason="virt-xml-validate is not installed (libvirt-clients)")
def test_libvirt_schema_accepts_every_type_and_sub_element(hv_ns, run_module, tmp_path):
    """Each rendered <interface> of every kind, alone in a minimal domain, passes libvirt's RNG schema."""
    items = LIBVIRT_ITEMS + LIBVIRT_OWN_ITEMS + LIBVIRT_VALIDATED_ONLY
    result = nh.assert_ok(run_module(hv_ns, "vm_interface", {"state": "rendered", "config": items, "targets": ["libvirt"]}))
    for entry in result["rendered"]:
        path = tmp_path / ("%s.xml" % entry["name"])
        path.write_text(_domain(entry["libvirt"], "hvt-validate"))
        check = subprocess.run([VALIDATE, str(path), "domain"], capture_output=True, text=True, check=False)
        assert check.returncode == 0, entry["libvirt"] + check.stdout + check.stderr


def test_merged_refuses_what_libvirt_sets_up_and_changes_nothing(hv_ns, run_module):
    """A NIC libvirt sets up is for rendered and parsed only: merged names the field and why, before any change."""
    before = nh.kernel_state(hv_ns)
    items = [{"name": "hvt-ok0"}] + [dict(item) for item in LIBVIRT_OWN_ITEMS[:4]]
    nh.assert_failed(run_module(hv_ns, "vm_interface", {"config": items, "persist": False}),
                     "config[1].libvirt_type: cannot be built on the host: with bridge libvirt creates the tap itself",
                     "config[2].libvirt_type: cannot be built on the host: with network",
                     "config[3].libvirt_type: cannot be built on the host: with direct",
                     "config[4].kind: cannot be built on the host: a hostdev NIC has no host side")
    nh.assert_same_state(before, nh.kernel_state(hv_ns))  # not even the buildable tap was made


def test_libvirt_validates_and_defines_the_rendered_interfaces(hv_ns, run_module, libvirtd, tmp_path):
    """One domain with a tap, an emulated NIC with a jumbo MTU, a vhost-user port and libvirt's own
    NIC types with their sub-elements (libvirtd probes QEMU on every define here, about a minute:
    so one define for all of them)."""
    from lxml import etree

    result = nh.assert_ok(run_module(hv_ns, "vm_interface", {"state": "rendered", "config": LIBVIRT_ITEMS + LIBVIRT_OWN_ITEMS,
                                                             "targets": ["libvirt"]}))
    rendered = [item["libvirt"] for item in result["rendered"]]
    name = "hvt-nic-%s" % uuid.uuid4().hex[:6]
    path = tmp_path / "domain.xml"
    path.write_text(_domain("".join(rendered), name))
    if VALIDATE:
        check = subprocess.run([VALIDATE, str(path), "domain"], capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
    defined = subprocess.run([libvirtd, "-c", "qemu:///system", "define", str(path)], capture_output=True, text=True, check=False)
    try:
        assert defined.returncode == 0, defined.stderr
        dumped = subprocess.run([libvirtd, "-c", "qemu:///system", "dumpxml", "--inactive", name], capture_output=True, text=True,
                                check=True).stdout
    finally:
        subprocess.run([libvirtd, "-c", "qemu:///system", "undefine", name], capture_output=True, check=False)
    kept = etree.fromstring(dumped.encode()).findall("devices/interface")
    assert len(kept) == len(rendered)
    for text, theirs in zip(rendered, kept):
        ours = etree.fromstring(text)
        assert theirs.get("type") == ours.get("type")
        for element in ours:
            found = theirs.find(element.tag)
            assert found is not None, "libvirt dropped <%s>: %s" % (element.tag, dumped)
            for key, value in element.attrib.items():
                assert found.get(key) == value, "<%s %s=%r> came back as %r" % (element.tag, key, value, found.get(key))
