"""Access to the outputs recorded from real headscale binaries (tests/fixtures/<version>/, made by
tests/fixtures/record.py). Unit tests use nothing else as input.

``VERSIONS`` is every supported headscale version (the test bed's full matrix,
tests/integration/harness/versions.py), never just the folders that happen to exist: importing
this module fails when a supported version's recordings are missing, so a lost folder fails the
unit tests instead of quietly testing fewer versions.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.harness.versions import HEADSCALE_FULL

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


class MissingRecordings(RuntimeError):
    """A supported version has no recordings: re-run the recording script."""


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def supported_versions(folder: Path, script: str) -> list[str]:
    """Every supported version, after checking that ``folder/<version>/`` holds recordings.

    Raises MissingRecordings naming the versions without any ``*.json`` and the ``script``
    that records them.
    """
    missing = [v for v in HEADSCALE_FULL if not any((folder / v).glob("*.json"))]
    if missing:
        raise MissingRecordings(
            f"no recordings for supported headscale version(s) {', '.join(missing)} in {folder}: "
            f"run TESTBED_MATRIX=full python3 {script}"
        )
    return sorted(HEADSCALE_FULL, key=version_tuple)


VERSIONS = supported_versions(FIXTURES, "tests/fixtures/record.py")


def load(version: str, name: str) -> dict:
    """The recording ``<cli|api>-<name>`` of ``version`` (dict with argv/rc/stdout/stderr or status/body)."""
    return json.loads((FIXTURES / version / f"{name}.json").read_text())


def exists(version: str, name: str) -> bool:
    return (FIXTURES / version / f"{name}.json").exists()


def cli_json(version: str, name: str):
    return json.loads(load(version, f"cli-{name}")["stdout"])


def api_json(version: str, name: str):
    return json.loads(load(version, f"api-{name}")["body"])
