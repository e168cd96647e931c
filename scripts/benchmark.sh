#!/usr/bin/env bash
# The benchmark of hypervisor.networking: writes docs/performance.md and docs/performance/*.svg.
#
#   scripts/benchmark.sh [--quick] [--reps N] [--parts taps,ovs,nat]     (as root)
#
# Not a test and not part of scripts/test.sh. It runs in throwaway network namespaces (hvb-*),
# uses the project's .venv for ansible-playbook and the modules, and its own virtualenv
# .venv-bench for matplotlib and the `ansible` 10.x package (installed --no-deps: only its
# openvswitch.openvswitch and community.libvirt collections are used, for the per-item loops).
# Run it on a quiet machine: the OVS-DPDK part is skipped while an ovs-vswitchd runs (the tests'
# OVS-DPDK shares the hugepages). See docs/performance.md.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"
if [[ $(id -u) -ne 0 ]]; then
    echo "benchmark.sh: run as root (network namespaces, taps, OVS-DPDK)" >&2
    exit 2
fi
[[ -x .venv/bin/ansible-playbook ]] || ./scripts/bootstrap.sh
[[ -d .collections/ansible_collections ]] || ./scripts/bootstrap.sh

BENCH_VENV="${REPO_ROOT}/.venv-bench"
# The last release of the `ansible` package that ships openvswitch.openvswitch.
ANSIBLE_PACKAGE="ansible>=10,<11"
if [[ ! -x "${BENCH_VENV}/bin/python" ]] || ! "${BENCH_VENV}/bin/python" -c 'import matplotlib, ansible_collections.openvswitch.openvswitch, ansible_collections.community.libvirt' 2>/dev/null; then
    python3 -m venv "${BENCH_VENV}"
    "${BENCH_VENV}/bin/pip" install --quiet matplotlib
    "${BENCH_VENV}/bin/pip" install --quiet --no-deps "${ANSIBLE_PACKAGE}"
fi
exec "${BENCH_VENV}/bin/python" tests/benchmark/run.py "$@"
