"""The crawler's tables: agencies, crawls, listing pages, documents, sightings, links, blobs and their texts.

The crawler writes them and states facts only (this page answered 500, these bytes hash to X); diff/ reads them.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from ..db import table
from ..migrations import execute_script

_TABLES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "agencies": (
        {"id": str, "name": str, "library_urls": str, "config": str, "created_at": str},
        {"pk": "id"},
    ),
    "crawls": (
        {
            "id": int, "agency_id": str, "started_at": str, "finished_at": str, "status": str,
            "status_reason": str, "pid": int, "pages_ok": int, "pages_failed": int, "documents": int,
            "documents_new": int, "documents_unchanged": int, "not_modified": int, "documents_failed": int,
            "probes": int, "bytes": int, "duration_s": float, "warc_path": str,
        },
        {"pk": "id", "foreign_keys": [("agency_id", "agencies", "id")],
         "defaults": {"pages_ok": 0, "pages_failed": 0, "documents": 0, "documents_new": 0,
                      "documents_unchanged": 0, "not_modified": 0, "documents_failed": 0, "probes": 0,
                      "bytes": 0}},
    ),
    "listing_pages": (
        {
            "id": int, "crawl_id": int, "url": str, "final_url": str, "http_status": int, "error": str,
            "fetched_at": str, "page_number": int, "document_links": int, "outage_notice": int, "blocked": int,
            "text": str, "sha256": str,
        },
        {"pk": "id", "foreign_keys": [("crawl_id", "crawls", "id")]},
    ),
    "documents": (
        {
            "id": int, "agency_id": str, "url": str, "title": str, "section": str,
            "first_seen_crawl": int, "last_listed_crawl": int, "sha256": str, "mimetype": str,
        },
        {"pk": "id", "foreign_keys": [("agency_id", "agencies", "id")]},
    ),
    "sightings": (
        {
            "id": int, "crawl_id": int, "document_id": int, "listed": int, "listing_page": str,
            "section": str, "link_text": str, "http_status": int, "final_url": str, "etag": str,
            "last_modified": str, "content_type": str, "sha256": str, "size": int, "not_modified": int,
            "outcome": str, "error": str, "fetched_at": str,
        },
        {"pk": "id", "foreign_keys": [("crawl_id", "crawls", "id"), ("document_id", "documents", "id")]},
    ),
    "links": (
        {"crawl_id": int, "document_id": int, "listing_page": str, "section": str, "link_text": str},
        {"foreign_keys": [("crawl_id", "crawls", "id"), ("document_id", "documents", "id")]},
    ),
    "blobs": (
        {"sha256": str, "size": int, "mimetype": str, "path": str, "source": str, "stored_at": str},
        {"pk": "sha256"},
    ),
    "texts": (
        {"sha256": str, "status": str, "error": str, "text": str, "pages": int, "chars": int,
         "seconds": float, "extracted_at": str},
        {"pk": "sha256", "foreign_keys": [("sha256", "blobs", "sha256")]},
    ),
}

_INDEXES: list[tuple[str, list[str], bool]] = [
    ("crawls", ["agency_id", "id"], False),
    ("crawls", ["status"], False),
    ("listing_pages", ["crawl_id", "url"], True),
    ("documents", ["agency_id", "url"], True),
    ("documents", ["sha256"], False),
    ("sightings", ["crawl_id", "document_id"], True),
    ("sightings", ["document_id", "crawl_id"], False),
    ("sightings", ["sha256"], False),
    ("links", ["crawl_id", "document_id", "listing_page", "section"], True),
    ("links", ["document_id"], False),
    ("links", ["crawl_id", "listing_page"], False),
]

# Full-text search over extracted texts, kept in step by triggers (as sqlite-utils' enable_fts writes them; its
# own call would commit the migration's transaction half-way).
_TEXTS_FTS = """
CREATE VIRTUAL TABLE IF NOT EXISTS [texts_fts] USING FTS5 (
    [text],
    tokenize='porter',
    content=[texts]
);
CREATE TRIGGER IF NOT EXISTS [texts_ai] AFTER INSERT ON [texts] BEGIN
  INSERT INTO [texts_fts] (rowid, [text]) VALUES (new.rowid, new.[text]);
END;
CREATE TRIGGER IF NOT EXISTS [texts_ad] AFTER DELETE ON [texts] BEGIN
  INSERT INTO [texts_fts] ([texts_fts], rowid, [text]) VALUES('delete', old.rowid, old.[text]);
END;
CREATE TRIGGER IF NOT EXISTS [texts_au] AFTER UPDATE ON [texts] BEGIN
  INSERT INTO [texts_fts] ([texts_fts], rowid, [text]) VALUES('delete', old.rowid, old.[text]);
  INSERT INTO [texts_fts] (rowid, [text]) VALUES (new.rowid, new.[text]);
