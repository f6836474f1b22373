"""One module's life through real ``ansible-playbook`` (AnsiballZ, FQCN, callbacks), as users run it.

``run_lifecycle(server, Lifecycle(...))`` makes two playbook runs against ``server``:

1. *check mode and a bad input*: the create task with ``check_mode: true``, then the module with
   one invalid option (``ignore_errors``). The server's state (``server_state``) must be the same
   after the run as before it; the check task predicts the change, the bad task fails with a
   message that names the option.
2. *create and re-run*: the create task, then the same (or ``again``) task: changed, then not.

Two runs because the server's state can only be compared between runs. The API key of an
``api`` transport goes in as an extra variable and must not appear in the output.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from .headscale import HeadscaleServer
from .modules import PlaybookRun, assert_no_secret, connection_args, run_playbook

# Columns that change without a write by our modules (a key used for this very run, a node's heartbeat).
VOLATILE_COLUMNS = {"last_seen", "updated_at"}
KEY_TABLES = ("pre_auth_keys", "api_keys")


@dataclass
class Lifecycle:
    module: str  # "headscale_user"
    transport: str  # "cli" or "api"
    create: dict[str, Any]  # options of the task that creates (or changes) something
    bad: dict[str, Any]  # options with one invalid value
    bad_message: str  # the failure message must contain this (it names the option)
    again: dict[str, Any] | None = None  # options of the re-run (default: create); may use "{{ created.… }}"
    changes: bool = True  # False for read-only modules (headscale_info)
    extra_vars: dict[str, Any] = field(default_factory=dict)


@dataclass
class LifecycleResult:
    check: dict[str, Any]
    bad: dict[str, Any]
    created: dict[str, Any]
    again: dict[str, Any]
    runs: list[PlaybookRun]


def server_state(server: HeadscaleServer) -> dict[str, Any]:
    """``server.snapshot()`` (users, nodes, policy) plus every pre-auth key and API key row.

    The key tables are read from the SQLite database because no list command shows every key on
    every version (0.26/0.27 list pre-auth keys per user).
    """
    state = server.snapshot()
    database = server.config["database"]["sqlite"]["path"]
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        for table in KEY_TABLES:
            rows = db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            state[table] = [{k: row[k] for k in row.keys() if k not in VOLATILE_COLUMNS} for row in rows]
    return state


def _task(name: str, module: str, options: dict[str, Any], **keywords: Any) -> dict[str, Any]:
    return {"name": name, f"selfhosted.headscale.{module}": options, **keywords}


def _only(run: PlaybookRun, task: str) -> dict[str, Any]:
    (host,) = run.task_results(task)
    return host


def run_lifecycle(server: HeadscaleServer, spec: Lifecycle) -> LifecycleResult:
    connection = connection_args(server, spec.transport)
    extra_vars = dict(spec.extra_vars)
    secrets = []
    if spec.transport == "api":
        secrets.append(connection["api_key"])  # created on first use: before the first state is taken
        extra_vars["lifecycle_api_key"] = connection["api_key"]
        connection["api_key"] = "{{ lifecycle_api_key }}"

    def options(values: dict[str, Any]) -> dict[str, Any]:
        return {**connection, **values}

    # 1. Check mode and a bad input: nothing may change on the server.
    before = server_state(server)
    first = run_playbook([
        _task("Check mode", spec.module, options(spec.create), check_mode=True, register="checked"),
        _task("Bad input", spec.module, options(spec.bad), register="bad", ignore_errors=True),
    ], extra_vars=extra_vars)
    assert first.rc == 0, first.stdout + first.stderr
    assert server_state(server) == before, "check mode or the bad input changed the server"
    check = _only(first, "Check mode")
    assert not check.get("failed"), check
    assert check["changed"] is spec.changes, check
    bad = _only(first, "Bad input")
    assert bad.get("failed") is True, bad
    assert spec.bad_message in bad["msg"], bad["msg"]
    assert "module_stderr" not in bad and "Traceback" not in bad["msg"], bad  # fail_json, not a crash

    # 2. Create, then the same again: changed, then not.
    second = run_playbook([
        _task("Create", spec.module, options(spec.create), register="created"),
        _task("Again", spec.module, options(spec.again if spec.again is not None else spec.create)),
    ], extra_vars=extra_vars)
    assert second.rc == 0, second.stdout + second.stderr
    created = _only(second, "Create")
    again = _only(second, "Again")
    assert created["changed"] is spec.changes and not created.get("failed"), created
    assert again["changed"] is False and not again.get("failed"), again
    if spec.changes:
        assert server_state(server) != before, "the create task reported a change the server does not show"

    for run in (first, second):
        assert_no_secret(run.stdout + run.stderr, *secrets)
    return LifecycleResult(check, bad, created, again, [first, second])
