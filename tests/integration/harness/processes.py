"""Which harness processes should be running, and a fast failure when one of them died.

Servers and tailscaled nodes register once started and unregister when stopped. Every wait
loop of the harness (``harness.tailscale.wait_for``) calls :func:`check_running` on each
round, so a daemon that died during a test is reported at once -- by name, with its exit code
and the tail of its log -- instead of surfacing as a timeout of whatever the test waited for.
``stop_all`` is the fixtures' teardown: every process is stopped whatever fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from tests.checks.nothing_calls_home import find_calls_home

from . import egress


class ProcessDied(RuntimeError):
    """A daemon the harness started exited while it should be running."""


class Watched(Protocol):
    def death_report(self) -> str | None:
        """None while the process runs; otherwise what to tell (name, exit code, log tail)."""


_running: list[Watched] = []
_lock = threading.Lock()


def register(owner: Watched) -> None:
    with _lock:
        if owner not in _running:
            _running.append(owner)


def unregister(owner: Watched) -> None:
    with _lock:
        if owner in _running:
            _running.remove(owner)


def check_running() -> None:
    """Raise ProcessDied naming every registered daemon that is no longer running."""
    with _lock:
        owners = list(_running)
    reports = [report for report in (owner.death_report() for owner in owners) if report]
    if reports:
        raise ProcessDied("\n\n".join(reports))


def terminate(proc: subprocess.Popen, grace: float) -> int | None:
    """Stop a daemon we started: SIGTERM, then SIGKILL to its process group after ``grace``
    seconds. Returns its exit code when it had already exited on its own, else None."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    return None


def cmdline(pid: int) -> list[str]:
    """The argv a running process was started with (/proc/PID/cmdline)."""
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [part.decode(errors="replace") for part in raw.split(b"\0")[:-1]]


def started_argv(proc: subprocess.Popen, timeout: float = 5.0) -> list[str] | None:
    """The argv of a process we just started, once its exec has finished; None if it exited first.

    Popen returns when the exec closes the error pipe, and Linux closes it before it lays out the new
    program's arguments: until then /proc/PID/cmdline reads empty (the kernel's "not spawned far
    enough" case, fs/proc/base.c). An empty read right after the start is that window, so it is read
    again; [] after ``timeout`` means the process runs with no argv at all."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            argv = cmdline(proc.pid)
        except OSError:
            argv = []
        if argv:
            return argv
        if proc.poll() is not None:
            return None
        if time.monotonic() > deadline:
            return []
        time.sleep(0.01)


def gids(pid: int) -> tuple[int, int, int, int]:
    """Real, effective, saved and filesystem gid of a process (/proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Gid:"):
            real, effective, saved, filesystem = (int(value) for value in line.split()[1:5])
            return real, effective, saved, filesystem
    raise RuntimeError(f"no Gid line in /proc/{pid}/status")


class LoggedProcess:
    """What headscale servers and tailscaled nodes share: starting the daemon under the egress guard
    with its output in its log file (``log_path``), and the checks their ``stop`` runs on it (died on
    its own, calls home, what the egress guard counted)."""

    log_path: Path
    workdir: Path
    log_tail_lines = 30
    # The guard the daemon runs under: egress.CONTROL for a negative control, whose packets and
    # queries must not count against the lab (test_captive_portal_attr.py).
    guard_spec: egress.GuardSpec = egress.LAB
    _egress: Any = None
    _egress_snapshot: Any = None
    _log_handle: Any = None

    def spawn(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start ``argv`` in ``workdir``, in a session of its own, under the egress guard (snapshot
        taken first), stdout and stderr appended to ``log_path``."""
        self._egress = egress.guard(self.guard_spec)
        self._egress_snapshot = self._egress.snapshot()
        self._log_handle = open(self.log_path, "ab")
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env=env,
            start_new_session=True,
            **self._egress.popen_kwargs(),
        )

    def assert_guarded(self, name: str, pid: int, gids: tuple[int, int, int, int]) -> None:
        """The process ``pid`` (``gids`` from :func:`gids`) runs under the egress guard's group."""
        guard = self._egress
        assert gids[1] == gids[3] == guard.gid, (
            f"{name} (pid {pid}) runs with gids {gids}, not the egress guard's group {guard.group} ({guard.gid})")

    def close_log(self) -> None:
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int | None = None) -> str:
        return "\n".join(self.log_text().splitlines()[-(lines or self.log_tail_lines):])

    def exit_problems(self, name: str, died_early: int | None, where: str) -> list[str]:
        """Problems of a stopped process called ``name`` in messages (``where`` for the egress guard)."""
        problems = []
        if died_early is not None:
            problems.append(f"{name} exited on its own during the test (rc {died_early})")
        calls = find_calls_home(self.log_text())
        if calls:
            problems.append(f"{name} log shows calls home:\n  " + "\n  ".join(calls))
        if self._egress is not None and self._egress_snapshot is not None:
            problems += self._egress.problems_since(self._egress_snapshot, where)
        return problems

    def raise_problems(self, problems: list[str]) -> None:
        if problems:
            raise AssertionError("\n".join(problems) + f"\nlog: {self.log_path}\n{self.log_tail()}")


def stop_all(owners: list[Any], workers: int = 1) -> list[str]:
    """Stop every owner whatever fails for another one (any exception, not only a failed
    check); remove the folders of those that stopped cleanly (a failed one keeps its config and
    log for inspection). Returns the problems, one text per owner that failed."""
    errors: list[str] = []

    def stop(owner: Any) -> None:
        try:
            owner.stop()
        except AssertionError as exc:
            errors.append(str(exc))
        except Exception as exc:
            errors.append(f"stopping {owner!r} raised {type(exc).__name__}: {exc}")
        else:
            owner.cleanup()

    if workers > 1 and len(owners) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(stop, owners))
    else:
        for owner in owners:
            stop(owner)
    return errors
