"""testbed/versions.env is the one version matrix: the shell scripts source it, the harness
parses it. These tests check both readers agree and that the scripts really take their
targets from it (a build script with its own list would pass every other test)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.harness import versions

ROOT = Path(__file__).resolve().parents[3]
VERSIONS_FILE = ROOT / "testbed" / "versions.env"


def shell_values(path: Path) -> dict[str, tuple[str, ...]]:
    """What bash sees after `source path` (only the file's own keys)."""
    keys = versions.read_versions_file(path)
    script = f'source "{path}"; ' + " ".join(f'printf "%s=%s\\n" {k} "${k}";' for k in keys)
    out = subprocess.run(["bash", "-c", script], check=True, capture_output=True, text=True).stdout
    return {k: tuple(v.split()) for k, v in (line.split("=", 1) for line in out.splitlines())}


def test_bash_and_python_read_the_same_matrix():
    assert shell_values(VERSIONS_FILE) == versions.read_versions_file(VERSIONS_FILE)


def test_harness_uses_the_file():
    values = versions.read_versions_file(VERSIONS_FILE)
    assert versions.HEADSCALE_DEFAULT == values["HEADSCALE_DEFAULT"] == ("0.26.1", "0.29.3")
    assert versions.HEADSCALE_FULL == values["HEADSCALE_FULL"]
    # The default integration matrix stays at its two ends; the steps between are built for
    # the upgrade scenario only, and together they are the full matrix.
    assert sorted(values["HEADSCALE_DEFAULT"] + values["HEADSCALE_UPGRADE"], key=versions.version_tuple) == list(
        values["HEADSCALE_FULL"]
    )


def test_build_binaries_takes_its_targets_from_the_file(tmp_path):
    """Run the script's target lists against a changed copy of the file (no build)."""
    changed = VERSIONS_FILE.read_text(encoding="utf-8").replace('HEADSCALE_UPGRADE="', 'HEADSCALE_UPGRADE="9.9.9 ')
    (tmp_path / "testbed").mkdir()
    (tmp_path / "testbed" / "versions.env").write_text(changed, encoding="utf-8")
    script = (ROOT / "testbed" / "build-binaries.sh").read_text(encoding="utf-8")
    head = script.split("# Go packages (relative to the module)")[0]
    probe = head.replace('root=$(cd "$(dirname "$0")/.." && pwd)', f'root="{tmp_path}"')
    probe += '\nprintf "default %s\\n" "${default_targets[@]}"; printf "full %s\\n" "${full_targets[@]}"\n'
    probe += 'printf "demo %s\\n" "${demo_targets[@]}"; printf "fleet %s\\n" "${fleet_targets[@]}"\n'
    out = subprocess.run(["bash", "-c", probe], check=True, capture_output=True, text=True).stdout.split("\n")
    assert "default headscale-9.9.9" in out
    assert "default headscale-0.27.1" in out and "default headscale-0.28.0" in out
    # molecule/fleet's clients (the oldest accepted one, the arm64 build): in the full matrix and
    # the fleet's own selection, not in the default one.
    assert "fleet tailscale-1.80.3" in out and "fleet tailscale-1.102.3:arm64" in out
    assert "full tailscale-1.80.3" in out and "full tailscale-1.102.3:arm64" in out
    assert "default tailscale-1.80.3" not in out and "default tailscale-1.102.3:arm64" not in out
    # `make demo`: the newest default headscale, the default tailscale, Caddy, Pebble; no more.
    assert [line for line in out if line.startswith("demo ")] == [
        "demo headscale-0.29.3", "demo tailscale-1.102.3", "demo caddy-2.11.9", "demo pebble-2.9.0"]


@pytest.mark.parametrize(
    "line", ["HEADSCALE_DEFAULT=0.26.1", 'export X="1"', 'HEADSCALE_DEFAULT="$(id)"', 'X="1" Y="2"']
)
def test_other_shell_syntax_is_refused(tmp_path, line):
    path = tmp_path / "versions.env"
    path.write_text(f"# comment\n{line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"versions.env:2: expected"):
        versions.read_versions_file(path)
