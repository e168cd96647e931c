#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sandbox
short_description: Network-namespace "hosts" to test roles in, for molecule and CI
version_added: 0.1.0
description:
  - Builds (O(state=present)) or removes (O(state=absent)) a sandbox of network namespaces on the machine that runs it,
    so that roles built on this collection can be tested without spare hypervisors or VMs.
  - Each platform becomes a network namespace with C(lo) up, named O(prefix) followed by the platform's name, and an
    interpreter wrapper C(<directory>/python-<platform>) (C(exec ip netns exec NS <python> "$@")) that runs modules
    inside it. A host with C(ansible_connection=local) and that wrapper as C(ansible_python_interpreter) is the namespace.
  - Optional platform keys make the namespace look like a hypervisor before the role runs, see O(platforms).
  - Also writes C(<directory>/inventory.yml) (every platform as a host, for a plain C(ansible-playbook -i) run) and
    C(<directory>/sandbox.json) (what was made, read by O(state=absent)).
  - O(state=absent) removes every namespace whose name starts with O(prefix) (after killing the processes inside it,
    found with C(ip netns pids)), what this collection saved for those namespaces (state, dnsmasq configuration, pid
    and lease files), the users the sandbox created, and the files it wrote. It works from names alone, so it also
    cleans up after a run that was killed, and a second run changes nothing.
  - The collection's playbooks C(hypervisor.networking.sandbox_create) and C(hypervisor.networking.sandbox_destroy)
    call this module; they are the C(create) and C(destroy) steps of a molecule scenario with the default driver.
  - Not a resource module. It runs on the controller (C(hosts=localhost)) as root and never changes the links,
    addresses, routes or firewall of the namespace it runs in.
author:
  - hypervisor.networking contributors (@hypervisor-networking)
attributes:
  check_mode:
    description: Reports whether anything would change and changes nothing.
    support: full
  diff_mode:
    description: Not supported.
    support: none
options:
  state:
    description: V(present) builds the sandbox (afresh when it differs from the one there), V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  directory:
    description:
      - Directory of the sandbox's files (wrappers, inventory, C(sandbox.json)), created if missing; molecule's
        ephemeral directory in a scenario.
    type: path
    required: true
  prefix:
    description:
      - Start of every namespace name of this sandbox, and what O(state=absent) looks for.
      - Defaults to C(hvt-) followed by 6 hex digits of a hash of O(directory), so that sandboxes of different
        directories (scenarios, checkouts, CI jobs) never clash.
      - Letters, digits, C(. _ -); at most 32 characters.
    type: str
  python:
    description: The interpreter the wrappers run inside the namespaces; it needs C(pyroute2). Defaults to the one running this module.
    type: path
  platforms:
    description:
      - The sandbox's hosts (molecule's C(platforms)). Only the keys below are read.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Host name; letters, digits, C(. _ -), starting with a letter or digit.
        type: str
        required: true
      groups:
        description: Inventory groups of the host in C(<directory>/inventory.yml).
        type: list
        elements: str
        default: []
      uplinks:
        description:
          - The host's uplink NICs. Each is a veth whose other end is in the sandbox's upstream namespace
            (O(prefix)C(_upstream)), on a bridge named after O(platforms[].uplinks[].segment); uplinks of several
            platforms on one segment share that LAN.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: NIC name in the host's namespace (at most 15 characters), for example C(eno1).
            type: str
            required: true
          addresses:
            description: Addresses with prefix length (C(198.51.100.10/24), C(2001:db8:1::10/64)) on the NIC.
            type: list
            elements: str
            default: []
          gateway:
            description:
              - IPv4 address of the upstream router. It is put on the segment's bridge in the upstream namespace (with
                the prefix length of the NIC's IPv4 address in the same subnet) and the host gets a default route via it.
            type: str
          gateway6:
            description: The same for IPv6.
            type: str
          segment:
            description: Upstream LAN (bridge in the upstream namespace) this NIC is on; at most 15 characters.
            type: str
            default: lan
          mtu:
            description: MTU of the NIC and its upstream end.
            type: int
          mac:
            description: MAC address of the NIC.
            type: str
      vms:
        description:
          - '"VMs": each is a namespace (O(prefix)C(_)I(platform)C(_)I(vm)) at the other end of a veth whose host end
            is O(platforms[].vms[].port), so the role under test can put that port on a bridge and the VM can ping.'
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: VM name; letters, digits, C(. _ -).
            type: str
            required: true
          port:
            description: Name of the host end in the host's namespace (at most 15 characters), for example C(vnet0).
            type: str
            required: true
          interface:
            description: Name of the VM's NIC.
            type: str
            default: eth0
          addresses:
            description: Addresses with prefix length on the VM's NIC.
            type: list
            elements: str
            default: []
          gateway:
            description: IPv4 default gateway of the VM, typically an address the role under test puts on a bridge.
            type: str
          gateway6:
            description: IPv6 default gateway of the VM.
            type: str
          mac:
            description: MAC address of the VM's NIC.
            type: str
          mtu:
            description: MTU of both ends.
            type: int
      users:
        description:
          - System users a VMM would run as (tap owners), created when missing and removed by O(state=absent).
          - Users are not per namespace, they exist on the whole machine; a user that already exists is left alone.
        type: list
        elements: str
        default: []
