"""Every entry point of every role validates its arguments in a real ansible-playbook run.

Each run imports one entry point (``tasks_from``) on localhost with ``--tags`` naming no task:
only the argument validation ansible-core puts first (tagged ``always``) runs, so nothing on
the host is touched. With the role defaults it passes; a value outside an option's choices
stops it there, naming the variable (the entry point is really validated, not skipped).
tests/unit/roles/test_entry_points.py checks the calls name these entry points.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from harness.modules import run_playbook

ROLES = Path(__file__).resolve().parents[2] / "roles"
ENTRY_POINTS = [(role.parent.parent.name, name) for role in sorted(ROLES.glob("*/meta/argument_specs.yml"))
                for name in yaml.safe_load(role.read_text())["argument_specs"]]
NO_TASK = "selfhosted_no_task"


def validation(role: str, entry_point: str, extra_vars: dict) -> tuple[dict, str]:
    """The validation task's result on localhost, and the run's output."""
    task = {"name": "Entry point", "ansible.builtin.import_role": {
        "name": f"selfhosted.headscale.{role}", "tasks_from": entry_point}}
    run = run_playbook([task], extra_vars=extra_vars, tags=NO_TASK)
    for play in run.result["plays"]:
        for result in play["tasks"]:
            if f" : Validating arguments against arg spec '{entry_point}'" in result["task"]["name"]:
                return result["hosts"]["localhost"], run.stdout
    raise AssertionError(f"no argument validation for {role} {entry_point}:\n{run.stdout[-3000:]}")


def choice_option(role: str, entry_point: str) -> str | None:
    options = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())[
        "argument_specs"][entry_point].get("options") or {}
    return next((name for name, option in sorted(options.items()) if option.get("choices")), None)


# The required options of the two install helpers (called by headscale and caddy with these).
REQUIRED = {
    "binary_install": {"binary_install_name": "x", "binary_install_version": "1.0.0",
                       "binary_install_version_var": "x_version", "binary_install_dir": "/opt/x",
                       "binary_install_files": ["x"], "binary_install_notify": "restart x"},
    "image_install": {"image_install_name": "x", "image_install_image": "x:1",
                      "image_install_image_var": "x_image", "image_install_dir": "/opt/x"},
}


@pytest.mark.parametrize(("role", "entry_point"), ENTRY_POINTS)
def test_entry_point_validates_with_the_role_defaults(role: str, entry_point: str) -> None:
    result, output = validation(role, entry_point, REQUIRED.get(role, {}))
    assert not result.get("failed"), output[-3000:]


@pytest.mark.parametrize(("role", "entry_point"), [
    (role, entry_point) for role, entry_point in ENTRY_POINTS if choice_option(role, entry_point)])
def test_entry_point_refuses_a_value_outside_the_choices(role: str, entry_point: str) -> None:
    option = choice_option(role, entry_point)
    result = validation(role, entry_point, {**REQUIRED.get(role, {}), option: "no-such-choice"})[0]
    assert result.get("failed")
    assert option in result["msg"] and "no-such-choice" in result["msg"]
