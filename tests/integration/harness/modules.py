"""Run OUR module code the way Ansible runs it, and check results for leaked secrets.

``run_module`` executes ``python -m ansible_collections.selfhosted.headscale.plugins.modules.<name>``
with an args file ``{"ANSIBLE_MODULE_ARGS": {...}}`` -- the module's real entry point,
AnsibleModule argument parsing, check mode, diff and no_log handling included. The collection
is importable from /work/main/.collections (a symlink to the repository).

``run_playbook`` runs real ``ansible-playbook`` for end-to-end tests (FQCN resolution,
callback output, no_log masking).

Both run under the egress guard's group (harness/egress.py), like the servers and nodes:
whatever they send off the machine is dropped and counted, their DNS queries are recorded, and
the teardown of the fixtures that ran meanwhile reports it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import egress
from .headscale import HeadscaleServer
from .versions import REPO

COLLECTIONS_PATH = REPO / ".collections"
# The two ways a module reaches headscale (option ``transport``); module tests run over both.
TRANSPORTS = ["cli", "api"]
MODULE_PACKAGE = "ansible_collections.selfhosted.headscale.plugins.modules"
MODULE_TIMEOUT = 180.0


def connection_args(server: HeadscaleServer, transport: str = "cli") -> dict[str, Any]:
    """The connection options (doc fragment selfhosted.headscale.connection) for ``server``.

    The one place that maps a test server onto module options; see docs/dev/client.md.
    """
    if transport == "cli":
        return {
            "transport": "cli",
            "headscale_command": [str(server.binary)],
            "config_path": str(server.config_path),
        }
    if transport == "api":
        return {"transport": "api", "api_url": server.url, "api_key": server.api_key}
    raise ValueError(f"transport must be 'cli' or 'api', not {transport!r}")


def _module_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADSCALE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(COLLECTIONS_PATH), env.get("PYTHONPATH")]))
    env["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTIONS_PATH)
    return env


def run_module(
    name: str,
    args: dict[str, Any] | None = None,
    *,
    check: bool = False,
    diff: bool = False,
    server: HeadscaleServer | None = None,
    transport: str = "cli",
) -> dict[str, Any]:
    """Run module ``name`` (e.g. "headscale_routes") and return its result dict.

    With ``server`` the connection options for that server and ``transport`` are added
    (explicit ``args`` win). A failed module returns ``{"failed": True, "msg": ...}`` like
    in Ansible; the raw process output is kept under ``_stdout``/``_stderr`` only when the
    output is not a JSON result (a crash), in which case this raises.
    """
    module_args = dict(connection_args(server, transport)) if server is not None else {}
    module_args.update(args or {})
    module_args.update({
        "_ansible_check_mode": check,
        "_ansible_diff": diff,
        "_ansible_verbosity": 0,
        "_ansible_debug": False,
        "_ansible_keep_remote_files": False,
        "_ansible_module_name": f"selfhosted.headscale.{name}",
    })
    with tempfile.TemporaryDirectory(prefix="modrun-") as tmp:
        module_args["_ansible_tmpdir"] = tmp
        module_args["_ansible_remote_tmp"] = tmp
        args_file = Path(tmp) / "args.json"
        args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
        proc = subprocess.run(
            [sys.executable, "-m", f"{MODULE_PACKAGE}.{name}", str(args_file)],
            capture_output=True,
            text=True,
            env=_module_env(),
            cwd=tmp,
            timeout=MODULE_TIMEOUT,
            check=False,
            **egress.lab_guard().popen_kwargs(),
        )
    result = _parse_module_output(proc.stdout)
    if result is None:
        raise AssertionError(
            f"module {name} printed no JSON result (rc {proc.returncode})\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    if proc.returncode != 0 and not result.get("failed"):
        raise AssertionError(f"module {name} exited {proc.returncode} without failed=true: {result}")
    return result


def module_runner(name: str):
    """``run(server, transport, args=None, **run_module_kwargs)`` for module ``name`` (e.g.
    ``run = module_runner("headscale_routes")`` at the top of a test file)."""

    def run(server: HeadscaleServer, transport: str, args: dict[str, Any] | None = None,
            **kwargs: Any) -> dict[str, Any]:
        return run_module(name, args or {}, server=server, transport=transport, **kwargs)

    return run


def _parse_module_output(stdout: str) -> dict[str, Any] | None:
    """The module's JSON result: the last line that parses as a JSON object."""
    try:
        value = json.loads(stdout)
        return value if isinstance(value, dict) else None
    except ValueError:
        pass
    for raw in reversed(stdout.splitlines()):
        line = raw.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def assert_no_secret(result: Any, *secrets: str | None) -> None:
    """Fail if any of ``secrets`` (keys, tokens) appears anywhere in ``result``.

    ``result`` may be a dict (module result) or text (playbook output). Also checks the
    secret part after the last "-" or "." of structured keys (hskey-auth-<prefix>-<secret>,
    <prefix>.<secret>), so a half-masked key counts as a leak.
    """
    text = result if isinstance(result, str) else json.dumps(result, default=str)
    for secret in secrets:
        if not secret:
            continue
        pieces = {secret}
        for separator in ("-", "."):
            tail = secret.rsplit(separator, 1)[-1]
            if len(tail) >= 16:
                pieces.add(tail)
        for piece in pieces:
            assert piece not in text, f"secret {piece[:6]}... leaked in: {text[:2000]}"


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    result: dict[str, Any] | None  # the json callback's document, when callback="json"

    def task_results(self, task_name: str) -> list[dict[str, Any]]:
        """Per-host results of the task named ``task_name`` (json callback only)."""
        assert self.result is not None, "run the playbook with callback='json'"
        found = []
        for play in self.result.get("plays", []):
            for task in play.get("tasks", []):
                if task["task"]["name"] == task_name:
                    found.extend(task["hosts"].values())
        return found


