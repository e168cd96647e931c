# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Least privilege and containment of a NAT network, read from the kernel and /proc:

- its dnsmasq runs as an unprivileged user, with no capability beyond the ones DHCP needs,
  started with an argv of two fixed words, from a configuration only root can change;
- the network refuses what nobody asked for: from upstream, TCP and ping to a guest fail and
  the guest's DNS server does not answer, while the guest reaches upstream and a configured
  port forward does work;
- every text field at its hostile-but-valid extreme (quotes, '#', '$(...)', blanks, maximum
  lengths) stays one directive on one line of dnsmasq's configuration, and dnsmasq itself
  reads back exactly the value given (TFTP root, boot file, TXT record, host names);
- a value that would not fit dnsmasq's line buffer is refused before anything changes.

    upstream ns (203.0.113.1) --veth-- hv ns (up0 203.0.113.2; bridge virbr-c 198.51.100.1) --veth-- vm ns (198.51.100.50)
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import textwrap

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position
from netns import ping, veth  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.hypervisor.networking.plugins.module_utils.model import network_services as svc  # noqa: E402
from ansible_collections.hypervisor.networking.plugins.module_utils.persist import Layout  # noqa: E402

BRIDGE = "virbr-c"
GATEWAY = "198.51.100.1"
VM_IP = "198.51.100.50"
UPLINK_ADDR = "203.0.113.2"
UPSTREAM_ADDR = "203.0.113.1"
DOMAIN_LIMIT = 253
# What dnsmasq may keep after dropping root: binding new addresses to port 53/67 (bind-dynamic),
# ARP and raw sockets for DHCP and router advertisements. Numbers from linux/capability.h.
ALLOWED_CAPABILITIES = {10: "CAP_NET_BIND_SERVICE", 12: "CAP_NET_ADMIN", 13: "CAP_NET_RAW"}
# Every directive render/dnsmasq.py may write.
DIRECTIVES = frozenset((
    "strict-order", "pid-file", "except-interface", "bind-dynamic", "interface", "user", "group", "no-hosts", "port",
    "domain", "expand-hosts", "local", "domain-needed", "no-resolv", "server", "host-record", "srv-host", "txt-record",
    "dhcp-range", "dhcp-host", "dhcp-boot", "enable-tftp", "tftp-root", "dhcp-no-override", "dhcp-authoritative",
    "dhcp-lease-max", "dhcp-leasefile", "dhcp-option", "enable-ra", "ra-param"))

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/sbin/dnsmasq") or not os.path.exists("/bin/busybox"),
                                reason="needs dnsmasq-base and busybox")


UDHCPC_SCRIPT = textwrap.dedent("""\
    #!/bin/sh
    # udhcpc event script: take the lease, record the boot file (BOOTP header or option 67)
    case "$1" in
      bound|renew)
        ip addr add "$ip/${mask:-24}" dev "$interface"
        printf '%s' "${boot_file:-$bootfile}" > "$BOOT_OUT"
        ;;
    esac
    exit 0
""")


# ---- helpers ------------------------------------------------------------------------------
def dig(ns, server, *query):
    """dig's short answer, or "" when the server does not answer (bounded: 2 tries of 1 s)."""
    proc = ns.run("dig", "+short", "+time=1", "+tries=2", "@" + server, *query, check=False, timeout=15)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def dnsmasq_pids(ns):
    return [pid for pid in ns.pids() if _read("/proc/%d/comm" % pid).strip() == "dnsmasq"]


def _read(path, mode="r"):
    try:
        with open(path, mode) as handle:
            return handle.read()
    except OSError:
        return b"" if "b" in mode else ""


def proc_status(pid):
    status = {}
    for line in _read("/proc/%d/status" % pid).splitlines():
        key, _sep, value = line.partition(":")
        status[key] = value.split()
    return status


def capabilities(hex_mask):
    mask = int(hex_mask, 16)
    return {bit for bit in range(64) if mask >> bit & 1}


def conf_path(ns, network):
    return os.path.join(Layout(ns.name).dnsmasq_dir, network + ".conf")


def sysctl_off(*namespaces):
    # New namespaces inherit the root namespace's IPv4 settings: set what these tests rely on.
    for ns in namespaces:
        ns.run("sysctl", "-q", "-w", "net.ipv4.ip_forward=0")


