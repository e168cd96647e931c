# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the SVG that playbooks/host_diagram.yml writes, shared by the host-profile tests.

With HV_WRITE_DOC_DIAGRAMS=1 in the environment, each test also copies its host's SVG to
docs/diagrams/<profile>.svg: the documentation's pictures come from these real runs
(docs/testing.md says how to regenerate them).
"""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "host_diagram.yml")
SVG_NS = "{http://www.w3.org/2000/svg}"


class Diagram:
    """The nodes of a Graphviz SVG: node id (our DOT id, in <title>) -> (text lines, foreign)."""

    def __init__(self, path):
        self.path = path
        self.root = ET.parse(path).getroot()  # also proves the SVG is well-formed XML
        self.nodes = {}
        self.edges = set()
        for group in self.root.iter(SVG_NS + "g"):
            title = group.find(SVG_NS + "title")
            if title is None:
                continue
            texts = [text.text or "" for text in group.iter(SVG_NS + "text")]
            if group.get("class") == "node":
                dashed = any("stroke-dasharray" in (shape.attrib) for shape in group if shape.tag != SVG_NS + "text")
                self.nodes[title.text] = (texts, dashed)
            elif group.get("class") == "edge":
                source, target = title.text.split("->", 1)
                self.edges.add((source, target))

    def text(self, node_id):
        return self.nodes[node_id][0]

    def foreign(self, node_id):
        """Drawn greyed and dashed: the host's, not the collection's."""
        return self.nodes[node_id][1]


def keep_for_docs(svg_path, profile):
    if os.environ.get("HV_WRITE_DOC_DIAGRAMS") == "1":
        target = os.path.join(REPO_ROOT, "docs", "diagrams", profile + ".svg")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(svg_path, target)
