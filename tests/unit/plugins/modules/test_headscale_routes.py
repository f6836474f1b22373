"""headscale_routes: its input check (combination with allow_empty) before anything is read."""

from __future__ import annotations

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import ValidationError
from ansible_collections.selfhosted.headscale.plugins.modules import headscale_routes


def params(**given):
    base = {"node": "router-1", "user": None, "routes": None, "mode": "equal", "exit_node": None,
            "allow_empty": False}
    base.update(given)
    return base


def test_an_empty_list_in_equal_mode_needs_allow_empty():
    with pytest.raises(ValidationError, match="set allow_empty: true"):
        headscale_routes.check(params(routes=[]), None)
    assert headscale_routes.check(params(routes=[], allow_empty=True), None) == {"routes": []}
    assert headscale_routes.check(params(routes=[], mode="exclude"), None) == {"routes": []}


def test_routes_are_validated_and_sorted():
    assert headscale_routes.check(params(routes=["fd00:10::/64", "10.20.0.0/24"]), None) == {
        "routes": ["10.20.0.0/24", "fd00:10::/64"]}
    with pytest.raises(ValidationError, match="is an exit route"):
        headscale_routes.check(params(routes=["0.0.0.0/0"]), None)
    with pytest.raises(ValidationError, match="node must be a node ID"):
        headscale_routes.check(params(node=""), None)
