"""Copy the Wayback Machine's index of an agency's documents into the archive: one paged CDX prefix listing.

A per-URL lookup would cost one request per document against a service allowing about 30 a minute; the prefix
listing costs one request per thousand captures. Every row of a document URL is kept (not collapsed by digest,
which would fold different URLs with identical bodies), and re-running adds only rows not seen before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..archive.captures import is_document_capture
from ..archive.store import Archive, utcnow
from ..archive.vocabulary import counted
from ..config import AgencyConfig
from ..web.urls import canonical_url, is_document_url
from .client import WaybackClient

_BATCH = 1000


@dataclass
class SyncStats:
    """What one listing brought in; ``skipped`` says why nothing was asked (no prefix configured)."""

    cdx_requests: int = 0  # HTTP requests to the CDX endpoint, retries included
    rows: int = 0  # distinct captures listed under the prefix
    captures: int = 0  # of which, captures of document URLs
    new: int = 0  # of which, not in the archive before
    urls: int = 0  # distinct document URLs the archive holds captures of
    malformed: int = 0  # rows skipped: unreadable, or naming no real URL
    bad_timestamps: int = 0  # rows skipped: their timestamp is no time at all
    not_ok: int = 0  # captures of document URLs whose archived answer was not 2xx: kept as history, never evidence
    skipped: str | None = None

    def skipped_rows(self) -> str:
        """What the listing left out and why, for a person."""
        return (f"{counted(self.malformed, 'malformed CDX row')} and {self.bad_timestamps:,} with a bad timestamp "
                f"skipped; {counted(self.not_ok, 'capture')} of a non-2xx answer kept as history only")


def sync_captures(archive: Archive, config: AgencyConfig, client: WaybackClient,
                  progress: Callable[[int], None] | None = None) -> SyncStats:
    """List every capture under the agency's Wayback prefixes and store those of document URLs; idempotent.

    ``progress(rows)`` is called after each batch. Raises the client's errors (``WaybackUnavailable``,
    ``RateLimited``, ``BlockedSite``): a listing cut short stores what it got, and the next run completes it.
    """
    prefixes = config.wayback.all_prefixes
    if not prefixes:
        return SyncStats(skipped=f"{config.source or config.id} sets no [wayback] prefix; nothing to list")
    stats = SyncStats()
    requests_before = client.requests["cdx"]
    try:
        for prefix in prefixes:
            _sync_prefix(archive, config, client, prefix, stats, progress)
    finally:
        stats.cdx_requests = client.requests["cdx"] - requests_before
    stats.urls = archive.db.execute(
        "select count(distinct url) from captures where agency_id = ?", [config.id]
    ).fetchone()[0]
    return stats


def _sync_prefix(archive: Archive, config: AgencyConfig, client: WaybackClient, prefix: str, stats: SyncStats,
                 progress: Callable[[int], None] | None) -> None:
    batch: list[tuple] = []
    listing = client.search_prefix(prefix, collapse=None)
    try:
        for capture in listing:
            stats.rows += 1
            url = canonical_url(capture.original)
            if url is None:
                stats.malformed += 1
                continue
            if not is_document_url(url, config.documents):
                continue
            stats.captures += 1
            stats.not_ok += not is_document_capture(capture.status, capture.is_revisit)
            batch.append((config.id, capture.urlkey, capture.timestamp, capture.original, url, capture.mimetype,
                          capture.status, capture.digest, capture.length, capture.raw_url, utcnow()))
            if len(batch) >= _BATCH:
                stats.new += _insert(archive, batch)
                batch = []
                if progress:
                    progress(stats.rows)
    finally:
        stats.new += _insert(archive, batch)
        stats.malformed += listing.stats.malformed
        stats.bad_timestamps += listing.stats.bad_timestamps


def _insert(archive: Archive, batch: list[tuple]) -> int:
    if not batch:
        return 0
    with archive.db.conn:
        cursor = archive.db.conn.executemany(
            "insert or ignore into captures (agency_id, urlkey, timestamp, original, url, mimetype, status, digest,"
            " length, raw_url, seen_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch,
        )
    return cursor.rowcount
