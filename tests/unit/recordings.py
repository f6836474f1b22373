"""Access to the outputs recorded from real headscale binaries (tests/fixtures/<version>/, made by
tests/fixtures/record.py). Unit tests use nothing else as input.

``VERSIONS`` is every supported headscale version (the test bed's full matrix,
tests/integration/harness/versions.py), never just the folders that happen to exist: importing
this module fails when a supported version's recordings are missing, so a lost folder fails the
unit tests instead of quietly testing fewer versions.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible_collections.selfhosted.headscale.plugins.module_utils import normalize
from ansible_collections.selfhosted.headscale.plugins.module_utils.transports.api import ApiConnection
from ansible_collections.selfhosted.headscale.plugins.module_utils.transports.cli import CliConnection
from ansible_collections.selfhosted.headscale.plugins.module_utils.versions import Features

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


# Node scenarios (tests/fixtures/node-scenarios/<version>/, made by its record.py): router-1 advertises
# 10.10.0.0/24, 10.20.0.0/24, fd00:10::/64 and the exit routes, with 10.10.0.0/24 and the exit routes
# approved; two nodes report the host name "twin"; tagged-1 carries tag:web; expiring-1 expires at
# 2031-01-02T03:04:05Z (0.27+; expired at recording time before 0.27).
SCENARIOS = FIXTURES / "node-scenarios"


def recorded_nodes(folder: Path, version: str, transport: str) -> list[dict]:
    """Recorded `nodes list` (CLI) or GET /api/v1/node (API) in ``folder``, normalised as the client
    returns it."""
    rec = json.loads((folder / version / f"{transport}-nodes-list.json").read_text())
    raw = json.loads(rec["stdout"] if transport == "cli" else rec["body"])
    raw = raw["nodes"] if isinstance(raw, dict) else raw
    return [normalize.node(item) for item in raw]


def recorded_policy_texts(version: str) -> dict[str, str]:
    """The HuJSON policy (with comments) the node scenario stored, as `policy get` (``cli``) and
    GET /api/v1/policy (``api``) returned it."""
    cli = json.loads((SCENARIOS / version / "cli-policy-get.json").read_text())
    api = json.loads((SCENARIOS / version / "api-policy-get.json").read_text())
    return {"cli": cli["stdout"], "api": json.loads(api["body"])["policy"]}


def cli_replaying(version: str, name: str):
    """The CLI transport for ``version`` whose runner replays the recording ``cli-<name>``; the argv,
    stdin and environment of every call land in ``.seen``."""
    record = load(version, f"cli-{name}")
    seen = []

    def runner(argv, data=None, env=None):
        seen.append((argv, data, env))
        return record["rc"], record["stdout"], record["stderr"]

    # Any existing executable passes the binary check; the runner replays the recording.
    transport = CliConnection([sys.executable], "config.yaml", runner=runner).transport(
        Features(version_tuple(version)))
    transport.seen = seen
    return transport


class _Response:
    def __init__(self, body: str):
        self.body = body

    def read(self) -> bytes:
        return self.body.encode()


def api_replaying(version: str, name: str, key: str = "key"):
    """The API transport for ``version`` whose opener answers with the recording ``api-<name>``."""
    record = load(version, f"api-{name}")

    def opener(url, **kwargs):
        if record["status"] >= 400:
            raise HTTPError(url, record["status"], "recorded", {}, io.BytesIO(record["body"].encode()))
        return _Response(record["body"])

    return ApiConnection("http://127.0.0.1:8080", key, opener=opener).transport(Features(version_tuple(version)))
