"""headscale_audit through real ansible-playbook (see harness/ansible_lifecycle.py), with the CLI.

Read-only: every step reports no change, and the bad input (a negative number of days) is refused
by name before anything is read.
"""

from __future__ import annotations

import pytest
from harness.ansible_lifecycle import Lifecycle, run_lifecycle

# One lifecycle per supported headscale version, in the default matrix too (issue 18).
pytestmark = pytest.mark.every_supported_headscale


def test_audit_through_ansible_playbook(headscale):
    result = run_lifecycle(headscale, Lifecycle(
        module="headscale_audit",
        transport="cli",
        create={"key_expiry_days": 7},
        bad={"offline_days": -3},
        bad_message="offline_days must be 0 or more days, not -3.",
        changes=False,
    ))
    for step in (result.check, result.created, result.again):
        assert step["checked"]["server_version"] == headscale.version, step
        assert set(step["summary"]) >= {"node_key_expiring", "apikey_expiring", "route_not_approved"}
        assert step["prometheus"].endswith("\n") and "headscale_audit_timestamp_seconds" in step["prometheus"]
