"""headscale_info through real ansible-playbook (see harness/ansible_lifecycle.py), over the REST API.

Read-only: every step reports no change. The bad input is a malformed api_url, which must be
refused by name before any request.
"""

from __future__ import annotations

import pytest
from harness.ansible_lifecycle import Lifecycle, run_lifecycle

# One lifecycle per supported headscale version, in the default matrix too (issue 18).
pytestmark = pytest.mark.every_supported_headscale


def test_info_through_ansible_playbook(headscale):
    headscale.ensure_user("pb-info")
    result = run_lifecycle(headscale, Lifecycle(
        module="headscale_info",
        transport="api",
        create={"gather": ["version", "users"]},
        bad={"gather": ["users"], "api_url": "not a url"},
        bad_message="api_url 'not a url' is not an http:// or https:// URL",
        changes=False,
    ))
    # Before 0.27 the REST API has no /version: the minor version is told from the OpenAPI document.
    expected = headscale.version if headscale.at_least("0.27") else headscale.version.rsplit(".", 1)[0] + ".0"
    for step in (result.check, result.created, result.again):
        assert step["version"] == expected, step
        assert "pb-info" in [u["name"] for u in step["users"]], step
