"""The CLI transport replaying recorded outputs of the real binary: argv rules, JSON decoding, error
classification, policy text handling. The replay runner returns exactly what headscale printed."""

from __future__ import annotations

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.transports.cli import error_text

from tests.unit.recordings import VERSIONS, api_replaying, cli_replaying, load, version_tuple


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
