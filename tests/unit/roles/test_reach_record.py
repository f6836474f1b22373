"""The headscale role records how its CLI is reached where the tailscale_client role reads it: one
path, the default of both roles."""

from __future__ import annotations

from pathlib import Path

import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"


def role_default(role: str, name: str) -> str:
    return yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())[name]


def test_both_roles_name_the_same_record() -> None:
    written = role_default("headscale", "headscale_reach_record")
    read = role_default("tailscale_client", "tailscale_client_auth_key_server_record")
    assert written == read
    assert written.startswith("/etc/ansible/facts.d/") and written.endswith(".fact")
