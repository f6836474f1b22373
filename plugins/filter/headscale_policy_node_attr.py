# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: headscale_policy_node_attr
short_description: Give every node a node attribute in a headscale ACL policy
version_added: 0.1.0
description:
  - >-
    Returns the ACL policy O(_input) with a C(nodeAttrs) entry that gives O(attr) to every node
    (C({"target": ["*"], "attr": [<attr>]})). C(nodeAttrs) exists from headscale 0.29; 0.27 and
    0.28 refuse a policy that has it, 0.26 ignores it.
  - >-
    A policy dictionary in which some C(nodeAttrs) entry lists O(attr) already, whatever its
    target, is returned unchanged, so a policy that scopes the attribute to some nodes keeps its scope.
  - >-
    An empty policy (V({}), V(""), V(null)) becomes C({"nodeAttrs": [<the entry>]}) alone. headscale
    allows all traffic when a policy has neither C(acls) nor C(grants), as it does with no policy; an
    explicit C(* -> *:*) rule would not be the same from 0.29, where C(*) as a source means the
    tailnet's addresses and approved subnet routes only.
  - >-
    A HuJSON text is returned as it is (its comments would not survive a rewrite); see
    P(selfhosted.headscale.headscale_policy_has_node_attr#filter) to find out whether it has the entry.
  - Anything else (a list, a number) is returned as it is, for the headscale_policy module to refuse.
  - The input is never modified.
options:
  _input:
    description: The policy, a dictionary or a HuJSON text, as the headscale_policy module takes it.
    type: raw
    required: true
  attr:
    description: The node attribute (a tailscale node capability), such as V(disable-captive-portal-detection).
    type: str
    required: true
seealso:
  - plugin: selfhosted.headscale.headscale_policy_has_node_attr
    plugin_type: filter
  - module: selfhosted.headscale.headscale_policy
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
- name: The policy headscale 0.29 gets, with captive portal detection off on every node
  selfhosted.headscale.headscale_policy:
    policy: "{{ tailnet_policy | selfhosted.headscale.headscale_policy_node_attr('disable-captive-portal-detection') }}"
"""

RETURN = r"""
_value:
  description: The policy with the entry (a new dictionary), or O(_input) itself when it has the entry or is a text.
  type: raw
"""

import copy

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible_collections.selfhosted.headscale.plugins.module_utils import hujson

# headscale reads the policy's member names case-insensitively (policyJSONOpts in
# hscontrol/policy/v2/types.go, json.MatchCaseInsensitiveNames).
_NODE_ATTRS = "nodeattrs"
_ATTR = "attr"


def _member(mapping, name):
    """The key of ``mapping`` that headscale reads as ``name`` (case ignored), or None."""
    return next((key for key in mapping if isinstance(key, str) and key.lower() == name), None)


def _is_empty(policy):
    return policy is None or (isinstance(policy, str) and not policy.strip()) or (
        isinstance(policy, dict) and not policy)


def _as_dict(policy):
    if isinstance(policy, str):
        try:
            policy = hujson.parse(to_text(policy))
        except hujson.HuJSONError as exc:
            raise AnsibleFilterError("the policy is not valid HuJSON: %s" % exc) from None
    if not isinstance(policy, dict):
        raise AnsibleFilterError("the policy must be a dictionary or a HuJSON text of an object, not %s"
                                 % type(policy).__name__)
    return policy


def _check_attr(attr):
    if not isinstance(attr, str) or not attr:
        raise AnsibleFilterError("attr must be a non-empty string (a node capability), not %r" % (attr,))


def has_node_attr(policy, attr):
    """Whether some ``nodeAttrs`` entry of ``policy`` (a dict or a HuJSON text) lists ``attr``."""
    _check_attr(attr)
    if _is_empty(policy):
        return False
    policy = _as_dict(policy)
    entries = policy.get(_member(policy, _NODE_ATTRS)) or []
    if not isinstance(entries, list):
        raise AnsibleFilterError("the policy's nodeAttrs must be a list, not %s" % type(entries).__name__)
    for entry in entries:
        if isinstance(entry, dict):
            attrs = entry.get(_member(entry, _ATTR)) or []
            if isinstance(attrs, list) and attr in attrs:
                return True
    return False


def with_node_attr(policy, attr):
    """``policy`` with ``attr`` given to every node, unless it has ``attr`` already or is a text."""
    _check_attr(attr)
    entry = {"target": ["*"], "attr": [attr]}
    if _is_empty(policy):
        return {"nodeAttrs": [entry]}
    if not isinstance(policy, dict) or has_node_attr(policy, attr):
        return policy
    result = copy.deepcopy(policy)
    key = _member(result, _NODE_ATTRS) or "nodeAttrs"
    result[key] = [*(result.get(key) or []), entry]
    return result


class FilterModule:
    def filters(self):
        return {"headscale_policy_node_attr": with_node_attr}
