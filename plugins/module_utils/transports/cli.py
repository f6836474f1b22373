# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""CLI transport: runs the `headscale` binary (or a prefix such as `docker exec -i headscale headscale`).

Returns the decoded JSON of each command unchanged; ``headscale_client`` normalises it.
Rules (see docs/dev/client.md): argv lists only, ``-o json`` as two argv elements, ``--force`` where the
CLI prompts, update checks disabled through the environment, secrets masked in every error.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.normalize import format_time
from ansible_collections.selfhosted.headscale.plugins.module_utils.transports.base import Connection, Transport

UPDATE_CHECK_ENV = {"HEADSCALE_DISABLE_CHECK_UPDATES": "true"}

_UNREACHABLE = re.compile(
    r"connecting to headscale|could not connect|connection refused|no such file or directory|"
    r"context deadline exceeded|unable to read/write to headscale socket|error while dialing|transport: ",
    re.IGNORECASE,
)
_CONFIG = re.compile(r"error reading config file|config file .*not found|failed to load configuration", re.I)


def subprocess_runner(argv, data=None, env=None):
    """Runner used outside Ansible (recording script, tests): ``(rc, stdout, stderr)``."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(argv, input=data, capture_output=True, text=True, env=full_env, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def module_runner(module):
    """Runner backed by ``AnsibleModule.run_command`` (no shell, data passed verbatim)."""

    def run(argv, data=None, env=None):
        return module.run_command(
            argv, data=data, binary_data=True, environ_update=env or {}, expand_user_and_vars=False, check_rc=False
        )

    return run


def error_text(stderr, stdout=""):
    """The server's message from ``{"error": …}`` (JSON), ``Error: …`` or a zerolog ``FTL`` line,
    without gRPC wrapping noise."""
    for raw in (stderr or "", stdout or ""):
        text = raw.strip()
        if not text:
            continue
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("error"):
            message = str(data["error"])
        else:
            fatal = re.search(r" (?:FTL|ERR) [^>]*> (.*)$", text, re.MULTILINE)
            prefixed = re.search(r"^error:\s*(.+)$", text, re.MULTILINE | re.IGNORECASE)
            if fatal:
                message = fatal.group(1)
            elif prefixed:
                message = prefixed.group(1)
            else:
                message = text.splitlines()[-1]
        return message.split("desc = ")[-1].strip()
    return ""


def _csv(values):
    return ",".join(values or [])


class CliConnection(Connection):
    """The `headscale` command (or a prefix such as `docker exec -i headscale headscale`) and its config."""

    def __init__(self, command=None, config_path=None, runner=None):
        self.command = list(command or ["headscale"])
        self.config_path = config_path
        self.runner = runner or subprocess_runner
        self._checked_binary = False

    def transport(self, features):
        return CliTransport(self, features)

    # -- plumbing ---------------------------------------------------------------------------------
    def where(self):
        text = " ".join(self.command)
        if self.config_path:
            text += " -c %s" % self.config_path
        return "`%s`" % text

    def _argv(self, args, with_config=True):
        argv = list(self.command)
        if self.config_path and with_config:
            argv += ["-c", self.config_path]
        return argv + list(args)

    def _check_binary(self):
        if self._checked_binary:
            return
        binary = self.command[0]
        found = os.path.isfile(binary) if os.sep in binary else shutil.which(binary)
        if not found:
            raise HeadscaleError(
                "the command %r was not found; install headscale, or set headscale_command "
                "(e.g. ['docker', 'exec', '-i', 'headscale', 'headscale'])." % binary
            )
        self._checked_binary = True

    def run(self, args, action, *, secrets=(), data=None, output="json", with_config=True):
        """Run one headscale command; returns decoded JSON (``output='json'``) or text."""
        self._check_binary()
        argv = self._argv(args + (["-o", "json"] if output == "json" else []), with_config)
        rc, stdout, stderr = self.runner(argv, data=data, env=UPDATE_CHECK_ENV)
        if rc != 0:
            raise self._error(action, argv, (rc, stdout, stderr), secrets)
        if output != "json":
            return stdout
        try:
            return json.loads(stdout) if stdout.strip() else None
        except ValueError:
            raise HeadscaleError(
                "headscale returned output that is not JSON while trying to %s." % action,
                cmd=argv, rc=rc, stdout=stdout, stderr=stderr, secrets=secrets,
            ) from None

    def _error(self, action, argv, outcome, secrets):
        rc, stdout, stderr = outcome
        detail = error_text(stderr, stdout)
        if _CONFIG.search(detail):
            msg = "headscale could not load its configuration through %s (check config_path): %s" % (
                self.where(), detail)
        elif _UNREACHABLE.search(detail):
            msg = "headscale is not reachable through %s: %s" % (self.where(), detail)
        else:
            msg = "headscale could not %s: %s" % (action, detail or "exit code %s without an error message" % rc)
        return HeadscaleError(msg, cmd=argv, rc=rc, stdout=stdout, stderr=stderr, secrets=secrets)

    # -- version ----------------------------------------------------------------------------------
    def version(self):
        """Raw version string of the binary (``headscale version -o json`` works on 0.26.1 too)."""
        data = self.run(["version"], "report its version")
        if isinstance(data, dict):
            return data.get("version")
        return None


class CliTransport(Transport):
    def run(self, args, action, **kwargs):
        return self.connection.run(args, action, **kwargs)

    # -- users ------------------------------------------------------------------------------------
    def list_users(self, name=None):
        # `--name` is an exact, server-side filter (0.24+): one user instead of all of them.
        return self.run(["users", "list"] + (["--name", name] if name is not None else []), "list users")

    def create_user(self, name, display_name=None, email=None, picture_url=None):
        args = ["users", "create", name]
        if display_name:
            args += ["--display-name", display_name]
        if email:
            args += ["--email", email]
        if picture_url:
            args += ["--picture-url", picture_url]
        return self.run(args, "create user %r" % name)

    def rename_user(self, user_id, new_name):
        # Always by --identifier: `--name` is broken from 0.24 to 0.29.3 (#3441).
        return self.run(["users", "rename", "--identifier", str(user_id), "--new-name", new_name],
                        "rename user %s to %r" % (user_id, new_name))

    def delete_user(self, user_id):
        return self.run(["users", "destroy", "--identifier", str(user_id), "--force"], "delete user %s" % user_id)

    # -- pre-auth keys ----------------------------------------------------------------------------
    def list_preauthkeys(self, user_id=None):
        if self.features.preauthkey_by_id:  # 0.28 #2992: list shows all keys, no --user
            return self.run(["preauthkeys", "list"], "list pre-auth keys")
        return self.run(["preauthkeys", "list", "--user", str(user_id)], "list pre-auth keys of user %s" % user_id)

    def create_preauthkey(self, user_id, *, reusable, ephemeral, expiration, seconds, tags):
        args = ["preauthkeys", "create", "--expiration", expiration]
        if user_id is not None:
            args += ["--user", str(user_id)]
        if reusable:
            args.append("--reusable")
        if ephemeral:
            args.append("--ephemeral")
        if tags:
            args.append("--tags=" + _csv(tags))
        return self.run(args, "create a pre-auth key")

    def expire_preauthkey(self, key_id, user_id, secret):
        if self.features.preauthkey_by_id:  # 0.28 #2992
            return self.run(["preauthkeys", "expire", "--id", str(key_id)], "expire pre-auth key %s" % key_id)
        return self.run(["preauthkeys", "expire", "--user", str(user_id), secret],
                        "expire pre-auth key %s" % key_id, secrets=[secret])

    def delete_preauthkey(self, key_id):
        return self.run(["preauthkeys", "delete", "--id", str(key_id)], "delete pre-auth key %s" % key_id)

    # -- API keys ---------------------------------------------------------------------------------
    def list_apikeys(self):
        return self.run(["apikeys", "list"], "list API keys")

    def create_apikey(self, expiration, seconds):
        return self.run(["apikeys", "create", "--expiration", expiration], "create an API key")

    def _apikey_selector(self, key_id, prefix):
        if self.features.apikey_by_id and key_id is not None:  # 0.28 #3016
            return ["--id", str(key_id)]
        return ["--prefix", prefix]

    def expire_apikey(self, key_id, prefix):
        return self.run(["apikeys", "expire", *self._apikey_selector(key_id, prefix)], "expire API key %s" % prefix)

    def delete_apikey(self, key_id, prefix):
        return self.run(["apikeys", "delete", "--force", *self._apikey_selector(key_id, prefix)],
                        "delete API key %s" % prefix)

    # -- nodes ------------------------------------------------------------------------------------
    def list_nodes(self):
        return self.run(["nodes", "list"], "list nodes")

    def delete_node(self, node_id):
        return self.run(["nodes", "delete", "--identifier", str(node_id), "--force"], "delete node %s" % node_id)

    def rename_node(self, node_id, new_name):
        return self.run(["nodes", "rename", "--identifier", str(node_id), new_name],
                        "rename node %s to %r" % (node_id, new_name))

    def expire_node(self, node_id, expiry=None, disable=False):
        args = ["nodes", "expire", "--identifier", str(node_id)]
        if expiry is not None:  # 0.27 #2828
            args += ["--expiry", format_time(expiry)]
        if disable:  # 0.29
            args.append("--disable")
        return self.run(args, "expire node %s" % node_id)

    def register_node(self, user_name, registration_id):
        # `--user` is a user name here (unlike pre-auth keys). 0.29 deprecates `nodes register`
        # (and prints a deprecation line on stdout) in favour of `auth register --auth-id` (#1850).
        if self.features.auth_register:
            args = ["auth", "register", "--user", user_name, "--auth-id", registration_id]
        else:
            args = ["nodes", "register", "--user", user_name, "--key", registration_id]
        return self.run(args, "register node %s for user %r" % (registration_id, user_name))

    def set_node_tags(self, node_id, tags):
        # One argv element: `-t ""` is rejected by the flag parser (same as #2777 for routes).
        return self.run(["nodes", "tag", "--identifier", str(node_id), "--tags=" + _csv(tags)],
                        "set the tags of node %s" % node_id)

    def approve_routes(self, node_id, routes):
        # `--routes=` (one argv element) clears; `-r ""` fails (#2777) and a positional CIDR is ignored (#3085).
        return self.run(["nodes", "approve-routes", "--identifier", str(node_id), "--routes=" + _csv(routes)],
                        "approve routes of node %s" % node_id)

    # -- policy -----------------------------------------------------------------------------------
    # The text goes through stdin (`-f /dev/stdin`), so it also works through `docker exec -i`.
    def get_policy(self):
        try:
            text = self.run(["policy", "get"], "read the policy", output="text")
        except HeadscaleError as exc:
            if "policy not found" in (exc.stderr or "") or "policy not found" in exc.msg:
                return None
            raise
        # The CLI prints the stored text followed by one newline.
        return text[:-1] if text.endswith("\n") else text

    def set_policy(self, text):
        self.run(["policy", "set", "--file", "/dev/stdin"], "set the policy", data=text, output="text")

    def check_policy(self, text):
        # Before 0.29 `policy check` is an offline parse that knows neither -c nor -o (0.26 #2553);
        # 0.29 checks on the server (CheckPolicy RPC) and needs the config to reach it.
        self.run(["policy", "check", "--file", "/dev/stdin"], "accept the policy", data=text, output="text",
                 with_config=self.features.policy_check_server)
        return True
