# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one path every module takes: validate, read once, plan, apply with rollback, verify.

A resource (see resource/) knows one kind of object; this engine knows the states:
merged, replaced, overridden, deleted, gathered, rendered, parsed.
"""

from __future__ import annotations

import sys
import traceback

from ansible_collections.hypervisor.networking.plugins.module_utils import leftovers, persist
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HvnetError, ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.lock import DEFAULT_TIMEOUT, ScopeLock
from ansible_collections.hypervisor.networking.plugins.module_utils.model.base import overlay
from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import Problems, check_no_control_characters
from ansible_collections.hypervisor.networking.plugins.module_utils.plan import Plan

STATES = ("merged", "replaced", "overridden", "deleted", "gathered", "rendered", "parsed")
CHANGING_STATES = ("merged", "replaced", "overridden", "deleted")

COMMON_ARGUMENT_SPEC = {
    "state": {"type": "str", "default": "merged", "choices": list(STATES)},
    "running_config": {"type": "str"},
    "persist": {"type": "bool", "default": True},
    "adopt": {"type": "bool", "default": False},
    "lock_timeout": {"type": "int", "default": DEFAULT_TIMEOUT},
}


def run_module(module, resource):
    """Entry point for a module: converge and exit with the result."""
    try:
        result = converge(resource, module.params, module.check_mode)
    except HvnetError as exc:
        module.fail_json(msg="%s: %s" % (resource.kind, exc))
    except Exception as exc:  # a bug: say so plainly, keep the traceback for -vvv
        module.fail_json(msg="%s: internal error (%s: %s); please report it" % (resource.kind, type(exc).__name__, exc),
                         exception=traceback.format_exc())
    warnings = result.pop("warnings", [])
    for warning in warnings:
        module.warn(warning)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


def converge(resource, params, check_mode):
    state = params.get("state") or "merged"
    config = params.get("config") or []
    if state == "parsed":
        if not params.get("running_config"):
            raise ValidationError(["running_config: is required with state parsed (the output of 'ip -d -j addr show')"])
        snapshot = resource.parse_running_config(params["running_config"])
        current = resource.current(snapshot, {}, ())
        return {"changed": False, "parsed": [resource.to_config(current[name]) for name in sorted(current)]}

    lock_timeout = params.get("lock_timeout", DEFAULT_TIMEOUT)
    given = _validate(resource, config, state, lock_timeout)
    if state == "rendered":
        desired = [resource.complete(overlay(resource.defaults(model), model), resource.empty_snapshot()) for model in given]
        paths = [resource.item_path(index) for index in range(len(desired))]
        _check_desired(resource, list(zip(paths, desired)))
        problems = Problems()
        rendered = [resource.render(model, params, path, problems) for path, model in zip(paths, desired)]
        problems.raise_if_any()
        return {"changed": False, "rendered": rendered}

    with ScopeLock(resource.lock_scopes(params), timeout=lock_timeout):
        backend = resource.open_backend(params)
        try:
            return _converge_on_host(resource, backend, params, state, given, check_mode)
        finally:
            backend.close()


def _validate(resource, config, state, lock_timeout=DEFAULT_TIMEOUT):
    problems = Problems()
    if lock_timeout is not None and (isinstance(lock_timeout, bool) or not isinstance(lock_timeout, int) or lock_timeout < 0):
        problems.add("lock_timeout", "must be a whole number of seconds, 0 or more (got %r)" % (lock_timeout,))
    models = []
    seen = {}
    for index, item in enumerate(config):
        path = resource.item_path(index)
        if not isinstance(item, dict):
            problems.add(path, "must be a dictionary")
            continue
        key = resource.name_field
        if state == "deleted" and set(item) - set(resource.deleted_fields):
            item = {name: item.get(name) for name in resource.deleted_fields if name in item}  # deleted needs only the names
        check_no_control_characters(problems, path, item)
        model = resource.from_config(item, path, problems)
        if model.name in seen:
            problems.add(path + "." + resource.name_field, "'%s' is listed twice (also config[%d])" % (model.name, seen[model.name]))
        seen[model.name] = index
        models.append(model)
    if state in ("merged", "replaced", "rendered") and not config:
        problems.add("config", "is required with state %s" % state)
    if state not in ("deleted", "gathered"):
        resource.check_config(models, problems)
    problems.raise_if_any()
    return models


def _split_saved(resource, items):
    """The saved items of this resource's backend (without the backend key), and the others
    (an item without the key was saved by the module's default backend)."""
    mine, others = {}, {}
    for name, item in items.items():
        if item.get(persist.BACKEND_KEY, resource.default_backend) == resource.backend:
            mine[name] = {key: value for key, value in item.items() if key != persist.BACKEND_KEY}
        else:
            others[name] = item
    return mine, others


def _join_saved(resource, mine, others):
    joined = dict(others)
    for name, item in mine.items():
        joined[name] = dict(item, **{persist.BACKEND_KEY: resource.backend}) if resource.backend != resource.default_backend else item
    return joined


def _converge_on_host(resource, backend, params, state, given, check_mode):
    store = persist.Store()
    saved, saved_elsewhere = _split_saved(resource, store.load(resource.kind, resource.name_field))
    snapshot = backend.read()
    if params.get("boot_restore"):
        # the restore runs before libvirtd (its units say so): asking a daemon ordered after it would hang the boot
        snapshot["boot_restore"] = True
    given = [resource.identify(model, snapshot) for model in given]
    # adopt only ever lets a call take over and change an object, never remove one.
    adopt = {model.name for model in given} if params.get("adopt") and state in ("merged", "replaced", "overridden") else set()
    current = resource.current(snapshot, saved, adopt)
    if state == "gathered":
        return {"changed": False, "gathered": resource.gather(snapshot, current)}

    warnings = []
    problems = Problems()
    desired = {}
    removals = []
    for index, model in enumerate(given):
        path = resource.item_path(index)
        if model.name in saved_elsewhere and state != "deleted":
            problems.add("%s.%s" % (path, resource.name_field), "%s is saved as an object of backend %s; remove it there first"
                         % (model.name, saved_elsewhere[model.name].get(persist.BACKEND_KEY, resource.default_backend)))
            continue
        conflict = resource.conflict(snapshot, model, bool(adopt))
        if state == "deleted":
            if model.name in current:
                removals.append(model.name)
            elif conflict:
                warnings.append("%s: %s; left alone" % (path, conflict))
            continue
        if conflict and model.name not in current:
            problems.add("%s.%s" % (path, resource.conflict_field), conflict)
            continue
        desired[model.name] = _desired(resource, state, model, current.get(model.name), snapshot)
    if state == "deleted" and not given:
        removals = sorted(current)
    if state == "overridden":
        removals = sorted(name for name in current if name not in desired)
    paths = [(resource.item_path(i), m.name) for i, m in enumerate(given)]
    _check_desired(resource, [(path, desired[name]) for path, name in paths if name in desired])
    resource.check_host(desired, snapshot, problems, warnings, check_mode, paths)
    listed = {model.name: (path, model) for (path, _name), model in zip(paths, given)}
    resource.check_removals([(listed.get(name, (None, None)), current[name]) for name in removals], snapshot, problems)
    problems.raise_if_any()

    plan = Plan()
    for name in removals:
        resource.plan_removal(plan, backend, current[name], snapshot)
    for name, model in desired.items():
        resource.plan_object(plan, backend, current.get(name), model, snapshot)
    resource.finish_plan(plan, backend, snapshot)
    host_changes = bool(plan.actions)

    if params.get("persist", True):
        new_saved = _saved_intent(resource, state, given, desired, current, saved, removals, snapshot)
        warnings.extend(store.plan_save(plan, resource.kind, _join_saved(resource, new_saved, saved_elsewhere), resource.name_field))
    vanished = leftovers.plan_removal(plan)

    before = {name: _shown(resource, model, snapshot) for name, model in current.items()}
    if check_mode:
        predicted = {name: model for name, model in current.items() if name not in removals}
        for name, model in desired.items():
            # fields the request leaves unset keep what the host has
            predicted[name] = overlay(current[name], model) if name in current else model
        after = {name: _shown(resource, model, snapshot) for name, model in predicted.items()}
    else:
        verified = []  # the verification's read of the host, which `after` shows too
        if plan.actions:
            # an empty plan is this very snapshot compared field by field: reading it again proves nothing
            plan.verifications.append(lambda: verified.append(_verify(resource, backend, desired, removals)))
        plan.execute()
        after = before
        if host_changes:
            after_snapshot = verified[0] if verified else backend.read()
            after_current = resource.current(after_snapshot, _split_saved(resource, store.load(resource.kind, resource.name_field))[0] or saved, ())
            after = {name: _shown(resource, model, after_snapshot) for name, model in after_current.items()}
    touched = sorted(set(removals) | set(desired))
    result = resource.report(snapshot, current, desired, removals)
    diff = {"before": {name: before[name] for name in touched if name in before},
            "after": {name: after[name] for name in touched if name in after}}
    if vanished:
        diff["before"][leftovers.DIFF_KEY] = vanished
        diff["after"][leftovers.DIFF_KEY] = []
    result.update({
        "changed": bool(plan.actions),
        "commands": plan.commands,
        "before": [before[name] for name in sorted(before)],
        "after": [after[name] for name in sorted(after)],
        "diff": diff,
        "warnings": warnings,
    })
    return result


def _check_desired(resource, objects):
    """Value checks on whole objects (request plus what the host has): all before any host check."""
    problems = Problems()
    for path, model in objects:
        resource.check_desired(problems, path, model)
    problems.raise_if_any()


def _shown(resource, model, snapshot):
    """An object in before/after: its config item, plus what the host has beyond it under `host`."""
    shown = resource.to_config(model)
    facts = resource.host_facts(model, snapshot)
    if facts:
        shown["host"] = facts
    return shown


def _desired(resource, state, model, current, snapshot):
    """The object as it must end up: merged builds on the host's object, others on defaults."""
    if state == "merged" and current is not None:
        base = current
    else:
        base = resource.defaults(_with_identity(model, current))
    return resource.complete(overlay(base, model, union_lists=state == "merged"), snapshot)


def _with_identity(model, current):
    """A partial item for an existing object inherits its kind, so defaults fit that kind."""
    if current is not None and getattr(model, "kind", None) is None and getattr(current, "kind", None) is not None:
        return overlay(model, type(model)(name=model.name, kind=current.kind))
    return model


def _saved_intent(resource, state, given, desired, current, saved, removals, snapshot):
    """What persistence saves: what was asked for, not what the kernel chose.

    A new tap's random MAC or a bridge's inherited MTU would otherwise enter the saved state
    only on the second run and make it report a change. Saved objects that are absent right
    now (a boot restore that failed) stay saved unless this call removes them.
    """
    if state == "overridden" or (state == "deleted" and not given):
        result = {}
    else:
        result = {name: item for name, item in saved.items() if name not in removals}
    for name, model in current.items():
        if name not in removals and name not in result:
            result[name] = resource.to_config(model)
    for model in given:
        if model.name not in desired:
            continue
        full = desired[model.name]
        if state == "merged" and model.name in saved:
            previous = resource.from_config(saved[model.name], "saved", Problems())
            base = overlay(resource.defaults(full), previous)
            intent = resource.complete(overlay(base, model, union_lists=True), snapshot)
        elif state == "merged" and model.name in current:
            intent = full  # made before persistence knew it: take it as it is
        else:
            intent = resource.complete(overlay(resource.defaults(full), model), snapshot)
        result[model.name] = resource.to_config(intent)
    return result


def _verify(resource, backend, desired, removals):
    """Read the host again: every object must now be as desired (nmstate's verify step).
    Returns that read."""
    snapshot = backend.read()
    current = resource.current(snapshot, {}, ())
    problems = []
    for name in removals:
        if name in current:
            problems.append("%s is still present after removal" % name)
    for name, model in desired.items():
        check = Plan()
        resource.plan_object(check, backend, current.get(name), model, snapshot)
        resource.finish_plan(check, backend, snapshot)
        if check.actions:
            problems.append("%s did not reach the desired state (still to do: %s)" % (name, "; ".join(check.commands)))
    if problems:
        raise HvnetError("verification after apply failed: " + "; ".join(problems))
    return snapshot


def restore_all(kinds_in_order, resource_for):
    """Boot-time restore: re-apply every saved object, one at a time, through the resource of the
    backend that saved it (`resource_for(kind, backend)`). Returns an exit code.

    One object at a time, so that one bad or unrestorable object does not keep the others down.
    A backend whose objects outlive reboots by themselves (libvirt's definitions and autostart)
    is left to do that: restoring them here would need its daemon before it runs.
    """
    store = persist.Store()
    status = 0
    for kind in kinds_in_order:
        default = resource_for(kind)
        try:
            saved = store.load(kind, default.name_field)
        except HvnetError as exc:
            sys.stdout.write("%s: restore failed: %s\n" % (kind, exc))
            status = 1
            continue
        changes = restored = kept = 0
        for name in sorted(saved):
            item = dict(saved[name])
            backend = item.pop(persist.BACKEND_KEY, None)
            try:
                resource = resource_for(kind, backend)
                if not resource.restored_at_boot:
                    kept += 1
                    continue
                # boot_restore: what another daemon keeps by itself (a pool's libvirt network) is left to it
                params = {"state": "replaced", "config": [resource.boot_item(item)], "persist": False, "adopt": True,
                          "backend": backend, "boot_restore": True}
                changes += len(converge(resource, params, check_mode=False)["commands"])
                restored += 1
            except HvnetError as exc:
                sys.stdout.write("%s %s: restore failed: %s\n" % (kind, name, exc))
                status = 1
        if saved:
            sys.stdout.write("%s: %d object(s), %d change(s)%s\n"
                             % (kind, restored, changes, ", %d kept by their backend" % kept if kept else ""))
    return status
