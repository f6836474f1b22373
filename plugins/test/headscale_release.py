# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: headscale_release
short_description: Whether a value is a headscale release the roles install
version_added: 0.1.0
description:
  - True for a headscale release number (as P(selfhosted.headscale.release_version#test) takes it) from the
    oldest version the collection supports up to the newest minor with a release, the versions the headscale
    role renders configuration for. The modules also talk to development builds of the next minor.
  - The bounds are those of the collection's module_utils C(versions), which the modules use.
options:
  _input:
    description: The value to test.
    type: raw
    required: true
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
- name: Check the headscale version
  ansible.builtin.assert:
    that: headscale_version is selfhosted.headscale.headscale_release
"""

RETURN = r"""
_value:
  description: V(true) when O(_input) is a supported headscale release.
  type: bool
"""

from ansible_collections.selfhosted.headscale.plugins.module_utils.formats import release_version
from ansible_collections.selfhosted.headscale.plugins.module_utils.versions import (
    MIN_SUPPORTED,
    RELEASES_MAX_EXCLUSIVE,
    parse_version,
)


def headscale_release(value):
    return release_version(value) and MIN_SUPPORTED <= parse_version(value) < RELEASES_MAX_EXCLUSIVE


class TestModule:
    def tests(self):
        return {"headscale_release": headscale_release}
