#!/usr/bin/python
# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: headscale_node
short_description: Manage headscale nodes
version_added: 0.1.0
description:
  - Rename a node, set its tags, expire it or set its expiry, delete it, or register a node that waits
    in the interactive (web/OIDC) login flow.
  - The node is found by ID, given name or host name; a name that matches several nodes is an error
    listing their IDs, so that nothing is changed on a guessed node.
  - All input is validated before anything is written.
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
    support: partial
    details:
      - O(expiry=now) expires a node only if it has not expired yet.
options:
  node:
    description:
      - The node, by ID, given name (its MagicDNS name) or host name. A string of digits is taken as an ID.
      - With O(registration_id), the host name the registering client reports; if such a node already
        exists (for O(user), or as a tagged node without user), it is not registered again.
    type: str
    required: true
  user:
    description:
      - Only consider nodes of this user when looking up O(node).
      - Required with O(registration_id), as the user the node is registered for.
    type: str
  state:
    description:
      - V(present) applies O(given_name), O(tags) and O(expiry) (and registers the node with O(registration_id)).
      - V(absent) deletes the node.
    type: str
    choices: [present, absent]
    default: present
  given_name:
    description:
      - Rename the node to this given name (its MagicDNS name), a DNS label of lowercase letters, digits
        and V(-). Fails before any change if another node already has it.
    type: str
  tags:
    description:
      - Set the node's tags to exactly this list (each V(tag:<name>)).
      - headscale 0.28 and later only accept tags defined in the policy's C(tagOwners), make the node a
        tagged node (owned by no user), and cannot remove all tags of a node.
      - Before 0.28 these are the node's forced tags; an empty list removes them.
    type: list
    elements: str
  expiry:
    description:
      - V(now) expires the node (logs it out) unless it has expired already.
      - An RFC 3339 time such as V(2030-01-31T12:00:00Z) sets when it expires (headscale 0.27 and later).
      - V(never) disables expiry (headscale 0.29 and later).
    type: str
  registration_id:
    description:
      - Register a node waiting in the interactive login flow for O(user).
      - The ID is the last path segment of the C(/register/<id>) URL the client shows (24 characters on
        headscale 0.26 to 0.28, C(hskey-authreq-) and 24 characters on 0.29). It is not a pre-auth key.
      - Registration IDs are single-use and expire after a while on the server; registering needs the
        client to still wait for its login.
      - Treated as a secret (never shown in output), since a pre-auth key passed here by mistake must not leak.
    type: str
    aliases: [auth_id]
notes:
  - Deleting a node that is still running logs it out; the client needs a new key to come back.
seealso:
  - module: selfhosted.headscale.headscale_routes
  - module: selfhosted.headscale.headscale_info
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
---
- name: Give the node with host name laptop a stable MagicDNS name and tags
  selfhosted.headscale.headscale_node:
    node: laptop
    user: alice
    given_name: alice-laptop
    tags: [tag:laptop]

- name: Let node 7 expire at the end of the year (headscale 0.27+)
  selfhosted.headscale.headscale_node:
    node: "7"
    expiry: "2026-12-31T23:59:59Z"

- name: Log a lost device out now
  selfhosted.headscale.headscale_node:
    node: alice-phone
    expiry: now

- name: Register a server that waits in the login flow (its `tailscale up` printed .../register/<id>)
  selfhosted.headscale.headscale_node:
    node: build-server
    user: ci
    registration_id: "{{ registration_id }}"

- name: Delete an old node over the REST API
  selfhosted.headscale.headscale_node:
    node: old-nas
    state: absent
    api_url: https://headscale.example.com
    api_key: "{{ headscale_api_key }}"
