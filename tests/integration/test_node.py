"""headscale_node against real headscale servers and real tailscaled nodes, over both transports.

One server per module and version, with a policy that defines the tags the tests use (headscale
0.28+ accepts only tags from tagOwners). Nodes that a test changes in a lasting way (tags make a
node a tagged node on 0.28+, expiry logs it out, delete removes it) are the test's own.
"""

from __future__ import annotations

import datetime
import json

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils import normalize
from harness.modules import TRANSPORTS, assert_no_secret, module_runner

run = module_runner("headscale_node")

POLICY = """{
  // tags the node tests set
  "tagOwners": {"tag:web": ["nodeops@"], "tag:db": ["nodeops@"]},
  "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
}"""


@pytest.fixture(scope="module")
def server(headscale):
    headscale.ensure_user("nodeops")
    headscale.set_policy(POLICY)
    assert "tag:web" in (headscale.policy_text() or "")
    return headscale


# The nodes of this module, enrolled concurrently once per server; a test changes only its own.
FLEET = {
    **{f"{kind}-{transport}": {"user": "nodeops"}
       for kind in ("rn", "tg", "ex", "ea", "del") for transport in TRANSPORTS},
    **{name: {"user": "nodeops"} for name in ("tg-unknown", "tg-all", "tg-clear", "ea-old")},
    # Two nodes that report the same host name, for two different users.
    "twin-1": {"hostname": "twin", "user": "nodeops"},
    "twin-2": {"hostname": "twin", "user": "twinowner"},
}


@pytest.fixture(scope="module")
def fleet(server, module_tailscale_node):
    return module_tailscale_node.many(server, FLEET)


@pytest.fixture(scope="module")
def twins(fleet):
    return fleet["twin-1"], fleet["twin-2"]


def expiry_of(server, node):
    """The node's expiry as headscale lists it; None = never (0.27/0.28 print Go's zero time for that)."""
    return normalize.parse_time(server.node(node.node_id).get("expiry"))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_node_rename_sequence(server, fleet, transport):
    node = fleet[f"rn-{transport}"]
    args = {"node": f"rn-{transport}", "given_name": f"renamed-{transport}"}

    check = run(server, transport, args, check=True, diff=True)
    assert check["changed"] is True and not check.get("failed"), check
    assert check["diff"]["before"]["given_name"] == f"rn-{transport}"
    assert check["diff"]["after"]["given_name"] == f"renamed-{transport}"
    assert server.node(node.node_id)["given_name"] == f"rn-{transport}"

    applied = run(server, transport, args, diff=True)
    assert applied["changed"] is True, applied
    assert applied["node"]["given_name"] == f"renamed-{transport}"
    assert applied["node"]["id"] == node.node_id
    assert server.node(node.node_id)["given_name"] == f"renamed-{transport}"
    assert_no_secret(applied, server.api_key)

    # The host name still finds it; so does the new given name and the ID.
    assert run(server, transport, args, check=True)["changed"] is False
    again = run(server, transport, {"node": f"renamed-{transport}", "given_name": f"renamed-{transport}"},
                diff=True)
    assert again["changed"] is False, again
    assert again["diff"]["before"] == again["diff"]["after"]

    changed = run(server, transport, {"node": str(node.node_id), "given_name": f"final-{transport}"})
    assert changed["changed"] is True
    assert server.node(node.node_id)["given_name"] == f"final-{transport}"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_node_tags_sequence(server, fleet, transport):
    node = fleet[f"tg-{transport}"]
    args = {"node": f"tg-{transport}", "tags": ["tag:web"]}

    check = run(server, transport, args, check=True, diff=True)
    assert check["changed"] is True, check
    assert check["diff"]["after"]["tags"] == ["tag:web"]
    assert not server.node(node.node_id).get("forced_tags") and not server.node(node.node_id).get("tags")

    applied = run(server, transport, args)
    assert applied["changed"] is True, applied
    assert "tag:web" in applied["node"]["tags"]
    listed = server.node(node.node_id)
    assert "tag:web" in (listed.get("tags") or listed.get("forced_tags"))

    assert run(server, transport, args, check=True)["changed"] is False
    assert run(server, transport, args)["changed"] is False

    changed = run(server, transport, {"node": f"tg-{transport}", "tags": ["tag:db", "tag:web"]})
    assert changed["changed"] is True
    listed = server.node(node.node_id)
    assert set(listed.get("tags") or listed.get("forced_tags")) == {"tag:db", "tag:web"}


