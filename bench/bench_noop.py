#!/usr/bin/env python
"""No-op module runs on an empty and on a loaded headscale, timed inside the process.

    make bench-modules                           # every default below
    python bench/bench_noop.py [--versions 0.26.1 0.29.3] [--runs 15]
                               [--users 1000 --keys 2000 --nodes 500]

Per headscale version two real `headscale serve` run side by side (tests/integration/harness):
"empty" holds only the objects the runs ask for, "loaded" also the given number of users,
pre-auth keys and nodes (`debug create-node` records, registered: no tailscaled behind them).
Each module's `main()` runs in THIS process with no-op arguments, alternately on the two
servers; the time is taken from calling `main()` (AnsibleModule argument handling included)
to its `exit_json`, so Python and Ansible start-up and imports are not part of it. Every
headscale call (CLI process or HTTP request) is recorded by wrapping the transport. Prints a
Markdown table and the rows that miss the goal; exits non-zero only on errors (a run that
fails or changes something, a call count the harness's CallCounter contradicts).
See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests" / "integration"), str(REPO), str(REPO / ".collections")]

from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.common import warnings as ansible_warnings  # noqa: E402
from ansible_collections.selfhosted.headscale.plugins.module_utils import headscale_client  # noqa: E402
from ansible_collections.selfhosted.headscale.plugins.module_utils.transports import api as api_transport  # noqa: E402
from harness.call_counter import CallCounter  # noqa: E402
from harness.headscale import HeadscaleServer  # noqa: E402
from harness.modules import connection_args  # noqa: E402
from harness.modules import run_module as run_module_subprocess  # noqa: E402

MODULES = "ansible_collections.selfhosted.headscale.plugins.modules"
USER, NODE, ROUTE = "bench-user", "bench-node", "10.30.0.0/24"
# Arguments that change nothing once seed_target() has run.
NOOP_ARGS = {
    "headscale_user": {"name": USER},
    "headscale_preauthkey": {"user": USER, "reusable": True},
    "headscale_node": {"node": NODE, "given_name": NODE},
    "headscale_routes": {"node": NODE, "routes": [ROUTE], "mode": "equal"},
    "headscale_info": {},
}
TRANSPORTS = ("cli", "api")
GOAL_RATIO = 2.0
# What a read of each object type looks like: `<words> list` / `policy get` on the CLI, GET <path> over REST.
API_READS = {"/api/v1/user": "users", "/api/v1/node": "nodes", "/api/v1/preauthkey": "preauthkeys",
             "/api/v1/apikey": "apikeys", "/api/v1/policy": "policy"}
CLI_GLOBAL_OPTIONS = {"-c", "--config", "-o", "--output"}


# -- recording headscale calls: wrap the transports' way out ----------------------------------------
CALLS: list[str] = []


def cli_call(argv: list[str]) -> str:
    """`users list --name` from `<headscale> -c CONFIG users list --name bench-user -o json`."""
    words, skip = [], False
    for word in argv[1:]:
        if skip:
            skip = False
        elif word in CLI_GLOBAL_OPTIONS:
            skip = True
        elif word.startswith("-") or not any(w.startswith("-") for w in words):
            words.append(word.split("=")[0])
    return " ".join(words)


def api_call(method: str, url: str) -> str:
    """`GET /api/v1/user?name` (query values dropped)."""
    parts = urlsplit(url)
    query = "&".join(sorted(parse_qs(parts.query)))
    return f"{method} {parts.path}" + (f"?{query}" if query else "")


def read_type(call: str) -> str | None:
    """The object type a call lists (`users`, `nodes`, ...), or None for any other call."""
    words = call.split()
    if words[0] == "GET":
        return API_READS.get(words[1].split("?")[0])
    if words[1:2] == ["list"] or words[:2] == ["policy", "get"]:
        return words[0]
    return None


def install_recorders() -> None:
    real_runner, real_opener = headscale_client.module_runner, api_transport.open_url

    def module_runner(module):
        run = real_runner(module)

        def counted(argv, data=None, env=None):
            CALLS.append(cli_call(argv))
            return run(argv, data=data, env=env)
        return counted

    def open_url(url, *args, **kwargs):
        CALLS.append(api_call(kwargs.get("method") or "GET", url))
        return real_opener(url, *args, **kwargs)

    headscale_client.module_runner = module_runner
    api_transport.open_url = open_url


def run_in_process(name: str, args: dict, tmp: str) -> tuple[float, dict, list[str]]:
    """One run of module `name`: (seconds from main() to exit_json, result, headscale calls)."""
    module = importlib.import_module(f"{MODULES}.{name}")
    internal = {"_ansible_check_mode": False, "_ansible_diff": False, "_ansible_tmpdir": tmp,
                "_ansible_remote_tmp": tmp, "_ansible_module_name": f"selfhosted.headscale.{name}"}
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": {**args, **internal}}).encode()
    basic._ANSIBLE_PROFILE = "legacy"
    ansible_warnings._global_warnings.clear()
    ansible_warnings._global_deprecations.clear()
    CALLS.clear()
    output = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(output):  # the result JSON is printed, as in a real run
        try:
            module.main()
        except SystemExit:
            pass
    elapsed = time.perf_counter() - started
    result = json.loads(output.getvalue().strip().splitlines()[-1])
    if result.get("failed") or result.get("changed"):
        raise SystemExit(f"{name} was not a no-op: {json.dumps(result, default=str)[:600]}")
    return elapsed, result, list(CALLS)


# -- servers ----------------------------------------------------------------------------------------
def create_node(server: HeadscaleServer, user: str, name: str, n: int, routes: tuple[str, ...] = ()) -> None:
    """A node record without a client: `debug create-node` (same flags on 0.26.1 and 0.29.3:
    --name --user --key --route), then registered like an interactive login."""
    if server.at_least("0.29"):  # auth IDs: `hskey-authreq-` + 24 characters, `auth register` (#1850)
        key = f"hskey-authreq-{n:024d}"
        register = ("auth", "register", "--user", user, "--auth-id", key)
    else:  # registration IDs: 24 characters
        key = f"{n:024d}"
        register = ("nodes", "register", "--user", user, "--key", key)
    route_args = [arg for route in routes for arg in ("--route", route)]
    server.cli("debug", "create-node", "--name", name, "--user", user, "--key", key, *route_args)
    server.cli(*register)


def seed_target(server: HeadscaleServer) -> None:
    """The objects the no-op runs ask for, on both servers."""
    user = server.ensure_user(USER)
    server.cli("preauthkeys", "create", "--user", str(user["id"]), "--reusable", "--expiration", "24h")
    create_node(server, USER, NODE, 1, routes=(ROUTE,))
    node = next(n for n in server.nodes() if n["name"] == NODE)
    server.cli("nodes", "approve-routes", "--identifier", str(node["id"]), f"--routes={ROUTE}")


def load(server: HeadscaleServer, users: int, keys: int, nodes: int) -> None:
    """Through headscale's CLI, many commands at once (headscale does the work, as in production)."""
    names = [f"load-{i:04d}" for i in range(users)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = [user["id"] for user in pool.map(lambda name: server.cli("users", "create", name), names)]
    # Both at once: registration mostly waits inside headscale (about 1 s on 0.29), so many run in
    # parallel; 0.28+ hashes each new key with bcrypt (CPU-bound, and the CLI gives up after 5 s), so few.
    with ThreadPoolExecutor(max_workers=32) as node_pool, ThreadPoolExecutor(max_workers=4) as key_pool:
        jobs = [node_pool.submit(create_node, server, names[i % users], f"load-node-{i:04d}", 1000 + i)
                for i in range(nodes)]
        jobs += [key_pool.submit(server.cli, "preauthkeys", "create", "--user", str(ids[i % users]),
                                 "--reusable", "--expiration", "24h") for i in range(keys)]
        for job in jobs:
            job.result()
    counts = (len(server.users()), len(server.nodes()))
    if counts != (users + 1, nodes + 1):
        raise SystemExit(f"loaded server holds {counts[0]} users and {counts[1]} nodes, not {users + 1}/{nodes + 1}")


# -- measuring --------------------------------------------------------------------------------------
def measure(name: str, transport: str, servers: dict[str, HeadscaleServer], runs: int, tmp: str) -> dict:
    """Median seconds per side, alternating sides (and which goes first) so drift hits both alike."""
    args = {side: {**NOOP_ARGS[name], **connection_args(server, transport)} for side, server in servers.items()}
    row = {"times": {side: [] for side in servers}, "calls": {}}
    warnings = set()
    for side in servers:  # warm-up (first-use imports inside ansible-core), not timed
        _seconds, result, row["calls"][side] = run_in_process(name, args[side], tmp)
        warnings.update(str(w.get("event", {}).get("msg", w)) if isinstance(w, dict) else str(w)
                        for w in result.get("warnings", []))
    for warning in sorted(warnings):
        note(f"  {name}/{transport} warns: {warning}")
    for sample in range(runs):
        for side in (("empty", "loaded") if sample % 2 == 0 else ("loaded", "empty")):
            seconds, _result, calls = run_in_process(name, args[side], tmp)
            if calls != row["calls"][side]:
                raise SystemExit(f"{name}/{transport} made different calls on the same server: {calls}")
            row["times"][side].append(seconds)
    if transport == "cli":  # independent count: the harness's wrapper script around the binary
        counter = CallCounter(servers["loaded"].binary, Path(tmp))
        counter.reset()
        run_in_process(name, {**args["loaded"], "headscale_command": [str(counter.wrapper)]}, tmp)
        if len(counter.calls()) != len(row["calls"]["loaded"]):
            raise SystemExit(f"{name}/cli: CallCounter saw {counter.calls()}, the recorder {row['calls']['loaded']}")
    row["median"] = {side: statistics.median(times) for side, times in row["times"].items()}
    row["ratio"] = row["median"]["loaded"] / row["median"]["empty"]
    repeated = {kind: n for kind, n in Counter(filter(None, map(read_type, row["calls"]["loaded"]))).items()
                if n > 1}
    row["misses"] = [f"{kind} listed {n} times" for kind, n in repeated.items()]
    if row["ratio"] > GOAL_RATIO:
        row["misses"].insert(0, f"loaded/empty {row['ratio']:.2f}x > {GOAL_RATIO:g}x")
    return row


def start_up_seconds(server: HeadscaleServer) -> float:
    """For scale: one whole `python -m` run of headscale_user/cli (start-up, imports, the run)."""
    times = []
    for _attempt in range(3):
        started = time.perf_counter()
        run_module_subprocess("headscale_user", NOOP_ARGS["headscale_user"], server=server, transport="cli")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_version(version: str, options: argparse.Namespace, facts: list[str]) -> list[tuple[str, str, dict]]:
    servers = {"empty": HeadscaleServer(version), "loaded": HeadscaleServer(version)}
    try:
        for server in servers.values():
            server.start()
            seed_target(server)
        started = time.perf_counter()
        load(servers["loaded"], options.users, options.keys, options.nodes)
        loading = time.perf_counter() - started
        facts.append(f"{version}: loading took {loading:.0f} s; one whole `python -m` run of headscale_user/cli "
                     f"(start-up, imports, the run) takes {start_up_seconds(servers['empty']):.2f} s")
        note(facts[-1])
        rows = []
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            for name in NOOP_ARGS:
                for transport in TRANSPORTS:
                    rows.append((name, transport, measure(name, transport, servers, options.runs, tmp)))
                    note(f"{version}: {name}/{transport} done")
        return rows
    finally:
        for server in servers.values():
            server.stop()
            server.cleanup()


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def describe_commit() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                          check=False).stdout.strip() or "unknown"
    code = ["plugins", "bench/*.py"]  # what is measured; README drafts do not count
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *code], cwd=REPO,
                           capture_output=True, text=True, check=False).stdout.strip()
    return head + (" + uncommitted changes to the code (plugins/, bench/*.py)" if dirty else "")


