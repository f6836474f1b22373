"""Normalisation of recorded CLI and REST outputs: both transports give the same Python objects."""

from __future__ import annotations

import datetime

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils import normalize

from tests.unit.recordings import VERSIONS, api_json, cli_json, load, version_tuple

UTC = datetime.UTC


def test_empty_cli_list_is_null_and_normalises_to_empty(version):
    assert cli_json(version, "users-list-empty") is None
    assert normalize.as_list(cli_json(version, "users-list-empty")) == []


def test_users_cli_and_api_agree(version):
    cli = [normalize.user(u) for u in cli_json(version, "users-list")]
    api = [normalize.user(u) for u in api_json(version, "users-list")["users"]]
    assert cli == api
    alice = next(u for u in cli if u["name"] == "alice")
    assert alice["id"] == 1 and isinstance(alice["id"], int)
    assert alice["display_name"] == "Alice Example"
    assert alice["email"] == "alice@example.com"
    assert alice["profile_pic_url"] == "https://example.com/alice.png"
    assert alice["provider"] is None and alice["provider_id"] is None
    assert alice["created_at"].tzinfo == UTC
    bob = next(u for u in cli if u["name"] == "bob")
    assert bob["display_name"] is None and bob["email"] is None  # omitted (CLI) / "" (API)