@pytest.mark.headscale_version(">=0.28")
def test_node_tags_outside_tag_owners_fail_before_any_write(server, fleet):
    before = server.snapshot()
    result = run(server, "cli", {"node": "tg-unknown", "given_name": "tg-unknown-2", "tags": ["tag:nope"]})
    assert result.get("failed") is True
    assert "tag:nope are not defined in the policy's tagOwners" in result["msg"], result["msg"]
    assert server.snapshot() == before  # not even the rename happened


@pytest.mark.headscale_version(">=0.28")
def test_node_cannot_remove_all_tags_of_a_tagged_node(server, fleet):
    node = fleet["tg-all"]
    run(server, "api", {"node": "tg-all", "tags": ["tag:web"]})
    before = server.snapshot()
    result = run(server, "api", {"node": str(node.node_id), "tags": []})
    assert result.get("failed") is True
    assert "would remove all tags" in result["msg"]
    assert server.snapshot() == before


@pytest.mark.headscale_version("<0.28")
def test_node_empty_tags_clear_forced_tags(server, fleet):
    node = fleet["tg-clear"]
    run(server, "cli", {"node": "tg-clear", "tags": ["tag:web"]})
    assert server.node(node.node_id).get("forced_tags") == ["tag:web"]
    cleared = run(server, "cli", {"node": "tg-clear", "tags": []})
    assert cleared["changed"] is True
    assert not server.node(node.node_id).get("forced_tags")
    assert run(server, "cli", {"node": "tg-clear", "tags": []})["changed"] is False


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_node_expire_now_only_once(server, fleet, transport):
    node = fleet[f"ex-{transport}"]
    args = {"node": f"ex-{transport}", "expiry": "now"}

    check = run(server, transport, args, check=True)
    assert check["changed"] is True, check
    assert expiry_of(server, node) is None

    applied = run(server, transport, args)
    assert applied["changed"] is True, applied
    expiry = datetime.datetime.fromisoformat(applied["node"]["expiry"].replace("Z", "+00:00"))
    assert expiry <= datetime.datetime.now(datetime.UTC)
    assert expiry_of(server, node) is not None

    assert run(server, transport, args, check=True)["changed"] is False
    assert run(server, transport, args)["changed"] is False


@pytest.mark.headscale_version(">=0.27")
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_node_expiry_at_time_and_never(server, fleet, transport):
    node = fleet[f"ea-{transport}"]
    args = {"node": f"ea-{transport}", "expiry": "2031-01-02T03:04:05Z"}

    assert run(server, transport, args, check=True)["changed"] is True
    assert expiry_of(server, node) is None
    applied = run(server, transport, args, diff=True)
    assert applied["changed"] is True, applied
    assert applied["node"]["expiry"] == "2031-01-02T03:04:05Z"
    assert applied["diff"]["after"]["expiry"] == "2031-01-02T03:04:05Z"
    assert run(server, transport, args, check=True)["changed"] is False
    assert run(server, transport, {"node": f"ea-{transport}", "expiry": "2031-01-02T04:04:05+01:00"})[
        "changed"] is False

    if server.at_least("0.29"):
        never = {"node": f"ea-{transport}", "expiry": "never"}
        assert run(server, transport, never, check=True)["changed"] is True
        assert run(server, transport, never)["changed"] is True
        assert expiry_of(server, node) is None
        assert run(server, transport, never)["changed"] is False


@pytest.mark.headscale_version("<0.27")
def test_node_expiry_at_time_needs_027(server, fleet):
    before = server.snapshot()
    result = run(server, "cli", {"node": "ea-old", "given_name": "ea-old-renamed", "expiry": "2031-01-02T03:04:05Z"})
    assert result.get("failed") is True
    assert "needs headscale 0.27 or later (this is 0.26" in result["msg"], result["msg"]
    assert server.snapshot() == before


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_node_delete_sequence(server, fleet, transport):
    node = fleet[f"del-{transport}"]
    args = {"node": f"del-{transport}", "state": "absent"}

    check = run(server, transport, args, check=True, diff=True)
    assert check["changed"] is True and check["node"] is None, check
    assert check["diff"]["after"] == {}
    assert node.node_id in [n["id"] for n in server.nodes()]

    applied = run(server, transport, args)
    assert applied["changed"] is True, applied
    assert node.node_id not in [n["id"] for n in server.nodes()]
    # Deleted, its tailscaled loses the DERP connection and, left running, looks for a captive
    # portal at Tailscale's own servers about 12 s later (tailscale 1.102's captiveportal
    # extension): stop it now, with the egress and log checks of its life so far.
    node.stop()

    assert run(server, transport, args, check=True)["changed"] is False
    assert run(server, transport, args)["changed"] is False


