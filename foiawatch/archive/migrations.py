"""Numbered schema migrations, applied when a database is opened.

Each migration is a named function of a sqlite-utils ``Database``; it runs in one ``BEGIN IMMEDIATE`` transaction
together with the row that records it in ``_migrations``, so a migration is either applied and recorded or neither,
and two processes opening the same archive at once apply it once. A schema change is a new migration: an applied
one is never edited.

Why not ``PRAGMA user_version`` alone: foiawatch 0.1.0 already set it to 1 while it created most tables lazily,
so a number cannot tell what an old archive holds. Names recorded per migration can, and the first migrations are
written to apply cleanly over whatever 0.1.0 left. ``user_version`` is still set to the number applied, for tools
that look at it. sqlite-migrate (alpha, no transaction per migration) and sqlite-utils 4's migrations (not in the
3.x line we support too) were the alternatives.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from .db import transaction

RECORD_TABLE = "_migrations"


@dataclass(frozen=True)
class Migration:
    name: str  # "0001_crawls": the number orders them, the name says what they do
    apply: Callable[[sqlite_utils.Database], None]


class MigrationSet:
    """The ordered migrations of one database file."""

    def __init__(self, database: str, migrations: Sequence[Migration]):
        names = [m.name for m in migrations]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate migration names in {database}")
        if names != sorted(names):
            raise ValueError(f"migrations of {database} are not in numbered order")
        self.database = database
        self.migrations = tuple(migrations)

    def applied(self, db: sqlite_utils.Database) -> list[str]:
        if RECORD_TABLE not in db.table_names():
            return []
        return [name for (name,) in db.execute(f"select name from {RECORD_TABLE} order by name").fetchall()]

    def pending(self, db: sqlite_utils.Database) -> list[Migration]:
        done = set(self.applied(db))
        return [m for m in self.migrations if m.name not in done]

    def apply(self, db: sqlite_utils.Database) -> list[str]:
        """Apply every pending migration, each in its own transaction; returns the names applied now."""
        applied: list[str] = []
        if not self.pending(db):
            return applied
        for migration in self.migrations:
            with transaction(db):
                db.execute(f"create table if not exists {RECORD_TABLE} (name text primary key, applied_at text)")
                if db.execute(f"select 1 from {RECORD_TABLE} where name = ?", [migration.name]).fetchone():
                    continue  # applied before, or by another process a moment ago
                migration.apply(db)
                db.execute(f"insert into {RECORD_TABLE} (name, applied_at) values (?, ?)",
                           [migration.name, datetime.now(UTC).isoformat(timespec="seconds")])
                count = db.execute(f"select count(*) from {RECORD_TABLE}").fetchone()[0]
                db.execute(f"PRAGMA user_version = {int(count)}")
            applied.append(migration.name)
        return applied


def execute_script(db: sqlite_utils.Database, script: str) -> None:
    """Run a script of DDL statements inside the current transaction (``executescript`` would commit it first)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {statement.strip()[:80]!r}")

