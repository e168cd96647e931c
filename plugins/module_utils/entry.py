# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entry points: `run` for the modules, `restore_main` for the boot-time restore program.

Modules import this file, so AnsiballZ ships every resource and the restore program can be
copied from any module's payload: AnsiballZ follows the imports inside the loaders below as
well. A module imports only its own resources when it runs (pyroute2 alone takes 0.1 s,
which an OVS module does not need); the restore program imports them all.
"""

from __future__ import annotations

import sys

from ansible_collections.hypervisor.networking.plugins.module_utils.engine import restore_all, run_module
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HvnetError
from ansible_collections.hypervisor.networking.plugins.module_utils.persist import PHASES, kinds_of_phase


# One loader per module: its resources, one per backend (a new backend is one more resource
# file and one more import here). The imports name the full path so that AnsiballZ finds them.
# pylint: disable=import-outside-toplevel
def _vm_network():
    from ansible_collections.hypervisor.networking.plugins.module_utils.resource.network import NetworkResource
    from ansible_collections.hypervisor.networking.plugins.module_utils.resource.libvirt_network import LibvirtNetworkResource
    return (NetworkResource(), LibvirtNetworkResource())


def _vm_interface():
    from ansible_collections.hypervisor.networking.plugins.module_utils.resource.interface import InterfaceResource
    # a tap's defaults follow the network that owns its bridge, whichever backend made it
    InterfaceResource.bridge_owners = resources_of("vm_network")
    return (InterfaceResource(),)


def _ovs_dpdk_port():
    from ansible_collections.hypervisor.networking.plugins.module_utils.resource.ovs_port import OvsPortResource
    return (OvsPortResource(),)


def _ovs_dpdk_global():
    from ansible_collections.hypervisor.networking.plugins.module_utils.resource.ovs_global import OvsGlobalResource
    return (OvsGlobalResource(),)


def _ovs_dpdk_bridge():
    from ansible_collections.hypervisor.networking.plugins.module_utils.resource.ovs_bridge import OvsBridgeResource
    return (OvsBridgeResource(),)


def _hugepages():
    from ansible_collections.hypervisor.networking.plugins.module_utils.resource.sysfs import HugepagesResource
    return (HugepagesResource(),)


def _pci_driver():
    from ansible_collections.hypervisor.networking.plugins.module_utils.resource.sysfs import PciDriverResource
    return (PciDriverResource(),)


def _sriov_pool():
    from ansible_collections.hypervisor.networking.plugins.module_utils.resource.sriov import SriovPoolResource
    return (SriovPoolResource(),)
# pylint: enable=import-outside-toplevel


_LOADERS = {
    "vm_network": _vm_network,
    "vm_interface": _vm_interface,
    "ovs_dpdk_port": _ovs_dpdk_port,
    "ovs_dpdk_global": _ovs_dpdk_global,
    "ovs_dpdk_bridge": _ovs_dpdk_bridge,
    "hugepages": _hugepages,
    "pci_driver": _pci_driver,
    "sriov_pool": _sriov_pool,
}
_LOADED = {}


def resources_of(kind):
    """The resources of module `kind`, one per backend, made once per process."""
    if kind not in _LOADED:
        if kind not in _LOADERS:
            raise HvnetError("no module %s (known: %s)" % (kind, ", ".join(sorted(_LOADERS))))
        _LOADED[kind] = _LOADERS[kind]()
    return _LOADED[kind]


def resource_for(kind, backend=None):
    """The resource of module `kind` for `backend` (None: the module's default one)."""
    for resource in resources_of(kind):
        if resource.backend == (backend or resource.default_backend):
            return resource
    known = sorted(r.backend for r in resources_of(kind) if r.backend)
    raise HvnetError("%s has no backend %s (known: %s)" % (kind, backend, ", ".join(known) or "none"))


def __getattr__(name):
    """ALL_RESOURCES (every resource of every module) and RESOURCES (each module's default
    resource, by module name): made on first use, since they import every module's code."""
    if name == "ALL_RESOURCES":
        return tuple(resource for kind in _LOADERS for resource in resources_of(kind))
    if name == "RESOURCES":
        return {kind: resource_for(kind) for kind in _LOADERS}
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def run(module, kind):
    run_module(module, resource_for(kind, module.params.get("backend")))


def restore_main(argv=()):
    """`restore [early|late]`: one phase of the boot-time restore; without one (a unit written
    before phases existed, or a restore by hand) every kind, in order."""
    if len(argv) > 1 or (argv and argv[0] not in PHASES):
        sys.stderr.write("usage: restore [%s] (no phase: every kind); got %s\n" % ("|".join(PHASES), " ".join(argv)))
        return 2
    return restore_all(kinds_of_phase(argv[0] if argv else None), resource_for)
