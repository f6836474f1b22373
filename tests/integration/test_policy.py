"""headscale_policy against real headscale servers: database mode over both transports, file mode with a
real SIGHUP reload, and invalid policies that must never reach the server.
"""

from __future__ import annotations

import json

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils import hujson
from harness.headscale import HeadscaleServer
from harness.modules import TRANSPORTS, assert_no_secret, module_runner
from harness.tailscale import wait_for

run = module_runner("headscale_policy")


BASE = {
    "groups": {"group:admins": ["polops@"]},
    "tagOwners": {"tag:web": ["group:admins"]},
    "acls": [{"action": "accept", "src": ["group:admins"], "dst": ["*:*"]}],
}
# The same policy as HuJSON, with comments, other key order and trailing commas: not a change.
BASE_HUJSON = """{
  // who may do what
  "acls": [
    {"action": "accept", "src": ["group:admins"], "dst": ["*:*"],},  // admins everywhere
  ],
  /* tags */
  "tagOwners": {"tag:web": ["group:admins"]},
  "groups": {"group:admins": ["polops@"],},
}
"""
CHANGED = {
    **BASE,
    "tagOwners": {"tag:web": ["group:admins"], "tag:db": ["group:admins"]},
}


def stored(server):
    text = server.policy_text()
    return None if text is None else json.loads(json.dumps(parse(text)))


def parse(text):
    return hujson.parse(text)


def reloads(server: HeadscaleServer) -> int:
    """Successful policy reloads in the server log (0.26: "ACL policy successfully reloaded",
    0.27+: "Policy reload completed")."""
    text = server.log_text()
    return text.count("ACL policy successfully reloaded") + text.count("Policy reload completed")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_policy_database_sequence(fresh_headscale, transport):
    server = fresh_headscale
    server.ensure_user("polops")
    assert server.policy_text() is None  # "acl policy not found": treated as empty
    args = {"policy": BASE}

    check = run(server, transport, args, check=True, diff=True)
    assert check["changed"] is True and not check.get("failed"), check
    assert check["diff"]["before"] == ""
    assert json.loads(check["diff"]["after"]) == BASE
    assert server.policy_text() is None

    applied = run(server, transport, args, diff=True)
    assert applied["changed"] is True, applied
    assert applied["policy"] == BASE
    assert stored(server) == BASE
    assert_no_secret(applied, server.api_key)

    assert run(server, transport, args, check=True)["changed"] is False
    again = run(server, transport, args, diff=True)
    assert again["changed"] is False, again
    assert again["diff"]["before"] == again["diff"]["after"]

    # Same meaning, different text: no write (the stored text stays the dict's JSON).
    text_before = server.policy_text()
    same = run(server, transport, {"policy": BASE_HUJSON})
    assert same["changed"] is False, same
    assert server.policy_text() == text_before

    changed = run(server, transport, {"policy": CHANGED}, diff=True)
    assert changed["changed"] is True
    assert "tag:db" in changed["diff"]["after"] and "tag:db" not in changed["diff"]["before"]
    assert stored(server) == CHANGED


def test_policy_hujson_text_is_stored_verbatim(headscale):
    headscale.ensure_user("polops")
    run(headscale, "cli", {"policy": CHANGED})
    result = run(headscale, "cli", {"policy": BASE_HUJSON})
    assert result["changed"] is True and result["policy"] == BASE
    assert headscale.policy_text().strip() == BASE_HUJSON.strip()  # comments kept
    assert run(headscale, "api", {"policy": BASE})["changed"] is False


def test_policy_from_src_file(headscale, tmp_path):
    headscale.ensure_user("polops")
    src = tmp_path / "acl.hujson"
    src.write_text(BASE_HUJSON.replace('"tag:web"', '"tag:src"'))
    assert run(headscale, "cli", {"src": str(src)}, check=True)["changed"] is True
    assert "tag:src" not in (headscale.policy_text() or "")
    applied = run(headscale, "api", {"src": str(src)})
    assert "tag:src" in applied["policy"]["tagOwners"]
    assert "tag:src" in stored(headscale)["tagOwners"]
    assert run(headscale, "cli", {"src": str(src)})["changed"] is False

    missing = run(headscale, "cli", {"src": str(tmp_path / "absent.hujson")})
    assert missing.get("failed") is True and "src" in missing["msg"] and "cannot be read" in missing["msg"]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ('{"acls": [}', "policy is not valid HuJSON"),
        ('{"acls": [\n  {"action": "accept",\n   "src": ["*"] "dst": ["*:*"]}]}', "at line 3 column"),
        ('["not", "an", "object"]', "policy must be a JSON object"),
        ('{"acls": [{"action": "allow", "src": ["*"], "dst": ["*:*"]}]}', "invalid action|\"allow\" is not supported"),
    ],
)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_policy_invalid_is_never_written(headscale, transport, policy, expected):
    headscale.ensure_user("polops")
    run(headscale, "cli", {"policy": BASE})
    before = headscale.snapshot()
    result = run(headscale, transport, {"policy": policy})
    assert result.get("failed") is True, result
    assert any(part in result["msg"] for part in expected.split("|")), result["msg"]
    assert headscale.snapshot() == before


