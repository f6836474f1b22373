"""One test per molecule scenario: every molecule/<name>/molecule.yml whose name does not
start with "_" (molecule/_shared is the base config, not a scenario).

The "default" scenario (the lab: inventories/lab) runs once per headscale version of the
default matrix, chosen through MOLECULE_HEADSCALE_VERSION, which its inventory reads:
0.26.1 (the reference deployment's pin) with the ACL policy in a file, as the reference
deployment keeps it (MOLECULE_HEADSCALE_POLICY_MODE=file: the role writes and checks the
file before headscale first starts), and 0.29.3 with the role's default, the policy in
headscale's database. Container names are global, so these runs must never overlap:
they are parameters of one test in this one file, which `make test` (pytest-xdist,
--dist loadfile) keeps on one worker, one after the other.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MOLECULE_DIR = Path(__file__).resolve().parents[2] / "molecule"
# `make test` hands the scenarios out in collection order (two workers, --no-loadscope-reorder):
# the longest first, so that none of them starts last (on 2 cores, next to another scenario:
# fleet when selected, upgrade and mesh ~15 min each, then the two default runs), then the others
# by name.
LONGEST_FIRST = ["fleet", "upgrade", "mesh", "default"]
SCENARIOS = sorted(
    (path.parent.name for path in MOLECULE_DIR.glob("*/molecule.yml") if not path.parent.name.startswith("_")),
    key=lambda name: (LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST), name),
)

# (headscale version, policy mode) of each run of molecule/default.
DEFAULT_RUNS = [("0.26.1", "file"), ("0.29.3", "database")]

# TESTBED_MATRIX=full adds runs of the scenarios that matter on the other supported versions:
# {scenario: [(id suffix, environment)]}. Each scenario's inventory reads these variables
# (MOLECULE_HEADSCALE_VERSION, MOLECULE_TAILSCALE_VERSION; its own defaults otherwise).
FULL_MATRIX = os.environ.get("TESTBED_MATRIX") == "full"
FULL_RUNS = {
    "default": [
        (f"hs{version}-policy-database",
         {"MOLECULE_HEADSCALE_VERSION": version, "MOLECULE_HEADSCALE_POLICY_MODE": "database"})
        for version in ("0.27.1", "0.28.0")
    ],
    # the oldest client headscale 0.29 accepts, and the oldest server with the newest client
    "mesh": [
        ("ts1.80.3", {"MOLECULE_TAILSCALE_VERSION": "1.80.3"}),
        ("hs0.26.1", {"MOLECULE_HEADSCALE_VERSION": "0.26.1"}),
    ],
    # OIDC on the reference pin (no confirmation step before 0.29) and with the oldest client
    "oidc": [
        ("hs0.26.1", {"MOLECULE_HEADSCALE_VERSION": "0.26.1"}),
        ("ts1.80.3", {"MOLECULE_TAILSCALE_VERSION": "1.80.3"}),
    ],
}


# molecule/fleet (ten nodes over SSH) runs with TESTBED_FLEET=1 (`make fleet`) or the full matrix:
# on two cores it does not fit `make test`'s time yet. It takes longer than the default timeout.
FLEET_SELECTED = os.environ.get("TESTBED_FLEET") == "1" or os.environ.get("TESTBED_MATRIX") == "full"
FLEET_MARKS = [
    pytest.mark.skipif(not FLEET_SELECTED, reason="molecule/fleet: `make fleet` or TESTBED_MATRIX=full"),
    pytest.mark.timeout(5400),
]


def _cases(scenario: str) -> list:
    if scenario == "fleet":
        return [pytest.param(scenario, {}, id=scenario, marks=FLEET_MARKS)]
    if scenario == "default":
        cases = [
            pytest.param(
                scenario,
                {"MOLECULE_HEADSCALE_VERSION": version, "MOLECULE_HEADSCALE_POLICY_MODE": mode},
                id=f"{scenario}-hs{version}-policy-{mode}",
            )
            for version, mode in DEFAULT_RUNS
        ]
    else:
        cases = [pytest.param(scenario, {}, id=scenario)]
    if FULL_MATRIX:
        cases += [pytest.param(scenario, env, id=f"{scenario}-{suffix}") for suffix, env in FULL_RUNS.get(scenario, [])]
    return cases


CASES = [case for scenario in SCENARIOS for case in _cases(scenario)]

pytestmark = pytest.mark.molecule


@pytest.mark.parametrize(("scenario", "environment"), CASES)
def test_scenario(run_molecule, monkeypatch, scenario, environment):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    run_molecule(scenario)
