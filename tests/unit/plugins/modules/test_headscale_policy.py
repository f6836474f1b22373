"""headscale_policy: parsing, comparison and input forms, fed with the policies real servers stored
(tests/fixtures/node-scenarios/<version>/)."""

from __future__ import annotations

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils import hujson
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import ValidationError
from ansible_collections.selfhosted.headscale.plugins.modules import headscale_policy

from tests.unit.recordings import recorded_policy_texts


def test_policy_comparison_ignores_formatting(version):
    stored = headscale_policy.parse_current(recorded_policy_texts(version)["api"])
    same = {"acls": [{"dst": ["*:*"], "src": ["*"], "action": "accept"}], "tagOwners": {"tag:web": ["alice@"]}}
    assert hujson.canonical(stored) == hujson.canonical(same)
    different = {**same, "tagOwners": {"tag:web": ["bob@"]}}
    assert hujson.canonical(stored) != hujson.canonical(different)


def test_policy_parse_current_handles_missing_and_broken_text():
    assert headscale_policy.parse_current(None) is None  # "acl policy not found": differs from anything
    assert headscale_policy.parse_current("") == {}
    assert headscale_policy.parse_current("{broken") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"acls": [}', "policy is not valid HuJSON: Expecting value at line 1 column 11"),
        ('{\n  // c\n  "acls": [1 2]\n}', "at line 3 column 14"),
        ("[]", "policy must be a JSON object"),
        ('{"a": "/* not a comment */", /* but this */ "b": 1,}', None),
    ],
)
def test_policy_parse_errors_name_the_field_and_position(text, message):
    if message is None:
        assert headscale_policy.parse_policy(text, "policy") == {"a": "/* not a comment */", "b": 1}
        return
    with pytest.raises(ValidationError) as caught:
        headscale_policy.parse_policy(text, "policy")
    assert message in str(caught.value)


def test_reload_command_forms():
    assert headscale_policy.reload_argv("systemctl reload headscale") == ["systemctl", "reload", "headscale"]
    assert headscale_policy.reload_argv(["docker", "kill", "--signal", "HUP", "hs"]) == [
        "docker", "kill", "--signal", "HUP", "hs"]
    assert headscale_policy.reload_argv(None) is None
    with pytest.raises(ValidationError, match="must not be empty"):
        headscale_policy.reload_argv("")


def test_check_refuses_file_options_in_database_mode_and_reads_the_reload_command():
    base = {"policy_mode": "database", "path": None, "reload_command": None, "mode": None, "backup": False}
    assert headscale_policy.check(base, None) == {"reload_command": None}
    with pytest.raises(ValidationError, match=r"^reload_command only applies to policy_mode: file\.$"):
        headscale_policy.check(dict(base, reload_command="true"), None)
    with pytest.raises(ValidationError, match="path is required with policy_mode: file"):
        headscale_policy.check(dict(base, policy_mode="file", path=""), None)
    file_mode = dict(base, policy_mode="file", path="/etc/headscale/policy.hujson", reload_command="kill -HUP 1")
    assert headscale_policy.check(file_mode, None) == {"reload_command": ["kill", "-HUP", "1"]}
