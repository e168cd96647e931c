#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ovs_dpdk_global
short_description: The DPDK settings of Open vSwitch (Open_vSwitch other_config)
version_added: 0.1.0
description:
  - Sets the DPDK keys of the C(Open_vSwitch) table's C(other_config) (C(dpdk-init), C(dpdk-lcore-mask),
    C(pmd-cpu-mask), C(dpdk-socket-mem), C(dpdk-socket-limit), C(dpdk-extra), C(vhost-sock-dir),
    C(per-port-memory), C(pmd-maxsleep), C(dpdk-hugepage-dir)) and further C(other_config) keys, comparing first.
  - Core lists become hexadecimal masks (V([1, 2]) is C(0x6)).
  - Every change of a call is one C(ovs-vsctl --no-wait) transaction, read back and verified, and undone when the
    read-back differs.
  - DPDK reads most keys only when ovs-vswitchd starts. The module does not restart the daemon; it reports
    RV(restart_required) and why in RV(restart_reasons), and the caller restarts it (the role P(hypervisor.networking.dpdk#role)
    does, through a handler). C(pmd-cpu-mask) and C(pmd-maxsleep) apply at runtime.
  - The table has one row, so O(config) is one dictionary, not a list.
author:
  - hypervisor.networking contributors (@hypervisor-networking)
extends_documentation_fragment:
  - hypervisor.networking.resource
attributes:
  check_mode:
    description: Reports the planned transaction in RV(commands) and RV(restart_required), and changes nothing.
    support: full
  diff_mode:
    description: Shows the settings before and after the call.
    support: full
options:
  database:
    description:
      - The OVSDB server, as C(ovs-vsctl --db) takes it (V(unix:/path/db.sock), V(tcp:IP:PORT)).
      - Defaults to the system one, V(unix:/var/run/openvswitch/db.sock).
    type: str
  running_config:
    description:
      - With O(state=parsed), the JSON output of
        C(ovs-vsctl --format=json -- list Open_vSwitch -- list Bridge -- list Port -- list Interface -- list QoS).
    type: str
  config:
    description:
      - The DPDK settings. With O(state=merged) the options given are set and the others left alone; with
        O(state=replaced) or O(state=overridden) an option not given removes its key (OVS's default applies).
      - O(state=deleted) removes every key of the typed options (not the keys of O(config.other_config)).
    type: dict
    suboptions:
      dpdk_init:
        description: C(dpdk-init); V(true) initialises DPDK when ovs-vswitchd starts.
        type: bool
      lcore_cores:
        description: Cores of DPDK's non-PMD threads (C(dpdk-lcore-mask)); an empty list removes the key.
        type: list
        elements: int
      pmd_cores:
        description:
          - Cores of the PMD threads (C(pmd-cpu-mask)); must not overlap O(config.lcore_cores). An empty list removes the
            key (OVS then starts one PMD thread per NUMA node).
        type: list
        elements: int
      socket_mem:
        description: Hugepage memory in MiB to take at start, one entry per NUMA node (C(dpdk-socket-mem)); empty removes it.
        type: list
        elements: int
      socket_limit:
        description: Upper limit of hugepage memory in MiB per NUMA node (C(dpdk-socket-limit)); empty removes it.
        type: list
        elements: int
      dpdk_extra:
        description: Further DPDK EAL arguments (C(dpdk-extra)); an empty string removes the key.
        type: str
      vhost_sock_dir:
        description: Directory of C(dpdkvhostuser) sockets, relative to OVS's run directory (C(vhost-sock-dir)).
        type: str
      per_port_memory:
        description: C(per-port-memory); a memory pool per port instead of shared pools.
        type: bool
      pmd_maxsleep:
        description: C(pmd-maxsleep), the longest an idle PMD thread sleeps, in microseconds (0 to 10000).
        type: int
      hugepage_dir:
        description: Absolute path of the hugetlbfs mount DPDK uses (C(dpdk-hugepage-dir)); empty removes it.
        type: str
      other_config:
        description:
          - Further C(other_config) keys, managed key by key in every state; a key given with a null value is removed,
            keys not given are left alone.
          - The keys of the typed options are refused here; set the option instead.
        type: dict
notes:
  - Needs Open vSwitch built with DPDK (Debian C(openvswitch-switch-dpdk)). The database must be reachable; ovs-vswitchd
    need not run (the transaction does not wait for it).
  - The C(Open_vSwitch) row always exists and is never created or removed. The module manages the keys of its typed
    options on it, and the keys of O(config.other_config) one by one.
  - OVSDB keeps the keys across reboots. With O(persist=true) they are also saved for the collection's boot-time restore.
"""

EXAMPLES = r"""
- name: DPDK on, two PMD cores, 1 GiB of hugepages on NUMA node 0
  hypervisor.networking.ovs_dpdk_global:
    config:
      dpdk_init: true
      lcore_cores: [0]
      pmd_cores: [2, 3]
      socket_mem: [1024]
      vhost_sock_dir: vhost
      per_port_memory: true
  register: dpdk_global

- name: Restart ovs-vswitchd when a key DPDK reads at start changed
  ansible.builtin.service:
    name: ovs-vswitchd
    state: restarted
  when: dpdk_global.restart_required

- name: A runtime key only (no restart needed)
  hypervisor.networking.ovs_dpdk_global:
    config:
      other_config:
        emc-insert-inv-prob: "0"
"""

RETURN = r"""
changed:
  description: Whether anything changed.
  returned: always
  type: bool
commands:
  description: The plan; the C(ovs-vsctl) transaction of the call (in check mode, what would run), and the save for the boot-time restore.
  returned: with a state that changes the host
  type: list
  elements: str
  sample:
    - ovs-vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true other_config:pmd-cpu-mask=0xc
restart_required:
  description: Whether ovs-vswitchd must restart for the settings to take effect (a key DPDK reads at start changed, or DPDK is to be initialised and is not).
  returned: with a state that changes the host
  type: bool
restart_reasons:
  description: Why a restart is required, one line per reason.
  returned: with a state that changes the host
  type: list
  elements: str
  sample: ["dpdk-socket-mem changes"]
dpdk_initialized:
  description: The C(dpdk_initialized) column before the call.
  returned: with a state that changes the host
  type: bool
before:
  description: The settings before the call, as a list of one config item named C(Open_vSwitch) (empty when no DPDK key was set).
  returned: with a state that changes the host
  type: list
  elements: dict
after:
  description: The settings after the call (in check mode, as they would be), in the same form as RV(before).
  returned: with a state that changes the host
  type: list
  elements: dict
gathered:
  description: The current settings, in the same form as RV(before).
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: The settings and the C(ovs-vsctl) transaction that sets them.
  returned: when O(state=rendered)
  type: list
  elements: dict
  contains:
    name:
      description: Always C(Open_vSwitch).
      type: str
    config:
      description: The settings.
      type: dict
    commands:
      description: The C(ovs-vsctl) command line.
      type: list
      elements: str
parsed:
  description: The settings in O(running_config), in the same form as RV(before).
  returned: when O(state=parsed)
  type: list
  elements: dict
"""

from ansible_collections.hypervisor.networking.plugins.module_utils.argspec import checked_module

from ansible_collections.hypervisor.networking.plugins.module_utils.engine import COMMON_ARGUMENT_SPEC
from ansible_collections.hypervisor.networking.plugins.module_utils.entry import run
from ansible_collections.hypervisor.networking.plugins.module_utils.model.ovs_global import NAME

CONFIG_SPEC = {
    "dpdk_init": {"type": "bool"},
    "lcore_cores": {"type": "list", "elements": "int"},
    "pmd_cores": {"type": "list", "elements": "int"},
    "socket_mem": {"type": "list", "elements": "int"},
    "socket_limit": {"type": "list", "elements": "int"},
    "dpdk_extra": {"type": "str"},
    "vhost_sock_dir": {"type": "str"},
    "per_port_memory": {"type": "bool"},
    "pmd_maxsleep": {"type": "int"},
    "hugepage_dir": {"type": "str"},
    "other_config": {"type": "dict"},
}


def main():
    argument_spec = dict(
        COMMON_ARGUMENT_SPEC,
        database={"type": "str"},
        config={"type": "dict", "options": CONFIG_SPEC},
    )
    module = checked_module(argument_spec, supports_check_mode=True)
    # the engine converges lists of named objects: the one row is the object named Open_vSwitch
    config = module.params["config"]
    module.params["config"] = [dict(config, name=NAME)] if config else []
    run(module, "ovs_dpdk_global")


if __name__ == "__main__":
    main()
