"""headscale_node through real ansible-playbook (see harness/ansible_lifecycle.py), over the REST API,
on a real tailscaled node."""

from __future__ import annotations

import pytest
from harness.ansible_lifecycle import Lifecycle, run_lifecycle

# One lifecycle per supported headscale version, in the default matrix too (issue 18).
pytestmark = pytest.mark.every_supported_headscale


def test_node_through_ansible_playbook(headscale, module_tailscale_node):
    node = module_tailscale_node(headscale, "pb-node", user="pb-nodes")
    result = run_lifecycle(headscale, Lifecycle(
        module="headscale_node",
        transport="api",
        create={"node": "pb-node", "user": "pb-nodes", "given_name": "pb-renamed"},
        bad={"node": "pb-node", "given_name": "Not_A_Label"},
        bad_message="given_name 'Not_A_Label' is not a valid node name",
    ))
    assert result.check["node"]["given_name"] == "pb-renamed"
    assert headscale.node(node.node_id)["given_name"] == "pb-renamed"
