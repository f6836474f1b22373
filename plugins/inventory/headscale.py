# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: headscale
short_description: Inventory of the nodes of a headscale tailnet
version_added: 0.1.0
description:
  - Reads the nodes of a headscale server and makes each node an inventory host, with its tailnet
    addresses, user, tags, online state, last seen time, routes and exit node state as host
    variables, and groups per user, per tag, V(online)/V(offline), V(exit_nodes) and V(subnet_routers).
  - Reads headscale through the collection's client, either by running the C(headscale) CLI on the
    controller (O(transport=cli), also through a prefix such as C(docker exec)) or over the REST API
    (O(transport=api)). Works with headscale 0.26.1 to 0.29.x; the host variables have the same
    shape whatever the version and transport.
  - The configuration file name must end with C(headscale.yml) or C(headscale.yaml).
  - Option values in the configuration file may be templates, for example
    V({{ lookup('ansible.builtin.env', 'HS_KEY'\) }}) or a variable from C(--extra-vars) (such as a
    vault-encrypted file passed with C(-e @secrets.yml)). Inventory and group variables are not
    available here, because the inventory is being built.
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; marks the file as a configuration of it.
    type: str
    required: true
    choices: [selfhosted.headscale.headscale]
  transport:
    description:
      - How to read headscale.
      - V(cli) runs O(headscale_command) on the controller, with O(config_path).
      - V(api) uses the REST API at O(api_url) with O(api_key).
      - Defaults to V(api) when O(api_url) is set, otherwise V(cli).
    type: str
    choices: [cli, api]
  headscale_command:
    description:
      - The command that runs the headscale CLI on the controller, as a list of arguments, for
        example V([docker, exec, headscale, headscale]) or V([ssh, hs.example.com, sudo, headscale]).
    type: list
    elements: str
    default: [headscale]
  config_path:
    description:
      - Path of the headscale configuration file passed as C(-c) to the CLI (where the command runs).
      - Headscale 0.26 refuses to run without a configuration file.
    type: path
  api_url:
    description:
      - Base URL of the headscale server for O(transport=api), without C(/api/v1), for example
        V(https://headscale.example.com).
    type: str
    env:
      - name: HEADSCALE_API_URL
  api_key:
    description:
      - API key for O(transport=api) (created with C(headscale apikeys create) or
        M(selfhosted.headscale.headscale_apikey)).
      - A secret. Keep it out of the configuration file in clear text; use the environment variable,
        an inline vault value (C(!vault)), or a template such as V({{ headscale_api_key }}) fed by a
        vault-encrypted extra-vars file. The plugin never prints it and masks it in error messages.
        It is not stored in the inventory cache.
    type: str
    secret: true
    env:
      - name: HEADSCALE_API_KEY
  validate_certs:
    description:
      - Whether to verify the TLS certificate of O(api_url).
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of CA certificates to verify the TLS certificate of O(api_url) with (a private CA);
        without it, the system's trusted CAs are used.
    type: path
  timeout:
    description:
      - Timeout in seconds for each REST API request.
    type: int
    default: 30
  headscale_version:
    description:
      - The headscale server version, for example V(0.26.1). By default it is detected.
    type: str
  hostname_source:
    description:
      - Which node name becomes the inventory host name.
      - V(given_name) is the node's name in the tailnet (its MagicDNS name), unique on the server.
      - V(name) is the host name the node reported. Several nodes may report the same one; each of
        those is named C(<name>_<node ID>) and a warning lists them.
    type: str
    choices: [given_name, name]
    default: given_name
  use_tailnet_ip:
    description:
      - Set C(ansible_host) to the node's tailnet IPv4 address (its IPv6 address when it has no
        IPv4), so that Ansible reaches every node over the tailnet.
      - When false, C(ansible_host) is not set and the host name is used to connect (MagicDNS names
        resolve on tailnet members that accept DNS).
    type: bool
    default: false
  group_prefix:
    description:
      - Prefix for the names of the groups this plugin creates (not for O(groups) and O(keyed_groups)).
    type: str
    default: ""
  default_groups:
    description:
      - Create the groups C(user_<user>), C(tag_<tag>) (without C(tag:)), C(online), C(offline),
        C(exit_nodes) and C(subnet_routers). Characters other than letters, digits and C(_) in user
        and tag names become C(_).
      - C(exit_nodes) holds nodes whose exit routes are advertised and approved; C(subnet_routers)
        nodes with at least one other route advertised and approved.
    type: bool
    default: true
