"""No-op re-run of playbooks/site.yml on a lab against the floor, side by side.

Brings up the hosts of a molecule scenario (default: "default", the two containers that
inventories/lab reaches; "mesh" works the same with the inventory molecule writes for it),
converges them once with playbooks/site.yml, then runs, alternately, the floor (bench/floor.yml:
facts and one no-op task on the same hosts) and the no-op site.yml (profile_tasks on). Prints the
median wall times, their ratio, each run's task counts (ok/changed/skipped, summed over the hosts),
the time per role and the slowest tasks of the last site run. Destroys the lab at the end (--keep
leaves it up). Heavy (containers): run one at a time (`make bench`).
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
# The scenario's molecule state (and the inventory molecule writes) lives here, not in molecule's cache.
EPHEMERAL = REPO / ".cache" / "bench"
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)")
# profile_tasks: "Role : Task name ------- 1.23s"
PROFILE = re.compile(r"^(.*?)\s-{3,}\s+(\d+\.\d+)s$")
GOAL = 3.0
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def env(scenario: str, profile: bool) -> dict[str, str]:
    out = dict(os.environ)
    out["PATH"] = os.pathsep.join([str(REPO / ".venv" / "bin"), out.get("PATH", "")])
    out["ANSIBLE_COLLECTIONS_PATH"] = str(REPO / ".collections")
    out["ANSIBLE_NOCOLOR"] = "1"
    # Opt-in scenarios (not collected by tests/molecule) live in molecule/_<name>.
    opt_in = (REPO / "molecule" / f"_{scenario}").is_dir()
    out["MOLECULE_GLOB"] = "molecule/_*/molecule.yml" if opt_in else "molecule/*/molecule.yml"
    out["MOLECULE_EPHEMERAL_DIRECTORY"] = str(EPHEMERAL / scenario)
    if scenario != "default":
        # ansible-playbook on molecule's inventory: what molecule's own runs see (its ansible.cfg, and
        # MOLECULE_PROJECT_DIRECTORY, which the scenarios' group_vars read).
        out["MOLECULE_PROJECT_DIRECTORY"] = str(REPO)
        out["ANSIBLE_CONFIG"] = str(EPHEMERAL / scenario / "ansible.cfg")
    out.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    if profile:
        out["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
    out["PROFILE_TASKS_TASK_OUTPUT_LIMIT"] = "all"
    return out


def run(argv: list[str], scenario: str, profile: bool = False) -> tuple[float, str]:
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, env=env(scenario, profile), capture_output=True, text=True, check=False)
    took = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed (rc={proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    # Molecule forces colour on the playbook output it passes through.
    return took, ANSI.sub("", proc.stdout + proc.stderr)


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
    """(task, seconds) of every task, slowest first (profile_tasks; one line per task over all hosts)."""
    tail = output.split("TASKS RECAP", 1)[-1] if "TASKS RECAP" in output else output
    return [(m[1].strip(), float(m[2])) for m in map(PROFILE.match, tail.splitlines()) if m]


def by_role(tasks: list[tuple[str, float]]) -> list[tuple[str, int, float]]:
    """(role, tasks, seconds), most seconds first; tasks outside a role count as "(play)"."""
    totals: dict[str, list[float]] = {}
    for name, seconds in tasks:
        role = name.split(" : ", 1)[0] if " : " in name else "(play)"
        totals.setdefault(role, []).append(seconds)
    return sorted(((role, len(times), sum(times)) for role, times in totals.items()), key=lambda row: -row[2])


def commit() -> str:
    """The short commit of the checkout measured."""
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout.strip()


def destroy(scenario: str) -> None:
    """Remove the scenario's containers and networks (molecule destroy), errors ignored."""
    argv = [*BASE, "destroy", "-s", scenario]
    subprocess.run(argv, cwd=REPO, env=env(scenario, False), capture_output=True, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each side (default 3)")
    parser.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
    parser.add_argument("--top", type=int, default=15, help="slowest tasks to list (default 15)")
    parser.add_argument("--scenario", default="default", help="molecule scenario whose hosts to use (default: default)")
    parser.add_argument(
        "--inventory",
        help="inventory reaching the scenario's hosts (default: inventories/lab for the default scenario, "
        "else the one molecule writes for the scenario)",
    )
    args = parser.parse_args()
    scenario = args.scenario
    inventory = args.inventory or (
        "inventories/lab" if scenario == "default" else str(EPHEMERAL / scenario / "inventory"))
    playbook = ["ansible-playbook", "-i", inventory]
    try:
        run([*BASE, "create", "-s", scenario], scenario)
        run([*BASE, "prepare", "-s", scenario], scenario)
        # The lab as a user converges it; another scenario as molecule does (its converge is site.yml).
        converge = [*playbook, "playbooks/site.yml"] if scenario == "default" else [*BASE, "converge", "-s", scenario]
        took, out = run(converge, scenario)
        converged = counts(out)
        print(f"converge: {took:.1f} s" + (f", {converged}" if any(converged.values()) else ""))
        floor, site = [], []
        for _run in range(args.runs):
            took, out = run([*playbook, "bench/floor.yml"], scenario)
            floor.append(took)
            floor_counts = counts(out)
            took, out = run([*playbook, "playbooks/site.yml"], scenario, profile=True)
            site.append(took)
            site_counts = counts(out)
            if site_counts["changed"]:
                sys.exit(f"the re-run of site.yml changed something: {site_counts}\n{out[-4000:]}")
        ratio = statistics.median(site) / statistics.median(floor)
        print(f"scenario {scenario}, inventory {inventory}; commit {commit()}; {args.runs} runs each, alternating; "
              f"load average {os.getloadavg()[0]:.1f}")
        print("| run | median s | runs s | ok | changed | skipped |")
        print("|---|---|---|---|---|---|")
        for name, times, tasks in (("floor", floor, floor_counts), ("no-op site.yml", site, site_counts)):
            print(
                f"| {name} | {statistics.median(times):.1f} | {', '.join(f'{t:.1f}' for t in times)} "
                f"| {tasks['ok']} | {tasks['changed']} | {tasks['skipped']} |"
            )
        print(f"\nratio: {ratio:.1f}x (goal <= {GOAL:.0f}x: {'met' if ratio <= GOAL else 'missed'})")
        tasks = slowest(out)
        total = sum(seconds for _name, seconds in tasks)
        print(f"\nthe last site.yml run by role (profile_tasks: {len(tasks)} tasks, {total:.1f} s):")
        print("| role | tasks | s |")
        print("|---|---|---|")
        for role, number, seconds in by_role(tasks):
            print(f"| {role} | {number} | {seconds:.1f} |")
        print(f"\nits {args.top} slowest tasks:")
        print("| s | task |")
        print("|---|---|")
        for name, seconds in tasks[: args.top]:
            print(f"| {seconds:.2f} | {name} |")
    finally:
        if not args.keep:
            destroy(scenario)
    return 0


if __name__ == "__main__":
    sys.exit(main())
