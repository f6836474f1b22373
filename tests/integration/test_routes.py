"""headscale_routes against real headscale servers and real tailscaled routers, over both transports.

One server and one router per module and version: the router advertises two IPv4 subnets, one IPv6
subnet and the exit node. Every test starts from "nothing approved" and follows
check -> apply -> idempotent check -> idempotent apply -> change -> assert.
"""

from __future__ import annotations

import json

import pytest
from harness.modules import TRANSPORTS, assert_no_secret, module_runner, run_playbook
from harness.tailscale import wait_for

run = module_runner("headscale_routes")

ADVERTISED = ["10.10.0.0/24", "10.20.0.0/24", "fd00:10::/64"]
EXIT = {"0.0.0.0/0", "::/0"}


@pytest.fixture(scope="module")
def router(headscale, module_tailscale_node):
    return module_tailscale_node(headscale, "router-1", user="netops", advertise_routes=ADVERTISED,
                                 exit_node=True)


@pytest.fixture
def clean_router(headscale, router):
    """The router with no approved routes (approve-routes replaces the list; `--routes=` clears it)."""
    headscale.cli("nodes", "approve-routes", "--identifier", str(router.node_id), "--routes=")
    assert not headscale.node(router.node_id).get("approved_routes")
    return router


def approved(server, node):
    return set(server.node(node.node_id).get("approved_routes") or [])


def warnings(result):
    return json.dumps(result.get("warnings", []))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_routes_equal_sequence(headscale, clean_router, transport):
    args = {"node": "router-1", "routes": ["10.10.0.0/24", "fd00:10::/64"]}

    check = run(headscale, transport, args, check=True, diff=True)
    assert check["changed"] is True and not check.get("failed"), check
    assert check["diff"] == {"before": {"approved_routes": []},
                             "after": {"approved_routes": ["10.10.0.0/24", "fd00:10::/64"]}}
    assert approved(headscale, clean_router) == set()

    applied = run(headscale, transport, args, diff=True)
    assert applied["changed"] is True, applied
    assert applied["approved_routes"] == ["10.10.0.0/24", "fd00:10::/64"]
    assert applied["added"] == ["10.10.0.0/24", "fd00:10::/64"] and applied["removed"] == []
    assert applied["node"]["id"] == clean_router.node_id
    assert applied["exit_node"] is False
    assert approved(headscale, clean_router) == {"10.10.0.0/24", "fd00:10::/64"}
    assert_no_secret(applied, headscale.api_key)

    assert run(headscale, transport, args, check=True)["changed"] is False
    again = run(headscale, transport, args, diff=True)
    assert again["changed"] is False, again
    assert again["diff"]["before"] == again["diff"]["after"]

    changed = run(headscale, transport, {"node": "router-1", "routes": ["10.20.0.0/24"]})
    assert changed["changed"] is True
    assert changed["added"] == ["10.20.0.0/24"]
    assert changed["removed"] == ["10.10.0.0/24", "fd00:10::/64"]
    assert approved(headscale, clean_router) == {"10.20.0.0/24"}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_routes_exit_node_approves_both_families(headscale, clean_router, transport):
    args = {"node": str(clean_router.node_id), "exit_node": True}

    check = run(headscale, transport, args, check=True)
    assert check["changed"] is True and check["exit_node"] is True, check
    assert approved(headscale, clean_router) == set()

    applied = run(headscale, transport, args)
    assert applied["changed"] is True and applied["exit_node"] is True, applied
    assert approved(headscale, clean_router) == EXIT
    assert run(headscale, transport, args, check=True)["changed"] is False
    assert run(headscale, transport, args)["changed"] is False

    # Subnet routes are managed independently of the exit routes.
    with_subnet = run(headscale, transport, {"node": "router-1", "routes": ["10.10.0.0/24"]})
    assert with_subnet["changed"] is True
    assert approved(headscale, clean_router) == EXIT | {"10.10.0.0/24"}

    removed = run(headscale, transport, {"node": "router-1", "exit_node": False}, diff=True)
    assert removed["changed"] is True and removed["exit_node"] is False
    assert removed["removed"] == ["0.0.0.0/0", "::/0"]
    assert approved(headscale, clean_router) == {"10.10.0.0/24"}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_routes_include_and_exclude_keep_other_routes(headscale, clean_router, transport):
    headscale.cli("nodes", "approve-routes", "--identifier", str(clean_router.node_id),
                  "--routes=10.10.0.0/24,0.0.0.0/0,::/0")
    include = {"node": "router-1", "routes": ["fd00:10::/64"], "mode": "include"}
    assert run(headscale, transport, include, check=True)["changed"] is True
    assert run(headscale, transport, include)["changed"] is True
    assert approved(headscale, clean_router) == EXIT | {"10.10.0.0/24", "fd00:10::/64"}
    assert run(headscale, transport, include)["changed"] is False

    exclude = {"node": "router-1", "routes": ["10.10.0.0/24", "10.20.0.0/24"], "mode": "exclude"}
    assert run(headscale, transport, exclude, check=True)["changed"] is True
    result = run(headscale, transport, exclude)
    assert result["changed"] is True and result["removed"] == ["10.10.0.0/24"]
    assert approved(headscale, clean_router) == EXIT | {"fd00:10::/64"}
    assert run(headscale, transport, exclude)["changed"] is False


