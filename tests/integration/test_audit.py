"""headscale_audit against a real headscale and real tailscaled nodes: every condition it reports is
created on purpose on one server, and a clean tailnet reports nothing (the negative control).

On headscale 0.26 a node's expiry can only be set to now (`nodes expire`), so "expiring" is
checked from 0.27 on; "expired" on every version.
"""

from __future__ import annotations

import datetime

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils.normalize import apikey_prefix
from harness.modules import TRANSPORTS, module_runner
from harness.tailscale import wait_for

run = module_runner("headscale_audit")


def client_version(node) -> str:
    return node.status()["Version"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_clean_tailnet_has_no_finding(fresh_headscale, tailscale_node, transport):
    node = tailscale_node(fresh_headscale, "audit-clean")
    result = run(fresh_headscale, transport, {
        "client_versions": {"audit-clean": client_version(node)},
        "expected_tags": {str(node.node_id): []},
    })
    assert not result.get("failed"), result
    assert result["checked"]["nodes"] == 1 and result["changed"] is False
    if transport == "api":
        # The REST transport needs an API key: the harness's lives one day, and the audit says so.
        ((kind, subject),) = [(f["kind"], f["subject"]) for f in result["findings"]]
        assert (kind, subject) == ("apikey_expiring", "API key %s" % apikey_prefix(fresh_headscale.api_key))
        return
    assert result["clean"] is True and result["findings"] == [], result["table"]
    assert result["table"] == ["no findings"]


def test_every_condition_on_purpose(fresh_headscale, tailscale_node):
    server = fresh_headscale
    nodes = tailscale_node.many(server, {
        "router": {"hostname": "audit-router", "advertise_routes": ["10.61.0.0/24", "10.63.0.0/24"]},
        "twin-a": {"hostname": "audit-twin"},
        "twin-b": {"hostname": "audit-twin"},
        "gone": {"hostname": "audit-gone"},
    })
    router, twin_b, gone = nodes["router"], nodes["twin-b"], nodes["gone"]
    wait_for("the router's routes", lambda: len(server.node(router.node_id).get("available_routes") or []) == 2, 60)
    # Approved, then no longer advertised; the other route stays unapproved.
    server.cli("nodes", "approve-routes", "--identifier", str(router.node_id), "--routes=10.61.0.0/24")
    router.advertise(["10.63.0.0/24"])
    now = datetime.datetime.now(datetime.UTC)
    if server.at_least("0.27"):
        soon = (now + datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        server.cli("nodes", "expire", "--identifier", str(router.node_id), "--expiry", soon)
    # Two nodes go offline; one of them then has its key expired (stopped first, so that no
    # logged-out tailscaled is left running).
    for node in (gone, twin_b):
        node.stop()
        wait_for(f"headscale to see {node.hostname} offline",
                 lambda n=node: not server.node(n.node_id).get("online"), 60)
    server.cli("nodes", "expire", "--identifier", str(twin_b.node_id))  # expired now
    apikey = server.cli("apikeys", "create", "--expiration", "3d")
    server.create_preauth_key("audit-keys", expiration="3d")  # unused: can still be used
    server.create_preauth_key("audit-keys", expiration="30d")  # outside the window
    version = client_version(router)
    newer = "%s.%d" % (version.split(".")[0], int(version.split(".")[1]) + 1)

    result = run(server, "cli", {
        "offline_days": 0,
        "key_expiry_days": 7,
        "min_client_version": newer,
        "client_versions": {"audit-router": version},
        "expected_tags": {str(router.node_id): ["tag:router"]},
    })
    assert not result.get("failed"), result
    print("\n".join(result["table"]))
    router_label = "audit-router (node %s)" % router.node_id
    twin_b_label = "%s (node %s)" % (server.node(twin_b.node_id)["given_name"], twin_b.node_id)
    found = sorted((f["kind"], f["subject"]) for f in result["findings"])
    expected = [
        ("apikey_expiring", "API key %s" % apikey_prefix(apikey)),
        ("client_too_old", router_label),
        ("hostname_duplicate", "audit-twin"),
        ("node_key_expired", twin_b_label),
        ("node_offline", "audit-gone (node %s)" % gone.node_id),
        ("node_offline", twin_b_label),
        ("preauthkey_expiring", next(f["subject"] for f in result["findings"] if f["kind"] == "preauthkey_expiring")),
        ("route_not_advertised", router_label),
        ("route_not_approved", router_label),
        ("tags_differ", router_label),
    ]
    if server.at_least("0.27"):
        expected.append(("node_key_expiring", router_label))
    assert found == sorted(expected)
    keyed = [f for f in result["findings"] if f["kind"] == "preauthkey_expiring"]
    assert len(keyed) == 1 and keyed[0]["subject"].endswith(" of audit-keys") and 2.9 < keyed[0]["days"] <= 3.0
    routes = {f["kind"]: f["route"] for f in result["findings"] if f["kind"].startswith("route_")}
    assert routes == {"route_not_approved": "10.63.0.0/24", "route_not_advertised": "10.61.0.0/24"}
    assert result["findings"][0]["severity"] == "critical"
    assert result["summary"]["hostname_duplicate"] == 1 and result["clean"] is False
    assert apikey not in repr(result)  # only its prefix
    assert 'kind="route_not_approved",severity="warning"} 1' in result["prometheus"]
