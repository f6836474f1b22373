"""Every role's defaults/main.yml and meta/argument_specs.yml describe the same variables.

A variable set in defaults is an option of the role's argument spec, and an option the spec gives a
``default`` is set in defaults, to that value. A default computed from other variables (a Jinja
template) is not repeated in the spec, whose ``description`` says what it is built from.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"
ROLE_NAMES = sorted(path.parent.parent.name for path in ROLES.glob("*/meta/argument_specs.yml"))


def spec_options(role: str) -> dict[str, dict]:
    """The options of every entry point (main, and e.g. backup or upgrade) by name."""
    specs = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    options: dict[str, dict] = {}
    for entry_point in specs.values():
        for name, option in (entry_point.get("options") or {}).items():
            options.setdefault(name, option)
    return options


def defaults(role: str) -> dict:
    path = ROLES / role / "defaults" / "main.yml"
    return (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}


def test_every_role_has_an_argument_spec() -> None:
    assert ROLE_NAMES == sorted(path.name for path in ROLES.iterdir() if (path / "tasks").is_dir())


def disagreements(options: dict[str, dict], values: dict) -> list[str]:
    """What differs between a role's spec ``options`` and its defaults ``values``."""
    problems = [f"{name}: in defaults/main.yml, not in meta/argument_specs.yml" for name in values
                if name not in options]
    problems += [f"{name}: default in meta/argument_specs.yml, not in defaults/main.yml" for name, option
                 in options.items() if "default" in option and name not in values]
    for name, value in values.items():
        option = options.get(name)
        if option is None:
            continue
        if "default" in option:
            if option["default"] != value:
                problems.append(f"{name}: default {option['default']!r} in the spec, {value!r} in defaults")
        elif not (isinstance(value, str) and "{{" in value):
            problems.append(f"{name}: {value!r} in defaults, no default in the spec")
    return problems


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_defaults_and_argument_spec_agree(role: str) -> None:
    problems = disagreements(spec_options(role), defaults(role))
    assert not problems, f"roles/{role}:\n" + "\n".join(problems)


def test_each_kind_of_disagreement_is_found() -> None:
    options = {"r_port": {"type": "int", "default": 80}, "r_url": {"type": "str"}, "r_spec_only": {"default": 1}}
    assert disagreements(options, {"r_port": 80, "r_url": "http://{{ r_host }}", "r_spec_only": 1}) == []
    assert disagreements(options, {"r_port": 8080, "r_url": "http://x", "r_new": 1}) == [
        "r_new: in defaults/main.yml, not in meta/argument_specs.yml",
        "r_spec_only: default in meta/argument_specs.yml, not in defaults/main.yml",
        "r_port: default 80 in the spec, 8080 in defaults",
        "r_url: 'http://x' in defaults, no default in the spec",
    ]
