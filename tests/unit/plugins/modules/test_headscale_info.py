"""headscale_info: its input check (the rest reads the server: tests/integration/test_info.py)."""

from __future__ import annotations

from ansible_collections.selfhosted.headscale.plugins.modules import headscale_info


def test_an_empty_user_is_refused_before_anything_is_read(client_of, refusal):
    client = client_of("0.26.1")
    assert refusal(headscale_info, client, {"user": " ", "gather": None}) == "user must not be empty."
    assert refusal(headscale_info, client, {"user": "alice", "gather": None}) is None
    assert refusal(headscale_info, client, {"user": None, "gather": ["users"]}) is None
