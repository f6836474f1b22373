# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn headscale JSON (CLI snake_case/omitempty/{seconds,nanos} or REST camelCase/RFC3339/string IDs)
into the same plain Python objects, whatever the transport and version.

Pure functions; unit tests feed them recordings of the real binaries.
"""

from __future__ import annotations

import datetime
import ipaddress
import re

UTC = datetime.timezone.utc  # noqa: UP017 - modules also run on target Pythons < 3.11
# Go's zero time.Time, used by headscale for "unset" timestamps (e.g. node expiry without expiry).
_ZERO_SECONDS = -62135596800
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})$"
)

# The pseudo-user headscale (0.28+) shows as owner of tagged nodes in `nodes list`.
TAGGED_DEVICES_USER_ID = 2147455555

REGISTER_METHODS = {
    0: None,
    1: "auth_key",
    2: "cli",
    3: "oidc",
    "REGISTER_METHOD_UNSPECIFIED": None,
    "REGISTER_METHOD_AUTH_KEY": "auth_key",
    "REGISTER_METHOD_CLI": "cli",
    "REGISTER_METHOD_OIDC": "oidc",
}


def _camel(name):
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def field(data, name, default=None):
    """Read ``name`` (snake_case) from a CLI or REST object (tries camelCase too)."""
    if not isinstance(data, dict):
        return default
    if name in data:
        value = data[name]
    else:
        value = data.get(_camel(name), default)
    return default if value is None else value


def as_list(value):
    """``null``/missing -> ``[]``; otherwise a list."""
    if value is None:
        return []
    return list(value)


def as_id(value):
    """IDs are numbers on the CLI and strings over REST; both become ``int`` (``None`` stays ``None``)."""
    if value is None or value == "":
        return None
    return int(value)


def as_str(value):
    """Empty strings (REST) and omitted fields (CLI) both become ``None``."""
    if value is None or value == "":
        return None
    return str(value)


def parse_time(value):
    """``{seconds, nanos}`` or RFC3339 -> timezone-aware UTC datetime; unset/zero time -> ``None``."""
    if value is None or value in ("", {}):
        return None
    if isinstance(value, dict):
        seconds = int(value.get("seconds", 0))
        nanos = int(value.get("nanos", 0))
        if seconds <= _ZERO_SECONDS:
            return None
        return _EPOCH + datetime.timedelta(seconds=seconds, microseconds=nanos // 1000)
    match = _RFC3339.match(str(value))
    if not match:
        raise ValueError("not an RFC3339 timestamp: %r" % (value,))
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if int(year) <= 1:
        return None
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    stamp = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=UTC)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        stamp -= sign * datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return stamp


def format_time(value):
    """A datetime -> RFC3339 text in UTC (``2026-11-26T10:05:34.862416Z``); ``None`` stays ``None``."""
    if value is None:
        return None
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def _route_key(text):
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return (9, text)
    return (network.version, int(network.network_address), network.prefixlen, text)


def routes(value):
    """A route list (``null`` -> ``[]``), sorted IPv4 first then IPv6 (headscale's order varies)."""
    return sorted(as_list(value), key=_route_key)


def user(data):
    return {
        "id": as_id(field(data, "id")),
        "name": as_str(field(data, "name")),
        "display_name": as_str(field(data, "display_name")),
        "email": as_str(field(data, "email")),
        "provider": as_str(field(data, "provider")),
        "provider_id": as_str(field(data, "provider_id")),
        "profile_pic_url": as_str(field(data, "profile_pic_url")),
        "created_at": parse_time(field(data, "created_at")),
    }


def _owner(data):
    """(user name, user id) of a key/node owner; tag-owned objects have no user."""
    owner = field(data, "user")
    if owner is None or owner == {}:
        return None, None
    if isinstance(owner, str):  # <= 0.25 shape, kept for robustness
        return as_str(owner), None
    owner_id = as_id(field(owner, "id"))
    if owner_id == TAGGED_DEVICES_USER_ID:
        return None, None
    return as_str(field(owner, "name")), owner_id


def mask_preauthkey(key):
    """Masked display form: hashed keys keep their public prefix, legacy plaintext keys show nothing."""
    if not key:
        return None
    if key.startswith("hskey-auth-"):
        prefix = key[len("hskey-auth-"):len("hskey-auth-") + 12]
        return "hskey-auth-%s-***" % prefix
    return "***"


def preauthkey(data, reveal=False):
    """A pre-auth key. ``key`` is masked unless ``reveal`` (only for the response of `create`)."""
    name, owner_id = _owner(data)
    raw_key = as_str(field(data, "key"))
    return {
        "id": as_id(field(data, "id")),
        "key": raw_key if reveal else mask_preauthkey(raw_key),
        "user": name,
        "user_id": owner_id,
        "reusable": bool(field(data, "reusable", False)),
        "ephemeral": bool(field(data, "ephemeral", False)),
        "used": bool(field(data, "used", False)),
        "expiration": parse_time(field(data, "expiration")),
        "created_at": parse_time(field(data, "created_at")),
        "acl_tags": sorted(as_list(field(data, "acl_tags"))),
    }


def preauthkey_secret(data):
    """The full secret if the server shows it (<= 0.27 and legacy keys), else ``None``."""
    key = as_str(field(data, "key"))
    if not key or key.endswith("***"):
        return None
    return key


def apikey_prefix(text):
    """Normalise an API key prefix as shown by `list` or given by a user to the form `--prefix` accepts.

    0.28+: ``hskey-api-<12>-***`` -> ``hskey-api-<12>``; legacy: ``abcdefg***`` -> ``abcdefg``;
    a full key (``hskey-api-<12>-<64>`` or ``<7>.<32>``) -> its prefix.
    """
    if not text:
        return None
    if text.startswith("hskey-api-"):
        return text[:len("hskey-api-") + 12]
    if text.endswith("***"):
        return text[:-3]
    if "." in text:
        return text.split(".", 1)[0]
    return text


def apikey(data):
    return {
        "id": as_id(field(data, "id")),
        "prefix": apikey_prefix(as_str(field(data, "prefix"))),
        "expiration": parse_time(field(data, "expiration")),
        "created_at": parse_time(field(data, "created_at")),
        "last_seen": parse_time(field(data, "last_seen")),
    }


def node(data):
    """A node. ``tags`` merges forced and valid tags (<= 0.27) or takes ``tags`` (0.28+)."""
    name, owner_id = _owner(data)
    forced = as_list(field(data, "forced_tags"))
    tags = set(as_list(field(data, "tags"))) | set(forced) | set(as_list(field(data, "valid_tags")))
    method = field(data, "register_method", 0)
    return {
        "id": as_id(field(data, "id")),
        "name": as_str(field(data, "name")),
        "given_name": as_str(field(data, "given_name")),
        "user": name,
        "user_id": owner_id,
        "ip_addresses": as_list(field(data, "ip_addresses")),
        "online": bool(field(data, "online", False)),
        "tags": sorted(tags),
        # Tags set by an administrator: `forced_tags` before 0.28, all tags from 0.28 (tags as identity).
        "forced_tags": sorted(tags) if field(data, "tags") is not None else sorted(set(forced)),
        "available_routes": routes(field(data, "available_routes")),
        "approved_routes": routes(field(data, "approved_routes")),
        "subnet_routes": routes(field(data, "subnet_routes")),
        "expiry": parse_time(field(data, "expiry")),
        "last_seen": parse_time(field(data, "last_seen")),
        "created_at": parse_time(field(data, "created_at")),
        "register_method": REGISTER_METHODS.get(method, str(method).lower()),
    }


def jsonable(value):
    """Datetimes -> RFC3339 strings, recursively, for module return values."""
    if isinstance(value, datetime.datetime):
        return format_time(value)
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return value
