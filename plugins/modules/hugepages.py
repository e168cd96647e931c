#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: hugepages
short_description: Hugepage pools of the running kernel (sysfs nr_hugepages)
version_added: 0.1.0
description:
  - Sets the number of pages of each hugepage pool (C(/sys/kernel/mm/hugepages/hugepages-<size>/nr_hugepages)), comparing
    first.
  - After a pool is set it is read back. When the kernel holds another number of pages than requested (not enough free,
    contiguous memory), the task fails, says how many pages the kernel holds, and the call is rolled back (every pool it
    changed is set back to its size before the call).
  - Pools always exist, so O(state=deleted) is refused (set O(config[].count) to V(0) instead), and O(state=overridden)
    is refused when it would remove a pool the call does not list. O(state=merged) and O(state=replaced) are the same,
    the count being the only setting. O(state=parsed) is not supported.
  - This is the runtime pool. Reserving pages at boot (the kernel command line, C(sysctl.d)) is the role
    P(hypervisor.networking.dpdk#role)'s job; 1 GiB pages can usually only be reserved reliably at boot.
author:
  - hypervisor.networking contributors (@hypervisor-networking)
extends_documentation_fragment:
  - hypervisor.networking.resource
attributes:
  check_mode:
    description: Reports the planned writes in RV(commands) and changes nothing.
    support: full
  diff_mode:
    description: Shows the pool sizes before and after the call.
    support: full
options:
  sysfs_root:
    description: Where sysfs is mounted; tests point it at an emulated tree.
    type: path
    default: /sys
  running_config:
    description: Not used; O(state=parsed) is not supported by this module.
    type: str
  config:
    description: The pools.
    type: list
    elements: dict
    suboptions:
      size:
        description: Page size, such as V(2M), V(1G) or V(2048kB).
        type: str
        required: true
      count:
        description: Number of pages of that size. Required unless O(state=deleted).
        type: int
notes:
  - The pools are global to the machine, not to a network namespace.
  - With O(persist=true) the counts are saved for the collection's boot-time restore, whose early unit runs before
    networking starts; pages reserved earlier still (C(vm.nr_hugepages), C(hugepages=) on the kernel command line)
    are more reliable, since memory fragments as the system runs.
"""

EXAMPLES = r"""
- name: 1024 pages of 2 MiB
  hypervisor.networking.hugepages:
    config:
      - {size: 2M, count: 1024}

- name: What the pools hold now
  hypervisor.networking.hugepages:
    state: gathered
  register: pools
"""

RETURN = r"""
changed:
  description: Whether anything changed.
  returned: always
  type: bool
commands:
  description: The plan, one line per pool written (in check mode, what would be written), and the save for the boot-time restore.
  returned: with a state that changes the host
  type: list
  elements: str
  sample: ["kernel/mm/hugepages/hugepages-2048kB/nr_hugepages: 0 -> 1024"]
before:
  description: Every pool of the host before the call, as config items (size in kB).
  returned: with a state that changes the host
  type: list
  elements: dict
  sample: [{size: 2048kB, count: 0}, {size: 1048576kB, count: 0}]
after:
  description: Every pool after the call (in check mode, as it would be).
  returned: with a state that changes the host
  type: list
  elements: dict
gathered:
  description: Every pool of the host, as config items.
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: Each listed pool and the sysfs write that sets it.
  returned: when O(state=rendered)
  type: list
  elements: dict
  contains:
    size:
      description: The page size in kB, as the pool's sysfs directory names it.
      type: str
    config:
      description: The pool.
      type: dict
    commands:
      description: The sysfs write.
      type: list
      elements: str
parsed:
  description: Not returned; O(state=parsed) is not supported by this module and fails.
  returned: never
  type: list
  elements: dict
"""

from ansible_collections.hypervisor.networking.plugins.module_utils.argspec import checked_module

from ansible_collections.hypervisor.networking.plugins.module_utils.engine import COMMON_ARGUMENT_SPEC
from ansible_collections.hypervisor.networking.plugins.module_utils.entry import run

CONFIG_SPEC = {
    "size": {"type": "str", "required": True},
    "count": {"type": "int"},
}


def main():
    argument_spec = dict(
        COMMON_ARGUMENT_SPEC,
        sysfs_root={"type": "path", "default": "/sys"},
        config={"type": "list", "elements": "dict", "options": CONFIG_SPEC},
    )
    module = checked_module(argument_spec, supports_check_mode=True)
    run(module, "hugepages")


if __name__ == "__main__":
    main()
