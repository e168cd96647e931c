# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the OVS-DPDK tests: a private ovsdb-server + ovs-vswitchd-dpdk per test.

* ``dpdk_hugepages`` (session): 512 x 2 MiB hugepages reserved; the previous pool size is
  restored at the end of the session.
* ``ovs`` -> tests/integration/ovs_dpdk.OvsDpdk running with ovs-vswitchd inside the
  fresh namespace ``hv_ns``; stopped at teardown, also when the test failed.

The tests skip (with the reason) only when OVS-DPDK cannot exist on this machine: packages
missing, no hugetlbfs, not root.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import ovs_dpdk  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="session")
def dpdk_hugepages():
    reason = ovs_dpdk.missing_requirements()
    if reason:
        pytest.skip("OVS-DPDK cannot run here: " + reason)
    before = ovs_dpdk.ensure_hugepages()
    yield
    if before < ovs_dpdk.HUGEPAGES_NEEDED:
        ovs_dpdk.restore_hugepages(before)


@pytest.fixture
def ovs(dpdk_hugepages, hv_ns, tmp_path):  # pylint: disable=redefined-outer-name,unused-argument
    instance = ovs_dpdk.OvsDpdk(hv_ns, tmp_path)
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()
