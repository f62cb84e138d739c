"""The archive: one SQLite database (through sqlite-utils) beside a content-addressed blob store and per-crawl WARCs,
in a data directory (``datadir.DataDir`` lists its paths). Opening an archive applies every pending schema
migration (``schema.ARCHIVE``), so every table exists whichever command runs first.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from . import schema
from .blobs import BlobStore, StoredBlob
from .datadir import DataDir, DataDirLike
from .db import connect, table
from .vocabulary import CrawlKind, CrawlStatus, DocumentState, FetchOutcome


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Archive:
    """Open (and if needed create, or migrate) the archive in a data directory."""

    def __init__(self, data_dir: DataDirLike):
        self.data_dir = DataDir.at(data_dir)
        for directory in (self.data_dir.root, self.data_dir.blobs, self.data_dir.warc, self.data_dir.tmp):
            directory.mkdir(parents=True, exist_ok=True)
        self.db = connect(self.data_dir.archive_db)
        schema.ARCHIVE.apply(self.db)
        self.blobs = BlobStore(self.data_dir.blobs, self.data_dir.tmp)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # agencies -----------------------------------------------------------------------------------------------

    def register_agency(self, agency_id: str, name: str, library_urls: list[str], config_json: str) -> None:
        existing = self.db["agencies"].count_where("id = ?", [agency_id])
        record = {"id": agency_id, "name": name, "library_urls": sqlite_utils.utils.json.dumps(library_urls),
                  "config": config_json}
        if existing:
            table(self.db, "agencies").update(agency_id, record)
        else:
            table(self.db, "agencies").insert({**record, "created_at": utcnow()})

    # crawls -------------------------------------------------------------------------------------------------

    def start_crawl(self, agency_id: str, pid: int | None = None, kind: str = CrawlKind.FULL) -> int:
        """Record a crawl as running: a crawl killed before it finishes is never mistaken for a complete one."""
        self.mark_interrupted_crawls(agency_id)
        crawls = table(self.db, "crawls").insert(
            {"agency_id": agency_id, "started_at": utcnow(), "status": CrawlStatus.RUNNING, "pid": pid or os.getpid(),
             "kind": CrawlKind(kind)}
        )
        assert crawls.last_pk is not None, "an insert sets last_pk"
        return int(crawls.last_pk)

    def finish_crawl(self, crawl_id: int, status: str, reason: str, stats: dict[str, Any]) -> None:
        if status not in (CrawlStatus.COMPLETE, CrawlStatus.INCOMPLETE, CrawlStatus.OUTAGE):
            raise ValueError(f"unknown crawl status {status!r}")
        table(self.db, "crawls").update(
            crawl_id, {**stats, "status": status, "status_reason": reason, "finished_at": utcnow()}
        )

    def mark_interrupted_crawls(self, agency_id: str | None = None) -> int:
        """Crawls left "running" by a dead process become "incomplete" (they can never remove anything)."""
        where = "status = ?"
        params: list[str] = [CrawlStatus.RUNNING]
        if agency_id:
            where, params = where + " and agency_id = ?", params + [agency_id]
        interrupted = 0
        for row in list(self.db["crawls"].rows_where(where, params)):
            if row["pid"] and _process_alive(row["pid"]) and row["pid"] != os.getpid():
                continue
            table(self.db, "crawls").update(
                row["id"], {"status": CrawlStatus.INCOMPLETE, "status_reason": "interrupted: the crawl process stopped",
                            "finished_at": row["finished_at"] or utcnow()}
            )
            interrupted += 1
        return interrupted

    def crawls(self, agency_id: str) -> Iterator[dict[str, Any]]:
        return self.db["crawls"].rows_where("agency_id = ?", [agency_id], order_by="id")

    def last_crawl(self, agency_id: str, status: str | None = None, *, listing: bool = True) -> dict[str, Any] | None:
        """The agency's latest crawl (of ``status``, if given); by default only the crawls that read the listing
        (full and watch passes), which are what "the library's state" means."""
        where, params = "agency_id = ?", [agency_id]
        if listing:
            where += f" and kind != '{CrawlKind.REVALIDATE}'"
        if status:
            where, params = where + " and status = ?", params + [status]
        rows = list(self.db["crawls"].rows_where(where, params, order_by="id desc", limit=1))
        return rows[0] if rows else None

    def discard_crawl(self, crawl_id: int) -> None:
        """Forget a watch pass that found nothing new (it is kept as a ``watch_checks`` row instead): it wrote no
        link, page or sighting, only its row and perhaps what it learned of not-found pages."""
        with self.db.conn:
            self.db.execute("delete from not_found_signatures where crawl_id = ?", [crawl_id])
            self.db.execute("delete from crawls where id = ?", [crawl_id])

    def record_watch_check(self, agency_id: str, started_at: str, listing_pages: int, not_modified: int,
                           requests: int) -> None:
        with self.db.conn:
            self.db.execute(
                "insert into watch_checks (agency_id, started_at, finished_at, listing_pages, not_modified, requests)"
                " values (?, ?, ?, ?, ?, ?)", [agency_id, started_at, utcnow(), listing_pages, not_modified, requests])

    def last_page_read(self, agency_id: str, url: str) -> dict[str, Any] | None:
        """The latest complete listing crawl's reading of a listing page (its validators, text and further pages),
        which a 304 on a watch pass stands for."""
        rows = list(self.db.query(
            "select p.crawl_id, p.final_url, p.etag, p.last_modified, p.text, p.sha256, p.document_links,"
            " p.further_pages from listing_pages p join crawls c on c.id = p.crawl_id"
            " where c.agency_id = ? and c.status = ? and c.kind != ? and p.url = ? and p.error is null"
            " and p.further_pages is not null order by p.crawl_id desc limit 1",
            [agency_id, CrawlStatus.COMPLETE, CrawlKind.REVALIDATE, url]))
        return rows[0] if rows else None

    def page_links(self, crawl_id: int, listing_page: str) -> list[tuple[int, str, str, str, str]]:
        """(document id, url, title, section, link text) of each document a listing page linked in a crawl."""
        return [tuple(row) for row in self.db.execute(
            "select l.document_id, d.url, d.title, l.section, l.link_text from links l"
            " join documents d on d.id = l.document_id where l.crawl_id = ? and l.listing_page = ? order by l.rowid",
            [crawl_id, listing_page]).fetchall()]

    def last_complete_reading(self, agency_id: str) -> str | None:
        """When the library was last read whole and found up: the latest complete listing crawl's end, or a later
        watch pass that found it unchanged (kept as a ``watch_checks`` row, not a crawl)."""
        row = self.db.execute(
            "select max(at) from (select max(finished_at) as at from crawls where agency_id = :agency and status = "
            ":complete and kind != :revalidate union all select max(finished_at) from watch_checks where agency_id "
            "= :agency)", {"agency": agency_id, "complete": CrawlStatus.COMPLETE, "revalidate": CrawlKind.REVALIDATE},
        ).fetchone()
        return row[0] if row else None

    def pending_removals(self, agency_id: str) -> int:
        """Documents off the listing and found gone, waiting for their next confirmation."""
        return self.db.execute("select count(*) from diff_documents where agency_id = ? and state = ? and streak > 0",
                               [agency_id, DocumentState.MISSING]).fetchone()[0]

    def documents_to_revalidate(self, agency_id: str, share: float, older_than: str,
                                limit: int = 0) -> list[tuple[int, str]]:
        """The documents a revalidation pass re-checks: of those the latest complete listing crawl lists, the ones
        not re-checked since ``older_than`` (never-fetched first), then the longest unchecked, ``share`` of them in
        all; at most ``limit`` (0: no limit)."""
        listing = self.last_crawl(agency_id, CrawlStatus.COMPLETE)
        if listing is None:
            return []
        rows = self.db.execute(
            """
            with listed as (select distinct document_id from links where crawl_id = :crawl),
            checked as (
                select s.document_id, max(s.fetched_at) as at from sightings s join listed using (document_id)
                where s.outcome in (:fetched, :not_modified) group by s.document_id
            )
            select d.id, d.url, c.at from listed join documents d on d.id = listed.document_id
            left join checked c on c.document_id = d.id
            order by c.at is not null, c.at, d.id
            """,
            {"crawl": listing["id"], "fetched": FetchOutcome.FETCHED, "not_modified": FetchOutcome.NOT_MODIFIED},
        ).fetchall()
        due = sum(1 for _, _, at in rows if at is None or at < older_than)
        count = max(due, math.ceil(len(rows) * share))
        return [(int(i), url) for i, url, _ in rows[:min(count, limit) if limit else count]]

    def links_per_page(self, crawl_id: int | None) -> dict[str, int]:
        """Each listing page of a crawl with the number of document links it held (the verdict's "emptied page"
        rule compares a crawl with the last complete one)."""
        if crawl_id is None:
            return {}
        return dict(self.db.execute("select url, coalesce(document_links, 0) from listing_pages where crawl_id = ?",
                                    [crawl_id]).fetchall())

    def record_not_found_signature(self, agency_id: str, crawl_id: int | None, key: str, probe_url: str,
                                   facts: Mapping[str, Any] | None, error: str | None = None) -> None:
        """Keep how a site answered a URL that does not exist (``facts``: ``NotFoundSignature.as_evidence()``), or
        why nothing was learned: the evidence behind every answer judged to be that site's not-found page."""
        facts = facts or {}
        self.db.execute(
            "insert into not_found_signatures (agency_id, crawl_id, key, probe_url, http_status, final_url, "
            "content_type, title, words, blocked, error, learned_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [agency_id, crawl_id, key, probe_url, facts.get("http_status"), facts.get("final_url"),
             facts.get("content_type"), facts.get("title"), facts.get("words"), facts.get("blocked"), error,
             utcnow()],
        )

    def latest_event_id(self) -> int:
        """The newest event's id (0 when there is none): a new subscription hears only of events after it."""
        return int(self.db.execute("select coalesce(max(id), 0) from events").fetchone()[0])

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
        return int(cursor.lastrowid or 0)

    def delisted_documents(self, agency_id: str, crawl_id: int) -> list[tuple[int, str]]:
        """Documents listed before ``crawl_id`` but not by it, and not settled yet as removed or moved: the ones the
        crawl probes, so diff can tell "removed" from "no longer linked but still served". Which are settled is the
        diff's state (``diff_documents``); before any diff ran, all are probed."""
        rows = self.db.execute(
            "select d.id, d.url from documents d where d.agency_id = ? and d.last_listed_crawl < ? "
            "and d.id not in (select document_id from diff_documents where agency_id = d.agency_id "
            "and state in (?, ?)) order by d.id",
            [agency_id, crawl_id, DocumentState.REMOVED, DocumentState.MOVED],
        ).fetchall()
        return [(int(doc_id), url) for doc_id, url in rows]

    def fetch_state(self, agency_id: str) -> dict[str, dict[str, Any]]:
        """Per document URL, the validators of its last successful fetch, for conditional requests.

        Only fetches whose bytes we still hold count: a 304 for a blob we lost would leave us with nothing.
        """
        rows = self.db.execute(
            """
            select d.url, d.id, s.etag, s.last_modified, s.sha256, s.size, s.content_type, s.warc_record_id,
                   coalesce(s.warc_date, replace(s.fetched_at, '+00:00', 'Z')), s.payload_digest
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
                  "size": size, "content_type": content_type, "warc_record_id": record_id, "warc_date": warc_date,
                  "payload_digest": digest}
            for url, doc_id, etag, last_modified, sha256, size, content_type, record_id, warc_date, digest in rows
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
        return Path(tempfile.mkdtemp(prefix=f"{purpose}-{os.getpid()}-", dir=self.data_dir.tmp))

    def sweep_tmp(self) -> None:
        """Partial downloads left by dead processes are worthless; remove them (never a live process's)."""
        for child in self.data_dir.tmp.iterdir():
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

