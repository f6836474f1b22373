"""headscale_user: the view it compares, the user it predicts, and whether state=absent may delete (headscale
0.28.x deletes every pre-auth key with any user), fed with recordings."""

from __future__ import annotations

import sys

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils import normalize
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.headscale_client import HeadscaleClient
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import ValidationError
from ansible_collections.selfhosted.headscale.plugins.module_utils.versions import Features
from ansible_collections.selfhosted.headscale.plugins.modules import headscale_user as user_module

from tests.unit.recordings import VERSIONS, api_json, cli_json, load, version_tuple


def test_user_view_and_prediction(version):
    alice = next(normalize.user(u) for u in cli_json(version, "users-list") if u["name"] == "alice")
    assert user_module.view(alice) == {"name": "alice", "display_name": "Alice Example",
                                       "email": "alice@example.com", "picture_url": "https://example.com/alice.png"}
    renamed = user_module.predicted({"name": "alicia", "display_name": None, "email": None, "picture_url": None},
                                    base=alice)
    assert renamed["id"] == alice["id"] and renamed["name"] == "alicia" and renamed["email"] == alice["email"]
    assert user_module.view(None) is None


def test_check_applies_naming_rules_only_to_names_it_may_create():
    given = {"name": "x", "state": "present", "rename_from": None}
    with pytest.raises(ValidationError, match="name 'x' is not a valid headscale user name"):
        user_module.check(given, None)
    user_module.check(dict(given, state="absent"), None)  # an existing user may predate the rules


# -- state: absent on headscale 0.28.x, which deletes every pre-auth key with any user (#3155) --------------------

# argv words after "-c config" -> recording name; anything else (a write) is not replayed: KeyError
READS = {("version",): "version", ("users", "list"): "users-list", ("nodes", "list"): "nodes-list",
         ("preauthkeys", "list"): "preauthkeys-list"}


class Replay:
    """The CLI runner answering reads with the recordings of ``version``; the words of every call in ``calls``."""

    def __init__(self, version):
        self.version = version
        self.calls = []

    def __call__(self, argv, data=None, env=None):
        words = tuple(w for w in argv[3:] if not w.startswith("-"))[:2]
        words = words[:1] if words[:1] == ("version",) else words  # `version -o json`
        self.calls.append(words)
        record = load(self.version, "cli-%s" % READS[words])
        return record["rc"], record["stdout"], record["stderr"]


class Module:
    def __init__(self, check_mode=False, **params):
        self.params = {"name": None, "state": "absent", "display_name": None, "email": None, "picture_url": None,
                       "rename_from": None, "delete_nodes": False, "allow_preauthkey_loss": False}
        self.params.update(params)
        self.check_mode = check_mode
        self._diff = False
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


def replayed_client(version):
    replay = Replay(version)
    made = HeadscaleClient.from_params({"headscale_command": [sys.executable], "config_path": "c.yaml"}, runner=replay)
    made.replay = replay
    return made


def recorded_keys(version, transport):
    if transport == "cli":
        return [normalize.preauthkey(k) for k in cli_json(version, "preauthkeys-list")]
    return [normalize.preauthkey(k) for k in api_json(version, "preauthkeys-list")["preAuthKeys"]]


def test_only_0_28_deletes_every_preauthkey_with_a_user(version):
    assert user_module.deletes_every_preauthkey(Features(version_tuple(version))) is version.startswith("0.28.")


@pytest.mark.parametrize("transport", ["cli", "api"])
def test_keys_lost_with_a_user_are_the_other_users_and_tag_only_keys(transport):
    # recorded on 0.28.0: alice owns keys 1, 3 and 4, bob key 2, key 5 is tag-only (tag:srv)
    listed = recorded_keys("0.28.0", transport)
    assert [k["id"] for k in user_module.other_preauthkeys({"id": 1, "name": "alice"}, listed)] == [2, 5]
    assert [k["id"] for k in user_module.other_preauthkeys({"id": 2, "name": "bob"}, listed)] == [1, 3, 4, 5]


REFUSAL_BOB = (
    "deleting user 'bob' while 4 pre-auth key(s) of other users exist (alice: 3, tag-only: 1) needs headscale "
    "0.29 or later (this is 0.28.0); headscale 0.28.x deletes every pre-auth key of the server with any user "
    "(juanfont/headscale#3155, fixed in 0.29.0), so they would be lost: upgrade to 0.29, or set "
    "allow_preauthkey_loss: true to delete the user and lose them.")


@pytest.mark.parametrize("check_mode", [False, True])
def test_absent_on_0_28_refuses_while_other_keys_exist_before_any_write(check_mode):
    client = replayed_client("0.28.0")
    with pytest.raises(HeadscaleError) as refused:
        user_module.handle(Module(check_mode, name="bob"), client)
    assert str(refused.value) == REFUSAL_BOB
    assert client.replay.calls == [("version",), ("users", "list"), ("nodes", "list"), ("preauthkeys", "list")]


def test_absent_on_0_28_refuses_before_deleting_the_users_nodes():
    client = replayed_client("0.28.0")
    with pytest.raises(HeadscaleError, match=r"^deleting user 'alice' while 2 pre-auth key\(s\) of other users "
                                             r"exist \(bob: 1, tag-only: 1\) needs headscale 0.29"):
        user_module.handle(Module(name="alice", delete_nodes=True), client)
    assert ("nodes", "delete") not in client.replay.calls and ("users", "destroy") not in client.replay.calls


def test_absent_on_0_28_with_allow_preauthkey_loss_reports_the_keys_it_loses():
    client = replayed_client("0.28.0")
    module = Module(True, name="alice", delete_nodes=True, allow_preauthkey_loss=True)
    result = user_module.handle(module, client)
    assert result["changed"] is True and result["user"] is None
    assert result["deleted_nodes"] == [1] and result["lost_preauthkeys"] == [2, 5]
    assert module.warnings == ["deleting user 'alice' on headscale 0.28.0 also deletes 2 pre-auth key(s) of other "
                               "users (IDs 2, 5; juanfont/headscale#3155), as allow_preauthkey_loss: true allows."]


@pytest.mark.parametrize("version", [v for v in VERSIONS if not v.startswith("0.28.")])
def test_absent_elsewhere_neither_lists_keys_nor_refuses(version):
    client = replayed_client(version)
    module = Module(True, name="bob")
    if version_tuple(version) < (0, 28):
        module.params["delete_nodes"] = True  # bob owns the recorded fake node there
    result = user_module.handle(module, client)
    assert result["changed"] is True and result["lost_preauthkeys"] == [] and module.warnings == []
    assert ("preauthkeys", "list") not in client.replay.calls
