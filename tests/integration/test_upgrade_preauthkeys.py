"""Pre-auth keys through the headscale role's upgrade path, with the real binary of every step
on one SQLite database and the role's own read-back (roles/headscale/tasks/restore_readback.yml,
run by ansible-playbook): what upgrade_step.yml does on a host, without the host.

- Every step (0.26.1 -> 0.27.1 -> 0.28.0 -> 0.29.3) keeps every pre-auth key: a reusable one, a
  single-use one, a tagged one and an expired one. Before each step headscale_db_backup copies
  the database (as backup.yml does); after it, the read-back compares users, nodes, API keys
  and pre-auth keys with that copy's row counts and passes.
- The read-back fails, naming the pre-auth keys, when keys are gone after the backup. The real
  way to lose them: on headscale 0.28.x deleting ANY user deletes every pre-auth key in the
  database (hscontrol/db/users.go DestroyUser calls ListPreAuthKeys(tx) since 1325fd8b, #2992;
  0.29.0 changelog: "Fix DestroyUser deleting all pre-auth keys in the database instead of only
  the target user's keys", #3155). molecule/upgrade's per-phase probe created and deleted a
  user, so the 0.28.0 phase emptied the table and the 0.29.3 phase reported 0 keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness import processes
from harness.headscale import HeadscaleServer
from harness.modules import run_module, run_playbook
from harness.versions import REPO

READBACK = REPO / "roles" / "headscale" / "tasks" / "restore_readback.yml"
READBACK_CHECK = "Check every user, node"  # the read-back's assert (its name lists what it compares)
STEPS = ["0.26.1", "0.27.1", "0.28.0", "0.29.3"]


class Servers:
    """Start servers on one work folder, one at a time; the teardown stops the one still running."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.running: HeadscaleServer | None = None

    def start(self, version: str) -> HeadscaleServer:
        assert self.running is None
        self.running = HeadscaleServer(version, workdir=self.workdir).start()
        return self.running

    def stop(self) -> None:
        server, self.running = self.running, None
        if server is not None:
            server.stop()


@pytest.fixture
def servers(tmp_path: Path):
    workdir = tmp_path / "hs"  # short: the unix socket path must stay below 108 bytes
    workdir.mkdir()
    group = Servers(workdir)
    try:
        yield group
    finally:
        errors = processes.stop_all([group.running]) if group.running is not None else []
        if errors:
            pytest.fail("\n\n".join(errors), pytrace=False)


def key_ids(server: HeadscaleServer) -> list[int]:
    result = run_module("headscale_info", {"gather": ["preauthkeys"]}, server=server)
    assert not result.get("failed"), result
    return sorted(key["id"] for key in result["preauthkeys"])


def backup(server: HeadscaleServer, dest: Path) -> dict[str, int]:
    """The database copy and row counts backup.yml puts in the archive and its manifest."""
    result = run_module("headscale_db_backup", {"path": str(server.db_path), "dest": str(dest)})
    assert result["changed"] and not result.get("failed"), result
    return result["tables"]


def readback(server: HeadscaleServer, tables: dict[str, int]) -> tuple[int, dict[str, Any]]:
    """The role's read-back against ``server``, expecting the counts of ``tables``."""
    run = run_playbook([{
        "name": "Read back as after a restore or an upgrade step",
        "ansible.builtin.include_tasks": str(READBACK),
        "vars": {
            "_headscale_command": [str(server.binary)],
            "_headscale_container": False,
            "_headscale_cli_config_path": str(server.config_path),
            "_headscale_expected_tables": tables,
        },
    }])
    assert run.result is not None
    checks = [result for play in run.result["plays"] for task in play["tasks"]
              if task["task"]["name"].startswith(READBACK_CHECK) for result in task["hosts"].values()]
    assert len(checks) == 1, f"the read-back never ran its check:\n{run.stdout}\n{run.stderr}"
    return run.rc, checks[0]


def make_keys(server: HeadscaleServer) -> None:
    """The kinds of keys molecule/upgrade's converge creates, and an expired one."""
    server.ensure_user("nodes")
    server.create_preauth_key("ops", reusable=True, expiration="24h")
    server.create_preauth_key("nodes", expiration="10m")
    server.create_preauth_key("nodes", tags=["tag:router"], expiration="10m")
    expired = server.create_preauth_key("ops", expiration="1h")
    server.cli("preauthkeys", "expire", "--user", str(server.ensure_user("ops")["id"]), expired)  # 0.26 syntax
    server.cli("apikeys", "create", "--expiration", "90d")


def test_every_step_keeps_every_preauth_key_and_reads_them_back(servers, tmp_path):
    server = servers.start(STEPS[0])
    make_keys(server)
    baseline = key_ids(server)
    assert len(baseline) == 4
    for step in STEPS[1:]:
        tables = backup(server, tmp_path / f"before-{step}.sqlite")
        assert tables["pre_auth_keys"] == 4, (server.version, tables)
        servers.stop()
        server = servers.start(step)
        rc, check = readback(server, tables)
        assert rc == 0 and not check.get("failed"), (step, check)
        assert key_ids(server) == baseline, step


@pytest.mark.parametrize(("version", "keys_lost"), [("0.27.1", False), ("0.28.0", True), ("0.29.3", False)])
def test_readback_names_preauth_keys_lost_after_the_backup(servers, tmp_path, version, keys_lost):
    server = servers.start(version)
    server.ensure_user("ops")
    for _key_number in range(3):
        server.create_preauth_key("ops", reusable=True, expiration="24h")
    tables = backup(server, tmp_path / "backup.sqlite")
    assert tables["pre_auth_keys"] == 3

    # What molecule/upgrade's check did in every phase: a user created and deleted (on 0.28.x
    # headscale_user refuses that while other users' keys exist, unless told to go ahead).
    assert run_module("headscale_user", {"name": "probe"}, server=server)["changed"]
    assert run_module("headscale_user", {"name": "probe", "state": "absent", "allow_preauthkey_loss": True},
                      server=server)["changed"]
    # headscale 0.28.x's DestroyUser deletes every key of the database (fixed in 0.29.0, #3155).
    assert len(key_ids(server)) == (0 if keys_lost else 3)

    rc, check = readback(server, tables)
    if keys_lost:
        assert rc != 0 and check.get("failed"), check
        assert "0 pre-auth keys" in check["msg"] and "and 3." in check["msg"], check["msg"]
    else:
        assert rc == 0 and not check.get("failed"), check
