"""Egress guard and DNS record for the programs the harness starts on loopback.

Logs show failures more than successes, so "nothing calls home" is also enforced where the
packets go. Every headscale and tailscaled the harness starts (and the headscale/tailscale CLI
calls, module runs and playbooks it makes) runs under the group ``hslab``; these rules, installed
once per test session, apply to that group's packets and to nothing else on the machine:

- filter OUTPUT: ``-m owner --gid-owner hslab ! -o lo -j HSLAB-EGRESS`` (IPv4 and IPv6), and in
  ``HSLAB-EGRESS``: ``LOG --log-prefix "hslab-egress: "`` then a counted ``DROP``. A packet to
  one of the machine's own addresses goes through ``lo`` and is not counted.
- nat OUTPUT: DNS (udp/tcp port 53, any address) from that group is redirected to the lab
  resolver ``testbed/labdns.py`` on 127.0.0.1:<port>, which answers NXDOMAIN and records every
  name asked (JSON lines). The redirected packet still carries the outgoing interface, so the
  first rule of ``HSLAB-EGRESS`` lets exactly such packets (destination 127.0.0.1, conntrack
  state DNAT from port 53) through. IPv6 DNS is not redirected: it is dropped and counted.

A second, identical set (group ``hslabctl``, chain ``HSLABCTL-EGRESS``, its own resolver and
query log) serves the negative controls in test_harness.py, so that a control that makes the
guard count never touches the lab counters the fixtures read.

Each fixture takes a :meth:`Guard.snapshot` when it starts a process and asks
:meth:`Guard.problems_since` at teardown: dropped packets (the ``DROP`` rules' counters, read
with ``iptables -L CHAIN -v -x -n`` and parsed by tests.checks.egress_counters) and recorded
queries for any name that is not the lab's (labdns.is_lab_name: names under lab.test and
reverse names of lab addresses; the harness resolver has no records). Counters are shared
by both pytest-xdist workers: a packet dropped while two tests run fails each test that saw
the counter grow. :func:`guarded_run` runs any other program of a test (ansible-inventory,
the packaging tools, ...) under the same guard and fails on what it caused.

Session life cycle: :func:`lab_guard` installs everything the first time a process of this
session needs it (under a file lock in STATE_DIR, so two workers do it once) and registers the
worker; :func:`release` (pytest_sessionfinish, and atexit) writes the session's totals and,
in the last live worker, proves the LAB guard was alive (:func:`self_test`: one packet and one
foreign query from its group must be counted and recorded), then removes the rules and stops
the resolvers. tests/integration/conftest.py fails the session on those totals. Every rule carries the comment
``selfhosted.headscale tests <lab|control>``; a crashed session's rules are replaced by the
next session (clean slate when no live user is registered). Needs root (iptables, setgid).
"""

from __future__ import annotations

import atexit
import fcntl
import grp
import importlib.util
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.checks.egress_counters import dropped_packets

from .versions import REPO

STATE_DIR = Path(os.environ.get("HSLAB_EGRESS_STATE") or "/tmp/hslab-egress")
LABDNS = REPO / "testbed" / "labdns.py"
COMMENT = "selfhosted.headscale tests"
RESOLVER_START_TIMEOUT = 15.0
IPTABLES = ("iptables", "ip6tables")


class EgressGuardError(RuntimeError):
    """The guard cannot be installed or read (not root, no iptables, resolver did not start)."""


@dataclass(frozen=True)
class GuardSpec:
    name: str
    group: str
    chain: str
    log_prefix: str

    @property
    def comment(self) -> str:
        return f"{COMMENT} {self.name}"


LAB = GuardSpec("lab", "hslab", "HSLAB-EGRESS", "hslab-egress: ")
CONTROL = GuardSpec("control", "hslabctl", "HSLABCTL-EGRESS", "hslabctl-egress: ")
SPECS = (LAB, CONTROL)

WHERE_TO_LOOK = ("the kernel log has one line per dropped packet with its destination: "
                 "`dmesg | grep '{prefix}'` or `journalctl -k | grep '{prefix}'` on the host "
                 "(dmesg may need root or kernel.dmesg_restrict=0; in a container, read the host's kernel log)")


