"""headscale_user against real headscale servers, over both transports.

Each scenario follows check -> apply -> idempotent check -> idempotent apply -> change -> assert.

The state=absent tests at the end start their own 0.28.0 and 0.29.3 servers whatever the matrix:
headscale 0.28.x deletes every pre-auth key of the server with any user (DestroyUser calls
ListPreAuthKeys(tx) since 1325fd8b, #2992; fixed in 0.29.0 by #3155), so the module refuses there.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from harness import processes
from harness.headscale import HeadscaleServer
from harness.modules import TRANSPORTS, assert_no_secret, module_runner

run = module_runner("headscale_user")


def users_by_name(server):
    return {u["name"]: u for u in server.users()}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_user_create_is_idempotent_and_sets_profile(headscale, transport):
    name = f"alice-{transport}"
    args = {"name": name, "display_name": "Alice Example", "email": f"{name}@example.com",
            "picture_url": "https://example.com/a.png"}

    check = run(headscale, transport, args, check=True, diff=True)
    assert check["changed"] is True and not check.get("failed"), check
    assert check["diff"]["before"] == {}
    assert check["diff"]["after"]["name"] == name
    assert name not in users_by_name(headscale)

    applied = run(headscale, transport, args, diff=True)
    assert applied["changed"] is True, applied
    assert applied["user"]["name"] == name
    assert applied["user"]["display_name"] == "Alice Example"
    assert applied["user"]["email"] == f"{name}@example.com"
    assert applied["user"]["profile_pic_url"] == "https://example.com/a.png"
    assert isinstance(applied["user"]["id"], int)
    assert applied["user"]["created_at"].endswith("Z")
    server_user = users_by_name(headscale)[name]
    assert server_user["display_name"] == "Alice Example"
    assert_no_secret(applied, headscale.api_key)

    again_check = run(headscale, transport, args, check=True)
    assert again_check["changed"] is False, again_check
    again = run(headscale, transport, args, diff=True)
    assert again["changed"] is False, again
    assert again["diff"]["before"] == again["diff"]["after"]
    assert again["user"]["id"] == applied["user"]["id"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_user_profile_change_warns_that_headscale_cannot_update_it(headscale, transport):
    name = f"prof-{transport}"
    run(headscale, transport, {"name": name, "display_name": "First"})
    result = run(headscale, transport, {"name": name, "display_name": "Second"})
    assert result["changed"] is False, result
    # ansible-core 2.19 returns warnings as structured objects: search their text.
    assert "cannot change it after the user was created" in json.dumps(result.get("warnings", [])), result
    assert users_by_name(headscale)[name]["display_name"] == "First"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_user_rename_from(headscale, transport):
    old, new = f"old-{transport}", f"new-{transport}"
    headscale.ensure_user(old)
    old_id = users_by_name(headscale)[old]["id"]
    args = {"name": new, "rename_from": old}

    check = run(headscale, transport, args, check=True, diff=True)
    assert check["changed"] is True, check
    assert check["diff"]["before"]["name"] == old and check["diff"]["after"]["name"] == new
    assert old in users_by_name(headscale)

    applied = run(headscale, transport, args)
    assert applied["changed"] is True, applied
    assert applied["user"]["id"] == old_id and applied["user"]["name"] == new
    names = users_by_name(headscale)
    assert new in names and old not in names

    assert run(headscale, transport, args, check=True)["changed"] is False
    assert run(headscale, transport, args)["changed"] is False


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_user_absent(headscale, transport):
    name = f"gone-{transport}"
    headscale.ensure_user(name)
    args = {"name": name, "state": "absent"}

    check = run(headscale, transport, args, check=True, diff=True)
    assert check["changed"] is True and check["diff"]["after"] == {}, check
    assert name in users_by_name(headscale)

    applied = run(headscale, transport, args)
    assert applied["changed"] is True and applied["user"] is None, applied
    assert name not in users_by_name(headscale)

    assert run(headscale, transport, args, check=True)["changed"] is False
    assert run(headscale, transport, args)["changed"] is False


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_user_absent_refuses_while_user_owns_nodes_then_deletes_them(headscale, transport, tailscale_node):
    name = f"owner-{transport}"
    node = tailscale_node(headscale, f"owned-{transport}", user=name)
    before = headscale.snapshot()

    refused = run(headscale, transport, {"name": name, "state": "absent"})
    assert refused.get("failed"), refused
    assert f"user '{name}' still owns 1 node(s)" in refused["msg"]
    assert "delete_nodes: true" in refused["msg"]
    assert headscale.snapshot() == before

    args = {"name": name, "state": "absent", "delete_nodes": True}
    check = run(headscale, transport, args, check=True)
    assert check["changed"] is True and check["deleted_nodes"] == [node.node_id], check
    assert headscale.snapshot() == before

    applied = run(headscale, transport, args)
    assert applied["changed"] is True and applied["deleted_nodes"] == [node.node_id], applied
    assert name not in users_by_name(headscale)
    assert node.node_id not in [int(n["id"]) for n in headscale.nodes()]
    assert run(headscale, transport, args)["changed"] is False


# -- state: absent and headscale 0.28.x's loss of every pre-auth key (juanfont/headscale#3155) ------------------

TAG_POLICY = """{
  "tagOwners": {"tag:srv": ["keep@"]},
  "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]
}
"""


@pytest.fixture
def server_of():
    """``server_of("0.28.0")``: a server of that version, whatever the matrix; stopped after the test."""
    started: list[HeadscaleServer] = []

    def start(version: str) -> HeadscaleServer:
        server = HeadscaleServer(version)
        started.append(server)
        return server.start()

    try:
        yield start
    finally:
        errors = processes.stop_all(started)
        if errors:
            pytest.fail("\n\n".join(errors), pytrace=False)


def with_keys(server: HeadscaleServer) -> dict[str, list[int]]:
    """User gone (one key) and keep (two keys), a tag-only key; the key IDs by owner."""
    server.set_policy(TAG_POLICY)
    for owner in ("gone", "keep", "keep"):
        server.create_preauth_key(owner, reusable=True)
    server.create_preauth_key(None, tags=["tag:srv"])
    ids: dict[str, list[int]] = {}
    for key in server.cli_list("preauthkeys", "list"):  # 0.28+: every key in one call
        owner = (key.get("user") or {}).get("name") or "tag-only"
        ids.setdefault(owner, []).append(int(key["id"]))
    assert {owner: len(keys) for owner, keys in ids.items()} == {"gone": 1, "keep": 2, "tag-only": 1}, ids
    return ids


def server_state(server: HeadscaleServer) -> dict[str, Any]:
    """Users, nodes, policy and every pre-auth key as listed (sorted by ID)."""
    return dict(server.snapshot(),
                keys=sorted(server.cli_list("preauthkeys", "list"), key=lambda key: int(key["id"])))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_user_absent_on_0_28_refuses_to_lose_other_users_preauth_keys(server_of, transport):
    server = server_of("0.28.0")
    ids = with_keys(server)
    before = server_state(server)
    args = {"name": "gone", "state": "absent"}

    for check in (True, False):
        refused = run(server, transport, args, check=check)
        assert refused.get("failed") and not refused.get("changed"), refused
        assert refused["msg"] == (
            "deleting user 'gone' while 3 pre-auth key(s) of other users exist (keep: 2, tag-only: 1) needs "
            "headscale 0.29 or later (this is 0.28.0); headscale 0.28.x deletes every pre-auth key of the server "
            "with any user (juanfont/headscale#3155, fixed in 0.29.0), so they would be lost: upgrade to 0.29, or "
            "set allow_preauthkey_loss: true to delete the user and lose them."), refused
        assert server_state(server) == before

    allowed = run(server, transport, dict(args, allow_preauthkey_loss=True))
    assert allowed["changed"] is True and allowed["user"] is None, allowed
    assert sorted(allowed["lost_preauthkeys"]) == sorted(ids["keep"] + ids["tag-only"]), allowed
    assert "also deletes 3 pre-auth key(s) of other users" in json.dumps(allowed.get("warnings", [])), allowed
    after = server_state(server)
    assert "gone" not in users_by_name(server) and "keep" in users_by_name(server)
    assert after["keys"] == []  # the real 0.28.0 behaviour: keep's and the tag-only key went with gone

    # no other user's key left: deleting proceeds as on every other version
    server.create_preauth_key("solo", reusable=True)
    alone = run(server, transport, {"name": "solo", "state": "absent"})
    assert alone["changed"] is True and alone["lost_preauthkeys"] == [] and not alone.get("warnings"), alone
    assert "solo" not in users_by_name(server)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_user_absent_on_0_29_keeps_other_users_preauth_keys(server_of, transport):
    server = server_of("0.29.3")
    ids = with_keys(server)
    before = server_state(server)

    deleted = run(server, transport, {"name": "gone", "state": "absent"})
    assert deleted["changed"] is True and deleted["lost_preauthkeys"] == [] and not deleted.get("warnings"), deleted
    assert "gone" not in users_by_name(server)
    kept = [key for key in before["keys"] if int(key["id"]) not in ids["gone"]]
    assert server_state(server)["keys"] == kept and len(kept) == 3
