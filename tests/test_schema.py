"""The schema is the migrations: applied to empty databases they give exactly the committed snapshot, and applying
them again changes nothing. A schema change is a new migration and a reviewed change of the snapshot
(``UPDATE_SCHEMA_SNAPSHOT=1 pytest tests/test_schema.py`` rewrites it)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from foiawatch.archive import Archive, schema
from foiawatch.archive.state import open_private

SNAPSHOTS = Path(__file__).parent / "fixtures" / "schema"
_BRACKETED, _QUOTED = re.compile(r"\[([A-Za-z_][A-Za-z0-9_]*)\]"), r'"\1"'
_FLOAT = re.compile(r"\bFLOAT\b")


def dump(db) -> str:
    """The schema as SQL, written one way whichever sqlite-utils created the tables (3 writes [name] and FLOAT,
    4 writes "name" and REAL: the same columns)."""
    rows = db.execute("select type, name, tbl_name, sql from sqlite_master where sql is not null "
                      "order by type, name").fetchall()
    return "".join(f"-- {kind} {name} on {table}\n{_one_way(sql)};\n\n" for kind, name, table, sql in rows)


def _one_way(sql: str) -> str:
    return _FLOAT.sub("REAL", _BRACKETED.sub(_QUOTED, sql))


@pytest.mark.parametrize("database", ["archive", "private"])
def test_migrations_give_the_committed_schema(tmp_path, database):
    db = Archive(tmp_path).db if database == "archive" else open_private(tmp_path)
    snapshot = SNAPSHOTS / f"{database}.sql"
    if os.environ.get("UPDATE_SCHEMA_SNAPSHOT") or not snapshot.exists():
        snapshot.write_text(dump(db))
        pytest.fail(f"wrote {snapshot}: review it and commit it")
    assert dump(db) == snapshot.read_text()


def test_migrations_are_recorded_once_and_reapplying_changes_nothing(tmp_path):
    archive = Archive(tmp_path)
    names = [m.name for m in schema.ARCHIVE.migrations]
    assert schema.ARCHIVE.applied(archive.db) == names
    assert archive.db.execute("pragma user_version").fetchone()[0] == len(names)
    before = dump(archive.db)
    archive.close()
    with Archive(tmp_path) as again:
        assert schema.ARCHIVE.apply(again.db) == [] and dump(again.db) == before


def test_a_failing_migration_leaves_nothing_half_done(tmp_path):
    from foiawatch.archive.db import connect
    from foiawatch.archive.migrations import Migration, MigrationSet

    def broken(db) -> None:
        db.execute("create table half (x)")
        raise RuntimeError("disk full")

    db = connect(tmp_path / "x.db")
    with pytest.raises(RuntimeError):
        MigrationSet("x.db", [Migration("0001_broken", broken)]).apply(db)
    assert "half" not in db.table_names()
    assert MigrationSet("x.db", [Migration("0001_broken", broken)]).applied(db) == []
