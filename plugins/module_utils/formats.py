# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The input formats the roles check before they change anything, each written once.

The collection's test plugins (plugins/test/) are these functions; every role's preflight uses them.
"""

from __future__ import annotations

import re

from ansible_collections.selfhosted.headscale.plugins.module_utils.versions import (
    MIN_SUPPORTED,
    RELEASES_MAX_EXCLUSIVE,
    parse_version,
)

# A port, 1 to 65535.
PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
# A host in a URL or listen address: a name, an IPv4 address or an IPv6 address in brackets.
HOST = r"([A-Za-z0-9_-]+([.][A-Za-z0-9_-]+)*|\[[0-9A-Fa-f:.]+\])"
IPV4 = r"((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])[.]){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])"
IPV6 = r"[0-9a-fA-F:]*:[0-9a-fA-F:.]*"

# What comes after host[:port] in a URL, by the ``path`` option of http_url.
_PATHS = {
    "any": r"(/\S*)?",  # OIDC issuers, DERP maps, ACME directories, health checks
    # headscale serves everything at the root, and tailscale dials /ts2021 at the host's root
    # (tailscale control/controlhttp/client.go) whatever path its login server has.
    "root": r"/?",
    "none": "",  # Caddy's reverse_proxy upstreams
}

_RELEASE = re.compile(r"^[0-9]+[.][0-9]+[.][0-9]+(-(alpha|beta|rc)[.][0-9]+)?$")
_STABLE_RELEASE = re.compile(r"^[0-9]+[.][0-9]+[.][0-9]+$")
_LISTEN = re.compile(r"^(%s)?:%s$" % (HOST, PORT))
# tailscale's dnsname.ValidHostname: at most 253 characters, labels of letters, digits and
# inner hyphens, each at most 63.
_DNS_NAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?[.])*"
                       r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_IP_ADDRESS = re.compile(r"^(%s|%s)$" % (IPV4, IPV6))
_IP_PREFIX = re.compile(r"^(%s/(3[0-2]|[12]?[0-9])|%s/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))$" % (IPV4, IPV6))


def _matches(pattern, value):
    """A value that is no string has no format."""
    return isinstance(value, str) and pattern.match(value) is not None


def release_version(value, prerelease=True):
    """A release as its number, without a leading v: ``0.29.3``; ``0.28.0-beta.2`` with ``prerelease``."""
    return _matches(_RELEASE if prerelease else _STABLE_RELEASE, value)


def headscale_release(value):
    """A headscale release the roles install: from the oldest supported version up to the newest minor
    with a release (versions.py, whose range the modules use)."""
    return release_version(value) and MIN_SUPPORTED <= parse_version(value) < RELEASES_MAX_EXCLUSIVE


def http_url(value, path="any", schemes=("http", "https"), scheme_required=True):
    """``scheme://host[:port]`` and what ``path`` allows after it (``any``, ``root``: an optional
    ``/``, ``none``); without ``scheme_required`` the scheme may be left out."""
    if path not in _PATHS:
        raise ValueError("path must be one of %s, not %r" % (", ".join(_PATHS), path))
    scheme = "(%s)://" % "|".join(re.escape(name) for name in schemes)
    pattern = "^%s%s(:%s)?%s$" % (scheme if scheme_required else "(%s)?" % scheme, HOST, PORT, _PATHS[path])
    return _matches(re.compile(pattern), value)


def listen_address(value):
    """A listen address as Go's net.Listen takes it: ``host:port``, ``:port`` or ``[IPv6]:port``."""
    return _matches(_LISTEN, value)


def dns_name(value):
    """A DNS name as tailscale's dnsname.ValidHostname takes it."""
    return _matches(_DNS_NAME, value)


def ip_address(value):
    """An IPv4 address (four numbers up to 255) or something shaped like an IPv6 address."""
    return _matches(_IP_ADDRESS, value)


def ip_prefix(value):
    """An IPv4 or IPv6 address with a prefix length in range: ``10.0.0.0/8``, ``fd7a::/48``."""
    return _matches(_IP_PREFIX, value)
