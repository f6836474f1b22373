"""headscale_routes through real ansible-playbook (see harness/ansible_lifecycle.py), with the CLI, on a
real tailscaled router (test_routes.py runs a playbook over the REST API)."""

from __future__ import annotations

import pytest
from harness.ansible_lifecycle import Lifecycle, run_lifecycle

# One lifecycle per supported headscale version, in the default matrix too (issue 18).
pytestmark = pytest.mark.every_supported_headscale


def test_routes_through_ansible_playbook(headscale, module_tailscale_node):
    router = module_tailscale_node(headscale, "pb-router", user="pb-routers",
                                   advertise_routes=["10.30.0.0/24"], exit_node=True)
    run_lifecycle(headscale, Lifecycle(
        module="headscale_routes",
        transport="cli",
        create={"node": "pb-router", "routes": ["10.30.0.0/24"], "exit_node": True},
        bad={"node": "pb-router", "routes": ["10.30.0.1/24"]},
        bad_message="routes item '10.30.0.1/24' has host bits set; the canonical prefix is '10.30.0.0/24'",
    ))
    assert set(headscale.node(router.node_id)["approved_routes"]) == {"10.30.0.0/24", "0.0.0.0/0", "::/0"}