notes:
  - Needs root, C(ip) (iproute2) and, for O(platforms[].users), C(useradd)/C(userdel).
  - Only documentation addresses (C(192.0.2.0/24), C(198.51.100.0/24), C(203.0.113.0/24), C(2001:db8::/32)) or private
    ones are sensible inside a sandbox; nothing is routed out of it.
seealso:
  - name: Testing your own roles
    description: README section with a molecule scenario and an inventory for plain C(ansible-playbook) runs.
    link: https://example.invalid/hypervisor/networking/blob/main/README.md
"""

EXAMPLES = r"""
- name: Two hypervisors on one upstream LAN, one with a VM on port vnet0
  hypervisor.networking.sandbox:
    directory: /tmp/my-sandbox
    platforms:
      - name: hv1
        groups: [hypervisors]
        uplinks:
          - {name: eno1, addresses: [198.51.100.11/24], gateway: 198.51.100.1}
        vms:
          - {name: vm1, port: vnet0, addresses: [203.0.113.10/24], gateway: 203.0.113.1}
        users: [cloud-hypervisor]
      - name: hv2
        groups: [hypervisors]
        uplinks:
          - {name: eno1, addresses: [198.51.100.12/24], gateway: 198.51.100.1}

- name: Remove it, also after a killed run
  hypervisor.networking.sandbox:
    directory: /tmp/my-sandbox
    state: absent
"""

RETURN = r"""
prefix:
  description: The namespace-name prefix of the sandbox.
  returned: always
  type: str
  sample: hvt-3f2a1c-
instances:
  description: One entry per platform, in molecule's instance-config format plus the sandbox's own keys.
  returned: state is present
  type: list
  elements: dict
  sample:
    - instance: hv1
      netns: hvt-3f2a1c-hv1
      connection: local
      python: /tmp/my-sandbox/python-hv1
      vms: {vm1: hvt-3f2a1c-_hv1_vm1}
      upstream: hvt-3f2a1c-_upstream
inventory:
  description: Path of the inventory file of the sandbox's hosts.
  returned: state is present
  type: str
  sample: /tmp/my-sandbox/inventory.yml
removed:
  description: What O(state=absent) removed (namespaces, saved-state paths, users, files).
  returned: state is absent
  type: list
  elements: str
