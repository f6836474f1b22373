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
# The releases the roles install and render configuration for (test plugin headscale_release, the
# headscale role's preflight): the development line has none.
RELEASES_MAX_EXCLUSIVE = (0, 30, 0)

# name -> first version with the behaviour (the upstream change in the comment above it). Only differences
# something reads: a gate that is true at the oldest supported version (0.26.1) is no difference.
GATES = {
    # 0.27 #2828: `nodes expire --expiry RFC3339`.
    "node_expire_at": (0, 27, 0),
    # 0.28 #2992: pre-auth keys are expired/deleted by ID and listed without --user.
    "preauthkey_by_id": (0, 28, 0),
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
    # 0.29 #3155 (7c756b82): deleting a user deletes only that user's pre-auth keys again. 0.28's #2992 (1325fd8b,
    # the change behind preauthkey_by_id) made DestroyUser (hscontrol/db/users.go) destroy ListPreAuthKeys(tx),
    # every key of the server; 0.26/0.27 destroy ListPreAuthKeysByUser. So the loss is: preauthkey_by_id and
    # not this.
    "user_delete_scoped_preauthkeys_fix": (0, 29, 0),
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
    """Feature flags of one headscale version: ``Features((0, 28, 0)).tags_as_identity`` is True."""

    def __init__(self, version):
        self.version = tuple(version)
        for name, first in GATES.items():
            setattr(self, name, self.version >= first)

    def __repr__(self):
        return "Features(%s)" % format_version(self.version)


def needs_message(what, feature, version, hint=None):
    """The one sentence for an option the server is too old for, e.g.
    ``expiry: never needs headscale 0.29 or later (this is 0.26.1); use expiry: now.``"""
    first = GATES[feature]
    return "%s needs headscale %d.%d or later (this is %s)%s." % (
        what, first[0], first[1], format_version(version), "; " + hint if hint else "")


def check_supported(version, source):
    """Raise a clear error for versions outside the supported range."""
    if version < MIN_SUPPORTED or version >= MAX_EXCLUSIVE:
        raise HeadscaleError(
            "headscale %s (detected %s) is not supported by selfhosted.headscale; supported versions are %s."
            % (format_version(version), source, SUPPORTED_TEXT)
        )
    return Features(version)
