"""headscale_user against real headscale servers, over both transports.

Each scenario follows check -> apply -> idempotent check -> idempotent apply -> change -> assert.
"""

from __future__ import annotations

import json

import pytest
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
