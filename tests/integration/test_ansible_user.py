"""headscale_user through real ansible-playbook (see harness/ansible_lifecycle.py), over the REST API."""

from __future__ import annotations

import pytest
from harness.ansible_lifecycle import Lifecycle, run_lifecycle

# One lifecycle per supported headscale version, in the default matrix too (issue 18).
pytestmark = pytest.mark.every_supported_headscale


def test_user_through_ansible_playbook(headscale):
    result = run_lifecycle(headscale, Lifecycle(
        module="headscale_user",
        transport="api",
        create={"name": "pb-user", "display_name": "Playbook User"},
        bad={"name": "1pb-user"},
        bad_message="name '1pb-user' is not a valid headscale user name",
    ))
    assert result.check["user"]["name"] == "pb-user"
    assert [u["name"] for u in headscale.users()].count("pb-user") == 1
    assert "1pb-user" not in [u["name"] for u in headscale.users()]
