"""headscale_node: input checks and version gates before anything is read, and the view it compares."""

from __future__ import annotations

import pytest
from ansible_collections.selfhosted.headscale.plugins.modules import headscale_node

from tests.integration.harness.modules import TRANSPORTS
from tests.unit.recordings import SCENARIOS, recorded_nodes


def params(**given):
    base = {"node": "router-1", "user": None, "state": "present", "given_name": None, "tags": None,
            "expiry": None, "registration_id": None}
    base.update(given)
    return base


def test_check_normalises_tags_and_expiry(client_of):
    checked = headscale_node.check(params(tags=["tag:b", "tag:a", "tag:b"], expiry="NOW"), client_of("0.26.1"))
    assert checked["tags"] == ["tag:a", "tag:b"] and checked["expiry"] == ("now", None)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"given_name": "Bad_Name"}, "given_name 'Bad_Name' is not a valid node name"),
        ({"registration_id": "abc"}, "registration_id needs user"),
        ({"state": "absent", "registration_id": "abc", "user": "ops"}, "registration_id needs state: present"),
        ({"registration_id": "abc", "user": "ops"}, "registration_id is not a registration ID"),
    ],
)
def test_check_refuses_bad_input(client_of, refusal, given, message):
    assert message in refusal(headscale_node, client_of("0.29.3"), params(**given))


def test_expiry_gates(client_of, refusal):
    at = params(expiry="2031-01-02T03:04:05Z")
    assert refusal(headscale_node, client_of("0.26.1"), dict(at)) == (
        "expiry at a given time needs headscale 0.27 or later (this is 0.26.1); use expiry: now.")
    assert refusal(headscale_node, client_of("0.27.1"), dict(at)) is None
    assert refusal(headscale_node, client_of("0.28.0"), params(expiry="never")) == (
        "expiry: never needs headscale 0.29 or later (this is 0.28.0).")
    assert refusal(headscale_node, client_of("0.29.3"), params(expiry="never")) is None
    assert refusal(headscale_node, client_of("0.26.1"), params(expiry="now")) is None


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_node_view_is_what_the_module_compares(version, transport):
    found = recorded_nodes(SCENARIOS, version, transport)
    view = headscale_node.view(next(n for n in found if n["given_name"] == "tagged-1"))
    assert set(view) == {"id", "name", "given_name", "user", "tags", "expiry"}
    assert view["tags"] == ["tag:web"]
    assert headscale_node.view(None) is None
