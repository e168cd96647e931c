#!/usr/bin/env bash
# Idempotent bootstrap of a development/test machine (Debian 12, run as root).
#
#  * installs missing apt packages (apt-get only runs when something is missing)
#  * creates <repo>/.venv with /usr/bin/python3
#  * installs requirements-dev.txt into it (skipped while the stamp file
#    .venv/.requirements-dev.sha256 matches the file's hash)
#  * creates <repo>/.venv-floor with the oldest supported ansible-core
#    (requirements-floor.txt), for ansible-test sanity at that floor
#  * links <repo>/.collections/ansible_collections/hypervisor/networking -> <repo>
#
# Quiet on success; on failure the captured output is printed and the exit
# status is non-zero.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${REPO_ROOT}/.venv"
PYTHON=/usr/bin/python3
REQS="${REPO_ROOT}/requirements-dev.txt"
STAMP="${VENV}/.requirements-dev.sha256"
FLOOR_VENV="${REPO_ROOT}/.venv-floor"
FLOOR_REQS="${REPO_ROOT}/requirements-floor.txt"
FLOOR_STAMP="${FLOOR_VENV}/.requirements-floor.sha256"
APT_PACKAGES=(
    iproute2 nftables dnsmasq-base python3-venv python3-dev iputils-ping
    procps git rsync shellcheck
    busybox bind9-dnsutils
    # OVS-DPDK for tests/integration/dpdk (vdevs: null, af_packet, tap; virtio-user stands in for
    # QEMU on vhost-user sockets; the mempool driver is required)
    openvswitch-switch-dpdk librte-net-af-packet23 librte-net-null23 librte-net-tap23
    librte-net-virtio23 librte-bus-vdev23 librte-mempool-ring23
    # the consumers of vm_interface's renderings (tests/integration/test_nic_render.py)
    qemu-system-x86 libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libxml2-utils iptables
    # dot renders playbooks/host_diagram.yml's SVGs on the controller (and tests/unit/test_host_diagram.py)
    graphviz
    # vm_network backend libvirt (tests/integration/test_libvirt_network.py): the system Python's
    # binding (the restore program's Python), and what pip needs to build libvirt-python in .venv
    python3-libvirt libvirt-dev pkg-config gcc
)

LOG="$(mktemp -t hv-bootstrap.XXXXXX)"
trap 'rm -f "${LOG}"' EXIT

die() {
    echo "bootstrap: ERROR: $*" >&2
    if [[ -s "${LOG}" ]]; then
        echo "---- output of the failed step ----" >&2
        tail -n 60 "${LOG}" >&2
        echo "-----------------------------------" >&2
    fi
    exit 1
}

# Run a command, capturing its output; show the output only if it fails.
quiet() {
    : >"${LOG}"
    "$@" >>"${LOG}" 2>&1 || die "command failed: $*"
}

# --- 1. apt packages -------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null || true)"
    [[ "${status}" == "install ok installed" ]] || missing+=("${pkg}")
