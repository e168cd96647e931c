# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Top-level pytest configuration.

Makes ``ansible_collections.hypervisor.networking`` importable by putting
``<repo>/.collections`` on sys.path (creating the
``.collections/ansible_collections/hypervisor/networking -> <repo>`` symlink
if scripts/bootstrap.sh has not done so yet), and makes the ``netns`` helper
module (tests/netns.py) importable as ``import netns``.
"""

from __future__ import annotations

import os
import sys

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)
COLLECTIONS_DIR = os.path.join(REPO_ROOT, ".collections")
COLLECTION_LINK = os.path.join(COLLECTIONS_DIR, "ansible_collections", "hypervisor", "networking")


def _ensure_collection_link():
    if os.path.realpath(COLLECTION_LINK) == os.path.realpath(REPO_ROOT):
        return
    os.makedirs(os.path.dirname(COLLECTION_LINK), exist_ok=True)
    if os.path.islink(COLLECTION_LINK):
        os.unlink(COLLECTION_LINK)
    os.symlink(REPO_ROOT, COLLECTION_LINK)


_ensure_collection_link()
for _path in (COLLECTIONS_DIR, TESTS_DIR):
    if _path not in sys.path:
        sys.path.insert(0, _path)
