"""Node lookup, route planning and expiry decisions (``nodes.py``), fed with recordings of real servers
(node scenarios: see ``tests/unit/recordings.py``)."""

from __future__ import annotations

import datetime

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils import nodes as node_utils
from ansible_collections.selfhosted.headscale.plugins.module_utils import validation
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError

from tests.integration.harness.modules import TRANSPORTS
from tests.unit.recordings import SCENARIOS, recorded_nodes, supported_versions

VERSIONS = supported_versions(SCENARIOS, "tests/fixtures/node-scenarios/record.py")  # fails if one is missing
UTC = datetime.UTC


def nodes(version: str, transport: str) -> list[dict]:
    return recorded_nodes(SCENARIOS, version, transport)


def by_name(listing: list[dict], given_name: str) -> dict:
    return next(n for n in listing if n["given_name"] == given_name)


def at_least(version: str, minimum: tuple[int, ...]) -> bool:
    return tuple(int(p) for p in version.split(".")) >= minimum


@pytest.fixture(params=[(v, t) for v in VERSIONS for t in TRANSPORTS], ids=lambda p: f"{p[0]}-{p[1]}")
def listing(request):
    version, transport = request.param
    return version, nodes(version, transport)


def test_recordings_cover_the_default_versions():
    assert {"0.26.1", "0.29.3"} <= set(VERSIONS)


def test_cli_and_api_listings_normalise_alike():
    for version in VERSIONS:
        cli, api = nodes(version, "cli"), nodes(version, "api")
        fields = ("id", "name", "given_name", "user", "approved_routes", "available_routes", "forced_tags", "expiry")
        assert [{f: n[f] for f in fields} for n in cli] == [{f: n[f] for f in fields} for n in api], version


# -- find_node ----------------------------------------------------------------------------------------
def test_find_node_by_id_given_name_and_host_name(listing):
    found = listing[1]
    router = by_name(found, "router-1")
    assert node_utils.find_node(found, str(router["id"]))["id"] == router["id"]
    assert node_utils.find_node(found, router["id"])["id"] == router["id"]
    assert node_utils.find_node(found, "router-1")["id"] == router["id"]
    twin_b = next(n for n in found if n["name"] == "twin" and n["given_name"] != "twin")
    assert node_utils.find_node(found, twin_b["given_name"])["id"] == twin_b["id"]
    assert node_utils.find_node(found, "no-such-node") is None
    assert node_utils.find_node(found, "999") is None


def test_find_node_refuses_an_ambiguous_host_name_and_lists_the_ids(listing):
    found = listing[1]
    twins = sorted(n["id"] for n in found if n["name"] == "twin")
    assert len(twins) == 2
    with pytest.raises(HeadscaleError) as caught:
        node_utils.find_node(found, "twin")
    message = str(caught.value)
    assert "node 'twin' is ambiguous: it matches 2 nodes" in message
    for node_id in twins:
        assert f"ID {node_id}:" in message
    assert "narrow it with user" in message
    # The user narrows it down.
    assert node_utils.find_node(found, "twin", user="bob")["user"] == "bob"
    assert node_utils.find_node(found, "twin", user="alice")["given_name"] == "twin"


def test_require_node_names_what_was_looked_up(listing):
    found = listing[1]
    with pytest.raises(HeadscaleError, match=r"node 'ghost' does not exist on headscale for user 'bob'"):
        node_utils.require_node(found, "ghost", user="bob")


def test_tagged_nodes_have_no_user_from_028(listing):
    version, found = listing
    tagged = by_name(found, "tagged-1")
    assert tagged["forced_tags"] == ["tag:web"]
    if at_least(version, (0, 28)):
        assert tagged["user"] is None
        assert node_utils.find_node(found, "tagged-1", user="alice") is None
    else:
        assert tagged["user"] == "alice"


