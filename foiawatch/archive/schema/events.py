"""The diff's tables: the events it concludes, text diffs of changed documents, and its own state.

``events`` is the product (alerts and the public view read it). ``diff_cursor`` and ``diff_documents`` are a cache
of where each agency's diff has got to; they can be thrown away and rebuilt by replaying the crawls, and because
every event carries a ``dedupe_key`` a replay never duplicates an event.

Two views serve recovery and section bundles: ``removed_event_documents`` (one row per document named by a
``removed``, ``section_removed`` or ``removed_before_monitoring`` event) and ``removed_document_captures`` (the
Wayback captures holding each, found under the document's URL or the URL its link led to).
"""

from __future__ import annotations

import sqlite_utils

from ..migrations import execute_script

_TABLES = """
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

# The event kinds and fetch outcomes are spelled out: a view stored in an archive must not change with the code.
_REMOVAL_VIEWS = """
create view if not exists removed_event_documents as
select e.agency_id, e.id as event_id, e.kind, e.document_id, d.url, d.title, d.section
from events e join documents d on d.id = e.document_id
where e.kind = 'removed'
union all
select e.agency_id, e.id, e.kind, json_extract(j.value, '$.document_id'), json_extract(j.value, '$.url'),
       json_extract(j.value, '$.title'), e.section
from events e, json_each(e.evidence, '$.documents') j
where e.kind = 'section_removed'
union all
select agency_id, id, kind, document_id, url, title, section from events where kind = 'removed_before_monitoring';

create view if not exists removed_document_captures as
with locations as (
    select r.*, r.url as capture_url from removed_event_documents r
    union
    select r.*, s.final_url from removed_event_documents r join sightings s on s.document_id = r.document_id
    where s.final_url is not null and s.outcome in ('fetched', 'not_modified')
)
select l.agency_id, l.event_id, l.kind, l.document_id, l.url, l.title, l.section,
       c.urlkey, c.timestamp, c.original, c.mimetype, c.status, c.digest, c.length, c.raw_url
from locations l join captures c on c.agency_id = l.agency_id and c.url = l.capture_url;
"""


def create_tables(db: sqlite_utils.Database) -> None:
    execute_script(db, _TABLES)


def create_removal_views(db: sqlite_utils.Database) -> None:
    execute_script(db, _REMOVAL_VIEWS)


def add_unverified_streak(db: sqlite_utils.Database) -> None:
    """Count the consecutive complete crawls in which a delisted document's probe met a block page: after
    ``removal_confirmations`` of them it shows as unlisted, "cannot be verified", and never as removed."""
    db.execute("alter table diff_documents add column unverified integer not null default 0")


# removed_event_documents as of migration 0015: the parts a removed record took with it are removed documents too
# (recovery and bundles look for them in the Wayback Machine like any other).
_REMOVAL_VIEWS_WITH_PARTS = _REMOVAL_VIEWS.replace("""where e.kind = 'removed'
union all""", """where e.kind = 'removed'
union all
select e.agency_id, e.id, e.kind, json_extract(j.value, '$.document_id'), json_extract(j.value, '$.url'),
       json_extract(j.value, '$.title'), e.section
from events e, json_each(e.evidence, '$.parts') j
where e.kind = 'removed'
union all""", 1)


def add_removed_record_parts(db: sqlite_utils.Database) -> None:
    """The removal views name the parts of a removed record (its event lists them in ``evidence.parts``)."""
    db.execute("drop view if exists removed_document_captures")
    db.execute("drop view if exists removed_event_documents")
    execute_script(db, _REMOVAL_VIEWS_WITH_PARTS)
