"""How every foiawatch database is opened and written: one set of connection settings, one write transaction.

The archive and the private database are written by several processes at once (a crawl, a diff, the scheduler's
alerts), so both use WAL, wait for each other's locks, and take write locks up front (``BEGIN IMMEDIATE``): two
writers never interleave a read-then-write. Rows come back as dicts through sqlite-utils' ``Database.query``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils
from sqlite_utils.db import Table

BUSY_TIMEOUT_MS = 30_000


def connect(path: Path, *, autocommit: bool = False, synchronous: str = "NORMAL") -> sqlite_utils.Database:
    """Open a database with foiawatch's settings. ``autocommit`` leaves every write to its own statement unless it
    is inside ``transaction``; otherwise writes open a transaction that the caller commits. ``synchronous`` FULL
    keeps the last commits through a power cut too (WAL with NORMAL keeps them through a process crash)."""
    db = sqlite_utils.Database(path)
    if autocommit:
        db.conn.isolation_level = None
    db.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.enable_wal()
    db.conn.execute(f"PRAGMA synchronous = {synchronous}")
    db.conn.execute("PRAGMA foreign_keys = ON")
    return db


def table(db: sqlite_utils.Database, name: str) -> Table:
    """``db[name]`` for one of foiawatch's tables. sqlite-utils types ``db[name]`` as a table or a view, and only a
    table can be created, inserted into or updated; foiawatch creates no views under these names."""
    found = db[name]
    assert isinstance(found, Table), f"{name} is a view, not a table"
    return found


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One write transaction, its lock taken at once; committed at the end, rolled back on any error."""
    conn = db.conn
    if conn.in_transaction:
        conn.commit()
    conn.execute("begin immediate")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
