"""Bad input to headscale_user, headscale_preauthkey, headscale_apikey and headscale_info fails with a
clear message naming the field, before any write: the server state listed before and after is equal."""

from __future__ import annotations

import pytest
from harness.modules import TRANSPORTS, run_module

USER = "err-user"


def full_state(server):
    """Users, nodes, policy (the harness snapshot) plus every pre-auth key and API key."""
    state = server.snapshot()
    if server.at_least("0.28"):
        keys = server.cli_list("preauthkeys", "list")
    else:
        keys = [k for u in server.users() for k in server.cli_list("preauthkeys", "list", "--user", str(u["id"]))]
    state["preauthkeys"] = sorted((int(k["id"]), k.get("expiration", {}).get("seconds"), bool(k.get("used")))
                                  for k in keys)
    state["apikeys"] = sorted((int(k["id"]), k.get("expiration", {}).get("seconds"))
                              for k in server.cli_list("apikeys", "list"))
    return state


@pytest.fixture(scope="module")
def seeded(headscale):
    headscale.create_preauth_key(USER, reusable=True)
    headscale.ensure_user("err-other")
    headscale.api_key  # noqa: B018 - create it now so that it is part of every "before" state
    return headscale


CASES = [
    # (id, module, args, exact message or message prefix ending in "…")
    ("user-name-space", "headscale_user", {"name": "a b"},
     "name 'a b' is not a valid headscale user name: use at least 2 characters, start with a letter, then "
     "letters, digits, '-', '.', '_' and at most one '@'."),
    ("user-name-short", "headscale_user", {"name": "x"}, "name 'x' is not a valid headscale user name…"),
    ("user-rename-both-exist", "headscale_user", {"name": USER, "rename_from": "err-other"},
     "cannot rename user 'err-other' to 'err-user': both users exist."),
    ("key-tag-prefix", "headscale_preauthkey", {"user": USER, "tags": ["server"]},
     "tags item 'server' must start with 'tag:' (e.g. 'tag:server')."),
    ("key-tag-invalid", "headscale_preauthkey", {"user": USER, "tags": ["tag:Bad Tag"]},
     "tags item 'tag:Bad Tag' is not a valid tag…"),
    ("key-expiration", "headscale_preauthkey", {"user": USER, "expiration": "10x"},
     "expiration '10x' is not a duration; use a number followed by a unit: s, m, h, d, w or y "
     "(e.g. 30m, 24h, 90d, 1y)."),
    ("key-expiration-zero", "headscale_preauthkey", {"user": USER, "expiration": "0d"},
     "expiration '0d' must be longer than zero."),
    ("key-unknown-user", "headscale_preauthkey", {"user": "ghost"}, "user 'ghost' does not exist on headscale."),
    ("key-no-owner", "headscale_preauthkey", {"reusable": True}, "state=present needs user, tags, or both."),
    ("key-id-with-present", "headscale_preauthkey", {"user": USER, "id": 1},
     "id selects keys to expire or delete; it cannot be used with state=present."),
    ("key-expired-no-selector", "headscale_preauthkey", {"state": "expired"},
     "state is expired but any of the following are missing: id, user, tags"),
    ("key-expired-unknown-user", "headscale_preauthkey", {"user": "ghost", "state": "expired"},
     "user 'ghost' does not exist on headscale."),
    ("apikey-expiration", "headscale_apikey", {"expiration": "forever"}, "expiration 'forever' is not a duration…"),
    ("apikey-expire-no-selector", "headscale_apikey", {"state": "expired"},
     "state=expired needs prefix or id to select the API key."),
    ("apikey-missing-prefix", "headscale_apikey", {"state": "expired", "prefix": "nokey12"},
     "API key with prefix 'nokey12' does not exist on headscale."),
    ("apikey-missing-id", "headscale_apikey", {"state": "present", "id": 99999},
     "API key with ID 99999 does not exist on headscale."),
    ("apikey-rotated-threshold", "headscale_apikey", {"state": "rotated", "rotate_older_than": "soon"},
     "rotate_older_than 'soon' is not a duration…"),
    ("apikey-rotated-missing-threshold", "headscale_apikey", {"state": "rotated"},
     "state is rotated but all of the following are missing: rotate_older_than"),
    ("info-unknown-user", "headscale_info", {"user": "ghost"}, "user 'ghost' does not exist on headscale."),
    ("info-bad-gather", "headscale_info", {"gather": ["routes"]},
     "value of gather must be one or more of: version, users, nodes, preauthkeys, apikeys. Got no match for: "
     "routes"),
]


def assert_message(result, expected):
    assert result.get("failed") is True, result
    if expected.endswith("…"):
        assert result["msg"].startswith(expected[:-1]), result["msg"]
    else:
        assert result["msg"] == expected, result["msg"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("module", "args", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_bad_input_fails_before_any_write(seeded, transport, module, args, expected):
    before = full_state(seeded)
    result = run_module(module, args, server=seeded, transport=transport)
    assert_message(result, expected)
    assert full_state(seeded) == before
    # The same in check mode.
    assert_message(run_module(module, args, server=seeded, transport=transport, check=True), expected)
