#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: role_variables
short_description: Warn about variables that look like a role's but that the role does not know
version_added: 0.1.0
description:
  - The collection's roles call this first. A misspelled role variable (C(nat_network) for C(nat_networks)) is
    otherwise silently ignored, and a role whose defaults build something (the C(nat) role builds libvirt's
    C(default) network) then builds only its defaults.
  - Warns, naming each variable in O(given) that is not in O(known), with the closest known name, and says which
    of the role's variables in O(at_default) keep their default value because of it. Changes nothing.
author:
  - hypervisor.networking contributors (@hypervisor-networking)
attributes:
  check_mode:
    description: Runs the same in check mode; it never changes anything.
    support: full
  diff_mode:
    description: Nothing to show.
    support: none
options:
  role:
    description: The role's name, for the message.
    type: str
    required: true
  given:
    description: The names of the variables set for the host that start with the role's prefix.
    type: list
    elements: str
    required: true
  known:
    description: The names the role knows (its options, its results, its internal names).
    type: list
    elements: str
    required: true
  at_default:
    description: The role's variables that hold their default value.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Warn about misspelled variables of a role web (the collection's roles do this first)
  hypervisor.networking.role_variables:
    role: web
    given: "{{ lookup('ansible.builtin.varnames', '^web_.+', wantlist=true) }}"
    known: [web_port, web_root]
    at_default: "{{ ['web_port'] if web_port | default(80) == 80 else [] }}"
"""

RETURN = r"""
unknown:
  description: The variables in O(given) that the role does not know.
  returned: always
  type: list
  elements: str
  sample: [nat_network]
"""

import difflib

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec={
            "role": {"type": "str", "required": True},
            "given": {"type": "list", "elements": "str", "required": True},
            "known": {"type": "list", "elements": "str", "required": True},
            "at_default": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    role, known = module.params["role"], module.params["known"]
    unknown = sorted(set(module.params["given"]) - set(known))
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        hint = " (did you mean %s?)" % close[0] if close else ""
        module.warn("role %s: %s is set but is not a variable of this role%s; it is ignored" % (role, name, hint))
    if unknown and module.params["at_default"]:
        at_default = module.params["at_default"]
        module.warn("role %s: %s %s, so the role builds only its defaults"
                    % (role, ", ".join(at_default), "is at its default" if len(at_default) == 1 else "are at their defaults"))
    module.exit_json(changed=False, unknown=unknown)


if __name__ == "__main__":
    main()
