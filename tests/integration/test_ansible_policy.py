"""headscale_policy through real ansible-playbook (see harness/ansible_lifecycle.py), with the CLI, policy
in the database (the module's default policy_mode)."""

from __future__ import annotations

import json

import pytest
from harness.ansible_lifecycle import Lifecycle, run_lifecycle

# One lifecycle per supported headscale version, in the default matrix too (issue 18).
pytestmark = pytest.mark.every_supported_headscale

POLICY = {
    "groups": {"group:pb": ["pb-policy@"]},
    "tagOwners": {"tag:pb": ["group:pb"]},
    "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
}


def test_policy_through_ansible_playbook(headscale):
    headscale.ensure_user("pb-policy")
    result = run_lifecycle(headscale, Lifecycle(
        module="headscale_policy",
        transport="cli",
        create={"policy": POLICY},
        bad={"policy": "{\"acls\": [ // unterminated"},
        bad_message="policy is not valid HuJSON",
    ))
    assert result.check["validated"] is True and result.created["validated"] is True
    assert json.loads(headscale.policy_text()) == POLICY
