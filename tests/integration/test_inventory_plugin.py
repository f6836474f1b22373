"""The inventory plugin selfhosted.headscale.headscale against real headscale servers and real tailscaled nodes.

Runs the real `ansible-inventory` (a subprocess with our collection on ANSIBLE_COLLECTIONS_PATH) on
a configuration file per test, over both transports, on every headscale version of the matrix.
What headscale itself lists (`nodes list` through the harness) is the reference for every check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import egress
from harness.modules import COLLECTIONS_PATH, TRANSPORTS, assert_no_secret, connection_args
from harness.ports import free_port
from harness.tailscale import wait_for

BIN = Path(sys.executable).parent
POLICY = """{
  // the inventory tests tag inv-web with tag:web
  "tagOwners": {"tag:web": ["invops@"]},
  "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
}"""
ROUTE = "10.30.0.0/24"
FLEET = {
    "inv-router": {"user": "invops", "advertise_routes": [ROUTE], "exit_node": True},
    "inv-web": {"user": "invops"},
    "inv-plain": {"user": "inv-other"},
}


@pytest.fixture(scope="module")
def server(headscale):
    headscale.ensure_user("invops")
    headscale.set_policy(POLICY)
    assert "tag:web" in (headscale.policy_text() or "")
    return headscale


@pytest.fixture(scope="module")
def fleet(server, module_tailscale_node):
    nodes = module_tailscale_node.many(server, FLEET)
    router, web = nodes["inv-router"], nodes["inv-web"]
    server.cli("nodes", "approve-routes", "--identifier", str(router.node_id),
               "--routes", ",".join(["0.0.0.0/0", "::/0", ROUTE]))
    server.cli("nodes", "tag", "--identifier", str(web.node_id), "--tags", "tag:web")
    wait_for("inv-web tagged", lambda: "tag:web" in (server.node(web.node_id).get("tags") or [])
             + (server.node(web.node_id).get("forced_tags") or []))
    return nodes


def write_config(folder: Path, options: dict[str, Any], name: str = "hs.headscale.yml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump({"plugin": "selfhosted.headscale.headscale", **options}))
    return path


def source_options(server, transport: str) -> dict[str, Any]:
    """The plugin's connection options for a harness server (the modules' mapping, same option names)."""
    return connection_args(server, transport)


def ansible_inventory(source: Path, *args: str, env: dict[str, str] | None = None,
                      failed_is_fatal: bool = True) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADSCALE_", "ANSIBLE_"))}
    full_env.update({
        "PATH": os.pathsep.join([str(BIN), full_env.get("PATH", "")]),
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true" if failed_is_fatal else "false",
        "ANSIBLE_LOCAL_TEMP": str(source.parent / "tmp"),
        "ANSIBLE_HOME": str(source.parent / "ansible-home"),
        "ANSIBLE_NOCOLOR": "1",
    })
    full_env.update(env or {})
    return egress.guarded_run([str(BIN / "ansible-inventory"), "-i", str(source), *args], "ansible-inventory",
                              env=full_env, timeout=180)


def plain(value: Any) -> Any:
    """ansible-inventory --list marks untrusted strings (everything read from headscale) as
    ``{"__ansible_unsafe": text}``: data from the server is never templated. Unwrap for comparisons."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def inventory_list(source: Path, *args: str, raw: bool = False, **kwargs: Any) -> dict[str, Any]:
    proc = ansible_inventory(source, "--list", *args, **kwargs)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    data = json.loads(proc.stdout)
    return data if raw else plain(data)


