"""headscale_preauthkey against real headscale servers, over both transports.

Scenarios follow check -> apply -> idempotent check -> idempotent apply -> change -> assert.
"""

from __future__ import annotations

import json
import re

import pytest
from harness.modules import TRANSPORTS, module_runner

run = module_runner("headscale_preauthkey")
HASHED = "hskey-auth-"
# A leak check looks for the whole key and for every run of this many characters of its secret,
# so a half-masked key ("hskey-auth-<prefix>-<first 20>***", "<24 hex>***") counts as a leak too.
SLICE = 16


def split_key(key):
    """(public prefix, secret) of a full pre-auth key as `create` returns it, checking its shape.

    0.28+: ``hskey-auth-<12-character prefix>-<64-character secret>``; lists show only
    ``hskey-auth-<prefix>-***`` (the prefix and the secret may themselves contain "-", so the split
    is by length). Before 0.28: 48 hex characters, all of them secret (lists show them in full).
    """
    if key.startswith(HASHED):
        rest = key[len(HASHED):]
        prefix, dash, secret = rest[:12], rest[12:13], rest[13:]
        assert dash == "-" and len(secret) == 64, f"not hskey-auth-<12>-<64>: {prefix}-... ({len(rest)} chars)"
        return prefix, secret
    assert re.fullmatch(r"[0-9a-f]{48}", key), f"not a 48-hex-digit legacy key ({len(key)} chars)"
    return None, key


def masked(key):
    """How a list shows ``key``, and how the module must show it everywhere but its one ``key``."""
    prefix, _secret = split_key(key)
    return f"{HASHED}{prefix}-***" if prefix else "***"


def secret_pieces(key):
    """The strings of ``key`` that no output but its creation may hold: the key, its secret and
    every SLICE-character run of the secret (never the public prefix)."""
    _prefix, secret = split_key(key)
    return {key, secret} | {secret[i:i + SLICE] for i in range(len(secret) - SLICE + 1)}


