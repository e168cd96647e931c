# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shape of module parameters, checked before AnsibleModule sees them.

ansible-core's own checks of nested options name no list index (`found in config -> ips`),
and some wrong types crash inside it (`guest: true`, `mtu: Infinity`). This walks the raw
parameters against the module's argument spec first and reports every problem with its full
path (`config[0].ips[1].adress`), so AnsibleModule only ever sees well-shaped input.
"""

from __future__ import annotations

import difflib
import math
import re

from ansible.module_utils import basic
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.hypervisor.networking.plugins.module_utils.model.fields import quoted

_INT_RE = re.compile(r"\s*[-+]?[0-9]+\s*")
_SCALARS = (str, int, float, bool)


def checked_module(argument_spec, **kwargs):
    """An AnsibleModule for `argument_spec`, after the shape check; fails with every problem found."""
    params = basic._load_params()  # pylint: disable=protected-access  # documented for modules that check their own input
    problems = check_params(argument_spec, params) if isinstance(params, dict) else []
    if problems:
        permissive = basic.AnsibleModule(argument_spec={name: {"type": "raw"} for name in argument_spec}, **kwargs)
        permissive.fail_json(msg="; ".join(problems))
    return basic.AnsibleModule(argument_spec=argument_spec, **kwargs)


def check_params(spec, params):
    """Every shape problem of `params` against `spec`, as 'path: message' lines."""
    problems = []
    _check_options(problems, "", spec, {key: value for key, value in params.items() if not key.startswith("_ansible_")})
    return problems


def _check_options(problems, prefix, spec, values):
    for key in sorted(set(values) - set(spec)):
        close = difflib.get_close_matches(key, list(spec), n=1)
        hint = "did you mean '%s'? " % close[0] if close else ""
        problems.append("%s%s: unknown option; %s(allowed: %s)" % (prefix, key, hint, ", ".join(sorted(spec))))
    for key, option in spec.items():
        value = values.get(key)
        path = prefix + key
        if value is None:
            if option.get("required"):
                problems.append("%s: is required" % path)
            continue
        _check_value(problems, path, option, value)


def _check_value(problems, path, option, value, kind=None):
    """One value of `option`; `kind` overrides its type (an element of a list has the list's `elements`)."""
    kind = kind or option.get("type", "str")
    if kind == "dict":
        if not isinstance(value, dict):
            problems.append("%s: must be a dictionary, not %s" % (path, _type_name(value)))
        elif option.get("options"):
            _check_options(problems, path + ".", option["options"], value)
        return
    elements = option.get("elements", "str")
    if kind == "list":
        if isinstance(value, list):
            for index, element in enumerate(value):
                if element is None:
                    problems.append("%s[%d]: must not be empty" % (path, index))
                else:
                    _check_value(problems, "%s[%d]" % (path, index), option, element, elements)
        elif elements == "dict" or not isinstance(value, _SCALARS):
            problems.append("%s: must be a list, not %s" % (path, _type_name(value)))
        else:
            # Ansible takes a scalar for a list of words, split on ','; each word must still fit
            for word in (value.split(",") if isinstance(value, str) else [value]):
                _check_scalar(problems, path, elements, option.get("choices"), word)
        return
    _check_scalar(problems, path, kind, option.get("choices"), value)


def _check_scalar(problems, path, kind, choices, value):
    if not isinstance(value, _SCALARS):
        problems.append("%s: must be a single value, not %s" % (path, _type_name(value)))
        return
    if kind == "int" and not _is_int(value):
        problems.append("%s: %s is not an integer" % (path, quoted(value)))
        return
    if kind == "bool":
        try:
            boolean(value, strict=True)
        except TypeError:
            problems.append("%s: %s is not a boolean; use true or false" % (path, quoted(value)))
        return
    if choices and str(value) not in [str(choice) for choice in choices]:
        problems.append("%s: %s is not one of: %s" % (path, quoted(value), ", ".join(str(choice) for choice in choices)))


def _is_int(value):
    if isinstance(value, bool) or isinstance(value, int):
        return True  # the model range-checks it, and refuses a bool
    if isinstance(value, float):
        return math.isfinite(value) and value.is_integer()
    return isinstance(value, str) and bool(_INT_RE.fullmatch(value))


def _type_name(value):
    if isinstance(value, bool):
        return "a boolean (%s)" % str(value).lower()
    if isinstance(value, (int, float)):
        return "a number (%s)" % value
    if isinstance(value, str):
        return "a string (%s)" % quoted(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a dictionary"
    return type(value).__name__
