"""The client over a CLI transport replaying recordings: one version probe and at most one list call
per object type per run (cached), cache refreshed after writes, secrets kept private."""

from __future__ import annotations

import sys

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.headscale_client import HeadscaleClient
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import ValidationError

from tests.unit.recordings import VERSIONS, cli_json, load, version_tuple

# argv words after "-c config" -> recording name
ROUTES = {
    ("version",): "version",
    ("users", "list"): "users-list",
    ("users", "create"): "users-create",
    ("preauthkeys", "list"): "preauthkeys-list",
    ("preauthkeys", "create"): "preauthkeys-create",
    ("apikeys", "list"): "apikeys-list",
    ("nodes", "list"): "nodes-list",
    ("nodes", "approve-routes"): "nodes-approve-routes",
}


class Replay:
    def __init__(self, version):
        self.version = version
        self.calls = []
        self.argvs = []

    def __call__(self, argv, data=None, env=None):
        words = tuple(w for w in argv[3:] if not w.startswith("-"))
        name = ROUTES.get(words[:1]) or ROUTES[words[:2]]
        self.calls.append(name)
        self.argvs.append(argv)
        record = load(self.version, f"cli-{name}")
        return record["rc"], record["stdout"], record["stderr"]


@pytest.fixture(params=VERSIONS)
def client(request):
    replay = Replay(request.param)
    made = HeadscaleClient.from_params({"headscale_command": [sys.executable], "config_path": "c.yaml"},
                                       runner=replay)
    made.replay = replay
    return made


def test_version_detected_once(client):
    assert client.version == client.replay.version
    client.list_users()
    client.list_apikeys()
    assert client.replay.calls.count("version") == 1


def test_lists_are_cached_for_the_run(client):
    for _attempt in range(3):
        client.list_users()
        client.find_user("alice")
        client.list_nodes()
        client.get_node(1)
        client.list_nodes(user="alice")
        client.list_apikeys()
    assert client.replay.calls == ["version", "users-list", "nodes-list", "apikeys-list"]


def test_preauthkeys_one_call_for_one_user(client):
    client.list_preauthkeys(user="alice")
    client.list_preauthkeys(user="alice")
    expected = ["version", "users-list", "preauthkeys-list"]
    if version_tuple(client.replay.version) >= (0, 28):
        expected.remove("users-list")  # all keys in one call, no user lookup needed
    assert client.replay.calls == expected


def test_preauthkeys_for_all_users_cost_one_call_per_user_before_0_28(client):
    client.list_preauthkeys()
    per_user = client.replay.calls.count("preauthkeys-list")
    assert per_user == (1 if version_tuple(client.replay.version) >= (0, 28) else len(client.list_users()))


def test_secret_of_listed_keys_stays_private(client):
    keys = client.list_preauthkeys(user="alice")
    assert all(k["key"].endswith("***") for k in keys)
    secrets = [client.preauthkey_secret(k["id"]) for k in keys]
    if version_tuple(client.replay.version) >= (0, 28):
        assert secrets == [None] * len(keys)
    else:
        assert all(secrets) and not any(s in str(keys) for s in secrets)


def test_writes_refresh_the_cache(client):
    client.list_nodes()
    client.approve_routes(1, ["10.20.0.0/24", "0.0.0.0/0"])
    client.list_nodes()
    assert client.replay.calls.count("nodes-list") == 2


def test_create_preauthkey_looks_up_the_user_before_calling(client):
    # Input (tags, expiration) is validated by the module (tests/unit/plugins/modules/test_headscale_preauthkey.py).
    with pytest.raises(HeadscaleError, match="user 'ghost' does not exist on headscale"):
        client.create_preauthkey(user="ghost")
    assert "preauthkeys-create" not in client.replay.calls


def test_created_key_is_revealed_once(client):
    created = client.create_preauthkey(user="alice", reusable=True, tags=["tag:a", "tag:b"], expiration="24h")
    assert created["key"] == cli_json(client.replay.version, "preauthkeys-create")["key"]
    assert not created["key"].endswith("***")


def test_a_single_user_is_looked_up_by_name_on_the_server(client):
    assert client.find_user("alice")["id"] == 1
    assert client.replay.argvs[-1][3:] == ["users", "list", "--name", "alice", "-o", "json"]
    assert client.find_user("ghost") is None  # (the replayed list has no ghost)


def test_a_malformed_api_url_fails_before_any_request():
    """The client is built without touching the network: the URL check runs first."""
    with pytest.raises(ValidationError, match=r"^api_url 'not a url' is not an http:// or https:// URL"):
        HeadscaleClient.from_params({"api_url": "not a url", "api_key": "k"})
    with pytest.raises(ValidationError, match=r"^api_url 'ftp://x' "):
        HeadscaleClient.from_params({"transport": "cli", "api_url": "ftp://x"})
    with pytest.raises(ValidationError, match=r"^api_url is required when transport=api"):
        HeadscaleClient.from_params({"transport": "api", "api_key": "k"})