"""

RETURN = r"""
node:
  description: The node after the run (V(null) when absent; predicted in check mode, and V(null) for a
    node that check mode would register).
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
      sample: laptop
    given_name:
      description: Given (MagicDNS) name.
      type: str
      sample: alice-laptop
    user:
      description: Owner (V(null) for tagged nodes on headscale 0.28+).
      type: str
      sample: alice
    user_id:
      description: Owner's user ID.
      type: int
    ip_addresses:
      description: Tailnet addresses.
      type: list
      elements: str
      sample: ["100.64.0.3", "fd7a:115c:a1e0::3"]
    online:
      description: Whether the node is connected.
      type: bool
    tags:
      description: All tags of the node.
      type: list
      elements: str
    forced_tags:
      description: Tags set by an administrator (all tags on headscale 0.28+).
      type: list
      elements: str
    available_routes:
      description: Routes the node advertises.
      type: list
      elements: str
    approved_routes:
      description: Approved routes.
      type: list
      elements: str
    subnet_routes:
      description: Routes the node serves.
      type: list
      elements: str
    expiry:
      description: When the node expires (RFC 3339, UTC); V(null) = never.
      type: str
    last_seen:
      description: Last seen (RFC 3339, UTC).
      type: str
    created_at:
      description: Creation time (RFC 3339, UTC).
      type: str
    register_method:
      description: V(auth_key), V(cli) or V(oidc).
      type: str
registered:
  description: Whether this run registered the node (O(registration_id)).
  returned: always
  type: bool
diff:
  description: The managed fields before and after.
  returned: when diff mode is on
  type: dict
