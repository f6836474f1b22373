"""headscale_apikey through real ansible-playbook (see harness/ansible_lifecycle.py), with the CLI.

A new key is created on every run without ``prefix``; the re-run selects the created key by its
prefix and must not change anything.
"""

from __future__ import annotations

import pytest
from harness.ansible_lifecycle import Lifecycle, run_lifecycle

# One lifecycle per supported headscale version, in the default matrix too (issue 18).
pytestmark = pytest.mark.every_supported_headscale


def test_apikey_through_ansible_playbook(headscale):
    result = run_lifecycle(headscale, Lifecycle(
        module="headscale_apikey",
        transport="cli",
        create={"expiration": "30d"},
        again={"prefix": "{{ created.apikey.prefix }}"},
        bad={"expiration": "forever"},
        bad_message="expiration 'forever' is not a duration",
    ))
    assert result.check["key"] is None
    created = result.created["apikey"]
    assert result.created["key"].startswith(created["prefix"])
    assert result.again["apikey"]["id"] == created["id"] and result.again["key"] is None
    assert created["id"] in [int(k["id"]) for k in headscale.cli_list("apikeys", "list")]
