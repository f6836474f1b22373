"""Pure logic of headscale_node, headscale_routes and headscale_policy, fed with recordings of real servers.

Node listings and policies: tests/fixtures/node-scenarios/<version>/ (node-scenarios/record.py): router-1
advertises 10.10.0.0/24, 10.20.0.0/24, fd00:10::/64 and the exit node, with 10.10.0.0/24 and the exit
routes approved; two nodes report the host name "twin"; tagged-1 carries tag:web; expiring-1 expires
at 2031-01-02T03:04:05Z (0.27+; expired at recording time before 0.27). Registration IDs and
pre-auth keys: tests/fixtures/<version>/ (tests/fixtures/record.py).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils import hujson, normalize
from ansible_collections.selfhosted.headscale.plugins.module_utils import nodes as node_utils
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import ValidationError
from ansible_collections.selfhosted.headscale.plugins.modules import headscale_node, headscale_policy

from tests.unit.recordings import supported_versions

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SCENARIOS = FIXTURES / "node-scenarios"
VERSIONS = supported_versions(SCENARIOS, "tests/fixtures/node-scenarios/record.py")  # fails if one is missing
UTC = datetime.UTC


def recording(version: str, name: str) -> dict:
    return json.loads((SCENARIOS / version / f"{name}.json").read_text())


def nodes(version: str, transport: str) -> list[dict]:
    rec = recording(version, f"{transport}-nodes-list")
    raw = json.loads(rec["stdout"] if transport == "cli" else rec["body"])
    raw = raw["nodes"] if isinstance(raw, dict) else raw
    return [normalize.node(item) for item in raw]


def by_name(listing: list[dict], given_name: str) -> dict:
    return next(n for n in listing if n["given_name"] == given_name)


def at_least(version: str, minimum: tuple[int, ...]) -> bool:
    return tuple(int(p) for p in version.split(".")) >= minimum


@pytest.fixture(params=[(v, t) for v in VERSIONS for t in ("cli", "api")], ids=lambda p: f"{p[0]}-{p[1]}")
def listing(request):
    version, transport = request.param
    return version, nodes(version, transport)


def test_recordings_cover_the_default_versions():
    assert {"0.26.1", "0.29.3"} <= set(VERSIONS)


def test_cli_and_api_listings_normalise_alike():
    for version in VERSIONS:
        cli, api = nodes(version, "cli"), nodes(version, "api")
        fields = ("id", "name", "given_name", "user", "approved_routes", "available_routes", "forced_tags", "expiry")
        assert [{f: n[f] for f in fields} for n in cli] == [{f: n[f] for f in fields} for n in api], version


# -- find_node ----------------------------------------------------------------------------------------
def test_find_node_by_id_given_name_and_host_name(listing):
    found = listing[1]
    router = by_name(found, "router-1")
    assert node_utils.find_node(found, str(router["id"]))["id"] == router["id"]
    assert node_utils.find_node(found, router["id"])["id"] == router["id"]
    assert node_utils.find_node(found, "router-1")["id"] == router["id"]
    twin_b = next(n for n in found if n["name"] == "twin" and n["given_name"] != "twin")
    assert node_utils.find_node(found, twin_b["given_name"])["id"] == twin_b["id"]
    assert node_utils.find_node(found, "no-such-node") is None
    assert node_utils.find_node(found, "999") is None


def test_find_node_refuses_an_ambiguous_host_name_and_lists_the_ids(listing):
    found = listing[1]
    twins = sorted(n["id"] for n in found if n["name"] == "twin")
    assert len(twins) == 2
    with pytest.raises(HeadscaleError) as caught:
        node_utils.find_node(found, "twin")
    message = str(caught.value)
    assert "node 'twin' is ambiguous: it matches 2 nodes" in message
    for node_id in twins:
        assert f"ID {node_id}:" in message
    assert "narrow it with user" in message
    # The user narrows it down.
    assert node_utils.find_node(found, "twin", user="bob")["user"] == "bob"
    assert node_utils.find_node(found, "twin", user="alice")["given_name"] == "twin"


def test_require_node_names_what_was_looked_up(listing):
    found = listing[1]
    with pytest.raises(HeadscaleError, match=r"node 'ghost' does not exist on headscale for user 'bob'"):
        node_utils.require_node(found, "ghost", user="bob")
    with pytest.raises(ValidationError, match="node must be a node ID"):
        node_utils.find_node(found, " ")


def test_tagged_nodes_have_no_user_from_028(listing):
    version, found = listing
    tagged = by_name(found, "tagged-1")
    assert tagged["forced_tags"] == ["tag:web"]
    if at_least(version, (0, 28)):
        assert tagged["user"] is None
        assert node_utils.find_node(found, "tagged-1", user="alice") is None
    else:
        assert tagged["user"] == "alice"


# -- routes -------------------------------------------------------------------------------------------
def test_router_recording_shape(listing):
    found = listing[1]
    router = by_name(found, "router-1")
    assert node_utils.sort_routes(router["approved_routes"]) == ["0.0.0.0/0", "10.10.0.0/24", "::/0"]
    assert node_utils.sort_routes(router["available_routes"]) == [
        "0.0.0.0/0", "10.10.0.0/24", "10.20.0.0/24", "::/0", "fd00:10::/64"]
    assert node_utils.has_exit(router["approved_routes"])


@pytest.mark.parametrize(
    ("mode", "routes", "exit_node", "expected"),
    [
        ("equal", ["10.20.0.0/24"], None, ["0.0.0.0/0", "10.20.0.0/24", "::/0"]),
        ("equal", ["10.20.0.0/24"], False, ["10.20.0.0/24"]),
        ("equal", None, False, ["10.10.0.0/24"]),
        ("equal", ["10.10.0.0/24"], True, ["0.0.0.0/0", "10.10.0.0/24", "::/0"]),
        ("include", ["fd00:10::/64"], None, ["0.0.0.0/0", "10.10.0.0/24", "::/0", "fd00:10::/64"]),
        ("include", ["10.10.0.0/24"], None, ["0.0.0.0/0", "10.10.0.0/24", "::/0"]),
        ("exclude", ["10.10.0.0/24", "10.20.0.0/24"], None, ["0.0.0.0/0", "::/0"]),
        ("exclude", [], False, ["10.10.0.0/24"]),
    ],
)
def test_plan_routes_from_the_recorded_router(listing, mode, routes, exit_node, expected):
    found = listing[1]
    router = by_name(found, "router-1")
    assert node_utils.plan_routes(router["approved_routes"], mode, routes, exit_node) == expected


def test_plan_routes_guards(listing):
    found = listing[1]
    approved = by_name(found, "router-1")["approved_routes"]
    with pytest.raises(ValidationError, match="set allow_empty: true"):
        node_utils.plan_routes(approved, "equal", [], None)
    assert node_utils.plan_routes(approved, "equal", [], None, allow_empty=True) == ["0.0.0.0/0", "::/0"]
    assert node_utils.plan_routes(approved, "equal", [], False, allow_empty=True) == []
    with pytest.raises(ValidationError, match="nothing to manage"):
        node_utils.plan_routes(approved, "include", None, None)
    with pytest.raises(ValidationError, match="mode must be one of"):
        node_utils.plan_routes(approved, "replace", ["10.10.0.0/24"], None)


def test_unadvertised_routes_are_reported(listing):
    found = listing[1]
    router = by_name(found, "router-1")
    desired = ["10.10.0.0/24", "172.16.0.0/12", "0.0.0.0/0", "::/0"]
    assert node_utils.unadvertised(desired, router["available_routes"]) == ["172.16.0.0/12"]
    twin = by_name(found, "twin")
    assert node_utils.unadvertised(["0.0.0.0/0", "::/0"], twin["available_routes"]) == ["0.0.0.0/0", "::/0"]


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        (["10.10.0.1/24"], "routes item '10.10.0.1/24' has host bits set; the canonical prefix is '10.10.0.0/24'"),
        (["::/0"], "routes item '::/0' is an exit route; set exit_node: true"),
        (["10.10.0.0"], "needs a prefix length"),
    ],
)
def test_validate_subnet_routes(routes, message):
    with pytest.raises(ValidationError) as caught:
        node_utils.validate_subnet_routes(routes)
    assert message in str(caught.value)


def test_validate_subnet_routes_sorts_and_deduplicates():
    assert node_utils.validate_subnet_routes(["fd00:10::/64", "10.20.0.0/24", "10.20.0.0/24"]) == [
        "10.20.0.0/24", "fd00:10::/64"]
    assert node_utils.validate_subnet_routes(None) is None


# -- expiry -------------------------------------------------------------------------------------------
def test_expiry_decisions_on_the_recorded_node(listing):
    version, found = listing
    expiring = by_name(found, "expiring-1")
    now = datetime.datetime(2027, 6, 1, tzinfo=UTC)
    at = node_utils.parse_expiry("2031-01-02T03:04:05Z")
    assert at == ("at", datetime.datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC))
    same_moment = node_utils.parse_expiry("2031-01-02T04:04:05+01:00")
    if at_least(version, (0, 27)):
        assert expiring["expiry"] == at[1]
        assert node_utils.expiry_change(expiring["expiry"], *at, now) is False
        assert node_utils.expiry_change(expiring["expiry"], *same_moment, now) is False
        assert node_utils.expiry_change(expiring["expiry"], "now", None, now) is True
    else:
        # Expired at recording time: expiring it now again is no change.
        assert expiring["expiry"] < now
        assert node_utils.expiry_change(expiring["expiry"], "now", None, now) is False
    assert node_utils.expiry_change(expiring["expiry"], "never", None, now) is True
    never_expires = by_name(found, "router-1")
    assert never_expires["expiry"] is None
    assert node_utils.expiry_change(None, "never", None, now) is False
    assert node_utils.expiry_change(None, "now", None, now) is True
    assert node_utils.expiry_change(None, *at, now) is True


@pytest.mark.parametrize("value", ["tomorrow", "2031-13-01T00:00:00Z", "", "2031-01-02"])
def test_parse_expiry_rejects_what_headscale_would_not_take(value):
    with pytest.raises(ValidationError, match="use 'now', 'never' or an RFC 3339 time"):
        node_utils.parse_expiry(value)


def test_parse_expiry_keywords():
    assert node_utils.parse_expiry("NOW") == ("now", None)
    assert node_utils.parse_expiry("never") == ("never", None)


# -- registration IDs ---------------------------------------------------------------------------------
REGISTER_RECORDINGS = {"0.26.1": "cli-nodes-register", "0.27.1": "cli-nodes-register",
                       "0.28.0": "cli-nodes-register", "0.29.3": "cli-auth-register"}


@pytest.mark.parametrize("version", sorted(REGISTER_RECORDINGS))
def test_registration_ids_headscale_accepted_pass(version):
    record = json.loads((FIXTURES / version / f"{REGISTER_RECORDINGS[version]}.json").read_text())
    assert record["rc"] == 0
    flag = "--auth-id" if "--auth-id" in record["argv"] else "--key"
    registration_id = record["argv"][record["argv"].index(flag) + 1]
    auth_register = at_least(version, (0, 29))
    assert node_utils.registration_id_error(registration_id, auth_register) is None
    # The other generation's format is refused, with the expected shape named.
    other = node_utils.registration_id_error(registration_id, not auth_register)
    assert other is not None and "expected" in other


@pytest.mark.parametrize("version", ["0.26.1", "0.29.3"])
def test_a_preauth_key_is_not_a_registration_id(version):
    record = json.loads((FIXTURES / version / "cli-preauthkeys-create.json").read_text())
    key = json.loads(record["stdout"])["key"]
    message = node_utils.registration_id_error(key, at_least(version, (0, 29)))
    assert message.startswith("registration_id looks like a pre-auth or API key")
    assert key not in message


def test_node_view_is_what_the_module_compares(listing):
    found = listing[1]
    view = headscale_node.view(by_name(found, "tagged-1"))
    assert set(view) == {"id", "name", "given_name", "user", "tags", "expiry"}
    assert view["tags"] == ["tag:web"]
    assert headscale_node.view(None) is None


# -- policy -------------------------------------------------------------------------------------------
def recorded_policy_texts(version: str) -> dict[str, str]:
    cli = recording(version, "cli-policy-get")
    api = json.loads(recording(version, "api-policy-get")["body"])
    return {"cli": cli["stdout"], "api": api["policy"]}


@pytest.mark.parametrize("version", VERSIONS)
def test_recorded_policy_keeps_comments_and_parses(version):
    texts = recorded_policy_texts(version)
    for text in texts.values():
        assert "// recorded by" in text  # headscale stores the text verbatim
        assert hujson.parse(text)["tagOwners"] == {"tag:web": ["alice@"]}
    # The CLI prints one extra newline; meaning is the same.
    assert hujson.canonical(hujson.parse(texts["cli"])) == hujson.canonical(hujson.parse(texts["api"]))


@pytest.mark.parametrize("version", VERSIONS)
def test_policy_comparison_ignores_formatting(version):
    stored = headscale_policy.parse_current(recorded_policy_texts(version)["api"])
    same = {"acls": [{"dst": ["*:*"], "src": ["*"], "action": "accept"}], "tagOwners": {"tag:web": ["alice@"]}}
    assert hujson.canonical(stored) == hujson.canonical(same)
    different = {**same, "tagOwners": {"tag:web": ["bob@"]}}
    assert hujson.canonical(stored) != hujson.canonical(different)


def test_policy_parse_current_handles_missing_and_broken_text():
    assert headscale_policy.parse_current(None) is None  # "acl policy not found": differs from anything
    assert headscale_policy.parse_current("") == {}
    assert headscale_policy.parse_current("{broken") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"acls": [}', "policy is not valid HuJSON: Expecting value at line 1 column 11"),
        ('{\n  // c\n  "acls": [1 2]\n}', "at line 3 column 14"),
        ("[]", "policy must be a JSON object"),
        ('{"a": "/* not a comment */", /* but this */ "b": 1,}', None),
    ],
)
def test_policy_parse_errors_name_the_field_and_position(text, message):
    if message is None:
        assert headscale_policy.parse_policy(text, "policy") == {"a": "/* not a comment */", "b": 1}
        return
    with pytest.raises(ValidationError) as caught:
        headscale_policy.parse_policy(text, "policy")
    assert message in str(caught.value)


def test_reload_command_forms():
    assert headscale_policy.reload_argv("systemctl reload headscale") == ["systemctl", "reload", "headscale"]
    assert headscale_policy.reload_argv(["docker", "kill", "--signal", "HUP", "hs"]) == [
        "docker", "kill", "--signal", "HUP", "hs"]
    assert headscale_policy.reload_argv(None) is None
    with pytest.raises(ValidationError, match="must not be empty"):
        headscale_policy.reload_argv("")