"""

import datetime

from ansible_collections.selfhosted.headscale.plugins.module_utils import hujson, validation
from ansible_collections.selfhosted.headscale.plugins.module_utils import nodes as node_utils
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.module_base import Gate, diff_result, run_module
from ansible_collections.selfhosted.headscale.plugins.module_utils.normalize import UTC


def view(node):
    """The fields this module manages (for diff and ``changed``)."""
    if node is None:
        return None
    return {"id": node["id"], "name": node["name"], "given_name": node["given_name"], "user": node["user"],
            "tags": node["forced_tags"], "expiry": node["expiry"]}


def check(params, client):
    validation.node_ref(params["node"])
    checked = {
        "given_name": (validation.nodename(params["given_name"], field="given_name")
                       if params["given_name"] is not None else None),
        "tags": validation.tags(params["tags"], field="tags") if params["tags"] is not None else None,
        "expiry": validation.expiry(params["expiry"]) if params["expiry"] is not None else None,
    }
    if params["registration_id"] is not None:
        if params["state"] != "present":
            raise validation.ValidationError("registration_id needs state: present.")
        if not params["user"]:  # not required_by: an empty user counts as none
            raise validation.ValidationError("registration_id needs user: the user to register the node for.")
        # The ID's format changed in 0.29 (#1850).
        problem = validation.registration_id_error(params["registration_id"], client.features.auth_register)
        if problem:
            raise validation.ValidationError(problem)
    return checked


def expiry_is(kind):
    return lambda params: params["expiry"] is not None and params["expiry"][0] == kind


GATES = (
    Gate("expiry at a given time", "node_expire_at", expiry_is("at"), hint="use expiry: now"),  # 0.27 #2828
    Gate("expiry: never", "node_expiry_disable", expiry_is("never")),  # 0.29 `nodes expire --disable`
)


def policy_tag_owners(client):
    """The tags the policy defines in ``tagOwners``; ``None`` when the policy cannot be read or parsed
    (then headscale itself decides)."""
    try:
        text = client.get_policy()
    except HeadscaleError:
        return None
    if not text:
        return set()
    try:
        value = hujson.parse(text)
    except hujson.HuJSONError:
        return None
    owners = value.get("tagOwners") if isinstance(value, dict) else None
    return set(owners) if isinstance(owners, dict) else set()


def check_against(node, plan, all_nodes, client):
    """Conflicts only the server state reveals, still before any write (``plan``: the checked params)."""
    if plan["given_name"] is not None and plan["given_name"] != node["given_name"]:
        taken = [n for n in all_nodes if n["given_name"] == plan["given_name"] and n["id"] != node["id"]]
        if taken:
            raise HeadscaleError("given_name %r is already used by node %s." % (
                plan["given_name"], node_utils.describe(taken[0])))
    if (plan["tags"] is not None and not plan["tags"] and node["forced_tags"]
            and client.features.tags_as_identity):  # 0.28: tagged nodes keep at least one tag
        raise HeadscaleError(
            "tags: [] would remove all tags of node %s, which headscale %s refuses (tagged nodes must keep "
            "at least one tag; re-authenticate the client to make it a user's node again)."
            % (node_utils.describe(node), client.version))
    if plan["tags"] and plan["tags"] != node["forced_tags"] and client.features.tags_as_identity:
        # 0.28 tags as identity: only tags defined in tagOwners are accepted (SetNodeTags).
        owners = policy_tag_owners(client)
        unknown = [tag for tag in plan["tags"] if owners is not None and tag not in owners]
        if unknown:
            raise HeadscaleError(
                "tags %s are not defined in the policy's tagOwners; headscale %s only accepts tags the policy "
                "defines (add them to tagOwners first, e.g. with selfhosted.headscale.headscale_policy)."
                % (", ".join(unknown), client.version))


def apply_present(module, client, node, plan):
    """Rename, tag, expire as needed; returns the node after (predicted in check mode)."""
    after = dict(node)
    check = module.check_mode
    if plan["given_name"] is not None and plan["given_name"] != node["given_name"]:
        after["given_name"] = plan["given_name"]
        if not check:
            after = client.rename_node(node["id"], plan["given_name"]) or after
    if plan["tags"] is not None and plan["tags"] != node["forced_tags"]:
        after["forced_tags"] = list(plan["tags"])
        after["tags"] = sorted(set(after["tags"]) - set(node["forced_tags"]) | set(plan["tags"]))
        if not check:
            after = client.set_node_tags(node["id"], plan["tags"]) or after
    if plan["expiry"] is not None:
        kind, at = plan["expiry"]
        now = datetime.datetime.now(UTC)
        if node_utils.expiry_change(node["expiry"], kind, at, now):
            after["expiry"] = {"now": now, "never": None, "at": at}[kind]
            if not check:
                after = client.expire_node(node["id"], expiry=at, disable=(kind == "never")) or after
    if not check and view(after) != view(node):
        # Write responses are single-node views; re-read the list view for the result.
        after = client.get_node(node["id"]) or after
    return after


def handle(module, client):
    params = module.params
    all_nodes = client.list_nodes()
    candidates = all_nodes
    if params["registration_id"] is not None:
        # A node registered with tags (0.28+) belongs to no user any more: it still counts as registered.
        candidates = [n for n in all_nodes if n["user"] in (params["user"], None)]
    node = node_utils.find_node(candidates, params["node"],
                                user=params["user"] if params["registration_id"] is None else None)
    result = {"registered": False}

    if params["state"] == "absent":
        before, after = node, None
        if node is not None and not module.check_mode:
            client.delete_node(node["id"])
    else:
        if node is None and params["registration_id"] is not None:
            result["registered"] = True
            if module.check_mode:
                result.update(changed=True, node=None)
                if module._diff:
                    result["diff"] = diff_result(None, {"name": params["node"], "user": params["user"]})
                return result
            registered = client.register_node(params["user"], params["registration_id"])
            node = client.get_node(registered["id"]) if registered else None
            if node is None:
                raise HeadscaleError("headscale registered the node but does not list it.")
            if params["node"] not in (node["name"], node["given_name"]):
                module.warn("the registered node is called %r (given name %r), not %r as the task says."
                            % (node["name"], node["given_name"], params["node"]))
            before = None
            all_nodes = client.list_nodes()
        elif node is None:
            raise node_utils.not_found(params["node"], params["user"] or None)
        else:
            before = node
        check_against(node, params, all_nodes, client)
        after = apply_present(module, client, node, params)

    result["changed"] = result["registered"] or view(before) != view(after)
    result["node"] = after
    if module._diff:
        result["diff"] = diff_result(view(before), view(after))
    return result


def main():
    argument_spec = {
        "node": {"type": "str", "required": True},
        "user": {"type": "str"},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "given_name": {"type": "str"},
        "tags": {"type": "list", "elements": "str"},
        "expiry": {"type": "str"},
        # no_log: people paste pre-auth keys here by mistake (#2988); never echo the value.
        "registration_id": {"type": "str", "aliases": ["auth_id"], "no_log": True},
    }
    run_module(argument_spec, handle, check=check, gates=GATES)


if __name__ == "__main__":
    main()
