# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: release_version
short_description: Whether a value is a release number
version_added: 0.1.0
description:
  - True for a release as its number, three parts, without a leading C(v): V(0.29.3), and with O(prerelease)
    also V(0.28.0-beta.2) (C(alpha), C(beta) or C(rc) and a number).
  - False for anything else, such as V(v0.29.3), V(0.29) or V(latest); a value that is no string is none.
options:
  _input:
    description: The value to test.
    type: raw
    required: true
  prerelease:
    description: Allow a pre-release suffix.
    type: bool
    default: true
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
- name: Check the version
  ansible.builtin.assert:
    that: headscale_version is selfhosted.headscale.release_version

- name: Check a version that has no pre-releases
  ansible.builtin.assert:
    that: tailscale_client_version is selfhosted.headscale.release_version(prerelease=false)
"""

RETURN = r"""
_value:
  description: V(true) when O(_input) is a release number.
  type: bool
"""

from ansible_collections.selfhosted.headscale.plugins.module_utils.formats import release_version


class TestModule:
    def tests(self):
        return {"release_version": release_version}
