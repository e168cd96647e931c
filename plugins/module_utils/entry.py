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
from ansible_collections.hypervisor.networking.plugins.module_utils.persist import PHASES, kinds_of_phase
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.interface import InterfaceResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.network import NetworkResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.ovs_bridge import OvsBridgeResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.ovs_global import OvsGlobalResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.ovs_port import OvsPortResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.sriov import SriovPoolResource
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.sysfs import HugepagesResource, PciDriverResource

RESOURCES = {
    "vm_network": NetworkResource(),
    "vm_interface": InterfaceResource(),
    "ovs_dpdk_port": OvsPortResource(),
    "ovs_dpdk_global": OvsGlobalResource(),
    "ovs_dpdk_bridge": OvsBridgeResource(),
    "hugepages": HugepagesResource(),
    "pci_driver": PciDriverResource(),
    "sriov_pool": SriovPoolResource(),
}


def run(module, kind):
    run_module(module, RESOURCES[kind])


def restore_main(argv=()):
    """`restore [early|late]`: one phase of the boot-time restore; without one (a unit written
    before phases existed, or a restore by hand) every kind, in order."""
    if len(argv) > 1 or (argv and argv[0] not in PHASES):
        sys.stderr.write("usage: restore [%s] (no phase: every kind); got %s\n" % ("|".join(PHASES), " ".join(argv)))
        return 2
    return restore_all(kinds_of_phase(argv[0] if argv else None), RESOURCES)
