"""headscale_apikey against real headscale servers, over both transports.

Scenarios follow check -> apply -> idempotent check -> idempotent apply -> change -> assert.
Rotation needs keys older than the threshold: the test back-dates them in headscale's SQLite
database (API keys are read from the database on every request).
"""

from __future__ import annotations

import datetime
import sqlite3

import pytest
from harness.modules import TRANSPORTS, assert_no_secret, module_runner

run = module_runner("headscale_apikey")


def listed(server):
    return {int(k["id"]): k for k in server.cli_list("apikeys", "list")}


def is_expired(key):
    return key["expiration"]["seconds"] <= datetime.datetime.now(datetime.UTC).timestamp()


def backdate_all(server, days):
    stamp = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)).strftime(
        "%Y-%m-%d %H:%M:%S.%f+00:00")
    with sqlite3.connect(server.config["database"]["sqlite"]["path"]) as db:
        db.execute("UPDATE api_keys SET created_at = ?", (stamp,))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_apikey_create_expire_delete(headscale, transport):
    if transport == "api":
        headscale.api_key  # noqa: B018 - created on first use: create it before taking stock
    known = set(listed(headscale))
    check = run(headscale, transport, {"expiration": "30d"}, check=True)
    assert check["changed"] is True and check["key"] is None, check
    assert set(listed(headscale)) == known

    created = run(headscale, transport, {"expiration": "30d"})
    assert created["changed"] is True and created["key"], created
    secret, key = created["key"], created["apikey"]
    assert key["id"] not in known and key["id"] in listed(headscale)
    assert secret.startswith(key["prefix"])

    selector = {"prefix": key["prefix"]}
    present = run(headscale, transport, selector)
    assert present["changed"] is False and present["key"] is None, present
    assert_no_secret(present, secret)

    expire = dict(selector, state="expired")
    check = run(headscale, transport, expire, check=True, diff=True)
    assert check["changed"] is True and check["diff"]["after"]["apikeys"][0]["expired"] is True, check
    assert not is_expired(listed(headscale)[key["id"]])
    applied = run(headscale, transport, expire)
    assert applied["changed"] is True, applied
    assert is_expired(listed(headscale)[key["id"]])
    assert_no_secret(applied, secret)
    assert run(headscale, transport, expire, check=True)["changed"] is False
    assert run(headscale, transport, expire)["changed"] is False

    by_id = {"id": key["id"], "state": "absent"}
    assert run(headscale, transport, by_id, check=True)["changed"] is True
    assert key["id"] in listed(headscale)
    assert run(headscale, transport, by_id)["changed"] is True
    assert key["id"] not in listed(headscale)
    assert run(headscale, transport, by_id, check=True)["changed"] is False
    assert run(headscale, transport, by_id)["changed"] is False


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_apikey_rotated_replaces_old_keys_once(fresh_headscale, transport):
    server = fresh_headscale
    old_secret = server.cli("apikeys", "create", "--expiration", "90d")
    if transport == "api":
        server.api_key  # noqa: B018 - the key the module authenticates with, also old after back-dating
    backdate_all(server, 40)
    old_ids = set(listed(server))
    args = {"state": "rotated", "rotate_older_than": "30d", "expiration": "90d"}

    check = run(server, transport, args, check=True, diff=True)
    assert check["changed"] is True and check["key"] is None, check
    assert not any(is_expired(k) for k in listed(server).values())

    rotated = run(server, transport, args, diff=True)
    assert rotated["changed"] is True and rotated["key"], rotated
    assert_no_secret(rotated, old_secret)
    keys = listed(server)
    new_ids = set(keys) - old_ids
    assert new_ids == {rotated["apikey"]["id"]}
    assert all(is_expired(keys[i]) for i in old_ids)
    assert {k["id"] for k in rotated["apikeys"]} == old_ids

    # The old key the run used (api transport) is gone: continue with the new one.
    follow = {"api_key": rotated["key"]} if transport == "api" else {}
    again_check = run(server, transport, dict(args, **follow), check=True)
    assert again_check["changed"] is False, again_check
    again = run(server, transport, dict(args, **follow))
    assert again["changed"] is False and again["key"] is None, again
    assert set(listed(server)) == set(keys)
