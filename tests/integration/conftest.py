"""Fixtures for integration tests: real headscale servers and real tailscaled nodes.

Versions: every test that uses ``headscale`` (or ``headscale_version``) runs once per
headscale version of the matrix -- 0.26.1 and 0.29.3 by default, plus 0.27.1 and 0.28.0
with ``TESTBED_MATRIX=full``; a test marked ``every_supported_headscale`` runs on all four in
either matrix. ``@pytest.mark.headscale_version("0.29", ">=0.27,<0.29")``
restricts a test or module (all markers must agree). A missing binary fails the test with
"run make setup"; nothing is skipped silently (a restriction that leaves no version of the
current matrix is reported as a skip naming the matrix).

Scopes: ``headscale`` is one server per test module and version (shared: tests must use
their own user/node names); ``fresh_headscale`` is a new server for one test;
``headscale_factory`` starts servers with other options (policy file mode, extra config).
``tailscale_node`` / ``module_tailscale_node`` enrol real userspace tailscaled clients.
Teardown stops every process whatever fails (any exception, not only a failed check), then
fails the test with all problems found: a daemon that died on its own, a log that calls home,
packets the egress guard dropped or DNS queries the lab resolver recorded for names that are not the lab's
while it ran (harness/egress.py), a headscale config.yaml that lost a lab rule.

See docs/dev/testing.md.
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from harness import egress, processes
from harness.headscale import HeadscaleServer
from harness.tailscale import TailscaleNode
from harness.versions import HEADSCALE_FULL, headscale_versions, matrix, select_versions, tailscale_versions

_node_counter = itertools.count(1)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "headscale_version" not in metafunc.fixturenames:
        return
    specs: list[str] = []
    for marker in metafunc.definition.iter_markers("headscale_version"):
        specs.append(tuple(marker.args))
    # Cheap tests that prove a claim for each supported version (one lifecycle of every module
    # through ansible-playbook) run on all of them in the default matrix too.
    every = metafunc.definition.get_closest_marker("every_supported_headscale") is not None
    available = HEADSCALE_FULL if every else headscale_versions()
    selected = list(available)
    for marker_specs in specs:
        selected = [v for v in selected if v in select_versions(available, marker_specs)]
    if selected:
        metafunc.parametrize("headscale_version", selected, scope="module", ids=[f"hs{v}" for v in selected])
    else:
        reason = (f"headscale_version{specs} matches none of the {matrix()} matrix {list(available)}"
                  + ("; run with TESTBED_MATRIX=full" if matrix() != "full" else ""))
        metafunc.parametrize("headscale_version", [pytest.param(None, marks=pytest.mark.skip(reason=reason))],
                             scope="module", ids=["hs-none"])


_sessions_log_offset = 0


def pytest_configure(config: pytest.Config) -> None:
    """Name this session for the egress guard's log (xdist workers, started later, inherit it)."""
    if not hasattr(config, "workerinput"):
        os.environ[egress.SESSION_ENV] = uuid.uuid4().hex


def pytest_sessionstart(session: pytest.Session) -> None:
    global _sessions_log_offset  # noqa: PLW0603 -- one value per pytest process
    try:
        _sessions_log_offset = egress.SESSIONS_LOG.stat().st_size
    except FileNotFoundError:
        _sessions_log_offset = 0


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The egress guard's totals as each worker left it, and what failed the session."""
    if hasattr(terminalreporter.config, "workerinput"):
        return
    lines = _session_lines()
    if lines:
        terminalreporter.write_sep("-", f"egress guard and DNS record ({egress.SESSIONS_LOG})")
        for line in lines:
            terminalreporter.write_line(line)
    for problem in getattr(terminalreporter.config, "egress_problems", []):
        terminalreporter.write_line(f"FAILED (egress guard): {problem}", red=True)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """This worker no longer needs the egress guard; the last one proves it was alive and
    removes its rules. The controlling process (or a run without workers) then fails the
    session on the totals: a test's own teardown may have missed what a program did between
    snapshots.

    trylast: pytest tears the module-scoped fixtures down in its own pytest_sessionfinish,
    and their teardown still reads the guard's counters."""
    egress.release()
    if hasattr(session.config, "workerinput"):
        return
    problems = egress.session_problems(_session_lines())
    if problems:
        session.config.egress_problems = problems  # printed by pytest_terminal_summary
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _session_lines() -> list[str]:
    """The SESSIONS_LOG lines this session's processes wrote (another session on the machine
    may have written lines meanwhile)."""
    try:
        with open(egress.SESSIONS_LOG, encoding="utf-8") as handle:
            handle.seek(_sessions_log_offset)
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return []
    session = os.environ.get(egress.SESSION_ENV)
    return [line for line in lines if json.loads(line).get("session") == session]


def _stop(servers: list[HeadscaleServer]) -> None:
    """Stop every server, whatever fails for one of them; then report all problems."""
    errors = processes.stop_all(servers)
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