def run_playbook(
    tasks: list[dict[str, Any]],
    *,
    extra_vars: dict[str, Any] | None = None,
    check: bool = False,
    diff: bool = False,
    callback: str = "json",
    verbosity: int = 0,
    workdir: str | os.PathLike[str] | None = None,
    tags: str | None = None,
) -> PlaybookRun:
    """Run ``tasks`` in a one-play playbook against localhost (connection local).

    ``tags``: run only the tasks with these tags (``--tags``), and those tagged ``always``.

    ``callback="json"`` uses ansible.posix.json and parses its document; ``"default"`` keeps
    the human output (to check what an operator would see, e.g. no_log masking).
    """
    playbook = [{
        "name": "Integration test play",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": tasks,
    }]
    with tempfile.TemporaryDirectory(prefix="playbook-", dir=workdir) as tmp:
        path = Path(tmp) / "playbook.yml"
        path.write_text(yaml.safe_dump(playbook, sort_keys=False))
        vars_path = Path(tmp) / "vars.json"
        vars_path.write_text(json.dumps({"ansible_python_interpreter": sys.executable, **(extra_vars or {})}))
        argv = [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i", "localhost,",
            "-c", "local",
            "-e", f"@{vars_path}",
            str(path),
        ]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        if verbosity:
            argv.append("-" + "v" * verbosity)
        if tags:
            argv += ["--tags", tags]
        env = _module_env()
        env.update({
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json" if callback == "json" else callback,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCAL_TEMP": str(Path(tmp) / "local"),
            "ANSIBLE_REMOTE_TEMP": str(Path(tmp) / "remote"),
            "ANSIBLE_HOME": str(Path(tmp) / "home"),
            "ANSIBLE_GALAXY_DISABLE_GPG_VERIFY": "1",
        })
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp,
                              timeout=MODULE_TIMEOUT * 3, check=False, **egress.lab_guard().popen_kwargs())
    document = None
    if callback == "json":
        try:
            document = json.loads(proc.stdout)
        except ValueError as exc:
            raise AssertionError(f"ansible-playbook printed no JSON (rc {proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}") from exc
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, document)
