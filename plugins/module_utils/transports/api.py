# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""API transport: headscale's REST API under ``/api/v1`` with ``Authorization: Bearer <api key>``.

Same interface as the CLI transport; returns the decoded JSON objects (camelCase, string IDs, RFC3339),
which ``headscale_client`` normalises to the same Python objects as the CLI's.
"""

from __future__ import annotations

import datetime
import json
import re
import ssl

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote, urlencode
from ansible.module_utils.urls import open_url
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.normalize import UTC, format_time
from ansible_collections.selfhosted.headscale.plugins.module_utils.transports.base import Connection, Transport

# Paths that appeared in a given release, used to tell versions apart when `/version` is missing.
# (first version, path, method) — checked newest first against the server's OpenAPI document.
SWAGGER_MARKERS = (
    ((0, 29, 0), "/api/v1/auth/register", "post"),  # 0.29 #1850 auth register
    ((0, 28, 0), "/api/v1/preauthkey", "delete"),  # 0.28 #2992 DeletePreAuthKey
    ((0, 27, 0), "/api/v1/health", "get"),  # 0.27 health RPC
    ((0, 26, 0), "/api/v1/node/{nodeId}/approve_routes", "post"),  # 0.26 #2422 routes on nodes
)


def version_from_openapi(document):
    """``'v0.28.0+probed'`` from the paths an OpenAPI document lists (minor version only), else ``None``."""
    paths = document.get("paths", {}) if isinstance(document, dict) else {}
    for version, path, method in SWAGGER_MARKERS:
        if method in paths.get(path, {}):
            return "v%d.%d.0+probed" % version[:2]
    return None


def _reason(exc):
    reason = getattr(exc, "reason", exc)
    return str(reason) or exc.__class__.__name__


class ApiConnection(Connection):
    """headscale's REST API at ``url`` with ``api_key``."""

    def __init__(self, url, api_key, *, validate_certs=True, timeout=30, opener=None, ca_path=None):
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout
        self.opener = opener or open_url

    def transport(self, features):
        return ApiTransport(self, features)

    def where(self):
        return self.url

    # -- plumbing ---------------------------------------------------------------------------------
    def request(self, method, path, action, *, body=None, query=None, auth=True, api=True):
        url = self.url + ("/api/v1" if api else "") + path
        if query:
            url += "?" + urlencode(query)
        headers = {"Accept": "application/json"}
        if auth:
            if not self.api_key:
                raise HeadscaleError("api_key is required when transport=api (set api_key or HEADSCALE_API_KEY).")
            headers["Authorization"] = "Bearer %s" % self.api_key
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        cmd = "%s %s" % (method, url)
        secrets = [self.api_key]
        try:
            response = self.opener(
                url, method=method, data=data, headers=headers, validate_certs=self.validate_certs,
                ca_path=self.ca_path, timeout=self.timeout, follow_redirects="safe",
            )
            text = response.read().decode("utf-8")
        except HTTPError as exc:
            raise self._http_error(exc, action, cmd, secrets) from None
        except (URLError, ssl.SSLError, OSError) as exc:
            raise HeadscaleError(
                "headscale is not reachable at %s: %s" % (self.url, _reason(exc)), cmd=cmd, secrets=secrets
            ) from None
        if not text.strip():
            return {}
        try:
            return json.loads(text)
        except ValueError:
            raise HeadscaleError(
                "headscale at %s answered %s with something that is not JSON; is api_url the headscale server?"
                % (self.url, cmd), cmd=cmd, stdout=text[:2000], secrets=secrets,
            ) from None

    def _http_error(self, exc, action, cmd, secrets):
        try:
            text = exc.read().decode("utf-8", "replace")
        except Exception:
            text = ""
        status = exc.code
        # 401 "Unauthorized" (0.27+); 0.26 answers a bad or expired key with 500 and the same plain text.
        if status == 401 or text.strip() == "Unauthorized":
            msg = ("the API key was rejected by headscale at %s (HTTP %s): it is wrong, expired or deleted; "
                   "create one with `headscale apikeys create`." % (self.url, status))
        else:
            detail = text.strip()
            try:
                data = json.loads(text)
                # grpc-gateway: {"code", "message"}; 0.30-dev RFC 7807: {"title", "detail", "errors"}
                detail = data.get("message") or data.get("detail") or data.get("title") or detail
            except (ValueError, AttributeError):
                pass
            if status == 404 and not detail.startswith("{") and "not found" not in detail.lower():
                detail = "HTTP 404 for %s; is api_url the headscale server (without /api/v1)?" % cmd
            msg = "headscale could not %s: %s" % (action, detail or "HTTP %s" % status)
        return HeadscaleError(msg, cmd=cmd, status=status, stdout=text[:2000], secrets=secrets)

    # -- version ----------------------------------------------------------------------------------
    def version(self):
        """Version string from ``GET /version``, else inferred from the OpenAPI document's paths."""
        try:
            data = self.request("GET", "/version", "report its version", auth=False, api=False)
            if isinstance(data, dict) and data.get("version"):
                return data["version"]
        except HeadscaleError as exc:
            if exc.status is None:
                raise
        data = self.request("GET", "/swagger/v1/openapiv2.json", "serve its OpenAPI document", auth=False, api=False)
        return version_from_openapi(data)


