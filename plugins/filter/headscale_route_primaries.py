# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: headscale_route_primaries
short_description: One line per subnet route naming its primary router and the standby ones
version_added: 0.1.0
description:
  - >-
    From headscale's node list (RV(selfhosted.headscale.headscale_info#module:nodes)), one line per
    subnet route that a node advertises with approval, such as
    C(192.168.1.0/24: router-a (primary), router-b (standby)). A router that is offline on headscale
    says so; a route without a primary ends in C(- no primary).
  - Used by C(playbooks/verify.yml).
options:
  _input:
    description: The nodes, as M(selfhosted.headscale.headscale_info) returns them.
    type: list
    elements: dict
    required: true
  hosts_by_id:
    description: Inventory host of each node, by node ID; other nodes are named by headscale's name and ID.
    type: dict
    default: {}
seealso:
  - module: selfhosted.headscale.headscale_info
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
- name: Show the subnet routers
  ansible.builtin.debug:
    msg: "{{ info.nodes | selfhosted.headscale.headscale_route_primaries }}"
"""

RETURN = r"""
_value:
  description: The lines, routes in address order.
  type: list
  elements: str
"""

from ansible_collections.selfhosted.headscale.plugins.module_utils.subnet_routers import summary_lines


def headscale_route_primaries(nodes, hosts_by_id=None):
    return summary_lines(nodes, hosts_by_id or {})


class FilterModule:
    def filters(self):
        return {"headscale_route_primaries": headscale_route_primaries}
