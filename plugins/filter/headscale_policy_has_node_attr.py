# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: headscale_policy_has_node_attr
short_description: Whether a headscale ACL policy gives a node attribute
version_added: 0.1.0
description:
  - Tells whether some C(nodeAttrs) entry of the ACL policy O(_input) lists O(attr), whatever its target.
  - Reads a HuJSON text too (comments and trailing commas allowed), so an entry that is only in a comment
    does not count. An empty policy has none.
options:
  _input:
    description: The policy, a dictionary or a HuJSON text.
    type: raw
    required: true
  attr:
    description: The node attribute, such as V(disable-captive-portal-detection).
    type: str
    required: true
seealso:
  - plugin: selfhosted.headscale.headscale_policy_node_attr
    plugin_type: filter
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
- name: Say when a HuJSON policy lacks the entry
  ansible.builtin.debug:
    msg: Add the nodeAttrs entry yourself.
  when: not (policy_text | selfhosted.headscale.headscale_policy_has_node_attr('disable-captive-portal-detection'))
"""

RETURN = r"""
_value:
  description: V(true) when a C(nodeAttrs) entry lists O(attr).
  type: bool
"""

from ansible_collections.selfhosted.headscale.plugins.filter.headscale_policy_node_attr import has_node_attr


class FilterModule:
    def filters(self):
        return {"headscale_policy_has_node_attr": has_node_attr}
