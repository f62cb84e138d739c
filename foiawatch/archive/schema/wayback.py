"""What the Wayback Machine holds for an agency, what its captured URLs answer now, and what was recovered.

``captures`` are CDX rows of document URLs under the agency's Wayback prefix; ``wayback_probes`` are live checks of
captured URLs we never saw listed (the facts the baseline decides "removed before monitoring" from); ``recoveries``
record every capture recovery tried, the rejected ones too, so bytes that failed their CDX digest are never
mistaken for evidence and never fetched twice; ``listing_captures`` are the archived versions of the library's
listing pages we read, and ``archived_links`` the document links they held (titles and sections as the library
gave them). All are metadata and may be public.
"""

from __future__ import annotations

import sqlite_utils

from ..migrations import execute_script

_TABLES = """
create table if not exists captures (
    id integer primary key,
    agency_id text not null references agencies(id),
    urlkey text not null,
    timestamp text not null,                          -- 14 digits, as the CDX index has it
    original text not null,                           -- the URL as captured
    url text not null,                                -- canonical form, comparable with documents.url
    mimetype text,
    status integer,                                   -- the captured site's HTTP status; null for a revisit
    digest text not null,                             -- base32 SHA-1 of the captured body
    length integer,
    raw_url text not null,                            -- id_ playback URL: the bytes as captured
    seen_at text not null                             -- when our CDX listing first returned the row
);
create unique index if not exists captures_identity on captures (agency_id, urlkey, timestamp, digest);
create index if not exists captures_agency_url on captures (agency_id, url, timestamp);

create table if not exists wayback_probes (
    id integer primary key,
    agency_id text not null references agencies(id),
    url text not null,                                -- canonical URL of a capture never seen listed
    probed_at text not null,
    http_status integer,
    final_url text,
    content_type text,
    outcome text not null,                            -- gone, soft_404, served, blocked, failed, outage, skipped
    error text
);
create index if not exists wayback_probes_agency_url on wayback_probes (agency_id, url, id);

create table if not exists recoveries (
    id integer primary key,
    agency_id text not null references agencies(id),
    url text not null,                                -- canonical URL of the removed document
    document_id integer references documents(id),     -- null for a document never seen live
    capture_timestamp text not null,
    original text not null,
    capture_digest text not null,
    raw_url text not null,
    status text not null,                             -- ok or rejected
    reason text,                                      -- why a capture was rejected
    sha256 text references blobs(sha256),             -- the stored bytes (ok only)
    size integer,
    mimetype text,
    retrieved_at text not null
);
create unique index if not exists recoveries_capture on recoveries (agency_id, url, capture_timestamp, capture_digest);

create table if not exists listing_captures (
    id integer primary key,
    agency_id text not null references agencies(id),
    url text not null,                                -- canonical URL of the listing page as captured
    timestamp text not null,
    digest text not null,
    raw_url text not null,
    status text not null,                             -- read, or why it could not be
    links integer not null,                           -- document links found
    read_at text not null
);
create unique index if not exists listing_captures_identity on listing_captures (agency_id, url, timestamp);

create table if not exists archived_links (
    listing_capture_id integer not null references listing_captures(id),
    agency_id text not null references agencies(id),
    url text not null,                                -- canonical document URL
    title text,
    section text,
    link_text text
);
create index if not exists archived_links_agency_url on archived_links (agency_id, url);
"""


def create_tables(db: sqlite_utils.Database) -> None:
    execute_script(db, _TABLES)


_SAVES = """
create table wayback_saves (
    id integer primary key,
    agency_id text not null references agencies(id),
    document_id integer references documents(id),
    url text not null,
    requested_at text not null,
    status text not null,                             -- ok or failed
    job_id text,                                      -- Save Page Now's job
    timestamp text,                                   -- the capture it made
    raw_url text,
    error text
);
create index wayback_saves_document on wayback_saves (document_id, status);
"""


def add_saves(db: sqlite_utils.Database) -> None:
    """Save Page Now requests for documents seen for the first time (opt-in): the provenance of those captures."""
    execute_script(db, _SAVES)


def add_recovery_warcs(db: sqlite_utils.Database) -> None:
    """The WARC each recovered copy was also written to (with its capture's provenance), so replay tools show it."""
    db.execute("alter table recoveries add column warc_path text")
