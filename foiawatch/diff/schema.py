"""Tables the diff engine owns: the events it concludes, text diffs of changed documents, and its own state.

``events`` is the product (alerts and the public view read it). ``diff_cursor`` and ``diff_documents`` are a cache
of where each agency's diff has got to; they can be thrown away and rebuilt by replaying the crawls, and because
every event carries a ``dedupe_key`` a replay never duplicates an event.
"""

from __future__ import annotations

import sqlite_utils

ADDED, CHANGED, REMOVED, UNLISTED, MOVED, RESTORED = "added", "changed", "removed", "unlisted", "moved", "restored"
SECTION_REMOVED, PAGE_TEXT_REMOVED = "section_removed", "page_text_removed"
OUTAGE_STARTED, OUTAGE_ENDED = "outage", "outage_ended"
# Recorded by Wayback recovery, not by the diff (docs/DESIGN.md rule 7); listed so that reports and filters know it.
REMOVED_BEFORE_MONITORING = "removed_before_monitoring"

# Most alarming first: reports list kinds in this order.
EVENT_KINDS = (
    REMOVED, SECTION_REMOVED, REMOVED_BEFORE_MONITORING, PAGE_TEXT_REMOVED, UNLISTED, MOVED, CHANGED, RESTORED,
    ADDED, OUTAGE_STARTED, OUTAGE_ENDED,
)

# Document states in diff_documents. Only the first three can still become "removed".
LISTED, MISSING = "listed", "missing"
ACTIVE_STATES = (LISTED, MISSING, UNLISTED)

_DDL = """
create table if not exists events (
    id integer primary key,
    agency_id text not null references agencies(id),
    kind text not null,
    crawl_id integer references crawls(id),          -- the crawl that decided it
    document_id integer references documents(id),
    url text,
    title text,
    section text,
    detected_at text not null,                        -- finished_at of the deciding crawl
    summary text not null,                            -- one human sentence
    evidence text not null,                           -- JSON
    dedupe_key text not null unique
);
create index if not exists events_agency_kind_detected on events (agency_id, kind, detected_at);
create index if not exists events_document on events (document_id);
create index if not exists events_crawl on events (crawl_id);

create table if not exists text_diffs (
    event_id integer primary key references events(id),
    old_sha256 text not null,
    new_sha256 text not null,
    diff text,                                        -- unified diff of the extracted texts; null until both
    lines_added integer,                              -- texts have been extracted
    lines_removed integer,
    truncated integer not null default 0              -- 1 when the stored diff was cut (counts stay exact)
);
create index if not exists text_diffs_pending on text_diffs (event_id) where diff is null;

create table if not exists diff_cursor (
    agency_id text primary key references agencies(id),
    crawl_id integer,                                 -- last crawl diffed
    last_complete integer,                            -- last complete crawl: the baseline for the next one
    outage_since integer                              -- first crawl of an outage not yet ended
);

create table if not exists diff_documents (
    document_id integer primary key references documents(id),
    agency_id text not null,
    state text not null,                              -- listed, missing, unlisted, removed, moved
    first_listed integer not null,
    last_listed integer,                              -- kept up to date only when a document stops being listed
    sha256 text,                                      -- last content seen
    sha_crawl integer,
    streak integer not null default 0,                -- consecutive complete crawls missing and probed gone
    streak_evidence text                              -- JSON list of those probes
);
create index if not exists diff_documents_state on diff_documents (agency_id, state);
"""


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create the diff tables if needed; safe to call on every run."""
    db.conn.executescript(_DDL)