def members(listing: dict[str, Any], group: str) -> set[str]:
    return set(listing.get(group, {}).get("hosts", []))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_list_hosts_vars_and_groups(server, fleet, transport, tmp_path):
    source = write_config(tmp_path, {
        **source_options(server, transport),
        "use_tailnet_ip": True,
        "keyed_groups": [{"key": "headscale_user", "prefix": "owner"}],
        "groups": {"routers": "headscale_advertised_routes | length > 0"},
        "compose": {"node_ref": "'node-' ~ headscale_id"},
    })
    raw = inventory_list(source, raw=True)
    # what headscale reports is data, never a template
    assert raw["_meta"]["hostvars"]["inv-router"]["headscale_name"] == {"__ansible_unsafe": "inv-router"}
    listing = plain(raw)
    hostvars = listing["_meta"]["hostvars"]
    truth = {n["given_name"]: n for n in server.nodes()}
    assert set(FLEET) <= set(hostvars)
    for name in FLEET:
        node, variables = truth[name], hostvars[name]
        ipv4 = next(a for a in node["ip_addresses"] if ":" not in a)
        ipv6 = next(a for a in node["ip_addresses"] if ":" in a)
        assert variables["headscale_id"] == int(node["id"])
        assert variables["headscale_ipv4"] == ipv4 and variables["headscale_ipv6"] == ipv6
        assert variables["ansible_host"] == ipv4
        assert variables["headscale_online"] is True
        assert variables["headscale_last_seen"].endswith("Z")
        assert variables["node_ref"] == f"node-{node['id']}"
        assert name in members(listing, "online")

    router = hostvars["inv-router"]
    assert router["headscale_user"] == "invops"
    assert router["headscale_exit_node"] is True
    assert set(router["headscale_approved_routes"]) == {"0.0.0.0/0", "::/0", ROUTE}
    assert set(router["headscale_advertised_routes"]) == {"0.0.0.0/0", "::/0", ROUTE}
    assert members(listing, "exit_nodes") == {"inv-router"}
    assert members(listing, "subnet_routers") == {"inv-router"}
    assert members(listing, "routers") == {"inv-router"}

    web = hostvars["inv-web"]
    assert web["headscale_tags"] == ["tag:web"]
    assert web["headscale_exit_node"] is False
    assert members(listing, "tag_web") == {"inv-web"}
    if server.at_least("0.28"):  # tags as identity: a tagged node belongs to no user
        assert web["headscale_user"] is None
        assert members(listing, "user_invops") == {"inv-router"}
    else:
        assert members(listing, "user_invops") == {"inv-router", "inv-web"}
    assert members(listing, "user_inv_other") == {"inv-plain"}
    assert members(listing, "owner_invops") == members(listing, "user_invops")
    assert "inv-plain" not in members(listing, "offline")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_graph_and_host_name_source(server, fleet, transport, tmp_path):
    source = write_config(tmp_path, {**source_options(server, transport), "hostname_source": "name",
                                     "group_prefix": "hs_"})
    proc = ansible_inventory(source, "--graph")
    assert proc.returncode == 0, proc.stderr
    lines = [line.strip() for line in proc.stdout.splitlines()]
    # "@hs_exit_nodes:" then its hosts, one per line ("|--inv-router")
    start = lines.index("|--@hs_exit_nodes:")
    assert lines[start + 1] == "|  |--inv-router"
    assert "|--@hs_tag_web:" in lines and "|--@hs_user_inv_other:" in lines
    assert "|--@exit_nodes:" not in lines


def test_offline_node_lands_in_offline(server, fleet, tailscale_node, tmp_path):
    gone = tailscale_node(server, "inv-gone", user="inv-other")
    try:
        gone.stop()  # tailscaled stopped; its log checked for calls home
    finally:
        tailscale_node.nodes.remove(gone)
        gone.cleanup()
    wait_for("headscale marks inv-gone offline", lambda: not server.node(gone.node_id).get("online"), timeout=120)
    for transport in TRANSPORTS:
        source = write_config(tmp_path, source_options(server, transport), f"{transport}.headscale.yml")
        listing = inventory_list(source)
        assert "inv-gone" in members(listing, "offline"), transport
        assert "inv-gone" not in members(listing, "online"), transport
        assert listing["_meta"]["hostvars"]["inv-gone"]["headscale_online"] is False
        assert "inv-router" in members(listing, "online")


def test_api_key_never_shown_in_verbose_output(server, fleet, tmp_path):
    key = server.api_key
    source = write_config(tmp_path, source_options(server, "api"))
    proc = ansible_inventory(source, "--list", "-vvv")
    assert proc.returncode == 0, proc.stderr
    assert "inv-router" in json.loads(proc.stdout[proc.stdout.index("{"):])["_meta"]["hostvars"]
    assert_no_secret(proc.stdout + proc.stderr, key)


