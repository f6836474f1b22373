"""playbooks/backup.yml and restore.yml carry Headplane's directories along with headscale.

A throw-away Debian 12 container of the test bed (systemd as PID 1, no network) runs the real
headscale binary, installed by the headscale role (binary method). Headplane's directories
are laid out by hand where the headplane role puts them (its defaults: /opt/docker/headplane
config/, data/, secrets/), with the modes and owners the role gives them, a file of another
owner, and Headplane's SQLite database kept open in WAL mode by a process that disabled
checkpoints, so its rows are in the -wal file only (a file copy of hp_persist.db alone would
hold none of them).

- backup.yml with server_with_headplane: the archive holds the three directories under
  extra/ with their modes and owners (the secrets 0600), the database as a consistent single
  file with every row and no -wal/-shm file, and manifest.json lists them.
- restore.yml (headscale_backup_extra_paths naming the same directories) after everything
  changed: every file and directory of the archive comes back byte-identical with its mode
  and owner, what was added since is gone, the database's later rows (left in a -wal file by
  a killed writer) are not replayed into it, and headscale has the backup's users.
- Bad headscale_backup_extra_paths fail before an archive is written, naming the variable or
  the path.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import roles
from harness.roles import failures, run_playbook_file, run_role
from harness.versions import REPO, headscale_binary

HEADPLANE = "/opt/docker/headplane"
PATHS = [f"{HEADPLANE}/config", f"{HEADPLANE}/data", f"{HEADPLANE}/secrets"]
DATABASE = f"{HEADPLANE}/data/hp_persist.db"
ROWS = 50


def headscale_vars(version: str) -> dict[str, Any]:
    return {
        "headscale_version": version,
        "headscale_binary_src": str(headscale_binary(version)),
        "headscale_server_url": "http://127.0.0.1:8080",
        "headscale_listen_addr": "127.0.0.1:8080",
    }


def sh(host: str, script: str, stdin: str | None = None) -> str:
    proc = subprocess.run(["docker", "exec", "-i", host, "sh", "-c", script], input=stdin,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{script}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


# Headplane's directories as the headplane role creates them (install.yml, secrets.yml), plus
# a file of another owner and a subdirectory.
LAYOUT = f"""
set -e
install -d -m 0755 {HEADPLANE}
install -d -m 0750 {HEADPLANE}/config {HEADPLANE}/data {HEADPLANE}/data/agent
install -d -m 0700 {HEADPLANE}/secrets
printf 'server:\\n  port: 3002\\n' > {HEADPLANE}/config/config.yaml && chmod 0640 {HEADPLANE}/config/config.yaml
head -c 48 /dev/urandom | base64 > {HEADPLANE}/secrets/headscale_api_key
head -c 24 /dev/urandom | base64 > {HEADPLANE}/secrets/headplane_cookie_secret
chmod 0600 {HEADPLANE}/secrets/*
printf '{{"users": []}}' > {HEADPLANE}/data/users.json
chown nobody:nogroup {HEADPLANE}/data/users.json && chmod 0644 {HEADPLANE}/data/users.json
head -c 4096 /dev/urandom > {HEADPLANE}/data/agent/cache.bin && chmod 0600 {HEADPLANE}/data/agent/cache.bin
"""

# Writes rows into the database with checkpoints off, then stays connected: the rows stay in
# hp_persist.db-wal. argv: database, number of rows, pid file (written once the rows are in).
WRITER = """
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA wal_autocheckpoint=0")
db.execute("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT)")
for n in range(int(sys.argv[2])):
    db.execute("INSERT INTO users (name) VALUES (?)", (f"hp-{n}",))
with open(sys.argv[3], "w") as pid:
    pid.write(str(os.getpid()))
time.sleep(3600)
"""

# Every file, directory and link under the given paths (and the paths themselves): type,
# mode, owner, group, SHA-256 of a file's bytes.
LISTING = """
import grp, hashlib, json, os, pwd, stat, sys
out = {}
def add(path):
    st = os.lstat(path)
    kind = "dir" if stat.S_ISDIR(st.st_mode) else "link" if stat.S_ISLNK(st.st_mode) else "file"
    entry = {"type": kind, "mode": oct(stat.S_IMODE(st.st_mode)),
             "owner": pwd.getpwuid(st.st_uid).pw_name, "group": grp.getgrgid(st.st_gid).gr_name}
    if kind == "file":
        with open(path, "rb") as f:
            entry["sha256"] = hashlib.sha256(f.read()).hexdigest()
    out[path] = entry
for root in sys.argv[1:]:
    add(root)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            add(os.path.join(folder, name))
print(json.dumps(out))
"""


def start_writer(host: str, rows_to_write: int, pid_file: str) -> None:
    sh(host, "cat > /run/hp-writer.py", stdin=WRITER)
    subprocess.run(["docker", "exec", "-d", host, "python3", "/run/hp-writer.py", DATABASE, str(rows_to_write),
                    pid_file], check=True)
    sh(host, f"for i in $(seq 100); do [ -s {pid_file} ] && exit 0; sleep 0.2; done; exit 1")


def listing(host: str, paths: list[str]) -> dict[str, dict[str, Any]]:
    proc = subprocess.run(["docker", "exec", "-i", host, "python3", "-", *paths], input=LISTING,
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def archive_listing(archive: Path, dest: Path) -> dict[str, dict[str, Any]]:
    """The archive's members under extra/, keyed by their path on the host, as ``listing`` has them;
    the files are also unpacked below ``dest``."""
    out = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix("./")
            if not name.startswith("extra/") or not any(
                    ("/" + name.removeprefix("extra/") + "/").startswith(path + "/") for path in PATHS):
                continue
            kind = "dir" if member.isdir() else "link" if member.issym() else "file"
            entry = {"type": kind, "mode": oct(member.mode & 0o7777), "owner": member.uname, "group": member.gname}
            if member.isfile():
                data = tar.extractfile(member).read()
                entry["sha256"] = hashlib.sha256(data).hexdigest()
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            out["/" + name.removeprefix("extra/")] = entry
    return out


def manifest(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive, "r:gz") as tar:
        return json.load(tar.extractfile("./manifest.json"))


def rows(database: Path) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return db.execute("SELECT count(*) FROM users").fetchone()[0]


def headscale_users(host: str) -> list[str]:
    return sorted(user["name"] for user in json.loads(sh(host, "headscale users list --output json")) or [])


@pytest.fixture(scope="module")
def host(headscale_version: str) -> Iterator[str]:
    """The container, headscale installed and running, Headplane's directories laid out."""
    with roles.debian12("hs-backup", "test_backup_extra_paths", systemd=True) as name:
        document = run_role(name, "headscale", headscale_vars(headscale_version))
        assert not failures(document, name), failures(document, name)
        sh(name, LAYOUT)
        yield name


def test_backup_and_restore_carry_headplane(host, headscale_version, tmp_path):
    for user in ("bk-alice", "bk-bob"):
        sh(host, f"headscale users create {user}")
    users = headscale_users(host)
    # Headplane's database, its rows in the -wal file only.
    start_writer(host, ROWS, "/run/hp-writer.pid")
    sh(host, f"test -s {DATABASE}-wal")
    before = listing(host, PATHS)

    archives = tmp_path / "archives"
    document = run_playbook_file(host, REPO / "playbooks" / "backup.yml", "headscale_servers", {
        **headscale_vars(headscale_version), "server_with_headplane": True, "headscale_backup_dir": str(archives)})
    assert not failures(document, host), failures(document, host)
    (archive,) = archives.glob("headscale-*.tar.gz")

    found = manifest(archive)
    assert found["extra_paths"] == PATHS
    assert found["extra_sqlite"] == [DATABASE]
    assert {f"extra{path}" for path in PATHS} <= set(found["files"])
    unpacked = tmp_path / "unpacked"
    archived = archive_listing(archive, unpacked)
    # Everything but the database and its -wal/-shm files, as on the host.
    files_only = {path: entry for path, entry in before.items() if not path.startswith(DATABASE)}
    assert {path: entry for path, entry in archived.items() if path != DATABASE} == files_only
    assert archived[f"{HEADPLANE}/secrets/headscale_api_key"]["mode"] == "0o600"
    assert archived[f"{HEADPLANE}/secrets/headplane_cookie_secret"]["mode"] == "0o600"
    assert archived[f"{HEADPLANE}/data/users.json"]["owner"] == "nobody"
    assert archived[DATABASE]["mode"] == before[DATABASE]["mode"]
    assert rows(unpacked / f"extra{DATABASE}") == ROWS

    # Everything changes: Headplane stops (its writer is killed, the later rows stay in the
    # -wal file), files change, go, come, change mode and owner; headscale gets a user.
    start_writer(host, 7, "/run/hp-writer2.pid")
    sh(host, "kill -9 $(cat /run/hp-writer.pid) $(cat /run/hp-writer2.pid)")
    sh(host, f"""set -e
        echo changed > {HEADPLANE}/config/config.yaml
        rm {HEADPLANE}/secrets/headscale_api_key
        echo new > {HEADPLANE}/data/new-file
        chown root:root {HEADPLANE}/data/users.json && chmod 0666 {HEADPLANE}/data/users.json
        chmod 0755 {HEADPLANE}/secrets
        headscale users create bk-after""")
    assert headscale_users(host) != users

    document = run_playbook_file(host, REPO / "playbooks" / "restore.yml", "headscale_servers", {
        **headscale_vars(headscale_version), "headscale_restore_archive": str(archive),
        "headscale_backup_extra_paths": [{"path": PATHS[0]}, {"path": PATHS[1], "sqlite": ["hp_persist.db"]},
                                         {"path": PATHS[2]}]})
    assert not failures(document, host), failures(document, host)

    assert listing(host, PATHS) == archived
    # No -wal file of the replaced directory replays the later rows into the restored database.
    count = ("import sqlite3, sys\n"
             "print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM users').fetchone()[0])")
    assert int(sh(host, f"python3 - {DATABASE}", stdin=count)) == ROWS
    assert sh(host, f"ls -A {HEADPLANE}").split() == ["config", "data", "secrets"]
    assert headscale_users(host) == users


# headscale_backup_extra_paths, the failing task, what its message names.
@pytest.mark.parametrize("case", [
    ([{"path": "/opt/nothing-here"}], "Check the extra paths exist", "/opt/nothing-here"),
    ([{"path": "opt/docker/headplane"}], "Check headscale_backup_extra_paths", "headscale_backup_extra_paths"),
    ([{"path": HEADPLANE}, {"path": PATHS[1]}], "Check no extra path is inside another", f"{PATHS[1]} inside"),
    ([{"path": PATHS[1], "sqlite": ["../secrets/headscale_api_key"]}], "Check headscale_backup_extra_paths",
     "headscale_backup_extra_paths"),
    ([{"path": PATHS[1], "sqllite": []}], "Validating arguments", "sqllite"),
], ids=["missing", "relative", "nested", "sqlite-outside", "unknown-key"])
def test_bad_extra_paths_fail_before_an_archive(host, headscale_version, tmp_path, case):
    extra_paths, task, named = case
    archives = tmp_path / "archives"
    document = run_playbook_file(host, REPO / "playbooks" / "backup.yml", "headscale_servers", {
        **headscale_vars(headscale_version), "headscale_backup_extra_paths": extra_paths,
        "headscale_backup_dir": str(archives)})
    found = failures(document, host)
    assert len(found) == 1 and task in found[0][0] and named in found[0][1], found
    assert not list(archives.glob("*.tar.gz"))
