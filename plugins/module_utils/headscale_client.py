# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one headscale client every module uses.

Picks a connection (CLI or REST API), detects the server version once, makes the transport for that
version (``transports/base.py``) and returns normalised objects (see ``normalize``), so that modules never
branch on transport or version. Lists are cached for the run; writes update or drop the cache. Input is
validated by the modules before it gets here (``module_base``). Interface documented in docs/dev/client.md.
"""

from __future__ import annotations

import datetime

from ansible.module_utils.basic import env_fallback
from ansible_collections.selfhosted.headscale.plugins.module_utils import normalize, validation
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.transports.api import ApiConnection
from ansible_collections.selfhosted.headscale.plugins.module_utils.transports.cli import (
    CliConnection,
    module_runner,
)
from ansible_collections.selfhosted.headscale.plugins.module_utils.versions import (
    check_supported,
    format_version,
    parse_version,
)


def connection_argument_spec():
    """The connection options shared by every module (documented in doc_fragments/connection.py)."""
    return {
        "transport": {"type": "str", "choices": ["cli", "api"]},
        "headscale_command": {"type": "list", "elements": "str", "default": ["headscale"]},
        "config_path": {"type": "path"},
        "api_url": {"type": "str"},
        "api_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["HEADSCALE_API_KEY"])},
        "validate_certs": {"type": "bool", "default": True},
        "ca_path": {"type": "path"},
        "timeout": {"type": "int", "default": 30},
        "headscale_version": {"type": "str"},
    }


def now():
    return datetime.datetime.now(normalize.UTC)


def is_expired(obj, moment):
    """Whether a key (or anything with an ``expiration``) has expired at ``moment``; None = never."""
    return obj["expiration"] is not None and obj["expiration"] <= moment


class HeadscaleClient:
    def __init__(self, connection, version=None):
        self.connection = connection
        self._version_override = version
        self._features = None
        self._transport = None
        self._cache = {}
        # Full pre-auth key secrets the server listed (<= 0.27 and legacy keys), by key ID; never returned
        # by list methods, only through ``preauthkey_secret``.
        self._secrets = {}

    @classmethod
    def from_params(cls, params, runner=None):
        """Build from module-style parameters (``connection_argument_spec``)."""
        transport_name = params.get("transport") or ("api" if params.get("api_url") else "cli")
        # Checked whenever given, before any request (an unchecked value surfaced as urllib's
        # "unknown url type").
        url = validation.api_url(params["api_url"]) if params.get("api_url") else None
        if transport_name == "api":
            if not params.get("api_url"):
                raise validation.ValidationError("api_url is required when transport=api (e.g. https://headscale.example.com).")
            connection = ApiConnection(url, params.get("api_key"),
                                       validate_certs=params.get("validate_certs", True),
                                       ca_path=params.get("ca_path"),
                                       timeout=params.get("timeout") or 30)
        else:
            connection = CliConnection(params.get("headscale_command"), params.get("config_path"), runner=runner)
        return cls(connection, version=params.get("headscale_version"))

    @classmethod
    def from_module(cls, module):
        return cls.from_params(module.params, runner=module_runner(module))

    # -- version and features ---------------------------------------------------------------------
    @property
    def features(self):
        """Feature gates of the server (detected once per run)."""
        if self._features is None:
            if self._version_override:
                text, source = self._version_override, "from the headscale_version option"
            else:
                text = self.connection.version()
                source = "via %s" % self.connection.where()
            version = parse_version(text)
            if version is None:
                raise HeadscaleError(
                    "could not tell the headscale version %s (it reports %r); set headscale_version "
                    "(e.g. '0.26.1') to state it explicitly." % (source, text)
                )
            self._features = check_supported(version, source)
            self._transport = self.connection.transport(self._features)
        return self._features

    @property
    def transport(self):
        """The transport for the detected version (detects it on first use)."""
        self.features  # noqa: B018 - the transport is made with the detected features
        return self._transport

    def own_api_key(self):
        """The API key this run authenticates with (``None`` over the CLI)."""
        return self.connection.api_key

    @property
    def version(self):
        """``'0.29.3'``."""
        return format_version(self.features.version)

    def _drop(self, kind):
        """Forget every cached list of ``kind`` (``users``, ``users:<name>``, ``preauthkeys:<id>``, …)."""
        for name in [n for n in self._cache if n == kind or n.startswith(kind + ":")]:
            del self._cache[name]

    def _cached(self, key, loader):
        if key not in self._cache:
            self._cache[key] = loader()
        return self._cache[key]

    # -- users ------------------------------------------------------------------------------------
    def list_users(self):
        return self._cached("users", lambda: [
            normalize.user(u) for u in normalize.as_list(self.transport.list_users())])

    def find_user(self, name):
        """The local user called ``name`` (falls back to a unique OIDC user of that name), or ``None``.

        Uses the full user list when this run already read it, else asks headscale for that name only.
        """
        if "users" in self._cache:
            candidates = self._cache["users"]
        else:
            candidates = self._cached("users:%s" % name, lambda: [
                normalize.user(u) for u in normalize.as_list(self.transport.list_users(name))])
        matches = [u for u in candidates if u["name"] == name]
        local = [u for u in matches if not u["provider"]]
        if len(local) == 1:
            return local[0]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise HeadscaleError(
                "user name %r matches %d users (local and OIDC); headscale cannot tell them apart by name."
                % (name, len(matches)))
        return None

    def find_users(self, *names):
        """``find_user`` for each name (``None`` names stay ``None``); two or more names read the whole
        user list once instead of one filtered call per name."""
        if len([name for name in names if name is not None]) > 1:
            self.list_users()
        return [self.find_user(name) if name is not None else None for name in names]

    def require_user(self, name):
        found = self.find_user(name)
        if found is None:
            raise HeadscaleError("user %r does not exist on headscale." % name)
        return found

    def create_user(self, name, display_name=None, email=None, picture_url=None):
        created = normalize.user(self.transport.create_user(name, display_name, email, picture_url))
        if "users" in self._cache:
            self._cache["users"].append(created)
        self._cache["users:%s" % name] = [created]
        return created

    def rename_user(self, user_id, new_name):
        renamed = normalize.user(self.transport.rename_user(user_id, new_name))
        self._drop("users")
        self._cache.pop("nodes", None)
        self._drop("preauthkeys")
        return renamed

    def delete_user(self, user_id):
        self.transport.delete_user(user_id)
        self._drop("users")
        self._drop("preauthkeys")

    # -- pre-auth keys ----------------------------------------------------------------------------
    def _remember(self, raw):
        key = normalize.preauthkey(raw)
        secret = normalize.preauthkey_secret(raw)
        if secret:
            self._secrets[key["id"]] = secret
        return key

    def list_preauthkeys(self, user=None):
        """Pre-auth keys (secrets masked), of one user (name) or all.

        0.28+ lists every key in one call. <= 0.27 can only list per user, so listing all keys costs one
        call per user; pass ``user`` whenever you can.
        """
        if self.features.preauthkey_by_id:  # 0.28 #2992
            keys = self._cached("preauthkeys", lambda: [
                self._remember(k) for k in normalize.as_list(self.transport.list_preauthkeys(None))])
            if user is None:
                return keys
            return [k for k in keys if k["user"] == user]
        users = [self.require_user(user)] if user is not None else self.list_users()
        result = []
        for owner in users:
            result.extend(self._cached("preauthkeys:%s" % owner["id"], lambda owner=owner: [
                self._remember(k) for k in normalize.as_list(self.transport.list_preauthkeys(owner["id"]))]))
        return result

    def preauthkey_secret(self, key_id):
        """The full secret of a listed key when the server shows it (<= 0.27, legacy keys), else ``None``."""
        return self._secrets.get(key_id)

    def create_preauthkey(self, user=None, reusable=False, ephemeral=False, expiration="1h", tags=None):
        """Create a key for ``user`` (name) and/or ``tags``; the result is the only place with its secret.

        ``expiration`` is a validated duration (``30m``, ``24h``, ``90d``, ``1y``); ``tags`` validated
        ``tag:`` names. A key without user (tags only) needs 0.28, which the module gates.
        """
        owner_id = self.require_user(user)["id"] if user is not None else None
        raw = self.transport.create_preauthkey(owner_id, reusable=reusable, ephemeral=ephemeral,
                                               expiration=expiration, seconds=validation.expiration(expiration),
                                               tags=list(tags or []))
        self._drop("preauthkeys")
        return normalize.preauthkey(raw, reveal=True)

    def expire_preauthkey(self, key):
        """Expire a listed key (normalised object)."""
        secret = None
        if not self.features.preauthkey_by_id:  # <= 0.27 expires by user + full key
            secret = self.preauthkey_secret(key["id"])
            if secret is None:
                raise HeadscaleError("pre-auth key %s cannot be expired: its secret is not known." % key["id"])
        self.transport.expire_preauthkey(key["id"], key["user_id"], secret)
        self._drop("preauthkeys")

    def delete_preauthkey(self, key):
        """Delete a listed key (0.28+, gated by the module)."""
        self.transport.delete_preauthkey(key["id"])
        self._drop("preauthkeys")

    # -- API keys ---------------------------------------------------------------------------------
    def list_apikeys(self):
        return self._cached("apikeys", lambda: [
            normalize.apikey(k) for k in normalize.as_list(self.transport.list_apikeys())])

    def create_apikey(self, expiration="90d"):
        """Create an API key; returns ``(secret, key object)`` (the object is read back from the list)."""
        secret = self.transport.create_apikey(expiration, validation.expiration(expiration))
        self._cache.pop("apikeys", None)
        prefix = normalize.apikey_prefix(secret)
        created = [k for k in self.list_apikeys() if k["prefix"] == prefix]
        return secret, (created[0] if created else None)

    def expire_apikey(self, key):
        self.transport.expire_apikey(key["id"], key["prefix"])
        self._cache.pop("apikeys", None)

    def delete_apikey(self, key):
        self.transport.delete_apikey(key["id"], key["prefix"])
        self._cache.pop("apikeys", None)

    # -- nodes ------------------------------------------------------------------------------------
    def list_nodes(self, user=None):
        nodes = self._cached("nodes", lambda: [
            normalize.node(n) for n in normalize.as_list(self.transport.list_nodes())])
        if user is None:
            return nodes
        return [n for n in nodes if n["user"] == user]

    def get_node(self, node_id):
        for item in self.list_nodes():
            if item["id"] == node_id:
                return item
        return None

    def _node_changed(self, raw):
        self._cache.pop("nodes", None)
        return normalize.node(raw) if raw else None

    def delete_node(self, node_id):
        self.transport.delete_node(node_id)
        self._cache.pop("nodes", None)

    def rename_node(self, node_id, new_name):
        return self._node_changed(self.transport.rename_node(node_id, new_name))

    def expire_node(self, node_id, expiry=None, disable=False):
        """Expire now (default), at ``expiry`` (an aware datetime; 0.27+), or never (``disable``; 0.29+);
        the module gates both on the version."""
        return self._node_changed(self.transport.expire_node(node_id, expiry, disable))

    def register_node(self, user, registration_id):
        """Register a node waiting in the interactive (web/OIDC) login flow for ``user`` (a name).

        ``registration_id`` is the last path segment of the ``/register/<id>`` URL the client printed:
        24 characters on 0.25-0.28, ``hskey-authreq-`` + 24 characters on 0.29.
        """
        owner = self.require_user(user)
        raw = self.transport.register_node(owner["name"], registration_id)
        self._cache.pop("nodes", None)
        return normalize.node(raw) if raw else None

    def set_node_tags(self, node_id, tags):
        return self._node_changed(self.transport.set_node_tags(node_id, tags))

    def approve_routes(self, node_id, routes):
        """Replace the node's approved routes with ``routes`` (validated canonical CIDRs, sorted)."""
        return self._node_changed(self.transport.approve_routes(node_id, routes))

    # -- policy -----------------------------------------------------------------------------------
    def get_policy(self):
        """The stored policy text (verbatim, as set), or ``None`` when none was ever stored."""
        return self._cached("policy", self.transport.get_policy)

    def set_policy(self, text):
        self.transport.set_policy(text)
        self._cache["policy"] = text

    def check_policy(self, text):
        """``True`` when headscale accepted the policy, ``None`` when this transport/version cannot check;
        raises ``HeadscaleError`` with headscale's message when it is invalid."""
        return self.transport.check_policy(text)
