"""The headscale role's policy check wrapper (roles/headscale/templates/policycheck.sh.j2), rendered
by real Ansible and run against the real binary of each headscale version, with no server running.

In file mode the role writes the policy before headscale first starts, so the check cannot ask a
server: before 0.29 `headscale policy check` is an offline parse, from 0.29 the wrapper opens a
throw-away database (--bypass-grpc-and-access-database-directly). Both must accept a valid HuJSON
policy (comments, trailing commas, user and group references) and reject an invalid one with
headscale's reason, leaving nothing behind.
"""

from __future__ import annotations

import os
import stat

import pytest
from harness import egress
from harness.modules import run_playbook
from harness.versions import REPO, headscale_binary

TEMPLATE = REPO / "roles" / "headscale" / "templates" / "policycheck.sh.j2"

VALID = """// The lab's policy, as HuJSON.
{
  "groups": {"group:lab": ["nodes@"]},
  "tagOwners": {"tag:lab-router": ["group:lab"]},
  "acls": [
    {"action": "accept", "src": ["group:lab"], "dst": ["*:*"]}, // trailing comma next
  ],
}
"""
UNDEFINED_HOST = '{"acls": [{"action": "accept", "src": ["nosuchhost"], "dst": ["*:*"]}]}\n'


@pytest.fixture
def wrapper(headscale_version, tmp_path):
    path = tmp_path / "policycheck"
    run = run_playbook([{
        "name": "Render the wrapper",
        "ansible.builtin.template": {"src": str(TEMPLATE), "dest": str(path), "mode": "0755"},
        "vars": {
            "headscale_version": headscale_version,
            "headscale_binary_path": str(headscale_binary(headscale_version)),
            "headscale_install_method": "binary",
            "_headscale_policycheck": str(path),
        },
    }])
    assert run.rc == 0, run.stdout + run.stderr
    assert path.stat().st_mode & stat.S_IXUSR
    return path


def check(wrapper, tmp_path, text):
    policy = tmp_path / "candidate.hujson"
    policy.write_text(text)
    scratch_parent = tmp_path / "tmp"
    scratch_parent.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADSCALE_")}
    env["TMPDIR"] = str(scratch_parent)
    proc = egress.guarded_run(["sh", str(wrapper), str(policy)], "the policy check wrapper", env=env, timeout=60)
    assert list(scratch_parent.iterdir()) == [], "the wrapper left its scratch directory behind"
    return proc


def test_policycheck_accepts_a_valid_hujson_policy(wrapper, tmp_path):
    proc = check(wrapper, tmp_path, VALID)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Policy is valid" in proc.stdout


def test_policycheck_rejects_an_invalid_policy_with_headscales_reason(wrapper, tmp_path):
    proc = check(wrapper, tmp_path, UNDEFINED_HOST)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "nosuchhost" in proc.stdout + proc.stderr
    proc = check(wrapper, tmp_path, '{"acls": [ // unterminated\n')
    assert proc.returncode != 0, proc.stdout + proc.stderr
