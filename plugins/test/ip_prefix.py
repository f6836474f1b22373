# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: ip_prefix
short_description: Whether a value is an IP prefix in CIDR notation
version_added: 0.1.0
description:
  - True for an IPv4 address with a prefix length from 0 to 32, or an IPv6-shaped address with one from
    0 to 128, such as V(10.0.0.0/8) or V(fd7a:115c:a1e0::/48). Whether the prefix is canonical is not tested.
options:
  _input:
    description: The value to test.
    type: raw
    required: true
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
- name: Check the subnet
  ansible.builtin.assert:
    that: docker_shared_network_subnet is selfhosted.headscale.ip_prefix
"""

RETURN = r"""
_value:
  description: V(true) when O(_input) is an IP prefix.
  type: bool
"""

from ansible_collections.selfhosted.headscale.plugins.module_utils.formats import ip_prefix


class TestModule:
    def tests(self):
        return {"ip_prefix": ip_prefix}
