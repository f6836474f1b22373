# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Input validation run before any write. Pure functions: each returns the normalised value or raises
``ValidationError`` with a sentence that names the offending field."""

from __future__ import annotations

import ipaddress
import re

from ansible.module_utils.six.moves.urllib.parse import urlsplit
from ansible_collections.selfhosted.headscale.plugins.module_utils.normalize import parse_time, routes

# headscale approves and serves the two exit routes together (hscontrol/grpcv1.go SetApprovedRoutes).
EXIT_ROUTES = ("0.0.0.0/0", "::/0")


class ValidationError(ValueError):
    pass


def cidr(value, field="route"):
    """A canonical IPv4/IPv6 prefix such as ``10.0.0.0/24``.

    Malformed input and prefixes with host bits set raise; the message names the field and,
    where one exists, the canonical prefix to write instead.
    """
    text = str(value).strip() if value is not None else ""
    address, slash, length = text.partition("/")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValidationError(
            "%s %r is not a valid CIDR prefix (expected e.g. 10.0.0.0/24 or fd00::/64)." % (field, value)
        ) from None
    maximum = ip.max_prefixlen
    if not slash or not length.isdigit() or int(length) > maximum:
        raise ValidationError(
            "%s %r is not a valid CIDR prefix: it needs a prefix length from 0 to %d after '/' for IPv%d."
            % (field, value, maximum, ip.version)
        )
    network = ipaddress.ip_network("%s/%s" % (ip, int(length)), strict=False)
    canonical = str(network)
    if network.network_address != ip:
        raise ValidationError(
            "%s %r has host bits set; the canonical prefix is %r." % (field, value, canonical)
        )
    if canonical != text:
        raise ValidationError("%s %r is not in canonical form; write it as %r." % (field, value, canonical))
    return text


def cidrs(values, field="routes"):
    """A list of prefixes, validated one by one, de-duplicated and sorted like ``normalize.routes``."""
    return routes({cidr(item, field="%s item" % field) for item in values or []})


_TAG = re.compile(r"^tag:[a-z0-9][a-z0-9._-]*$")


def tag(value, field="tags"):
    text = str(value) if value is not None else ""
    if not text.startswith("tag:"):
        raise ValidationError("%s item %r must start with 'tag:' (e.g. 'tag:%s')." % (field, value, text or "server"))
    if not _TAG.match(text):
        raise ValidationError(
            "%s item %r is not a valid tag: after 'tag:' use lowercase letters, digits, '-', '_' or '.'."
            % (field, value)
        )
    return text


def tags(values, field="tags"):
    return sorted({tag(item, field=field) for item in values or []})


# Prometheus model.ParseDuration units (what headscale parses), largest first.
_UNITS = (("y", 365 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def expiration(value, field="expiration"):
    """A duration like ``30m``, ``24h``, ``90d``, ``1y`` or ``1d12h`` -> seconds (int > 0)."""
    text = str(value).strip() if value is not None else ""
    match = _DURATION.match(text)
    if not text or not match:
        raise ValidationError(
            "%s %r is not a duration; use a number followed by a unit: s, m, h, d, w or y (e.g. 30m, 24h, 90d, 1y)."
            % (field, value)
        )
    amounts = match.groups()
    seconds = sum(int(amounts[index]) * unit[1] for index, unit in enumerate(_UNITS) if amounts[index])
    if seconds <= 0:
        raise ValidationError("%s %r must be longer than zero." % (field, value))
    return seconds


def duration_text(seconds):
    """Seconds -> the shortest exact duration headscale's CLI parses (``86400`` -> ``1d``)."""
    parts = []
    for unit, size in _UNITS:
        if seconds >= size:
            parts.append("%d%s" % (seconds // size, unit))
            seconds %= size
    return "".join(parts) or "0s"


def username(value, field="name"):
    """headscale 0.25+ rules (util.ValidateUsername, enforced by 0.26): >= 2 characters, starts with a letter,
    then letters, digits, ``-``, ``.``, ``_`` and at most one ``@``. (0.29 stopped enforcing them; we keep
    them for new names because policies refer to users as ``name@``.)"""
    text = str(value) if value is not None else ""
    valid = (
        len(text) >= 2 and text[0].isalpha() and text.count("@") <= 1
        and all(char.isalnum() or char in "-._@" for char in text)
    )
    if not valid:
        raise ValidationError(
            "%s %r is not a valid headscale user name: use at least 2 characters, start with a letter, "
            "then letters, digits, '-', '.', '_' and at most one '@'." % (field, value)
        )
    return text


def required(value, field):
    """A non-empty string (names of existing objects, which may predate today's naming rules)."""
    if value is None or not str(value).strip():
        raise ValidationError("%s must not be empty." % field)
    return str(value)


_NODENAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def nodename(value, field="name"):
    """A node's given name is a DNS label: lowercase letters, digits and '-', at most 63 characters."""
    text = str(value) if value is not None else ""
    if not _NODENAME.match(text):
        raise ValidationError(
            "%s %r is not a valid node name: use a DNS label (lowercase letters, digits and '-', "
            "at most 63 characters, not starting or ending with '-')." % (field, value)
        )
    return text


def api_url(value, field="api_url"):
    """The base URL of the REST API: ``http`` or ``https``, a host, an optional port and path; no query,
    fragment or credentials. Returns it without a trailing ``/``."""
    text = str(value).strip() if value is not None else ""
    example = "e.g. https://headscale.example.com or http://127.0.0.1:8080"
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError for a port that is not a number from 0 to 65535
    except ValueError as exc:
        raise ValidationError("%s %r is not a valid URL (%s); %s." % (field, value, exc, example)) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError(
            "%s %r is not an http:// or https:// URL; write the headscale server's base URL, %s."
            % (field, value, example))
    if not parts.hostname or any(char.isspace() for char in text):
        raise ValidationError("%s %r has no valid host; %s." % (field, value, example))
    if parts.username is not None or parts.password is not None:
        raise ValidationError("%s %r must not contain credentials; pass the API key as api_key." % (field, value))
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ValidationError("%s %r must not have a query or fragment; %s." % (field, value, example))
    if port == 0:
        raise ValidationError("%s %r has port 0; %s." % (field, value, example))
    return text.rstrip("/")


def subnet_routes(values, field="routes"):
    """Validated canonical CIDRs, sorted; exit routes are refused here (they belong to ``exit_node``)."""
    checked = cidrs(values, field=field)
    exits = [route for route in checked if route in EXIT_ROUTES]
    if exits:
        raise ValidationError(
            "%s item %r is an exit route; set exit_node: true instead (headscale approves 0.0.0.0/0 and ::/0 "
            "together)." % (field, exits[0]))
    return checked


def node_ref(value, field="node"):
    """A node ID, given name or host name (looked up later by ``nodes.find_node``)."""
    if value is None or str(value).strip() == "":
        raise ValidationError("%s must be a node ID, given name or host name, not empty." % field)
    return value


def expiry(value, field="expiry"):
    """``now`` | ``never`` | an RFC 3339 time -> ``("now", None)``, ``("never", None)`` or ``("at", datetime)``."""
    text = str(value).strip() if value is not None else ""
    if text.lower() in ("now", "never"):
        return text.lower(), None
    try:
        stamp = parse_time(text) if text else None
    except ValueError:
        stamp = None
    if stamp is None:
        raise ValidationError(
            "%s %r is not valid: use 'now', 'never' or an RFC 3339 time such as '2030-01-31T12:00:00Z'."
            % (field, value))
    return "at", stamp


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
