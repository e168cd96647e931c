# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one module call in-process, optionally with a fault injected into its plan.

Started inside a test namespace (``ip netns exec NS python3 fault_driver.py REQUEST.json``) by
tests/integration/test_faults.py. It runs the real module (its ``main()``: argument spec,
engine, lock, persistence) with the request's arguments, exactly as AnsiballZ would, and wraps
``Plan.execute`` so that, for the engine's plan:

* ``{"fault": "fail", "k": K}``: action K raises instead of doing anything (an injected failure;
  everything else is the real backend);
* ``{"fault": "kill", "k": K}``: right after action K's ``do()`` returned, the process SIGKILLs
  itself (no rollback, no lock release, no result: what a power cut of the module looks like);
* ``{"fault": "verify"}``: one more verification fails after all actions ran.

Before the plan runs it writes ``{"actions": N, "commands": [...]}`` as one line to the file
named by the request's ``plan_file``, so the caller learns N and can check the plan is the same
in every run. The module's result (JSON) goes to stdout, as a module's does.

Nothing here touches production code: the wrapping is a monkeypatch of this process only.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO_ROOT, ".collections"))

# pylint: disable=wrong-import-position
from ansible.module_utils import basic  # noqa: E402

from ansible_collections.hypervisor.networking.plugins.module_utils import plan as plan_module  # noqa: E402


class InjectedFault(Exception):
    """A failure no backend raises on its own: not the collection's error type, on purpose."""


def _install(request):
    original = plan_module.Plan.execute
    fault = request.get("fault")
    k = request.get("k")
    state = {"done": False}

    def execute(self):
        if state["done"]:  # only the engine's one plan of this call
            return original(self)
        state["done"] = True
        with open(request["plan_file"], "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"actions": len(self.actions), "commands": self.commands}) + "\n")
        if fault == "fail":
            def fail(k=k):
                raise InjectedFault("injected failure of action %d" % k)
            self.actions[k].do = fail
        elif fault == "kill":
            action = self.actions[k]
            do = action.do

            def do_then_die():
                do()
                os.kill(os.getpid(), signal.SIGKILL)
            action.do = do_then_die
        elif fault == "verify":
            def verify_fails():
                raise InjectedFault("injected failure of the verification")
            self.verifications.append(verify_fails)
        return original(self)

    plan_module.Plan.execute = execute


def _load_module(name):
    path = os.path.join(REPO_ROOT, "plugins", "modules", name + ".py")
    spec = importlib.util.spec_from_file_location("hvnet_module_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        request = json.load(handle)
    _install(request)
    args = dict(request["args"])
    if request.get("check"):
        args["_ansible_check_mode"] = True
    # what AnsiballZ hands a module: its arguments, and (ansible-core >= 2.19) their JSON profile
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()  # pylint: disable=protected-access
    if hasattr(basic, "_ANSIBLE_PROFILE"):
        basic._ANSIBLE_PROFILE = "legacy"  # pylint: disable=protected-access
    module = _load_module(request["module"])
    try:
        module.main()
    except SystemExit as exc:  # exit_json / fail_json: the result is on stdout already
        return exc.code or 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
