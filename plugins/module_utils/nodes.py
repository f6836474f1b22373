# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Node lookup and route planning shared by headscale_node and headscale_routes.

Pure functions over the client's normalised node objects (see docs/dev/client.md), unit-tested with
recordings of real servers.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.selfhosted.headscale.plugins.module_utils import normalize, validation
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError

# headscale approves and serves the two exit routes together (hscontrol/grpcv1.go SetApprovedRoutes).
EXIT_ROUTES = ("0.0.0.0/0", "::/0")


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
    if ref is None or str(ref).strip() == "":
        raise validation.ValidationError("%s must be a node ID, given name or host name, not empty." % field)
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


def require_node(nodes, ref, user=None, field="node"):
    node = find_node(nodes, ref, user=user, field=field)
    if node is None:
        raise HeadscaleError(
            "%s %r does not exist on headscale%s (looked up by ID, given name and host name)."
            % (field, ref, " for user %r" % user if user is not None else ""))
    return node


def sort_routes(routes):
    """IPv4 first, then by network; the order the module returns and sends."""
    return sorted(set(routes), key=lambda item: (ipaddress.ip_network(item).version, ipaddress.ip_network(item)))


def validate_subnet_routes(routes, field="routes"):
    """Validated canonical CIDRs; exit routes are refused here (they belong to ``exit_node``)."""
    if routes is None:
        return None
    checked = validation.cidrs(routes, field=field)
    exits = [route for route in checked if route in EXIT_ROUTES]
    if exits:
        raise validation.ValidationError(
            "%s item %r is an exit route; set exit_node: true instead (headscale approves 0.0.0.0/0 and ::/0 "
            "together)." % (field, exits[0]))
    return checked


def plan_routes(approved, mode, routes, exit_node, allow_empty=False):
    """The approved routes a node should end up with.

    ``approved``: the node's currently approved routes. ``mode``: ``equal`` (subnet routes become exactly
    ``routes``), ``include`` (add ``routes``) or ``exclude`` (remove ``routes``). ``routes``: validated
    subnet routes, or ``None`` to leave subnet routes alone. ``exit_node``: ``True`` approves both exit
    routes, ``False`` removes them, ``None`` leaves them as they are.

    An empty ``routes`` list in ``equal`` mode removes every approved subnet route; that needs
    ``allow_empty`` (headscale's approve-routes replaces the whole list, so an empty or forgotten list
    would wipe approvals).
    """
    if mode not in ("equal", "include", "exclude"):
        raise validation.ValidationError("mode must be one of equal, include, exclude, not %r." % (mode,))
    if routes is None and exit_node is None:
        raise validation.ValidationError("give routes, exit_node, or both: there is nothing to manage.")
    if mode == "equal" and routes is not None and not routes and not allow_empty:
        raise validation.ValidationError(
            "routes is empty with mode equal, which would remove every approved subnet route of the node; "
            "set allow_empty: true to do that on purpose.")
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
    return sort_routes(subnets | exits)


def unadvertised(desired, available):
    """Routes in ``desired`` that the node does not advertise (approved anyway, but not served)."""
    return sort_routes(set(desired) - set(available or []))


def has_exit(routes):
    return set(EXIT_ROUTES) <= set(routes or [])


def parse_expiry(value, field="expiry"):
    """``now`` | ``never`` | an RFC 3339 time -> ``("now", None)``, ``("never", None)`` or ``("at", datetime)``."""
    text = str(value).strip() if value is not None else ""
    if text.lower() in ("now", "never"):
        return text.lower(), None
    try:
        stamp = normalize.parse_time(text) if text else None
    except ValueError:
        stamp = None
    if stamp is None:
        raise validation.ValidationError(
            "%s %r is not valid: use 'now', 'never' or an RFC 3339 time such as '2030-01-31T12:00:00Z'."
            % (field, value))
    return "at", stamp


def expiry_change(current, kind, at, now):
    """Whether a node whose expiry is ``current`` (datetime or None = never) needs a change for the wanted
    expiry, compared at one-second precision. ``now``: not if it has already expired."""
    if kind == "now":
        return current is None or current > now
    if kind == "never":
        return current is not None
    return current is None or abs((current - at).total_seconds()) >= 1


def registration_id_error(value, auth_register):
    """A sentence naming what is wrong with a registration ID, or ``None``.

    0.25-0.28 use 24-character registration IDs; 0.29 auth IDs are ``hskey-authreq-`` + 24 characters
    (hscontrol/types/common.go). People often pass a pre-auth key instead (#2988).
    """
    text = str(value or "")
    expected = ("'hskey-authreq-' followed by 24 characters" if auth_register else "24 characters")
    legacy_key = len(text) == 48 and all(c in "0123456789abcdef" for c in text)  # <= 0.27 pre-auth keys
    if text.startswith(("hskey-auth-", "hskey-api-")) or legacy_key:
        return ("registration_id looks like a pre-auth or API key; it must be the ID at the end of the "
                "/register/<id> URL the client shows (%s)." % expected)
    if auth_register:
        ok = text.startswith("hskey-authreq-") and len(text) == 38
    else:
        ok = len(text) == 24 and not text.startswith("hskey-")
    if not ok:
        return ("registration_id is not a registration ID of this headscale version (it has %d characters): "
                "expected %s, the last path segment of the /register/<id> URL the client shows."
                % (len(text), expected))
    return None