def test_user_timestamp_keeps_microseconds(version):
    raw = cli_json(version, "users-list")[0]
    created = normalize.user(raw)["created_at"]
    expected = datetime.datetime.fromtimestamp(raw["created_at"]["seconds"], UTC).replace(
        microsecond=raw["created_at"].get("nanos", 0) // 1000)
    assert created == expected


def test_preauthkeys_cli_and_api_agree_and_are_masked(version):
    cli_raw = cli_json(version, "preauthkeys-list")
    cli = [normalize.preauthkey(k) for k in cli_raw]
    api = [normalize.preauthkey(k) for k in api_json(version, "preauthkeys-list")["preAuthKeys"]]
    assert cli == api
    secrets = [normalize.preauthkey_secret(k) for k in cli_raw]
    if version_tuple(version) >= (0, 28):
        assert all(k["key"].startswith("hskey-auth-") and k["key"].endswith("-***") for k in cli)
        assert secrets == [None] * len(cli)
    else:
        assert all(k["key"] == "***" for k in cli)
        assert all(len(s) == 48 for s in secrets)  # plain-text keys are listed: the client keeps them private
    reusable = next(k for k in cli if k["reusable"])
    assert reusable["acl_tags"] == ["tag:a", "tag:b"] and reusable["user"] == "alice" and reusable["user_id"] == 1
    used = [k for k in cli if k["used"]]
    assert len(used) == 1 and used[0]["reusable"] is False and used[0]["ephemeral"] is False


def test_created_preauthkey_reveals_secret_only_when_asked(version):
    raw = cli_json(version, "preauthkeys-create")
    revealed = normalize.preauthkey(raw, reveal=True)
    assert revealed["key"] == raw["key"]
    masked = normalize.preauthkey(raw)
    assert raw["key"] not in str(masked)
    assert normalize.preauthkey(cli_json(version, "preauthkeys-create-ephemeral"))["ephemeral"] is True


@pytest.mark.parametrize("version", [v for v in VERSIONS if version_tuple(v) >= (0, 28)])
def test_tag_only_key_has_no_user(version):
    key = normalize.preauthkey(cli_json(version, "preauthkeys-create-tag-only"))
    assert key["user"] is None and key["user_id"] is None and key["acl_tags"] == ["tag:srv"]


def test_expired_key_expiration_is_not_in_the_future(version):
    expired = cli_json(version, "preauthkeys-create-to-expire")["id"]
    listed = {k["id"]: k for k in (normalize.preauthkey(k) for k in cli_json(version, "preauthkeys-list"))}
    created = listed[expired]["created_at"]
    assert listed[expired]["expiration"] < created + datetime.timedelta(minutes=10)


def test_apikeys_cli_and_api_agree_and_prefix_matches_the_created_key(version):
    cli = [normalize.apikey(k) for k in cli_json(version, "apikeys-list")]
    api = [normalize.apikey(k) for k in api_json(version, "apikeys-list")["apiKeys"]]
    assert cli == api
    secret = cli_json(version, "apikeys-create")
    assert isinstance(secret, str)
    prefix = normalize.apikey_prefix(secret)
    assert prefix in [k["prefix"] for k in cli]
    assert all(secret not in str(k) for k in cli)
    if version_tuple(version) >= (0, 28):
        assert prefix.startswith("hskey-api-") and len(prefix) == len("hskey-api-") + 12
    else:
        assert len(prefix) == 7


def test_nodes_cli_and_api_agree(version):
    cli = [normalize.node(n) for n in cli_json(version, "nodes-list")]
    api = [normalize.node(n) for n in api_json(version, "nodes-list")["nodes"]]
    assert cli == api


def test_node_fields(version):
    nodes = {n["name"]: n for n in (normalize.node(n) for n in cli_json(version, "nodes-list"))}
    router = nodes["router-1"]
    assert router["online"] is True and router["user"] == "alice" and router["user_id"] == 1
    assert router["ip_addresses"] == ["100.64.0.1", "fd7a:115c:a1e0::1"]
    assert router["available_routes"] == ["0.0.0.0/0", "10.20.0.0/24", "::/0"]
    assert router["approved_routes"] == ["0.0.0.0/0", "10.20.0.0/24", "::/0"]
    assert router["register_method"] == "auth_key"
    assert router["expiry"] is None  # zero time / null -> never
    assert "pre_auth_key" not in router and "machine_key" not in router
    fake = nodes["fake-1"]
    assert fake["given_name"] == "fake-renamed"
    assert fake["online"] is False  # omitted when false
    assert fake["tags"] == ["tag:srv"] and fake["forced_tags"] == ["tag:srv"]
    assert fake["register_method"] == "cli"
    if version_tuple(version) >= (0, 28):
        assert fake["user"] is None and fake["user_id"] is None  # tagged node: tags as identity
    else:
        assert fake["user"] == "bob"


def test_node_plaintext_preauthkey_never_survives_normalisation(version):
    raw = cli_json(version, "nodes-list")
    for item in raw:
        secret = (item.get("pre_auth_key") or {}).get("key")
        if secret and not secret.endswith("***"):
            assert secret not in str(normalize.node(item))


def test_write_responses_normalise(version):
    approved = normalize.node(cli_json(version, "nodes-approve-routes"))
    assert approved["approved_routes"] == ["0.0.0.0/0", "10.20.0.0/24", "::/0"]
    assert normalize.node(cli_json(version, "nodes-tag"))["tags"] == ["tag:srv"]
    assert normalize.node(cli_json(version, "nodes-rename"))["given_name"] == "fake-renamed"


def test_policy_text_is_verbatim(version):
    cli_text = load(version, "cli-policy-get")["stdout"]
    api_text = api_json(version, "policy-get")["policy"]
    assert cli_text == api_text + "\n"  # the CLI adds one newline; the transport strips it


def test_jsonable_formats_rfc3339():
    stamp = normalize.parse_time({"seconds": 1795687534, "nanos": 862416819})
    assert normalize.jsonable({"a": [stamp]}) == {"a": ["2026-11-26T10:05:34.862416Z"]}
    assert normalize.parse_time("2026-11-26T10:05:34.862416819Z") == stamp
    assert normalize.parse_time("2026-11-26T12:05:34.862416+02:00") == stamp
    assert normalize.parse_time({"seconds": -62135596800}) is None
    assert normalize.parse_time("0001-01-01T00:00:00Z") is None
    assert normalize.parse_time(None) is None


def test_apikey_prefix_forms():
    assert normalize.apikey_prefix("hskey-api-V4sNIQ4pd8q--***") == "hskey-api-V4sNIQ4pd8q-"
    assert normalize.apikey_prefix("hskey-api-V4sNIQ4pd8q-" + "x" * 64) == "hskey-api-V4sNIQ4pd8q-"
    assert normalize.apikey_prefix("abcdefg***") == "abcdefg"
    assert normalize.apikey_prefix("0x99Ovt.8bLpe8Rtx31nVrrWgx7C_pa5K4Ku0dv4") == "0x99Ovt"
