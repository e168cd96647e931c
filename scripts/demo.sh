#!/usr/bin/env bash
# Demo of hypervisor.networking: a bridged hypervisor host, built by
# playbooks/bridge_host.yml (role hypervisor.networking.bridge) inside a
# throwaway sandbox of network namespaces.  Nothing outside the sandbox is
# touched: no link, address, route or firewall rule of this machine's own
# network namespace changes.
#
#   scripts/demo.sh
#
#          upstream ns                hypervisor ns                      vm ns
#   +-----------------+   +-----------------------------------+   +----------------+
#   | up0             |   |        br-demo 203.0.113.2/24     |   |                |
#   | 203.0.113.1/24  |---| eth0 --+ (uplink; default route   |   |                |
#   +-----------------+   |          via 203.0.113.1)         |   |                |
#                         |        br-vms 198.51.100.1/24     |   | eth0           |
#                         |          +-- vm1-tap0 (mq tap)    |   | 198.51.100.10  |
#                         |          +-- vm1-veth ------------|---|                |
#                         +-----------------------------------+   +----------------+
#
# Steps: bootstrap, build the namespaces, run the playbook, wire the "VM",
# show the result, prove connectivity, run the playbook again (changed=0),
# clean up (always, also on failure or Ctrl-C).
# Addresses: only documentation ranges (203.0.113.0/24, 198.51.100.0/24).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_BIN="${REPO_ROOT}/.venv/bin"
# the two roots of docs/state-and-recovery.md (persistent, runtime)
STATE_ROOTS=(/var/lib/hypervisor-networking /run/hypervisor-networking)

if [[ -t 1 ]]; then
    BOLD=$'\e[1m' GREEN=$'\e[32m' RED=$'\e[31m' RESET=$'\e[0m'
else
    BOLD="" GREEN="" RED="" RESET=""
fi
step() { printf '\n%s==> %s%s\n' "${BOLD}" "$*" "${RESET}"; }
info() { printf '    %s\n' "$*"; }
ok() { printf '    %sOK%s  %s\n' "${GREEN}" "${RESET}" "$*"; }
fail() {
    printf '    %sFAIL%s %s\n' "${RED}" "${RESET}" "$*" >&2
    exit 1
}
# Run a command and indent its output.
show() {
    printf '    $ %s\n' "$*"
    "$@" 2>&1 | sed 's/^/      /'
}

[[ "$(id -u)" -eq 0 ]] || {
    echo "demo.sh: must run as root (it creates network namespaces)" >&2
    exit 1
}

