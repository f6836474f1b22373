"""Every role entry point that playbooks, scenarios and roles call is declared, with what it reads.

ansible-core validates the arguments of ``include_role``/``import_role`` with ``tasks_from: X``
against the entry point named exactly X in the role's meta/argument_specs.yml: ``tasks_from:
reach.yml`` finds no entry point ``reach`` and runs unvalidated. So each call names a declared
entry point, and each entry point other than main declares the role defaults its tasks read
(the run itself: tests/integration/test_role_entry_points.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
ROLES = REPO / "roles"
CALLERS = ("playbooks", "molecule", "roles")
ROLE_ACTIONS = {f"{prefix}{action}" for prefix in ("", "ansible.builtin.")
                for action in ("include_role", "import_role")}
# Role defaults an entry point sets itself before a task file reads them (upgrade_step.yml hands
# its backup to restore.yml).
SET_INSIDE = {("headscale", "upgrade"): {"headscale_restore_archive"}}


def entry_points(role: str) -> dict[str, dict]:
    return yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]


def walk(node) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        node = list(node.values())
    if isinstance(node, list):
        for item in node:
            yield from walk(item)


def calls() -> list[tuple[str, str, str]]:
    """(file, role, tasks_from) of every include_role/import_role with tasks_from in the callers."""
    found = set()
    for folder in CALLERS:
        for path in sorted((REPO / folder).rglob("*.yml")):
            for node in walk(yaml.safe_load(path.read_text())):
                for action in ROLE_ACTIONS.intersection(node):
                    args = node[action]
                    if isinstance(args, dict) and "tasks_from" in args:
                        role = args["name"].rsplit(".", 1)[-1]
                        found.add((str(path.relative_to(REPO)), role, args["tasks_from"]))
    return sorted(found)


CALLS = calls()


def test_the_callers_are_found() -> None:
    assert ("playbooks/tailnet.yml", "headscale", "policy") in CALLS
    assert len({call[1] for call in CALLS}) >= 3


@pytest.mark.parametrize(("path", "role", "tasks_from"), CALLS)
def test_each_call_names_a_declared_entry_point(path: str, role: str, tasks_from: str) -> None:
    assert tasks_from in entry_points(role), (
        f"{path}: tasks_from {tasks_from!r} of role {role} is no entry point of "
        f"roles/{role}/meta/argument_specs.yml ({', '.join(entry_points(role))}); name one without .yml")


def _text(path: Path) -> str:
    """The file without comment lines, and without module names (selfhosted.headscale.headscale_user)."""
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    return re.sub(r"\b(?:selfhosted|ansible|community)[.]\w+[.]\w+", " ", "\n".join(lines))


def reads(role: str, tasks_file: str) -> set[str]:
    """The role defaults read by ``tasks_file``, the task files and templates it includes, the
    handlers it notifies, and the role vars they use, transitively."""
    defaults = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text()) or {}
    role_vars = yaml.safe_load((ROLES / role / "vars" / "main.yml").read_text()) or {}
    texts: list[str] = []
    files: set[Path] = set()

    def visit(path: Path) -> None:
        if path in files or not path.exists():
            return
        files.add(path)
        raw = path.read_text()
        texts.append(_text(path))
        for name in re.findall(r"(?:include_tasks|import_tasks):\s*([\w.-]+[.]yml)", raw):
            visit(ROLES / role / "tasks" / name)
        for name in re.findall(r"([\w.-]+[.]j2)", raw):
            visit(ROLES / role / "templates" / name)
        if "notify:" in raw:
            visit(ROLES / role / "handlers" / "main.yml")

    visit(ROLES / role / "tasks" / tasks_file)
    found: set[str] = set()
    seen: set[str] = set()
    while texts:
        for name in set(re.findall(rf"\b_?{role}_\w+", texts.pop())) - seen:
            seen.add(name)
            if name in defaults:
                found.add(name)
                texts.append(str(defaults[name]))
            if name in role_vars:
                value = yaml.safe_dump(role_vars[name])
                texts.append(value)
                for template in re.findall(r"([\w.-]+[.]j2)", value):
                    visit(ROLES / role / "templates" / template)
    return found


ENTRY_POINTS = [(role.name, name) for role in sorted(ROLES.iterdir()) if (role / "meta" / "argument_specs.yml").exists()
                for name in entry_points(role.name) if name != "main"]


def test_reads_follows_includes_vars_and_handlers() -> None:
    # policy.yml includes policy_file.yml, whose template and handler read these.
    assert {"headscale_policy_path", "headscale_config_validate", "headscale_service_state"} <= reads(
        "headscale", "policy.yml")
    assert "headscale_user" not in reads("headscale", "reach.yml")  # only a module's name there


@pytest.mark.parametrize(("role", "entry_point"), ENTRY_POINTS)
def test_each_entry_point_declares_what_it_reads(role: str, entry_point: str) -> None:
    declared = set(entry_points(role)[entry_point].get("options") or {})
    missing = reads(role, f"{entry_point}.yml") - declared - SET_INSIDE.get((role, entry_point), set())
    assert not missing, f"roles/{role} entry point {entry_point} reads, not declared: {sorted(missing)}"
