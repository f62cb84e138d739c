"""Writes what one crawl saw into the archive and decides the crawl's status.

The recorder states facts (this page answered 500, this document answered 404, these bytes hash to X); it never
concludes that anything was removed. That is diff/'s job, and diff/ trusts only crawls this module calls complete.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from ..archive.blobs import StoredBlob
from ..archive.store import Archive, utcnow
from ..archive.verdict import CrawlVerdict, PageFacts, judge_crawl
from ..archive.vocabulary import CrawlKind, CrawlStatus, DocumentState, FetchOutcome, counted
from ..archive.warc import PayloadRecord
from ..config import AgencyConfig
from ..web.answers import NotFoundSignature

# The status of a watch pass that found nothing new: it is not kept as a crawl (see CrawlRecorder).
UNCHANGED = "unchanged"
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
    """What one crawl saw. A watch pass keeps its pages and links in memory until it ends: one that found the
    listing as the last complete crawl left it (and fetched and probed nothing) is not kept as a crawl at all, only
    as a ``watch_checks`` row, so a pass every few minutes does not copy the whole listing into the archive."""

    archive: Archive
    config: AgencyConfig
    crawl_id: int
    kind: str = CrawlKind.FULL
    stats: CrawlStats = field(default_factory=CrawlStats)
    pages: list[PageFacts] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    started_at: str = field(default_factory=utcnow)
    _pending: int = 0
    _listed: set[int] = field(default_factory=set)
    # Watch passes: the agency's documents by URL, those ever asked for, and what waits for the pass's end.
    _ids: dict[str, int] = field(default_factory=dict)
    _attempted: set[int] = field(default_factory=set)
    _page_rows: list[list[Any]] = field(default_factory=list)
    _link_rows: dict[tuple[int, str, str], list[Any]] = field(default_factory=dict)
    _named: dict[int, tuple[str, str]] = field(default_factory=dict)  # document -> (title, section) listed now
    _sighted: bool = False

    def __post_init__(self) -> None:
        if self.watching:
            self._ids = dict(self.db.execute("select url, id from documents where agency_id = ?", [self.config.id]))
            self._attempted = {row[0] for row in self.db.execute(
                "select distinct s.document_id from sightings s join documents d on d.id = s.document_id "
                "where d.agency_id = ?", [self.config.id])}

    @property
    def watching(self) -> bool:
        return self.kind == CrawlKind.WATCH

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
        etag: str | None = None,
        last_modified: str | None = None,
        further_pages: list[str] | None = None,
    ) -> None:
        facts = PageFacts(url, http_status, is_root=is_root, error=error, blocked=blocked,
                          outage_notice=outage_notice, document_links=document_links)
        self.pages.append(facts)
        if facts.ok or facts.outage_notice:
            self.stats.pages_ok += 1
        else:
            self.stats.pages_failed += 1
        row = [self.crawl_id, url, final_url, http_status, error or blocked, utcnow(), page_number, document_links,
               1 if outage_notice else 0, 1 if blocked else 0, text, sha256, int(is_root), outage_notice, etag,
               last_modified, json.dumps(further_pages) if further_pages is not None else None]
        if self.watching:
            self._page_rows.append(row)
        else:
            self._write_pages([row])

    def _write_pages(self, rows: list[list[Any]]) -> None:
        self.db.conn.executemany(
            "insert or replace into listing_pages (crawl_id, url, final_url, http_status, error, fetched_at, "
            "page_number, document_links, outage_notice, blocked, text, sha256, is_root, notice, etag, "
            "last_modified, further_pages) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        self._wrote(len(rows))

    # documents ----------------------------------------------------------------------------------------------

    def link(self, url: str, title: str, section: str, link_text: str, listing_page: str) -> tuple[int, bool]:
        """Record that a listing page links a document; returns (document id, first time listed in this crawl)."""
        document_id = self.document(url, title, section)
        return document_id, self.linked(document_id, listing_page, section, link_text)

    def document(self, url: str, title: str, section: str) -> int:
        """The id of the document at ``url``, named by this crawl's listing (created if new)."""
        known = self._ids.get(url) if self.watching else None
        if known is not None:
            self._named.setdefault(known, (title, section))
            return known
        document_id = self.archive.document_id(self.config.id, url, title, section, self.crawl_id)
        self._ids[url] = document_id
        return document_id

    def needs_fetch(self, document_id: int) -> bool:
        """Whether a listed document is fetched by this crawl: always by a full crawl; by a watch pass only the
        first time it is seen (re-checking the others is the revalidation passes' job)."""
        return not self.watching or document_id not in self._attempted

    def part_of(self, document_id: int, record_id: int) -> None:
        """Record that a document is a part of a record (listed on the record's own page)."""
        self.db.execute("update documents set record_id = ? where id = ? and record_id is not ?",
                        [record_id, document_id, record_id])
        self._wrote()

    def keep_parts_listed(self, record_id: int, record_page: str) -> None:
        """The parts of a record whose page was not read this crawl (it failed, or a watch pass left it alone) stay
        listed on it as the last complete crawl listed them: not reading a page is no evidence that anything on it
        went away."""
        previous = self.archive.last_crawl(self.config.id, status=CrawlStatus.COMPLETE)
        links = [(i, title, section, text) for i, _, title, section, text in
                 self.archive.page_links(previous["id"], record_page)] if previous else []
        if not links:
            links = [tuple(row) for row in self.db.execute(
                "select id, coalesce(title, ''), coalesce(section, ''), coalesce(title, '') from documents "
                "where record_id = ?", [record_id])]
        for document_id, title, section, text in links:
            self.linked(document_id, record_page, section, text)
            self._named.setdefault(document_id, (title, section))
        if not self.watching:
            self.db.execute("update documents set last_listed_crawl = ? where record_id = ?",
                            [self.crawl_id, record_id])

    def linked(self, document_id: int, listing_page: str, section: str, link_text: str) -> bool:
        """Record that a listing (a page, or a library_file) names a document in this crawl; returns whether it is
        the first time this crawl."""
        row = [self.crawl_id, document_id, listing_page, section, link_text]
        if self.watching:
            self._link_rows.setdefault((document_id, listing_page, section), row)
        else:
            self.db.execute(
                "insert or ignore into links (crawl_id, document_id, listing_page, section, link_text) "
                "values (?, ?, ?, ?, ?)", row)
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
        self._sighted = True
        self._attempted.add(document_id)
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
        """Known documents listed in an earlier crawl but not in this one, and not yet settled as removed or moved.
        A watch pass leaves those already found delisted but still served to the revalidation passes."""
        delisted = [(i, url) for i, url in self.archive.delisted_documents(self.config.id, self.crawl_id)
                    if i not in self._listed]
        if not self.watching or not delisted:
            return delisted
        settled = {row[0] for row in self.db.execute(
            "select document_id from diff_documents where agency_id = ? and state = ?",
            [self.config.id, DocumentState.UNLISTED])}
        return [(i, url) for i, url in delisted if i not in settled]

    # status -------------------------------------------------------------------------------------------------

    def verdict(self) -> CrawlVerdict:
        """complete / incomplete / outage (archive/verdict.py): an outage is one event, never a thousand removals.
        A revalidation pass reads no listing page: it is complete unless most of its requests failed."""
        if self.kind == CrawlKind.REVALIDATE:
            asked = self.stats.probes
            failed = self._failed_revalidations()
            if asked and failed / asked > self.config.outage.failed_page_share:
                return CrawlVerdict(CrawlStatus.INCOMPLETE,
                                    f"{failed:,} of {counted(asked, 'document')} could not be re-checked")
            return CrawlVerdict(CrawlStatus.COMPLETE, f"{counted(asked, 'document')} re-checked")
        previous = self.archive.last_crawl(self.config.id, status=CrawlStatus.COMPLETE)
        return judge_crawl(self.pages, self.archive.links_per_page(previous["id"] if previous else None),
                           self.config.outage.failed_page_share)

    def _failed_revalidations(self) -> int:
        return self.db.execute(
            "select count(*) from sightings where crawl_id = ? and outcome not in (?, ?)",
            [self.crawl_id, FetchOutcome.FETCHED, FetchOutcome.NOT_MODIFIED]).fetchone()[0]

    def quiet(self) -> bool:
        """A watch pass that found the listing exactly as the last crawl left it, that crawl complete (the first
        complete pass after an outage is what ends it), and fetched and probed nothing: there is nothing in it the
        archive does not already hold."""
        if not self.watching or self._sighted or self.verdict().status != CrawlStatus.COMPLETE:
            return False
        previous = self.db.execute(
            "select id, status from crawls where agency_id = ? and kind != ? and id < ? order by id desc limit 1",
            [self.config.id, CrawlKind.REVALIDATE, self.crawl_id]).fetchone()
        if previous is None or previous[1] != CrawlStatus.COMPLETE:
            return False
        links = {(row[1], row[2], row[3], row[4]) for row in self._link_rows.values()}
        before = set(self.db.execute("select document_id, listing_page, section, link_text from links "
                                     "where crawl_id = ?", [previous[0]]).fetchall())
        pages = {(row[1], row[11]) for row in self._page_rows}
        pages_before = set(self.db.execute("select url, sha256 from listing_pages where crawl_id = ?",
                                           [previous[0]]).fetchall())
        return links == before and pages == pages_before

    def _flush(self) -> None:
        """A watch pass worth keeping: write what it held back (its pages, its links, the names it listed)."""
        self._write_pages(self._page_rows)
        self.db.conn.executemany(
            "insert or ignore into links (crawl_id, document_id, listing_page, section, link_text) "
            "values (?, ?, ?, ?, ?)", list(self._link_rows.values()))
        self.db.conn.executemany(
            "update documents set title = ?, section = ?, last_listed_crawl = ? where id = ?",
            [(title, section, self.crawl_id, document_id) for document_id, (title, section) in self._named.items()])
        self._wrote(len(self._link_rows) + len(self._named))

    def finish(self, warc_path: str | None, requests: int = 0) -> tuple[str, str]:
        """Finish the crawl; a quiet watch pass is dropped and kept as a ``watch_checks`` row (status
        ``unchanged``, no crawl left in the archive)."""
        if self.quiet():
            self.commit()
            self.archive.discard_crawl(self.crawl_id)
            not_modified = sum(1 for row in self._page_rows if row[3] == 304)
            self.archive.record_watch_check(self.config.id, self.started_at, len(self._page_rows), not_modified,
                                            requests)
            return UNCHANGED, f"the listing is as the last complete crawl left it ({len(self._page_rows)} pages, " \
                              f"{not_modified} not modified)"
        if self.watching:
            self._flush()
        self.commit()
        verdict = self.verdict()
        status, reason = verdict.status, verdict.describe()
        row: dict[str, Any] = {**self.stats.as_row(), "duration_s": round(time.monotonic() - self.started, 3),
                               "warc_path": warc_path}
        self.archive.finish_crawl(self.crawl_id, status, reason, row)
        return status, reason
