# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every model shares: None means "not given", overlays implement merged/replaced."""

from __future__ import annotations

import dataclasses


def overlay(base, given, union_lists=False):
    """Return `base` with every field that `given` sets; nested models overlay recursively.

    With `union_lists` (state merged), list and dict fields marked ``merge=union`` keep the
    base's items and add the given ones (a given dict key replaces the base's), as
    netcommon's merged state does.
    """
    if given is None:
        return base
    if base is None:
        return given
    values = {}
    for field in dataclasses.fields(given):
        new = getattr(given, field.name)
        old = getattr(base, field.name)
        if new is None:
            values[field.name] = old
        elif dataclasses.is_dataclass(new):
            values[field.name] = overlay(old, new, union_lists)
        elif union_lists and field.metadata.get("merge") == "union" and old:
            if isinstance(new, dict):  # per-key settings (e.g. per address): given keys win
                values[field.name] = dict(old, **new)
            else:
                values[field.name] = list(old) + [item for item in new if item not in old]
        else:
            values[field.name] = new
    return type(given)(**values)


def to_config(model):
    """The model as a config dict, leaving out what is unset."""
    result = {}
    for field in dataclasses.fields(model):
        value = getattr(model, field.name)
        if value is None:
            continue
        if dataclasses.is_dataclass(value):
            value = to_config(value)
            if not value:
                continue
        elif isinstance(value, list):
            value = [to_config(item) if dataclasses.is_dataclass(item) else item for item in value]
        result[field.name] = value
    return result
