"""Transports replaying recorded outputs of the real binaries: JSON decoding, error classification,
policy text handling. The replay runner/opener returns exactly what headscale printed or answered."""

from __future__ import annotations

import io
import sys

import pytest
from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import MASK, HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.transports.api import ApiTransport
from ansible_collections.selfhosted.headscale.plugins.module_utils.transports.cli import CliTransport, error_text
from ansible_collections.selfhosted.headscale.plugins.module_utils.versions import Features
from recordings import VERSIONS, load, version_tuple


def cli_replaying(version, name):
    record = load(version, f"cli-{name}")
    seen = []

    def runner(argv, data=None, env=None):
        seen.append((argv, data, env))
        return record["rc"], record["stdout"], record["stderr"]

    # Any existing executable passes the binary check; the runner replays the recording.
    transport = CliTransport([sys.executable], "config.yaml", runner=runner)
    transport.features = Features(version_tuple(version))
    transport.seen = seen
    return transport


class Response:
    def __init__(self, body):
        self.body = body

    def read(self):
        return self.body.encode()


def api_replaying(version, name, key="key"):
    record = load(version, f"api-{name}")

    def opener(url, **kwargs):
        if record["status"] >= 400:
            raise HTTPError(url, record["status"], "recorded", {}, io.BytesIO(record["body"].encode()))
        return Response(record["body"])

    transport = ApiTransport("http://127.0.0.1:8080", key, opener=opener)
    transport.features = Features(version_tuple(version))
    return transport


@pytest.fixture(params=VERSIONS)
def version(request):
    return request.param


def test_cli_passes_json_flag_as_two_items_and_disables_update_checks(version):
    transport = cli_replaying(version, "users-list")
    users = transport.list_users()
    argv, _data, env = transport.seen[0]
    assert argv[-2:] == ["-o", "json"] and argv[1:3] == ["-c", "config.yaml"]
    assert env == {"HEADSCALE_DISABLE_CHECK_UPDATES": "true"}
    assert [u["name"] for u in users] == ["alice", "bob"]


def test_cli_duplicate_user(version):
    with pytest.raises(HeadscaleError) as info:
        cli_replaying(version, "error-user-duplicate").create_user("alice")
    error = info.value
    assert error.msg.startswith("headscale could not create user 'alice': ")
    assert "UNIQUE constraint failed: users.name" in error.msg
    assert "rpc error" not in error.msg
    assert error.rc == 1 and error.stdout == "" and '"error"' in error.stderr
    assert error.fail_kwargs()["cmd"].endswith("users create alice -o json")


def test_cli_unreachable(version):
    with pytest.raises(HeadscaleError) as info:
        cli_replaying(version, "error-unreachable").list_users()
    assert info.value.msg.startswith("headscale is not reachable through `")
    assert "context deadline exceeded" in info.value.msg


def test_cli_config_missing(version):
    with pytest.raises(HeadscaleError) as info:
        cli_replaying(version, "error-config-missing").list_users()
    assert info.value.msg.startswith("headscale could not load its configuration through `")
    assert "missing.yaml" in info.value.msg


def test_cli_node_missing(version):
    with pytest.raises(HeadscaleError) as info:
        cli_replaying(version, "error-node-missing").approve_routes(9999, ["10.0.0.0/8"])
    assert info.value.msg.startswith("headscale could not approve routes of node 9999: ")
    argv = cli_replaying(version, "nodes-approve-routes")
    argv.approve_routes(1, [])
    assert "--routes=" in argv.seen[0][0]  # clearing needs the one-element form (#2777)


def test_cli_user_destroy_missing_gives_the_misleading_multiple_users_text(version):
    # Why the client lists users first: headscale says "multiple users" for a missing one.
    text = error_text(load(version, "cli-error-user-destroy-missing")["stderr"])
    assert "multiple users" in text


def test_cli_policy(version):
    assert cli_replaying(version, "error-policy-not-found").get_policy() is None
    text = cli_replaying(version, "policy-get").get_policy()
    assert text == api_replaying(version, "policy-get").get_policy()
    assert text.startswith("{\n  // recorded by tests/fixtures/record.py")
    with pytest.raises(HeadscaleError, match=r"^headscale could not accept the policy: .*invalid literal"):
        cli_replaying(version, "error-policy-check-invalid").check_policy("{bad")


def test_cli_policy_check_needs_no_config_before_0_29(version):
    transport = cli_replaying(version, "error-policy-check-invalid")
    with pytest.raises(HeadscaleError):
        transport.check_policy("{bad")
    argv, data, _env = transport.seen[0]
    assert data == "{bad" and argv[-3:] == ["check", "--file", "/dev/stdin"]
    assert ("-c" in argv) == (version_tuple(version) >= (0, 29))


@pytest.mark.parametrize("version", [v for v in VERSIONS if version_tuple(v) < (0, 28)])
def test_cli_preauthkeys_need_a_user_before_0_28(version):
    text = error_text(load(version, "cli-error-preauthkeys-list-without-user")["stderr"])
    assert 'required flag(s) "user" not set' in text
    transport = cli_replaying(version, "preauthkeys-list")
    transport.list_preauthkeys(1)
    assert transport.seen[0][0][-4:] == ["--user", "1", "-o", "json"]


def test_cli_apikey_create_prints_a_json_string(version):
    secret = cli_replaying(version, "apikeys-create").create_apikey("30d", 30 * 86400)
    assert isinstance(secret, str) and len(secret) > 30


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


def test_secrets_are_masked_everywhere():
    secret = "2640bd91a48a9154d1ba65ba6d9f2a224a0aaf451088d5c0"
    error = HeadscaleError("could not expire %s" % secret, cmd=["headscale", "preauthkeys", "expire", secret],
                           stdout=secret, stderr="key %s" % secret, secrets=[secret])
    assert secret not in str(error.fail_kwargs())
    assert error.fail_kwargs()["cmd"] == "headscale preauthkeys expire '%s'" % MASK
