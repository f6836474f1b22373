"""The API transport replaying recorded answers of the real server: JSON decoding, error classification,
version detection. The replay opener returns exactly what headscale answered."""

from __future__ import annotations

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError

from tests.unit.recordings import api_replaying, version_tuple


def test_api_lists(version):
    assert [u["name"] for u in api_replaying(version, "users-list").list_users()] == ["alice", "bob"]
    assert len(api_replaying(version, "nodes-list").list_nodes()) == 2


def test_api_rejected_key(version):
    with pytest.raises(HeadscaleError) as info:
        api_replaying(version, "error-bad-api-key", key="not-a-key").list_users()
    assert info.value.msg.startswith("the API key was rejected by headscale at http://127.0.0.1:8080 (HTTP ")
    assert "not-a-key" not in str(info.value.fail_kwargs())
    # 0.26 answers a wrong key with 500 "Unauthorized", later versions with 401.
    assert info.value.status == (500 if version_tuple(version) < (0, 27) else 401)


def test_api_duplicate_user(version):
    with pytest.raises(HeadscaleError) as info:
        api_replaying(version, "error-user-duplicate").create_user("alice")
    assert info.value.msg.startswith("headscale could not create user 'alice': ")
    assert "UNIQUE constraint failed: users.name" in info.value.msg
    assert info.value.fail_kwargs()["cmd"] == "POST http://127.0.0.1:8080/api/v1/user"


def test_api_policy_not_found_is_none(version):
    assert api_replaying(version, "error-policy-not-found").get_policy() is None