done
if ((${#missing[@]})); then
    [[ "$(id -u)" -eq 0 ]] || die "missing apt packages (${missing[*]}) and not running as root"
    export DEBIAN_FRONTEND=noninteractive
    quiet apt-get update -q
    # no service may start from a package's postinst (openvswitch-switch would
    # start the host's own OVS): a temporary policy-rc.d unless one exists
    policy=/usr/sbin/policy-rc.d
    temp_policy=0
    if [[ ! -e "${policy}" ]]; then
        printf '#!/bin/sh\nexit 101\n' >"${policy}" && chmod 755 "${policy}" && temp_policy=1
    fi
    install_rc=0
    apt-get install -y -q --no-install-recommends "${missing[@]}" >>"${LOG}" 2>&1 || install_rc=$?
    if ((temp_policy)); then rm -f "${policy}"; fi
    ((install_rc == 0)) || die "command failed: apt-get install ${missing[*]}"
fi

# libvirtd's QEMU driver runs QEMU as libvirt-qemu:libvirt-qemu; libvirt-daemon-system, which
# would create them, also brings units and the default network, which the tests do not want.
if ! getent group libvirt-qemu >/dev/null; then quiet groupadd --system libvirt-qemu; fi
if ! getent passwd libvirt-qemu >/dev/null; then
    quiet useradd --system --gid libvirt-qemu --home-dir /var/lib/libvirt --no-create-home --shell /usr/sbin/nologin libvirt-qemu
fi
mkdir -p /var/log/libvirt

# --- 2. virtualenv ---------------------------------------------------------
if [[ ! -x "${VENV}/bin/python" ]] || ! "${VENV}/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "${VENV}"
    quiet "${PYTHON}" -m venv "${VENV}"
    rm -f "${STAMP}"
fi

# --- 3. Python dev requirements ---------------------------------------------
want_hash="$(sha256sum "${REQS}" "${REPO_ROOT}/requirements.txt" | sha256sum | cut -d' ' -f1)"
have_hash="$(cat "${STAMP}" 2>/dev/null || true)"
if [[ "${want_hash}" != "${have_hash}" ]]; then
    quiet "${VENV}/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
    quiet "${VENV}/bin/python" -m pip install --disable-pip-version-check -q -r "${REQS}"
    echo "${want_hash}" >"${STAMP}"
fi

# --- 3b. the ansible-core floor (sanity tests at the oldest supported release) ----
if [[ ! -x "${FLOOR_VENV}/bin/python" ]] || ! "${FLOOR_VENV}/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "${FLOOR_VENV}"
    quiet "${PYTHON}" -m venv "${FLOOR_VENV}"
    rm -f "${FLOOR_STAMP}"
fi
want_hash="$(sha256sum "${FLOOR_REQS}" | cut -d' ' -f1)"
have_hash="$(cat "${FLOOR_STAMP}" 2>/dev/null || true)"
if [[ "${want_hash}" != "${have_hash}" ]]; then
    quiet "${FLOOR_VENV}/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
    quiet "${FLOOR_VENV}/bin/python" -m pip install --disable-pip-version-check -q -r "${FLOOR_REQS}"
    echo "${want_hash}" >"${FLOOR_STAMP}"
fi

# --- 4. collection search path ------------------------------------------------
COLL_PARENT="${REPO_ROOT}/.collections/ansible_collections/hypervisor"
LINK="${COLL_PARENT}/networking"
if [[ "$(readlink "${LINK}" 2>/dev/null || true)" != "${REPO_ROOT}" ]]; then
    mkdir -p "${COLL_PARENT}"
    rm -rf "${LINK}"
    ln -s "${REPO_ROOT}" "${LINK}"
fi

# --- 5. ansible-test pip bootstrap (offline stand-in) ----------------------------
# `ansible-test sanity --venv` bootstraps pip in its virtualenvs with a
# get-pip script from ci-files.testing.ansible.com (unreachable here); it uses
# ~/.ansible/test/cache/get_pip_<ver>.py instead when that exists.  A real
# downloaded copy is left alone; our stand-in is refreshed when it changed.
GET_PIP_SRC="${REPO_ROOT}/scripts/ansible_test_get_pip.py"
# each ansible-core (newest and floor) asks for its own pip version
for venv in "${VENV}" "${FLOOR_VENV}"; do
    pip_ver="$("${venv}/bin/python" -c 'import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="3.11"))["pip"])' 2>/dev/null || true)"
    [[ -n "${pip_ver}" ]] || continue
    GET_PIP_CACHE="${HOME}/.ansible/test/cache/get_pip_${pip_ver//./_}.py"
    if [[ ! -e "${GET_PIP_CACHE}" ]] ||
        { grep -q 'Offline stand-in for the get-pip.py' "${GET_PIP_CACHE}" &&
            ! cmp -s "${GET_PIP_SRC}" "${GET_PIP_CACHE}"; }; then
        mkdir -p "$(dirname "${GET_PIP_CACHE}")"
        cp "${GET_PIP_SRC}" "${GET_PIP_CACHE}"
    fi
done

exit 0
