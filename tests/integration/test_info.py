"""headscale_info against real headscale servers: content, masking, and CLI/API agreement."""

from __future__ import annotations

import pytest
from harness.modules import TRANSPORTS, assert_no_secret, module_runner
from harness.tailscale import wait_for

run = module_runner("headscale_info")


@pytest.fixture(scope="module")
def populated(headscale, module_tailscale_node):
    """One enrolled router (routes advertised, one approved), an extra user and keys."""
    user = "info-owner"
    secret = headscale.create_preauth_key(user, reusable=True, tags=["tag:info"])
    router = module_tailscale_node(headscale, "info-router", user=user, advertise_routes=["10.42.0.0/24"])
    wait_for("routes to be advertised",
             lambda: "10.42.0.0/24" in (headscale.node(router.node_id).get("available_routes") or []), 60)
    headscale.cli("nodes", "approve-routes", "--identifier", str(router.node_id), "--routes=10.42.0.0/24")
    headscale.ensure_user("info-other")
    return {"user": user, "secret": secret, "router": router}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_info_reports_version_users_nodes_and_masked_keys(headscale, populated, transport):
    every = ["version", "users", "nodes", "preauthkeys", "apikeys"]
    harness_key = headscale.api_key  # exists before the run, whatever the transport
    default = run(headscale, transport)
    if headscale.at_least("0.28"):
        assert default["gathered"] == every
    else:  # keys are listed per user there: not by default
        assert default["gathered"] == ["version", "users", "nodes", "apikeys"] and "preauthkeys" not in default
    result = run(headscale, transport, {"gather": every}, check=True)
    assert result["changed"] is False and not result.get("failed"), result
    assert result["gathered"] == every
    major_minor = ".".join(headscale.version.split(".")[:2])
    assert result["version"].startswith(major_minor)

    names = {u["name"] for u in result["users"]}
    assert {"info-owner", "info-other"} <= names

    node = next(n for n in result["nodes"] if n["id"] == populated["router"].node_id)
    assert node["user"] == "info-owner"
    assert node["online"] is True
    assert any(ip.startswith("100.64.") for ip in node["ip_addresses"])
    assert node["available_routes"] == ["10.42.0.0/24"]
    assert node["approved_routes"] == ["10.42.0.0/24"]
    assert node["register_method"] == "auth_key"
    assert node["tags"] == []
    assert "pre_auth_key" not in node

    keys = [k for k in result["preauthkeys"] if k["user"] == "info-owner" or k["acl_tags"] == ["tag:info"]]
    assert keys and all(k["key"].endswith("***") for k in keys)
    assert any(k["used"] for k in keys)
    # The key the harness created is listed by its prefix only (0.28+: hskey-api-<12>; before:
    # the 7 characters before the dot), and the module lists exactly the keys the server has.
    if harness_key.startswith("hskey-api-"):
        expected_prefix = harness_key[:len("hskey-api-") + 12]
    else:
        expected_prefix = harness_key.split(".", 1)[0]
    assert expected_prefix in {k["prefix"] for k in result["apikeys"]}, result["apikeys"]
    on_server = sorted(int(k["id"]) for k in headscale.cli_list("apikeys", "list"))
    assert sorted(k["id"] for k in result["apikeys"]) == on_server
    assert_no_secret(result, populated["secret"], headscale.api_key)


def test_info_is_the_same_over_cli_and_api(headscale, populated):
    volatile = ("last_seen", "online")

    def stable(result):
        result = {k: v for k, v in result.items() if k not in ("invocation", "version")}
        result["nodes"] = [{k: v for k, v in n.items() if k not in volatile} for n in result["nodes"]]
        return result

    headscale.api_key  # noqa: B018 - exists before both runs, so both list it
    every = {"gather": ["version", "users", "nodes", "preauthkeys", "apikeys"]}
    assert stable(run(headscale, "cli", every)) == stable(run(headscale, "api", every))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_info_gather_and_user_filter(headscale, populated, transport):
    result = run(headscale, transport, {"gather": ["nodes", "preauthkeys"], "user": "info-other"})
    assert set(result) >= {"nodes", "preauthkeys"} and "users" not in result and "version" not in result
    assert result["nodes"] == [] and result["preauthkeys"] == []

    missing = run(headscale, transport, {"user": "info-ghost"})
    assert missing["failed"] and missing["msg"] == "user 'info-ghost' does not exist on headscale."
