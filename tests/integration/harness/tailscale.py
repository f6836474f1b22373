"""Real tailscaled clients in userspace-networking mode, enrolled in a test headscale.

No container, no root network setup: every node has its own state folder and LocalAPI
socket under a short /tmp folder, its daemon log in tailscaled.log, and always runs with
`--no-logs-no-support` (checked on the running process, /proc/<pid>/cmdline), under the
egress guard's group (harness/egress.py). Teardown fails when the daemon died on its own
during the test, its log calls home, or the guard counted a dropped packet or recorded a DNS
query for a name that is not the lab's while it ran. Wait loops (``wait_for``) fail at once, naming the
node, when a daemon the harness started has died.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from . import egress, processes
from .headscale import HeadscaleServer
from .versions import tailscale_binaries

T = TypeVar("T")

ENROL_TIMEOUT = 60.0


# Environment of every tailscaled: no UPnP/NAT-PMP/PCP probes of the default gateway (packets
# off the machine that the egress guard would count; the lab has no NAT to map).
TAILSCALED_ENV = {"TS_DISABLE_PORTMAPPER": "1", "TS_DEBUG_USE_DERP_HTTP": "1"}
REQUIRED_FLAG = "--no-logs-no-support"


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.25) -> T:
    """Poll ``probe`` until it returns something truthy; raise TimeoutError naming ``what``.

    Every round also checks that the daemons the harness started are still running and
    raises ``processes.ProcessDied`` (node or server named, exit code, log tail) at once when
    one died -- a dead daemon is not found as a timeout.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
            if value:
                return value
        except Exception as exc:  # a probe may fail while the system settles
            last_error = exc
        processes.check_running()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))
        time.sleep(interval)


