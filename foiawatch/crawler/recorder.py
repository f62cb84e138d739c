"""Writes what one crawl saw into the archive and decides the crawl's status.

The recorder states facts (this page answered 500, this document answered 404, these bytes hash to X); it never
concludes that anything was removed. That is diff/'s job, and diff/ trusts only crawls this module calls complete.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from ..archive.blobs import StoredBlob
from ..archive.store import Archive, utcnow
from ..archive.verdict import CrawlVerdict, PageFacts, judge_crawl
from ..archive.vocabulary import CrawlStatus, FetchOutcome
from ..archive.warc import PayloadRecord
from ..config import AgencyConfig
from ..web.answers import NotFoundSignature

COMMIT_EVERY = 200  # rows; a crash loses at most this batch, and the crawl then stays not-complete anyway


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
    pages: list[PageFacts] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    _pending: int = 0
    _listed: set[int] = field(default_factory=set)

    @property
    def db(self) -> sqlite_utils.Database:
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
        facts = PageFacts(url, http_status, is_root=is_root, error=error, blocked=blocked,
                          outage_notice=outage_notice, document_links=document_links)
        self.pages.append(facts)
        if facts.ok or facts.outage_notice:
            self.stats.pages_ok += 1
        else:
            self.stats.pages_failed += 1
        self.db.execute(
            "insert or replace into listing_pages (crawl_id, url, final_url, http_status, error, fetched_at, "
            "page_number, document_links, outage_notice, blocked, text, sha256, is_root, notice) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [self.crawl_id, url, final_url, http_status, error or blocked, utcnow(), page_number, document_links,
             1 if outage_notice else 0, 1 if blocked else 0, text, sha256, int(is_root), outage_notice],
        )
        self._wrote()

    # documents ----------------------------------------------------------------------------------------------

    def link(self, url: str, title: str, section: str, link_text: str, listing_page: str) -> tuple[int, bool]:
        """Record that a listing page links a document; returns (document id, first time listed in this crawl)."""
        document_id = self.document(url, title, section)
        return document_id, self.linked(document_id, listing_page, section, link_text)

    def document(self, url: str, title: str, section: str) -> int:
        """The id of the document at ``url``, named by this crawl's listing (created if new)."""
        return self.archive.document_id(self.config.id, url, title, section, self.crawl_id)

    def part_of(self, document_id: int, record_id: int) -> None:
        """Record that a document is a part of a record (listed on the record's own page)."""
        self.db.execute("update documents set record_id = ? where id = ? and record_id is not ?",
                        [record_id, document_id, record_id])
        self._wrote()

    def keep_parts_listed(self, record_id: int, record_page: str) -> None:
        """The parts known of a record whose page could not be read this crawl stay listed on it: not reading a
        page is no evidence that anything on it went away."""
        self.db.execute(
            "insert or ignore into links (crawl_id, document_id, listing_page, section, link_text) "
            "select ?, id, ?, coalesce(section, ''), coalesce(title, '') from documents where record_id = ?",
            [self.crawl_id, record_page, record_id],
        )
        self.db.execute("update documents set last_listed_crawl = ? where record_id = ?", [self.crawl_id, record_id])
        self._listed.update(row[0] for row in self.db.execute("select id from documents where record_id = ?",
                                                              [record_id]))
        self._wrote()

    def linked(self, document_id: int, listing_page: str, section: str, link_text: str) -> bool:
        """Record that a listing (a page, or a library_file) names a document in this crawl; returns whether it is
        the first time this crawl."""
        self.db.execute(
            "insert or ignore into links (crawl_id, document_id, listing_page, section, link_text) "
            "values (?, ?, ?, ?, ?)",
            [self.crawl_id, document_id, listing_page, section, link_text],
        )
        self._wrote()
        first = document_id not in self._listed
        self._listed.add(document_id)
        return first

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
        payload: PayloadRecord | None = None,
    ) -> None:
        """Record the result of fetching (or probing) one document in this crawl."""
        if listed:
            self.stats.documents += 1
        else:
            self.stats.probes += 1
        if outcome == FetchOutcome.NOT_MODIFIED:
            self.stats.not_modified += 1
        elif outcome == FetchOutcome.FETCHED:
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
            "error, fetched_at, warc_record_id, warc_date, payload_digest) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [self.crawl_id, document_id, 1 if listed else 0, listing_page, section, link_text, http_status,
             final_url, etag, last_modified, content_type, sha256, size,
             1 if outcome == FetchOutcome.NOT_MODIFIED else 0, outcome, error, utcnow(),
             *((payload.record_id, payload.date, payload.digest) if payload and sha256 else (None, None, None))],
        )
        if sha256 and outcome in (FetchOutcome.FETCHED, FetchOutcome.NOT_MODIFIED):
            self.db.execute("update documents set sha256 = ?, mimetype = coalesce(?, mimetype) where id = ?",
                            [sha256, content_type, document_id])
        self._wrote()

    def record_blob(self, stored: StoredBlob, mimetype: str) -> bool:
        return self.archive.record_blob(stored, mimetype, source="crawl")

    def not_found_signature(self, key: str, probe_url: str, signature: NotFoundSignature | None, *,
                            error: str | None = None) -> None:
        """Keep how a site answers a URL that does not exist with the crawl (or why nothing could be learned)."""
        self.archive.record_not_found_signature(self.config.id, self.crawl_id, key, probe_url,
                                                signature.as_evidence() if signature else None, error)
        self._wrote()

    def documents_to_probe(self) -> list[tuple[int, str]]:
        """Known documents listed in an earlier crawl but not in this one, and not yet settled as removed or moved."""
        return self.archive.delisted_documents(self.config.id, self.crawl_id)

    # status -------------------------------------------------------------------------------------------------

    def verdict(self) -> CrawlVerdict:
        """complete / incomplete / outage (archive/verdict.py): an outage is one event, never a thousand removals."""
        previous = self.archive.last_crawl(self.config.id, status=CrawlStatus.COMPLETE)
        return judge_crawl(self.pages, self.archive.links_per_page(previous["id"] if previous else None),
                           self.config.outage.failed_page_share)

    def finish(self, warc_path: str | None) -> tuple[str, str]:
        self.commit()
        verdict = self.verdict()
        status, reason = verdict.status, verdict.describe()
        row: dict[str, Any] = {**self.stats.as_row(), "duration_s": round(time.monotonic() - self.started, 3),
                               "warc_path": warc_path}
        self.archive.finish_crawl(self.crawl_id, status, reason, row)
        return status, reason