notes:
  - Tagged nodes on headscale 0.28 and later belong to no user; they get no C(user_) group and
    C(headscale_user) is null.
  - Online state is headscale's view. A node that stops goes offline once headscale notices that its
    connection is gone.
seealso:
  - module: selfhosted.headscale.headscale_info
  - module: selfhosted.headscale.headscale_apikey
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
---
# headscale.yml: headscale on the controller (or reached through a command prefix)
plugin: selfhosted.headscale.headscale
headscale_command: [docker, exec, headscale, headscale]
config_path: /etc/headscale/config.yaml
use_tailnet_ip: true

---
# prod.headscale.yml: over the REST API; the key comes from HEADSCALE_API_KEY
plugin: selfhosted.headscale.headscale
api_url: https://headscale.example.com
keyed_groups:
  - key: headscale_user
    prefix: owner
groups:
  stale: headscale_last_seen is not none and headscale_last_seen < '2026-01-01'
compose:
  ansible_user: "'ansible'"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-headscale
cache_timeout: 300

---
# vault.headscale.yml: the key from a vault-encrypted file given as
# ansible-playbook -i vault.headscale.yml -e @secrets.yml --ask-vault-pass site.yml
plugin: selfhosted.headscale.headscale
api_url: https://headscale.example.com
api_key: "{{ vault_headscale_api_key }}"
hostname_source: name
strict: true
"""

import re

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.headscale_client import HeadscaleClient
from ansible_collections.selfhosted.headscale.plugins.module_utils.nodes import EXIT_ROUTES
from ansible_collections.selfhosted.headscale.plugins.module_utils.normalize import jsonable
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import ValidationError

CLIENT_OPTIONS = ("transport", "headscale_command", "config_path", "api_url", "api_key", "validate_certs",
                  "ca_path", "timeout", "headscale_version")
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def group_part(text):
    """``ops-team`` -> ``ops_team``: a user or tag name as part of a group name."""
    return _UNSAFE.sub("_", text)


def served_routes(node):
    """Routes the node advertises and headscale approved (what the tailnet can use), in listing order."""
    advertised = set(node.get("available_routes") or [])
    return [route for route in node.get("approved_routes") or [] if route in advertised]


def _first(addresses, family):
    for address in addresses:
        if (":" in address) == (family == 6):
            return address
    return None


def host_vars(node):
    """The ``headscale_*`` host variables of one node (a normalised node, datetimes as RFC3339 text)."""
    addresses = list(node.get("ip_addresses") or [])
    served = served_routes(node)
    return {
        "headscale_id": node["id"],
        "headscale_name": node.get("name"),
        "headscale_given_name": node.get("given_name"),
        "headscale_user": node.get("user"),
        "headscale_tags": list(node.get("tags") or []),
        "headscale_online": bool(node.get("online")),
        "headscale_last_seen": node.get("last_seen"),
        "headscale_ipv4": _first(addresses, 4),
        "headscale_ipv6": _first(addresses, 6),
        "headscale_ip_addresses": addresses,
        "headscale_advertised_routes": list(node.get("available_routes") or []),
        "headscale_approved_routes": list(node.get("approved_routes") or []),
        "headscale_primary_routes": list(node.get("subnet_routes") or []),
        "headscale_exit_node": all(route in served for route in EXIT_ROUTES),
        "headscale_expiry": node.get("expiry"),
        "headscale_created_at": node.get("created_at"),
        "headscale_register_method": node.get("register_method"),
    }


def default_groups(variables, prefix=""):
    """The groups a node with these host variables belongs to (without duplicates, sorted)."""
    groups = {"online" if variables["headscale_online"] else "offline"}
    if variables["headscale_user"]:
        groups.add("user_" + group_part(variables["headscale_user"]))
    for tag in variables["headscale_tags"]:
        groups.add("tag_" + group_part(tag[len("tag:"):] if tag.startswith("tag:") else tag))
    if variables["headscale_exit_node"]:
        groups.add("exit_nodes")
    approved = set(variables["headscale_approved_routes"])
    if any(r in approved and r not in EXIT_ROUTES for r in variables["headscale_advertised_routes"]):
        groups.add("subnet_routers")
    return sorted(prefix + name for name in groups)


def host_names(nodes, source="given_name"):
    """``{node ID: inventory host name}`` and the host names several nodes share (``source='name'``)."""
    names = {}
    shared = set()
    for node in nodes:
        name = node.get(source) or node.get("given_name") or node.get("name") or str(node["id"])
        if name in names.values():
            shared.add(name)
        names[node["id"]] = name
    for node_id, name in names.items():
        if name in shared:
            names[node_id] = "%s_%s" % (name, node_id)
    return names, sorted(shared)


def inventory_hosts(nodes, hostname_source="given_name", use_tailnet_ip=False, prefix="", with_groups=True):
    """Pure mapping: nodes -> ``[(host name, host vars, groups)]`` (by node ID), and shared host names."""
    names, shared = host_names(nodes, hostname_source)
    hosts = []
    for node in sorted(nodes, key=lambda n: n["id"]):
        variables = host_vars(node)
        if use_tailnet_ip:
            address = variables["headscale_ipv4"] or variables["headscale_ipv6"]
            if address:
                variables["ansible_host"] = address
        groups = default_groups(variables, prefix) if with_groups else []
        hosts.append((names[node["id"]], variables, groups))
    return hosts, shared


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "selfhosted.headscale.headscale"

    def verify_file(self, path):
        if super().verify_file(path):
            return path.endswith(("headscale.yml", "headscale.yaml"))
        return False

    def _option(self, name):
        """An option value; strings from the configuration file may be templates (extra vars available)."""
        value = self.get_option(name)
        if isinstance(value, list):
            return [self._render(item) for item in value]
        return self._render(value)

    def _render(self, value):
        if value is None or isinstance(value, (bool, int)):
            return value
        text = str(value)  # also decrypts an inline !vault value
        if self.templar.is_template(value):
            self.templar.available_variables = self._vars or {}
            text = self.templar.template(value)
            text = None if text is None else str(text)
        return text

    def _read_nodes(self):
        params = {name: self._option(name) for name in CLIENT_OPTIONS}
        for name in ("validate_certs", "timeout"):
            params[name] = self.get_option(name)
        try:
            client = HeadscaleClient.from_params(params)
            return jsonable(client.list_nodes())
        except (HeadscaleError, ValidationError) as exc:
            raise AnsibleParserError("headscale inventory: %s" % exc) from None

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)

        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        nodes = None
        if use_cache:
            try:
                nodes = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if nodes is None:
            nodes = self._read_nodes()
        if update_cache:
            self._cache[cache_key] = nodes
        self._populate(nodes)

    def _populate(self, nodes):
        strict = self.get_option("strict")
        hosts, shared = inventory_hosts(
            nodes,
            hostname_source=self.get_option("hostname_source"),
            use_tailnet_ip=self.get_option("use_tailnet_ip"),
            prefix=self.get_option("group_prefix") or "",
            with_groups=self.get_option("default_groups"),
        )
        if shared:
            self.display.warning(
                "headscale inventory: several nodes report the host name(s) %s; they are named "
                "<name>_<node ID>. Use hostname_source=given_name for unique names." % ", ".join(shared))
        for name, variables, groups in hosts:
            self.inventory.add_host(name)
            for group in groups:
                self.inventory.add_group(group)
                self.inventory.add_child(group, name)
            for key, value in variables.items():
                self.inventory.set_variable(name, key, value)
            hostvars = self.inventory.get_host(name).get_vars()
            self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)
