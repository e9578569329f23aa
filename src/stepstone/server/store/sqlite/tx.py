"""The SQLite flavour of `SqlTx`: its queries and the connection's `execute`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from stepstone.server.store import sql
from stepstone.server.store.errors import checked_binding
from stepstone.server.store.sqltx import SqlTx

QUERIES = sql.load_queries(Path(__file__).with_name("queries.sql"))


def sqlite_tx(connection: sqlite3.Connection) -> SqlTx:
    return SqlTx(checked_binding(connection.execute), QUERIES)
