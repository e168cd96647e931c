# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entry points: `run` for the modules, `restore_main` for the boot-time restore program.

Modules import this file, so AnsiballZ ships every resource and the restore program can be
copied from any module's payload.
"""

from __future__ import annotations

import sys

from ansible_collections.hypervisor.networking.plugins.module_utils.engine import restore_all, run_module
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HvnetError
from ansible_collections.hypervisor.networking.plugins.module_utils.persist import PHASES, kinds_of_phase
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.interface import InterfaceResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.libvirt_network import LibvirtNetworkResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.network import NetworkResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.ovs_bridge import OvsBridgeResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.ovs_global import OvsGlobalResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.ovs_port import OvsPortResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.sriov import SriovPoolResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.sysfs import HugepagesResource, PciDriverResource

# Every resource of every module; a module with a `backend` option has one per backend (a new
# backend is one more resource file and one more entry here).
ALL_RESOURCES = (
    NetworkResource(),
    LibvirtNetworkResource(),
    InterfaceResource(),
    OvsPortResource(),
    OvsGlobalResource(),
    OvsBridgeResource(),
    HugepagesResource(),
    PciDriverResource(),
    SriovPoolResource(),
)
# a tap's defaults follow the network that owns its bridge, whichever backend made it
InterfaceResource.bridge_owners = tuple(resource for resource in ALL_RESOURCES if resource.kind == "vm_network")
# each module's default resource, by module name
RESOURCES = {resource.kind: resource for resource in ALL_RESOURCES if resource.backend == resource.default_backend}


def resource_for(kind, backend=None):
    """The resource of module `kind` for `backend` (None: the module's default one)."""
    for resource in ALL_RESOURCES:
        if resource.kind == kind and resource.backend == (backend or resource.default_backend):
            return resource
    known = sorted(r.backend for r in ALL_RESOURCES if r.kind == kind and r.backend)
    raise HvnetError("%s has no backend %s (known: %s)" % (kind, backend, ", ".join(known) or "none"))


def run(module, kind):
    run_module(module, resource_for(kind, module.params.get("backend")))


def restore_main(argv=()):
    """`restore [early|late]`: one phase of the boot-time restore; without one (a unit written
    before phases existed, or a restore by hand) every kind, in order."""
    if len(argv) > 1 or (argv and argv[0] not in PHASES):
        sys.stderr.write("usage: restore [%s] (no phase: every kind); got %s\n" % ("|".join(PHASES), " ".join(argv)))
        return 2
    return restore_all(kinds_of_phase(argv[0] if argv else None), resource_for)
