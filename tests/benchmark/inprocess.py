# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one module call in-process, optionally under cProfile: where a module's time goes.

    ip netns exec NS python3 tests/benchmark/inprocess.py REQUEST.json [--profile OUT.pstats]

REQUEST.json: {"module": "vm_interface", "args": {...}}. The module's main() runs as AnsiballZ
would run it (argument spec, engine, lock, persistence), without AnsiballZ's unpacking and
without ansible-playbook around it. Prints one JSON line: the phases' seconds and the result's
``changed``.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO_ROOT, ".collections"))


def main():
    started = time.perf_counter()
    with open(sys.argv[1], encoding="utf-8") as handle:
        request = json.load(handle)
    profile_out = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--profile" else None
    profiler = None
    if profile_out:
        import cProfile  # pylint: disable=import-outside-toplevel
        profiler = cProfile.Profile()
        profiler.enable()
    from ansible.module_utils import basic  # pylint: disable=import-outside-toplevel
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": request["args"]}).encode()  # pylint: disable=protected-access
    if hasattr(basic, "_ANSIBLE_PROFILE"):
        basic._ANSIBLE_PROFILE = "legacy"  # pylint: disable=protected-access
    path = os.path.join(REPO_ROOT, "plugins", "modules", request["module"] + ".py")
    spec = importlib.util.spec_from_file_location("hvnet_module_" + request["module"], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    imported = time.perf_counter()
    stdout, sys.stdout = sys.stdout, io.StringIO()
    try:
        module.main()
    except SystemExit:
        pass
    finally:
        output, sys.stdout = sys.stdout.getvalue(), stdout
    done = time.perf_counter()
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile_out)
    result = json.loads(output) if output.strip().startswith("{") else {"failed": True, "msg": output[-2000:]}
    print(json.dumps({"import_s": imported - started, "run_s": done - imported, "changed": result.get("changed"),
                      "failed": bool(result.get("failed")), "msg": result.get("msg", "")[:500]}))


if __name__ == "__main__":
    main()
