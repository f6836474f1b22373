# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: http_url
short_description: Whether a value is an http(s) URL of the form the roles accept
version_added: 0.1.0
description:
  - True for C(scheme://host[:port]) followed by what O(path) allows. The host is a name, an IPv4 address or
    an IPv6 address in brackets; the port is 1 to 65535.
options:
  _input:
    description: The value to test.
    type: raw
    required: true
  path:
    description:
      - What may follow C(host[:port]). V(any) a path (or none), V(root) only an optional C(/)
        (headscale serves everything at the root), V(none) nothing.
    type: str
    choices: [any, root, none]
    default: any
  schemes:
    description: The schemes allowed.
    type: list
    elements: str
    default: [http, https]
  scheme_required:
    description: Whether the scheme must be there; V(false) also takes C(host[:port]).
    type: bool
    default: true
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
- name: Check headscale's URL (no path)
  ansible.builtin.assert:
    that: headscale_server_url is selfhosted.headscale.http_url(path='root')

- name: Check the ACME directory
  ansible.builtin.assert:
    that: caddy_acme_ca is selfhosted.headscale.http_url(schemes=['https'])

- name: List the registry mirrors that are no URL
  ansible.builtin.debug:
    msg: "{{ docker_registry_mirrors | reject('selfhosted.headscale.http_url') }}"
"""

RETURN = r"""
_value:
  description: V(true) when O(_input) is such a URL.
  type: bool
"""

from ansible_collections.selfhosted.headscale.plugins.module_utils.formats import http_url


class TestModule:
    def tests(self):
        return {"http_url": http_url}
