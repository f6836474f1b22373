# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Node lookup, route planning and expiry decisions shared by headscale_node and headscale_routes
(their input is validated by ``validation``).

Pure functions over the client's normalised node objects (see docs/dev/client.md), unit-tested with
recordings of real servers.
"""

from __future__ import annotations

from ansible_collections.selfhosted.headscale.plugins.module_utils import normalize
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import EXIT_ROUTES


def describe(node):
    """``'router-1' (ID 3)`` for messages."""
    return "%r (ID %s)" % (node.get("given_name") or node.get("name"), node["id"])


def find_node(nodes, ref, user=None, field="node"):
    """The node that ``ref`` names, or ``None`` when no node matches.

    ``ref`` is a node ID (an int, or a string of digits), a given name (the MagicDNS name, unique on
    the server) or a host name (what the client reported; several nodes may share one). ``user``
    (a user name) narrows the candidates. A reference that fits several nodes raises a
    ``HeadscaleError`` listing their IDs, so that nothing is ever changed on a guessed node.
    """
    candidates = [n for n in nodes if user is None or n.get("user") == user]
    text = str(ref).strip()
    if isinstance(ref, int) or text.isdigit():
        found = [n for n in candidates if n["id"] == int(text)]
        return found[0] if found else None
    found = [n for n in candidates if text in (n.get("given_name"), n.get("name"))]
    if len(found) > 1:
        raise HeadscaleError(
            "%s %r is ambiguous: it matches %d nodes (%s); use the node ID%s."
            % (field, text, len(found),
               ", ".join("ID %s: name %r, given name %r, user %r" % (n["id"], n.get("name"), n.get("given_name"),
                                                                     n.get("user"))
                         for n in sorted(found, key=lambda n: n["id"])),
               "" if user is not None else " or narrow it with user"))
    return found[0] if found else None


def not_found(ref, user=None, field="node"):
    """The error for a reference no node matches."""
    return HeadscaleError(
        "%s %r does not exist on headscale%s (looked up by ID, given name and host name)."
        % (field, ref, " for user %r" % user if user is not None else ""))


def require_node(nodes, ref, user=None, field="node"):
    node = find_node(nodes, ref, user=user, field=field)
    if node is None:
        raise not_found(ref, user, field)
    return node


def plan_routes(approved, mode, routes, exit_node):
    """The approved routes a node should end up with, sorted like ``normalize.routes``.

    ``approved``: the node's currently approved routes. ``mode``: ``equal`` (subnet routes become exactly
    ``routes``), ``include`` (add ``routes``) or ``exclude`` (remove ``routes``). ``routes``: validated
    subnet routes, or ``None`` to leave subnet routes alone. ``exit_node``: ``True`` approves both exit
    routes, ``False`` removes them, ``None`` leaves them as they are. (headscale_routes validated the
    combination in its ``check``.)
    """
    current = set(approved or [])
    current_exit = current & set(EXIT_ROUTES)
    subnets = current - set(EXIT_ROUTES)
    if routes is not None:
        wanted = set(routes)
        if mode == "equal":
            subnets = wanted
        elif mode == "include":
            subnets = subnets | wanted
        else:
            subnets = subnets - wanted
    if exit_node is None:
        exits = current_exit
    else:
        exits = set(EXIT_ROUTES) if exit_node else set()
    return normalize.routes(subnets | exits)


def unadvertised(desired, available):
    """Routes in ``desired`` that the node does not advertise (approved anyway, but not served)."""
    return normalize.routes(set(desired) - set(available or []))


def has_exit(routes):
    return set(EXIT_ROUTES) <= set(routes or [])


def expiry_change(current, kind, at, now):
    """Whether a node whose expiry is ``current`` (datetime or None = never) needs a change for the wanted
    expiry, compared at one-second precision. ``now``: not if it has already expired."""
    if kind == "now":
        return current is None or current > now
    if kind == "never":
        return current is not None
    return current is None or abs((current - at).total_seconds()) >= 1