def calls_text(calls: dict[str, list[str]]) -> str:
    text = "; ".join(calls["loaded"])
    if calls["empty"] != calls["loaded"]:
        text += f" (empty server: {len(calls['empty'])} calls)"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", nargs="+", default=["0.26.1", "0.29.3"])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per module, transport and server")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=2000)
    parser.add_argument("--nodes", type=int, default=500)
    options = parser.parse_args()
    install_recorders()
    commit = describe_commit()  # what is measured: the code as it is when the run starts
    started = time.perf_counter()
    facts: list[str] = []
    rows = [(version, *row) for version in options.versions for row in bench_version(version, options, facts)]
    print(f"commit {commit}; {options.runs} runs per cell; loaded = {options.users} users, "
          f"{options.keys} pre-auth keys, {options.nodes} nodes; load average {os.getloadavg()[0]:.1f}\n")
    print("| headscale | module | transport | empty (median ms) | loaded (median ms) | loaded/empty "
          "| calls per run | calls (loaded server) |")
    print("|---|---|---|---|---|---|---|---|")
    for version, name, transport, row in rows:
        print(f"| {version} | {name} | {transport} | {row['median']['empty'] * 1000:.1f} "
              f"| {row['median']['loaded'] * 1000:.1f} | {row['ratio']:.2f}x | {len(row['calls']['loaded'])} "
              f"| {calls_text(row['calls'])} |")
    misses = [f"{version} {name}/{transport}: {', '.join(row['misses'])}"
              for version, name, transport, row in rows if row["misses"]]
    print(f"\nGoal (loaded <= {GOAL_RATIO:g}x empty, one list call per object type): "
          + ("met by every row." if not misses else f"missed by {len(misses)} rows:"))
    for miss in misses:
        print(f"- {miss}")
    print("\n" + "\n".join(f"- {fact}" for fact in facts))
    print(f"\nwall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
