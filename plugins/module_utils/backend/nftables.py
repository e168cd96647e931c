# -*- coding: utf-8 -*-
# Copyright: contributors to hypervisor.networking
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nftables: read with `nft -j list ruleset`, apply generated rulesets with `nft -f -` (atomic).

Only tables named hvnet_* whose first rule carries our mark count as ours (see
render/nftables.py); nothing else is ever changed or removed.

Drift: the mark says what was rendered; a fingerprint of the table as nft itself lists it,
taken right after each apply and kept in the scope's runtime directory (persist.Layout), tells
whether anyone changed a rule since. A table whose fingerprint differs is applied again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess

from ansible_collections.hypervisor.networking.plugins.module_utils import persist
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import HostError
from ansible_collections.hypervisor.networking.plugins.module_utils.render import nftables as render

TIMEOUT = 30


def find_binary(name, extra=("/usr/sbin", "/sbin", "/usr/bin", "/bin")):
    found = shutil.which(name)
    if found:
        return found
    for directory in extra:
        path = os.path.join(directory, name)
        if os.access(path, os.X_OK):
            return path
    return None


class Nftables:
    def __init__(self, layout):
        self.binary = find_binary("nft")
        self.layout = layout

    @property
    def available(self):
        return self.binary is not None

    def _run(self, argv, text_input=None):
        proc = subprocess.run([self.binary] + argv, input=text_input, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        if proc.returncode != 0:
            raise HostError("nft %s failed: %s" % (" ".join(argv), (proc.stderr or proc.stdout).strip()[-2000:]))
        return proc.stdout

    def read(self):
        """{'owned': {network: {table, family, digest, rules, objects}}, 'foreign': [table names]}."""
        result = {"available": self.available, "owned": {}, "foreign": []}
        if not self.available:
            return result
        document = json.loads(self._run(["-j", "list", "ruleset"]) or '{"nftables": []}')
        tables = {}
        for item in document.get("nftables", []):
            kind, value = next(iter(item.items()))
            if kind == "metainfo":
                continue
            family = value.get("family")
            table = value.get("table") if kind != "table" else value.get("name")
            if family != render.FAMILY or not str(table).startswith(render.TABLE_PREFIX):
                continue
            entry = tables.setdefault(table, {"objects": [], "rules": 0, "mark": None})
            entry["objects"].append({kind: value})
            if kind == "rule":
                entry["rules"] += 1
                if entry["mark"] is None and value.get("chain") == "hv_forward":
                    entry["mark"] = render.parse_mark(value.get("comment")) or False
        for table, entry in sorted(tables.items()):
            mark = entry["mark"]
            if not mark:
                result["foreign"].append(table)
                continue
            name, digest, rules = mark
            recorded = self._recorded_fingerprint(table)
            intact = rules == entry["rules"] and recorded in (None, _fingerprint(entry["objects"]))
            result["owned"][name] = {"table": table, "family": render.FAMILY, "digest": digest if intact else "",
                                     "rules": entry["rules"], "objects": entry["objects"]}
        return result

    def _fingerprint_path(self, table):
        return os.path.join(self.layout.nft_dir, "%s.sha256" % table)

    def _recorded_fingerprint(self, table):
        try:
            with open(self._fingerprint_path(table)) as handle:
                return handle.read().strip()
        except OSError:
            return None  # not applied since boot by this version: the mark alone decides

    def _record(self, table):
        """Remember how nft lists `table` right after we applied it."""
        document = json.loads(self._run(["-j", "list", "table", render.FAMILY, table]) or '{"nftables": []}')
        objects = [item for item in document.get("nftables", []) if "metainfo" not in item]
        persist.write_text(self._fingerprint_path(table), _fingerprint(objects) + "\n")

    def apply(self, script, table):
        self._run(["-f", "-"], script)
        self._record(table)

    def delete(self, family, table):
        self._run(["-f", "-"], render.delete_script(family, table))
        persist.remove_file(self._fingerprint_path(table), self.layout.runtime_root)
        persist.remove_file(os.path.join(self.layout.legacy_runtime_dir, "nft-%s.sha256" % table), self.layout.runtime_root)

    def restore(self, family, table, objects):
        """Put a table back exactly as `read()` saw it (used by rollbacks)."""
        cleaned = []
        for item in objects:
            kind, value = next(iter(item.items()))
            value = {key: val for key, val in value.items() if key != "handle"}
            cleaned.append({"add": {kind: value}})
        # one transaction: make sure it exists, drop it, build it again (all or nothing)
        reset = [{"add": {"table": {"family": family, "name": table}}}, {"delete": {"table": {"family": family, "name": table}}}]
        self._run(["-j", "-f", "-"], json.dumps({"nftables": reset + cleaned}))
        self._record(table)


def _fingerprint(objects):
    """The table's content as nft lists it, without the handles nft numbers anew."""
    cleaned = []
    for item in objects:
        kind, value = next(iter(item.items()))
        cleaned.append({kind: {key: val for key, val in value.items() if key != "handle"}})
    return hashlib.sha256(json.dumps(cleaned, sort_keys=True).encode()).hexdigest()
