# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An emulated sysfs for the sysfs backend (plugins/module_utils/backend/sysfs.py).

What is emulated: a temporary directory laid out like /sys (hugepage pools, PCI devices with
driver_override, their driver links and netdevs, PCI drivers, class/net upper_* links), and
the kernel's reaction to the writes the backend makes, installed over `Sysfs.write_file` (the backend's only write):

* ``nr_hugepages``: the pool takes min(requested, what the emulated memory can hold);
* ``driver_override``: stored; an empty write clears it (it then reads "(null)", as the kernel shows it);
* ``<device>/driver/unbind``: the device loses its driver (ENODEV when the address is not the bound device);
* ``drivers_probe``: the device binds to its override when that driver is loaded and accepts it,
  without an override to its own kernel driver when that is loaded.

* ``sriov_numvfs`` (a device given ``sriov``): ERANGE above ``sriov_totalvfs``, EBUSY for a change
  between two non-zero counts (the kernel's rule: through 0), 0 removes every VF; a new count
  creates VF devices (``virtfnN`` and ``physfn`` links, the address from ``sriov_offset`` and
  ``sriov_stride``, bound to the VF driver when it is loaded, with a netdev while a network driver
  holds it - none under vfio-pci) after
  ``vf_delay`` seconds (a timer thread: a slow NIC);
* the VF attributes the PF's driver keeps (``install_sriov``): an emulated pyroute2 ``IPRoute``
  whose ``link('set', vf=...)`` runs pyroute2's own request filter and ifinfmsg encoding, decodes
  the bytes and applies each IFLA_VF_* attribute, and whose ``link('get', ext_mask=1)`` encodes
  the VF table as the kernel's IFLA_VFINFO_LIST and hands back the decoded message; attributes
  listed in ``ignored_vf_attributes`` are taken and not applied, as a driver without support does;
* ``devlink dev eswitch show/set`` (EBUSY while VFs exist, as mlx5 does); the udev rules
  directory and NetworkManager's /run directory under the tree.

`fail_at(k)` makes the k-th write (0-based; sysfs, netlink VF and devlink writes alike) fail with
EIO, after earlier writes took effect, to inject a fault at every point of a plan. Nothing here
touches the real /sys, the real links or /etc.

    emulator = SysfsEmulator(tmp_path / "sys", pools={2048: 0}, capacity={2048: 600},
                             devices={"0000:01:00.0": {"driver": "ixgbe", "netdevs": ["eth1"]}},
                             drivers=["ixgbe", "vfio-pci"])
    emulator.install(monkeypatch)
"""

from __future__ import annotations

import copy
import errno
import json
import os
import threading

from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.requests.link import LinkIPRouteFilter

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import sriov as backend_sriov
from ansible_collections.hypervisor.networking.plugins.module_utils.backend import sysfs, vf_netlink
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError

FRESH_VF = {"mac": "00:00:00:00:00:00", "vlan": 0, "qos": 0, "proto": 0x8100, "spoofchk": 1, "trust": 0, "min_tx_rate": 0,
            "max_tx_rate": 0, "link_state": 0}


class SysfsEmulator:
    def __init__(self, root, pools=None, capacity=None, devices=None, drivers=(), uppers=None, refuse=(), vf_delay=0.0,
                 ignored_vf_attributes=()):
        self.root = str(root)
        self.vf_delay = vf_delay
        self.ignored_vf_attributes = set(ignored_vf_attributes)
        self.lock = threading.RLock()
        self.timers = []
        self.sriov = {}  # PF address: {"total", "offset", "stride", "vf_driver", "netdev", "eswitch"}
        self.vf_table = {}  # PF netdev: [VF attributes as the kernel keeps them]
        self.ifindex = {}
        self.addresses = {}  # netdev: [addresses] (a VF in use)
        self.vf_netdev = {}  # VF address: its netdev's name
        self.capacity = dict(capacity or {})
        self.kernel_driver = {}
        self.refuse = set(refuse)  # (address, driver) pairs a driver does not take
        self.writes = []
        self.fail_index = None
        for kb, count in (pools or {}).items():
            self._put("kernel/mm/hugepages/hugepages-%dkB/nr_hugepages" % kb, "%d\n" % count)
            self._put("kernel/mm/hugepages/hugepages-%dkB/free_hugepages" % kb, "%d\n" % count)
        for driver in drivers:
            self._put("bus/pci/drivers/%s/unbind" % driver, "")
            self._put("bus/pci/drivers/%s/bind" % driver, "")
        self._put("bus/pci/drivers_probe", "")
        for address, device in (devices or {}).items():
            self._put("bus/pci/devices/%s/driver_override" % address, "(null)\n")
            self.kernel_driver[address] = device.get("kernel_driver", device.get("driver"))
            for netdev in device.get("netdevs", []):
                os.makedirs(self._path("bus/pci/devices/%s/net/%s" % (address, netdev)), exist_ok=True)
                os.makedirs(self._path("class/net/%s" % netdev), exist_ok=True)
            if device.get("driver"):
                self._link(address, device["driver"])
            if device.get("sriov"):
                spec = dict({"offset": 128, "stride": 1, "vf_driver": "iavf", "eswitch": "legacy"}, **device["sriov"])
                spec["netdev"] = (device.get("netdevs") or [None])[0]
                self.sriov[address] = spec
                for name, value in (("totalvfs", spec["total"]), ("numvfs", 0), ("offset", spec["offset"]), ("stride", spec["stride"])):
                    self._put("bus/pci/devices/%s/sriov_%s" % (address, name), "%d\n" % value)
                if spec["netdev"]:
                    self.vf_table[spec["netdev"]] = []
            for netdev in device.get("netdevs", []):
                self.ifindex.setdefault(netdev, len(self.ifindex) + 2)
        for lower, upper_list in (uppers or {}).items():
            for upper in upper_list:
                os.makedirs(self._path("class/net/%s" % upper), exist_ok=True)
                os.symlink("../" + upper, self._path("class/net/%s/upper_%s" % (lower, upper)))

    # ---- the tree --------------------------------------------------------------------------
    def _path(self, relative):
        return os.path.join(self.root, relative)

    def _put(self, relative, text):
        os.makedirs(os.path.dirname(self._path(relative)), exist_ok=True)
        with open(self._path(relative), "w", encoding="utf-8") as handle:
            handle.write(text)

    def _get(self, relative):
        with open(self._path(relative), encoding="utf-8") as handle:
            return handle.read().strip()

    def _link(self, address, driver):
        link = self._path("bus/pci/devices/%s/driver" % address)
        if os.path.islink(link):
            os.unlink(link)
        if driver:
            os.symlink("../../../bus/pci/drivers/" + driver, link)
        if address in self.vf_netdev:
            self._show_vf_netdev(address, driver not in (None, "vfio-pci"))

    def _show_vf_netdev(self, vf, present):
        """A VF has a netdev only while a network driver holds it (not unbound, not under vfio-pci)."""
        netdev = self.vf_netdev[vf]
        if present:
            os.makedirs(self._path("bus/pci/devices/%s/net/%s" % (vf, netdev)), exist_ok=True)
            os.makedirs(self._path("class/net/%s" % netdev), exist_ok=True)
        elif os.path.isdir(self._path("class/net/%s" % netdev)):
            os.rmdir(self._path("bus/pci/devices/%s/net/%s" % (vf, netdev)))
            os.rmdir(self._path("bus/pci/devices/%s/net" % vf))
            os.rmdir(self._path("class/net/%s" % netdev))
            self.addresses.pop(netdev, None)

    def driver(self, address):
        link = self._path("bus/pci/devices/%s/driver" % address)
        return os.path.basename(os.readlink(link)) if os.path.islink(link) else None

    def override(self, address):
        return self._get("bus/pci/devices/%s/driver_override" % address)

    def pool(self, kb):
        return int(self._get("kernel/mm/hugepages/hugepages-%dkB/nr_hugepages" % kb))

    def numvfs(self, address):
        return int(self._get("bus/pci/devices/%s/sriov_numvfs" % address))

    def vf_addresses(self, address):
        return [os.path.basename(os.readlink(self._path("bus/pci/devices/%s/virtfn%d" % (address, index))))
                for index in range(self.numvfs(address))
                if os.path.islink(self._path("bus/pci/devices/%s/virtfn%d" % (address, index)))]

    def dump(self):
        """Every file's content and every link's target, for before/after comparisons."""
        state = {}
        for directory, dirs, files in os.walk(self.root):
            for name in dirs + files:
                full = os.path.join(directory, name)
                relative = os.path.relpath(full, self.root)
                if os.path.islink(full):
                    state[relative] = "-> " + os.readlink(full)
                elif os.path.isfile(full):
                    state[relative] = self._get(relative)
        return state

    def add_iommu(self, groups, classes=None, up=(), modules=()):
        """Lay out what iommu_info reads (read only, the kernel does not react to anything here):
        ``kernel/iommu_groups/<g>/devices/<address>`` and each device's ``iommu_group`` link, a
        ``class`` per device (default 0x020000, an Ethernet controller), ``class/net/<if>/device``
        and ``flags`` (IFF_UP for the names in `up`), and ``module/<name>`` for loaded modules."""
        for group, addresses in groups.items():
            os.makedirs(self._path("kernel/iommu_groups/%s/devices" % group), exist_ok=True)
            for address in addresses:
                os.symlink("../../../../bus/pci/devices/" + address, self._path("kernel/iommu_groups/%s/devices/%s" % (group, address)))
                os.symlink("../../../kernel/iommu_groups/" + group, self._path("bus/pci/devices/%s/iommu_group" % address))
        for address in os.listdir(self._path("bus/pci/devices")):
            self._put("bus/pci/devices/%s/class" % address, (classes or {}).get(address, "0x020000") + "\n")
            for netdev in os.listdir(self._path("bus/pci/devices/%s/net" % address)) if os.path.isdir(self._path("bus/pci/devices/%s/net" % address)) else []:
                os.symlink("../../../bus/pci/devices/" + address, self._path("class/net/%s/device" % netdev))
        for netdev in os.listdir(self._path("class/net")) if os.path.isdir(self._path("class/net")) else []:
            self._put("class/net/%s/flags" % netdev, ("0x1003" if netdev in up else "0x1002") + "\n")
        for name in modules:
            os.makedirs(self._path("module/%s" % name), exist_ok=True)
        return self

    # ---- the kernel ------------------------------------------------------------------------
    def fail_at(self, index):
        self.fail_index = index
        self.writes = []

    def count_write(self, what):
        index = len(self.writes)
        self.writes.append(what)
        if self.fail_index is not None and index == self.fail_index:
            raise OSError(errno.EIO, os.strerror(errno.EIO))

    def write(self, relative, text):
        """What the kernel does for a write to `relative`; raises OSError as it would."""
        with self.lock:
            self.count_write(relative)
            self._write(relative, text)

    def _write(self, relative, text):
        value = text.strip()
        parts = relative.split("/")
        if relative.endswith("/nr_hugepages"):
            kb = int(parts[-2][len("hugepages-"):-len("kB")])
            got = min(int(value), self.capacity.get(kb, int(value)))
            self._put(relative, "%d\n" % got)
            self._put(relative.replace("nr_hugepages", "free_hugepages"), "%d\n" % got)
        elif relative.endswith("/driver_override"):
            self._put(relative, (value or "(null)") + "\n")
        elif relative.endswith("/driver/unbind"):
            address = parts[-3]
            if value != address or self.driver(address) is None:
                raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
            self._link(address, None)
        elif relative == "bus/pci/drivers_probe":
            self._probe(value)
        elif relative.endswith("/sriov_numvfs") and parts[-2] in self.sriov:
            self._set_numvfs(parts[-2], int(value))
        else:
            raise OSError(errno.EACCES, "the emulator does not know %s" % relative)

    def _probe(self, address):
        if self.driver(address) is not None:
            return
        override = self.override(address)
        candidate = override if override != "(null)" else self.kernel_driver.get(address)
        if candidate and os.path.isdir(self._path("bus/pci/drivers/" + candidate)) and (address, candidate) not in self.refuse:
            self._link(address, candidate)

    # ---- SR-IOV ----------------------------------------------------------------------------
    def _set_numvfs(self, address, count):
        spec, have = self.sriov[address], self.numvfs(address)
        if count > spec["total"]:
            raise OSError(errno.ERANGE, os.strerror(errno.ERANGE))
        if count and have and count != have:
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY))
        if count == have:
            return
        self._put("bus/pci/devices/%s/sriov_numvfs" % address, "%d\n" % count)
        if count == 0:
            for timer in self.timers:
                timer.cancel()
            self._remove_vfs(address)
        elif self.vf_delay:
            timer = threading.Timer(self.vf_delay, self._create_vfs, (address, count))
            self.timers.append(timer)
            timer.start()
        else:
            self._create_vfs(address, count)

    def _create_vfs(self, address, count):
        with self.lock:
            if self.numvfs(address) != count:
                return  # set back to 0 before the slow NIC got there
            spec = self.sriov[address]
            for index in range(count):
                vf = backend_sriov.vf_address(address, spec["offset"], spec["stride"], index)
                self._put("bus/pci/devices/%s/driver_override" % vf, "(null)\n")
                os.symlink("../" + address, self._path("bus/pci/devices/%s/physfn" % vf))
                self.kernel_driver[vf] = spec["vf_driver"]
                if spec["netdev"]:
                    netdev = "%sv%d" % (spec["netdev"], index)
                    self.vf_netdev[vf] = netdev
                    self.ifindex.setdefault(netdev, len(self.ifindex) + 2)
                self._probe(vf)
                os.symlink("../" + vf, self._path("bus/pci/devices/%s/virtfn%d" % (address, index)))
            if spec["netdev"]:
                self.vf_table[spec["netdev"]] = [dict(FRESH_VF) for _vf in range(count)]

    def _remove_vfs(self, address):
        spec = self.sriov[address]
        index = 0
        while os.path.islink(self._path("bus/pci/devices/%s/virtfn%d" % (address, index))):
            vf = os.path.basename(os.readlink(self._path("bus/pci/devices/%s/virtfn%d" % (address, index))))
            os.unlink(self._path("bus/pci/devices/%s/virtfn%d" % (address, index)))
            if vf in self.vf_netdev:
                self._show_vf_netdev(vf, False)
                del self.vf_netdev[vf]
            _remove_tree(self._path("bus/pci/devices/%s" % vf))
            index += 1
        if spec["netdev"]:
            self.vf_table[spec["netdev"]] = []

    def devlink(self, *args):
        """`devlink` as SriovBackend runs it: eswitch show (JSON) and set."""
        args = list(args)
        if args[:4] == ["-j", "dev", "eswitch", "show"]:
            address = args[4][len("pci/"):]
            if address not in self.sriov or not self.sriov[address]["eswitch"]:
                raise HostError("devlink %s failed: Operation not supported" % " ".join(args))
            return json.dumps({"dev": {args[4]: {"mode": self.sriov[address]["eswitch"]}}})
        if args[:3] == ["dev", "eswitch", "set"]:
            with self.lock:
                address = args[3][len("pci/"):]
                self.count_write("devlink " + " ".join(args))
                if self.numvfs(address):
                    raise HostError("devlink %s failed: Device or resource busy" % " ".join(args))
                self.sriov[address]["eswitch"] = args[5]
            return ""
        raise HostError("the emulated devlink does not know %s" % args)

    def install_sriov(self, monkeypatch, nm_running=True):
        """Also route netlink VF requests, devlink and the udev/NetworkManager paths to this emulator."""
        self.install(monkeypatch)
        monkeypatch.setattr(backend_sriov, "UDEV_RULES_DIR", self._path("etc/udev/rules.d"))
        monkeypatch.setattr(backend_sriov, "NM_RUN_DIR", self._path("run/NetworkManager"))
        if nm_running:
            os.makedirs(self._path("run/NetworkManager"), exist_ok=True)
        monkeypatch.setattr(vf_netlink, "_open_iproute", lambda: EmulatedIPRoute(self))
        emulator = self
        monkeypatch.setattr(backend_sriov.SriovBackend, "devlink", lambda backend, *args: emulator.devlink(*args))
        return self

    def udev_rule(self, address):
        path = self._path("etc/udev/rules.d/%s%s.rules" % (backend_sriov.UDEV_RULE_PREFIX, address))
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as handle:
            return handle.read()

    def close(self):
        for timer in self.timers:
            timer.cancel()

    def install(self, monkeypatch):
        """Route the backend's writes under this tree through the emulated kernel (Sysfs.write_file)."""
        original = sysfs.Sysfs.write_file
        emulator = self

        def write_file(backend, relative, text):
            if backend.root != emulator.root:
                return original(backend, relative, text)
            return emulator.write(relative, text)

        monkeypatch.setattr(sysfs.Sysfs, "write_file", write_file)
        return self


def _remove_tree(path):
    for directory, dirs, files in os.walk(path, topdown=False):
        for name in files:
            os.unlink(os.path.join(directory, name))
        for name in dirs:
            full = os.path.join(directory, name)
            if os.path.islink(full):
                os.unlink(full)
            else:
                os.rmdir(full)
    os.rmdir(path)


class EmulatedIPRoute:
    """The pyroute2 IPRoute calls vf_netlink.VfNetlink makes, answered from the emulator's VF table
    through pyroute2's own message classes (see the module docstring)."""

    def __init__(self, emulator):
        self.emulator = emulator

    def close(self):
        pass

    def _name(self, index):
        for name, number in self.emulator.ifindex.items():
            if number == index:
                return name
        raise vf_netlink.NetlinkError(errno.ENODEV)

    def link_lookup(self, ifname):
        return [self.emulator.ifindex[ifname]] if ifname in self.emulator.ifindex else []

    def link(self, command, index, ext_mask=None, vf=None):
        name = self._name(index)
        table = self.emulator.vf_table.get(name)
        if command == "get":
            message = ifinfmsg()
            message["index"] = index
            message["attrs"] = [("IFLA_IFNAME", name)]
            if ext_mask == vf_netlink.RTEXT_FILTER_VF and table is not None:
                message["attrs"].append(("IFLA_VFINFO_LIST", {"attrs": [("IFLA_VF_INFO", {"attrs": _vf_attrs(number, vf)})
                                                                        for number, vf in enumerate(table)]}))
            return [_through_the_wire(message)]
        assert command == "set" and vf is not None
        request = ifinfmsg()
        request["index"] = index
        request["attrs"] = [("IFLA_VFINFO_LIST", LinkIPRouteFilter("set").set_vf({}, copy.deepcopy(vf))["IFLA_VFINFO_LIST"])]
        decoded = _through_the_wire(request)
        with self.emulator.lock:
            self.emulator.count_write("netlink %s vf %s" % (name, vf))
            for info in decoded.get_attr("IFLA_VFINFO_LIST").get_attrs("IFLA_VF_INFO"):
                for attr, value in info["attrs"]:
                    # IFLA_VF_VLAN_LIST holds no VF number itself: each of its IFLA_VF_VLAN_INFO entries does
                    number = value.get_attrs("IFLA_VF_VLAN_INFO")[0]["vf"] if attr == "IFLA_VF_VLAN_LIST" else value["vf"]
                    if table is None or number >= len(table):
                        raise vf_netlink.NetlinkError(errno.EINVAL)
                    if attr in self.emulator.ignored_vf_attributes:
                        continue
                    entry = table[number]
                    if attr == "IFLA_VF_VLAN_LIST":
                        item = value.get_attrs("IFLA_VF_VLAN_INFO")[0]
                        entry.update(vlan=item["vlan"], qos=item["qos"], proto=item["proto"])
                    elif attr == "IFLA_VF_VLAN":
                        entry.update(vlan=value["vlan"], qos=value["qos"], proto=0x8100)
                    else:
                        entry.update({key: val for key, val in value.items() if key in FRESH_VF})
        return [decoded]

    def get_links(self):
        links = []
        for name, index in sorted(self.emulator.ifindex.items()):
            message = ifinfmsg()
            message["index"] = index
            message["attrs"] = [("IFLA_IFNAME", name)]
            links.append(_through_the_wire(message))
        return links

    def get_addr(self):
        result = []
        for name, addresses in sorted(self.emulator.addresses.items()):
            for address in addresses:
                message = ifaddrmsg()
                message["index"] = self.emulator.ifindex[name]
                message["family"] = 2
                message["prefixlen"] = 24
                message["attrs"] = [("IFA_ADDRESS", address)]
                result.append(_through_the_wire(message))
        return result


def _vf_attrs(number, vf):
    """One VF as the kernel reports it (rtnl_fill_vfinfo): both VLAN forms, rates, checks, link state."""
    return [("IFLA_VF_MAC", {"vf": number, "mac": vf["mac"]}),
            ("IFLA_VF_VLAN", {"vf": number, "vlan": vf["vlan"], "qos": vf["qos"]}),
            ("IFLA_VF_VLAN_LIST", {"attrs": [("IFLA_VF_VLAN_INFO",
                                              {"vf": number, "vlan": vf["vlan"], "qos": vf["qos"], "proto": vf["proto"]})]}),
            ("IFLA_VF_TX_RATE", {"vf": number, "tx_rate": vf["max_tx_rate"]}),
            ("IFLA_VF_RATE", {"vf": number, "min_tx_rate": vf["min_tx_rate"], "max_tx_rate": vf["max_tx_rate"]}),
            ("IFLA_VF_SPOOFCHK", {"vf": number, "spoofchk": vf["spoofchk"]}),
            ("IFLA_VF_LINK_STATE", {"vf": number, "link_state": vf["link_state"]}),
            ("IFLA_VF_TRUST", {"vf": number, "trust": vf["trust"]})]


def _through_the_wire(message):
    """Encode a pyroute2 message to bytes and decode a fresh one from them, as it crosses the socket."""
    message.encode()
    received = type(message)(message.data)
    received.decode()
    return received
