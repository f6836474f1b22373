"""No-op re-run of playbooks/site.yml on the lab against the floor, side by side.

Brings up the lab (the molecule "default" scenario's two containers, inventories/lab), converges
it once with playbooks/site.yml, then runs, alternately, the floor (bench/floor.yml: facts and one
no-op task on the same hosts) and the no-op site.yml (profile_tasks on). Prints the median wall
times, their ratio, each run's task counts (ok/changed/skipped, summed over the hosts) and the
slowest tasks of the last site run. Destroys the lab at the end (--keep leaves it up). Heavy:
run under the lock (`flock /tmp/hs-heavy.lock make bench-site`).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASE = ["molecule", "-c", "molecule/_shared/base.yml"]
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)")
# profile_tasks: "Role : Task name ------- 1.23s"
PROFILE = re.compile(r"^(.*?)\s-{3,}\s+(\d+\.\d+)s$")
GOAL = 3.0


def env(profile: bool) -> dict[str, str]:
    out = dict(os.environ)
    out["PATH"] = os.pathsep.join([str(REPO / ".venv" / "bin"), out.get("PATH", "")])
    out["ANSIBLE_COLLECTIONS_PATH"] = str(REPO / ".collections")
    out["ANSIBLE_NOCOLOR"] = "1"
    out["MOLECULE_GLOB"] = "molecule/*/molecule.yml"
    out.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    if profile:
        out["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
    out["PROFILE_TASKS_TASK_OUTPUT_LIMIT"] = "15"
    return out


def run(argv: list[str], profile: bool = False) -> tuple[float, str]:
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, env=env(profile), capture_output=True, text=True, check=False)
    took = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed (rc={proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return took, proc.stdout


def counts(output: str) -> dict[str, int]:
    total = {"ok": 0, "changed": 0, "skipped": 0}
    for line in output.splitlines():
        match = RECAP.match(line)
        if match:
            total["ok"] += int(match[2])
            total["changed"] += int(match[3])
            total["skipped"] += int(match[6])
    return total


def slowest(output: str) -> list[tuple[str, float]]:
    tail = output.split("TASKS RECAP", 1)[-1] if "TASKS RECAP" in output else output
    return [(m[1].strip(), float(m[2])) for m in map(PROFILE.match, tail.splitlines()) if m]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each side (default 3)")
    parser.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
    parser.add_argument("--scenario", default="default", help="molecule scenario whose hosts to use (default: default)")
    parser.add_argument(
        "--inventory",
        default="inventories/lab",
        help="inventory reaching the scenario's hosts (default: inventories/lab, the default scenario's)",
    )
    args = parser.parse_args()
    playbook = ["ansible-playbook", "-i", args.inventory]
    try:
        run([*BASE, "create", "-s", args.scenario])
        run([*BASE, "prepare", "-s", args.scenario])
        took, out = run([*playbook, "playbooks/site.yml"])
        print(f"converge: {took:.1f} s, {counts(out)}")
        floor, site = [], []
        for _run in range(args.runs):
            took, out = run([*playbook, "bench/floor.yml"])
            floor.append(took)
            floor_counts = counts(out)
            took, out = run([*playbook, "playbooks/site.yml"], profile=True)
            site.append(took)
            site_counts = counts(out)
            if site_counts["changed"]:
                sys.exit(f"the re-run of site.yml changed something: {site_counts}\n{out[-4000:]}")
        ratio = statistics.median(site) / statistics.median(floor)
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()
        print(f"commit {commit}; {args.runs} runs each, alternating; load average {os.getloadavg()[0]:.1f}")
        print("| run | median s | runs s | ok | changed | skipped |")
        print("|---|---|---|---|---|---|")
        for name, times, tasks in (("floor", floor, floor_counts), ("no-op site.yml", site, site_counts)):
            print(
                f"| {name} | {statistics.median(times):.1f} | {', '.join(f'{t:.1f}' for t in times)} "
                f"| {tasks['ok']} | {tasks['changed']} | {tasks['skipped']} |"
            )
        print(f"\nratio: {ratio:.1f}x (goal <= {GOAL:.0f}x: {'met' if ratio <= GOAL else 'missed'})")
        print("\nslowest tasks of the last site.yml run (profile_tasks):")
        for name, seconds in slowest(out):
            print(f"- {seconds:.2f} s  {name}")
    finally:
        if not args.keep:
            subprocess.run(
                [*BASE, "destroy", "-s", args.scenario], cwd=REPO, env=env(False), capture_output=True, check=False
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