# --- sandbox names (unique per run) -------------------------------------------
SUFFIX="$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
HV="hvdemo-hv-${SUFFIX}"
VM="hvdemo-vm-${SUFFIX}"
UP="hvdemo-up-${SUFFIX}"
WORK="$(mktemp -d -t hvdemo.XXXXXX)"

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    step "Cleaning up the sandbox"
    local ns
    for ns in "${VM}" "${UP}" "${HV}"; do
        if [[ -e "/run/netns/${ns}" ]]; then
            # stop whatever still runs inside (nothing should), then delete
            local -a pid_list=()
            mapfile -t pid_list < <(ip netns pids "${ns}" 2>/dev/null || true)
            ((${#pid_list[@]} == 0)) || kill "${pid_list[@]}" 2>/dev/null || true
            ip netns delete "${ns}" && info "deleted namespace ${ns}"
        fi
    done
    local root
    for root in "${STATE_ROOTS[@]}"; do
        if [[ -d "${root}/netns/${HV}" ]]; then
            rm -rf "${root:?}/netns/${HV}"
            info "removed the state kept in ${root}/netns/${HV}"
        fi
    done
    rm -rf "${WORK}"
    if ((rc == 0)); then
        printf '\n%sDemo finished successfully.%s\n' "${GREEN}${BOLD}" "${RESET}"
    else
        printf '\n%sDemo FAILED (exit %d); the sandbox was removed.%s\n' "${RED}${BOLD}" "${rc}" "${RESET}" >&2
    fi
    exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. bootstrap ---------------------------------------------------------------
step "Bootstrapping the development environment (scripts/bootstrap.sh)"
"${REPO_ROOT}/scripts/bootstrap.sh"
ok "venv ${REPO_ROOT}/.venv and collection path ${REPO_ROOT}/.collections ready"

# --- 2. sandbox -------------------------------------------------------------------
step "Building the sandbox: namespaces ${HV} (hypervisor), ${VM} (VM), ${UP} (upstream)"
for ns in "${HV}" "${VM}" "${UP}"; do
    ip netns add "${ns}"
    ip -n "${ns}" link set lo up
done
# Upstream network: veth hv:eth0 <-> upstream:up0; the hypervisor's address
# and default route start on eth0, as on a freshly installed host.
ip -n "${HV}" link add eth0 type veth peer name up0 netns "${UP}"
ip -n "${UP}" addr add 203.0.113.1/24 dev up0
ip -n "${UP}" link set up0 up
ip -n "${HV}" addr add 203.0.113.2/24 dev eth0
ip -n "${HV}" link set eth0 up
ip -n "${HV}" route add default via 203.0.113.1
# The VM: a veth pair stands in for the VM's NIC (hv end vm1-veth, VM end eth0).
ip -n "${HV}" link add vm1-veth type veth peer name eth0 netns "${VM}"
info "hypervisor before the playbook:"
show ip -n "${HV}" -br addr
show ip -n "${HV}" route

# --- 3. inventory -------------------------------------------------------------------
cat >"${WORK}/python-in-hv" <<EOF
#!/bin/sh
# Runs Python (and so every Ansible module) inside the hypervisor namespace.
exec ip netns exec ${HV} ${VENV_BIN}/python3 "\$@"
EOF
chmod 0755 "${WORK}/python-in-hv"

cat >"${WORK}/inventory.yml" <<EOF
---
hypervisors:
  hosts:
    demo-hv:
      ansible_connection: local
      ansible_python_interpreter: ${WORK}/python-in-hv
  vars:
    bridge_networks:
      # host bridge on the uplink: 203.0.113.2/24 and the default route move
      # from eth0 to br-demo
      - name: demo-lan
        bridge: br-demo
        uplink: eth0
      # isolated VM network (no uplink), the hypervisor is the VMs' gateway
      - name: demo-vms
        bridge: br-vms
        stp: false
        addresses:
          - 198.51.100.1/24
    bridge_vm_interfaces:
      # multi-queue tap for a 2-vCPU VM (cloud-hypervisor: num_queues=4)
      - name: vm1-tap0
        bridge: br-vms
        guest:
          mac: "52:54:00:00:64:0a"
          ip: 198.51.100.10/24
          queues: 2
          queue_size: 256
EOF

# HV_COLLECTIONS_PATH: run the demo from an installed copy of the collection (a directory
# holding ansible_collections/hypervisor/networking) instead of this work tree.
export ANSIBLE_COLLECTIONS_PATH="${HV_COLLECTIONS_PATH:-${REPO_ROOT}/.collections}"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False
export ANSIBLE_LOCAL_TEMP="${WORK}/ansible-tmp"
export ANSIBLE_REMOTE_TEMP="${WORK}/ansible-tmp"
export ANSIBLE_RETRY_FILES_ENABLED=False
export ANSIBLE_CALLBACK_RESULT_FORMAT=yaml
[[ -t 1 ]] || export ANSIBLE_NOCOLOR=1

run_playbook() {
    local log="$1"
    set +e
    "${VENV_BIN}/ansible-playbook" -i "${WORK}/inventory.yml" hypervisor.networking.bridge_host 2>&1 |
        tee "${log}" | sed 's/^/    | /'
    local rc=${PIPESTATUS[0]}
    set -e
    return "${rc}"
}

# changed=N of the host in the PLAY RECAP of a playbook log
recap_changed() {
    sed 's/\x1b\[[0-9;]*m//g' "$1" | sed -n 's/^demo-hv .*changed=\([0-9]*\).*/\1/p' | tail -n 1
}

# --- 4. first run ---------------------------------------------------------------------
step "Running hypervisor.networking.bridge_host (${ANSIBLE_COLLECTIONS_PATH}) against the hypervisor namespace (inventory: ${WORK}/inventory.yml)"
run_playbook "${WORK}/run1.log" || fail "the playbook failed"
ok "first run: changed=$(recap_changed "${WORK}/run1.log")"

# --- 5. wire the VM -------------------------------------------------------------------
step "Wiring the VM namespace to br-vms"
info "A tap device only carries traffic once a VMM (cloud-hypervisor, QEMU) opens it"
info "for a running VM, so here the VM namespace is attached with a veth pair instead:"
info "its hypervisor end vm1-veth is enslaved to br-vms next to the tap vm1-tap0."
ip -n "${HV}" link set vm1-veth master br-vms up
ip -n "${VM}" addr add 198.51.100.10/24 dev eth0
ip -n "${VM}" link set eth0 up
ip -n "${VM}" route add default via 198.51.100.1

# --- 6. what was built ---------------------------------------------------------------
step "What was built in the hypervisor namespace"
show ip -n "${HV}" -br link
show ip -n "${HV}" -br addr
show ip -n "${HV}" route
show ip netns exec "${HV}" bridge link
info "vm1-tap0 details (multi_queue, master br-vms):"
show ip -n "${HV}" -d link show dev vm1-tap0

# --- 7. connectivity -----------------------------------------------------------------
step "Proving connectivity"
# prove_ping NS ADDRESS LOG OK-TEXT FAIL-TEXT: three bounded pings from namespace NS
prove_ping() {
    if ip netns exec "$1" ping -n -q -c 3 -i 0.2 -W 1 -w 5 "$2" >"${WORK}/$3" 2>&1; then
        ok "$4"
        sed -n 's/^\(.*packets transmitted.*\)$/        \1/p' "${WORK}/$3"
    else
        cat "${WORK}/$3" >&2
        fail "$5"
    fi
}
prove_ping "${VM}" 198.51.100.1 ping-vm.log "VM 198.51.100.10 reaches its gateway 198.51.100.1 over br-vms" \
    "the VM namespace cannot reach its gateway 198.51.100.1"
prove_ping "${UP}" 203.0.113.2 ping-up.log "upstream 203.0.113.1 still reaches the hypervisor at 203.0.113.2 (now on br-demo)" \
    "upstream cannot reach the hypervisor at 203.0.113.2"
if ip -n "${HV}" -br addr show dev br-demo | grep -q '203\.0\.113\.2/24' &&
    ! ip -n "${HV}" -br addr show dev eth0 | grep -q '203\.0\.113\.2/24' &&
    ip -n "${HV}" route show default | grep -q 'via 203.0.113.1 dev br-demo'; then
    ok "203.0.113.2/24 and the default route moved from eth0 to br-demo"
else
    fail "the hypervisor's address/default route did not move to br-demo"
fi

# --- 8. second run ---------------------------------------------------------------------
step "Running the playbook a second time: nothing should change"
run_playbook "${WORK}/run2.log" || fail "the second playbook run failed"
changed="$(recap_changed "${WORK}/run2.log")"
if [[ "${changed}" == "0" ]]; then
    ok "second run: changed=0 (idempotent)"
else
    fail "second run reported changed=${changed:-?}; expected changed=0"
fi
