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

`fail_at(k)` makes the k-th write (0-based) fail with EIO, after earlier writes took effect, to
inject a fault at every point of a plan. Nothing here touches the real /sys.

    emulator = SysfsEmulator(tmp_path / "sys", pools={2048: 0}, capacity={2048: 600},
                             devices={"0000:01:00.0": {"driver": "ixgbe", "netdevs": ["eth1"]}},
                             drivers=["ixgbe", "vfio-pci"])
    emulator.install(monkeypatch)
"""

from __future__ import annotations

import errno
import os

from ansible_collections.hypervisor.networking.plugins.module_utils.backend import sysfs


class SysfsEmulator:
    def __init__(self, root, pools=None, capacity=None, devices=None, drivers=(), uppers=None, refuse=()):
        self.root = str(root)
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

    def driver(self, address):
        link = self._path("bus/pci/devices/%s/driver" % address)
        return os.path.basename(os.readlink(link)) if os.path.islink(link) else None

    def override(self, address):
        return self._get("bus/pci/devices/%s/driver_override" % address)

    def pool(self, kb):
        return int(self._get("kernel/mm/hugepages/hugepages-%dkB/nr_hugepages" % kb))

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

    def write(self, relative, text):
        """What the kernel does for a write to `relative`; raises OSError as it would."""
        index = len(self.writes)
        self.writes.append(relative)
        if self.fail_index is not None and index == self.fail_index:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
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
        else:
            raise OSError(errno.EACCES, "the emulator does not know %s" % relative)

    def _probe(self, address):
        if self.driver(address) is not None:
            return
        override = self.override(address)
        candidate = override if override != "(null)" else self.kernel_driver.get(address)
        if candidate and os.path.isdir(self._path("bus/pci/drivers/" + candidate)) and (address, candidate) not in self.refuse:
            self._link(address, candidate)

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