class ApiTransport(Transport):
    def request(self, method, path, action, **kwargs):
        return self.connection.request(method, path, action, **kwargs)

    # -- users ------------------------------------------------------------------------------------
    def list_users(self, name=None):
        query = {"name": name} if name is not None else None
        return self.request("GET", "/user", "list users", query=query).get("users")

    def create_user(self, name, display_name=None, email=None, picture_url=None):
        body = {"name": name}
        if display_name:
            body["displayName"] = display_name
        if email:
            body["email"] = email
        if picture_url:
            body["pictureUrl"] = picture_url
        return self.request("POST", "/user", "create user %r" % name, body=body).get("user")

    def rename_user(self, user_id, new_name):
        path = "/user/%s/rename/%s" % (user_id, quote(new_name, safe=""))
        return self.request("POST", path, "rename user %s to %r" % (user_id, new_name)).get("user")

    def delete_user(self, user_id):
        return self.request("DELETE", "/user/%s" % user_id, "delete user %s" % user_id)

    # -- pre-auth keys ----------------------------------------------------------------------------
    def list_preauthkeys(self, user_id=None):
        if self.features.preauthkey_by_id:  # 0.28 #2992: all keys, no user filter
            return self.request("GET", "/preauthkey", "list pre-auth keys").get("preAuthKeys")
        return self.request("GET", "/preauthkey", "list pre-auth keys of user %s" % user_id,
                            query={"user": str(user_id)}).get("preAuthKeys")

    def create_preauthkey(self, user_id, *, reusable, ephemeral, expiration, seconds, tags):
        expires = datetime.datetime.now(UTC) + datetime.timedelta(seconds=seconds)
        body = {"reusable": bool(reusable), "ephemeral": bool(ephemeral), "expiration": format_time(expires),
                "aclTags": list(tags or [])}
        if user_id is not None:
            body["user"] = str(user_id)
        return self.request("POST", "/preauthkey", "create a pre-auth key", body=body).get("preAuthKey")

    def expire_preauthkey(self, key_id, user_id, secret):
        if self.features.preauthkey_by_id:  # 0.28 #2992
            body = {"id": str(key_id)}
        else:
            body = {"user": str(user_id), "key": secret}
        try:
            return self.request("POST", "/preauthkey/expire", "expire pre-auth key %s" % key_id, body=body)
        except HeadscaleError as exc:
            exc.msg = exc.msg.replace(secret or "\0", "********")
            raise

    def delete_preauthkey(self, key_id):
        return self.request("DELETE", "/preauthkey", "delete pre-auth key %s" % key_id, query={"id": str(key_id)})

    # -- API keys ---------------------------------------------------------------------------------
    def list_apikeys(self):
        return self.request("GET", "/apikey", "list API keys").get("apiKeys")

    def create_apikey(self, expiration, seconds):
        expires = datetime.datetime.now(UTC) + datetime.timedelta(seconds=seconds)
        return self.request("POST", "/apikey", "create an API key", body={"expiration": format_time(expires)}).get(
            "apiKey")

    def expire_apikey(self, key_id, prefix):
        if self.features.apikey_by_id and key_id is not None:  # 0.28 #3016
            body = {"id": str(key_id)}
        else:
            body = {"prefix": prefix}
        return self.request("POST", "/apikey/expire", "expire API key %s" % prefix, body=body)

    def delete_apikey(self, key_id, prefix):
        # By prefix only: the prefix is a path parameter, and 0.28+ rejects a request with both (#3016).
        return self.request("DELETE", "/apikey/%s" % quote(prefix, safe=""), "delete API key %s" % prefix)

    # -- nodes ------------------------------------------------------------------------------------
    def list_nodes(self):
        return self.request("GET", "/node", "list nodes").get("nodes")

    def delete_node(self, node_id):
        return self.request("DELETE", "/node/%s" % node_id, "delete node %s" % node_id)

    def rename_node(self, node_id, new_name):
        path = "/node/%s/rename/%s" % (node_id, quote(new_name, safe=""))
        return self.request("POST", path, "rename node %s to %r" % (node_id, new_name)).get("node")

    def expire_node(self, node_id, expiry=None, disable=False):
        query = {}
        if expiry is not None:  # 0.27 #2828
            query["expiry"] = format_time(expiry)
        if disable:  # 0.29
            query["disableExpiry"] = "true"
        return self.request("POST", "/node/%s/expire" % node_id, "expire node %s" % node_id,
                            query=query or None).get("node")

    def register_node(self, user_name, registration_id):
        action = "register node %s for user %r" % (registration_id, user_name)
        if self.features.auth_register:  # 0.29 #1850: JSON body
            data = self.request("POST", "/auth/register", action, body={"user": user_name, "authId": registration_id})
        else:
            data = self.request("POST", "/node/register", action, query={"user": user_name, "key": registration_id})
        return data.get("node")

    def set_node_tags(self, node_id, tags):
        return self.request("POST", "/node/%s/tags" % node_id, "set the tags of node %s" % node_id,
                            body={"tags": list(tags)}).get("node")

    def approve_routes(self, node_id, routes):
        return self.request("POST", "/node/%s/approve_routes" % node_id, "approve routes of node %s" % node_id,
                            body={"routes": list(routes)}).get("node")

    # -- policy -----------------------------------------------------------------------------------
    def get_policy(self):
        try:
            data = self.request("GET", "/policy", "read the policy")
        except HeadscaleError as exc:
            if re.search(r"policy not found", exc.msg):
                return None
            raise
        return data.get("policy")

    def set_policy(self, text):
        self.request("PUT", "/policy", "set the policy", body={"policy": text})

    def check_policy(self, text):
        if not self.features.policy_check_server:  # 0.29: POST /api/v1/policy/check
            return None
        self.request("POST", "/policy/check", "accept the policy", body={"policy": text})
        return True
