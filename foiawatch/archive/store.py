"""The archive: one SQLite database (through sqlite-utils) beside a content-addressed blob store and per-crawl WARCs.

Layout of a data directory::

    archive.db            agencies, crawls, listing pages, documents, sightings, links, blobs, texts (+ FTS)
    blobs/ab/cd/<sha256>  every byte string stored once
    warc/<agency>/<crawl id>.warc.gz
    tmp/                  partial downloads; never trusted, swept on open

Other subsystems (diff, wayback, alerts) add their own tables through ``Archive.db`` but never change these.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import sqlite_utils

from .blobs import BlobStore, StoredBlob

SCHEMA_VERSION = 1

# Crawl statuses (docs/DESIGN.md): only "complete" crawls can remove anything.
RUNNING, COMPLETE, INCOMPLETE, OUTAGE = "running", "complete", "incomplete", "outage"


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def database(self) -> Path:
        return self.root / "archive.db"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    @property
    def warc(self) -> Path:
        return self.root / "warc"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"


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


class Archive:
    """Open (and if needed create) the archive in a data directory."""

    def __init__(self, root: str | Path):
        self.paths = Paths(Path(root).resolve())
        for directory in (self.paths.root, self.paths.blobs, self.paths.warc, self.paths.tmp):
            directory.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(self.paths.database)
        self.db.conn.execute("PRAGMA busy_timeout = 30000")
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self.blobs = BlobStore(self.paths.blobs, self.paths.tmp)
        self._ensure_schema()

    def _ensure_schema(self) -> None:
        with self.db.conn:
            for name, (columns, options) in _TABLES.items():
                self.db[name].create(columns, if_not_exists=True, **options)
            for table, columns, unique in _INDEXES:
                self.db[table].create_index(columns, unique=unique, if_not_exists=True)
            if "texts_fts" not in self.db.table_names():
                self.db["texts"].enable_fts(["text"], create_triggers=True, tokenize="porter")
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # agencies -----------------------------------------------------------------------------------------------

    def register_agency(self, agency_id: str, name: str, library_urls: list[str], config_json: str) -> None:
        existing = self.db["agencies"].count_where("id = ?", [agency_id])
        record = {"id": agency_id, "name": name, "library_urls": sqlite_utils.utils.json.dumps(library_urls),
                  "config": config_json}
        if existing:
            self.db["agencies"].update(agency_id, record)
        else:
            self.db["agencies"].insert({**record, "created_at": utcnow()})

    # crawls -------------------------------------------------------------------------------------------------

    def start_crawl(self, agency_id: str, pid: int | None = None) -> int:
        """Record a crawl as running: a crawl killed before it finishes is never mistaken for a complete one."""
        self.mark_interrupted_crawls(agency_id)
        table = self.db["crawls"].insert(
            {"agency_id": agency_id, "started_at": utcnow(), "status": RUNNING, "pid": pid or os.getpid()}
        )
        return int(table.last_pk)

    def finish_crawl(self, crawl_id: int, status: str, reason: str, stats: dict[str, Any]) -> None:
        if status not in (COMPLETE, INCOMPLETE, OUTAGE):
            raise ValueError(f"unknown crawl status {status!r}")
        self.db["crawls"].update(
            crawl_id, {**stats, "status": status, "status_reason": reason, "finished_at": utcnow()}
        )

    def mark_interrupted_crawls(self, agency_id: str | None = None) -> int:
        """Crawls left "running" by a dead process become "incomplete" (they can never remove anything)."""
        where, params = "status = ?", [RUNNING]
        if agency_id:
            where, params = where + " and agency_id = ?", params + [agency_id]
        interrupted = 0
        for row in list(self.db["crawls"].rows_where(where, params)):
            if row["pid"] and _process_alive(row["pid"]) and row["pid"] != os.getpid():
                continue
            self.db["crawls"].update(
                row["id"], {"status": INCOMPLETE, "status_reason": "interrupted: the crawl process stopped",
                            "finished_at": row["finished_at"] or utcnow()}
            )
            interrupted += 1
        return interrupted

    def crawls(self, agency_id: str) -> Iterator[dict[str, Any]]:
        return self.db["crawls"].rows_where("agency_id = ?", [agency_id], order_by="id")

    def last_crawl(self, agency_id: str, status: str | None = None) -> dict[str, Any] | None:
        where, params = "agency_id = ?", [agency_id]
        if status:
            where, params = where + " and status = ?", params + [status]
        rows = list(self.db["crawls"].rows_where(where, params, order_by="id desc", limit=1))
        return rows[0] if rows else None

    # documents ----------------------------------------------------------------------------------------------

    def document_id(self, agency_id: str, url: str, title: str, section: str, crawl_id: int) -> int:
        """Find or create a document by its canonical URL."""
        row = self.db.execute(
            "select id from documents where agency_id = ? and url = ?", [agency_id, url]
        ).fetchone()
        if row:
            self.db.execute(
                "update documents set title = ?, section = ?, last_listed_crawl = ? where id = ?",
                [title, section, crawl_id, row[0]],
            )
            return int(row[0])
        cursor = self.db.execute(
            "insert into documents (agency_id, url, title, section, first_seen_crawl, last_listed_crawl) "
            "values (?, ?, ?, ?, ?, ?)",
            [agency_id, url, title, section, crawl_id, crawl_id],
        )
        return int(cursor.lastrowid)

    def fetch_state(self, agency_id: str) -> dict[str, dict[str, Any]]:
        """Per document URL, the validators of its last successful fetch, for conditional requests.

        Only fetches whose bytes we still hold count: a 304 for a blob we lost would leave us with nothing.
        """
        rows = self.db.execute(
            """
            select d.url, d.id, s.etag, s.last_modified, s.sha256, s.size, s.content_type
            from documents d
            join sightings s on s.id = (
                select s2.id from sightings s2 join blobs b on b.sha256 = s2.sha256
                where s2.document_id = d.id and s2.sha256 is not null
                order by s2.crawl_id desc limit 1
            )
            where d.agency_id = ?
            """,
            [agency_id],
        ).fetchall()
        return {
            url: {"document_id": doc_id, "etag": etag, "last_modified": last_modified, "sha256": sha256,
                  "size": size, "content_type": content_type}
            for url, doc_id, etag, last_modified, sha256, size, content_type in rows
        }

    def store_blob(self, source_path: Path, sha256: str, mimetype: str, source: str) -> bool:
        """Move a verified download into the blob store and record it; returns True if the bytes were new."""
        new = self.record_blob(self.blobs.put(source_path, sha256), mimetype, source)
        self.db.conn.commit()
        return new

    def record_blob(self, stored: StoredBlob, mimetype: str, source: str) -> bool:
        """Record a blob already in the store (the file first, then the row: a crash leaves an orphan, never a
        row without bytes); returns True if the bytes were new."""
        cursor = self.db.execute(
            "insert or ignore into blobs (sha256, size, mimetype, path, source, stored_at) values (?, ?, ?, ?, ?, ?)",
            [stored.sha256, stored.size, mimetype, stored.relative_path, source, utcnow()],
        )
        return cursor.rowcount == 1

    def work_dir(self, purpose: str) -> Path:
        """A fresh directory for partial downloads, named after the process that owns it (see ``sweep_tmp``)."""
        return Path(tempfile.mkdtemp(prefix=f"{purpose}-{os.getpid()}-", dir=self.paths.tmp))

    def sweep_tmp(self) -> None:
        """Partial downloads left by dead processes are worthless; remove them (never a live process's)."""
        for child in self.paths.tmp.iterdir():
            parts = child.name.split("-")
            if not child.is_dir() or len(parts) < 3 or not parts[1].isdigit():
                continue
            if not _process_alive(int(parts[1])):
                shutil.rmtree(child, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Outcomes of one document fetch in a crawl (sightings.outcome). The crawler records them; diff/ judges them.
FETCHED = "fetched"            # 200, bytes stored (sightings.sha256 set)
NOT_MODIFIED = "not_modified"  # 304 to a conditional request; sha256 carried over from the last fetch
GONE = "gone"                  # 404 or 410
SOFT_404 = "soft_404"          # redirected to, or answered with, a non-document (HTML) page
BLOCKED = "blocked"            # 401/403/429 or a bot-challenge page: says nothing about removal
FAILED = "failed"              # 5xx, timeout, reset, truncated body, redirect loop: says nothing about removal
TOO_LARGE = "too_large"        # over the configured size cap; recorded, not downloaded
SKIPPED = "skipped"            # not fetched (e.g. robots.txt disallows it)
