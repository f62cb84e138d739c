"""Read the library's listing pages as the Wayback Machine captured them.

A document removed before monitoring began is known to us only by a captured URL. The library's own archived
listing pages say what it was called and which section listed it, which is what a journalist needs (and what the
blogger who recovered ICE's 77 documents read by hand). This module lists the captured versions of the pages under
each library URL (one paged CDX query per library URL, collapsed by digest), reads those not read before, at most
``limit`` per run, and records every document link they hold in ``archived_links``. It records facts only:
diff/baseline.py decides what to call a document.

A busy library has thousands of captured page versions, so which to read first matters: for each captured document
no crawl of ours ever listed, the version of each listing page nearest before the document's last capture (when
it was still there, and most likely listed) comes first; then the rest, newest first.
"""

from __future__ import annotations

import shutil
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..archive.captures import NEVER_LISTED
from ..archive.store import Archive, utcnow
from ..archive.vocabulary import LISTING_CAPTURE_READ
from ..config import AgencyConfig
from ..web.parse import parse_listing
from ..web.urls import canonical_url, is_document_url
from .client import WaybackClient
from .errors import BlockedSite, CaptureRejected, NotArchived
from .models import Capture

DEFAULT_LIMIT = 50  # page versions read per run; later runs read older ones
MAX_PAGE_BYTES = 10 * 1024 * 1024  # an archived "listing page" larger than this is not one


@dataclass
class ListingStats:
    cdx_requests: int = 0
    versions: int = 0  # distinct captured versions of listing pages, read or not
    read: int = 0  # read in this run
    links: int = 0  # document links found in them
    unreadable: int = 0  # rejected captures (digest mismatch, archived error page, oversized)
    left: int = 0  # versions left for later runs by ``limit``
    blocked: list[str] = field(default_factory=list)  # library URLs whose captures the archive will not list


def read_archived_listings(archive: Archive, config: AgencyConfig, client: WaybackClient, *,
                           limit: int = DEFAULT_LIMIT,
                           progress: Callable[[int, int], None] | None = None) -> ListingStats:
    """Read up to ``limit`` archived listing-page versions not read before; idempotent.

    Raises the client's passing errors (``WaybackUnavailable``, ``RateLimited``): what was read before stays
    recorded, and the next run goes on from there. Pages the archive refuses to list are noted in ``blocked``.
    """
    stats = ListingStats()
    requests_before = client.requests["cdx"]
    try:
        versions = _unread_versions(archive, config, client, stats)
    finally:
        stats.cdx_requests = client.requests["cdx"] - requests_before
    chosen = _by_priority(archive, config, versions)[:limit]
    stats.left = len(versions) - len(chosen)
    workdir = archive.work_dir("wayback-listings")
    try:
        for done, capture in enumerate(chosen, 1):
            _read_one(archive, config, client, capture, workdir, stats)
            if progress:
                progress(done, len(chosen))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return stats


def _unread_versions(archive: Archive, config: AgencyConfig, client: WaybackClient,
                     stats: ListingStats) -> list[Capture]:
    read = {(url, timestamp) for url, timestamp in archive.db.execute(
        "select url, timestamp from listing_captures where agency_id = ?", [config.id])}
    versions: dict[tuple[str, str], Capture] = {}
    for library_url in config.library_urls:
        prefix = library_url.split("://", 1)[-1].split("?", 1)[0].split("#", 1)[0]
        try:
            for capture in client.search_prefix(prefix, statuses=[200], mimetypes=["text/html"]):
                url = canonical_url(capture.original)
                if url is None or is_document_url(url, config.documents) or not config.host_allowed(url):
                    continue
                versions.setdefault((url, capture.timestamp), capture)
        except BlockedSite as blocked:  # the archive excludes these pages: lasting, so not worth failing over
            stats.blocked.append(str(blocked))
    stats.versions = len(versions)
    return [capture for key, capture in versions.items() if key not in read]


def _by_priority(archive: Archive, config: AgencyConfig, versions: list[Capture]) -> list[Capture]:
    """Versions likely to name a document never listed in our crawls first (see the module's docstring), then the
    rest, newest first."""
    oldest_first = sorted(versions, key=lambda capture: capture.timestamp)
    by_page: dict[str, list[Capture]] = {}
    for capture in oldest_first:
        by_page.setdefault(canonical_url(capture.original) or capture.original, []).append(capture)
    moments = sorted({row[0] for row in archive.db.execute(
        f"select last_capture from ({NEVER_LISTED})", {"agency": config.id})}, reverse=True)
    first: dict[int, Capture] = {}
    for moment in moments:
        for page_versions in by_page.values():
            at = bisect_right(page_versions, moment, key=lambda capture: capture.timestamp)
            if at:
                first.setdefault(id(page_versions[at - 1]), page_versions[at - 1])
    return [*first.values(), *(c for c in reversed(oldest_first) if id(c) not in first)]


def _read_one(archive: Archive, config: AgencyConfig, client: WaybackClient, capture: Capture, workdir: Path,
              stats: ListingStats) -> None:
    url = canonical_url(capture.original) or capture.original
    status, links = LISTING_CAPTURE_READ, []
    try:
        result = client.download(capture, workdir / "page.html")
    except (CaptureRejected, NotArchived) as error:
        status = getattr(error, "reason", None) or str(error)
    else:
        try:
            if result.size > MAX_PAGE_BYTES:
                status = f"larger than {MAX_PAGE_BYTES // (1024 * 1024)} MB"
            else:
                links = parse_listing(result.path.read_bytes(), url, config).documents
        finally:
            result.path.unlink(missing_ok=True)
    db = archive.db
    with db.conn:
        cursor = db.conn.execute(
            "insert or ignore into listing_captures (agency_id, url, timestamp, digest, raw_url, status, links,"
            " read_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [config.id, url, capture.timestamp, capture.digest or "", capture.raw_url, status, len(links), utcnow()],
        )
        if cursor.rowcount:
            db.conn.executemany(
                "insert into archived_links (listing_capture_id, agency_id, url, title, section, link_text)"
                " values (?, ?, ?, ?, ?, ?)",
                [(cursor.lastrowid, config.id, link.url, link.title, link.section, link.link_text) for link in links],
            )
    stats.read += 1
    stats.links += len(links)
    stats.unreadable += status != LISTING_CAPTURE_READ