# -- routes -------------------------------------------------------------------------------------------
def test_router_recording_shape(listing):
    found = listing[1]
    router = by_name(found, "router-1")
    assert router["approved_routes"] == ["0.0.0.0/0", "10.10.0.0/24", "::/0"]
    assert router["available_routes"] == [
        "0.0.0.0/0", "10.10.0.0/24", "10.20.0.0/24", "::/0", "fd00:10::/64"]
    assert node_utils.has_exit(router["approved_routes"])


@pytest.mark.parametrize(
    ("mode", "routes", "exit_node", "expected"),
    [
        ("equal", ["10.20.0.0/24"], None, ["0.0.0.0/0", "10.20.0.0/24", "::/0"]),
        ("equal", ["10.20.0.0/24"], False, ["10.20.0.0/24"]),
        ("equal", None, False, ["10.10.0.0/24"]),
        ("equal", ["10.10.0.0/24"], True, ["0.0.0.0/0", "10.10.0.0/24", "::/0"]),
        ("include", ["fd00:10::/64"], None, ["0.0.0.0/0", "10.10.0.0/24", "::/0", "fd00:10::/64"]),
        ("include", ["10.10.0.0/24"], None, ["0.0.0.0/0", "10.10.0.0/24", "::/0"]),
        ("exclude", ["10.10.0.0/24", "10.20.0.0/24"], None, ["0.0.0.0/0", "::/0"]),
        ("exclude", [], False, ["10.10.0.0/24"]),
    ],
)
def test_plan_routes_from_the_recorded_router(listing, mode, routes, exit_node, expected):
    found = listing[1]
    router = by_name(found, "router-1")
    assert node_utils.plan_routes(router["approved_routes"], mode, routes, exit_node) == expected


def test_plan_routes_with_an_empty_list(listing):
    # Refusing it without allow_empty is headscale_routes' check (tests/unit/plugins/modules).
    found = listing[1]
    approved = by_name(found, "router-1")["approved_routes"]
    assert node_utils.plan_routes(approved, "equal", [], None) == ["0.0.0.0/0", "::/0"]
    assert node_utils.plan_routes(approved, "equal", [], False) == []


def test_unadvertised_routes_are_reported(listing):
    found = listing[1]
    router = by_name(found, "router-1")
    desired = ["10.10.0.0/24", "172.16.0.0/12", "0.0.0.0/0", "::/0"]
    assert node_utils.unadvertised(desired, router["available_routes"]) == ["172.16.0.0/12"]
    twin = by_name(found, "twin")
    assert node_utils.unadvertised(["0.0.0.0/0", "::/0"], twin["available_routes"]) == ["0.0.0.0/0", "::/0"]


# -- expiry -------------------------------------------------------------------------------------------
def test_expiry_decisions_on_the_recorded_node(listing):
    version, found = listing
    expiring = by_name(found, "expiring-1")
    now = datetime.datetime(2027, 6, 1, tzinfo=UTC)
    at = validation.expiry("2031-01-02T03:04:05Z")
    assert at == ("at", datetime.datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC))
    same_moment = validation.expiry("2031-01-02T04:04:05+01:00")
    if at_least(version, (0, 27)):
        assert expiring["expiry"] == at[1]
        assert node_utils.expiry_change(expiring["expiry"], *at, now) is False
        assert node_utils.expiry_change(expiring["expiry"], *same_moment, now) is False
        assert node_utils.expiry_change(expiring["expiry"], "now", None, now) is True
    else:
        # Expired at recording time: expiring it now again is no change.
        assert expiring["expiry"] < now
        assert node_utils.expiry_change(expiring["expiry"], "now", None, now) is False
    assert node_utils.expiry_change(expiring["expiry"], "never", None, now) is True
    never_expires = by_name(found, "router-1")
    assert never_expires["expiry"] is None
    assert node_utils.expiry_change(None, "never", None, now) is False
    assert node_utils.expiry_change(None, "now", None, now) is True
    assert node_utils.expiry_change(None, *at, now) is True
