"""Run one role of the collection against a test-bed container and read the json callback's document."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]


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
        env = dict(os.environ)
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".collections"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_HOST_KEY_CHECKING": "false",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
        })
        argv = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", f"{host},",
                "-c", "community.docker.docker", "-e", f"@{vars_path}", str(path)]
        if tags:
            argv += ["--tags", tags]
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp, check=False)
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"ansible-playbook printed no JSON (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}",
                    pytrace=False)
