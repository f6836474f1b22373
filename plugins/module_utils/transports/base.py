# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The transport interface: what the client asks of the CLI (``cli.py``) and the REST API (``api.py``).

A ``Connection`` knows how to reach headscale and tells its version; once the version is known, it makes
the ``Transport`` for that version's ``Features``. A transport returns headscale's decoded JSON unchanged
(``headscale_client`` normalises it) and raises ``HeadscaleError``; it holds only what differs between
transports and versions: no input validation, no caching.
"""

from __future__ import annotations

import abc


class Connection(abc.ABC):
    """How to reach one headscale server."""

    #: the API key this connection authenticates with (``None`` for the CLI)
    api_key = None

    @abc.abstractmethod
    def where(self):
        """``'`headscale -c /etc/headscale/config.yaml`'`` or the base URL, for messages."""

    @abc.abstractmethod
    def version(self):
        """The raw version string the server reports (``'v0.29.3'``), or ``None``."""

    @abc.abstractmethod
    def transport(self, features):
        """The ``Transport`` for a server with these ``versions.Features``."""


class Transport(abc.ABC):
    """headscale's operations for one server version; ``features`` is fixed at construction."""

    def __init__(self, connection, features):
        self.connection = connection
        self.features = features

    # -- users ------------------------------------------------------------------------------------
    @abc.abstractmethod
    def list_users(self, name=None):
        """All users, or only those called ``name`` (a server-side filter)."""

    @abc.abstractmethod
    def create_user(self, name, display_name=None, email=None, picture_url=None):
        """The created user."""

    @abc.abstractmethod
    def rename_user(self, user_id, new_name):
        """The renamed user."""

    @abc.abstractmethod
    def delete_user(self, user_id):
        """Delete a user (fails when it still owns nodes)."""

    # -- pre-auth keys ----------------------------------------------------------------------------
    @abc.abstractmethod
    def list_preauthkeys(self, user_id=None):
        """All keys (0.28+), or the keys of ``user_id`` (needed before 0.28)."""

    @abc.abstractmethod
    def create_preauthkey(self, user_id, *, reusable, ephemeral, expiration, seconds, tags):
        """The created key with its secret; ``expiration`` as text, ``seconds`` the same duration."""

    @abc.abstractmethod
    def expire_preauthkey(self, key_id, user_id, secret):
        """Expire a key (by ID on 0.28+, by user and secret before)."""

    @abc.abstractmethod
    def delete_preauthkey(self, key_id):
        """Delete a key (0.28+)."""

    # -- API keys ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def list_apikeys(self):
        """All API keys."""

    @abc.abstractmethod
    def create_apikey(self, expiration, seconds):
        """The secret of the created key."""

    @abc.abstractmethod
    def expire_apikey(self, key_id, prefix):
        """Expire a key (by ID where the version can, else by prefix)."""

    @abc.abstractmethod
    def delete_apikey(self, key_id, prefix):
        """Delete a key (by ID where the version can, else by prefix)."""

    # -- nodes ------------------------------------------------------------------------------------
    @abc.abstractmethod
    def list_nodes(self):
        """All nodes."""

    @abc.abstractmethod
    def delete_node(self, node_id):
        """Delete a node."""

    @abc.abstractmethod
    def rename_node(self, node_id, new_name):
        """The renamed node."""

    @abc.abstractmethod
    def expire_node(self, node_id, expiry=None, disable=False):
        """Expire now, at ``expiry`` (a datetime; 0.27+) or never (``disable``; 0.29+); the node."""

    @abc.abstractmethod
    def register_node(self, user_name, registration_id):
        """Register a node waiting in the interactive login flow; the node."""

    @abc.abstractmethod
    def set_node_tags(self, node_id, tags):
        """The node with exactly these tags."""

    @abc.abstractmethod
    def approve_routes(self, node_id, routes):
        """The node with exactly these approved routes."""

    # -- policy -----------------------------------------------------------------------------------
    @abc.abstractmethod
    def get_policy(self):
        """The stored policy text, or ``None`` when none was ever stored."""

    @abc.abstractmethod
    def set_policy(self, text):
        """Store the policy (database mode)."""

    @abc.abstractmethod
    def check_policy(self, text):
        """``True`` when headscale accepts ``text``, ``None`` when this transport and version cannot check."""
