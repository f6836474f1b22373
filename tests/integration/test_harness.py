"""The harness itself: servers start clean, the CLI and REST helpers work, logs stay local."""

from __future__ import annotations

import pytest
from harness.headscale import HeadscaleServer
from harness.versions import version_tuple


def test_headscale_serves_health_cli_and_api(headscale: HeadscaleServer) -> None:
    assert headscale.healthy()
    version = headscale.cli("version")
    assert version["version"].lstrip("v") == headscale.version
    user = headscale.ensure_user("harness-user")
    assert user["name"] == "harness-user"
    assert headscale.ensure_user("harness-user")["id"] == user["id"]
    listed = headscale.api("GET", "/api/v1/user")["users"]
    assert "harness-user" in [u["name"] for u in listed]
    assert headscale.policy_text() is None  # database mode, nothing stored


def test_headscale_config_follows_lab_rules(headscale: HeadscaleServer) -> None:
    config = headscale.config
    assert config["disable_check_updates"] is True
    assert config["derp"]["urls"] == []
    assert config["derp"]["server"]["enabled"] is True
    assert config["derp"]["server"]["stun_listen_addr"].startswith("127.0.0.1:")
    assert len(str(headscale.socket_path)) < 108


@pytest.mark.headscale_version(">=0.29")
def test_marker_restricts_versions(headscale_version: str) -> None:
    assert version_tuple(headscale_version) >= (0, 29)


def test_file_policy_mode_reloads_on_sighup(headscale_factory) -> None:
    server = headscale_factory(policy_mode="file")
    assert server.policy_path is not None and server.policy_path.read_text() == ""
    policy = '{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}'
    server.policy_path.write_text(policy)
    server.reload()
    got = server.cli("policy", "get", output_json=False)
    assert '"accept"' in got
    assert server.alive()


def test_tailscale_node_enrols_and_advertises(headscale: HeadscaleServer, tailscale_node) -> None:
    node = tailscale_node(headscale, "harness-router", advertise_routes=["10.99.0.0/24"], exit_node=True)
    hs_node = node.headscale_node()
    assert hs_node["name"] == "harness-router"
    assert set(hs_node.get("available_routes") or []) == {"10.99.0.0/24", "0.0.0.0/0", "::/0"}
    assert not hs_node.get("approved_routes")
    changed = node.advertise(["10.99.1.0/24"])
    assert changed["available_routes"] == ["10.99.1.0/24"]
