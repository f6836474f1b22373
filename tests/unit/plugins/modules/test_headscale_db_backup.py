"""headscale_db_backup: what it counts in a copy, on a real SQLite database (the copy itself, check
mode and a server writing meanwhile: tests/integration/test_db_backup.py)."""

from __future__ import annotations

import sqlite3

from ansible_collections.selfhosted.headscale.plugins.modules import headscale_db_backup

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, deleted_at DATETIME);
CREATE TABLE 'odd "name"' (id INTEGER);
INSERT INTO users (name, deleted_at) VALUES ('alice', NULL), ('bob', '2026-01-01'), ('carol', NULL);
INSERT INTO 'odd "name"' VALUES (1), (2);
"""


def test_table_counts_skip_soft_deleted_rows_and_sqlite_tables():
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    # AUTOINCREMENT makes SQLite keep its own table, sqlite_sequence: not headscale's data.
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone()[0] == 1
    assert headscale_db_backup.table_counts(conn) == {'odd "name"': 2, "users": 2}
