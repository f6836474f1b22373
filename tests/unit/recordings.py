"""Access to the outputs recorded from real headscale binaries (tests/fixtures/<version>/, made by
tests/fixtures/record.py). Unit tests use nothing else as input."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
VERSIONS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name[0].isdigit())


def load(version: str, name: str) -> dict:
    """The recording ``<cli|api>-<name>`` of ``version`` (dict with argv/rc/stdout/stderr or status/body)."""
    return json.loads((FIXTURES / version / f"{name}.json").read_text())


def exists(version: str, name: str) -> bool:
    return (FIXTURES / version / f"{name}.json").exists()


def cli_json(version: str, name: str):
    return json.loads(load(version, f"cli-{name}")["stdout"])


def api_json(version: str, name: str):
    return json.loads(load(version, f"api-{name}")["body"])


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))
