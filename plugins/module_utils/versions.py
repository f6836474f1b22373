# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Headscale versions: parsing, the supported range, and one feature gate per upstream change.

Every behaviour that differs between headscale versions is named here once; transports and the
client ask ``features.<name>`` instead of comparing version numbers themselves.
"""

from __future__ import annotations

import re

from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError

MIN_SUPPORTED = (0, 26, 0)
# 0.30 is the unreleased development line (CLI speaks HTTP, camelCase JSON); accepted on a best-effort basis.
MAX_EXCLUSIVE = (0, 31, 0)
SUPPORTED_TEXT = "0.26.1 to 0.29.x (0.30 development builds on a best-effort basis)"

# name -> (first version with the behaviour, upstream change)
GATES = {
    # 0.26 #2542: pre-auth key CLI/API take a user ID (not a name) and return the full user object.
    "preauthkey_user_id": (0, 26, 0),
    # 0.26 #2422: routes live on the node (available/approved/subnet routes, `nodes approve-routes`).
    "node_routes": (0, 26, 0),
    # 0.26 #2553: `headscale policy check -f FILE` exists (offline parse only before 0.29).
    "policy_check": (0, 26, 0),
    # 0.27 #2828: `nodes expire --expiry RFC3339`.
    "node_expire_at": (0, 27, 0),
    # 0.27 #2656: the CLI runs without a config file; version has its own -o flag.
    "config_optional": (0, 27, 0),
    # 0.27: `GET /api/v1/health` exists (used to probe versions over the API).
    "api_health": (0, 27, 0),
    # 0.28 #2992: pre-auth keys are expired/deleted by ID and listed without --user.
    "preauthkey_by_id": (0, 28, 0),
    # 0.28 hashed keys: pre-auth and API key secrets are bcrypt-hashed and shown only by `create`.
    "hashed_keys": (0, 28, 0),
    # 0.28 tags as identity: one `tags` field replaces forced/valid/invalid tags; tag-only pre-auth keys.
    "tags_as_identity": (0, 28, 0),
    # 0.28 #3016: `apikeys expire|delete --id`.
    "apikey_by_id": (0, 28, 0),
    # 0.29 #1850: `headscale auth register|approve|reject`; `nodes register` deprecated.
    "auth_register": (0, 29, 0),
    # 0.29: `nodes expire --disable` / `?disableExpiry=true` (never expire).
    "node_expiry_disable": (0, 29, 0),
    # 0.29: `policy check` validates on the server (CheckPolicy RPC, `POST /api/v1/policy/check`).
    "policy_check_server": (0, 29, 0),
    # 0.29 #3089: tagged nodes have no user and do not block `users destroy`.
    "tagged_nodes_userless": (0, 29, 0),
    # 0.30-dev: CLI output uses the REST shape (camelCase, string IDs, RFC3339) and RFC 7807 errors.
    "cli_rest_shape": (0, 30, 0),
}

_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+~].*)?$")


def parse_version(text):
    """``'v0.29.3'`` -> ``(0, 29, 3)``; ``None`` when the string carries no version (e.g. ``dev``)."""
    if text is None:
        return None
    match = _VERSION_RE.match(str(text).strip())
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def format_version(version):
    return ".".join(str(part) for part in version)


class Features:
    """Feature flags of one headscale version: ``Features((0, 28, 0)).hashed_keys`` is True."""

    def __init__(self, version):
        self.version = tuple(version)
        for name, first in GATES.items():
            setattr(self, name, self.version >= first)

    def __repr__(self):
        return "Features(%s)" % format_version(self.version)


def check_supported(version, source):
    """Raise a clear error for versions outside the supported range."""
    if version < MIN_SUPPORTED or version >= MAX_EXCLUSIVE:
        raise HeadscaleError(
            "headscale %s (detected %s) is not supported by selfhosted.headscale; supported versions are %s."
            % (format_version(version), source, SUPPORTED_TEXT)
        )
    return Features(version)