def _labdns() -> Any:
    spec = importlib.util.spec_from_file_location("labdns", LABDNS)
    if spec is None or spec.loader is None:
        raise EgressGuardError(f"cannot load the lab resolver {LABDNS}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- small helpers -------------------------------------------------------------------------
def _run(argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    except FileNotFoundError as exc:
        raise EgressGuardError(f"{argv[0]} not found: the egress guard needs iptables (run as root)") from exc
    if check and result.returncode != 0:
        raise EgressGuardError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip()}")
    return result


def ensure_group(name: str) -> int:
    """The gid of ``name``; the group is created (system group) when missing."""
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        pass
    result = _run(["groupadd", "--system", name], check=False)
    if result.returncode not in (0, 9):  # 9: created meanwhile by another worker
        raise EgressGuardError(f"groupadd {name} exited {result.returncode}: {result.stderr.strip()}")
    return grp.getgrnam(name).gr_gid


def _proc_start(pid: int) -> str | None:
    """Start time of ``pid`` (field 22 of /proc/PID/stat), None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def _me() -> str:
    return f"{os.getpid()}:{_proc_start(os.getpid())}"


def _alive(user: str) -> bool:
    pid, _sep, start = user.partition(":")
    return pid.isdigit() and _proc_start(int(pid)) == start


@contextmanager
def _locked(name: str = "lock") -> Iterator[None]:
    STATE_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    with open(STATE_DIR / name, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def control_alone() -> Any:
    """Hold the CONTROL guard for one test across both xdist workers: its negative controls
    count exactly what they caused, so no other test may make that guard count meanwhile."""
    return _locked("control.lock")


def _load() -> dict[str, Any]:
    try:
        return json.loads((STATE_DIR / "state.json").read_text())
    except (OSError, ValueError):
        return {}


def _save(state: dict[str, Any]) -> None:
    tmp = STATE_DIR / "state.json.tmp"
    tmp.write_text(json.dumps(state, indent=1))
    tmp.replace(STATE_DIR / "state.json")


# -- rules ---------------------------------------------------------------------------------
def rules(spec: GuardSpec, dns_port: int) -> list[tuple[str, str, str, list[str]]]:
    """(binary, table, chain, rule) of one guard, in the order they are appended; the OUTPUT
    rules are inserted first in their chains."""
    owner = ["-m", "owner", "--gid-owner", spec.group]
    tag = ["-m", "comment", "--comment", spec.comment]
    log = ["-m", "limit", "--limit", "30/minute", "--limit-burst", "30",
           "-j", "LOG", "--log-prefix", spec.log_prefix, "--log-uid"]
    result: list[tuple[str, str, str, list[str]]] = [
        ("iptables", "filter", spec.chain,
         ["-d", "127.0.0.1/32", "-m", "conntrack", "--ctstate", "DNAT", "--ctorigdstport", "53", *tag, "-j", "RETURN"]),
    ]
    for binary in IPTABLES:
        result += [
            (binary, "filter", spec.chain, [*tag, *log]),
            (binary, "filter", spec.chain, [*tag, "-j", "DROP"]),
            (binary, "filter", "OUTPUT", [*owner, "!", "-o", "lo", *tag, "-j", spec.chain]),
        ]
    for proto in ("udp", "tcp"):
        result.append(("iptables", "nat", "OUTPUT",
                       [*owner, "-p", proto, "--dport", "53", *tag, "-j", "REDIRECT", "--to-ports", str(dns_port)]))
    return result


def remove_rules(spec: GuardSpec) -> None:
    """Delete every OUTPUT rule carrying the guard's comment, then its chain (idempotent)."""
    for binary in IPTABLES:
        for table in ("filter", "nat"):
            listing = _run([binary, "-w", "-t", table, "-S", "OUTPUT"]).stdout
            for line in listing.splitlines():
                words = shlex.split(line)
                if words[:2] == ["-A", "OUTPUT"] and spec.comment in words:
                    _run([binary, "-w", "-t", table, "-D", *words[1:]])
        if _run([binary, "-w", "-t", "filter", "-n", "-L", spec.chain], check=False).returncode == 0:
            _run([binary, "-w", "-t", "filter", "-F", spec.chain])
            _run([binary, "-w", "-t", "filter", "-X", spec.chain])


def install_rules(spec: GuardSpec, dns_port: int) -> None:
    remove_rules(spec)
    for binary in IPTABLES:
        _run([binary, "-w", "-t", "filter", "-N", spec.chain])
    for binary, table, chain, rule in rules(spec, dns_port):
        if chain == "OUTPUT":
            _run([binary, "-w", "-t", table, "-I", "OUTPUT", "1", *rule])
        else:
            _run([binary, "-w", "-t", table, "-A", chain, *rule])


def rules_present(spec: GuardSpec, dns_port: int) -> bool:
    return all(
        _run([binary, "-w", "-t", table, "-C", chain, *rule], check=False).returncode == 0
        for binary, table, chain, rule in rules(spec, dns_port)
    )


# -- lab resolver --------------------------------------------------------------------------
def _start_resolver(spec: GuardSpec) -> dict[str, Any]:
    log = STATE_DIR / f"dns-{spec.name}.jsonl"
    log.unlink(missing_ok=True)
    stderr = open(STATE_DIR / f"dns-{spec.name}.stderr", "ab")
    process = subprocess.Popen(
        [sys.executable, str(LABDNS), "serve", "--listen", "127.0.0.1:0", "--log", str(log)],
        stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, start_new_session=True,
    )
    stderr.close()
    deadline = time.monotonic() + RESOLVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EgressGuardError(f"labdns.py exited {process.returncode}: see {STATE_DIR}/dns-{spec.name}.stderr")
        text = log.read_text() if log.exists() else ""
        for line in text.splitlines():
            entry = json.loads(line)
            if entry.get("event") == "start":
                ports = {int(item.rsplit(":", 1)[1]) for item in entry["listen"]}
                if len(ports) != 1:
                    raise EgressGuardError(f"labdns.py listens on several ports: {entry['listen']}")
                return {"pid": process.pid, "start": _proc_start(process.pid), "port": ports.pop(), "log": str(log)}
        time.sleep(0.05)
    process.kill()
    raise EgressGuardError(f"labdns.py did not start within {RESOLVER_START_TIMEOUT}s")


def _stop_resolver(resolver: dict[str, Any] | None) -> None:
    if resolver and _proc_start(resolver["pid"]) == resolver.get("start"):
        os.kill(resolver["pid"], signal.SIGTERM)


def _resolver_alive(resolver: dict[str, Any] | None) -> bool:
    return bool(resolver) and _proc_start(resolver["pid"]) == resolver.get("start")


# -- per-process guard ---------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    dropped: int
    dns_offset: int


class Guard:
    """One installed guard as seen by this process: its group, counters and query log."""

    def __init__(self, spec: GuardSpec, gid: int, dns_log: Path, dns_port: int):
        self.spec, self.gid, self.dns_log, self.dns_port = spec, gid, dns_log, dns_port

    @property
    def group(self) -> str:
        return self.spec.group

    def listing(self, binary: str) -> str:
        return _run([binary, "-w", "-t", "filter", "-L", self.spec.chain, "-v", "-x", "-n"]).stdout

    def dropped(self) -> int:
        """Packets of the group dropped so far (IPv4 + IPv6) since the rules were installed."""
        return sum(dropped_packets(self.listing(binary)) for binary in IPTABLES)

    def snapshot(self) -> Snapshot:
        try:
            offset = self.dns_log.stat().st_size
        except FileNotFoundError:
            offset = 0
        return Snapshot(self.dropped(), offset)

    def queries_since(self, offset: int) -> list[dict[str, Any]]:
        """Queries the resolver recorded after ``offset`` (complete lines only)."""
        try:
            with open(self.dns_log, "rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        text = data[: data.rfind(b"\n") + 1].decode("utf-8", errors="replace")
        return _labdns().read_log(text)

    def foreign_queries(self, offset: int) -> list[dict[str, Any]]:
        """Queries after ``offset`` for names that are not the lab's."""
        labdns = _labdns()
        return [q for q in self.queries_since(offset) if not labdns.is_lab_name(q.get("qname"))]

    def problems_since(self, snapshot: Snapshot, who: str) -> list[str]:
        """What ``who`` (a process started after ``snapshot``) may have done: dropped packets,
        queries for names that are not the lab's. Empty when clean."""
        problems = []
        grown = self.dropped() - snapshot.dropped
        if grown > 0:
            problems.append(
                f"egress guard: {grown} packet(s) of group {self.group} were dropped on their way off the machine "
                f"while {who} ran (chain {self.spec.chain}; both test workers share this counter); "
                + WHERE_TO_LOOK.format(prefix=self.spec.log_prefix)
            )
        labdns = _labdns()
        foreign = self.foreign_queries(snapshot.dns_offset)
        if foreign:
            problems.append(
                f"DNS record: {len(foreign)} quer(ies) for names that are not the lab's while {who} ran "
                f"(log {self.dns_log}):\n  " + "\n  ".join(labdns.describe(q) for q in foreign)
            )
        return problems

    def popen_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for subprocess.Popen/run: run the program under the guard's group."""
        return {"group": self.gid, "extra_groups": []}


_guards: dict[str, Guard] = {}
_guards_lock = threading.Lock()


def _acquire() -> None:
    if os.geteuid() != 0:
        raise EgressGuardError("the egress guard needs root (iptables rules, processes under a group)")
    if not LABDNS.is_file():
        raise EgressGuardError(f"the lab resolver {LABDNS} is missing")
    with _locked():
        state = _load()
        users = [user for user in state.get("users", []) if _alive(user)]
        resolvers = state.get("resolvers", {})
        if not users:
            # First user of this session (or a crashed session's leftovers): clean slate.
            for spec in SPECS:
                _stop_resolver(resolvers.get(spec.name))
                remove_rules(spec)
            resolvers = {}
        for spec in SPECS:
            ensure_group(spec.group)
            if not _resolver_alive(resolvers.get(spec.name)):
                resolvers[spec.name] = _start_resolver(spec)
                install_rules(spec, resolvers[spec.name]["port"])
            elif not rules_present(spec, resolvers[spec.name]["port"]):
                install_rules(spec, resolvers[spec.name]["port"])
        me = _me()
        if me not in users:
            users.append(me)
        _save({"users": users, "resolvers": resolvers})
    for spec in SPECS:
        resolver = resolvers[spec.name]
        _guards[spec.name] = Guard(spec, ensure_group(spec.group), Path(resolver["log"]), resolver["port"])
    atexit.register(release)


def guard(spec: GuardSpec = LAB) -> Guard:
    """The installed guard ``spec`` (LAB by default), installing the session's rules on first use."""
    with _guards_lock:
        if spec.name not in _guards:
            _acquire()
        return _guards[spec.name]


def lab_guard() -> Guard:
    return guard(LAB)


SESSIONS_LOG = STATE_DIR / "sessions.jsonl"
# Set by the pytest process that starts a session and inherited by its xdist workers: each
# SESSIONS_LOG line names its session, so that a session judges its own lines only.
SESSION_ENV = "HSLAB_EGRESS_SESSION"


def totals(guard_: Guard) -> dict[str, Any]:
    """Dropped packets and recorded queries since the guard was installed."""
    labdns = _labdns()
    return {
        "dropped": guard_.dropped(),
        "queries": len(guard_.queries_since(0)),
        "foreign": [labdns.describe(q) for q in guard_.foreign_queries(0)],
    }


# The self-test's packet: the project's range, but on none of our networks, so this machine
# routes it towards its default gateway and the guard must drop it in OUTPUT. Its query: a
# name no lab owns (".invalid" never resolves anywhere).
SELF_TEST_TARGET = ("198.19.255.254", 9)
SELF_TEST_NAME = "hslab-self-test.invalid"
SELF_TEST_CODE = """
import socket, sys
host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for step in (lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", (host, port)),
             lambda: socket.getaddrinfo(name, 443)):
    try:
        step()
    except OSError as exc:
        print(exc)
"""


def self_test(guard_: Guard, target: tuple[str, int] = SELF_TEST_TARGET) -> dict[str, Any]:
    """Prove the guard the fixtures read was alive: its rules are in place, and one packet to
    ``target`` and one foreign query from its group are counted and recorded (run after the
    totals are read, by the last user, so no test sees them). ``ok`` is False when any of the
    three fails; the negative control passes a loopback target, which the guard never sees."""
    before = guard_.snapshot()
    result = subprocess.run([sys.executable, "-c", SELF_TEST_CODE, target[0], str(target[1]), SELF_TEST_NAME],
                            capture_output=True, text=True, timeout=60, check=False, **guard_.popen_kwargs())
    dropped = guard_.dropped() - before.dropped
    recorded = [q.get("qname") for q in guard_.foreign_queries(before.dns_offset)]
    present = rules_present(guard_.spec, guard_.dns_port)
    return {"rules_present": present, "dropped": dropped, "recorded": recorded, "output": result.stdout.strip(),
            "ok": present and dropped == 1 and bool(recorded) and set(recorded) == {SELF_TEST_NAME}}


def session_problems(lines: list[str]) -> list[str]:
    """What the SESSIONS_LOG lines of one pytest session say went wrong: packets dropped or
    foreign queries recorded under the LAB guard, a guard that could not be read, and a last
    user whose self-test did not see its own packet and query."""
    problems = []
    for line in lines:
        entry = json.loads(line)
        lab = entry.get(LAB.name)
        if lab is None:
            continue
        if "error" in lab:
            problems.append(f"the egress guard could not be read at the end of the session: {lab['error']}")
            continue
        if lab["dropped"]:
            problems.append(f"egress guard: {lab['dropped']} packet(s) of group {LAB.group} dropped in this session")
        if lab["foreign"]:
            problems.append("DNS record: queries for names that are not the lab's: " + "; ".join(lab["foreign"]))
        test = lab.get("self_test")
        if entry.get("last") and not (test and test.get("ok")):
            problems.append(f"egress guard self-test failed (the guard may not have been alive): {test}")
    return problems


def guarded_run(argv: list[str], who: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(argv, capture_output=True, text=True, **kwargs)`` under the LAB guard's
    group; raises AssertionError naming ``who`` when it dropped a packet or asked a foreign name."""
    guard_ = lab_guard()
    before = guard_.snapshot()
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs, **guard_.popen_kwargs())
    problems = guard_.problems_since(before, who)
    if problems:
        raise AssertionError("\n".join(problems))
    return result


def release() -> None:
    """This process no longer needs the guard; the last live user removes rules and resolvers.

    Every release appends one line to SESSIONS_LOG: the totals (shared by all users) since the
    rules were installed, and whether this was the last user (who then ran the LAB guard's
    self-test and removed everything)."""
    with _guards_lock:
        if not _guards:
            return
        guards = dict(_guards)
        _guards.clear()
        with _locked():
            state = _load()
            me = _me()
            users = [user for user in state.get("users", []) if user != me and _alive(user)]
            summary: dict[str, Any] = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                       "pid": os.getpid(), "session": os.environ.get(SESSION_ENV, ""),
                                       "last": not users}
            for name, guard_ in guards.items():
                try:
                    summary[name] = totals(guard_)
                    if not users and name == LAB.name:
                        summary[name]["self_test"] = self_test(guard_)
                except (EgressGuardError, ValueError, OSError, subprocess.SubprocessError) as exc:
                    summary[name] = {"error": str(exc)}
            with open(SESSIONS_LOG, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(summary) + "\n")
            if users:
                state["users"] = users
                _save(state)
                return
            for spec in SPECS:
                _stop_resolver(state.get("resolvers", {}).get(spec.name))
                remove_rules(spec)
            (STATE_DIR / "state.json").unlink(missing_ok=True)
