#!/usr/bin/python
# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: headscale_routes
short_description: Approve the subnet routes and exit node of a headscale node
version_added: 0.1.0
description:
  - Makes the approved routes of one node equal to, include, or exclude a list of CIDR prefixes, and
    approves or removes the node as an exit node.
  - headscale (0.26 and later) replaces the whole list of approved routes on every change; this module
    reads the current list first, computes the new one and writes only when it differs, so that routes
    not named in the task are never dropped by accident in V(include)/V(exclude) mode.
  - All input is validated before anything is written; malformed or non-canonical prefixes fail with
    the canonical form to write instead.
  - Works with headscale 0.26.1 to 0.29.x over the CLI or the REST API.
extends_documentation_fragment:
  - selfhosted.headscale.connection
  - selfhosted.headscale.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  node:
    description:
      - The node, by ID, given name (its MagicDNS name) or host name.
      - A string of digits is taken as an ID.
      - If the name matches several nodes the module fails and lists their IDs.
    type: str
    required: true
  user:
    description:
      - Only consider nodes of this user when looking up O(node).
    type: str
  routes:
    description:
      - Subnet routes as canonical CIDR prefixes, for example V(10.0.0.0/24) or V(fd00:1::/64).
      - Exit routes (V(0.0.0.0/0), V(::/0)) are managed with O(exit_node), not here.
      - When omitted, the approved subnet routes are left as they are (only O(exit_node) is managed).
    type: list
    elements: str
  mode:
    description:
      - V(equal) makes the approved subnet routes exactly O(routes).
      - V(include) approves O(routes) in addition to those already approved.
      - V(exclude) removes O(routes) from the approved routes.
    type: str
    choices: [equal, include, exclude]
    default: equal
  exit_node:
    description:
      - V(true) approves the node as an exit node (V(0.0.0.0/0) and V(::/0) together), V(false) removes
        both. When omitted, the exit routes are left as they are.
    type: bool
  allow_empty:
    description:
      - With O(mode=equal), an empty O(routes) list removes every approved subnet route. That is refused
        unless this is V(true), so that an empty variable cannot wipe a router's approvals.
    type: bool
    default: false
notes:
  - Approving a route the node does not advertise is allowed (it takes effect once the node advertises
    it); the module warns about it.
  - Routes approved automatically by C(autoApprovers) in the policy may come back after being removed.
seealso:
  - module: selfhosted.headscale.headscale_node
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
---
- name: Approve exactly the LAN behind router-1, and make it an exit node
  selfhosted.headscale.headscale_routes:
    node: router-1
    routes:
      - 192.168.10.0/24
      - fd00:10::/64
    exit_node: true

- name: Add one more route, keep the others
  selfhosted.headscale.headscale_routes:
    node: router-1
    routes: [10.20.0.0/16]
    mode: include

- name: Stop using node 7 as an exit node, leave its subnet routes alone
  selfhosted.headscale.headscale_routes:
    node: "7"
    exit_node: false
    api_url: https://headscale.example.com
    api_key: "{{ headscale_api_key }}"

- name: Remove every approved subnet route of router-2 (on purpose)
  selfhosted.headscale.headscale_routes:
    node: router-2
    routes: []
    allow_empty: true
"""

RETURN = r"""
node:
  description: The node the routes belong to.
  returned: always
  type: dict
  contains:
    id:
      description: Node ID.
      type: int
      sample: 3
    name:
      description: Host name reported by the client.
      type: str
      sample: router-1
    given_name:
      description: Given (MagicDNS) name.
      type: str
      sample: router-1
    user:
      description: Owner (V(null) for tagged nodes on headscale 0.28+).
      type: str
      sample: alice
approved_routes:
  description: The approved routes after the run (predicted in check mode), IPv4 first.
  returned: always
  type: list
  elements: str
  sample: ["192.168.10.0/24", "0.0.0.0/0", "::/0"]
available_routes:
  description: The routes the node advertises.
  returned: always
  type: list
  elements: str
  sample: ["192.168.10.0/24", "0.0.0.0/0", "::/0"]
added:
  description: Routes approved by this run.
  returned: always
  type: list
  elements: str
  sample: ["192.168.10.0/24"]
removed:
  description: Routes whose approval this run removed.
  returned: always
  type: list
  elements: str
  sample: []
exit_node:
  description: Whether both exit routes are approved after the run.
  returned: always
  type: bool
  sample: true
diff:
  description: Approved routes before and after.
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.selfhosted.headscale.plugins.module_utils import nodes as node_utils
from ansible_collections.selfhosted.headscale.plugins.module_utils import normalize, validation
from ansible_collections.selfhosted.headscale.plugins.module_utils.module_base import diff_result, run_module


def node_view(node):
    return {"id": node["id"], "name": node["name"], "given_name": node["given_name"], "user": node["user"]}


def check(params, client):
    validation.node_ref(params["node"])
    routes = validation.subnet_routes(params["routes"]) if params["routes"] is not None else None
    if params["mode"] == "equal" and routes == [] and not params["allow_empty"]:
        # headscale's approve-routes replaces the whole list: an empty or forgotten list would wipe approvals.
        raise validation.ValidationError(
            "routes is empty with mode equal, which would remove every approved subnet route of the node; "
            "set allow_empty: true to do that on purpose.")
    return {"routes": routes}


def handle(module, client):
    params = module.params
    node = node_utils.require_node(client.list_nodes(), params["node"], user=params["user"])
    before = node["approved_routes"]
    desired = node_utils.plan_routes(before, params["mode"], params["routes"], params["exit_node"])

    missing = node_utils.unadvertised(desired, node["available_routes"])
    if missing:
        module.warn(
            "node %s does not advertise %s; approved anyway: the approval takes effect once the node "
            "advertises it (tailscale set --advertise-routes / --advertise-exit-node)."
            % (node_utils.describe(node), ", ".join(missing)))

    after = before
    if desired != before:
        after = desired
        if not module.check_mode:
            client.approve_routes(node["id"], desired)
            node = node_utils.require_node(client.list_nodes(), node["id"])
            after = node["approved_routes"]
            if after != desired:
                module.warn(
                    "headscale approved %s for node %s instead of the requested %s (autoApprovers in the "
                    "policy can re-approve routes)." % (after or "nothing", node_utils.describe(node), desired))

    result = {
        "changed": after != before,
        "node": node_view(node),
        "approved_routes": after,
        "available_routes": node["available_routes"],
        "added": normalize.routes(set(after) - set(before)),
        "removed": normalize.routes(set(before) - set(after)),
        "exit_node": node_utils.has_exit(after),
    }
    if module._diff:
        result["diff"] = diff_result({"approved_routes": before}, {"approved_routes": after})
    return result


def main():
    argument_spec = {
        "node": {"type": "str", "required": True},
        "user": {"type": "str"},
        "routes": {"type": "list", "elements": "str"},
        "mode": {"type": "str", "default": "equal", "choices": ["equal", "include", "exclude"]},
        "exit_node": {"type": "bool"},
        "allow_empty": {"type": "bool", "default": False},
    }
    run_module(argument_spec, handle, check=check, required_one_of=[("routes", "exit_node")])


if __name__ == "__main__":
    main()
