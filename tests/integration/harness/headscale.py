"""A real `headscale serve` on loopback, for integration tests.

Every server gets its own short temporary folder (the unix socket path must stay under
108 bytes) with config.yaml, the SQLite database, the noise and DERP keys, the socket, the
policy file (file mode) and headscale.log. Ports are picked free on 127.0.0.1. The config
follows the lab rules: embedded DERP with `derp.urls: []`, STUN on loopback,
`disable_check_updates: true`.

The process runs under the egress guard's group (harness/egress.py): its packets off the
machine are dropped and counted, its DNS queries answered and recorded by the lab resolver.
Teardown (``stop``) fails when the server died on its own, its log calls home, the guard
counted a dropped packet or recorded a query for a name that is not the lab's while it ran, or the
config.yaml it runs with (re-read from disk) lost a lab rule (``lab_config_problems``).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from . import egress, processes
from .ports import free_port
from .versions import headscale_binary, version_tuple

START_TIMEOUT = 30.0
CLI_TIMEOUT = 60.0


class HeadscaleCLIError(RuntimeError):
    """A headscale CLI call exited non-zero."""

    def __init__(self, argv: list[str], rc: int, stdout: str, stderr: str):
        self.argv, self.rc, self.stdout, self.stderr = argv, rc, stdout, stderr
        super().__init__(f"{' '.join(argv)} exited {rc}: {stderr.strip() or stdout.strip()}")


class ServerDied(RuntimeError):
    pass


def lab_config_problems(config: dict[str, Any]) -> list[str]:
    """What in a headscale config breaks the lab's "nothing calls home" rules (empty: none).

    ``disable_check_updates`` must be true (the update check asks GitHub and is silent when it
    fails); ``derp.urls`` must be present and empty (headscale's default is Tailscale's DERP
    map URL); ``logtail.enabled`` must not be true (it tells clients to upload their logs).
    """
    problems = []
    if config.get("disable_check_updates") is not True:
        problems.append(f"disable_check_updates is {config.get('disable_check_updates')!r}, not true")
    derp = config.get("derp")
    urls = derp.get("urls", "<missing>") if isinstance(derp, dict) else "<no derp section>"
    if urls != []:
        problems.append(f"derp.urls is {urls!r}, not [] (headscale's default fetches Tailscale's DERP map)")
    logtail = config.get("logtail")
    if isinstance(logtail, dict) and logtail.get("enabled") is True:
        problems.append("logtail.enabled is true (clients would upload their logs)")
    return problems


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class HeadscaleServer(processes.LoggedProcess):
    """One headscale process. Use `start()`/`stop()` or the pytest fixtures in conftest.py.

    Attributes tests use: ``version``, ``binary``, ``config_path``, ``url`` (server_url),
    ``socket_path``, ``policy_mode``, ``policy_path`` (file mode), ``log_path``, ``pid``.
    """

    def __init__(
        self,
        version: str,
        *,
        policy_mode: str = "database",
        policy: str | None = None,
        extra_config: dict[str, Any] | None = None,
        workdir: str | os.PathLike[str] | None = None,
    ):
        if policy_mode not in ("database", "file"):
            raise ValueError(f"policy_mode must be 'database' or 'file', not {policy_mode!r}")
        self.version = version
        self.binary = headscale_binary(version)  # raises MissingBinary ("run make setup")
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"hs{version.replace('.', '')}-", dir="/tmp"))
        self.config_path = self.workdir / "config.yaml"
        self.socket_path = self.workdir / "headscale.sock"
        self.log_path = self.workdir / "headscale.log"
        self.db_path = self.workdir / "db.sqlite"
        self.policy_mode = policy_mode
        self.policy_path = self.workdir / "policy.hujson" if policy_mode == "file" else None
        self.port = free_port()
        self.metrics_port = free_port()
        self.grpc_port = free_port()
        self.stun_port = free_port("udp")
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_handle = None
        self._start_failed = False
        self._egress: egress.Guard | None = None
        self._egress_snapshot: egress.Snapshot | None = None
        self._api_key: str | None = None
        self.config = self._config(extra_config or {})
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        if self.policy_path is not None:
            # headscale refuses to start when policy.path does not exist; empty = no policy.
            self.policy_path.write_text(policy or "")
        elif policy is not None:
            raise ValueError("an initial policy needs policy_mode='file'; in database mode set it with the CLI")

    # -- configuration -------------------------------------------------------------------
    def _config(self, extra: dict[str, Any]) -> dict[str, Any]:
        work = self.workdir
        config: dict[str, Any] = {
            "server_url": self.url,
            "listen_addr": f"127.0.0.1:{self.port}",
            "metrics_listen_addr": f"127.0.0.1:{self.metrics_port}",
            "grpc_listen_addr": f"127.0.0.1:{self.grpc_port}",
            "grpc_allow_insecure": False,
            "noise": {"private_key_path": str(work / "noise_private.key")},
            "prefixes": {"v4": "100.64.0.0/10", "v6": "fd7a:115c:a1e0::/48", "allocation": "sequential"},
            "derp": {
                "server": {
                    "enabled": True,
                    "region_id": 999,
                    "region_code": "lab",
                    "region_name": "Lab embedded DERP",
                    "stun_listen_addr": f"127.0.0.1:{self.stun_port}",
                    "private_key_path": str(work / "derp_server_private.key"),
                    "automatically_add_embedded_derp_region": True,
                    "ipv4": "127.0.0.1",
                    # No IPv6 listener: "none" keeps clients from waiting for IPv6 STUN, so
                    # their netcheck finishes before it would start captive-portal probes of
                    # controlplane.tailscale.com / login.tailscale.com (harness/tailscale.py).
                    "ipv6": "none",
                },
                "urls": [],
                "paths": [],
                "auto_update_enabled": False,
                "update_frequency": "24h",
            },
            "disable_check_updates": True,
            "database": {"type": "sqlite", "sqlite": {"path": str(self.db_path), "write_ahead_log": True}},
            "log": {"level": "info", "format": "text"},
            "policy": {"mode": self.policy_mode, "path": str(self.policy_path or "")},
            "dns": {
                "magic_dns": True,
                "base_domain": "tailnet.test",
                "override_local_dns": False,
                "nameservers": {"global": []},
            },
            "unix_socket": str(self.socket_path),
            "unix_socket_permission": "0770",
            "logtail": {"enabled": False},
        }
        return _deep_merge(config, extra)

    # -- life cycle ----------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def argv(self) -> list[str]:
        return [str(self.binary), "-c", str(self.config_path), "serve"]

    def start(self, timeout: float = START_TIMEOUT) -> HeadscaleServer:
        self.process = self.spawn(self.argv, self._env())
        try:
            self._check_process()
        except AssertionError:
            self._start_failed = True
            self.stop(check_log=False)
            raise
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                self._start_failed = True
                self.stop(check_log=False)
                raise ServerDied(f"headscale {self.version} exited {self.process.returncode}:\n{self.log_tail()}")
            if self.healthy():
                processes.register(self)
                return self
            if time.monotonic() > deadline:
                self._start_failed = True
                self.stop(check_log=False)
                raise ServerDied(f"headscale {self.version} not healthy after {timeout}s:\n{self.log_tail()}")
            time.sleep(0.1)

    def _check_process(self) -> None:
        """The running process is the one we meant: our argv (config file) and the guard's group."""
        assert self.process is not None
        argv = processes.started_argv(self.process)
        try:
            gids = processes.gids(self.process.pid)
        except OSError:
            return  # already gone: the start loop reports it with the log
        if argv is None:
            return
        assert argv == self.argv, f"headscale runs as {argv}, not {self.argv}"
        self.assert_guarded("headscale", self.process.pid, gids)

    def death_report(self) -> str | None:
        """None while running; what to tell when the server died (processes.check_running)."""
        if self.process is None or self.process.poll() is None:
            return None
        return (f"headscale {self.version} ({self.url}, pid {self.process.pid}) exited rc {self.process.returncode} "
                f"during the test; log {self.log_path}:\n{self.log_tail()}")

    def disk_config(self) -> dict[str, Any]:
        """config.yaml as the server reads it now (re-read from disk)."""
        return yaml.safe_load(self.config_path.read_text()) or {}

    # Every version logs this line right before it installs its SIGHUP/SIGTERM handler
    # (hscontrol/app.go Serve, 0.26-0.29); a signal sent earlier kills the process.
    READY_LINE = "listening and serving debug and metrics on"

    def healthy(self) -> bool:
        """/health answers 200, the CLI socket exists and the signal handlers are installed."""
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                if response.status != 200:
                    return False
        except (urllib.error.URLError, OSError):
            return False
        return self.socket_path.exists() and self.READY_LINE in self.log_text()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def sighup_count(self) -> int:
        """How many SIGHUPs the server has logged (0.26: "Received SIGHUP, reloading ACL and
        Config", 0.27+: "Received SIGHUP, reloading ACL policy")."""
        return self.log_text().count("Received SIGHUP")

    def reload(self, timeout: float = 10.0) -> None:
        """SIGHUP, as `systemctl reload headscale` does; waits until the server logged it."""
        assert self.process is not None
        before = self.sighup_count()
        os.kill(self.process.pid, signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while self.sighup_count() <= before:
            if not self.alive():
                raise ServerDied(f"headscale {self.version} died on SIGHUP:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"headscale {self.version} did not log the SIGHUP")
            time.sleep(0.05)

    def stop(self, check_log: bool = True) -> None:
        """Stop the server (always, whatever fails). With ``check_log`` raise AssertionError if
        it died early, its log calls home, the egress guard saw it try to leave the machine, or
        its config.yaml on disk breaks a lab rule."""
        processes.unregister(self)
        died_early = None
        try:
            if self.process is not None:
                died_early = processes.terminate(self.process, grace=10)
        finally:
            self.close_log()
        if not check_log or self._start_failed or self.process is None:
            return
        problems = self.exit_problems("headscale", died_early, f"headscale {self.version} ({self.url})")
        problems += [f"config {self.config_path}: {problem}" for problem in lab_config_problems(self.disk_config())]
        self.raise_problems(problems)

    def cleanup(self) -> None:
        """Remove the work folder (only one we created)."""
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- CLI -----------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEADSCALE_")}
        env["HEADSCALE_DISABLE_CHECK_UPDATES"] = "true"
        return env

    def cli_argv(self, *args: str, output_json: bool = True) -> list[str]:
        argv = [str(self.binary), "-c", str(self.config_path), *args]
        if output_json:
            argv += ["-o", "json"]  # two argv items: headscale matches "json" literally
        return argv

    def cli_run(
        self, *args: str, output_json: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the CLI and return the completed process, whatever its exit code."""
        return subprocess.run(
            self.cli_argv(*args, output_json=output_json),
            input=stdin,
            capture_output=True,
            text=True,
            env=self._env(),
            timeout=CLI_TIMEOUT,
            check=False,
            **egress.lab_guard().popen_kwargs(),
        )

    def cli(self, *args: str, output_json: bool = True) -> Any:
        """Run `headscale -c CONFIG ARGS -o json`; return the parsed JSON (or text without JSON).

        Raises HeadscaleCLIError on a non-zero exit. `null` stays None; callers that expect
        lists use ``cli_list``.
        """
        result = self.cli_run(*args, output_json=output_json)
        if result.returncode != 0:
            raise HeadscaleCLIError(self.cli_argv(*args, output_json=output_json), result.returncode,
                                    result.stdout, result.stderr)
        if not output_json:
            return result.stdout
        return json.loads(result.stdout) if result.stdout.strip() else None

    def cli_list(self, *args: str) -> list[Any]:
        return self.cli(*args) or []

    # -- convenience for tests -----------------------------------------------------------
    def at_least(self, version: str) -> bool:
        return version_tuple(self.version) >= version_tuple(version)

    @property
    def api_key(self) -> str:
        """An API key for the REST transport, created on first use (valid one day)."""
        if self._api_key is None:
            self._api_key = self.cli("apikeys", "create", "--expiration", "1d")
        return self._api_key

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the REST API (`/api/v1/...`) with the API key; return the parsed JSON."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def users(self) -> list[dict[str, Any]]:
        return self.cli_list("users", "list")

    def ensure_user(self, name: str) -> dict[str, Any]:
        for user in self.users():
            if user.get("name") == name:
                return user
        return self.cli("users", "create", name)

    def create_preauth_key(
        self,
        user: str | None = None,
        *,
        reusable: bool = False,
        ephemeral: bool = False,
        tags: list[str] | tuple[str, ...] = (),
        expiration: str = "1h",
    ) -> str:
        """Create a pre-auth key for ``user`` (a name; created if missing) and return it."""
        args = ["preauthkeys", "create", "--expiration", expiration]
        if user is not None:
            # --user is a user ID from 0.26 on (a persistent flag before 0.28, so it may
            # follow "create" in every version we test).
            args += ["--user", str(self.ensure_user(user)["id"])]
        if reusable:
            args.append("--reusable")
        if ephemeral:
            args.append("--ephemeral")
        if tags:
            args += ["--tags", ",".join(tags)]
        return self.cli(*args)["key"]

    def nodes(self) -> list[dict[str, Any]]:
        return self.cli_list("nodes", "list")

    def node(self, node_id: int) -> dict[str, Any]:
        for node in self.nodes():
            if int(node["id"]) == int(node_id):
                return node
        raise KeyError(f"no node with ID {node_id} on headscale {self.version}")

    def set_policy(self, text: str) -> None:
        """Store ``text`` as the policy (database mode) with the CLI; raises HeadscaleCLIError if refused."""
        argv = ("policy", "set", "--file", "/dev/stdin")
        result = self.cli_run(*argv, output_json=False, stdin=text)
        if result.returncode != 0:
            raise HeadscaleCLIError(self.cli_argv(*argv, output_json=False), result.returncode,
                                    result.stdout, result.stderr)

    def policy_text(self) -> str | None:
        """The stored policy, or None when nothing was stored ("acl policy not found")."""
        if self.policy_mode == "file":
            assert self.policy_path is not None
            return self.policy_path.read_text() or None
        result = self.cli_run("policy", "get", output_json=False)
        if result.returncode != 0:
            if "acl policy not found" in (result.stderr + result.stdout):
                return None
            raise HeadscaleCLIError(self.cli_argv("policy", "get", output_json=False), result.returncode,
                                    result.stdout, result.stderr)
        return result.stdout

    def snapshot(self) -> dict[str, Any]:
        """Users, nodes (with routes and tags) and policy: compare before/after a failing call."""
        nodes = []
        for node in self.nodes():
            nodes.append({
                key: node.get(key)
                for key in ("id", "name", "given_name", "tags", "forced_tags", "approved_routes", "expiry", "user")
            })
        return {
            "users": sorted((u["id"], u.get("name")) for u in self.users()),
            "nodes": sorted(nodes, key=lambda n: n["id"]),
            "policy": self.policy_text(),
        }

    def __repr__(self) -> str:
        return f"<HeadscaleServer {self.version} {self.url} pid={self.pid}>"
