# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  state:
    description:
      - C(merged) creates missing objects and sets the fields given, leaving other fields as they are.
      - C(replaced) makes each listed object exactly as given; unset fields go back to their defaults.
      - C(overridden) is C(replaced) plus removal of every other object of this kind the collection owns.
      - C(deleted) removes the listed objects, or every object of this kind the collection owns when O(config) is empty.
      - C(gathered) returns the current objects of this kind as RV(gathered), changing nothing.
      - C(rendered) returns each listed object in other syntaxes as RV(rendered), without reading the host.
      - C(parsed) turns O(running_config) into config items as RV(parsed), without reading the host.
    type: str
    choices: [merged, replaced, overridden, deleted, gathered, rendered, parsed]
    default: merged
  running_config:
    description:
      - With O(state=parsed), the JSON output of C(ip -d -j addr show) (or C(ip -d -j link show)) to parse.
    type: str
  persist:
    description:
      - Save the resulting configuration of this kind so that it is re-applied at boot.
      - What was asked for is saved as C(/var/lib/hypervisor-networking/intent/<module>.json), next to a
        C(restore/) program. Two systemd oneshot units run that program at boot, one phase each -
        C(hypervisor-networking-restore-early.service) re-applies host-level state (C(hugepages), C(pci_driver),
        C(sriov_pool)) before networking starts, C(hypervisor-networking-restore.service) the rest after the network
        is up and before libvirtd starts.
      - Inside C(ip netns exec NAME) the same layout is kept in C(/var/lib/hypervisor-networking/netns/NAME/), with
        the program C(restore/restore) there to run inside the namespace; no unit is installed.
      - With V(false) the saved state is left as it is, and nothing is written that outlives the objects (only
        runtime files under C(/run/hypervisor-networking/)).
      - A saved-state file that cannot be read fails the run, naming the file, before anything changes.
      - docs/state-and-recovery.md in the collection lists every file, and how to back up, recover and remove them.
    type: bool
    default: true
  adopt:
    description:
      - Take over existing objects with the listed names that the collection did not create (an unmarked tap,
        macvtap or bridge). Without it such a name is refused, so nothing made by hand is ever changed.
      - Adopted objects may be changed, never removed; C(deleted) ignores this option.
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds to wait for another run of the collection that holds a lock this call needs; then the call fails,
        having changed nothing.
      - A call locks what it shares with other runs (see the notes); V(0) does not wait at all.
      - Not used with O(state=rendered) or O(state=parsed), which do not read the host.
    type: int
    default: 300
notes:
  - Every object the collection creates is marked (for kernel links, in the interface alias); C(overridden) and
    C(deleted) only ever remove marked objects.
  - Runs that share something serialize on locks in C(/run/hypervisor-networking); runs that share nothing run in
    parallel. A call locks its network namespace (links, firewall, dnsmasq, saved state). M(hypervisor.networking.ovs_dpdk_port)
    also locks the Open vSwitch database it talks to, and so does M(hypervisor.networking.vm_interface) when that
    database exists. M(hypervisor.networking.hugepages) and M(hypervisor.networking.pci_driver) also lock the sysfs
    they write, which every namespace of the machine shares. O(lock_timeout) bounds the wait.
  - The module reads the host once, plans, applies the plan and reads the host again to verify; if any step
    fails or the result differs from the request, every change made by the call is undone.
  - Supports check mode and diff mode. Check mode changes nothing and reports the plan in RV(commands).
  - A run that can change something also removes the runtime files (under C(/run/hypervisor-networking/netns/))
    of named network namespaces that were deleted before their objects, as a step of its plan (so it reports a
    change once). Files of a namespace that still exists or still has our dnsmasq in it, and the saved intent of
    any namespace, are kept; see docs/state-and-recovery.md.
requirements:
  - pyroute2 (Python library on the managed host)
"""
