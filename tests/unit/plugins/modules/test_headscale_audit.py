"""headscale_audit: its input check (the findings: tests/unit/plugins/module_utils/test_audit_findings.py;
against real servers: tests/integration/test_audit.py)."""

from __future__ import annotations

import pytest
from ansible_collections.selfhosted.headscale.plugins.modules import headscale_audit

BASE = {"node_expiry_days": 14, "offline_days": 30, "key_expiry_days": 7, "client_versions": None,
        "min_client_version": None, "expected_tags": None, "server_name": "headscale"}


@pytest.mark.parametrize(("params", "message"), [
    ({"offline_days": -1}, "offline_days must be 0 or more days, not -1."),
    ({"min_client_version": "latest"}, "min_client_version 'latest' is not a version such as '1.80'."),
    ({"client_versions": {"db": ""}}, "client_versions['db'] must be the version text tailscale prints, not ''."),
    ({"expected_tags": {"db": "tag:db"}}, "expected_tags['db'] must be a list of tags, not 'tag:db'."),
    ({"expected_tags": {"db": ["db"]}}, "expected_tags['db'] item 'db' must start with 'tag:' (e.g. 'tag:db')."),
])
def test_bad_input_names_the_field(client_of, refusal, params, message):
    assert refusal(headscale_audit, client_of("0.29.3"), dict(BASE, **params)) == message


def test_good_input_is_normalised(client_of, refusal):
    params = dict(BASE, min_client_version="1.80.3", expected_tags={"db": ["tag:db", "tag:a", "tag:db"]},
                  client_versions={3: "1.80.3"})
    assert refusal(headscale_audit, client_of("0.26.1"), params) is None
    assert params["min_client_version"] == "1.80"
    assert params["expected_tags"] == {"db": ["tag:a", "tag:db"]}
    assert params["client_versions"] == {"3": "1.80.3"}