@pytest.fixture
def lab(netns_factory):
    hv, up, vm = (netns_factory(n) for n in ("hv", "up", "vm"))
    sysctl_off(hv, up, vm)
    veth(hv, "up0", up, "eth0")
    hv.run("ip", "addr", "add", UPLINK_ADDR + "/24", "dev", "up0")
    hv.run("ip", "route", "add", "default", "via", UPSTREAM_ADDR)
    up.run("ip", "addr", "add", UPSTREAM_ADDR + "/24", "dev", "eth0")
    veth(hv, "vmp", vm, "eth0")
    yield {"hv": hv, "up": up, "vm": vm}
    nh.remove_state_dir(hv)


def attach_vm(lab, static=True):
    lab["hv"].run("ip", "link", "set", "vmp", "master", BRIDGE)
    if static:
        lab["vm"].run("ip", "addr", "add", VM_IP + "/24", "dev", "eth0")
        lab["vm"].run("ip", "route", "add", "default", "via", GATEWAY)


def nat_network(**extra):
    config = {
        "name": "contained", "bridge": {"name": BRIDGE, "stp": False}, "forward": {"mode": "nat"},
        "ips": [{"address": GATEWAY, "prefix": 24, "dhcp": {"ranges": [{"start": "198.51.100.100", "end": "198.51.100.150"}]}},
                {"address": "2001:db8:c0::1", "prefix": 64}],
        "dns": {"txt": [{"name": "probe", "value": "inside"}]},
        "port_forwards": [{"protocol": "tcp", "host_port": 8080, "guest_ip": VM_IP, "guest_port": 80}],
    }
    config.update(extra)
    return config


def assert_dnsmasq_contained(ns, network):
    """One dnsmasq for `network`: unprivileged, minimal capabilities, a fixed argv, a root-owned config."""
    pids = dnsmasq_pids(ns)
    assert len(pids) == 1, "expected one dnsmasq in %s, found %s" % (ns, pids)
    status = proc_status(pids[0])
    assert all(int(uid) != 0 for uid in status["Uid"]), "dnsmasq runs with a root uid: %s" % status["Uid"]
    assert all(int(gid) != 0 for gid in status["Gid"]), "dnsmasq runs with a root gid: %s" % status["Gid"]
    assert "0" not in status.get("Groups", []), "dnsmasq keeps supplementary group root"
    for field in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        extra = capabilities(status[field][0]) - set(ALLOWED_CAPABILITIES)
        assert not extra, "dnsmasq's %s has capabilities %s beyond %s" % (field, sorted(extra), sorted(ALLOWED_CAPABILITIES.values()))
    argv = _read("/proc/%d/cmdline" % pids[0], "rb").rstrip(b"\0").split(b"\0")
    assert argv == [shutil.which("dnsmasq").encode(), b"--conf-file=" + conf_path(ns, network).encode()], argv
    # only root may change what dnsmasq reads
    for path in (conf_path(ns, network), os.path.dirname(conf_path(ns, network))):
        info = os.stat(path)
        assert info.st_uid == 0 and not info.st_mode & 0o022, "%s is writable by others than root" % path
    return status


# ---- the tests ------------------------------------------------------------------------------
def test_nat_network_refuses_the_unsolicited_and_its_dnsmasq_is_unprivileged(lab, run_module):
    hv, up, vm = lab["hv"], lab["up"], lab["vm"]
    nh.assert_ok(run_module(hv, "vm_network", {"config": [nat_network()], "persist": False}))
    attach_vm(lab)

    status = assert_dnsmasq_contained(hv, "contained")
    print("dnsmasq: Uid %s Gid %s CapEff %s" % (status["Uid"], status["Gid"], status["CapEff"]))
    # the module left no other process behind in the namespace
    assert sorted(hv.pids()) == dnsmasq_pids(hv)

    # the guest reaches upstream, masqueraded behind the uplink's address
    assert ping(vm, UPSTREAM_ADDR, count=2, timeout=3)
    server = nh.listen(up, UPSTREAM_ADDR, 7000)
    assert nh.connect(vm, UPSTREAM_ADDR, 7000) == "connected"
    assert nh.peer_of(server) == UPLINK_ADDR
    assert dig(vm, GATEWAY, "TXT", "probe") == '"inside"'

    # upstream, even knowing the route to the guests, gets nothing it did not ask for
    up.run("ip", "route", "add", "198.51.100.0/24", "via", UPLINK_ADDR)
    guest = nh.listen(vm, VM_IP, 7001, seconds=5)
    assert nh.connect(up, VM_IP, 7001) != "connected"
    assert nh.peer_of(guest) == "timeout"
    assert not ping(up, VM_IP, count=2, timeout=2)
    # the guests' DNS server serves the guests only: not from upstream, at either address
    for server_address in (GATEWAY, UPLINK_ADDR):
        assert dig(up, server_address, "TXT", "probe") == "", "dnsmasq answers upstream at %s" % server_address

    # ...except through the port forward that was configured
    guest = nh.listen(vm, VM_IP, 80)
    assert nh.connect(up, UPLINK_ADDR, 8080) == "connected"
    assert nh.peer_of(guest) == UPSTREAM_ADDR

    nh.assert_ok(run_module(hv, "vm_network", {"config": [{"name": "contained"}], "state": "deleted", "persist": False}))
    assert dnsmasq_pids(hv) == []


