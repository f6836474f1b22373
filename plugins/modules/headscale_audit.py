#!/usr/bin/python
# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: headscale_audit
short_description: Warn before node keys, API keys and pre-auth keys expire, and find drift in a tailnet
version_added: 0.1.0
description:
  - Reads nodes, API keys and pre-auth keys from headscale and reports findings. Nothing is changed.
  - "Node keys: expired (critical), or expiring within O(node_expiry_days) days (warning). Nodes
    offline for more than O(offline_days) days."
  - "API keys (Headplane's included) and pre-auth keys that can still be used (unused, or reusable):
    expiring within O(key_expiry_days) days."
  - Routes advertised but not approved, and approved but no longer advertised (exit routes are named
    as the exit node). Host names used by more than one node.
  - With O(client_versions), clients older than O(min_client_version) (critical). With O(expected_tags),
    nodes whose tags differ from the inventory's.
  - Findings come as a list, a table and a Prometheus text file (the node_exporter textfile-collector
    format), so that existing monitoring can alert. Key secrets are never read or returned.
extends_documentation_fragment:
  - selfhosted.headscale.connection
  - selfhosted.headscale.attributes
  - selfhosted.headscale.attributes.info_module
options:
  node_expiry_days:
    description: Warn about node keys that expire within this many days.
    type: int
    default: 14
  offline_days:
    description: Warn about nodes offline for more than this many days.
    type: int
    default: 30
  key_expiry_days:
    description: Warn about API keys and usable pre-auth keys that expire within this many days.
    type: int
    default: 7
  client_versions:
    description:
      - The tailscale version each node runs (what C(tailscale version) prints on it), by node ID,
        given name or host name. C(playbooks/audit.yml) collects it from the inventory's nodes.
      - Nodes not named here are not judged on their version.
    type: dict
  min_client_version:
    description:
      - The oldest tailscale version the clients may run (C(MAJOR.MINOR)).
      - By default, the minimum of the next headscale minor after the server's, so that an upgrade
        does not strand a node (headscale 0.27 accepts 1.64, 0.28 1.74, 0.29 1.80); on the newest
        known minor, its own minimum.
    type: str
  expected_tags:
    description:
      - The tags each node should have, by node ID, given name or host name (for example built from
        the inventory's C(tailscale_client_advertise_tags)). Nodes not named here are not judged.
    type: dict
  server_name:
    description: The C(server) label of the series in RV(prometheus), to tell several servers apart.
    type: str
    default: headscale
seealso:
  - module: selfhosted.headscale.headscale_info
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
---
- name: Audit the tailnet
  selfhosted.headscale.headscale_audit:
    node_expiry_days: 30
  register: audit

- name: Show the findings
  ansible.builtin.debug:
    msg: "{{ audit.table }}"

- name: Write them for node_exporter's textfile collector
  ansible.builtin.copy:
    content: "{{ audit.prometheus }}"
    dest: /var/lib/prometheus/node-exporter/headscale_audit.prom
    mode: "0644"

- name: Judge client versions and tags too
  selfhosted.headscale.headscale_audit:
    client_versions:
      db-primary: "1.80.3"
      build-box: "1.102.3"
    expected_tags:
      db-primary: ["tag:server"]
"""

RETURN = r"""
findings:
  description: One entry per finding, critical first, then by kind and subject.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: What was found.
      type: str
      sample: node_key_expiring
    severity:
      description: V(critical) or V(warning).
      type: str
    subject:
      description: The node (given name and ID), key or host name concerned.
      type: str
      sample: db-primary (node 3)
    detail:
      description: One sentence with the dates or values found.
      type: str
      sample: node key expires in 5.0 days (2026-12-12T10:00:00Z)
clean:
  description: Whether there is no finding.
  returned: always
  type: bool
summary:
  description: Number of findings per kind, every kind listed (zero included).
  returned: always
  type: dict
table:
  description: The findings as the lines of a table (C(no findings) when clean).
  returned: always
  type: list
  elements: str
prometheus:
  description: The findings in the node_exporter textfile-collector format.
  returned: always
  type: str
checked:
  description: The limits the audit applied and what it read.
  returned: always
  type: dict
  sample:
    node_expiry_days: 14
    offline_days: 30
    key_expiry_days: 7
    min_client_version: "1.80"
    server_version: "0.28.0"
    nodes: 12
    apikeys: 2
    preauthkeys: 5
"""

from ansible_collections.selfhosted.headscale.plugins.module_utils import audit
from ansible_collections.selfhosted.headscale.plugins.module_utils.headscale_client import now
from ansible_collections.selfhosted.headscale.plugins.module_utils.module_base import run_module
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import ValidationError, tags
from ansible_collections.selfhosted.headscale.plugins.module_utils.versions import format_version

DAY_OPTIONS = ("node_expiry_days", "offline_days", "key_expiry_days")


def check(params, client):
    for name in DAY_OPTIONS:
        if params[name] < 0:
            raise ValidationError("%s must be 0 or more days, not %d." % (name, params[name]))
    normalised = {}
    if params["min_client_version"] is not None:
        wanted = audit.client_version(params["min_client_version"])
        if wanted is None:
            raise ValidationError(
                "min_client_version %r is not a version such as '1.80'." % params["min_client_version"])
        normalised["min_client_version"] = "%d.%d" % wanted[:2]
    if params["client_versions"] is not None:
        normalised["client_versions"] = {str(ref): version for ref, version in params["client_versions"].items()}
    for ref, version in (params["client_versions"] or {}).items():
        if not isinstance(version, str) or not version.strip():
            raise ValidationError(
                "client_versions[%r] must be the version text tailscale prints, not %r." % (ref, version))
    if params["expected_tags"] is not None:
        expected = {}
        for ref, wanted in params["expected_tags"].items():
            if not isinstance(wanted, list):
                raise ValidationError("expected_tags[%r] must be a list of tags, not %r." % (ref, wanted))
            expected[str(ref)] = tags(wanted, field="expected_tags[%r]" % (ref,))
        normalised["expected_tags"] = expected
    return normalised


def handle(module, client):
    params = module.params
    if params["min_client_version"] is not None:
        min_client = tuple(int(part) for part in params["min_client_version"].split("."))
    else:
        min_client = audit.next_client_minimum(client.features.version)
    nodes = client.list_nodes()
    apikeys = client.list_apikeys()
    preauthkeys = client.list_preauthkeys()
    moment = now()
    found = audit.findings(
        nodes, apikeys, preauthkeys, moment,
        expiry_days=params["node_expiry_days"], offline_days=params["offline_days"],
        key_days=params["key_expiry_days"],
        client_versions=params["client_versions"], min_client=min_client, expected_tags=params["expected_tags"])
    return {
        "changed": False,
        "findings": found,
        "clean": not found,
        "summary": audit.summary(found),
        "table": audit.table(found),
        "prometheus": audit.prometheus(found, moment, params["server_name"]),
        "checked": {
            "node_expiry_days": params["node_expiry_days"],
            "offline_days": params["offline_days"],
            "key_expiry_days": params["key_expiry_days"],
            "min_client_version": "%d.%d" % min_client[:2],
            "server_version": format_version(client.features.version),
            "nodes": len(nodes),
            "apikeys": len(apikeys),
            "preauthkeys": len(preauthkeys),
        },
    }


def main():
    argument_spec = {
        "node_expiry_days": {"type": "int", "default": 14},
        "offline_days": {"type": "int", "default": 30},
        "key_expiry_days": {"type": "int", "default": 7, "no_log": False},
        "client_versions": {"type": "dict"},
        "min_client_version": {"type": "str"},
        "expected_tags": {"type": "dict"},
        "server_name": {"type": "str", "default": "headscale"},
    }
    run_module(argument_spec, handle, check=check)


if __name__ == "__main__":
    main()
