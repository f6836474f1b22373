"""headscale_db_backup against a real, running headscale: the copy is consistent while the
server writes, private, and a working headscale database (a second server starts from it and
lists exactly the users the copy holds)."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from harness.modules import run_module

# Every supported headscale version, in the default matrix too: each has its own schema (issue 18).
pytestmark = pytest.mark.every_supported_headscale


def live_user_names(db: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(users)")]
        where = " WHERE deleted_at IS NULL" if "deleted_at" in columns else ""
        return sorted(row[0] for row in conn.execute(f"SELECT name FROM users{where}"))
    finally:
        conn.close()


def test_online_backup_while_headscale_writes(fresh_headscale, headscale_factory, tmp_path):
    server = fresh_headscale
    for name in ("bk-alice", "bk-bob"):
        server.ensure_user(name)
    server.create_preauth_key("bk-alice", reusable=True)
    before = {u["name"] for u in server.users()}

    # headscale keeps writing (new users through its CLI) while the module copies.
    stop = threading.Event()
    written: list[str] = []

    def writer() -> None:
        n = 0
        while not stop.is_set() and n < 40:
            server.ensure_user(f"bk-live-{n}")
            written.append(f"bk-live-{n}")
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        dest = tmp_path / "db-copy.sqlite"
        result = run_module("headscale_db_backup", {"path": str(server.db_path), "dest": str(dest)})
    finally:
        stop.set()
        thread.join()
    assert result["changed"] and not result.get("failed"), result
    assert result["integrity"] == "ok" and result["dest"] == str(dest)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert not Path(f"{dest}-wal").exists() and not Path(f"{dest}-shm").exists()

    copied = live_user_names(dest)
    # One consistent state: every user from before, and a prefix of the ones written meanwhile.
    assert before <= set(copied)
    live = [n for n in copied if n.startswith("bk-live-")]
    assert live == sorted(written[: len(live)]), (live, written)
    assert result["tables"]["users"] == len(copied)
    assert result["tables"]["pre_auth_keys"] >= 1

    # A second server starts from the copy (with the first one's noise key) and lists exactly
    # the users of the copy.
    # (tmp_path is short enough for the unix socket path, and outlives the server.)
    workdir = tmp_path / "hs"
    workdir.mkdir()
    shutil.copy(dest, workdir / "db.sqlite")
    shutil.copy(server.workdir / "noise_private.key", workdir / "noise_private.key")
    restored = headscale_factory(workdir=workdir)
    assert sorted(u["name"] for u in restored.users()) == copied


def test_check_mode_writes_nothing(fresh_headscale, tmp_path):
    fresh_headscale.ensure_user("bk-check")
    dest = tmp_path / "never.sqlite"
    result = run_module("headscale_db_backup", {"path": str(fresh_headscale.db_path), "dest": str(dest)}, check=True)
    assert result["changed"] and not result.get("failed"), result
    assert result["tables"]["users"] >= 1 and result["integrity"] == "not checked"
    assert not dest.exists()


def test_missing_database_is_an_error(tmp_path):
    result = run_module("headscale_db_backup", {"path": str(tmp_path / "nope.sqlite"), "dest": str(tmp_path / "x")})
    assert result.get("failed") and "no database at" in result["msg"]
    assert not (tmp_path / "nope.sqlite").exists()
