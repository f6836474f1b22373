"""pytest side of the molecule scenarios (molecule/<scenario>/, shared base molecule/_shared/).

``run_molecule(scenario)`` runs ``molecule -c molecule/_shared/base.yml test -s <scenario>``
from the repository root, streams its output to ``.testbed/logs/molecule-<test id>.log``
(the scenario name, or its parameter id) and fails the test with the last 200 lines when
molecule fails. Before the first scenario, ``testbed/build-images.sh`` makes sure the
container images exist (it only checks recipe hashes when they are up to date).
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BASE_CONFIG = REPO / "molecule" / "_shared" / "base.yml"
LOGS = REPO / ".testbed" / "logs"
TAIL_LINES = 200


def molecule_env() -> dict[str, str]:
    """The environment of `make test`: our venv first, our collection path, no colours."""
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([str(REPO / ".venv" / "bin"), venv_bin, env.get("PATH", "")])
    env["ANSIBLE_COLLECTIONS_PATH"] = str(REPO / ".collections")
    env["MOLECULE_GLOB"] = "molecule/*/molecule.yml"
    env.setdefault("PY_COLORS", "0")
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    return env


def molecule_argv(command: str, scenario: str) -> list[str]:
    return ["molecule", "-c", str(BASE_CONFIG.relative_to(REPO)), command, "-s", scenario]


def _stop(proc: subprocess.Popen) -> None:
    """Stop molecule and everything it started (it runs in its own process group)."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


def _run_streamed(argv: list[str], log_path: Path, mode: str = "w") -> tuple[int, list[str]]:
    """Run argv from the repository root; write its output to log_path; return (rc, tail)."""
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open(mode, encoding="utf-8") as log:
        log.write(f"$ {' '.join(argv)}\n")
        log.flush()
        proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env=molecule_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=True,
        )
        try:
            for line in proc.stdout:
                log.write(line)
                log.flush()
                tail.append(line.rstrip("\n"))
            rc = proc.wait()
        finally:
            _stop(proc)
    return rc, list(tail)


@pytest.fixture(scope="session")
def testbed_images() -> None:
    """Build (or confirm) the test bed's images once per session; `make setup` does the same."""
    log_path = LOGS / "build-images.log"
    rc, tail = _run_streamed([str(REPO / "testbed" / "build-images.sh")], log_path)
    if rc != 0:
        pytest.fail(f"testbed/build-images.sh failed (rc={rc}), log {log_path}:\n" + "\n".join(tail), pytrace=False)


@pytest.fixture
def run_molecule(testbed_images, request) -> Callable[[str], None]:
    """Return run(scenario): `molecule test -s <scenario>` with the shared base config.

    The log is named after the test's parameter id, so that runs of one scenario with
    different settings (e.g. default on two headscale versions) keep a log each.
    """
    callspec = getattr(request.node, "callspec", None)

    def run(scenario: str, command: str = "test") -> None:
        if not (REPO / "molecule" / scenario / "molecule.yml").is_file():
            pytest.fail(f"no molecule scenario molecule/{scenario}/molecule.yml", pytrace=False)
        log_path = LOGS / f"molecule-{callspec.id if callspec else scenario}.log"
        rc = None
        try:
            rc, tail = _run_streamed(molecule_argv(command, scenario), log_path)
        finally:
            if rc is None:  # interrupted (timeout, ^C): do not leave containers behind
                _run_streamed(molecule_argv("destroy", scenario), log_path, mode="a")
        if rc != 0:
            pytest.fail(
                f"molecule {command} -s {scenario} failed (rc={rc}); full log: {log_path}\n"
                f"--- last {len(tail)} lines ---\n" + "\n".join(tail),
                pytrace=False,
            )

    return run
