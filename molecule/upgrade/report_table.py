"""Print molecule/upgrade's report (one JSON line per checked phase, written by
tasks/check_tailnet.yml) as a table: per install method, each phase with its time and what
headscale_info read back. Usage: python3 report_table.py .testbed/logs/molecule-upgrade-report.jsonl
"""

from __future__ import annotations

import json
import sys

# (column, key in the report); "seconds" is computed.
COLUMNS = (
    ("method", "method"),
    ("phase", "phase"),
    ("server", "server"),
    ("version", "version"),
    ("seconds", None),
    ("users", "users"),
    ("nodes", "nodes"),
    ("online", "online_nodes"),
    ("tagged", "tagged_nodes"),
    ("routes", "approved_routes"),
    ("apikeys", "apikeys"),
    ("preauthkeys", "preauthkeys"),
)


def seconds(entry: dict) -> str:
    """The phase's time: the upgrade step's own (role report), else the run it came from."""
    if entry.get("steps"):
        return " + ".join(f"{step['seconds']:.1f}" for step in entry["steps"])
    duration = entry.get("duration") or ""
    if duration.count(":") == 2:  # a command's delta, H:MM:SS.ffffff
        hours, minutes, secs = duration.split(":")
        return f"{int(hours) * 3600 + int(minutes) * 60 + float(secs):.1f}"
    return "-"


def main(path: str) -> None:
    with open(path, encoding="utf-8") as report:
        entries = [json.loads(line) for line in report if line.strip()]
    entries.sort(key=lambda entry: entry["method"])  # stable: each method's phases keep their order
    rows = [[name for name, _key in COLUMNS]]
    rows += [[str(entry[key]) if key else seconds(entry) for _name, key in COLUMNS] for entry in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for row in rows:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main(sys.argv[1])