def _hostile(length, core=" #1;$(reboot) `id` \"q\" \\x 'a'=b {} | & < > ~ "):
    """`core` padded to `length` bytes; starts and ends with a blank, which dnsmasq would drop unquoted."""
    return (core + "x" * length)[:length - 1] + " "


def _hostile_tftp_root(base):
    """A directory path of exactly svc.MAX_TEXT bytes whose components hold every character a path may."""
    component = "t #$(id) `x` \"q\" \\ 'a'=b;"
    path = base
    while len(path) + 1 + len(component) < svc.MAX_TEXT:
        path = os.path.join(path, component)
    return os.path.join(path, "y" * (svc.MAX_TEXT - len(path) - 1))


def _domain(length=DOMAIN_LIMIT):
    labels = []
    while len(".".join(labels + ["x" * 63])) <= length:
        labels.append("d_-%s" % ("e" * 59) + "f")
    rest = length - len(".".join(labels)) - 1
    return ".".join(labels + ["g" * rest])


def test_hostile_but_valid_text_stays_one_directive_and_reaches_dnsmasq_intact(lab, run_module, tmp_path):
    hv, vm = lab["hv"], lab["vm"]
    base = tempfile.mkdtemp(prefix="hvt-tftp-", dir="/tmp")
    try:
        os.chmod(base, 0o755)  # dnsmasq reads it after dropping root
        tftp_root = _hostile_tftp_root(base)
        assert len(tftp_root.encode()) == svc.MAX_TEXT
        os.makedirs(tftp_root)
        for parent, dirs, _files in os.walk(base):
            for name in dirs:
                os.chmod(os.path.join(parent, name), 0o755)
        with open(os.path.join(tftp_root, "boot.txt"), "w", encoding="utf-8") as handle:
            handle.write("served from the hostile root\n")

        # long names, yet valid DNS names also with a host name or _service._proto in front
        domain = _domain(DOMAIN_LIMIT - 53)
        boot_file = _hostile(120)  # the BOOTP header's file field holds 128 bytes
        txt_value = _hostile(svc.MAX_TEXT).replace('"', "q").replace("\\", "/")  # the TXT value's own rule
        names = ["n%d_-x" % index for index in range(40)]
        host = {"ip": "198.51.100.20", "hostnames": []}
        for name in names:  # as many names as fit into one dnsmasq line
            if len(svc.host_record({"ip": host["ip"], "hostnames": host["hostnames"] + [name]}, domain)) > svc.DNSMASQ_MAX_LINE:
                break
            host["hostnames"].append(name)
        config = nat_network(
            domain={"name": domain},
            ips=[{"address": GATEWAY, "prefix": 24, "tftp_root": tftp_root, "dhcp": {
                "ranges": [{"start": "198.51.100.100", "end": "198.51.100.150"}],
                "hosts": [{"mac": "52:54:00:00:00:01", "id": ":".join(["ab"] * 130), "name": "h_" + "a" * 61, "ip": "198.51.100.21"}],
                "bootp": {"file": boot_file}}}],
            dns={"forwarders": [{"domain": domain, "addr": "203.0.113.53"}],
                 "hosts": [host],
                 "txt": [{"name": "t_-." + _domain(DOMAIN_LIMIT - 4), "value": txt_value}],
                 "srv": [{"service": "a-" + "b" * 13, "protocol": "udp", "domain": domain, "target": _domain(),
                          "port": 65535, "priority": 65535, "weight": 65535}]},
            port_forwards=[])
        nh.assert_ok(run_module(hv, "vm_network", {"config": [config], "persist": False}))
        nh.assert_unchanged_run(run_module(hv, "vm_network", {"config": [config], "persist": False}))
        assert_dnsmasq_contained(hv, "contained")

        # one directive per line, each a directive the renderer writes, none near dnsmasq's buffer
        with open(conf_path(hv, "contained"), "rb") as handle:
            lines = handle.read().decode("utf-8").split("\n")
        assert lines[-1] == "" and lines[0].startswith("# Generated by hypervisor.networking")
        directives = [line.split("=", 1)[0] for line in lines[1:-1]]
        assert set(directives) <= DIRECTIVES, sorted(set(directives) - DIRECTIVES)
        for line in lines:
            assert len(line.encode()) <= svc.DNSMASQ_MAX_LINE and line.isprintable(), line[:80]
        for single in ("tftp-root", "dhcp-boot", "txt-record", "srv-host", "host-record", "domain", "server", "interface"):
            assert directives.count(single) == 1, (single, directives)
        check = hv.run("dnsmasq", "--test", "--conf-file=" + conf_path(hv, "contained"), check=False)
        assert check.returncode == 0, check.stderr

        # dnsmasq read back every value exactly as given
        attach_vm(lab, static=False)
        script = tmp_path / "udhcpc.sh"
        script.write_text(UDHCPC_SCRIPT)
        script.chmod(0o755)
        boot_out = tmp_path / "boot-file"
        vm.run("env", "BOOT_OUT=%s" % boot_out, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "6", "-T", "1",
               "-s", str(script), timeout=30)
        assert boot_out.read_text() == boot_file
        fetched = tmp_path / "boot.txt"
        vm.run("busybox", "tftp", "-g", "-r", "boot.txt", "-l", str(fetched), GATEWAY, timeout=20)
        assert fetched.read_text() == "served from the hostile root\n"
        assert dig(vm, GATEWAY, "TXT", config["dns"]["txt"][0]["name"]) == '"%s"' % txt_value
        assert dig(vm, GATEWAY, "%s.%s" % (host["hostnames"][-1], domain)) == host["ip"]
        assert dig(vm, GATEWAY, "SRV", "_a-%s._udp.%s" % ("b" * 13, domain)).endswith(config["dns"]["srv"][0]["target"] + ".")

        nh.assert_ok(run_module(hv, "vm_network", {"config": [{"name": "contained"}], "state": "deleted", "persist": False}))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_values_that_would_overflow_a_dnsmasq_line_are_refused_before_any_change(lab, run_module):
    hv = lab["hv"]
    before = nh.settled_state(hv)  # the fresh veths' IPv6 link-local addresses finish DAD first
    # dnsmasq reads 1024 bytes at a time: the tail of a longer line would be read as a directive
    injection = "/" + "a" * (1023 - len("tftp-root=/")) + "interface=up0"
    config = nat_network(
        ips=[{"address": GATEWAY, "prefix": 24, "tftp_root": injection, "dhcp": {
            "ranges": [{"start": "198.51.100.100", "end": "198.51.100.150"}],
            "hosts": [{"mac": "52:54:00:00:00:01", "id": ":".join(["ab"] * 131), "ip": "198.51.100.21"}],
            "bootp": {"file": "pxe\tlinux.0"}}}],
        dns={"txt": [{"name": "t", "value": "v" * 256}],
             "srv": [{"service": "ldap", "protocol": "tcp", "target": "t" * 254}]})
    result = run_module(hv, "vm_network", {"config": [config], "persist": False})
    nh.assert_failed(result, "config[0].ips[0].tftp_root", "config[0].ips[0].dhcp.hosts[0].id", "config[0].ips[0].dhcp.bootp.file",
                     "config[0].dns.txt[0].value", "config[0].dns.srv[0].target")
    # names that are each valid but together overflow one host-record line
    config = nat_network(dns={"hosts": [{"ip": "198.51.100.20", "hostnames": ["n%03d-%s" % (i, "x" * 50) for i in range(20)]}]})
    result = run_module(hv, "vm_network", {"config": [config], "persist": False})
    nh.assert_failed(result, "config[0].dns.hosts[0].hostnames", "split them over several hosts entries")
    nh.assert_same_state(before, nh.kernel_state(hv))
    assert dnsmasq_pids(hv) == [] and not os.path.exists(conf_path(hv, "contained"))
