#!/usr/bin/env python
"""No-op module runs on an empty and on a loaded headscale server, reported as ratios.

    .venv/bin/python bench/bench_noop.py [--versions 0.29.3 0.26.1] [--runs 7]

For each headscale version a real `headscale serve` is started twice: once nearly empty
(one user, one node with one approved route) and once loaded with 1,000 users, 2,000
pre-auth keys and 500 nodes, all created through the headscale CLI. On each, no-op runs of
`headscale_user` and `headscale_routes` (over the CLI and the REST transport) are timed, and
the headscale commands a CLI-transport run issues are counted through a wrapper. The report
gives medians and the loaded/empty ratio measured in the same run; absolute times are only
for orientation (these machines are noisy).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests" / "integration"), str(REPO)]

from harness.call_counter import CallCounter  # noqa: E402
from harness.headscale import HeadscaleServer  # noqa: E402
from harness.modules import connection_args, run_module  # noqa: E402

ROUTE = "10.30.0.0/24"
TARGET_USER = "bench-user"
TARGET_NODE = "bench-node"


def registration_id(server: HeadscaleServer, n: int) -> str:
    token = f"{n:024d}"
    # 0.29 #1850: interactive registrations are auth IDs, `hskey-authreq-` + 24 characters.
    return "hskey-authreq-" + token if server.at_least("0.29") else token


def create_node(server: HeadscaleServer, user: str, name: str, n: int, routes: tuple[str, ...] = ()) -> dict:
    key = registration_id(server, n)
    route_args = [arg for route in routes for arg in ("--route", route)]
    server.cli("debug", "create-node", "--name", name, "--user", user, "--key", key, *route_args)
    if server.at_least("0.29"):
        return server.cli("auth", "register", "--user", user, "--auth-id", key)
    return server.cli("nodes", "register", "--user", user, "--key", key)


def seed_target(server: HeadscaleServer) -> None:
    """The user and node the no-op runs ask for."""
    server.ensure_user(TARGET_USER)
    node = create_node(server, TARGET_USER, TARGET_NODE, 1, routes=(ROUTE,))
    server.cli("nodes", "approve-routes", "--identifier", str(node["id"]), f"--routes={ROUTE}")


def load(server: HeadscaleServer, users: int, keys: int, nodes: int) -> None:
    names = [f"load-{i:04d}" for i in range(users)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        created = list(pool.map(lambda name: server.cli("users", "create", name), names))
        ids = [user["id"] for user in created]
        # preauthkeys take the user ID since 0.26 (#2542)
        list(pool.map(lambda i: server.cli("preauthkeys", "create", "--user", str(ids[i % users]),
                                           "--reusable", "--expiration", "24h"), range(keys)))
        list(pool.map(lambda i: create_node(server, names[i % users], f"load-node-{i:04d}", 1000 + i),
                      range(nodes)))


def noop_cases(server: HeadscaleServer) -> dict[str, tuple[str, dict]]:
    routes = {"node": TARGET_NODE, "routes": [ROUTE], "mode": "equal"}
    return {
        "headscale_user/cli": ("headscale_user", {"name": TARGET_USER, **connection_args(server, "cli")}),
        "headscale_user/api": ("headscale_user", {"name": TARGET_USER, **connection_args(server, "api")}),
        "headscale_routes/cli": ("headscale_routes", {**routes, **connection_args(server, "cli")}),
        "headscale_routes/api": ("headscale_routes", {**routes, **connection_args(server, "api")}),
    }


def run_noop(module: str, args: dict) -> float:
    started = time.perf_counter()
    result = run_module(module, args)
    elapsed = time.perf_counter() - started
    if result.get("failed") or result.get("changed"):
        raise SystemExit(f"{module} was not a no-op: {json.dumps(result, default=str)[:400]}")
    return elapsed


def count_calls(server: HeadscaleServer, module: str, args: dict, workdir: Path) -> list[str]:
    counter = CallCounter(server.binary, workdir)
    run_module(module, {**args, "headscale_command": [str(counter.wrapper)]})
    return counter.calls()


def measure(version: str, runs: int) -> dict:
    """Median no-op times on an empty and a loaded server of one version.

    Both servers run at once and the samples alternate (empty, loaded, empty, ...), so
    that load drift on a noisy machine affects both sides alike.
    """
    empty, loaded = HeadscaleServer(version).start(), HeadscaleServer(version).start()
    try:
        for server in (empty, loaded):
            seed_target(server)
        started = time.perf_counter()
        load(loaded, users=1000, keys=2000, nodes=500)
        print(f"  loaded {version} in {time.perf_counter() - started:.0f}s", file=sys.stderr)
        report = {}
        for name, (module, empty_args) in noop_cases(empty).items():
            loaded_args = noop_cases(loaded)[name][1]
            samples = {"empty": [], "loaded": []}
            for _attempt in range(runs):
                samples["empty"].append(run_noop(module, empty_args))
                samples["loaded"].append(run_noop(module, loaded_args))
            report[name] = {side: statistics.median(values) for side, values in samples.items()}
            if name.endswith("/cli"):
                with tempfile.TemporaryDirectory() as tmp:
                    report[name]["calls"] = count_calls(loaded, module, loaded_args, Path(tmp))
        return report
    finally:
        for server in (empty, loaded):
            server.stop()
            server.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", nargs="+", default=["0.29.3", "0.26.1"])
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    print("| headscale | module/transport | empty (median s) | loaded (median s) | loaded/empty | commands per run |")
    print("|---|---|---|---|---|---|")
    for version in options.versions:
        for name, row in measure(version, runs=options.runs).items():
            calls = "; ".join(" ".join(_drop_config(call.split())) for call in row.get("calls", [])) or "(REST)"
            print(f"| {version} | {name} | {row['empty']:.3f} | {row['loaded']:.3f} | "
                  f"{row['loaded'] / row['empty']:.2f}x | {calls} |", flush=True)


def _drop_config(words: list[str]) -> list[str]:
    return words[2:] if words[:1] == ["-c"] else words


if __name__ == "__main__":
    main()
