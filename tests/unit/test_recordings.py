"""The recordings loader covers every supported version and fails when one is missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.harness.versions import HEADSCALE_FULL
from tests.unit.recordings import FIXTURES, VERSIONS, MissingRecordings, supported_versions


def test_every_supported_version_is_tested() -> None:
    assert set(VERSIONS) == set(HEADSCALE_FULL)


def test_a_missing_version_fails_naming_it_and_the_script(tmp_path: Path) -> None:
    for version in HEADSCALE_FULL[1:]:
        shutil.copytree(FIXTURES / version, tmp_path / version)
    (tmp_path / HEADSCALE_FULL[0]).mkdir()  # an empty folder is not a recording either
    with pytest.raises(MissingRecordings, match=rf"{HEADSCALE_FULL[0]} in .*: run TESTBED_MATRIX=full python3 rec\.py"):
        supported_versions(tmp_path, "rec.py")
    shutil.copytree(FIXTURES / HEADSCALE_FULL[0], tmp_path / HEADSCALE_FULL[0], dirs_exist_ok=True)
    assert supported_versions(tmp_path, "rec.py") == VERSIONS
