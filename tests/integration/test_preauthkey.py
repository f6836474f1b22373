"""headscale_preauthkey against real headscale servers, over both transports.

Scenarios follow check -> apply -> idempotent check -> idempotent apply -> change -> assert.
"""

from __future__ import annotations

import pytest
from harness.modules import TRANSPORTS, assert_no_secret, module_runner

run = module_runner("headscale_preauthkey")


def server_keys(server, user=None):
    """Pre-auth keys as the CLI lists them (per user before 0.28)."""
    if server.at_least("0.28"):
        keys = server.cli_list("preauthkeys", "list")
        if user is not None:
            keys = [k for k in keys if (k.get("user") or {}).get("name") == user]
        return keys
    assert user is not None, "headscale < 0.28 lists pre-auth keys per user"
    return server.cli_list("preauthkeys", "list", "--user", str(server.ensure_user(user)["id"]))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_preauthkey_present_creates_once_and_matches_afterwards(headscale, transport):
    user = f"keys-{transport}"
    headscale.ensure_user(user)
    args = {"user": user, "reusable": True, "tags": ["tag:server"], "expiration": "24h"}

    check = run(headscale, transport, args, check=True, diff=True)
    assert check["changed"] is True and check["key"] is None, check
    assert check["diff"]["before"] == {} and check["diff"]["after"]["acl_tags"] == ["tag:server"]
    assert server_keys(headscale, user) == []

    created = run(headscale, transport, args, diff=True)
    assert created["changed"] is True and created["key_available"] is True, created
    secret = created["key"]
    assert secret and created["preauthkey"]["key"] != secret
    listed = server_keys(headscale, user)
    assert len(listed) == 1 and listed[0]["reusable"] is True and listed[0]["acl_tags"] == ["tag:server"]
    assert created["preauthkey"]["id"] == int(listed[0]["id"])

    again_check = run(headscale, transport, args, check=True)
    assert again_check["changed"] is False, again_check
    again = run(headscale, transport, args, diff=True)
    assert again["changed"] is False, again
    assert again["preauthkey"]["id"] == created["preauthkey"]["id"]
    assert again["diff"]["before"] == again["diff"]["after"]
    if headscale.at_least("0.28"):
        # 0.28 hashes keys: the secret cannot be returned again.
        assert again["key"] is None and again["key_available"] is False
        assert_no_secret(again, secret)
    else:
        assert again["key"] == secret and again["key_available"] is True
    assert len(server_keys(headscale, user)) == 1

    changed = run(headscale, transport, dict(args, tags=["tag:server", "tag:web"]))
    assert changed["changed"] is True and changed["key_available"] is True, changed
    assert changed["preauthkey"]["acl_tags"] == ["tag:server", "tag:web"]
    assert len(server_keys(headscale, user)) == 2


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_preauthkey_force_create_always_creates(headscale, transport):
    user = f"force-{transport}"
    headscale.ensure_user(user)
    args = {"user": user, "force_create": True}
    first = run(headscale, transport, args)
    second = run(headscale, transport, args)
    assert first["changed"] and second["changed"]
    assert first["key"] != second["key"]
    assert len(server_keys(headscale, user)) == 2


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_preauthkey_single_use_key_is_not_matched_once_used(headscale, transport, tailscale_node):
    user = f"single-{transport}"
    headscale.ensure_user(user)
    created = run(headscale, transport, {"user": user, "expiration": "1h"})
    node = tailscale_node(headscale, f"single-{transport}", user=None, enrol=False)
    node.up(created["key"])
    used = run(headscale, transport, {"user": user, "expiration": "1h"})
    assert used["changed"] is True, used
    assert used["preauthkey"]["id"] != created["preauthkey"]["id"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_preauthkey_expired(headscale, transport):
    user = f"exp-{transport}"
    headscale.ensure_user(user)
    kept_user = f"keep-{transport}"
    headscale.create_preauth_key(kept_user)
    for _attempt in range(2):
        headscale.create_preauth_key(user, reusable=True)
    args = {"user": user, "state": "expired"}

    check = run(headscale, transport, args, check=True, diff=True)
    assert check["changed"] is True and len(check["preauthkeys"]) == 2, check
    assert all(item["expired"] for item in check["diff"]["after"]["preauthkeys"])
    before = server_keys(headscale, user)

    applied = run(headscale, transport, args)
    assert applied["changed"] is True, applied
    after = server_keys(headscale, user)
    assert len(after) == 2
    assert all(a["expiration"] != b["expiration"] for a, b in zip(before, after, strict=True))
    for key in before:
        if not key["key"].endswith("***"):  # <= 0.27 lists plain-text secrets: none may leak
            assert_no_secret(applied, key["key"])

    assert run(headscale, transport, args, check=True)["changed"] is False
    assert run(headscale, transport, args)["changed"] is False
    # The other user's key was not touched: still usable.
    reuse = run(headscale, transport, {"user": kept_user})
    assert reuse["changed"] is False, reuse


@pytest.mark.headscale_version(">=0.28")
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_preauthkey_tag_only_and_absent(headscale, transport):
    tag = f"tag:only-{transport}"
    args = {"tags": [tag], "expiration": "2h"}
    created = run(headscale, transport, args)
    assert created["changed"] is True and created["preauthkey"]["user"] is None, created
    assert run(headscale, transport, args)["changed"] is False

    absent = {"tags": [tag], "state": "absent"}
    check = run(headscale, transport, absent, check=True)
    assert check["changed"] is True and len(check["preauthkeys"]) == 1
    assert [k for k in server_keys(headscale) if tag in (k.get("acl_tags") or [])]
    applied = run(headscale, transport, absent)
    assert applied["changed"] is True
    assert not [k for k in server_keys(headscale) if tag in (k.get("acl_tags") or [])]
    assert run(headscale, transport, absent)["changed"] is False


@pytest.mark.headscale_version("<0.28")
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_preauthkey_tag_only_and_absent_need_0_28(headscale, transport):
    user = f"old-{transport}"
    headscale.ensure_user(user)
    headscale.create_preauth_key(user)
    before = server_keys(headscale, user)
    tag_only = run(headscale, transport, {"tags": ["tag:x"]})
    assert tag_only["failed"] and "needs headscale 0.28 or later" in tag_only["msg"], tag_only
    absent = run(headscale, transport, {"user": user, "state": "absent"})
    assert absent["failed"] and "needs headscale 0.28 or later" in absent["msg"], absent
    assert server_keys(headscale, user) == before
