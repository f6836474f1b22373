"""headscale_preauthkey through real ansible-playbook (see harness/ansible_lifecycle.py), with the CLI."""

from __future__ import annotations

import pytest
from harness.ansible_lifecycle import Lifecycle, run_lifecycle

# One lifecycle per supported headscale version, in the default matrix too (issue 18).
pytestmark = pytest.mark.every_supported_headscale


def test_preauthkey_through_ansible_playbook(headscale):
    headscale.ensure_user("pb-keys")
    result = run_lifecycle(headscale, Lifecycle(
        module="headscale_preauthkey",
        transport="cli",
        create={"user": "pb-keys", "reusable": True, "expiration": "2h"},
        bad={"user": "pb-keys", "expiration": "soon"},
        bad_message="expiration 'soon' is not a duration",
    ))
    created = result.created["preauthkey"]
    assert created["user"] == "pb-keys" and created["reusable"] is True, created
    assert result.created["key"] and result.check["key"] is None
    # The re-run matched the key the first run created (no second key).
    assert result.again["preauthkey"]["id"] == created["id"]
