"""Writes what one crawl saw into the archive and decides the crawl's status.

The recorder states facts (this page answered 500, this document answered 404, these bytes hash to X); it never
concludes that anything was removed. That is diff/'s job, and diff/ trusts only crawls this module calls complete.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..archive.blobs import StoredBlob
from ..archive.store import COMPLETE, FETCHED, INCOMPLETE, NOT_MODIFIED, OUTAGE, Archive, utcnow
from ..config import AgencyConfig

COMMIT_EVERY = 200  # rows; a crash loses at most this batch, and the crawl then stays not-complete anyway
EMPTIED_PAGE_THRESHOLD = 5  # a page that listed at least this many documents and now lists none is an outage sign


@dataclass
class PageResult:
    url: str
    ok: bool
    document_links: int = 0
    outage_notice: str | None = None
    blocked: str | None = None
    error: str | None = None
    is_root: bool = False


@dataclass
class CrawlStats:
    pages_ok: int = 0
    pages_failed: int = 0
    documents: int = 0
    documents_new: int = 0
    documents_unchanged: int = 0
    not_modified: int = 0
    documents_failed: int = 0
    probes: int = 0
    bytes: int = 0

    def as_row(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class CrawlRecorder:
    archive: Archive
    config: AgencyConfig
    crawl_id: int
    stats: CrawlStats = field(default_factory=CrawlStats)
    pages: list[PageResult] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    _pending: int = 0
    _listed: set[int] = field(default_factory=set)

    @property
    def db(self):
        return self.archive.db

    def _wrote(self, rows: int = 1) -> None:
        self._pending += rows
        if self._pending >= COMMIT_EVERY:
            self.commit()

    def commit(self) -> None:
        self.db.conn.commit()
        self._pending = 0

    # listing pages ------------------------------------------------------------------------------------------

    def page(
        self,
        url: str,
        *,
        final_url: str | None,
        http_status: int | None,
        page_number: int | None,
        is_root: bool,
        error: str | None = None,
        text: str | None = None,
        document_links: int = 0,
        outage_notice: str | None = None,
        blocked: str | None = None,
        sha256: str | None = None,
    ) -> None:
        ok = error is None and http_status == 200 and not blocked
        self.pages.append(PageResult(url, ok, document_links, outage_notice, blocked, error, is_root))
        if ok:
            self.stats.pages_ok += 1
        else:
            self.stats.pages_failed += 1
        self.db.execute(
            "insert or replace into listing_pages (crawl_id, url, final_url, http_status, error, fetched_at, "
            "page_number, document_links, outage_notice, blocked, text, sha256) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [self.crawl_id, url, final_url, http_status, error or blocked, utcnow(), page_number, document_links,
             1 if outage_notice else 0, 1 if blocked else 0, text, sha256],
        )
        self._wrote()

    # documents ----------------------------------------------------------------------------------------------

    def link(self, url: str, title: str, section: str, link_text: str, listing_page: str) -> tuple[int, bool]:
        """Record that a listing page links a document; returns (document id, first time listed in this crawl)."""
        document_id = self.archive.document_id(self.config.id, url, title, section, self.crawl_id)
        self.db.execute(
            "insert or ignore into links (crawl_id, document_id, listing_page, section, link_text) "
            "values (?, ?, ?, ?, ?)",
            [self.crawl_id, document_id, listing_page, section, link_text],
        )
        self._wrote()
        first = document_id not in self._listed
        self._listed.add(document_id)
        return document_id, first

    def sighting(
        self,
        document_id: int,
        *,
        listed: bool,
        outcome: str,
        listing_page: str | None = None,
        section: str | None = None,
        link_text: str | None = None,
        http_status: int | None = None,
        final_url: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        content_type: str | None = None,
        sha256: str | None = None,
        size: int | None = None,
        new_blob: bool = False,
        error: str | None = None,
    ) -> None:
        """Record the result of fetching (or probing) one document in this crawl."""
        if listed:
            self.stats.documents += 1
        else:
            self.stats.probes += 1
        if outcome == NOT_MODIFIED:
            self.stats.not_modified += 1
        elif outcome == FETCHED:
            self.stats.bytes += size or 0
            if new_blob:
                self.stats.documents_new += 1
            else:
                self.stats.documents_unchanged += 1
        elif listed:
            self.stats.documents_failed += 1
        self.db.execute(
            "insert or replace into sightings (crawl_id, document_id, listed, listing_page, section, link_text, "
            "http_status, final_url, etag, last_modified, content_type, sha256, size, not_modified, outcome, "
            "error, fetched_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [self.crawl_id, document_id, 1 if listed else 0, listing_page, section, link_text, http_status,
             final_url, etag, last_modified, content_type, sha256, size, 1 if outcome == NOT_MODIFIED else 0,
             outcome, error, utcnow()],
        )
        if sha256 and outcome in (FETCHED, NOT_MODIFIED):
            self.db.execute("update documents set sha256 = ?, mimetype = coalesce(?, mimetype) where id = ?",
                            [sha256, content_type, document_id])
        self._wrote()

    def record_blob(self, stored: StoredBlob, mimetype: str) -> bool:
        return self.archive.record_blob(stored, mimetype, source="crawl")

    def documents_to_probe(self) -> list[tuple[int, str]]:
        """Known documents listed in an earlier crawl but not in this one, and not yet settled as removed or moved.

        Probing them lets diff tell "removed" (404/410, soft 404) from "no longer linked but still served". Which
        documents are settled is diff's call (its ``diff_documents`` state); before any diff ran, all are probed.
        """
        settled = ""
        if "diff_documents" in self.db.table_names():
            settled = ("and d.id not in (select document_id from diff_documents "
                       "where agency_id = d.agency_id and state in ('removed', 'moved'))")
        rows = self.db.execute(
            f"select d.id, d.url from documents d where d.agency_id = ? and d.last_listed_crawl < ? {settled} "
            "order by d.id",
            [self.config.id, self.crawl_id],
        ).fetchall()
        return [(int(doc_id), url) for doc_id, url in rows]

    # status -------------------------------------------------------------------------------------------------

    def decide_status(self) -> tuple[str, str]:
        """complete / incomplete / outage, per docs/DESIGN.md: an outage is one event, never a thousand removals."""
        pages = self.pages
        if not pages:
            return OUTAGE, "no listing page could be fetched"
        roots = [p for p in pages if p.is_root]
        for root in roots:
            if root.outage_notice:
                return OUTAGE, f"library root shows the notice {root.outage_notice!r}"
        blocked = [p for p in pages if p.blocked]
        if blocked and (len(blocked) * 2 > len(pages) or any(p.is_root for p in blocked)):
            return OUTAGE, f"blocked: {blocked[0].blocked} on {len(blocked)} of {len(pages)} listing pages"
        failed_roots = [p for p in roots if not p.ok]
        if failed_roots and len(failed_roots) == len(roots):
            return OUTAGE, f"library root unreachable ({failed_roots[0].error})"
        failed = [p for p in pages if not p.ok]
        if failed and len(failed) / len(pages) > self.config.outage.failed_page_share:
            return OUTAGE, f"{len(failed)} of {len(pages)} listing pages failed"
        noticed = [p for p in pages if p.outage_notice]
        if noticed:
            return OUTAGE, f"{noticed[0].url} shows the notice {noticed[0].outage_notice!r}"
        emptied = self._emptied_pages()
        if emptied:
            return OUTAGE, f"{emptied[0]} used to list documents and now lists none"
        if failed:
            return INCOMPLETE, f"{len(failed)} of {len(pages)} listing pages failed: {failed[0].url} ({failed[0].error})"
        return COMPLETE, f"{len(pages)} listing pages fetched and parsed"

    def _emptied_pages(self) -> list[str]:
        empty = [p.url for p in self.pages if p.ok and p.document_links == 0]
        if not empty:
            return []
        previous = self.archive.last_crawl(self.config.id, status=COMPLETE)
        if not previous:
            return []
        placeholders = ",".join("?" * len(empty))
        rows = self.db.execute(
            f"select url from listing_pages where crawl_id = ? and url in ({placeholders}) and document_links >= ?",
            [previous["id"], *empty, EMPTIED_PAGE_THRESHOLD],
        ).fetchall()
        return [url for (url,) in rows]

    def finish(self, warc_path: str | None) -> tuple[str, str]:
        self.commit()
        status, reason = self.decide_status()
        row: dict[str, Any] = {**self.stats.as_row(), "duration_s": round(time.monotonic() - self.started, 3),
                               "warc_path": warc_path}
        self.archive.finish_crawl(self.crawl_id, status, reason, row)
        return status, reason
