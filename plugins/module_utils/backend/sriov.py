# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sriov_pool's host: the sysfs backend (VF count, driver binding) plus VF attributes through
netlink (vf_netlink.py), the eswitch mode through devlink, and the udev rule that keeps
NetworkManager away from VFs. The snapshot is the sysfs one plus::

    {"sriov": {PF address: {"netdev": str or None, "vfs": [netlink VF attributes by index],
                            "eswitch_mode": str or None}},
     "addresses": {ifname: [addresses]},   # VFs holding an address are in use
     "domains": {PCI address: [names]},    # ... and VFs a running libvirt domain passes through
     "nm_running": bool,
     "udev_rules": {PF address: rule text}}
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import libvirt as backend_libvirt
from ansible_collections.hypervisor.networking.plugins.module_utils.backend import sysfs
from ansible_collections.hypervisor.networking.plugins.module_utils.backend.vf_netlink import VfNetlink
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError
from ansible_collections.hypervisor.networking.plugins.module_utils.plan import describe

UDEV_RULES_DIR = "/etc/udev/rules.d"
NM_RUN_DIR = "/run/NetworkManager"  # present while NetworkManager runs
UDEV_RULE_PREFIX = "70-hypervisor-networking-sriov-"  # the files of ours: only these are ever removed
DEVLINK_TIMEOUT = 60


def udev_rule_path(rules_dir, pf_address):
    return os.path.join(rules_dir, "%s%s.rules" % (UDEV_RULE_PREFIX, pf_address))


def vf_address(pf_address, offset, stride, index):
    """The PCI address the kernel gives VF `index` (pci_iov_virtfn_bus/devfn: routing id + offset + index * stride)."""
    domain, bus, rest = pf_address.split(":")
    device, function = rest.split(".")
    routing_id = (int(bus, 16) << 8) + (int(device, 16) << 3) + int(function) + offset + index * stride
    return "%s:%02x:%02x.%d" % (domain, (routing_id >> 8) & 0xFF, (routing_id >> 3) & 0x1F, routing_id & 0x7)


def udev_rule(pf_address, vf_addresses):
    """Rules marking the VFs' interfaces unmanaged by NetworkManager (matched by VF PCI address,
    known before the VFs exist, so the rule is in place when they appear)."""
    lines = ["# Written by hypervisor.networking (sriov_pool): the VFs of %s are not NetworkManager's" % pf_address]
    lines += ['ACTION=="add|change", SUBSYSTEM=="net", KERNELS=="%s", ENV{NM_UNMANAGED}="1"' % vf for vf in vf_addresses]
    return "\n".join(lines) + "\n"


