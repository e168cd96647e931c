# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the kernel-link resources share: snapshot handling and ownership checks."""

from __future__ import annotations

from ansible_collections.hypervisor.networking.plugins.module_utils.backend.netlink import Netlink
from ansible_collections.hypervisor.networking.plugins.module_utils.ownership import parse_mark
from ansible_collections.hypervisor.networking.plugins.module_utils.parse.iproute import snapshot_from_ip_json
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.base import Resource


class LinkResource(Resource):
    """Base for resources that live as kernel links marked with our alias."""

    adoptable_kinds = ()  # kernel link kinds that `adopt: true` may take over

    def open_backend(self, params):
        return Netlink()

    @staticmethod
    def empty_snapshot():
        return {"links": {}, "addresses": {}, "routes": []}

    def parse_running_config(self, text):
        return snapshot_from_ip_json(text)

    def owned_links(self, snapshot, adopt=()):
        """Links marked as ours, plus unmarked ones of an adoptable kind named in `adopt`."""
        for name, link in snapshot["links"].items():
            mark = parse_mark(link.get("alias"))
            if mark and mark[0] == self.kind:
                yield name, link, mark[1]
            elif not mark and name in adopt and link.get("kind") in self.adoptable_kinds:
                yield name, link, {}

    def link_name(self, model):
        return model.name

    def conflict(self, snapshot, model, adopt):
        """Why the link `model` needs cannot be ours, or None."""
        name = self.link_name(model)
        link = snapshot["links"].get(name)
        if link is None:
            return None
        mark = parse_mark(link.get("alias"))
        if mark and mark[0] == self.kind:
            return None
        if mark:
            return "%s already exists and belongs to this collection's %s" % (name, mark[0])
        if adopt and link.get("kind") in self.adoptable_kinds:
            return None
        hint = " or set adopt: true to take it over" if link.get("kind") in self.adoptable_kinds else ""
        return "%s already exists (kind %s) and was not created by hypervisor.networking; choose another name%s" % (
            name, link.get("kind") or "physical", hint)


def ip_link_set_command(name, **attrs):
    words = ["ip", "link", "set", name]
    for key, value in attrs.items():
        if key == "master":
            words += ["master", value] if value else ["nomaster"]
        elif key == "state":
            words.append(value)
        elif key == "ifalias":
            words += ["alias", "'%s'" % value]
        else:
            words += [key, str(value)]
    return " ".join(words)
