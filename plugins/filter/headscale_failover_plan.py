# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: headscale_failover_plan
short_description: The plan of a subnet-router failover drill, or why it must not run
version_added: 0.1.0
description:
  - From headscale's node list (RV(selfhosted.headscale.headscale_info#module:nodes)), finds the routers
    of a subnet route (nodes that advertise it and have it approved; exit routes are not subnet
    routes) and the one headscale made primary (the route is in its C(subnet_routes)).
  - Returns C(route), C(routers) (each C(id), C(label), C(host), C(online), C(primary)), C(primary),
    C(standby) and C(problems), the sentences that say why the drill must not run (fewer than two
    routers, a router offline, no single primary, a primary that is not a node of the inventory).
  - Used by C(playbooks/failover_drill.yml).
options:
  _input:
    description: The nodes, as M(selfhosted.headscale.headscale_info) returns them.
    type: list
    elements: dict
    required: true
  hosts_by_id:
    description: Inventory host of each node, by node ID.
    type: dict
    default: {}
  route:
    description: The subnet (CIDR). Empty picks the one route that two or more routers serve.
    type: str
    default: ""
seealso:
  - module: selfhosted.headscale.headscale_info
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
- name: Plan the drill for 192.168.1.0/24
  ansible.builtin.set_fact:
    plan: "{{ info.nodes | selfhosted.headscale.headscale_failover_plan(hosts_by_id, '192.168.1.0/24') }}"
  vars:
    hosts_by_id: {"3": router-a, "4": router-b}
"""

RETURN = r"""
_value:
  description: The plan; C(problems) is empty when the drill may run.
  type: dict
"""

from ansible_collections.selfhosted.headscale.plugins.module_utils.subnet_routers import drill_plan


def headscale_failover_plan(nodes, hosts_by_id=None, route=""):
    return drill_plan(nodes, hosts_by_id or {}, route or "")


class FilterModule:
    def filters(self):
        return {"headscale_failover_plan": headscale_failover_plan}