END;
"""


def create_tables(db: sqlite_utils.Database) -> None:
    """The crawl tables as foiawatch 0.1.0 created them (and creates none an 0.1.0 archive already has)."""
    for name, (columns, options) in _TABLES.items():
        table(db, name).create(columns, if_not_exists=True, **options)
    for name, index_columns, unique in _INDEXES:
        table(db, name).create_index(index_columns, unique=unique, if_not_exists=True)
    execute_script(db, _TEXTS_FTS)


def add_listing_page_facts(db: sqlite_utils.Database) -> None:
    """Store every fact the crawl verdict is decided from, so diff/ re-derives the same verdict from the rows:
    whether a page is one of the agency's library URLs (0.1.0 gave those page number 0) and the outage notice's
    text (0.1.0 kept only a flag)."""
    db.execute("alter table listing_pages add column is_root integer")
    db.execute("alter table listing_pages add column notice text")
    db.execute("update listing_pages set is_root = (page_number = 0)")


_NOT_FOUND_SIGNATURES = """
create table not_found_signatures (
    id integer primary key,
    agency_id text not null references agencies(id),
    crawl_id integer references crawls(id),           -- the crawl that asked; null for a Wayback probe run
    key text not null,                                -- scheme://host/top-folder the signature stands for
    probe_url text not null,                          -- the random URL that certainly does not exist
    http_status integer,                              -- null: the question itself failed (nothing learned)
    final_url text,
    content_type text,
    title text,
    words integer,                                    -- words of its text compared with answers
    blocked text,                                     -- it met a block page: it can match nothing
    error text,
    learned_at text not null
);
create index not_found_signatures_crawl on not_found_signatures (crawl_id, key);
"""


def add_not_found_signatures(db: sqlite_utils.Database) -> None:
    """How each site answers a URL that does not exist, learned once per site and crawl: the evidence that an HTML
    answer at a document's URL is that site's not-found page (web/answers.py)."""
    execute_script(db, _NOT_FOUND_SIGNATURES)


def add_text_titles(db: sqlite_utils.Database) -> None:
    """What a file calls itself (a PDF's metadata Title): the name of a record removed before monitoring that no
    archived listing named."""
    db.execute("alter table texts add column title text")


_WATCH_CHECKS = """
create table if not exists watch_checks (
    id integer primary key,
    agency_id text not null,
    started_at text not null,
    finished_at text not null,
    listing_pages integer not null,   -- pages read
    not_modified integer not null,    -- of which answered 304
    requests integer not null
);
create index if not exists watch_checks_agency on watch_checks (agency_id, id);
"""


def add_crawl_kinds(db: sqlite_utils.Database) -> None:
    """Listing-first monitoring: a crawl's kind (full, watch, revalidate); each listing page's validators and the
    further pages it linked, so a 304 on the next watch pass stands for the page as last read; and the watch passes
    that found nothing new, kept as one small row each instead of a crawl."""
    db.execute("alter table crawls add column kind text not null default 'full'")
    db.execute("alter table listing_pages add column etag text")
    db.execute("alter table listing_pages add column last_modified text")
    db.execute("alter table listing_pages add column further_pages text")  # a JSON list
    execute_script(db, _WATCH_CHECKS)


def add_record_parts(db: sqlite_utils.Database) -> None:
    """The record a document is a part of (FBI Vault style: a record's own page lists its PDF parts), so a record
    removed is reported once, with its parts."""
    db.execute("alter table documents add column record_id integer references documents(id)")
    db.execute("create index documents_record on documents (record_id) where record_id is not null")


def add_sighting_warc_records(db: sqlite_utils.Database) -> None:
    """Where each fetched payload is in the crawl's WARC (its record, date and payload digest), so a later 304 is
    written as a revisit record referring to it (a replay then shows the document, not an empty 304)."""
    db.execute("alter table sightings add column warc_record_id text")
    db.execute("alter table sightings add column warc_date text")
    db.execute("alter table sightings add column payload_digest text")


_TEXT_PAGES = """
create table if not exists text_pages (
    sha256 text not null references blobs(sha256),
    page integer not null,            -- 1-based, in the order of the text's form feeds
    source text not null,             -- text_layer or ocr
    confidence real,                  -- OCR: the mean of Tesseract's word confidences (0-100); null otherwise
    words integer,                    -- OCR: words read
    low_words text,                   -- OCR: JSON [[start, end, confidence], ...] of words read with confidence
                                      -- under 90, offsets into the page's text (the PII screen's unreadable parts)
    primary key (sha256, page)
);
"""


def add_text_sources(db: sqlite_utils.Database) -> None:
    """Where each text came from (a file's own text, OCR, or both) and how sure OCR was, per file and per page: search,
    diffs and the public site say which, and the PII screen holds what OCR could not read. Texts an older release
    could not read (image-only scans, "empty"; spreadsheets, Word files and images, "unsupported") are dropped, so
    the next extraction reads them (never screened, they were withheld; they stay so until then)."""
    db.execute("delete from texts where status in ('empty', 'unsupported')")
    db.execute("alter table texts add column source text")
    db.execute("alter table texts add column ocr_pages integer")
    db.execute("alter table texts add column ocr_confidence real")
    db.execute("update texts set source = 'text_layer' where status = 'ok'")
    execute_script(db, _TEXT_PAGES)
