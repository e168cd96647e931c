# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX job template of docs/awx.md, as AWX runs it: playbooks/bridge_host_survey.yml with the
survey's default answers as extra vars, every answer a string (docs/awx/bridge_host_survey.json),
against a namespace "host" of the group hypervisors. What it builds is read inside the namespace;
a second run changes nothing. (tests/unit/test_awx.py ties the survey to the role's spec.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nethelpers as nh  # noqa: E402  pylint: disable=wrong-import-position

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SURVEY = os.path.join(REPO_ROOT, "docs", "awx", "bridge_host_survey.json")


def test_the_job_template_builds_the_survey_defaults(hv_ns, ansible_runner, tmp_path):
    with open(SURVEY, encoding="utf-8") as handle:
        answers = {question["variable"]: question["default"] for question in json.load(handle)["spec"]}
    answers["bridge_persist"] = "false"  # nothing saved under /var/lib for a test namespace
    extra_vars = tmp_path / "survey-answers.json"
    extra_vars.write_text(json.dumps(answers), encoding="utf-8")
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"hypervisors": {"hosts": {"hv1": {
        "ansible_connection": "local", "ansible_python_interpreter": ansible_runner.interpreter(hv_ns)}}}}), encoding="utf-8")
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
            "-e", "@%s" % extra_vars, "hypervisor.networking.bridge_host_survey"]

    changed = []
    for run in range(2):
        proc = subprocess.run(argv, env=ansible_runner.env(str(tmp_path / ("run%d.jsonl" % run))), cwd=str(tmp_path),
                              capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
        ok, count, unreachable, failed = nh.recap(proc.stdout)["hv1"]
        assert ok and not unreachable and not failed
        changed.append(count)
        bridge = hv_ns.link("br-vms")
        assert bridge and bridge["linkinfo"]["info_kind"] == "bridge"
        assert [a for a in hv_ns.addresses("br-vms") if not a.startswith("fe80:")] == ["198.51.100.1/24"]
        tap = hv_ns.link("vm1-net0")
        assert tap["master"] == "br-vms" and tap["linkinfo"]["info_data"]["multi_queue"], tap
        assert tap["address"] == "fe:54:00:00:00:01"
        assert nh.marked_links(hv_ns) == ["br-vms", "vm1-net0"]
    assert changed[0] > 0 and changed[1] == 0, changed
