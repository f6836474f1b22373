# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: headscale_inventory_policy
short_description: Add tagOwners and autoApprovers for the inventory's nodes to a headscale ACL policy
version_added: 0.1.0
description:
  - Returns the policy O(_input) (a dictionary as in headscale's HuJSON policy) with, for the nodes O(nodes),
    C(tagOwners) for every tag a node advertises (owned by the node's user, if it has one), and
    C(autoApprovers) for every route and exit node a node advertises (approved for the node's tags, or its
    user when it has none).
  - What the policy already says is kept; the entries are added to it, without duplicates, sorted.
  - Users are written as headscale's policy (version 2, headscale 0.26 and later) names them, C(user@).
  - A policy given as HuJSON text cannot be merged and fails, naming it; give a dictionary.
options:
  _input:
    description: The policy to add to (V({}) for none).
    type: dict
    required: true
  nodes:
    description:
      - One entry per node, with C(name) (for messages), C(user) (the headscale user that enrols it, empty
        for a tagged node), C(tags), C(routes) and C(exit_node).
      - C(playbooks/tailnet.yml) builds it from each node's C(tailscale_client_settings).
    type: list
    elements: dict
    required: true
seealso:
  - module: selfhosted.headscale.headscale_policy
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
- name: The policy with the inventory's routers approved
  ansible.builtin.set_fact:
    policy: >-
      {{ tailnet_policy | selfhosted.headscale.headscale_inventory_policy([
           {'name': 'router', 'user': 'infra', 'tags': ['tag:router'],
            'routes': ['10.0.0.0/24'], 'exit_node': true}]) }}
  # tagOwners: {"tag:router": ["infra@"]}
  # autoApprovers: {"routes": {"10.0.0.0/24": ["tag:router"]}, "exitNode": ["tag:router"]}
"""

RETURN = r"""
_value:
  description: The policy with the added C(tagOwners) and C(autoApprovers) entries.
  type: dict
"""

import copy

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text


def _owner(user):
    user = to_text(user or "").strip()
    if not user:
        return None
    return user if "@" in user else user + "@"


def _merged(existing, added, where):
    if existing is None:
        existing = []
    if not isinstance(existing, list):
        raise AnsibleFilterError(
            "headscale_inventory_policy: %s in the policy must be a list, not %r" % (where, existing))
    return sorted(set(to_text(item) for item in existing) | set(added))


def headscale_inventory_policy(policy, nodes):
    if isinstance(policy, str):
        raise AnsibleFilterError("headscale_inventory_policy: the policy is HuJSON text; give it as a dictionary "
                                 "to have the inventory's tagOwners and autoApprovers added")
    if policy is None:
        policy = {}
    if not isinstance(policy, dict):
        raise AnsibleFilterError("headscale_inventory_policy: the policy must be a dictionary, not %r" % (policy,))
    result = copy.deepcopy(dict(policy))
    tag_owners, routes, exit_approvers = {}, {}, set()
    for node in nodes or []:
        name = to_text(node.get("name", "?"))
        tags = sorted(set(to_text(tag) for tag in node.get("tags") or []))
        owner = _owner(node.get("user"))
        for tag in tags:  # every tag a node carries must be in tagOwners (0.28+ refuses others)
            tag_owners.setdefault(tag, set()).update([owner] if owner else [])
        approvers = tags or ([owner] if owner else [])
        wants = list(node.get("routes") or []) or node.get("exit_node")
        if wants and not approvers:
            raise AnsibleFilterError("headscale_inventory_policy: node %s advertises routes or an exit node but has "
                                     "neither tags nor a user to approve them for" % name)
        for route in node.get("routes") or []:
            routes.setdefault(to_text(route), set()).update(approvers)
        if node.get("exit_node"):
            exit_approvers.update(approvers)
    if tag_owners:
        owners = result.setdefault("tagOwners", {})
        for tag, added in tag_owners.items():
            owners[tag] = _merged(owners.get(tag), added, "tagOwners[%s]" % tag)
    if routes or exit_approvers:
        auto = result.setdefault("autoApprovers", {})
        if routes:
            auto_routes = auto.setdefault("routes", {})
            for route, added in routes.items():
                auto_routes[route] = _merged(auto_routes.get(route), added, "autoApprovers.routes[%s]" % route)
        if exit_approvers:
            auto["exitNode"] = _merged(auto.get("exitNode"), exit_approvers, "autoApprovers.exitNode")
    return result


class FilterModule:
    def filters(self):
        return {"headscale_inventory_policy": headscale_inventory_policy}
