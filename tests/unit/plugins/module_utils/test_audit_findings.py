"""module_utils/audit.py on nodes and keys recorded from the real servers (every supported version,
CLI and REST shapes): the node scenario has a router with two unapproved routes, two nodes reporting
the host name "twin", tagged-1 with tag:web and expiring-1 expiring at 2031-01-02T03:04:05Z."""

from __future__ import annotations

import datetime
import re

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils import audit, normalize

from tests.unit.recordings import SCENARIOS, VERSIONS, cli_json, recorded_nodes

DAY = datetime.timedelta(days=1)
TRANSPORTS = ["cli", "api"]


def scenario_nodes(version, transport):
    nodes = recorded_nodes(SCENARIOS, version, transport)
    return nodes, next(node for node in nodes if node["name"] == "expiring-1")


def kinds(found):
    return sorted((f["kind"], f["subject"], f.get("route")) for f in found)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("version", VERSIONS)
def test_the_recorded_tailnet(version, transport):
    nodes, expiring = scenario_nodes(version, transport)
    router = next(node for node in nodes if node["name"] == "router-1")
    label = audit.node_label
    found = audit.findings(nodes, [], [], expiring["expiry"] - 5 * DAY,
                           expected_tags={"tagged-1": ["tag:db"], "router-1": []})
    assert kinds(found) == sorted([
        ("node_key_expiring", label(expiring), None),
        ("route_not_approved", label(router), "10.20.0.0/24"),
        ("route_not_approved", label(router), "fd00:10::/64"),
        ("hostname_duplicate", "twin", None),
        ("tags_differ", "tagged-1 (node %s)" % next(n["id"] for n in nodes if n["name"] == "tagged-1"), None),
    ])
    expiring_finding = next(f for f in found if f["kind"] == "node_key_expiring")
    assert expiring_finding["days"] == 5.0
    assert expiring["expiry"].strftime("%Y-%m-%dT%H:%M:%SZ") in expiring_finding["detail"]
    if version != "0.26.1":  # 0.26 cannot set an expiry: the recording expired the node instead
        assert "2031-01-02T03:04:05Z" in expiring_finding["detail"]
    assert "tags ['tag:web'], the inventory says ['tag:db']" in next(
        f["detail"] for f in found if f["kind"] == "tags_differ")


@pytest.mark.parametrize("version", VERSIONS)
def test_expired_and_limits(version):
    nodes, expiring = scenario_nodes(version, "cli")
    after = audit.findings(nodes, [], [], expiring["expiry"] + 2 * DAY)
    assert [(f["kind"], f["severity"], f["days"]) for f in after if f.get("node_id") == expiring["id"]] == [
        ("node_key_expired", "critical", -2.0)]
    assert after[0]["kind"] == "node_key_expired"  # critical first
    # Outside the window: no finding about the key.
    early = audit.findings(nodes, [], [], expiring["expiry"] - 5 * DAY, expiry_days=4)
    assert "node_key_expiring" not in [f["kind"] for f in early]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_clean_tailnet_has_no_finding(version):
    """Negative control: the same recordings without what the scenario put there on purpose."""
    nodes, _expiring = scenario_nodes(version, "cli")
    clean = [node for node in nodes if node["name"] in ("tagged-1",) or node["given_name"] == "twin"]
    moment = normalize.parse_time("2030-01-01T00:00:00Z")
    assert audit.findings(clean, [], [], moment, expected_tags={"tagged-1": ["tag:web"]},
                          client_versions={"tagged-1": "1.102.3"}, min_client=(1, 80)) == []
    assert audit.table([]) == ["no findings"]


