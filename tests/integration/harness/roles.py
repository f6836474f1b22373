"""Throw-away test-bed containers, and one role of the collection run against one (json callback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from .versions import REPO

IMAGE = "selfhosted-testbed/debian:12"
# systemd as PID 1, with the test bed's container settings (molecule/_shared/create.yml)
SYSTEMD_ARGS = [
    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW", "--cap-add", "MKNOD",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run:rw,nosuid,nodev,mode=755", "--tmpfs", "/run/lock:rw,nosuid,nodev,noexec",
    "-e", "container=docker", "--stop-signal", "SIGRTMIN+3",
]


@contextmanager
def debian12(prefix: str, scenario: str, systemd: bool = False) -> Iterator[str]:
    """A Debian 12 container of the test bed (``IMAGE``) with Python and no network, named
    ``<prefix>-<random>`` and labelled with ``scenario``; removed afterwards. ``systemd``: systemd
    as PID 1 (waits until it has booted), else ``sleep``."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    inspect = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False)
    if inspect.returncode != 0:
        pytest.fail(f"{IMAGE} is not built: run make setup (testbed/build-images.sh)", pytrace=False)
    subprocess.run(
        ["docker", "run", "-d", "--rm", "--network", "none", "--name", name,
         "--label", f"org.selfhosted.testbed.scenario={scenario}",
         *([*SYSTEMD_ARGS, IMAGE] if systemd else [IMAGE, "sleep", "infinity"])],
        check=True, capture_output=True,
    )
    try:
        if systemd:
            for _attempt in range(60):
                state = subprocess.run(["docker", "exec", name, "systemctl", "is-system-running"],
                                       capture_output=True, text=True, check=False).stdout.strip()
                if state in ("running", "degraded"):
                    break
                time.sleep(0.5)
            else:
                pytest.fail(f"{name} did not boot (systemctl is-system-running: {state})", pytrace=False)
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def run_role(host: str, role: str, extra_vars: dict[str, Any], tags: str = "") -> dict[str, Any]:
    """Run selfhosted.headscale.<role> on the container ``host`` (community.docker.docker
    connection, no facts gathered); return the ansible.posix.json callback's document."""
    playbook = [{
        "name": f"Role input test: {role}",
        "hosts": host,
        "gather_facts": False,
        "roles": [{"role": f"selfhosted.headscale.{role}"}],
    }]
    with tempfile.TemporaryDirectory(prefix="role-input-") as tmp:
        path = Path(tmp) / "playbook.yml"
        path.write_text(yaml.safe_dump(playbook, sort_keys=False))
        vars_path = Path(tmp) / "vars.json"
        vars_path.write_text(json.dumps({"ansible_python_interpreter": "/usr/bin/python3", **extra_vars}))
        argv = ["-i", f"{host},", "-e", f"@{vars_path}", str(path)]
        if tags:
            argv += ["--tags", tags]
        return _ansible_playbook(argv, tmp)


def run_playbook_file(host: str, playbook: Path, group: str, group_vars: dict[str, Any]) -> dict[str, Any]:
    """Run ``playbook`` (one of the collection's, as a user runs it) with an inventory in which the
    container ``host`` is the one member of ``group``, with ``group_vars``; return the
    ansible.posix.json callback's document."""
    inventory = {"all": {"children": {group: {
        "hosts": {host: None},
        "vars": {"ansible_python_interpreter": "/usr/bin/python3", **group_vars},
    }}}}
    with tempfile.TemporaryDirectory(prefix="playbook-file-") as tmp:
        path = Path(tmp) / "inventory.yml"
        path.write_text(yaml.safe_dump(inventory, sort_keys=False))
        return _ansible_playbook(["-i", str(path), str(playbook)], tmp)


def failures(document: dict[str, Any], host: str) -> list[tuple[str, str]]:
    """(task name, message) of every failed task of ``host`` in a json callback document; a loop
    task's message is followed by those of its failed items."""
    out = []
    for play in document["plays"]:
        for task in play["tasks"]:
            result = task["hosts"].get(host, {})
            if result.get("failed"):
                items = [str(item.get("msg", "")) for item in result.get("results", []) if item.get("failed")]
                out.append((task["task"]["name"], " ".join([str(result.get("msg", "")), *items])))
    return out


def _ansible_playbook(args: list[str], cwd: str) -> dict[str, Any]:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".collections"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_HOST_KEY_CHECKING": "false",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
    })
    argv = [str(Path(sys.executable).with_name("ansible-playbook")), "-c", "community.docker.docker", *args]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"ansible-playbook printed no JSON (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}",
                    pytrace=False)
