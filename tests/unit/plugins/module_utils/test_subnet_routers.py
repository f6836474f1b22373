"""Subnet routers and their primary (module_utils/subnet_routers.py: the failover drill's plan and
verify.yml's lines), fed with node lists recorded from real headscale and tailscale
(tests/fixtures/ha-routes/<version>/: router-a and router-b serve 10.10.0.0/24, router-c 10.30.0.0/24;
once with all online, once after `tailscale down` on router-a)."""

from __future__ import annotations

import json

import pytest
from ansible_collections.selfhosted.headscale.plugins.filter.headscale_failover_plan import headscale_failover_plan
from ansible_collections.selfhosted.headscale.plugins.filter.headscale_route_primaries import headscale_route_primaries
from ansible_collections.selfhosted.headscale.plugins.module_utils import normalize
from ansible_collections.selfhosted.headscale.plugins.module_utils.subnet_routers import drill_plan, routers

from tests.unit.recordings import FIXTURES, supported_versions

HA = FIXTURES / "ha-routes"
VERSIONS = supported_versions(HA, "tests/fixtures/ha-routes/record.py")


def nodes(version, name):
    recorded = json.loads((HA / version / f"cli-{name}.json").read_text())
    return [normalize.node(item) for item in json.loads(recorded["stdout"])]


def by_name(listing):
    return {node["name"]: node for node in listing}


def hosts(listing, **names):
    """{node ID: inventory host} for the recorded nodes named in ``names`` (recorded name=host)."""
    named = by_name(listing)
    return {str(named[name.replace("_", "-")]["id"]): host for name, host in names.items()}


@pytest.mark.parametrize("version", VERSIONS)
def test_both_routers_serve_the_shared_route_and_the_first_is_primary(version):
    listing = nodes(version, "nodes-list-both")
    served = routers(listing)
    assert sorted(served) == ["10.10.0.0/24", "10.30.0.0/24"]
    shared = served["10.10.0.0/24"]
    assert [(r["label"].split(" ")[0], r["primary"], r["online"]) for r in shared] == [
        ("router-a", True, True),
        ("router-b", False, True),
    ]
    assert "0.0.0.0/0" not in served


@pytest.mark.parametrize("version", VERSIONS)
def test_the_plan_takes_the_primary_down_by_its_inventory_name(version):
    listing = nodes(version, "nodes-list-both")
    plan = headscale_failover_plan(listing, hosts(listing, router_a="site-gw-1", router_b="site-gw-2"))
    assert plan["problems"] == []
    assert plan["route"] == "10.10.0.0/24"  # the one route with two routers
    assert plan["primary"]["host"] == "site-gw-1"
    assert [r["host"] for r in plan["standby"]] == ["site-gw-2"]


@pytest.mark.parametrize("version", VERSIONS)
def test_one_router_is_refused_naming_it(version):
    listing = nodes(version, "nodes-list-both")
    plan = drill_plan(listing, hosts(listing, router_c="lab-gw"), "10.30.0.0/24")
    assert plan["problems"] == [
        "only 1 router(s) serve 10.30.0.0/24 (lab-gw): the drill needs two, both advertising the route "
        "with approval"
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_router_offline_is_refused(version):
    listing = nodes(version, "nodes-list-a-down")
    plan = drill_plan(listing, hosts(listing, router_a="gw-1", router_b="gw-2"))
    assert plan["primary"]["host"] == "gw-2"  # headscale moved the route
    assert plan["problems"] == [
        "router(s) of 10.10.0.0/24 offline on headscale: gw-1; bring them online before the drill"
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_primary_outside_the_inventory_is_refused(version):
    listing = nodes(version, "nodes-list-both")
    plan = drill_plan(listing, hosts(listing, router_b="gw-2"))
    (problem,) = plan["problems"]
    assert problem.startswith("the primary router of 10.10.0.0/24, router-a (node ")
    assert "is not a node of this inventory that answered" in problem


@pytest.mark.parametrize("route", ["10.10.0.0", "not-a-route", "0.0.0.0/0"])
def test_a_route_that_is_not_a_subnet_is_refused_naming_the_field(route):
    plan = drill_plan(nodes(VERSIONS[-1], "nodes-list-both"), {}, route)
    assert plan["problems"][0].startswith("failover_drill_route is %r: give the subnet as a CIDR" % route)


@pytest.mark.parametrize("version", VERSIONS)
def test_no_shared_route_is_refused_listing_what_is_served(version):
    listing = [n for n in nodes(version, "nodes-list-both") if n["name"] != "router-b"]
    (problem,) = drill_plan(listing, {})["problems"]
    assert problem.startswith("no subnet route is advertised and approved on two or more nodes")
    assert "10.10.0.0/24 by router-a (node" in problem and "10.30.0.0/24 by router-c (node" in problem


@pytest.mark.parametrize("version", VERSIONS)
def test_verify_lines_name_the_primary_first(version):
    before = nodes(version, "nodes-list-both")
    assert headscale_route_primaries(before, hosts(before, router_a="gw-1", router_b="gw-2", router_c="gw-3")) == [
        "10.10.0.0/24: gw-1 (primary), gw-2 (standby)",
        "10.30.0.0/24: gw-3 (primary)",
    ]
    after = nodes(version, "nodes-list-a-down")
    assert headscale_route_primaries(after, hosts(after, router_a="gw-1", router_b="gw-2", router_c="gw-3")) == [
        "10.10.0.0/24: gw-2 (primary), gw-1 (standby, offline)",
        "10.30.0.0/24: gw-3 (primary)",
    ]
