# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contract between the engine and a resource (one kind of object a module manages).

The engine (engine.py) owns the states, the lock, check/diff mode, persistence and rollback;
a resource only knows its objects. A snapshot is whatever `open_backend(params).read()`
returns: plain data, read once per call.
"""

from __future__ import annotations

from ansible_collections.hypervisor.networking.plugins.module_utils.lock import netns_scope
from ansible_collections.hypervisor.networking.plugins.module_utils.model.base import to_config


class Resource:
    kind = None  # the module's name, also the key of its saved state
    conflict_field = "name"  # the config field a conflict() message is about
    name_field = "name"  # the config field that names an object (models expose it as .name)
    # A module with several backends (its `backend` option) has one resource per backend, all
    # with one model. Saved intent items of a backend other than the default carry its name.
    backend = None
    default_backend = None
    restored_at_boot = True  # False: what the backend makes outlives reboots by itself (libvirt)

    @property
    def deleted_fields(self):
        """The fields state deleted reads of an item: its name (a resource may add what else identifies it)."""
        return (self.name_field,)

    @staticmethod
    def item_path(index):
        """The path messages give the config item at `index` (`config[0]`; a module whose config is one dict says `config`)."""
        return "config[%d]" % index

    # ---- values (no host) -----------------------------------------------------------
    def from_config(self, item, path, problems):
        """Validate one config item's values into a model; None marks fields not given."""
        raise NotImplementedError

    def defaults(self, model):
        """The model every unset field falls back to under replaced/overridden (and new objects)."""
        raise NotImplementedError

    def check_config(self, models, problems):
        """Checks across the listed objects (duplicate bridges, overlapping subnets...)."""

    def to_config(self, model):
        return to_config(model)

    @staticmethod
    def boot_item(item):
        """A saved config item as the boot-time restore applies it (by default as it was saved)."""
        return item

    def gather(self, snapshot, current):
        """state gathered: config items of the objects on the host (by default the ones the collection owns)."""
        return [self.to_config(current[name]) for name in sorted(current)]

    def host_facts(self, model, snapshot):
        """What the host has for this object beyond its config (read-only; shown as `host` in before/after).

        With the snapshot taken before a change, what it will have once the change is applied.
        """
        return {}

    def render(self, model, params, path, problems):
        """state rendered: the object in other syntaxes, without the host. A syntax that cannot
        express the object adds a problem naming the field (under `path`) instead of guessing."""
        raise NotImplementedError

    def parse_running_config(self, text):
        """state parsed: a snapshot built from text the user captured elsewhere."""
        raise NotImplementedError

    def empty_snapshot(self):
        raise NotImplementedError

    # ---- host --------------------------------------------------------------------------
    def lock_scopes(self, params):
        """What a call shares with other runs and locks (lock.py): by default its network namespace."""
        return [netns_scope()]

    def open_backend(self, params):
        """A backend with read() -> snapshot and close(), plus the calls actions make."""
        raise NotImplementedError

    def identify(self, model, snapshot):
        """The listed object with the name the host knows it by (e.g. a PCI address for an interface name)."""
        return model

    def current(self, snapshot, saved, adopt=()):
        """{name: model} of the objects this collection owns (plus adoptable ones named in adopt)."""
        raise NotImplementedError

    def conflict(self, snapshot, model, adopt):
        """Why this object cannot be ours (exists and is not marked), or None."""
        return None

    def complete(self, model, snapshot):
        """Fill defaults that depend on the host (an MTU that follows the bridge...)."""
        return model

    def check_desired(self, problems, path, model):
        """Value checks on the whole object as it will be: under merged, the fields the call did
        not give come from the host. Runs for rendered too, and before any check against the host."""

    def check_host(self, desired, snapshot, problems, warnings, check_mode, paths):
        """Checks against the host, after every value check passed."""

    def check_removals(self, removals, snapshot, problems):
        """Checks against the host before anything is removed: `removals` is [((path, listed item) or
        (None, None) when not listed, current object)]."""

    def plan_object(self, plan, backend, current, desired, snapshot):
        """Add the actions that turn `current` (None: absent) into `desired`; none when equal."""
        raise NotImplementedError

    def plan_removal(self, plan, backend, current, snapshot):
        raise NotImplementedError

    def finish_plan(self, plan, backend, snapshot):
        """Last planning step, e.g. commit a batched transaction the object actions filled."""

    def report(self, snapshot, current, desired, removals):
        """Extra result keys of a changing call (e.g. restart_required), from the state before it."""
        return {}
