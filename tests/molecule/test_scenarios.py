"""One test per molecule scenario: every molecule/<name>/molecule.yml whose name does not
start with "_" (molecule/_shared is the base config, not a scenario)."""

from __future__ import annotations

from pathlib import Path

import pytest

MOLECULE_DIR = Path(__file__).resolve().parents[2] / "molecule"
SCENARIOS = sorted(
    path.parent.name for path in MOLECULE_DIR.glob("*/molecule.yml") if not path.parent.name.startswith("_")
)

pytestmark = pytest.mark.molecule


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(run_molecule, scenario):
    run_molecule(scenario)
