"""The filters headscale_policy_node_attr and headscale_policy_has_node_attr (plugins/filter/)."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.selfhosted.headscale.plugins.filter import (
    headscale_policy_has_node_attr,
    headscale_policy_node_attr,
)

ATTR = "disable-captive-portal-detection"
ENTRY = {"target": ["*"], "attr": [ATTR]}
add = headscale_policy_node_attr.FilterModule().filters()["headscale_policy_node_attr"]
has = headscale_policy_has_node_attr.FilterModule().filters()["headscale_policy_has_node_attr"]

POLICY = {
    "groups": {"group:ops": ["ops@"]},
    "acls": [{"action": "accept", "src": ["group:ops"], "dst": ["*:*"]}],
}


@pytest.mark.parametrize("empty", [{}, "", "  \n", None])
def test_an_empty_policy_becomes_the_entry_alone(empty):
    # No acls and no grants: headscale's allow-all, as with no policy at all.
    assert add(empty, ATTR) == {"nodeAttrs": [ENTRY]}
    assert has(empty, ATTR) is False


def test_a_dict_without_the_entry_gets_it_appended_and_is_not_modified():
    policy = {**copy.deepcopy(POLICY), "nodeAttrs": [{"target": ["tag:fs"], "attr": ["drive:share"]}]}
    before = copy.deepcopy(policy)
    result = add(policy, ATTR)
    assert result == {**before, "nodeAttrs": [{"target": ["tag:fs"], "attr": ["drive:share"]}, ENTRY]}
    assert policy == before
    assert add(POLICY, ATTR) == {**POLICY, "nodeAttrs": [ENTRY]}


@pytest.mark.parametrize("entry", [
    ENTRY,
    {"target": ["tag:laptop"], "attr": ["drive:access", ATTR]},  # scoped by the user: kept as it is
])
def test_a_dict_that_has_the_attribute_is_returned_unchanged(entry):
    policy = {**POLICY, "nodeAttrs": [entry]}
    assert has(policy, ATTR) is True
    assert add(policy, ATTR) is policy


def test_the_member_names_are_matched_as_headscale_does_case_ignored():
    policy = {**POLICY, "NodeAttrs": [{"Target": ["*"], "Attr": [ATTR]}]}
    assert has(policy, ATTR) is True
    assert add(policy, ATTR) is policy
    other = {**POLICY, "NodeAttrs": [{"target": ["*"], "attr": ["magicdns-aaaa"]}]}
    assert add(other, ATTR) == {**POLICY, "NodeAttrs": [{"target": ["*"], "attr": ["magicdns-aaaa"]}, ENTRY]}


def test_the_result_is_stable():
    for policy in ({}, POLICY):
        once = add(policy, ATTR)
        assert add(once, ATTR) == once


def test_a_hujson_text_is_left_as_it_is_and_read_for_the_entry():
    text = '{\n  // ops only\n  "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]},],\n}\n'
    assert add(text, ATTR) is text
    assert has(text, ATTR) is False
    commented = text.replace("// ops only", '// "nodeAttrs": [{"target": ["*"], "attr": ["%s"]}]' % ATTR)
    assert has(commented, ATTR) is False
    granted = '{"nodeAttrs": [{"target": ["*"], "attr": ["%s"],},], // on\n}' % ATTR
    assert has(granted, ATTR) is True


def test_other_values_pass_through_for_the_module_to_refuse():
    assert add(["not", "a", "policy"], ATTR) == ["not", "a", "policy"]


@pytest.mark.parametrize(("policy", "message"), [
    ('{"acls": [', "not valid HuJSON"),
    ("[1, 2]", "dictionary or a HuJSON text of an object"),
    ({"nodeAttrs": {"target": ["*"]}}, "nodeAttrs must be a list"),
])
def test_has_node_attr_refuses_what_headscale_would(policy, message):
    with pytest.raises(AnsibleFilterError, match=message):
        has(policy, ATTR)


@pytest.mark.parametrize("attr", ["", None, ["x"]])
def test_the_attribute_must_be_a_name(attr):
    with pytest.raises(AnsibleFilterError, match="attr must be"):
        add({}, attr)
