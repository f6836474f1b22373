"""Which headscale and tailscale versions the integration tests run, and where the binaries are.

The lists come from testbed/versions.env, which testbed/build-binaries.sh and
testbed/build-images.sh read too: the default matrix is what the integration tests run by
default, `TESTBED_MATRIX=full` adds every other supported version. HEADSCALE_UPGRADE (the
versions between the default ends) is built by `make setup` for molecule/upgrade but does not
widen the integration matrix. A missing binary is an error that names `make setup`, never a
skip: a test dependency that is absent must not turn green.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CACHE = Path(os.environ.get("TESTBED_CACHE") or REPO / ".testbed")
ARCH = "amd64"

VERSIONS_FILE = REPO / "testbed" / "versions.env"

_ASSIGNMENT_RE = re.compile(r'^([A-Z0-9_]+)="([0-9A-Za-z.:_ -]*)"\s*(?:#.*)?$')


def read_versions_file(path: Path = VERSIONS_FILE) -> dict[str, tuple[str, ...]]:
    """The assignments of testbed/versions.env, each value split on white space.

    The file is shell syntax restricted to KEY="v1 v2" lines and comments; anything else
    is an error, so the shell scripts and this parser cannot read it differently.
    """
    values: dict[str, tuple[str, ...]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _ASSIGNMENT_RE.match(stripped)
        if not match:
            raise ValueError(f'{path}:{number}: expected KEY="versions" or a comment, got {line!r}')
        values[match.group(1)] = tuple(match.group(2).split())
    return values


_VERSIONS = read_versions_file()
HEADSCALE_DEFAULT = _VERSIONS["HEADSCALE_DEFAULT"]
HEADSCALE_UPGRADE = _VERSIONS["HEADSCALE_UPGRADE"]
HEADSCALE_FULL = _VERSIONS["HEADSCALE_FULL"]
TAILSCALE_DEFAULT = _VERSIONS["TAILSCALE_DEFAULT"]
TAILSCALE_FULL = _VERSIONS["TAILSCALE_FULL"]


class MissingBinary(RuntimeError):
    """A test-bed program is not built; the message tells how to build it."""


def matrix() -> str:
    value = os.environ.get("TESTBED_MATRIX", "default") or "default"
    if value not in ("default", "full"):
        raise ValueError(f"TESTBED_MATRIX must be 'default' or 'full', not {value!r}")
    return value


def headscale_versions() -> tuple[str, ...]:
    return HEADSCALE_FULL if matrix() == "full" else HEADSCALE_DEFAULT


def tailscale_versions() -> tuple[str, ...]:
    return TAILSCALE_FULL if matrix() == "full" else TAILSCALE_DEFAULT


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.lstrip("v").split("."))


_SPEC_RE = re.compile(r"^\s*(>=|<=|==|!=|>|<)?\s*v?(\d+(?:\.\d+)*)\s*$")


def version_matches(version: str, spec: str) -> bool:
    """True if ``version`` (e.g. "0.27.1") satisfies ``spec``.

    ``spec`` is an exact version ("0.29.3"), a prefix ("0.29" matches 0.29.x) or a
    comparison (">=0.27", "<0.29", "!=0.28.0"); comparisons look at as many components
    as the spec gives.
    """
    match = _SPEC_RE.match(spec)
    if not match:
        raise ValueError(f"bad headscale_version spec {spec!r}: use '0.29.3', '0.29' or '>=0.27'")
    operator, wanted = match.group(1) or "", version_tuple(match.group(2))
    have = version_tuple(version)[: len(wanted)]
    if operator in ("", "=="):
        return have == wanted
    return {
        ">=": have >= wanted,
        "<=": have <= wanted,
        ">": have > wanted,
        "<": have < wanted,
        "!=": have != wanted,
    }[operator]


def select_versions(available: tuple[str, ...], specs: tuple[str, ...]) -> list[str]:
    """The versions in ``available`` that satisfy any of ``specs`` (all of them if none given).

    A spec may hold several comparisons separated by commas, all of which must hold
    (">=0.27,<0.29").
    """
    if not specs:
        return list(available)
    selected = []
    for version in available:
        for spec in specs:
            if all(version_matches(version, part) for part in spec.split(",")):
                selected.append(version)
                break
    return selected


def _binary(program: str, version: str, name: str) -> Path:
    path = CACHE / "bin" / f"{program}-{version}-{ARCH}" / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise MissingBinary(
            f"{name} {version} is not built ({path} missing): run make setup"
            + (" with TESTBED_MATRIX=full" if matrix() == "full" else "")
        )
    return path


def headscale_binary(version: str) -> Path:
    return _binary("headscale", version, "headscale")


def tailscale_binaries(version: str) -> tuple[Path, Path]:
    """(tailscale, tailscaled) of ``version``."""
    return _binary("tailscale", version, "tailscale"), _binary("tailscale", version, "tailscaled")