def test_routes_empty_list_in_equal_mode_needs_allow_empty(headscale, clean_router):
    headscale.cli("nodes", "approve-routes", "--identifier", str(clean_router.node_id),
                  "--routes=10.10.0.0/24,10.20.0.0/24")
    before = headscale.snapshot()

    refused = run(headscale, "cli", {"node": "router-1", "routes": []})
    assert refused.get("failed") is True
    assert "allow_empty" in refused["msg"] and "routes is empty" in refused["msg"]
    assert headscale.snapshot() == before

    check = run(headscale, "cli", {"node": "router-1", "routes": [], "allow_empty": True}, check=True)
    assert check["changed"] is True and check["approved_routes"] == []
    assert headscale.snapshot() == before

    cleared = run(headscale, "api", {"node": "router-1", "routes": [], "allow_empty": True})
    assert cleared["changed"] is True and cleared["approved_routes"] == []
    assert approved(headscale, clean_router) == set()
    assert run(headscale, "cli", {"node": "router-1", "routes": [], "allow_empty": True})["changed"] is False


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        (["10.10.0.1/24"], "has host bits set; the canonical prefix is '10.10.0.0/24'"),
        (["10.10.0.0/33"], "needs a prefix length from 0 to 32"),
        (["not-a-cidr"], "is not a valid CIDR prefix"),
        (["fd00:0010::/64"], "write it as 'fd00:10::/64'"),
        (["10.10.0.0"], "needs a prefix length"),
        (["0.0.0.0/0"], "is an exit route; set exit_node: true"),
    ],
)
def test_routes_bad_input_fails_before_any_write(headscale, clean_router, routes, expected):
    headscale.cli("nodes", "approve-routes", "--identifier", str(clean_router.node_id), "--routes=10.20.0.0/24")
    before = headscale.snapshot()
    result = run(headscale, "cli", {"node": "router-1", "routes": ["10.10.0.0/24", *routes]})
    assert result.get("failed") is True, result
    assert expected in result["msg"], result["msg"]
    assert "routes" in result["msg"]
    assert headscale.snapshot() == before


def test_routes_unknown_node_and_nothing_to_do(headscale, clean_router):
    before = headscale.snapshot()
    missing = run(headscale, "cli", {"node": "no-such-router", "routes": ["10.10.0.0/24"]})
    assert missing.get("failed") is True
    assert "'no-such-router' does not exist" in missing["msg"]
    nothing = run(headscale, "api", {"node": "router-1"})
    assert nothing.get("failed") is True and "one of the following is required: routes, exit_node" in nothing["msg"]
    assert headscale.snapshot() == before


def test_routes_warns_about_routes_the_node_does_not_advertise(headscale, clean_router):
    result = run(headscale, "cli", {"node": "router-1", "routes": ["10.10.0.0/24", "172.16.5.0/24"]})
    assert result["changed"] is True
    assert "does not advertise 172.16.5.0/24" in warnings(result), result
    assert "10.10.0.0/24," not in warnings(result)
    assert approved(headscale, clean_router) == {"10.10.0.0/24", "172.16.5.0/24"}


def test_routes_approved_route_reaches_a_peer(headscale, clean_router, tailscale_node):
    """The approval is real: another node of the tailnet sees the router serve the route."""
    laptop = tailscale_node(headscale, "laptop-routes", user="netops")
    run(headscale, "cli", {"node": "router-1", "routes": ["10.10.0.0/24"]})

    def router_primary_routes():
        for peer in (laptop.status().get("Peer") or {}).values():
            if peer.get("HostName") == "router-1":
                return set(peer.get("PrimaryRoutes") or []) == {"10.10.0.0/24"}
        return False

    wait_for("laptop to see router-1 serve 10.10.0.0/24", router_primary_routes, timeout=60)


@pytest.mark.headscale_version(">=0.29")
def test_routes_playbook_end_to_end_masks_api_key(headscale, clean_router):
    """Through real ansible-playbook: FQCN, check mode, and the API key never shown."""
    task = {
        "name": "Approve router-1",
        "selfhosted.headscale.headscale_routes": {
            "node": "router-1",
            "routes": ["10.10.0.0/24"],
            "exit_node": True,
            "transport": "api",
            "api_url": headscale.url,
            "api_key": "{{ hs_api_key }}",
        },
    }
    extra = {"hs_api_key": headscale.api_key}
    check = run_playbook([task], extra_vars=extra, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    (host,) = check.task_results("Approve router-1")
    assert host["changed"] is True
    assert approved(headscale, clean_router) == set()

    applied = run_playbook([task], extra_vars=extra, callback="default", verbosity=3, diff=True)
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert "changed: [localhost]" in applied.stdout
    assert_no_secret(applied.stdout + applied.stderr, headscale.api_key)
    assert approved(headscale, clean_router) == EXIT | {"10.10.0.0/24"}

    again = run_playbook([task], extra_vars=extra)
    assert again.rc == 0
    (host,) = again.task_results("Approve router-1")
    assert host["changed"] is False
    assert_no_secret(again.stdout, headscale.api_key)
