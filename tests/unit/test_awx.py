# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX survey of the bridge profile (docs/awx/bridge_host_survey.json) cannot drift from the
bridge role: every role variable is asked once, under its own name or as `survey_<name>` YAML text
that playbooks/bridge_host_survey.yml turns into the list; choices and defaults are the role's;
the survey's default answers, as strings the way AWX passes them, pass the role's argument spec.
The survey is also one AWX accepts (its survey_spec rules)."""

from __future__ import annotations

import json
import os

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SURVEY = os.path.join(REPO_ROOT, "docs", "awx", "bridge_host_survey.json")
PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "bridge_host_survey.yml")
ARGUMENT_SPECS = os.path.join(REPO_ROOT, "roles", "bridge", "meta", "argument_specs.yml")
AWX_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
TEXT_PREFIX = "survey_"  # a list of the role asked as YAML text


def _load():
    with open(SURVEY, encoding="utf-8") as handle:
        survey = json.load(handle)
    with open(ARGUMENT_SPECS, encoding="utf-8") as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    with open(PLAYBOOK, encoding="utf-8") as handle:
        (play,) = yaml.safe_load(handle)
    return survey, options, play


def _validator_spec(options):
    """The role's options as an argument spec (without the documentation keys)."""
    spec = {}
    for name, option in options.items():
        entry = {key: value for key, value in option.items() if key not in ("description", "version_added")}
        if "options" in entry:
            entry["options"] = _validator_spec(entry["options"])
        spec[name] = entry
    return spec


def test_the_survey_is_one_awx_accepts():
    survey = _load()[0]
    assert survey["name"] and isinstance(survey["description"], str) and survey["spec"]
    variables = [question["variable"] for question in survey["spec"]]
    assert len(variables) == len(set(variables)), variables
    for question in survey["spec"]:
        assert question["question_name"] and isinstance(question["required"], bool), question
        assert question["type"] in AWX_TYPES, question
        if question["type"] in ("multiplechoice", "multiselect"):
            assert isinstance(question["choices"], list) and question["default"] in question["choices"], question
        if question["type"] in ("text", "textarea", "password"):
            assert question["min"] <= len(question["default"]) <= question["max"], question


def test_every_role_variable_is_asked_once_with_the_roles_choices_and_defaults():
    survey, options, play = _load()
    (role,) = play["roles"]
    assert play["hosts"] == "hypervisors" and role["role"] == "hypervisor.networking.bridge"
    asked = {}
    for question in survey["spec"]:
        variable = question["variable"]
        if variable in options:
            option = options[variable]
            asked[variable] = variable
            choices = option.get("choices") or (["true", "false"] if option["type"] == "bool" else None)
            if choices:
                assert question["type"] == "multiplechoice", question
                assert question["choices"] == [str(choice) for choice in choices], (question, option)
                assert question["default"] == str(option["default"]).lower(), (question, option)
            else:  # a free string (a URI): a text answer whose default is the role's
                assert option["type"] == "str" and question["type"] == "text", (question, option)
                assert question["default"] == option["default"], (question, option)
            # a variable the survey sets as an extra var must not be one the playbook sets too
            assert variable not in role.get("vars", {}), variable
        else:
            assert variable.startswith(TEXT_PREFIX), "%s is neither a bridge role variable nor survey_<one>" % variable
            name = variable[len(TEXT_PREFIX):]
            asked[variable] = name
            assert name in options and options[name]["type"] == "list", (variable, options.get(name))
            assert question["type"] == "textarea", question
            assert role["vars"][name] == "{{ %s | default('[]', true) | from_yaml }}" % variable, role["vars"]
    assert sorted(asked.values()) == sorted(options), "role variables the survey does not ask: %s" % sorted(set(options) - set(asked.values()))
    assert sorted(role["vars"]) == sorted(name for variable, name in asked.items() if variable != name)


def test_the_default_answers_pass_the_roles_argument_spec():
    survey, options = _load()[:2]
    params = {}
    for question in survey["spec"]:
        variable, answer = question["variable"], question["default"]
        assert isinstance(answer, str)  # AWX passes every answer as text
        if variable.startswith(TEXT_PREFIX):
            params[variable[len(TEXT_PREFIX):]] = yaml.safe_load(answer) or []
        else:
            params[variable] = answer
    result = ArgumentSpecValidator(_validator_spec(options)).validate(params)
    assert not result.error_messages, result.error_messages
    assert result.validated_parameters["bridge_persist"] is True
    assert [net["name"] for net in result.validated_parameters["bridge_networks"]] == ["vms"]