class TailscaleNode(processes.LoggedProcess):
    """One tailscaled plus its `tailscale` CLI. Create with the ``tailscale_node`` fixture."""

    log_tail_lines = 20

    def __init__(self, server: HeadscaleServer, hostname: str, version: str):
        self.server = server
        self.hostname = hostname
        self.version = version
        self.tailscale, self.tailscaled = tailscale_binaries(version)  # raises MissingBinary
        self.workdir = Path(tempfile.mkdtemp(prefix=f"ts-{hostname[:20]}-", dir="/tmp"))
        self.socket_path = self.workdir / "tailscaled.sock"
        self.log_path = self.workdir / "tailscaled.log"
        self.daemon: subprocess.Popen[bytes] | None = None
        self.login: subprocess.Popen[str] | None = None  # a pending interactive `tailscale up`
        self._log_handle = None
        self.node_id: int | None = None
        self.stopped = False
        self._egress: egress.Guard | None = None
        self._egress_snapshot: egress.Snapshot | None = None

    # -- daemon --------------------------------------------------------------------------
    @property
    def daemon_argv(self) -> list[str]:
        return [
            str(self.tailscaled),
            "--tun=userspace-networking",
            REQUIRED_FLAG,
            f"--statedir={self.workdir / 'state'}",
            f"--socket={self.socket_path}",
            "--port=0",
        ]

    def start_daemon(self) -> TailscaleNode:
        self.daemon = self.spawn(self.daemon_argv, {**os.environ, "HOME": str(self.workdir), **TAILSCALED_ENV})
        self.check_daemon_process()
        processes.register(self)
        wait_for(f"tailscaled {self.hostname} to listen",
                 lambda: self.socket_path.exists() and self.run("status", "--json", check=False).returncode in (0, 1),
                 timeout=20)
        return self

    def check_daemon_process(self) -> None:
        """The running tailscaled has --no-logs-no-support in its /proc/<pid>/cmdline and runs
        under the egress guard's group; AssertionError otherwise."""
        assert self.daemon is not None and self._egress is not None
        pid = self.daemon.pid
        argv = processes.started_argv(self.daemon)
        try:
            gids = processes.gids(pid)
        except OSError:
            argv, gids = None, (-1, -1, -1, -1)
        if argv is None:
            self.daemon.wait(timeout=10)
            raise processes.ProcessDied(self.death_report() or f"tailscaled {self.hostname} exited")
        assert REQUIRED_FLAG in argv, f"tailscaled {self.hostname} (pid {pid}) runs without {REQUIRED_FLAG}: {argv}"
        self.assert_guarded(f"tailscaled {self.hostname}", pid, gids)

    def death_report(self) -> str | None:
        """None while the daemon runs; what to tell when it died (processes.check_running)."""
        if self.daemon is None or self.daemon.poll() is None:
            return None
        return (f"tailscaled {self.hostname} ({self.version}, pid {self.daemon.pid}) "
                f"exited rc {self.daemon.returncode} during the test; log {self.log_path}:\n{self.log_tail()}")

    def run(self, *args: str, check: bool = True, timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
        """`tailscale --socket=SOCK ARGS`."""
        argv = [str(self.tailscale), f"--socket={self.socket_path}", *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                                **egress.lab_guard().popen_kwargs())
        if check and result.returncode != 0:
            died = self.death_report()
            if died:
                raise processes.ProcessDied(f"{' '.join(argv)} exited {result.returncode}: {died}")
            raise RuntimeError(
                f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip()}\n{self.log_tail()}"
            )
        return result

    def status(self) -> dict[str, Any]:
        return json.loads(self.run("status", "--json", check=False).stdout)

    @property
    def node_key(self) -> str:
        return self.status()["Self"]["PublicKey"]

    # -- enrolment -----------------------------------------------------------------------
    def _up_args(self, advertise_routes: Iterable[str], exit_node: bool, tags: Iterable[str]) -> list[str]:
        args = ["up", f"--login-server={self.server.url}", f"--hostname={self.hostname}", "--accept-dns=false"]
        routes = ",".join(advertise_routes)
        if routes:
            args.append(f"--advertise-routes={routes}")
        if exit_node:
            args.append("--advertise-exit-node")
        tag_list = ",".join(tags)
        if tag_list:
            args.append(f"--advertise-tags={tag_list}")
        return args

    def up(
        self,
        auth_key: str,
        *,
        advertise_routes: Iterable[str] = (),
        exit_node: bool = False,
        tags: Iterable[str] = (),
    ) -> dict[str, Any]:
        """`tailscale up` with a pre-auth key; wait until headscale lists the node. Returns that node."""
        self.run(*self._up_args(advertise_routes, exit_node, tags), f"--auth-key={auth_key}", "--timeout=60s")
        return self.wait_enrolled()

    def start_interactive_login(self) -> str:
        """Start `tailscale up` without a key (the OIDC/web flow); return the login URL.

        The last path segment of the URL is the registration ID (0.25-0.28) or auth ID
        (0.29, `hskey-authreq-...`) that `headscale nodes register` / `auth register` takes.
        The `tailscale up` process keeps waiting; `wait_enrolled()` waits for it.
        """
        argv = [str(self.tailscale), f"--socket={self.socket_path}", *self._up_args((), False, ())]
        self.login = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      stdin=subprocess.DEVNULL, **egress.lab_guard().popen_kwargs())
        return wait_for(f"{self.hostname} to get a login URL", lambda: self.status().get("AuthURL"), timeout=30)

    def wait_enrolled(self, timeout: float = ENROL_TIMEOUT) -> dict[str, Any]:
        """Wait until the client is Running and headscale lists a node with its node key."""
        wait_for(f"{self.hostname} to be Running", lambda: self.status().get("BackendState") == "Running",
                 timeout=timeout)
        if self.login is not None:
            self.login.wait(timeout=timeout)
            self.login = None
        key = self.node_key
        node = wait_for(f"headscale to list {self.hostname}",
                        lambda: next((n for n in self.server.nodes() if n.get("node_key") == key), None),
                        timeout=timeout)
        self.node_id = int(node["id"])
        return node

    def headscale_node(self) -> dict[str, Any]:
        """This node as `headscale nodes list` shows it now."""
        assert self.node_id is not None, "node not enrolled"
        return self.server.node(self.node_id)

    def advertise(self, routes: Iterable[str] = (), *, exit_node: bool = False) -> dict[str, Any]:
        """`tailscale set --advertise-routes=... --advertise-exit-node=...`; wait until headscale sees it."""
        routes = list(routes)
        self.run("set", f"--advertise-routes={','.join(routes)}", f"--advertise-exit-node={str(exit_node).lower()}")
        expected = set(routes) | ({"0.0.0.0/0", "::/0"} if exit_node else set())

        def seen() -> dict[str, Any] | None:
            node = self.headscale_node()
            return node if set(node.get("available_routes") or []) == expected else None

        return wait_for(f"headscale to see {self.hostname} advertise {sorted(expected)}", seen)

    # -- teardown ------------------------------------------------------------------------
    def stop(self, check_log: bool = True) -> None:
        """Stop the daemon (always, whatever fails). With ``check_log`` raise AssertionError if
        it died on its own, its log calls home, or the egress guard saw it try to leave. A second
        call does nothing (a test may stop a node before the fixture's teardown does)."""
        if self.stopped:
            return
        self.stopped = True
        processes.unregister(self)
        died_early = None
        try:
            if self.login is not None and self.login.poll() is None:
                self.login.kill()
                self.login.wait(timeout=10)
        finally:
            try:
                if self.daemon is not None:
                    died_early = processes.terminate(self.daemon, grace=15)
            finally:
                self.close_log()
        if not check_log or self.daemon is None:
            return
        name = f"tailscaled {self.hostname}"
        self.raise_problems(self.exit_problems(name, died_early, name))

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __repr__(self) -> str:
        return f"<TailscaleNode {self.hostname} {self.version} id={self.node_id}>"
