# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: headscale_client_minimum
short_description: The oldest tailscale client a headscale version accepts
version_added: 0.1.0
description:
  - Returns the oldest tailscale version (C(MAJOR.MINOR)) that the headscale version O(_input) accepts,
    from headscale's minimum supported capability version of that minor (0.26 1.62, 0.27 1.64, 0.28 1.74,
    0.29 1.80). The same table the module M(selfhosted.headscale.headscale_audit) uses.
  - Fails for a headscale minor the collection does not know.
options:
  _input:
    description: A headscale version, such as V(0.29.3).
    type: str
    required: true
seealso:
  - module: selfhosted.headscale.headscale_audit
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
- name: The clients headscale 0.29.3 needs
  ansible.builtin.debug:
    msg: "tailscale {{ '0.29.3' | selfhosted.headscale.headscale_client_minimum }} or newer"  # 1.80
"""

RETURN = r"""
_value:
  description: The oldest accepted tailscale version, C(MAJOR.MINOR).
  type: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.selfhosted.headscale.plugins.module_utils.audit import CLIENT_MINIMUM
from ansible_collections.selfhosted.headscale.plugins.module_utils.versions import parse_version


def headscale_client_minimum(version):
    parsed = parse_version(version)
    if parsed is None or parsed[:2] not in CLIENT_MINIMUM:
        known = ", ".join("%d.%d" % minor for minor in sorted(CLIENT_MINIMUM))
        raise AnsibleFilterError("headscale_client_minimum: no client minimum known for headscale %r (known: %s)"
                                 % (version, known))
    return "%d.%d" % CLIENT_MINIMUM[parsed[:2]]


class FilterModule:
    def filters(self):
        return {"headscale_client_minimum": headscale_client_minimum}
