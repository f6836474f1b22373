"""headscale_preauthkey: input checks and version gates, and its decision logic (matching, selecting,
diff view), fed with normalised recordings."""

from __future__ import annotations

import datetime

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils import normalize
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import ValidationError
from ansible_collections.selfhosted.headscale.plugins.modules import headscale_preauthkey as key_module

from tests.unit.recordings import cli_json


def keys(version):
    return [normalize.preauthkey(k) for k in cli_json(version, "preauthkeys-list")]


def params(**overrides):
    base = {"id": None, "user": None, "tags": None, "reusable": None, "ephemeral": None}
    base.update(overrides)
    return base


def moment_of(version):
    """A moment shortly after the recording, so that unexpired keys still count as unexpired."""
    return max(k["created_at"] for k in keys(version)) + datetime.timedelta(minutes=1)


def test_present_matches_the_reusable_tagged_key(version):
    moment = moment_of(version)
    match = key_module.usable_match(keys(version), params(reusable=True), 1, ["tag:a", "tag:b"], moment)
    assert match is not None and match["reusable"] and match["acl_tags"] == ["tag:a", "tag:b"]


def test_present_ignores_used_single_use_and_expired_keys(version):
    moment = moment_of(version)
    # alice's untagged single-use keys: one was used by the node, the other expired.
    assert key_module.usable_match(keys(version), params(reusable=False), 1, [], moment) is None


def test_present_does_not_match_other_tags_or_flags(version):
    moment = moment_of(version)
    listed = keys(version)
    assert key_module.usable_match(listed, params(reusable=True), 1, ["tag:a"], moment) is None
    assert key_module.usable_match(listed, params(reusable=True, ephemeral=True), 1, ["tag:a", "tag:b"],
                                   moment) is None
    assert key_module.usable_match(listed, params(reusable=True), 2, ["tag:a", "tag:b"], moment) is None


def test_present_matches_no_key_after_its_expiry(version):
    listed = keys(version)
    later = max(k["expiration"] for k in listed) + datetime.timedelta(seconds=1)
    assert key_module.usable_match(listed, params(reusable=True), 1, ["tag:a", "tag:b"], later) is None


def test_selection_for_expire(version):
    listed = keys(version)
    alice = [k for k in listed if k["user_id"] == 1]
    assert key_module.selected(listed, params(user="alice"), 1, None) == alice
    assert [k["id"] for k in key_module.selected(listed, params(user="alice", reusable=True), 1, None)] == [
        k["id"] for k in alice if k["reusable"]]
    first = listed[0]
    assert key_module.selected(listed, params(id=first["id"]), None, None) == [first]
    assert key_module.selected(listed, params(user="alice", tags=["tag:zzz"]), 1, ["tag:zzz"]) == []


def test_key_view_has_no_secret(version):
    raw = cli_json(version, "preauthkeys-create")
    view = key_module.view(normalize.preauthkey(raw, reveal=True), moment_of(version))
    assert raw["key"] not in str(view)
    assert view["expired"] is False


def module_params(**given):
    base = {"user": None, "tags": None, "reusable": None, "ephemeral": None, "expiration": "1h",
            "state": "present", "id": None, "force_create": False}
    base.update(given)
    return base


def test_check_validates_before_anything_is_read():
    assert key_module.check(module_params(user="alice", tags=["tag:b", "tag:a"]), None) == {"tags": ["tag:a", "tag:b"]}
    with pytest.raises(ValueError, match="must start with 'tag:'"):
        key_module.check(module_params(user="alice", tags=["web"]), None)
    with pytest.raises(ValidationError, match=r"^state=present needs user, tags, or both\.$"):
        key_module.check(module_params(tags=[]), None)


def test_gates_before_0_28(client_of, refusal):
    tag_only, delete = module_params(tags=["tag:a"]), module_params(user="alice", state="absent")
    assert refusal(key_module, client_of("0.27.1"), dict(tag_only)) == (
        "a pre-auth key without user needs headscale 0.28 or later (this is 0.27.1).")
    assert refusal(key_module, client_of("0.26.1"), dict(delete)) == (
        "state=absent (deleting pre-auth keys) needs headscale 0.28 or later (this is 0.26.1); use state=expired.")
    assert refusal(key_module, client_of("0.28.0"), dict(tag_only)) is None
    assert refusal(key_module, client_of("0.28.0"), dict(delete)) is None
