"""Every molecule scenario runs the shared nothing-calls-home checks.

``molecule/_shared/verify_trust.yml`` reads the egress guards' counters, the lab resolver's
record, headscale's rendered configuration and each tailscaled's command line. A scenario whose
verify playbook does not import it (or whose test sequence has no verify step) would pass without
them, so a new scenario that forgets them fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

MOLECULE = Path(__file__).resolve().parents[3] / "molecule"
TRUST = (MOLECULE / "_shared" / "verify_trust.yml").resolve()
SCENARIOS = sorted(p.parent.name for p in MOLECULE.glob("*/molecule.yml") if not p.parent.name.startswith("_"))


def trust_problems(scenario_dir: Path) -> list[str]:
    """Why the scenario in ``scenario_dir`` would pass without the trust checks ([] if it would not)."""
    config = yaml.safe_load((scenario_dir / "molecule.yml").read_text()) or {}
    sequence = (config.get("scenario") or {}).get("test_sequence")
    problems = []
    if sequence is not None and "verify" not in sequence:
        problems.append("its test_sequence has no verify step")
    playbooks = (config.get("provisioner") or {}).get("playbooks") or {}
    verify = (scenario_dir / playbooks.get("verify", "verify.yml")).resolve()
    if not verify.is_file():
        return [*problems, f"its verify playbook {verify} does not exist"]
    plays = yaml.safe_load(verify.read_text()) or []
    imported = [(verify.parent / play["ansible.builtin.import_playbook"]).resolve()
                for play in plays if isinstance(play, dict) and "ansible.builtin.import_playbook" in play]
    if TRUST not in imported:
        problems.append(f"{verify.name} does not import molecule/_shared/verify_trust.yml")
    return problems


def test_every_scenario_is_seen() -> None:
    expected = {"default", "mesh", "server", "server_native", "server_tls_internal", "oidc", "upgrade", "smoke"}
    assert expected <= set(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_runs_the_trust_checks(scenario: str) -> None:
    assert trust_problems(MOLECULE / scenario) == []


def test_a_scenario_without_them_is_caught(tmp_path: Path) -> None:
    """Negative control: a verify playbook with checks of its own but no verify_trust import."""
    (tmp_path / "molecule.yml").write_text(yaml.safe_dump({"scenario": {"test_sequence": ["converge", "verify"]}}))
    (tmp_path / "verify.yml").write_text(yaml.safe_dump([
        {"name": "Checks of its own", "hosts": "all", "tasks": []},
        {"name": "Another import", "ansible.builtin.import_playbook": "../default/verify.yml"},
    ]))
    assert trust_problems(tmp_path) == ["verify.yml does not import molecule/_shared/verify_trust.yml"]
    (tmp_path / "molecule.yml").write_text(yaml.safe_dump({"scenario": {"test_sequence": ["converge"]}}))
    assert "its test_sequence has no verify step" in trust_problems(tmp_path)