class HeadscaleFactory:
    """Start extra servers: ``factory(version=None, policy_mode="database", policy=None, extra_config=None)``."""

    def __init__(self, default_version: str | None):
        self.default_version = default_version
        self.servers: list[HeadscaleServer] = []

    def __call__(self, version: str | None = None, **kwargs: Any) -> HeadscaleServer:
        version = version or self.default_version
        if version is None:
            raise ValueError("headscale_factory: no version (use the headscale_version fixture or pass one)")
        server = HeadscaleServer(version, **kwargs)
        self.servers.append(server)
        return server.start()

    def stop_all(self) -> None:
        _stop(self.servers)


def _lifetime(factory: HeadscaleFactory | TailscaleNodeFactory) -> Iterator[Any]:
    """Yield ``factory``; afterwards stop all it started, whatever failed meanwhile (every factory
    fixture below)."""
    try:
        yield factory
    finally:
        factory.stop_all()


def _serve(version: str) -> Iterator[HeadscaleServer]:
    server = HeadscaleServer(version)
    try:
        server.start()
        yield server
    finally:
        _stop([server])


@pytest.fixture(scope="module")
def headscale(headscale_version: str) -> Iterator[HeadscaleServer]:
    """A headscale server (policy in the database) shared by the tests of one module."""
    yield from _serve(headscale_version)


@pytest.fixture
def control_guard() -> Iterator[egress.Guard]:
    """The CONTROL guard (negative controls), held by this test alone across the xdist workers."""
    with egress.control_alone():
        yield egress.guard(egress.CONTROL)


@pytest.fixture
def fresh_headscale(headscale_version: str) -> Iterator[HeadscaleServer]:
    """A headscale server of its own for one test (where isolation matters)."""
    yield from _serve(headscale_version)


@pytest.fixture
def headscale_factory(headscale_version: str) -> Iterator[HeadscaleFactory]:
    """Start servers with other settings, e.g. ``headscale_factory(policy_mode="file")``; stopped after the test."""
    yield from _lifetime(HeadscaleFactory(headscale_version))


class TailscaleNodeFactory:
    """Enrol real tailscaled clients.

    ``factory(server, hostname=None, *, user="nodes", advertise_routes=(), exit_node=False,
    tags=(), key_tags=(), version=None, enrol=True)`` starts tailscaled, creates the user and
    a pre-auth key (with ``key_tags`` for a tagged key), runs ``tailscale up`` and waits until
    headscale lists the node; ``node.node_id`` is then set. ``enrol=False`` only starts the
    daemon (for ``node.start_interactive_login()``). Without ``version`` the tailscale
    versions of the matrix take turns (1.102.3; with TESTBED_MATRIX=full also 1.80.3).
    """

    def __init__(self) -> None:
        self.nodes: list[TailscaleNode] = []

    def __call__(
        self,
        server: HeadscaleServer,
        hostname: str | None = None,
        *,
        user: str | None = "nodes",
        advertise_routes: tuple[str, ...] | list[str] = (),
        exit_node: bool = False,
        tags: tuple[str, ...] | list[str] = (),
        key_tags: tuple[str, ...] | list[str] = (),
        version: str | None = None,
        enrol: bool = True,
    ) -> TailscaleNode:
        number = next(_node_counter)
        versions = tailscale_versions()
        version = version or versions[number % len(versions)]
        node = TailscaleNode(server, hostname or f"node-{number}", version)
        self.nodes.append(node)
        node.start_daemon()
        if enrol:
            key = server.create_preauth_key(user, tags=key_tags)
            node.up(key, advertise_routes=advertise_routes, exit_node=exit_node, tags=tags)
        return node

    def many(
        self, server: HeadscaleServer, specs: dict[str, dict[str, Any]], workers: int = 4
    ) -> dict[str, TailscaleNode]:
        """Enrol several nodes concurrently: ``{label: {factory keyword arguments}}`` -> ``{label: node}``.

        The label is the host name unless the spec gives ``hostname`` (several nodes may share one).

        Enrolment mostly waits on the network, so a module fixture that needs many nodes gets them in
        the time of a few. Users are created first (one at a time) so that threads do not race on them.
        """
        for spec in specs.values():
            if spec.get("enrol", True) and spec.get("user", "nodes") is not None:
                server.ensure_user(spec.get("user", "nodes"))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {
                label: pool.submit(self, server, spec.get("hostname", label),
                                   **{k: v for k, v in spec.items() if k != "hostname"})
                for label, spec in specs.items()
            }
            return {label: future.result() for label, future in futures.items()}

    def stop_all(self) -> None:
        """Stop every node (concurrently: each waits for its daemon to exit) and check their logs."""
        errors = processes.stop_all(self.nodes, workers=8)
        if errors:
            pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture
def tailscale_node() -> Iterator[TailscaleNodeFactory]:
    """Factory of tailscaled nodes stopped (and log-checked) after the test."""
    yield from _lifetime(TailscaleNodeFactory())


@pytest.fixture(scope="module")
def module_tailscale_node(headscale: HeadscaleServer) -> Iterator[TailscaleNodeFactory]:
    """Factory of tailscaled nodes that live as long as the module's ``headscale`` (share them with care).

    Depending on ``headscale`` makes pytest stop these nodes before that server, also when the
    version parameter changes in the middle of a module: a node left without its control server
    and DERP starts captive-portal probes of tailscale.com names, which the DNS record catches.
    """
    yield from _lifetime(TailscaleNodeFactory())
