# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: listen_address
short_description: Whether a value is a listen address
version_added: 0.1.0
description:
  - True for a listen address as Go's C(net.Listen) takes it, C(host:port), C(:port) or C([IPv6]:port),
    the port 1 to 65535.
options:
  _input:
    description: The value to test.
    type: raw
    required: true
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
- name: Check the listen address
  ansible.builtin.assert:
    that: headscale_listen_addr is selfhosted.headscale.listen_address
"""

RETURN = r"""
_value:
  description: V(true) when O(_input) is a listen address.
  type: bool
"""

from ansible_collections.selfhosted.headscale.plugins.module_utils.formats import listen_address


class TestModule:
    def tests(self):
        return {"listen_address": listen_address}
