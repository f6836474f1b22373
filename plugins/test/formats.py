# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The input formats the roles check (plugins/module_utils/formats.py) as test plugins, each
documented in the YAML file of its name beside this one."""

from __future__ import annotations

from ansible_collections.selfhosted.headscale.plugins.module_utils import formats

NAMES = ("release_version", "headscale_release", "http_url", "listen_address", "dns_name", "ip_address", "ip_prefix")


class TestModule:
    def tests(self):
        return {name: getattr(formats, name) for name in NAMES}
