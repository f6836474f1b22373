#!/usr/bin/python
# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: headscale_db_backup
short_description: Consistent copy of headscale's SQLite database while it runs
version_added: 0.1.0
description:
  - Copies a SQLite database with SQLite's online backup API (Python's C(sqlite3.Connection.backup)),
    so the copy is one consistent state of the database even while headscale writes to it.
    A plain file copy of a live database in WAL mode can miss or tear recent writes.
  - The copy is a single file (rollback journal, no C(-wal) or C(-shm) files), checked with
    C(PRAGMA integrity_check), and written under a temporary name, then renamed into place.
  - Needs only the Python standard library on the target (the C(sqlite3) module).
  - Used by the headscale role's C(backup) entry point (C(playbooks/backup.yml)).
extends_documentation_fragment:
  - selfhosted.headscale.attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads the database and reports the row counts; writes nothing.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - Every run writes a new copy.
options:
  path:
    description:
      - The live database, for example C(/var/lib/headscale/db.sqlite).
      - It is opened read-write but never written, so that SQLite can clean up the C(-wal) and C(-shm)
        files it may create when the server is stopped. Such files, when this module created them,
        get the owner and group of the database.
    type: path
    required: true
  dest:
    description:
      - Where to write the copy; an existing file is replaced.
    type: path
    required: true
  mode:
    description:
      - Permissions of the copy.
    type: raw
    default: '0600'
  timeout:
    description:
      - Seconds to wait for a lock held by the server.
    type: int
    default: 30
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
---
- name: Copy the database of the running server
  selfhosted.headscale.headscale_db_backup:
    path: /var/lib/headscale/db.sqlite
    dest: /root/headscale-backup/db.sqlite
  register: db_backup

- name: Show what the copy holds
  ansible.builtin.debug:
    msg: "{{ db_backup.tables.users }} users, {{ db_backup.tables.nodes }} nodes"
"""

RETURN = r"""
dest:
  description: The copy.
  returned: always
  type: str
  sample: /root/headscale-backup/db.sqlite
size:
  description: Size of the copy in bytes (V(0) in check mode).
  returned: always
  type: int
  sample: 98304
tables:
  description:
    - Rows per table, read from the copy (from the database in check mode). Rows with a
      C(deleted_at) timestamp (soft-deleted) are not counted.
  returned: always
  type: dict
  sample: {users: 3, nodes: 4, pre_auth_keys: 3, api_keys: 1, policies: 1, migrations: 120}
integrity:
  description: Result of C(PRAGMA integrity_check) on the copy (V(ok), or V(not checked) in check mode).
  returned: always
  type: str
  sample: ok
"""

import os
import sqlite3
import tempfile
from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule

SIDECARS = ("-wal", "-shm")


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows per table; rows that gorm soft-deleted (a deleted_at timestamp) are not counted."""
    counts = {}
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
        if name.startswith("sqlite_"):
            continue
        # The name comes from sqlite_master; quoted as an identifier.
        quoted = name.replace('"', '""')
        table = f'"{quoted}"'
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        where = " WHERE deleted_at IS NULL" if "deleted_at" in columns else ""
        counts[name] = conn.execute(f"SELECT count(*) FROM {table}{where}").fetchone()[0]
    return counts


def open_source(path: str, timeout: int) -> sqlite3.Connection:
    # mode=rw: fails on a missing file instead of creating an empty database.
    return sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, timeout=timeout)


def give_sidecars_to_owner(path: str, before: set[str]) -> None:
    """-wal/-shm files that opening the database created stay usable by the server's account."""
    st = os.stat(path)
    for suffix in SIDECARS:
        sidecar = path + suffix
        if sidecar not in before and os.path.exists(sidecar):
            os.chown(sidecar, st.st_uid, st.st_gid)


def backup(module: AnsibleModule, path: str, dest: str, mode: int, timeout: int) -> dict:
    before = {path + s for s in SIDECARS if os.path.exists(path + s)}
    directory = os.path.dirname(os.path.abspath(dest))
    fd, tmp = tempfile.mkstemp(prefix=".headscale-db-backup.", dir=directory)
    os.close(fd)
    os.chmod(tmp, mode)
    try:
        source = open_source(path, timeout)
        try:
            target = sqlite3.connect(tmp, timeout=timeout)
            try:
                source.backup(target)
                # A single self-contained file: headscale switches it back to WAL when it opens it.
                target.execute("PRAGMA journal_mode=DELETE").fetchone()
                integrity = "; ".join(row[0] for row in target.execute("PRAGMA integrity_check"))
                tables = table_counts(target)
            finally:
                target.close()
        finally:
            source.close()
            give_sidecars_to_owner(path, before)
        if integrity != "ok":
            module.fail_json(msg=f"the copy of {path} failed SQLite's integrity check: {integrity}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return {"dest": dest, "size": os.path.getsize(dest), "tables": tables, "integrity": integrity}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "mode": {"type": "raw", "default": "0600"},
            "timeout": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    path, dest, timeout = module.params["path"], module.params["dest"], module.params["timeout"]
    raw_mode = module.params["mode"]
    try:
        mode = int(raw_mode, 8) if isinstance(raw_mode, str) else int(raw_mode)
    except ValueError:
        module.fail_json(msg=f"mode must be an octal string such as '0600', not {raw_mode!r}")
    if not os.path.isfile(path):
        module.fail_json(msg=f"no database at {path}")
    if not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
        module.fail_json(msg=f"the directory of dest {dest} does not exist")
    try:
        if module.check_mode:
            before = {path + s for s in SIDECARS if os.path.exists(path + s)}
            source = open_source(path, timeout)
            try:
                tables = table_counts(source)
            finally:
                source.close()
                give_sidecars_to_owner(path, before)
            module.exit_json(changed=True, dest=dest, size=0, tables=tables, integrity="not checked")
        result = backup(module, path, dest, mode, timeout)
    except sqlite3.Error as exc:
        module.fail_json(msg=f"SQLite error while copying {path}: {exc}")
    module.exit_json(changed=True, **result)


if __name__ == "__main__":
    main()
