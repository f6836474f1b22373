"""Enrolment of 1, 5 and 10 nodes, one playbooks/nodes.yml run each: seconds per node.

Brings up the molecule scenario "fleet" (its server and ten nodes reached over SSH),
converges the server with playbooks/server.yml, then for each size N enrols the first N
nodes of the inventory from bare hosts (tailscale installed from the test bed, a just-in-time
key, the login) in one `ansible-playbook playbooks/nodes.yml --limit <server>,<N nodes>` run
with the scenario's forks, and takes them back to bare hosts with tailscale_client_state=absent
(which removes what the role installed) before the next size. Prints each run's wall time,
the seconds per node and the ratio 10-node / 1-node per node (goal: below 1, seconds per node
fall as N grows). Destroys the lab at the end (--keep leaves it up). Heavy: run alone.
"""

from __future__ import annotations

import argparse
import os
import sys

from bench_site import BASE, EPHEMERAL, commit, counts, destroy, run

SCENARIO = "fleet"
SIZES = (1, 5, 10)
SERVER = "fleet-hs"


def nodes(count: int) -> list[str]:
    return [f"fleet-{number:02d}" for number in range(1, count + 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
    args = parser.parse_args()
    inventory = str(EPHEMERAL / SCENARIO / "inventory")
    playbook = ["ansible-playbook", "-i", inventory]
    try:
        run([*BASE, "create", "-s", SCENARIO], SCENARIO)
        run([*BASE, "prepare", "-s", SCENARIO], SCENARIO)
        took, _out = run([*playbook, "playbooks/server.yml"], SCENARIO)
        print(f"server: {took:.1f} s")
        rows = []
        for size in SIZES:
            limit = ",".join([SERVER, *nodes(size)])
            took, out = run([*playbook, "playbooks/nodes.yml", "--limit", limit], SCENARIO)
            rows.append((size, took, counts(out)))
            run([*playbook, "playbooks/nodes.yml", "--limit", limit, "-e", "tailscale_client_state=absent"], SCENARIO)
        print(f"scenario {SCENARIO}; commit {commit()}; load average {os.getloadavg()[0]:.1f}")
        print("| nodes | run s | s per node | ok | changed |")
        print("|---|---|---|---|---|")
        for size, took, tasks in rows:
            print(f"| {size} | {took:.1f} | {took / size:.1f} | {tasks['ok']} | {tasks['changed']} |")
        per_node = {size: took / size for size, took, _tasks in rows}
        ratio = per_node[SIZES[-1]] / per_node[SIZES[0]]
        falls = per_node[SIZES[0]] > per_node[SIZES[1]] > per_node[SIZES[2]]
        print(f"\nratio {SIZES[-1]}-node / {SIZES[0]}-node per node: {ratio:.2f} "
              f"(seconds per node {'fall' if falls else 'do not fall'} as N grows)")
    finally:
        if not args.keep:
            destroy(SCENARIO)
    return 0


if __name__ == "__main__":
    sys.exit(main())