@pytest.mark.headscale_version(">=0.29")
def test_policy_unknown_field_is_rejected_by_the_server_check(headscale):
    headscale.ensure_user("polops")
    run(headscale, "cli", {"policy": BASE})
    before = headscale.snapshot()
    for transport in TRANSPORTS:
        result = run(headscale, transport, {"policy": {**BASE, "bogus": 1}})
        assert result.get("failed") is True, result
        # Refused by headscale's check (not by `policy set`, nor by a message that only echoes the
        # input): the module's frame, then headscale's reason naming the field.
        msg = result["msg"]
        assert msg.startswith("headscale could not accept the policy: "), (transport, msg)
        assert msg.endswith('parsing policy: unknown field: "bogus"'), (transport, msg)
    assert headscale.snapshot() == before


def test_policy_database_mode_against_a_file_mode_server_explains(headscale_factory):
    server = headscale_factory(policy_mode="file")
    result = run(server, "cli", {"policy": BASE})
    assert result.get("failed") is True
    assert "use policy_mode: file" in result["msg"], result["msg"]
    assert server.policy_path.read_text() == ""


def test_policy_file_mode_option_checks(headscale):
    no_path = run(headscale, "cli", {"policy": BASE, "policy_mode": "file"})
    assert no_path.get("failed") is True and "path is required with policy_mode: file" in no_path["msg"]
    stray = run(headscale, "cli", {"policy": BASE, "reload_command": ["true"]})
    assert stray.get("failed") is True and "reload_command only applies to policy_mode: file" in stray["msg"]
    both = run(headscale, "cli", {"policy": BASE, "src": "/etc/hostname"})
    assert both.get("failed") is True and "mutually exclusive" in both["msg"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_policy_file_mode_writes_validates_and_reloads(headscale_factory, tailscale_node, transport):
    server = headscale_factory(policy_mode="file")
    if transport == "api" and not server.at_least("0.29"):
        # Over the API only 0.29+ can check a policy: file mode refuses to write it unchecked.
        result = run(server, transport, {"policy": BASE, "policy_mode": "file", "path": str(server.policy_path)})
        assert result.get("failed") is True and "use transport: cli" in result["msg"], result
        assert server.policy_path.read_text() == ""
        return
    server.ensure_user("polops")
    path = str(server.policy_path)
    args = {"policy": BASE, "policy_mode": "file", "path": path, "mode": "0640",
            "reload_command": ["kill", "-HUP", str(server.pid)]}
    reloads_at_start = reloads(server)

    check = run(server, transport, args, check=True, diff=True)
    assert check["changed"] is True and check["reloaded"] is True, check
    assert check["diff"]["before_header"] == path
    assert server.policy_path.read_text() == ""
    assert reloads(server) == reloads_at_start

    applied = run(server, transport, args)
    assert applied["changed"] is True and applied["reloaded"] is True, applied
    assert parse(server.policy_path.read_text()) == BASE
    assert oct(server.policy_path.stat().st_mode & 0o777) == "0o640"
    assert server.sighup_count() >= 1
    # headscale really loaded it (not just the file on disk).
    wait_for("headscale to reload the policy", lambda: reloads(server) > reloads_at_start)
    if server.at_least("0.28"):
        # Tags as identity: only tags of the loaded policy's tagOwners are accepted.
        node = tailscale_node(server, f"pol-{transport}", user="polops")
        server.cli("nodes", "tag", "--identifier", str(node.node_id), "--tags=tag:web")

    reloads_after_apply = reloads(server)
    sighups = server.sighup_count()
    assert run(server, transport, args, check=True)["changed"] is False
    again = run(server, transport, {**args, "policy": BASE_HUJSON})
    assert again["changed"] is False and again["reloaded"] is False, again
    assert server.sighup_count() == sighups

    changed = run(server, transport, {**args, "policy": CHANGED, "backup": True})
    assert changed["changed"] is True and changed["backup_file"]
    assert parse(server.policy_path.read_text()) == CHANGED
    wait_for("headscale to reload the changed policy", lambda: reloads(server) > reloads_after_apply)

    # An invalid policy is neither written nor reloaded.
    sighups = server.sighup_count()
    bad = run(server, transport, {**args, "policy": {**CHANGED, "acls": [{"action": "allow", "src": ["*"],
                                                                          "dst": ["*:*"]}]}})
    assert bad.get("failed") is True, bad
    assert parse(server.policy_path.read_text()) == CHANGED
    assert server.sighup_count() == sighups


def test_policy_file_mode_without_reload_command_warns(headscale_factory):
    server = headscale_factory(policy_mode="file")
    result = run(server, "cli", {"policy": BASE, "policy_mode": "file", "path": str(server.policy_path),
                                 "validate": False})
    assert result["changed"] is True and result["reloaded"] is False
    assert "no reload_command is set" in json.dumps(result.get("warnings", []))
