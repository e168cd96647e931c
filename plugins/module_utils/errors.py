# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exceptions shared by every layer, so modules can turn them into one clear message."""

from __future__ import annotations


class HvnetError(Exception):
    """Base class: the message is safe to show to the user."""


class ValidationError(HvnetError):
    """Bad input: carries every problem found, each naming its field."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class HostError(HvnetError):
    """The host lacks something the request needs (a kernel feature, a device)."""


class ApplyError(HvnetError):
    """An action failed while applying; `rolled_back` lists what was undone."""

    def __init__(self, message, rolled_back=(), rollback_failures=()):
        self.rolled_back = list(rolled_back)
        self.rollback_failures = list(rollback_failures)
        super().__init__(message)
