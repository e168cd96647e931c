#!/usr/bin/env bash
# The one command that runs the tests of the hypervisor.networking collection.
#
#   scripts/test.sh [all|unit|integration|molecule|package|lint|docs|sanity]   (default: all)
#
# "all" runs, in this order, stopping at the first failure:
#   pytest      pytest tests/unit tests/integration
#   molecule    `molecule test` in every roles/*/ (and tests/sandbox_example/roles/*/) that has
#               molecule/default/molecule.yml
#   package     ansible-galaxy collection build, no caches or dev files in it, install, the execution
#               environment it ships accepted by `ansible-builder create`, demo from the installed copy
#   lint        ansible-lint --profile production (config: .ansible-lint)
#   docs        scripts/docs.sh: the antsibull-docs site (every module, role, plugin, docs/docsite/),
#               lint-collection-docs and sphinx-build with warnings as errors (own venv .venv-docs)
#   sanity      ansible-test sanity on a clean copy in build/sanity/ansible_collections/...,
#               with the newest ansible-core (.venv) and the oldest supported one (.venv-floor),
#               and vermin: managed-host code against the Python floor of tests/config.yml
# A summary (status and duration of each part) is printed at the end.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"
VENV_BIN="${REPO_ROOT}/.venv/bin"
FLOOR_BIN="${REPO_ROOT}/.venv-floor/bin"   # the oldest ansible-core supported (requirements-floor.txt)
# Python version ansible-test uses for its sanity virtualenvs (Debian 12: 3.11).
SANITY_PYTHON="${SANITY_PYTHON:-3.11}"

usage() {
    echo "usage: $0 [all|unit|integration|molecule|package|lint|docs|sanity]" >&2
    exit 2
}

WHAT="${1:-all}"
[[ $# -le 1 ]] || usage
case "${WHAT}" in
    all | unit | integration | molecule | package | lint | docs | sanity) ;;
    -h | --help | help) usage ;;
    *) usage ;;
esac

