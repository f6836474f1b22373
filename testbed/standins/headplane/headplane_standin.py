#!/usr/bin/env python
# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HEADPLANE STAND-IN for the test bed. This is NOT Headplane.

The real Headplane (ghcr.io/tale/headplane, a Node.js application) cannot be obtained here: no
container registry, no npm. This stand-in takes its place in the test bed's containers so the
headplane role can be tested end to end. It does only what proves the role's work:

1. reads Headplane's configuration where Headplane reads it (``HEADPLANE_CONFIG_PATH``, default
   ``/etc/headplane/config.yaml``) and the secret files that configuration names (Compose secrets
   under ``/run/secrets/``), and checks them with the collection's re-implementation of Headplane's
   loader (``headplane_config.py``, copied into the image from plugins/module_utils), for the
   Headplane release given by ``STANDIN_HEADPLANE_VERSION`` (baked into each image tag;
   deliberately not a ``HEADPLANE_*`` name, which Headplane 0.6.2+ reads as a config override);
2. lists the nodes of headscale at the configured ``headscale.url`` with the configured API key
   (``GET /api/v1/node``, ``Authorization: Bearer <key>``), trusting the system CAs plus
   ``headscale.tls_cert_path`` when set (as Headplane does);
3. answers under ``/admin`` (Headplane's fixed base path) on ``server.host``:``server.port``:
   ``200 {"standin": true, "config": "ok", "api_key": "ok", "nodes": N, ...}`` when all of that
   worked, otherwise ``503`` with the reason. Other paths: 404. The answer also reports the
   SHA-256 of headscale's configuration file at ``headscale.config_path`` as read at that
   moment (``headscale_config``), so a test can tell which content Headplane sees.

``--probe`` exits 0 when ``/admin`` answers 200 (the image's health check), 1 otherwise.
It never prints or returns a secret.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import socket
import ssl
import sys
import urllib.error
import urllib.request

# Copied next to this file in the image (the script's directory is first on sys.path).
import headplane_config

DEFAULT_PORT = 3002  # the reference deployment's server.port, used only when the config has none


def config_path():
    return os.environ.get("HEADPLANE_CONFIG_PATH") or headplane_config.DEFAULT_CONFIG_PATH


def version():
    return os.environ.get("STANDIN_HEADPLANE_VERSION", "")


def load():
    """(result, None) after checking the configuration, or (None, reason)."""
    try:
        headplane_config.schema_of(version())
    except headplane_config.UnknownVersion as exc:
        return None, "STANDIN_HEADPLANE_VERSION: %s" % exc
    try:
        text = headplane_config.read_text_file(config_path())
    except OSError as exc:
        return None, "cannot read %s: %s" % (config_path(), exc.strerror or exc)
    result = headplane_config.check_text(text, version(), env=dict(os.environ),
                                         read_file=headplane_config.read_text_file)
    return result, None


def api_key(result):
    """The API key Headplane would use, or None (0.7: headscale.api_key first, then the
    deprecated oidc.headscale_api_key; 0.6.x: oidc.headscale_api_key, used with OIDC only)."""
    for key in ("headscale.api_key", "oidc.headscale_api_key"):
        if key in result.secrets:
            return result.secrets[key]
        section, name = key.split(".")
        value = (result.config.get(section) or {}).get(name)
        if isinstance(value, str) and not value.startswith("<from "):
            return value
    return None


def list_nodes(config, key):
    """(number of nodes, None) or (None, reason)."""
    url = config["headscale"]["url"].rstrip("/") + "/api/v1/node"
    context = None
    if url.lower().startswith("https://"):
        context = ssl.create_default_context()
        cert = config["headscale"].get("tls_cert_path")
        if cert:
            context.load_verify_locations(cafile=cert)
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + key, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            body = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        detail = " ".join(exc.read(300).decode("utf-8", "replace").split())
        if exc.code == 401:
            return None, "headscale at %s rejected the API key (401: %s)" % (url, detail)
        # headscale 0.26 answers 500 for a key it does not know.
        return None, "headscale at %s answered %s: %s" % (url, exc.code, detail)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, "cannot list nodes at %s: %s" % (url, getattr(exc, "reason", exc))
    return len(body.get("nodes") or []), None


def headscale_config(config):
    """What the file at headscale.config_path holds now: {"path", "sha256"} or {"path", "error"}."""
    path = (config.get("headscale") or {}).get("config_path")
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            return {"path": path, "sha256": hashlib.sha256(handle.read()).hexdigest()}
    except OSError as exc:
        return {"path": path, "error": exc.strerror or str(exc)}


def status():
    """(HTTP status, JSON body) of /admin."""
    body = {"standin": True, "headplane_version": version(), "config_path": config_path()}
    result, reason = load()
    if result is None:
        body.update(config="error", reason=reason)
        return 503, body
    body["warnings"] = [str(p) for p in result.warnings]
    if not result.ok:
        body.update(config="error", reason="; ".join(str(p) for p in result.errors))
        return 503, body
    body["config"] = "ok"
    body["secret_files"] = sorted(result.sources.values())
    body["headscale_config"] = headscale_config(result.config)
    key = api_key(result)
    if key is None:
        body.update(api_key="missing", reason="the configuration gives Headplane no headscale API key "
                                              "(Headplane 0.6.x reads it from the oidc section only)")
        return 503, body
    nodes, reason = list_nodes(result.config, key)
    if nodes is None:
        body.update(api_key="error", reason=reason)
        return 503, body
    body.update(api_key="ok", nodes=nodes, headscale_url=result.config["headscale"]["url"])
    return 200, body


def listen_address():
    result, _reason = load()
    server = (result.config or {}).get("server", {}) if result is not None and result.config else {}
    host = server.get("host") or "0.0.0.0"
    port = server.get("port") if isinstance(server.get("port"), int) else DEFAULT_PORT
    return host, port


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "headplane-standin"

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path != "/admin" and not path.startswith("/admin/"):
            self.send_json(404, {"standin": True, "reason": "Headplane serves /admin only"})
            return
        code, body = status()
        self.send_json(code, body)

    def send_json(self, code, body):
        data = json.dumps(body, sort_keys=True).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin  # base class signature
        sys.stderr.write("headplane-standin: %s %s\n" % (self.address_string(), format % args))


def probe():
    host, port = listen_address()
    target = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    if ":" in target:
        target = "[%s]" % target
    try:
        with urllib.request.urlopen("http://%s:%d/admin" % (target, port), timeout=5) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


def main(argv):
    if "--probe" in argv:
        return probe()
    if "--once" in argv:
        code, body = status()
        print(json.dumps(body, sort_keys=True, indent=2))
        return 0 if code == 200 else 1
    host, port = listen_address()
    server_class = http.server.ThreadingHTTPServer
    if ":" in host:
        server_class.address_family = socket.AF_INET6
    httpd = server_class((host, port), Handler)
    sys.stderr.write("headplane-standin: Headplane %s STAND-IN listening on %s:%d (config %s)\n"
                     % (version() or "?", host, port, config_path()))
    code, body = status()
    sys.stderr.write("headplane-standin: /admin would answer %d: %s\n"
                     % (code, body.get("reason") or "config ok, API key ok, %s nodes" % body.get("nodes")))
    httpd.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