"""

import glob
import hashlib
import ipaddress
import json
import os
import pwd
import re
import shutil
import signal
import sys
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.dnsmasq import UNIT_DIR
from ansible_collections.hypervisor.networking.plugins.module_utils.persist import Layout

NETNS_DIR = "/run/netns"
STATE_FILE = "sandbox.json"
INVENTORY_FILE = "inventory.yml"
USER_MARK = "hypervisor.networking sandbox %s"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_IFNAME_RE = re.compile(r"^[A-Za-z0-9_.+-]{1,15}$")
_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


def collection_state_paths(netns):
    """Every path where the collection keeps something for network namespace `netns`.

    persist.Layout knows them: one persistent and one runtime directory per namespace, plus
    where the previous layout kept the same things. `netns` may be a glob pattern.
    """
    layout = Layout(netns)
    # saved intent and restore bundle; dnsmasq files, service records, nft fingerprints, sysctls
    paths = [layout.persistent, layout.runtime]
    # the same, where the previous layout kept them
    paths += [layout.legacy_bundle, layout.legacy_services_dir] + sorted(set(layout.legacy_dnsmasq_dirs.values()))
    # dnsmasq units (where systemd runs); namespace names hold only unit-safe characters
    paths.append(os.path.join(UNIT_DIR, "hvnet-dnsmasq-%s-*.service" % netns))
    return paths


def default_prefix(directory):
    return "hvt-%s-" % hashlib.sha1(os.path.abspath(directory).encode()).hexdigest()[:6]


class SandboxError(Exception):
    pass


class Sandbox:
    def __init__(self, module):
        self.module = module
        params = module.params
        self.directory = os.path.abspath(params["directory"])
        self.prefix = params["prefix"] or default_prefix(self.directory)
        self.python = params["python"] or sys.executable
        self.platforms = params["platforms"] or []
        self.upstream = self.prefix + "_upstream"

    # ---- helpers --------------------------------------------------------------------------
    def run(self, *argv):
        rc, out, err = self.module.run_command([str(arg) for arg in argv])
        if rc != 0:
            raise SandboxError("%s failed: %s" % (" ".join(str(arg) for arg in argv[:6]), err.strip() or out.strip()))
        return out

    def in_ns(self, netns, *argv):
        return self.run("ip", "-n", netns, *argv)

    def path(self, name):
        return os.path.join(self.directory, name)

    def netns_of(self, platform):
        return self.prefix + platform

    def vm_netns_of(self, platform, vm):
        return "%s_%s_%s" % (self.prefix, platform, vm)

    # ---- validation: every problem in one message, before anything changes ----------------
    def validate(self):
        errors = []
        if not _PREFIX_RE.match(self.prefix):
            errors.append("prefix: %r must be letters, digits, '. _ -', at most 32 characters" % self.prefix)
        names = set()
        for i, platform in enumerate(self.platforms):
            where = "platforms[%d]" % i
            name = platform["name"]
            if not _NAME_RE.match(name):
                errors.append("%s.name: %r must be letters, digits, '. _ -', starting with a letter or digit" % (where, name))
            ports = {}
            for j, uplink in enumerate(platform["uplinks"]):
                errors += self._check_nic("%s.uplinks[%d]" % (where, j), uplink, ports)
                if not _IFNAME_RE.match(uplink["segment"] or ""):
                    errors.append("%s.uplinks[%d].segment: %r must be 1 to 15 letters, digits or '_ . + -'" % (where, j, uplink["segment"]))
                elif uplink["segment"] == "lo" or re.match(r"^h\d+u\d+$", uplink["segment"]):
                    errors.append("%s.uplinks[%d].segment: %r is reserved for the upstream ends of uplinks" % (where, j, uplink["segment"]))
            for k, vm in enumerate(platform["vms"]):
                vm_where = "%s.vms[%d]" % (where, k)
                if not _NAME_RE.match(vm["name"]):
                    errors.append("%s.name: %r must be letters, digits, '. _ -', starting with a letter or digit" % (vm_where, vm["name"]))
                errors += self._check_nic(vm_where, dict(vm, name=vm["port"]), ports, field="port")
                if not _IFNAME_RE.match(vm["interface"] or ""):
                    errors.append("%s.interface: %r must be 1 to 15 letters, digits or '_ . + -'" % (vm_where, vm["interface"]))
                vm_netns = self.vm_netns_of(name, vm["name"])
                if vm_netns in names:
                    errors.append("%s.name: namespace %s is already used" % (vm_where, vm_netns))
                names.add(vm_netns)
            for u, user in enumerate(platform["users"]):
                if not _USER_RE.match(user):
                    errors.append("%s.users[%d]: %r is not a valid user name (lower case letters, digits, '_ -', at most 32)" % (where, u, user))
            if self.netns_of(name) in names:
                errors.append("%s.name: %r is used by another platform" % (where, name))
            names.add(self.netns_of(name))
        if errors:
            self.module.fail_json(msg="invalid sandbox: " + "; ".join(errors))

    @staticmethod
    def _check_nic(where, nic, ports, field="name"):
        errors = []
        name = nic["name"]
        if not _IFNAME_RE.match(name) or name in (".", ".."):
            errors.append("%s.%s: %r must be 1 to 15 letters, digits or '_ . + -'" % (where, field, name))
        elif name in ports or name == "lo":
            errors.append("%s.%s: %r is already used by %s" % (where, field, name, ports.get(name, "the loopback")))
        ports[name] = where
        networks = []
        for a, text in enumerate(nic["addresses"]):
            try:
                networks.append(ipaddress.ip_interface(text if "/" in text else "invalid"))
            except ValueError:
                errors.append("%s.addresses[%d]: %r is not an address with a prefix length (e.g. 198.51.100.10/24)" % (where, a, text))
        for key, version in (("gateway", 4), ("gateway6", 6)):
            if nic.get(key) is None:
                continue
            try:
                gateway = ipaddress.ip_address(nic[key])
            except ValueError:
                gateway = None
            if gateway is None or gateway.version != version:
                errors.append("%s.%s: %r is not an IPv%d address" % (where, key, nic[key], version))
            elif not any(gateway in net.network for net in networks):
                errors.append("%s.%s: %s is in none of the subnets of %s.addresses" % (where, key, gateway, where))
        if nic.get("mac") is not None and not _MAC_RE.match(nic["mac"]):
            errors.append("%s.mac: %r is not a MAC address (aa:bb:cc:dd:ee:ff)" % (where, nic["mac"]))
        if nic.get("mtu") is not None and not 68 <= nic["mtu"] <= 65535:
            errors.append("%s.mtu: %d is outside the allowed range 68..65535" % (where, nic["mtu"]))
        return errors

    # ---- present ----------------------------------------------------------------------------
    def request(self):
        """What state=present builds; compared with sandbox.json to stay idempotent."""
        return {"prefix": self.prefix, "python": self.python, "platforms": self.platforms}

    def saved(self):
        try:
            with open(self.path(STATE_FILE)) as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return {}

    def save(self, document):
        os.makedirs(self.directory, exist_ok=True)
        _write(self.path(STATE_FILE), json.dumps(document, indent=2, sort_keys=True) + "\n", 0o600)

    def namespaces(self):
        try:
            return sorted(name for name in os.listdir(NETNS_DIR) if name.startswith(self.prefix))
        except OSError:
            return []

    def expected_namespaces(self):
        names = [self.netns_of(p["name"]) for p in self.platforms]
        names += [self.vm_netns_of(p["name"], vm["name"]) for p in self.platforms for vm in p["vms"]]
        if any(p["uplinks"] for p in self.platforms):
            names.append(self.upstream)
        return sorted(names)

    def instances(self):
        return [{"instance": p["name"], "netns": self.netns_of(p["name"]), "connection": "local",
                 "python": self.path("python-" + p["name"]),
                 "vms": dict((vm["name"], self.vm_netns_of(p["name"], vm["name"])) for vm in p["vms"]),
                 "upstream": self.upstream if p["uplinks"] else None}
                for p in self.platforms]

    def present(self):
        self.validate()
        saved = self.saved()
        files = self.files()
        up_to_date = (saved.get("request") == self.request() and self.namespaces() == self.expected_namespaces()
                      and all(os.path.exists(path) for path in files))
        result = {"changed": not up_to_date, "prefix": self.prefix, "instances": self.instances(),
                  "inventory": self.path(INVENTORY_FILE)}
        if up_to_date or self.module.check_mode:
            return result
        # Afresh: whatever a previous (perhaps killed) run left goes first.
        self.absent()
        try:
            created_users = self.create_users()
            self.save({"request": self.request(), "users": created_users, "files": []})
            self.build()
            self.write_files()
            self.save({"request": self.request(), "users": created_users, "files": files})
        except (SandboxError, OSError) as exc:
            # A half-built sandbox is of no use: remove what this run made (found by name).
            self.absent()
            raise SandboxError("%s; what was made is removed again" % exc) from exc
        return result

    def create_users(self):
        created = []
        wanted = sorted(set(user for p in self.platforms for user in p["users"]))
        for user in wanted:
            try:
                pwd.getpwnam(user)
                continue
            except KeyError:
                pass
            self.run("useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                     "--shell", "/usr/sbin/nologin", "--comment", USER_MARK % self.prefix, user)
            created.append(user)
        return created

    def add_ns(self, netns):
        self.run("ip", "netns", "add", netns)
        self.in_ns(netns, "link", "set", "lo", "up")

    def configure_nic(self, netns, nic, name):
        for text in nic["addresses"]:
            extra = ["nodad"] if ipaddress.ip_interface(text).version == 6 else []
            self.in_ns(netns, "addr", "add", text, "dev", name, *extra)
        self.in_ns(netns, "link", "set", "dev", name, "up")
        for key, family in (("gateway", "-4"), ("gateway6", "-6")):
            if nic.get(key):
                self.in_ns(netns, family, "route", "add", "default", "via", nic[key], "dev", name)

    def veth(self, netns, name, peer_netns, peer, mac=None, mtu=None):
        argv = ["link", "add", name]
        if mac:
            argv += ["address", mac]
        if mtu:
            argv += ["mtu", mtu]
        argv += ["type", "veth", "peer", "name", peer, "netns", peer_netns]
        if mtu:
            argv += ["mtu", mtu]
        # Made inside `netns` with the peer placed straight into `peer_netns`: nothing ever
        # appears in the namespace this module runs in.
        self.in_ns(netns, *argv)

    def build(self):
        if any(p["uplinks"] for p in self.platforms):
            self.add_ns(self.upstream)
        segments = {}
        for i, platform in enumerate(self.platforms):
            netns = self.netns_of(platform["name"])
            self.add_ns(netns)
            for j, uplink in enumerate(platform["uplinks"]):
                segment = uplink["segment"]
                if segment not in segments:
                    self.in_ns(self.upstream, "link", "add", segment, "type", "bridge", "stp_state", "0")
                    self.in_ns(self.upstream, "link", "set", "dev", segment, "up")
                    segments[segment] = set()
                peer = "h%du%d" % (i, j)
                self.veth(netns, uplink["name"], self.upstream, peer, uplink["mac"], uplink["mtu"])
                self.in_ns(self.upstream, "link", "set", "dev", peer, "master", segment, "up")
                self.configure_nic(netns, uplink, uplink["name"])
                for key in ("gateway", "gateway6"):
                    gateway = _gateway_interface(uplink, key)
                    if gateway and gateway not in segments[segment]:
                        extra = ["nodad"] if gateway.version == 6 else []
                        self.in_ns(self.upstream, "addr", "add", str(gateway), "dev", segment, *extra)
                        segments[segment].add(gateway)
            for vm in platform["vms"]:
                vm_netns = self.vm_netns_of(platform["name"], vm["name"])
                self.add_ns(vm_netns)
                self.veth(netns, vm["port"], vm_netns, vm["interface"], None, vm["mtu"])
                if vm["mac"]:
                    self.in_ns(vm_netns, "link", "set", "dev", vm["interface"], "address", vm["mac"])
                self.in_ns(netns, "link", "set", "dev", vm["port"], "up")
                self.configure_nic(vm_netns, vm, vm["interface"])

    def files(self):
        return [self.path("python-" + p["name"]) for p in self.platforms] + [self.path(INVENTORY_FILE)]

    def write_files(self):
        for platform in self.platforms:
            _write(self.path("python-" + platform["name"]),
                   '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' % (self.netns_of(platform["name"]), self.python), 0o755)
        inventory = {"all": {"hosts": {}, "children": {}}}
        for instance, platform in zip(self.instances(), self.platforms):
            inventory["all"]["hosts"][platform["name"]] = {
                "ansible_connection": "local", "ansible_python_interpreter": instance["python"],
                "sandbox_netns": instance["netns"], "sandbox_vms": instance["vms"]}
            for group in platform["groups"]:
                inventory["all"]["children"].setdefault(group, {"hosts": {}})["hosts"][platform["name"]] = None
        # JSON is YAML: the inventory plugin reads it as it is.
        _write(self.path(INVENTORY_FILE), "# Written by hypervisor.networking.sandbox\n" + json.dumps(inventory, indent=2) + "\n", 0o644)

    # ---- absent -----------------------------------------------------------------------------
    def absent(self):
        """Remove by name, not by record: also what a killed run left. Returns what was removed."""
        removed = []
        saved = self.saved()
        for netns in self.namespaces():
            removed.append("namespace " + netns)
            if not self.module.check_mode:
                self.kill_processes(netns)
                self.run("ip", "netns", "delete", netns)
        units = False
        for pattern in collection_state_paths(glob.escape(self.prefix) + "*"):
            for path in sorted(glob.glob(pattern)):
                removed.append("saved state " + os.path.basename(path))
                units = units or path.endswith(".service")
                if not self.module.check_mode:
                    _remove_tree(path)
        if units and not self.module.check_mode and os.path.isdir("/run/systemd/system"):
            self.run("systemctl", "daemon-reload")
        for user in self.marked_users():
            removed.append("user " + user)
            if not self.module.check_mode:
                self.run("userdel", user)
        for path in saved.get("files", []) + [self.path(STATE_FILE)]:
            if os.path.exists(path):
                removed.append("file " + os.path.basename(path))
                if not self.module.check_mode:
                    os.unlink(path)
        return removed

    def marked_users(self):
        """Users this sandbox created: marked in their comment field (found after a killed run too)."""
        return sorted(entry.pw_name for entry in pwd.getpwall() if entry.pw_gecos == USER_MARK % self.prefix)

    def kill_processes(self, netns):
        """SIGTERM what runs in the namespace (dnsmasq, a test's daemons), then SIGKILL, bounded."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.pids(netns)
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 3
            while pids and time.monotonic() < deadline:
                pids = self.pids(netns)
                time.sleep(0.05)
            if not pids:
                return

    def pids(self, netns):
        rc, out, dummy = self.module.run_command(["ip", "netns", "pids", netns])
        return [int(pid) for pid in out.split() if pid.isdigit() and int(pid) != os.getpid()] if rc == 0 else []


def _gateway_interface(nic, key):
    """The gateway with the prefix length of the NIC's address in the same subnet."""
    if not nic.get(key):
        return None
    gateway = ipaddress.ip_address(nic[key])
    for text in nic["addresses"]:
        network = ipaddress.ip_interface(text).network
        if gateway in network:
            return ipaddress.ip_interface("%s/%d" % (gateway, network.prefixlen))
    return None


def _write(path, text, mode):
    temp = path + ".tmp"
    with open(temp, "w") as handle:
        handle.write(text)
    os.chmod(temp, mode)
    os.replace(temp, path)


def _remove_tree(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


NIC_SPEC = {
    "addresses": {"type": "list", "elements": "str", "default": []},
    "gateway": {"type": "str"},
    "gateway6": {"type": "str"},
    "mtu": {"type": "int"},
    "mac": {"type": "str"},
}

PLATFORM_SPEC = {
    "name": {"type": "str", "required": True},
    "groups": {"type": "list", "elements": "str", "default": []},
    "uplinks": {"type": "list", "elements": "dict", "default": [],
                "options": dict(NIC_SPEC, name={"type": "str", "required": True}, segment={"type": "str", "default": "lan"})},
    "vms": {"type": "list", "elements": "dict", "default": [],
            "options": dict(NIC_SPEC, name={"type": "str", "required": True}, port={"type": "str", "required": True},
                            interface={"type": "str", "default": "eth0"})},
    "users": {"type": "list", "elements": "str", "default": []},
}


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "directory": {"type": "path", "required": True},
            "prefix": {"type": "str"},
            "python": {"type": "path"},
            "platforms": {"type": "list", "elements": "dict", "default": [], "options": PLATFORM_SPEC},
        },
        supports_check_mode=True,
    )
    if os.geteuid() != 0:
        module.fail_json(msg="the sandbox needs root (network namespaces, users)")
    sandbox = Sandbox(module)
    try:
        if module.params["state"] == "absent":
            removed = sandbox.absent()
            module.exit_json(changed=bool(removed), prefix=sandbox.prefix, removed=removed)
        module.exit_json(**sandbox.present())
    except SandboxError as exc:
        module.fail_json(msg=str(exc), prefix=sandbox.prefix)


if __name__ == "__main__":
    main()
