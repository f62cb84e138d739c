"""The fixity audits: when the archive's files were last checked against their hashes, and what was wrong."""

from __future__ import annotations

import sqlite_utils

from ..migrations import execute_script

_TABLES = """
create table if not exists fixity_audits (
    id integer primary key,
    started_at text not null,
    finished_at text not null,
    blobs integer not null,            -- blob rows checked
    warcs integer not null,            -- WARC files checked
    warc_records integer not null,     -- WARC records whose digests were checked
    missing integer not null,
    corrupt integer not null,
    orphaned integer not null,
    truncated integer not null,        -- cut-off tails of interrupted crawls' WARCs (not failures)
    repaired integer not null,
    ok integer not null                -- 1 when nothing is missing, corrupt or orphaned (after repairs)
);
create table if not exists fixity_problems (
    id integer primary key,
    audit_id integer not null references fixity_audits(id),
    kind text not null,                -- missing, corrupt, orphan, truncated
    file_type text not null,           -- blob or warc
    path text not null,                -- relative to the data directory
    sha256 text,
    crawl_id integer,
    detail text not null,
    repaired integer not null default 0
);
create index if not exists fixity_problems_audit on fixity_problems (audit_id);
"""


def create_tables(db: sqlite_utils.Database) -> None:
    execute_script(db, _TABLES)
