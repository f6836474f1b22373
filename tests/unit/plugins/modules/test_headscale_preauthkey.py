"""Decision logic of the modules (matching, selecting, diff views), fed with normalised recordings."""

from __future__ import annotations

import datetime

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils import normalize
from ansible_collections.selfhosted.headscale.plugins.modules import headscale_apikey as apikey_module
from ansible_collections.selfhosted.headscale.plugins.modules import headscale_preauthkey as key_module
from ansible_collections.selfhosted.headscale.plugins.modules import headscale_user as user_module
from recordings import VERSIONS, cli_json


@pytest.fixture(params=VERSIONS)
def version(request):
    return request.param


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


def test_apikey_prefix_forms_select_the_listed_key(version):
    listed = [normalize.apikey(k) for k in cli_json(version, "apikeys-list")]
    secret = cli_json(version, "apikeys-create")
    prefix = normalize.apikey_prefix(secret)
    forms = {prefix, secret}
    if prefix.startswith("hskey-api-"):
        forms |= {prefix + "-***", prefix[len("hskey-api-"):]}  # display form, bare 12 characters
    else:
        forms.add(prefix + "***")  # how 0.28+ displays legacy keys
    for form in forms:
        wanted = apikey_module.wanted_prefix(form)
        assert any(k["prefix"] in (wanted, normalize.apikey_prefix(form)) for k in listed), form


def test_apikey_expired_one_is_expired(version):
    listed = [normalize.apikey(k) for k in cli_json(version, "apikeys-list")]
    moment = max(k["created_at"] for k in listed) + datetime.timedelta(minutes=1)
    assert sorted(apikey_module.is_expired(k, moment) for k in listed) == [False] * (len(listed) - 1) + [True]


def test_user_view_and_prediction(version):
    alice = next(normalize.user(u) for u in cli_json(version, "users-list") if u["name"] == "alice")
    assert user_module.view(alice) == {"name": "alice", "display_name": "Alice Example",
                                       "email": "alice@example.com", "picture_url": "https://example.com/alice.png"}
    renamed = user_module.predicted({"name": "alicia", "display_name": None, "email": None, "picture_url": None},
                                    base=alice)
    assert renamed["id"] == alice["id"] and renamed["name"] == "alicia" and renamed["email"] == alice["email"]
    assert user_module.view(None) is None
