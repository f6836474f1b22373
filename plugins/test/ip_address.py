# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: ip_address
short_description: Whether a value is an IP address
version_added: 0.1.0
description:
  - True for an IPv4 address (four numbers up to 255) or a value shaped like an IPv6 address
    (hexadecimal digits, colons and dots, at least one colon).
options:
  _input:
    description: The value to test.
    type: raw
    required: true
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
- name: List the DNS servers that are no IP address
  ansible.builtin.debug:
    msg: "{{ docker_daemon_dns | reject('selfhosted.headscale.ip_address') }}"
"""

RETURN = r"""
_value:
  description: V(true) when O(_input) is an IP address.
  type: bool
"""

from ansible_collections.selfhosted.headscale.plugins.module_utils.formats import ip_address


class TestModule:
    def tests(self):
        return {"ip_address": ip_address}
