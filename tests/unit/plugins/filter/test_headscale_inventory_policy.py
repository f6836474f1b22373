"""The headscale_inventory_policy filter (its output on real servers: tests/integration/test_inventory_policy.py)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.selfhosted.headscale.plugins.filter.headscale_inventory_policy import (
    headscale_inventory_policy,
)

ACLS = {"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}


def test_what_the_policy_says_is_kept_and_merged():
    policy = dict(ACLS, tagOwners={"tag:router": ["group:ops"], "tag:other": ["ops@"]},
                  autoApprovers={"routes": {"10.0.0.0/24": ["group:ops"]}, "exitNode": ["ops@"]})
    result = headscale_inventory_policy(policy, [
        {"name": "r1", "user": "infra", "tags": ["tag:router"], "routes": ["10.0.0.0/24", "10.1.0.0/24"],
         "exit_node": True},
        {"name": "r2", "user": "infra", "tags": ["tag:router"], "routes": ["10.0.0.0/24"], "exit_node": False},
    ])
    assert result["tagOwners"] == {"tag:router": ["group:ops", "infra@"], "tag:other": ["ops@"]}
    assert result["autoApprovers"] == {"routes": {"10.0.0.0/24": ["group:ops", "tag:router"],
                                                  "10.1.0.0/24": ["tag:router"]},
                                       "exitNode": ["ops@", "tag:router"]}
    assert result["acls"] == ACLS["acls"]
    assert policy["tagOwners"]["tag:router"] == ["group:ops"]  # the input is not changed


def test_nodes_without_routes_or_tags_add_nothing():
    assert headscale_inventory_policy(ACLS, [{"name": "laptop", "user": "alice", "tags": [], "routes": [],
                                              "exit_node": False}]) == ACLS
    assert headscale_inventory_policy(ACLS, []) == ACLS
    # a user given as an email-like name is kept as it is
    result = headscale_inventory_policy(ACLS, [{"name": "x", "user": "alice@example.com", "routes": ["10.2.0.0/24"]}])
    assert result["autoApprovers"]["routes"] == {"10.2.0.0/24": ["alice@example.com"]}


@pytest.mark.parametrize(("policy", "nodes", "message"), [
    ("{ // HuJSON\n}", [], "the policy is HuJSON text"),
    (ACLS, [{"name": "r9", "user": "", "tags": [], "routes": ["10.0.0.0/24"]}],
     "node r9 advertises routes or an exit node but has neither tags nor a user"),
    (dict(ACLS, tagOwners={"tag:router": "ops@"}), [{"name": "r", "user": "a", "tags": ["tag:router"]}],
     r"tagOwners\[tag:router\] in the policy must be a list"),
])
def test_refusals_name_what_is_wrong(policy, nodes, message):
    with pytest.raises(AnsibleFilterError, match=message):
        headscale_inventory_policy(policy, nodes)
