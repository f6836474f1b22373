#!/usr/bin/python
# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: headscale_info
short_description: Read users, nodes, keys and the version of a headscale server
version_added: 0.1.0
description:
  - Returns the headscale version, users, nodes (addresses, online state, routes, tags), pre-auth keys
    and API keys. Key secrets are never returned.
  - Works with headscale 0.26.1 to 0.29.x over the CLI or the REST API; the objects have the same shape
    whatever the version and transport.
extends_documentation_fragment:
  - selfhosted.headscale.connection
  - selfhosted.headscale.attributes
  - selfhosted.headscale.attributes.info_module
options:
  gather:
    description:
      - What to read. Each entry costs one request, except V(preauthkeys) on headscale 0.27 and older
        without O(user). Those versions list keys per user only, so that costs one request per user.
      - By default everything that costs one request is read, that is V(version), V(users), V(nodes),
        V(apikeys), and V(preauthkeys) on headscale 0.28 and later or when O(user) is set.
        RV(gathered) says what was read.
    type: list
    elements: str
    choices: [version, users, nodes, preauthkeys, apikeys]
  user:
    description:
      - Only return the nodes and pre-auth keys of this user (name).
    type: str
seealso:
  - module: selfhosted.headscale.headscale_user
  - module: selfhosted.headscale.headscale_preauthkey
  - module: selfhosted.headscale.headscale_apikey
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
---
- name: Read everything that costs one request per kind
  selfhosted.headscale.headscale_info:
  register: headscale

- name: All pre-auth keys, also on headscale 0.27 and older (one request per user there)
  selfhosted.headscale.headscale_info:
    gather: [preauthkeys]
  register: all_keys

- name: Nodes of alice, over the REST API
  selfhosted.headscale.headscale_info:
    gather: [nodes]
    user: alice
    api_url: https://headscale.example.com
    api_key: "{{ headscale_api_key }}"
  register: alice_nodes

- name: Show the addresses of online nodes
  ansible.builtin.debug:
    msg: "{{ headscale.nodes | selectattr('online') | map(attribute='ip_addresses') | list }}"
"""

RETURN = r"""
gathered:
  description: What was read (O(gather), or the default for this server).
  returned: always
  type: list
  elements: str
  sample: [version, users, nodes, preauthkeys, apikeys]
version:
  description: The headscale version (as detected, or as given by O(headscale_version)).
  returned: when V(version) is gathered
  type: str
  sample: 0.29.3
users:
  description: Users (see M(selfhosted.headscale.headscale_user) for the fields).
  returned: when V(users) is gathered
  type: list
  elements: dict
nodes:
  description: Nodes.
  returned: when V(nodes) is gathered
  type: list
  elements: dict
  contains:
    id:
      description: Node ID.
      type: int
    name:
      description: Host name reported by the client.
      type: str
    given_name:
      description: Name in the tailnet (MagicDNS).
      type: str
    user:
      description: Owner name; V(null) for tagged nodes owned by no user (headscale 0.28+).
      type: str
    user_id:
      description: Owner ID.
      type: int
    ip_addresses:
      description: Tailnet addresses.
      type: list
      elements: str
    online:
      description: Whether the node is connected.
      type: bool
    tags:
      description: Tags of the node (forced and valid tags before headscale 0.28).
      type: list
      elements: str
    forced_tags:
      description: Tags set by an administrator (equal to RV(nodes[].tags) from headscale 0.28).
      type: list
      elements: str
    available_routes:
      description: Routes the node advertises.
      type: list
      elements: str
    approved_routes:
      description: Routes approved for the node.
      type: list
      elements: str
    subnet_routes:
      description: Routes the node currently serves.
      type: list
      elements: str
    expiry:
      description: Key expiry (RFC 3339), V(null) when the node does not expire.
      type: str
    last_seen:
      description: Last time seen (RFC 3339).
      type: str
    created_at:
      description: Registration time (RFC 3339).
      type: str
    register_method:
      description: How the node registered.
      type: str
      sample: auth_key
preauthkeys:
  description:
    - Pre-auth keys with the secret masked (see M(selfhosted.headscale.headscale_preauthkey)).
  returned: when V(preauthkeys) is gathered
  type: list
  elements: dict
apikeys:
  description: API keys (prefix only, never the secret).
  returned: when V(apikeys) is gathered
  type: list
  elements: dict
"""

from ansible_collections.selfhosted.headscale.plugins.module_utils import validation
from ansible_collections.selfhosted.headscale.plugins.module_utils.module_base import run_module

CHOICES = ["version", "users", "nodes", "preauthkeys", "apikeys"]


def check(params, client):
    if params["user"] is not None:
        validation.required(params["user"], "user")


def handle(module, client):
    params = module.params
    user = params["user"]
    if user is not None:
        client.require_user(user)
    gather = params["gather"]
    if gather is None:
        gather = ["version", "users", "nodes", "apikeys"]
        if user is not None or client.features.preauthkey_by_id:  # 0.28 #2992: all keys in one request
            gather.insert(3, "preauthkeys")
    result = {"changed": False, "gathered": [item for item in CHOICES if item in gather]}
    if "version" in gather:
        result["version"] = client.version
    if "users" in gather:
        result["users"] = client.list_users()
    if "nodes" in gather:
        result["nodes"] = client.list_nodes(user=user)
    if "preauthkeys" in gather:
        result["preauthkeys"] = client.list_preauthkeys(user=user)
    if "apikeys" in gather:
        result["apikeys"] = client.list_apikeys()
    return result


def main():
    argument_spec = {
        "gather": {"type": "list", "elements": "str", "choices": CHOICES},
        "user": {"type": "str"},
    }
    run_module(argument_spec, handle, check=check)


if __name__ == "__main__":
    main()
