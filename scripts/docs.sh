#!/usr/bin/env bash
# Builds the collection's docs site with antsibull-docs and Sphinx, warnings as errors:
# every module, role and plugin, and the extra pages of docs/docsite/ (getting started per host
# profile with its diagram from docs/diagrams/, the host diagram, ownership and recovery,
# performance).
#
#   scripts/docs.sh            # site in build/docs/build/html/index.html
#
# Its own virtualenv, .venv-docs (requirements-docs.txt), created on first use.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCS_VENV="${REPO_ROOT}/.venv-docs"
REQS="${REPO_ROOT}/requirements-docs.txt"
STAMP="${DOCS_VENV}/.requirements-docs.sha256"
DEST="${REPO_ROOT}/build/docs"
COLLECTION=hypervisor.networking

want_hash="$(sha256sum "${REQS}" | cut -d' ' -f1)"
if [[ ! -x "${DOCS_VENV}/bin/python" ]] || [[ "$(cat "${STAMP}" 2>/dev/null || true)" != "${want_hash}" ]]; then
    rm -rf "${DOCS_VENV}"
    /usr/bin/python3 -m venv "${DOCS_VENV}"
    log="$(mktemp -t hv-docs-pip.XXXXXX)"
    "${DOCS_VENV}/bin/python" -m pip install --disable-pip-version-check -q -r "${REQS}" >"${log}" 2>&1 ||
        { tail -n 40 "${log}" >&2; rm -f "${log}"; exit 1; }
    rm -f "${log}"
    echo "${want_hash}" >"${STAMP}"
fi
export PATH="${DOCS_VENV}/bin:${PATH}"
# this work tree as the collection (scripts/bootstrap.sh makes the link)
export ANSIBLE_COLLECTIONS_PATH="${REPO_ROOT}/.collections"

echo "--> antsibull-docs lint-collection-docs (module, plugin and role docs, extra docs)"
antsibull-docs lint-collection-docs --plugin-docs "${REPO_ROOT}"

echo "--> antsibull-docs collection + sphinx-build -W"
rm -rf "${DEST}"
mkdir -p "${DEST}"
antsibull-docs sphinx-init --use-current --fail-on-error --dest-dir "${DEST}" \
    --project "${COLLECTION}" --copyright "Contributors to ${COLLECTION}" --title "${COLLECTION}" \
    "${COLLECTION}" >/dev/null
# The build is offline (no docs.python.org, no docs.ansible.com): the generated pages link only to
# two labels of Ansible's own docs, given by a local intersphinx inventory instead of the network.
"${DOCS_VENV}/bin/python" - "${DEST}/ansible_devel.inv" <<'PY'
import sys, zlib
labels = [("common_return_values", "reference_appendices/common_return_values.html#common-return-values", "Return Values"),
          ("ansible_configuration_settings", "reference_appendices/config.html#ansible-configuration-settings", "Ansible Configuration Settings")]
body = "".join("%s std:label -1 %s %s\n" % label for label in labels)
with open(sys.argv[1], "wb") as handle:
    handle.write(b"# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n# The remainder of this file is compressed using zlib.\n")
    handle.write(zlib.compress(body.encode()))
PY
cat >>"${DEST}/conf.py" <<CONF

# offline: see scripts/docs.sh
extensions.append('myst_parser')  # docs/performance.md, included by the performance page
suppress_warnings = ['myst.header']  # the Markdown page's own heading levels start below the page's title
intersphinx_mapping = {'ansible_devel': ('https://docs.ansible.com/projects/ansible/devel/', '${DEST}/ansible_devel.inv')}
CONF
mkdir -p "${DEST}/rst"
chmod og-w "${DEST}/rst"   # antsibull-docs wants the directory writable only by itself
antsibull-docs --config-file "${DEST}/antsibull-docs.cfg" collection --cleanup everything --fail-on-error \
    --use-current --dest-dir "${DEST}/rst" "${COLLECTION}" >/dev/null
# The pictures of the getting-started pages, next to the pages that show them
cp "${REPO_ROOT}"/docs/diagrams/*.svg "${DEST}/rst/collections/hypervisor/networking/docsite/"
# The benchmark's page (docs/performance.md, written by the benchmark command) goes into the performance
# page when it exists; its plots next to it. Outside the source tree, so that it is no page of its own
# (Sphinx reads an absolute include path as relative to the source tree: a relative one).
if [[ -f "${REPO_ROOT}/docs/performance.md" ]]; then
    docsite="${DEST}/rst/collections/hypervisor/networking/docsite"
    cp "${REPO_ROOT}/docs/performance.md" "${DEST}/performance.md"
    if [[ -d "${REPO_ROOT}/docs/performance" ]]; then cp -r "${REPO_ROOT}/docs/performance" "${docsite}/"; fi
    printf '\nThe page itself, as the benchmark wrote it:\n\n.. include:: %s\n   :parser: myst_parser.sphinx_\n' \
        "$(realpath --relative-to="${docsite}" "${DEST}/performance.md")" >>"${docsite}/performance.rst"
fi
sphinx-build -M html "${DEST}/rst" "${DEST}/build" -c "${DEST}" -W --keep-going -q
echo "docs: ${DEST}/build/html/index.html"