def test_offline_nodes():
    nodes, _expiring = scenario_nodes("0.29.3", "cli")
    node = dict(nodes[1], online=False)
    seen = node["last_seen"]
    assert audit.findings([node], [], [], seen + 29 * DAY) == []
    found = audit.findings([node], [], [], seen + 31 * DAY)
    assert [(f["kind"], f["days"]) for f in found] == [("node_offline", 31.0)]
    assert audit.findings([dict(node, online=True)], [], [], seen + 31 * DAY) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_keys_that_can_still_be_used(version):
    apikeys = [normalize.apikey(item) for item in cli_json(version, "apikeys-list")]
    keys = [normalize.preauthkey(item) for item in cli_json(version, "preauthkeys-list")]
    moment = min(key["expiration"] for key in apikeys) - DAY
    found = audit.findings([], apikeys, keys, moment, key_days=2)
    soon = [key for key in apikeys if moment < key["expiration"] <= moment + 2 * DAY]
    assert sorted(f["subject"] for f in found if f["kind"] == "apikey_expiring") == sorted(
        "API key %s" % key["prefix"] for key in soon)
    assert soon
    usable = [key for key in keys if (key["reusable"] or not key["used"])
              and moment < key["expiration"] <= moment + 2 * DAY]
    flagged = [f for f in found if f["kind"] == "preauthkey_expiring"]
    assert len(flagged) == len(usable)
    used = [key for key in keys if key["used"] and not key["reusable"]]
    assert used and not [f for f in flagged for key in used if f["subject"].startswith("pre-auth key %s " % key["id"])]
    assert "***" not in repr(found) or all("hskey-auth" not in f["subject"] for f in found)  # never a key text


def test_client_versions():
    nodes, _expiring = scenario_nodes("0.29.3", "cli")
    router, tagged = (next(n for n in nodes if n["name"] == name) for name in ("router-1", "tagged-1"))
    found = audit.findings([router, tagged], [], [], router["last_seen"],
                           client_versions={"router-1": "1.78.0-t1234", str(tagged["id"]): "dev"}, min_client=(1, 80))
    judged = [(f["kind"], f["severity"]) for f in found if f["kind"].startswith("client")]
    assert sorted(judged) == [("client_too_old", "critical"), ("client_version_unknown", "warning")]
    assert audit.findings([router], [], [], router["last_seen"], client_versions={"router-1": "1.80.3"},
                          min_client=(1, 80)) == audit.findings([router], [], [], router["last_seen"])


def test_next_client_minimum():
    assert audit.next_client_minimum((0, 26, 1)) == (1, 64)
    assert audit.next_client_minimum((0, 28, 0)) == (1, 80)
    assert audit.next_client_minimum((0, 29, 3)) == (1, 80)
    assert audit.client_version("1.80.3-t1a2b3c4d5-g6e7f8") == (1, 80, 3)
    assert audit.client_version("1.102.3\n  tailscale commit: abc") == (1, 102, 3)
    assert audit.client_version("unknown") is None


def test_table_and_prometheus():
    nodes, expiring = scenario_nodes("0.29.3", "api")
    found = audit.findings(nodes, [], [], expiring["expiry"] - 5 * DAY)
    lines = audit.table(found)
    assert lines[0].split() == ["SEVERITY", "KIND", "SUBJECT", "DETAIL"] and len(lines) == len(found) + 1
    assert len({line.index(found[0]["kind"]) for line in lines[1:2]}) == 1
    text = audit.prometheus(found, expiring["expiry"] - 5 * DAY, 'hs "one"')
    assert text.endswith("\n")
    series = [line for line in text.splitlines() if not line.startswith("#")]
    sample = re.compile(r'^headscale_audit_[a-z_]+\{(?:[a-z_]+="(?:[^"\\]|\\.)*",?)+\} -?\d+$')
    assert [line for line in series if not sample.match(line)] == []
    assert 'headscale_audit_findings{server="hs \\"one\\"",kind="route_not_approved",severity="warning"} 2' in series
    assert 'headscale_audit_findings{server="hs \\"one\\"",kind="node_offline",severity="warning"} 0' in series
    assert any(line.startswith('headscale_audit_subject_findings{') and 'subject="router-1 (node 1)"} 2' in line
               for line in series)
    assert len([line for line in series if line.startswith("headscale_audit_subject_findings")]) == len(
        {(f["kind"], f["subject"]) for f in found})
