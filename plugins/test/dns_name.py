# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: dns_name
short_description: Whether a value is a DNS name
version_added: 0.1.0
description:
  - True for a DNS name as tailscale's C(dnsname.ValidHostname) takes it, at most 253 characters, labels of
    letters, digits and inner hyphens, each at most 63 characters.
options:
  _input:
    description: The value to test.
    type: raw
    required: true
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
- name: Check the host name
  ansible.builtin.assert:
    that: tailscale_client_hostname is selfhosted.headscale.dns_name
"""

RETURN = r"""
_value:
  description: V(true) when O(_input) is a DNS name.
  type: bool
"""

from ansible_collections.selfhosted.headscale.plugins.module_utils.formats import dns_name


class TestModule:
    def tests(self):
        return {"dns_name": dns_name}