def test_node_ambiguous_name_lists_the_ids(server, twins):
    first, second = twins
    before = server.snapshot()
    result = run(server, "cli", {"node": "twin", "given_name": "only-one"})
    assert result.get("failed") is True
    assert "ambiguous" in result["msg"]
    assert f"ID {first.node_id}" in result["msg"] and f"ID {second.node_id}" in result["msg"]
    assert "narrow it with user" in result["msg"]
    assert server.snapshot() == before

    # The user narrows it down; the ID is always unique.
    narrowed = run(server, "api", {"node": "twin", "user": "twinowner"}, check=True)
    assert narrowed["changed"] is False and narrowed["node"]["id"] == second.node_id, narrowed
    by_id = run(server, "cli", {"node": str(first.node_id)})
    assert by_id["changed"] is False and by_id["node"]["id"] == first.node_id


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"given_name": "Bad_Name"}, "given_name 'Bad_Name' is not a valid node name"),
        ({"tags": ["web"]}, "tags item 'web' must start with 'tag:'"),
        ({"expiry": "tomorrow"}, "expiry 'tomorrow' is not valid: use 'now', 'never' or an RFC 3339 time"),
        ({"given_name": "ok-name", "expiry": "2031-13-01T00:00:00Z"}, "expiry '2031-13-01T00:00:00Z' is not valid"),
        ({"registration_id": "abc", "user": "nodeops"},
         "registration_id is not a registration ID of this headscale version (it has 3 characters)"),
        ({"registration_id": "abc"}, "registration_id needs user"),
        ({"state": "absent", "registration_id": "abc", "user": "nodeops"}, "registration_id needs state: present"),
    ],
)
def test_node_bad_input_fails_before_any_write(server, twins, args, expected):
    before = server.snapshot()
    result = run(server, "cli", {"node": str(twins[0].node_id), **args})
    assert result.get("failed") is True, result
    assert expected in result["msg"], result["msg"]
    assert server.snapshot() == before


def test_node_given_name_taken_fails_before_any_write(server, twins):
    first, second = twins
    taken = server.node(second.node_id)["given_name"]
    before = server.snapshot()
    result = run(server, "api", {"node": str(first.node_id), "given_name": taken, "tags": ["tag:db"]})
    assert result.get("failed") is True
    assert f"given_name {taken!r} is already used by node" in result["msg"]
    assert server.snapshot() == before


def test_node_registration_id_must_not_be_a_preauth_key(server, twins):
    key = server.create_preauth_key("nodeops")
    before = server.snapshot()
    result = run(server, "cli", {"node": "newcomer", "user": "nodeops", "registration_id": key})
    assert result.get("failed") is True
    assert "looks like a pre-auth or API key" in result["msg"]
    assert_no_secret(result, key)
    assert server.snapshot() == before


def test_node_missing_node_fails_clearly(server):
    result = run(server, "cli", {"node": "ghost-node", "given_name": "ghost"})
    assert result.get("failed") is True
    assert "node 'ghost-node' does not exist" in result["msg"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_node_register_interactive_login(server, tailscale_node, transport):
    """The OIDC/web flow: a client waits with a /register/<id> URL; the module registers it."""
    hostname = f"web-login-{transport}"
    client = tailscale_node(server, hostname, enrol=False)
    url = client.start_interactive_login()
    registration_id = url.rstrip("/").rsplit("/", 1)[-1]
    args = {"node": hostname, "user": "nodeops", "registration_id": registration_id, "tags": ["tag:web"]}

    check = run(server, transport, args, check=True, diff=True)
    assert check["changed"] is True and check["registered"] is True and check["node"] is None, check
    assert hostname not in [n["name"] for n in server.nodes()]

    applied = run(server, transport, args)
    assert applied["changed"] is True and applied["registered"] is True, applied
    assert applied["node"]["name"] == hostname
    assert "tag:web" in applied["node"]["tags"]
    enrolled = client.wait_enrolled()
    assert enrolled["id"] == applied["node"]["id"]

    # The node exists now: no second registration (the ID is single-use anyway).
    for check_mode in (True, False):
        again = run(server, transport, args, check=check_mode)
        assert again["changed"] is False and again["registered"] is False, again
    assert json.dumps(again).count(registration_id) <= 1  # only in the echoed invocation, if at all
