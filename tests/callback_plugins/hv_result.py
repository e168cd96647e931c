# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: record every task result as one JSON line.

Used by the test harness (tests/integration/conftest.py).  Enabled with::

    ANSIBLE_CALLBACK_PLUGINS=<repo>/tests/callback_plugins
    ANSIBLE_CALLBACKS_ENABLED=hv_result
    HV_RESULT_FILE=/path/to/results.jsonl

Each line is ``{"host": ..., "task": ..., "action": ..., "status": ...,
"result": {...}}`` where ``result`` is the module's result dictionary
unchanged except that Ansible-internal ``_ansible_*`` keys are removed (so
``changed``, ``msg``, ``diff``, ``invocation`` ... are kept) and that
``failed`` (always) and ``skipped``/``unreachable`` (when true) are present,
as in a registered variable.
"""

from __future__ import annotations

import dataclasses
import json
import os

from ansible.plugins.callback import CallbackBase
from ansible.vars.clean import strip_internal_keys

DOCUMENTATION = r"""
name: hv_result
type: aggregate
short_description: Write task results as JSON lines (test harness only)
description:
  - Appends one JSON object per task result to the file named by the
    E(HV_RESULT_FILE) environment variable.
requirements:
  - enable in configuration
"""


def _default(obj):
    """JSON fallback for objects Ansible may put into results."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


class CallbackModule(CallbackBase):
    """Append each task result to $HV_RESULT_FILE as a JSON line."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "hv_result"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get("HV_RESULT_FILE")

    def _record(self, result, status):
        if not self._path:
            return
        # ansible-core >= 2.19 exposes .result; older versions only ._result
        data = getattr(result, "result", None)
        if data is None:
            data = result._result  # pylint: disable=protected-access
        data = strip_internal_keys(dict(data))
        # ansible-core >= 2.19 drops the status keys from callback results
        # ("reflected on the event type"); put them back like a registered
        # variable would have them.
        data.setdefault("failed", status == "failed")
        if status in ("skipped", "unreachable"):
            data.setdefault(status, True)
        # likewise .host/.task (>= 2.19) versus ._host/._task
        host = getattr(result, "host", None) or result._host  # pylint: disable=protected-access
        task = getattr(result, "task", None) or result._task  # pylint: disable=protected-access
        entry = {
            "host": host.get_name(),
            "task": task.get_name(),
            "action": task.action,
            "status": status,
            "result": data,
        }
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, default=_default, sort_keys=True) + "\n")

    def v2_runner_on_ok(self, result, **kwargs):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result, **kwargs):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result, **kwargs):
        self._record(result, "unreachable")
