# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A plan is an ordered list of actions; applying it undoes what was done if any step fails."""

from __future__ import annotations

import errno
import os

from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ApplyError, HvnetError


UNDONE_SHOWN = 10  # how many undone commands a failure message lists


class Action:
    """One change: `command` says it in iproute2 terms, `do` applies it, `undo` reverses it.

    `partial`: `do` may stop part-way (several attributes or commands, a transaction that is
    committed before it is waited for) and `undo` is safe whatever part of it was done (it puts
    back the old values, or reverses exactly what `do` recorded). Then a failing `do` is undone
    too, not only the actions before it. Its `undo` returns False when `do` had done nothing.
    """

    __slots__ = ("command", "do", "undo", "partial")

    def __init__(self, command, do, undo=None, partial=False):
        self.command = command
        self.do = do
        self.undo = undo
        self.partial = partial


class Plan:
    def __init__(self):
        self.actions = []
        self.verifications = []  # callables that raise when the result is wrong; any exception rolls back

    def add(self, command, do, undo=None, partial=False):
        self.actions.append(Action(command, do, undo, partial))

    @property
    def commands(self):
        return [action.command for action in self.actions]

    def execute(self):
        """Apply every action in order, then run verifications; on any failure undo in reverse."""
        applied = []
        for action in self.actions:
            try:
                action.do()
            except Exception as exc:  # any failure must trigger the rollback below
                self._rollback(applied, "'%s' failed: %s" % (action.command, describe(exc)), action if action.partial else None)
            applied.append(action)
        for verify in self.verifications:
            try:
                verify()
            except HvnetError as exc:
                self._rollback(applied, str(exc))
            except Exception as exc:  # a read-back that broke (netlink, OSError) is no proof either: undo
                self._rollback(applied, "verification after apply failed: %s" % describe(exc))

    @staticmethod
    def _rollback(applied, reason, partly_done=None):
        """Undo `applied` in reverse, after `partly_done`: the failed action, if it may have done part of its work."""
        undone, failures = [], []
        count = len(applied)
        for action in ([partly_done] if partly_done is not None else []) + list(reversed(applied)):
            if action.undo is None:
                continue
            try:
                if action.undo() is False and action is partly_done:
                    continue  # it had done nothing
                undone.append(action.command)
                if action is partly_done:
                    count += 1
            except Exception as exc:  # keep undoing the rest; report what could not be undone
                failures.append("undo of '%s' failed: %s" % (action.command, describe(exc)))
        message = "%s; rolled back %d of %d applied changes" % (reason, len(undone), count)
        if undone:
            shown = undone[:UNDONE_SHOWN]
            more = len(undone) - len(shown)
            message += " (undone: %s%s)" % ("; ".join(shown), ", and %d more" % more if more else "")
        if failures:
            message += "; " + "; ".join(failures)
        raise ApplyError(message, undone, failures)


def describe(exc):
    """A short, path-free description of a low-level error."""
    code = getattr(exc, "code", None)
    if isinstance(code, int) and code > 0:
        return "%s (%s)" % (os.strerror(code), errno.errorcode.get(code, code))
    if isinstance(exc, OSError) and exc.errno:
        return "%s (%s)" % (os.strerror(exc.errno), errno.errorcode.get(exc.errno, exc.errno))
    return str(exc) or exc.__class__.__name__