def _strings(value, path="result"):
    """(path, text) of every string in a result, keys included."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield f"a key of {path}", str(name)
            yield from _strings(item, f"{path}[{name!r}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")
    else:
        yield path, json.dumps(value, default=str)


def assert_not_printed(result, *keys):
    """Fail if any part of a secret of ``keys`` (full keys from `create`) is anywhere in ``result``.

    The failure names where, never the secret itself.
    """
    assert keys and all(keys), "nothing to compare: the full keys are needed"
    for number, key in enumerate(keys):
        pieces = secret_pieces(key)
        where = [path for path, text in _strings(result) if any(piece in text for piece in pieces)]
        if where:
            pytest.fail(f"secret of key #{number} ({masked(key)}) printed in {', '.join(where)}", pytrace=False)


def without_key(result):
    """A `present` result without its ``key``, the one field allowed to hold the new secret."""
    return {name: value for name, value in result.items() if name != "key"}


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
    assert created["changed"] is True and created["key_available"] is True, without_key(created)
    secret = created["key"]
    assert all(piece in secret for piece in secret_pieces(secret))
    # The secret is in "key" only: the masked key and the diff show at most the public prefix.
    assert created["preauthkey"]["key"] == masked(secret), without_key(created)
    assert_not_printed(without_key(created), secret)
    listed = server_keys(headscale, user)
    assert len(listed) == 1 and listed[0]["reusable"] is True and listed[0]["acl_tags"] == ["tag:server"]
    assert created["preauthkey"]["id"] == int(listed[0]["id"])
    if headscale.at_least("0.28"):
        assert listed[0]["key"] == masked(secret)  # the key the server lists is the one we were given
    else:
        assert listed[0]["key"] == secret

    again_check = run(headscale, transport, args, check=True)
    assert again_check["changed"] is False, without_key(again_check)
    again = run(headscale, transport, args, diff=True)
    assert again["changed"] is False, without_key(again)
    assert again["preauthkey"]["id"] == created["preauthkey"]["id"]
    assert again["preauthkey"]["key"] == masked(secret)
    assert again["diff"]["before"] == again["diff"]["after"]
    if headscale.at_least("0.28"):
        # 0.28 hashes keys: the secret cannot be returned again.
        assert again["key"] is None and again["key_available"] is False
        assert again_check["key"] is None
    else:
        # <= 0.27 stores keys in plain text: the matched key is returned, in "key" only.
        assert again["key"] == secret and again["key_available"] is True
    assert_not_printed(without_key(again_check), secret)
    assert_not_printed(without_key(again), secret)
    assert len(server_keys(headscale, user)) == 1

    changed = run(headscale, transport, dict(args, tags=["tag:server", "tag:web"]))
    assert changed["changed"] is True and changed["key_available"] is True, without_key(changed)
    assert changed["preauthkey"]["acl_tags"] == ["tag:server", "tag:web"]
    assert changed["preauthkey"]["key"] == masked(changed["key"])
    assert_not_printed(changed, secret)  # a new key: the old one appears nowhere, "key" included
    assert_not_printed(without_key(changed), changed["key"])
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
    assert_not_printed(second, first["key"])
    assert_not_printed(without_key(second), second["key"])
    assert len(server_keys(headscale, user)) == 2


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_preauthkey_single_use_key_is_not_matched_once_used(headscale, transport, tailscale_node):
    user = f"single-{transport}"
    headscale.ensure_user(user)
    created = run(headscale, transport, {"user": user, "expiration": "1h"})
    node = tailscale_node(headscale, f"single-{transport}", user=None, enrol=False)
    node.up(created["key"])
    used = run(headscale, transport, {"user": user, "expiration": "1h"})
    assert used["changed"] is True, without_key(used)
    assert used["preauthkey"]["id"] != created["preauthkey"]["id"]
    assert_not_printed(used, created["key"])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_preauthkey_expired(headscale, transport):
    user = f"exp-{transport}"
    headscale.ensure_user(user)
    kept_user = f"keep-{transport}"
    kept = headscale.create_preauth_key(kept_user)
    # The full keys, as `create` returns them once (from 0.28 the server keeps only a hash and
    # lists hskey-auth-<prefix>-***): what the expire runs below must not print.
    keys = [run(headscale, transport, {"user": user, "reusable": True, "force_create": True})["key"]
            for _attempt in range(2)]
    args = {"user": user, "state": "expired"}

    check = run(headscale, transport, args, check=True, diff=True)
    assert check["changed"] is True and len(check["preauthkeys"]) == 2, check
    assert all(item["expired"] for item in check["diff"]["after"]["preauthkeys"])
    # The runs are about these two keys (0.28+: same prefixes), and show them masked.
    assert sorted(item["key"] for item in check["preauthkeys"]) == sorted(masked(key) for key in keys)
    before = server_keys(headscale, user)

    applied = run(headscale, transport, args, diff=True)
    assert applied["changed"] is True, applied
    after = server_keys(headscale, user)
    assert len(after) == 2
    assert all(a["expiration"] != b["expiration"] for a, b in zip(before, after, strict=True))

    check_again = run(headscale, transport, args, check=True, diff=True)
    assert check_again["changed"] is False, check_again
    again = run(headscale, transport, args, diff=True)
    assert again["changed"] is False, again
    for result in (check, applied, check_again, again):
        assert_not_printed(result, *keys, kept)
    # The other user's key was not touched: still usable.
    reuse = run(headscale, transport, {"user": kept_user})
    assert reuse["changed"] is False, without_key(reuse)


@pytest.mark.headscale_version(">=0.28")
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_preauthkey_tag_only_and_absent(headscale, transport):
    tag = f"tag:only-{transport}"
    args = {"tags": [tag], "expiration": "2h"}
    created = run(headscale, transport, args)
    assert created["changed"] is True and created["preauthkey"]["user"] is None, without_key(created)
    assert_not_printed(without_key(created), created["key"])
    matched = run(headscale, transport, args)
    assert matched["changed"] is False and matched["key"] is None, matched

    absent = {"tags": [tag], "state": "absent"}
    check = run(headscale, transport, absent, check=True)
    assert check["changed"] is True and len(check["preauthkeys"]) == 1
    assert check["preauthkeys"][0]["key"] == masked(created["key"])
    assert [k for k in server_keys(headscale) if tag in (k.get("acl_tags") or [])]
    applied = run(headscale, transport, absent)
    assert applied["changed"] is True
    assert not [k for k in server_keys(headscale) if tag in (k.get("acl_tags") or [])]
    gone = run(headscale, transport, absent)
    assert gone["changed"] is False
    for result in (matched, check, applied, gone):
        assert_not_printed(result, created["key"])


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
