"""How headscale gives a node its tags at enrolment, per version: what the tailscale_client role
relies on (its _tailscale_client_tags_from_key).

- 0.26, 0.27: a pre-auth key needs a user; `tailscale up --advertise-tags` with it gives the node the
  tags the policy lets that user own.
- 0.28 and later (tags as identity, CHANGELOG 0.28): tags requested at registration are refused
  ("requested tags [...] are invalid or not permitted"), with a user's key or a tagged one; a tagged
  key without a user, used without --advertise-tags, gives the node the key's tags, and the node's
  status lists them (Self.Tags).
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.every_supported_headscale

POLICY = {"tagOwners": {"tag:router": ["infra@"]}, "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}
REFUSED = "requested tags [tag:router] are invalid or not permitted"


def node_tags(server, node) -> list[str]:
    listed = server.node(node.node_id)
    fields = ("tags", "forced_tags", "valid_tags")  # 0.28+: tags; before: forced and valid tags
    return sorted({tag for name in fields for tag in listed.get(name) or []})


def test_tags_at_enrolment(fresh_headscale, tailscale_node):
    server = fresh_headscale
    server.ensure_user("infra")
    server.set_policy(json.dumps(POLICY))
    if not server.at_least("0.28"):
        node = tailscale_node(server, "tag-user-key", user="infra", tags=["tag:router"])
        assert node_tags(server, node) == ["tag:router"]
        return
    for user, key_tags in (("infra", []), (None, ["tag:router"])):
        with pytest.raises(RuntimeError, match=REFUSED.replace("[", r"\[").replace("]", r"\]")):
            tailscale_node(server, f"tag-refused-{user or 'key'}", user=user, key_tags=key_tags, tags=["tag:router"])
    node = tailscale_node(server, "tag-from-key", user=None, key_tags=["tag:router"])
    assert node_tags(server, node) == ["tag:router"]
    assert node.status()["Self"]["Tags"] == ["tag:router"]
