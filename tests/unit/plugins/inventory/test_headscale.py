"""The inventory plugin's mapping (node -> host vars and groups), fed with recorded node listings.

Inputs: tests/fixtures/node-scenarios/<version>/ (router-1 advertises 10.10.0.0/24, 10.20.0.0/24,
fd00:10::/64 and the exit routes, with 10.10.0.0/24 and the exit routes approved; two nodes report
the host name "twin"; tagged-1 carries tag:web) and tests/fixtures/<version>/ (router-1 online, the
debug-created "fake-renamed" offline). Both transports, every supported headscale version.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible_collections.selfhosted.headscale.plugins.inventory import headscale as plugin
from ansible_collections.selfhosted.headscale.plugins.module_utils import normalize

from tests.integration.harness.modules import TRANSPORTS
from tests.unit.recordings import FIXTURES, SCENARIOS, recorded_nodes, supported_versions
from tests.unit.trusted import trusted

VERSIONS = supported_versions(SCENARIOS, "tests/fixtures/node-scenarios/record.py")
LOAD_NAME = "ansible_collections.selfhosted.headscale.plugins.inventory.headscale"


def listing(folder: Path, version: str, transport: str) -> list[dict]:
    """Recorded `nodes list` (CLI) or GET /api/v1/node (API), as the client returns it."""
    return normalize.jsonable(recorded_nodes(folder, version, transport))


@pytest.fixture(params=VERSIONS)
def version(request):
    return request.param


@pytest.fixture(params=TRANSPORTS)
def transport(request):
    return request.param


def by_name(hosts):
    return {name: (variables, groups) for name, variables, groups in hosts}


def test_scenario_hosts_vars_and_groups(version, transport):
    hosts, shared = plugin.inventory_hosts(listing(SCENARIOS, version, transport))
    assert shared == []
    hosts = by_name(hosts)
    given = sorted(hosts)
    assert "router-1" in given and "tagged-1" in given and "expiring-1" in given
    # both nodes that report "twin" are there, under their (unique) given names
    twins = [name for name in given if hosts[name][0]["headscale_name"] == "twin"]
    assert len(twins) == 2 and len(set(twins)) == 2

    router, groups = hosts["router-1"]
    assert router["headscale_ipv4"].startswith("100.64.") and router["headscale_ipv6"].startswith("fd7a:115c:a1e0:")
    assert router["headscale_ip_addresses"] == [router["headscale_ipv4"], router["headscale_ipv6"]]
    assert router["headscale_user"] == "alice"
    assert router["headscale_online"] is True
    assert router["headscale_exit_node"] is True
    assert router["headscale_approved_routes"] == ["0.0.0.0/0", "10.10.0.0/24", "::/0"]
    assert set(router["headscale_advertised_routes"]) == {
        "0.0.0.0/0", "::/0", "10.10.0.0/24", "10.20.0.0/24", "fd00:10::/64"}
    assert isinstance(router["headscale_id"], int)
    assert router["headscale_last_seen"].endswith("Z")
    assert "ansible_host" not in router
    assert groups == ["exit_nodes", "online", "subnet_routers", "user_alice"]

    tagged, tagged_groups = hosts["tagged-1"]
    assert tagged["headscale_tags"] == ["tag:web"]
    assert "tag_web" in tagged_groups
    assert tagged["headscale_exit_node"] is False
    assert "exit_nodes" not in tagged_groups and "subnet_routers" not in tagged_groups
    if tuple(int(p) for p in version.split(".")) >= (0, 28):
        # tags as identity: a tagged node belongs to no user
        assert tagged["headscale_user"] is None
        assert not [g for g in tagged_groups if g.startswith("user_")]
    else:
        assert tagged["headscale_user"] == "alice" and "user_alice" in tagged_groups


def test_cli_and_api_give_the_same_inventory(version):
    """Same hosts, groups and variables; only the last-seen times differ (recorded moments apart)."""
    def comparable(transport):
        hosts, _shared = plugin.inventory_hosts(listing(SCENARIOS, version, transport))
        return [(name, {k: v for k, v in variables.items() if k != "headscale_last_seen"}, groups)
                for name, variables, groups in hosts]

    assert comparable("cli") == comparable("api")


def test_offline_node_lands_in_offline(version, transport):
    hosts = by_name(plugin.inventory_hosts(listing(FIXTURES, version, transport))[0])
    fake, groups = hosts["fake-renamed"]
    assert fake["headscale_online"] is False
    assert "offline" in groups and "online" not in groups
    assert "online" in hosts["router-1"][1]


def test_host_name_source_name_disambiguates_shared_names(version, transport):
    nodes = listing(SCENARIOS, version, transport)
    hosts, shared = plugin.inventory_hosts(nodes, hostname_source="name")
    assert shared == ["twin"]
    twin_ids = sorted(n["id"] for n in nodes if n["name"] == "twin")
    names = [name for name, _variables, _groups in hosts]
    assert [f"twin_{i}" for i in twin_ids] == [n for n in names if n.startswith("twin")]
    assert "router-1" in names  # unique host names stay as they are


def test_ansible_host_is_the_tailnet_ipv4_when_asked(version, transport):
    hosts = by_name(plugin.inventory_hosts(listing(SCENARIOS, version, transport), use_tailnet_ip=True)[0])
    for variables, _groups in hosts.values():
        assert variables["ansible_host"] == variables["headscale_ipv4"]


def test_ansible_host_falls_back_to_ipv6_and_prefix_and_no_groups():
    node = listing(SCENARIOS, VERSIONS[-1], "cli")[0]
    node = dict(node, ip_addresses=[a for a in node["ip_addresses"] if ":" in a])
    (_name, variables, groups), = plugin.inventory_hosts([node], use_tailnet_ip=True, prefix="hs_")[0]
    assert variables["headscale_ipv4"] is None and variables["ansible_host"] == variables["headscale_ipv6"]
    assert groups and all(g.startswith("hs_") for g in groups)
    assert plugin.inventory_hosts([node], with_groups=False)[0][0][2] == []


def test_subnet_router_needs_an_approved_advertised_non_exit_route():
    router = listing(SCENARIOS, VERSIONS[-1], "cli")[0]
    only_exit = dict(router, approved_routes=["0.0.0.0/0", "::/0"])
    groups = plugin.default_groups(plugin.host_vars(only_exit))
    assert "exit_nodes" in groups and "subnet_routers" not in groups
    # approved but no longer advertised: headscale does not serve it
    stale = dict(router, approved_routes=["0.0.0.0/0", "::/0", "10.10.0.0/24"], available_routes=["10.20.0.0/24"])
    variables = plugin.host_vars(stale)
    assert variables["headscale_exit_node"] is False
    assert plugin.default_groups(variables) == ["online", "user_alice"]


def test_group_names_are_safe():
    assert plugin.group_part("ops-team.eu") == "ops_team_eu"


def populate(nodes, **options):
    """Run the plugin's population step (Constructable included) into a real InventoryData."""
    module = plugin.InventoryModule()
    # What the plugin loader does on load: option definitions from DOCUMENTATION (doc fragments merged).
    # (The loader itself cannot import it here: pytest imported ansible_collections without its finder.)
    inventory_loader._load_config_defs(LOAD_NAME, plugin, plugin.__file__)
    module._load_name = LOAD_NAME
    module.loader = DataLoader()
    module.inventory = InventoryData()
    module._vars = {}
    # trusted, as the plugin's configuration file is (_read_config_data loads it trusted_as_template)
    module.set_options(direct={"plugin": "selfhosted.headscale.headscale", **trusted(options)})
    module._populate(nodes)
    return module.inventory


def test_constructable_compose_groups_keyed_groups(version, transport):
    inventory = populate(
        listing(SCENARIOS, version, transport),
        compose={"tailnet_ip": "headscale_ipv4"},
        groups={"routers": "headscale_advertised_routes | length > 0"},
        keyed_groups=[{"key": "headscale_register_method", "prefix": "via"}],
    )
    assert set(inventory.groups["routers"].get_hosts()) == {inventory.get_host("router-1")}
    assert len(inventory.groups["via_auth_key"].get_hosts()) == len(inventory.hosts)
    router = inventory.get_host("router-1").get_vars()
    assert router["tailnet_ip"] == router["headscale_ipv4"]
    for name in ("online", "exit_nodes", "subnet_routers", "user_alice", "tag_web"):
        assert name in inventory.groups, name


def test_strict_fails_on_an_undefined_variable(version):
    nodes = listing(SCENARIOS, version, "cli")
    lenient = populate(nodes, compose={"x": "no_such_var.attr"})
    assert "x" not in lenient.get_host("router-1").get_vars()
    with pytest.raises(Exception, match="no_such_var"):
        populate(nodes, compose={"x": "no_such_var.attr"}, strict=True)
