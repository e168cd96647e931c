# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An ansible_python_interpreter that runs the module with this Python and records its peak RSS.

    peak_rss.py AnsiballZ_vm_interface.py ...     (HVB_RSS_FILE names the file a line is added to)

The module process is this one's only child: RUSAGE_CHILDREN's ru_maxrss (KiB) is its peak RSS
(VmHWM). Standard streams are inherited, so ansible sees the module's own output.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys


def main():
    code = subprocess.call([sys.executable, *sys.argv[1:]])
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    target = os.environ.get("HVB_RSS_FILE")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write("%d\n" % peak_kib)
    return code


if __name__ == "__main__":
    sys.exit(main())