class SriovBackend(sysfs.Sysfs):
    def __init__(self, root=None, timeout=60, vf_netlink=None, udev_rules_dir=None, nm_run_dir=None, uri=None, ask_libvirt=True):
        super().__init__(root)
        self.timeout = timeout
        # the libvirtd asked which running domain uses a VF (not asked when ask_libvirt is false)
        self.uri = (uri or backend_libvirt.DEFAULT_URI) if ask_libvirt else None
        self.netlink = vf_netlink or VfNetlink()
        self.udev_rules_dir = udev_rules_dir or UDEV_RULES_DIR
        self.nm_run_dir = nm_run_dir or NM_RUN_DIR
        self.libvirt = None  # backend/libvirt.LibvirtHost, opened by the resource when a pool has a libvirt network

    def close(self):
        self.netlink.close()
        if self.libvirt is not None:
            self.libvirt.close()

    # ---- reading --------------------------------------------------------------------------
    def read(self):
        snapshot = super().read()
        pfs = {}
        for address, device in snapshot["pci"].items():
            if device["sriov"] is None:
                continue
            netdev = device["netdevs"][0] if device["netdevs"] else None
            vfs = self.netlink.read_vfs(netdev) if netdev and device["sriov"]["numvfs"] else []
            pfs[address] = {"netdev": netdev, "vfs": vfs, "eswitch_mode": self.eswitch_mode(address)}
        snapshot["sriov"] = pfs
        in_use_candidates = any(pf["numvfs"] for pf in (d["sriov"] for d in snapshot["pci"].values()) if pf)
        snapshot["addresses"] = self.netlink.addresses() if in_use_candidates else {}
        # the binding is imported only here, and only with VFs: hosts without libvirt skip it silently
        snapshot["domains"] = backend_libvirt.running_pci_users(self.uri) if in_use_candidates and self.uri else {}
        snapshot["nm_running"] = os.path.isdir(self.nm_run_dir)
        snapshot["udev_rules"] = self.read_udev_rules()
        snapshot["libvirt"] = self.libvirt.read() if self.libvirt is not None else None
        return snapshot

    def read_udev_rules(self):
        rules = {}
        try:
            names = sorted(os.listdir(self.udev_rules_dir))
        except FileNotFoundError:
            return rules
        for name in names:
            if name.startswith(UDEV_RULE_PREFIX) and name.endswith(".rules"):
                with open(os.path.join(self.udev_rules_dir, name)) as handle:
                    rules[name[len(UDEV_RULE_PREFIX):-len(".rules")]] = handle.read()
        return rules

    # ---- devlink --------------------------------------------------------------------------
    def devlink(self, *args):
        """Run devlink with `args` (argv, no shell); its output, or None when devlink is not installed."""
        binary = shutil.which("devlink")
        if binary is None:
            return None
        try:
            proc = subprocess.run([binary] + list(args), capture_output=True, text=True, timeout=DEVLINK_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HostError("devlink %s failed: %s" % (" ".join(args), describe(exc))) from exc
        if proc.returncode != 0:
            raise HostError("devlink %s failed: %s" % (" ".join(args), proc.stderr.strip() or "exit status %d" % proc.returncode))
        return proc.stdout

    def eswitch_mode(self, address):
        """legacy or switchdev; None when devlink is missing or the NIC has no eswitch."""
        try:
            output = self.devlink("-j", "dev", "eswitch", "show", "pci/" + address)
        except HostError:
            return None
        if not output:
            return None
        try:
            return json.loads(output)["dev"]["pci/" + address]["mode"]
        except (ValueError, KeyError, TypeError):
            return None

    def set_eswitch_mode(self, address, mode):
        if self.devlink("dev", "eswitch", "set", "pci/" + address, "mode", mode) is None:
            raise HostError("setting the eswitch mode of %s needs the devlink program (iproute2)" % address)
        got = self.eswitch_mode(address)
        if got != mode:
            raise HostError("the eswitch of %s is in mode %s after setting %s" % (address, got, mode))

    # ---- changing -------------------------------------------------------------------------
    def set_vf_attributes(self, pf_netdev, index, attributes):
        """Set the attributes that differ, then read them back (a driver may ignore what it does not support)."""
        current = self._vf(pf_netdev, index)
        changing = {key: value for key, value in attributes.items() if current.get(key) != value}
        if not changing:
            return
        for group in (("vlan", "qos", "vlan_proto"), ("min_tx_rate", "max_tx_rate")):
            if any(key in changing for key in group):  # the kernel takes them together: send the whole group
                for key in group:
                    changing.setdefault(key, attributes.get(key, current.get(key)))
        self.netlink.set_vf(pf_netdev, index, changing)
        got = self._vf(pf_netdev, index)
        wrong = ["%s %s (asked %s)" % (key, got.get(key, "not reported"), value)
                 for key, value in sorted(changing.items()) if got.get(key) != value]
        if wrong:
            raise HostError("VF %d of %s has %s after setting them: its driver does not support them"
                            % (index, pf_netdev, ", ".join(wrong)))

    def _vf(self, pf_netdev, index):
        for vf in self.netlink.read_vfs(pf_netdev):
            if vf["index"] == index:
                return vf
        raise HostError("%s reports no VF %d" % (pf_netdev, index))

    def write_udev_rule(self, pf_address, text):
        """Write (text) or remove (None) the PF's rule file, atomically."""
        path = udev_rule_path(self.udev_rules_dir, pf_address)
        try:
            if text is None:
                if os.path.exists(path):
                    os.unlink(path)
                return
            os.makedirs(self.udev_rules_dir, exist_ok=True)
            with open(path + ".tmp", "w") as handle:
                handle.write(text)
            os.replace(path + ".tmp", path)
        except OSError as exc:
            raise HostError("cannot write %s: %s" % (path, describe(exc))) from exc