SUMMARY=()
print_summary() {
    local rc=$?
    if ((${#SUMMARY[@]})); then
        echo
        echo "==================== test summary ===================="
        printf '  %s\n' "${SUMMARY[@]}"
        echo "======================================================"
    fi
    if ((rc == 0)); then
        echo "RESULT: PASS (${WHAT})"
    else
        echo "RESULT: FAIL (${WHAT})" >&2
    fi
}
trap print_summary EXIT

# run_part NAME FUNCTION: run a part, time it, record it; exit on failure.
run_part() {
    local name="$1" fn="$2" start rc
    echo
    echo "==> ${name}"
    start=${SECONDS}
    set +e
    (set -e; "${fn}")
    rc=$?
    set -e
    local took=$((SECONDS - start))
    if ((rc == 0)); then
        SUMMARY+=("PASS  ${name} (${took}s)")
    else
        SUMMARY+=("FAIL  ${name} (${took}s, exit ${rc})")
        exit "${rc}"
    fi
}

# --- parts -------------------------------------------------------------------
PYTEST_DIRS=()
part_pytest() {
    local rc=0
    "${VENV_BIN}/pytest" "${PYTEST_DIRS[@]}" || rc=$?
    if ((rc == 5)); then
        # exit code 5: no tests were collected (e.g. tests/unit still empty)
        echo "pytest: no tests collected in ${PYTEST_DIRS[*]} - nothing to run"
        return 0
    fi
    return "${rc}"
}

part_molecule() {
    local found=0 role
    shopt -s nullglob
    # The collection's roles, then the README's example of a user's own role on the sandbox.
    for role in roles/*/ tests/sandbox_example/roles/*/; do
        role="${role%/}"
        [[ -f "${role}/molecule/default/molecule.yml" ]] || continue
        found=1
        echo "--> molecule test: ${role}"
        # molecule names its ephemeral directory after the role's directory only: one per
        # checkout, so that two checkouts never share wrappers or instance configs.
        (cd "${role}" && MOLECULE_EPHEMERAL_DIRECTORY="${REPO_ROOT}/build/molecule/${role//\//-}" \
            "${VENV_BIN}/molecule" test)
    done
    if ((found == 0)); then
        echo "molecule: no roles/*/molecule/default/molecule.yml yet - nothing to run"
    fi
}

# The tarball users install: built, free of caches and development files, installed, and the
# demo run from the installed copy rather than from this work tree.
part_package() {
    local out="${REPO_ROOT}/build/package" tarball unwanted
    rm -rf "${out}"
    mkdir -p "${out}"
    "${VENV_BIN}/ansible-galaxy" collection build --output-path "${out}" "${REPO_ROOT}"
    tarball="$(ls "${out}"/hypervisor-networking-*.tar.gz)"
    unwanted="$(tar tzf "${tarball}" | grep -E '(^|/)(\.pytest_cache|\.hypothesis|__pycache__|\.venv[^/]*|\.collections|\.git|build|tests/output)(/|$)|\.pyc$' || true)"
    if [[ -n "${unwanted}" ]]; then
        echo "package: the tarball carries caches or development files:" >&2
        echo "${unwanted}" >&2
        return 1
    fi
    ANSIBLE_COLLECTIONS_PATH="${out}/installed" "${VENV_BIN}/ansible-galaxy" collection install --offline --force -p "${out}/installed" "${tarball}"
    check_execution_environment "${out}/installed" "${out}/ee-context"
    HV_COLLECTIONS_PATH="${out}/installed" "${REPO_ROOT}/scripts/demo.sh"
}

# The execution environment the installed collection ships (meta/execution-environment.yml):
# `ansible-builder create` accepts it (it only writes the build context: no container engine),
# and ansible-builder's introspection, which reads the collection's meta/ whenever another
# definition installs it, finds the same controller-side requirements. ansible-builder lives in
# its own virtualenv under build/ (installed once from PyPI, like .venv), apart from .venv.
check_execution_environment() {
    local collections="$1" context="$2" builder="${REPO_ROOT}/build/ansible-builder-venv"
    local collection="${collections}/ansible_collections/hypervisor/networking"
    if [[ ! -x "${builder}/bin/ansible-builder" ]]; then
        rm -rf "${builder}"
        /usr/bin/python3 -m venv "${builder}"
        "${builder}/bin/pip" install --quiet --disable-pip-version-check ansible-builder
    fi
    "${builder}/bin/ansible-builder" create -f "${collection}/meta/execution-environment.yml" -c "${context}" >/dev/null
    "${builder}/bin/python" - "${context}" "${collections}" <<'PY'
import subprocess, sys, yaml
context, collections = sys.argv[1:]
found = yaml.safe_load(subprocess.run([sys.executable, context + "/_build/scripts/introspect.py", "introspect", collections],
                                      check=True, capture_output=True, text=True).stdout)
for kind, name in (("python", "requirements.txt"), ("system", "bindep.txt")):
    with open("%s/_build/%s" % (context, name), encoding="utf-8") as handle:
        created = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    introspected = [line.split("  # from collection")[0] for line in found.get(kind) or []]
    if not created or created != introspected:
        sys.exit("execution environment: %s requirements differ: create wrote %s, introspection found %s" % (kind, created, introspected))
print("execution environment: ansible-builder create accepted it; controller requirements %s" % found)
PY
}

part_lint() {
    "${VENV_BIN}/ansible-lint" --profile production
}

part_docs() {
    "${REPO_ROOT}/scripts/docs.sh"
}

part_sanity() {
    local dest="${REPO_ROOT}/build/sanity/ansible_collections/hypervisor/networking"
    local keep="${REPO_ROOT}/build/sanity-output"
    # keep ansible-test's tests/output (its delegation/import virtualenvs)
    # from the previous run: saves ~30s per run
    rm -rf "${keep}"
    if [[ -d "${dest}/tests/output" ]]; then mv "${dest}/tests/output" "${keep}"; fi
    rm -rf "${REPO_ROOT}/build/sanity"
    mkdir -p "${dest}/tests"
    if [[ -d "${keep}" ]]; then mv "${keep}" "${dest}/tests/output"; fi
    # tracked + untracked-but-not-ignored files that exist in the work tree
    git ls-files -z -co --exclude-standard |
        while IFS= read -r -d '' f; do
            if [[ -e "${f}" || -L "${f}" ]]; then printf '%s\0' "${f}"; fi
        done |
        rsync -a --from0 --files-from=- ./ "${dest}/"
    # The copy lives inside this repo's work tree, where build/ is ignored:
    # without a .git of its own ansible-test would ask the outer repo for the
    # file list and skip every target.  An empty repo makes it list the
    # copy's files itself (git ls-files --cached --others).
    git -C "${dest}" init -q
    # ansible-test --venv: no Docker here; ansible-test creates (and caches
    # under ~/.ansible/test/venv) one virtualenv per sanity test with the
    # requirements it pins, installed from PyPI.
    local bin version
    for bin in "${VENV_BIN}" "${FLOOR_BIN}"; do
        version="$("${bin}/ansible" --version | sed -n 1p)"  # sed reads it all: head would break the pipe
        echo "--> ansible-test sanity with ${version}"
        (cd "${dest}" && "${bin}/ansible-test" sanity --venv --python "${SANITY_PYTHON}" --color no)
    done
    # ansible-test can only compile for interpreters present (3.11 here): vermin reads the
    # syntax and standard library the managed-host code uses and names its minimum Python.
    local floor
    floor="$(sed -n 's/^ *python_requires: *"*>=\([0-9.]*\)"*$/\1/p' tests/config.yml)"
    [[ -n "${floor}" ]] || { echo "tests/config.yml: no modules python_requires >=X.Y" >&2; return 1; }
    echo "--> vermin: plugins/ must run on Python ${floor}"
    "${FLOOR_BIN}/vermin" --no-tips --violations --target="${floor}-" plugins/
}

# --- main --------------------------------------------------------------------
"${REPO_ROOT}/scripts/bootstrap.sh"
export PATH="${VENV_BIN}:${PATH}"
export ANSIBLE_COLLECTIONS_PATH="${REPO_ROOT}/.collections"
export HV_REPO_ROOT="${REPO_ROOT}"   # used by roles/*/molecule/*/molecule.yml
# plain output when not on a terminal (CI logs)
if [[ ! -t 1 ]]; then
    export NO_COLOR=1 ANSIBLE_NOCOLOR=1 PY_COLORS=0
fi

case "${WHAT}" in
    unit) PYTEST_DIRS=(tests/unit) ;;
    integration) PYTEST_DIRS=(tests/integration) ;;
    *) PYTEST_DIRS=(tests/unit tests/integration) ;;
esac

case "${WHAT}" in
    unit | integration) run_part "pytest ${PYTEST_DIRS[*]}" part_pytest ;;
    molecule) run_part molecule part_molecule ;;
    package) run_part "package (galaxy build, install, demo)" part_package ;;
    lint) run_part ansible-lint part_lint ;;
    docs) run_part "docs (antsibull-docs, sphinx -W)" part_docs ;;
    sanity) run_part ansible-test-sanity part_sanity ;;
    all)
        run_part "pytest ${PYTEST_DIRS[*]}" part_pytest
        run_part molecule part_molecule
        run_part "package (galaxy build, install, demo)" part_package
        run_part ansible-lint part_lint
        run_part "docs (antsibull-docs, sphinx -W)" part_docs
        run_part ansible-test-sanity part_sanity
        ;;
esac