def test_api_key_from_environment_inline_vault_and_extra_vars(server, fleet, tmp_path):
    key = server.api_key
    # environment variable
    from_env = write_config(tmp_path, {"api_url": server.url}, "env.headscale.yml")
    assert "inv-router" in inventory_list(from_env, env={"HEADSCALE_API_KEY": key})["_meta"]["hostvars"]
    # inline vault value (!vault) in the configuration file
    password = tmp_path / "vault-pass"
    password.write_text("inventory-test-password\n")
    encrypted = egress.guarded_run(
        [str(BIN / "ansible-vault"), "encrypt_string", "--vault-password-file", str(password),
         "--name", "api_key", key], "ansible-vault", env={**os.environ, "ANSIBLE_HOME": str(tmp_path / "ah")})
    assert encrypted.returncode == 0, encrypted.stderr
    inline = tmp_path / "vault.headscale.yml"
    inline.write_text(f"plugin: selfhosted.headscale.headscale\napi_url: {server.url}\n{encrypted.stdout}")
    assert key not in inline.read_text()
    proc = ansible_inventory(inline, "--list", "-vvv", "--vault-password-file", str(password))
    assert proc.returncode == 0, proc.stderr
    assert_no_secret(proc.stdout + proc.stderr, key)
    # a template fed by a vault-encrypted extra-vars file
    secrets = tmp_path / "secrets.yml"
    secrets.write_text(yaml.safe_dump({"vault_headscale_api_key": key}))
    vaulted = egress.guarded_run(
        [str(BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(password), str(secrets)],
        "ansible-vault", env={**os.environ, "ANSIBLE_HOME": str(tmp_path / "ah")})
    assert vaulted.returncode == 0, vaulted.stderr
    templated = write_config(tmp_path, {"api_url": server.url, "api_key": "{{ vault_headscale_api_key }}"},
                             "tpl.headscale.yml")
    listing = inventory_list(templated, "--vault-password-file", str(password), "-e", f"@{secrets}")
    assert "inv-router" in listing["_meta"]["hostvars"]  # (--list shows extra vars as host vars: not ours)
    proc = ansible_inventory(templated, "--graph", "-vvv", "--vault-password-file", str(password), "-e", f"@{secrets}")
    assert proc.returncode == 0 and "|--@exit_nodes:" in proc.stdout, proc.stderr
    assert_no_secret(proc.stdout + proc.stderr, key)


def test_bad_url_and_bad_key_give_clear_errors(server, fleet, tmp_path):
    key = server.api_key
    closed = f"http://127.0.0.1:{free_port()}"
    proc = ansible_inventory(write_config(tmp_path, {"api_url": closed, "api_key": key}, "closed.headscale.yml"),
                             "--list", "-vvv")
    assert proc.returncode != 0
    assert f"headscale is not reachable at {closed}" in proc.stderr, proc.stderr
    assert_no_secret(proc.stdout + proc.stderr, key)

    proc = ansible_inventory(write_config(tmp_path, {"api_url": "ftp://127.0.0.1/x", "api_key": key},
                                          "scheme.headscale.yml"), "--list")
    assert proc.returncode != 0 and "api_url" in proc.stderr, proc.stderr

    wrong = key[:-8] + ("A" * 8 if not key.endswith("A" * 8) else "B" * 8)
    proc = ansible_inventory(write_config(tmp_path, {"api_url": server.url, "api_key": wrong}, "key.headscale.yml"),
                             "--list", "-vvv")
    assert proc.returncode != 0
    assert "the API key was rejected by headscale" in proc.stderr, proc.stderr
    assert_no_secret(proc.stdout + proc.stderr, key, wrong)

    # without ANSIBLE_INVENTORY_UNPARSED_FAILED Ansible goes on with an empty inventory, but says why
    proc = ansible_inventory(write_config(tmp_path, {"api_url": server.url, "api_key": wrong}, "key.headscale.yml"),
                             "--list", failed_is_fatal=False)
    assert "the API key was rejected by headscale" in proc.stderr, proc.stderr

    proc = ansible_inventory(write_config(tmp_path, {"headscale_command": [str(tmp_path / "no-headscale")]},
                                          "cmd.headscale.yml"), "--list")
    assert proc.returncode != 0 and "was not found; install headscale, or set headscale_command" in proc.stderr


def test_cache_serves_hosts_until_flushed(server, fleet, tmp_path):
    key = server.api_key
    cache = tmp_path / "cache"
    options = {"api_url": server.url, "api_key": key, "cache": True,
               "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(cache), "cache_timeout": 3600}
    source = write_config(tmp_path, options)
    first = inventory_list(source)
    assert "inv-router" in first["_meta"]["hostvars"]
    stored = list(cache.iterdir())
    assert len(stored) == 1
    assert_no_secret(stored[0].read_text(), key)
    # the same source with a wrong key: served from the cache without asking headscale
    write_config(tmp_path, {**options, "api_key": key[:-8] + "ZZZZZZZZ"})
    assert inventory_list(source)["_meta"]["hostvars"] == first["_meta"]["hostvars"]
    # --flush-cache reads headscale again, which now refuses the key
    proc = ansible_inventory(source, "--list", "--flush-cache")
    assert proc.returncode != 0 and "the API key was rejected by headscale" in proc.stderr, proc.stderr
