"""The headscale_inventory_policy filter's output, set on real headscale servers with real nodes:
headscale accepts it, and approves the inventory's routes and exit nodes by itself (no
approval step), for a node owned by a user and for a tagged node. Also for a route advertised
before the policy was set (headscale re-evaluates its auto-approvers when the policy changes)."""

from __future__ import annotations

import json

from ansible_collections.selfhosted.headscale.plugins.filter.headscale_inventory_policy import (
    headscale_inventory_policy,
)
from harness.tailscale import wait_for

ALLOW_ALL = {"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}


def approved(server, node) -> list[str]:
    return sorted(server.node(node.node_id).get("approved_routes") or [])


def test_routes_and_exit_nodes_approved_by_the_policy(fresh_headscale, tailscale_node):
    server = fresh_headscale
    early = tailscale_node(server, "pol-early", user="infra", advertise_routes=["10.71.0.0/24"])
    wait_for("pol-early's route", lambda: server.node(early.node_id).get("available_routes"), 60)
    assert approved(server, early) == []  # nothing approves it yet
    # From 0.28 a tagged node is owned by its tags alone: it enrols with a tagged key, no user
    # (tags as identity, CHANGELOG 0.28), as the tailscale_client role does there.
    tag_owner = "" if server.at_least("0.28") else "infra"
    policy = headscale_inventory_policy(ALLOW_ALL, [
        {"name": "pol-early", "user": "infra", "tags": [], "routes": ["10.71.0.0/24"], "exit_node": False},
        {"name": "pol-exit", "user": "infra", "tags": [], "routes": [], "exit_node": True},
        {"name": "pol-tagged", "user": tag_owner, "tags": ["tag:router"], "routes": ["10.72.0.0/24"],
         "exit_node": False},
    ])
    assert policy["tagOwners"] == {"tag:router": ["infra@"] if tag_owner else []}
    assert policy["autoApprovers"] == {"routes": {"10.71.0.0/24": ["infra@"], "10.72.0.0/24": ["tag:router"]},
                                       "exitNode": ["infra@"]}
    server.set_policy(json.dumps(policy))
    exit_node = tailscale_node(server, "pol-exit", user="infra", exit_node=True)
    if tag_owner:
        tagged = tailscale_node(server, "pol-tagged", user="infra", tags=["tag:router"],
                                advertise_routes=["10.72.0.0/24"])
    else:
        tagged = tailscale_node(server, "pol-tagged", user=None, key_tags=["tag:router"],
                                advertise_routes=["10.72.0.0/24"])
    wait_for("pol-exit approved as an exit node",
             lambda: approved(server, exit_node) == ["0.0.0.0/0", "::/0"], 60)
    wait_for("pol-tagged's route approved", lambda: approved(server, tagged) == ["10.72.0.0/24"], 60)
    wait_for("pol-early's route approved once the policy is set",
             lambda: approved(server, early) == ["10.71.0.0/24"], 60)
