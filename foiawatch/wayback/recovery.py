"""Recover removed documents from the Wayback Machine: the raw bytes of a verified capture, stored as evidence.

For every document a removal event names and the archive holds no copy of, the newest capture that answered 200
with the document's type is downloaded raw (``id_``) and checked against its CDX digest; a capture that fails
(a corrupt body, an archived error page, an HTML page where the document was, bytes the service took from another
capture) is recorded as rejected with the reason and the next older one is tried. The bytes become a blob like a
crawled document, with the capture's provenance in ``recoveries``, then have their text extracted and screened for
personal data before anything can be published. Re-running fetches nothing already recovered or rejected.
"""

from __future__ import annotations

import mimetypes
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..archive.captures import LATEST_PROBES, NEVER_LISTED
from ..archive.pii import screen_pending
from ..archive.removals import document_captures, removed_event_documents
from ..archive.store import Archive, utcnow
from ..archive.text import extract_pending
from ..archive.vocabulary import ProbeOutcome, RecoveryStatus
from ..archive.warc import CrawlWarc
from ..config import AgencyConfig
from ..web.sniff import is_html, sniff_mimetype
from .client import WaybackClient
from .errors import BlockedSite, CaptureRejected, NotArchived, RateLimited, WaybackError, WaybackUnavailable
from .models import Capture, DownloadResult, parse_timestamp

# Types the index gives a capture whose server did not say what it was; the bytes are sniffed after download.
UNTYPED = frozenset({"application/octet-stream", "binary/octet-stream", "unk"})
_SNIFF_BYTES = 4096
NAMING_RECOVERIES_PER_RUN = 100  # copies fetched by a baseline run to name documents no archived listing names


@dataclass
class RecoveryStats:
    """What one recovery run did."""

    documents: int = 0  # removed documents named by the events considered
    already_stored: int = 0  # held a crawled or recovered copy already
    recovered: int = 0
    new_blobs: int = 0  # recovered bytes not in the archive before
    rejected: list[tuple[str, str, str]] = field(default_factory=list)  # (url, capture timestamp, reason)
    unrecoverable: list[str] = field(default_factory=list)  # URLs without a usable capture (none, or all rejected)
    errors: list[str] = field(default_factory=list)  # downloads that failed for now; the next run retries them


def recover(archive: Archive, config: AgencyConfig, client: WaybackClient, event_id: int | None = None,
            progress: Callable[[int, int], None] | None = None) -> RecoveryStats:
    """Store a verified Wayback copy of every removed document (of ``event_id`` only, if given) lacking one.

    Raises ``LookupError`` when ``event_id`` names no removed document of the agency, and lets
    ``WaybackUnavailable``/``RateLimited`` through: what was recovered before stays recorded.
    """
    targets = _targets(removed_event_documents(archive, config.id, event_id))
    if event_id is not None and not targets:
        raise LookupError(f"event {event_id} is not a removal event of {config.id} naming a document")
    held: dict[str, list[dict[str, Any]]] = {}
    for row in document_captures(archive, config.id, event_id):
        held.setdefault(row["url"], []).append(row)
    return recover_targets(archive, config, client, targets, held, progress)


def recover_never_listed_gone(archive: Archive, config: AgencyConfig, client: WaybackClient,
                              limit: int = NAMING_RECOVERIES_PER_RUN) -> RecoveryStats:
    """Store a verified copy of each captured URL no crawl ever listed whose last probe found it gone, and that no
    archived listing page named: the document itself is then the only witness of what it was called. At most
    ``limit`` a run: past it, a library emptied before monitoring is still reported at once, its documents named by
    their file names, and recovery fetches the rest later."""
    rows = list(archive.db.query(
        f"""
        select n.url, null as document_id from ({NEVER_LISTED}) n join ({LATEST_PROBES}) p on p.url = n.url
        where p.outcome in ('{ProbeOutcome.GONE}', '{ProbeOutcome.SOFT_404}')
          and n.url not in (select url from archived_links where agency_id = :agency)
        order by n.url
        """, {"agency": config.id}))
    held: dict[str, list[dict[str, Any]]] = {}
    for row in archive.db.query(
            "select url, urlkey, timestamp, original, mimetype, status, digest, length, raw_url from captures "
            "where agency_id = ? order by url, timestamp desc", [config.id]):
        held.setdefault(row["url"], []).append(row)
    rows = [row for row in rows if not _has_copy(archive, config.id, row)][:limit]
    return recover_targets(archive, config, client, rows, held)


def recover_targets(archive: Archive, config: AgencyConfig, client: WaybackClient, targets: list[dict[str, Any]],
                    held: dict[str, list[dict[str, Any]]],
                    progress: Callable[[int, int], None] | None = None) -> RecoveryStats:
    """Recover each target (``url``, ``document_id``) lacking a copy from its captures in ``held`` (newest
    first), then extract and screen what was stored."""
    tried = {(url, timestamp, digest) for url, timestamp, digest in archive.db.execute(
        "select url, capture_timestamp, capture_digest from recoveries where agency_id = ?", [config.id])}
    stats = RecoveryStats(documents=len(targets))
    missing = [t for t in targets if not _has_copy(archive, config.id, t)]
    stats.already_stored = len(targets) - len(missing)
    if progress:
        progress(0, len(missing))
    workdir = archive.work_dir("wayback")
    warc = _RecoveryWarc(archive, config.id)
    try:
        for done, target in enumerate(missing, 1):
            candidates = [c for c in held.get(target["url"], ())
                          if c["status"] == 200 and _type_fits(c) and
                          (target["url"], c["timestamp"], c["digest"]) not in tried]
            failures = len(stats.errors)
            if not _recover_one(archive, config, client, target, candidates, workdir, warc, stats) \
                    and len(stats.errors) == failures:
                stats.unrecoverable.append(target["url"])
            if progress:
                progress(done, len(missing))
    finally:
        warc.close()
        shutil.rmtree(workdir, ignore_errors=True)
    # Always, not only after new bytes: a recovery killed between storing a copy and screening it leaves it unscreened
    # (so withheld), and this run finishes the job.
    extract_pending(archive)
    screen_pending(archive)
    return stats


def _targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One target per URL (a document can be named by a ``removed`` and a ``section_removed`` event)."""
    targets: dict[str, dict[str, Any]] = {}
    for row in rows:
        targets.setdefault(row["url"], row)
    return list(targets.values())


def _has_copy(archive: Archive, agency_id: str, target: dict[str, Any]) -> bool:
    """A crawl fetched the document's bytes, or an earlier recovery stored them."""
    return archive.db.execute(
        """
        select exists(select 1 from sightings s join blobs b on b.sha256 = s.sha256 where s.document_id = :document)
            or exists(select 1 from recoveries where agency_id = :agency and url = :url and status = :ok)
        """,
        {"document": target["document_id"], "agency": agency_id, "url": target["url"], "ok": RecoveryStatus.RECOVERED},
    ).fetchone()[0]


def _type_fits(capture: dict[str, Any]) -> bool:
    """The capture's type is the one its file name implies, or one that says nothing (the bytes are sniffed)."""
    mimetype = (capture["mimetype"] or "").lower()
    expected, _ = mimetypes.guess_type(capture["original"].split("?", 1)[0])
    if mimetype.startswith("text/html"):
        return False
    return expected is None or mimetype == expected or mimetype in UNTYPED


class _RecoveryWarc:
    """The WARC of one recovery run, opened at its first copy: replay tools show recovered documents too."""

    def __init__(self, archive: Archive, agency_id: str):
        self.archive, self.agency_id = archive, agency_id
        self._warc: CrawlWarc | None = None

    def write(self, capture: Capture, mimetype: str, sha256: str) -> str:
        """Write the stored copy of ``capture``; returns the WARC's path as the archive records it."""
        if self._warc is None:
            run = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}"
            path = self.archive.data_dir.recovery_warc(self.agency_id, run)
            self._warc = CrawlWarc(path, {"agency": self.agency_id, "recovered-from": capture.base_url})
        self._warc.write_resource(
            capture.original, capture.captured_at.strftime("%Y-%m-%dT%H:%M:%SZ"), mimetype,
            self.archive.blobs.path(sha256),
            [("WARC-Source-URI", capture.raw_url), ("WARC-Foiawatch-Capture-Timestamp", capture.timestamp),
             ("WARC-Foiawatch-Capture-Digest", f"sha1:{capture.digest}"),
             ("WARC-Foiawatch-Retrieved", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))])
        return self.archive.data_dir.relative(self._warc.path)

    def close(self) -> None:
        if self._warc is not None:
            self._warc.close()


def _recover_one(archive: Archive, config: AgencyConfig, client: WaybackClient, target: dict[str, Any],
                 candidates: list[dict[str, Any]], workdir: Path, warc: _RecoveryWarc, stats: RecoveryStats) -> bool:
    """Try the candidates newest first until one is stored; False if none could be."""
    for row in candidates:
        capture = Capture(row["urlkey"], row["timestamp"], parse_timestamp(row["timestamp"]), row["original"],
                          row["mimetype"], row["status"], row["digest"], row["length"], client.base_url)
        try:
            result = client.download(capture, workdir / row["digest"])
            head = _verified_head(capture, result)
        except (WaybackUnavailable, RateLimited):
            raise
        except (CaptureRejected, NotArchived, BlockedSite) as error:
            reason = getattr(error, "reason", str(error))
            _record(archive, config.id, target, capture, RecoveryStatus.REJECTED, reason=reason)
            stats.rejected.append((target["url"], capture.timestamp, reason))
            if isinstance(error, BlockedSite):
                return False  # every capture of the URL is blocked alike
            continue
        except WaybackError as error:
            stats.errors.append(f"{capture.raw_url}: {error}")
            continue
        mimetype = sniff_mimetype(head, capture.mimetype, capture.original)
        stats.new_blobs += archive.store_blob(result.path, result.sha256, mimetype, source="wayback")
        warc_path = warc.write(capture, mimetype, result.sha256)
        _record(archive, config.id, target, capture, RecoveryStatus.RECOVERED, sha256=result.sha256, size=result.size,
                mimetype=mimetype, warc_path=warc_path)
        stats.recovered += 1
        return True
    return False


def _verified_head(capture: Capture, result: DownloadResult) -> bytes:
    """The first bytes of a download the CDX row vouches for; raises ``CaptureRejected`` for any other."""
    if not result.verified:
        raise CaptureRejected(capture, f"the service answered with the capture at {result.final_timestamp}, "
                                       "whose bytes the CDX digest does not describe")
    with open(result.path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if is_html(head):
        raise CaptureRejected(capture, "the capture is an HTML page, not the document")
    return head


def _record(archive: Archive, agency_id: str, target: dict[str, Any], capture: Capture, status: str, *,
            reason: str | None = None, sha256: str | None = None, size: int | None = None,
            mimetype: str | None = None, warc_path: str | None = None) -> None:
    with archive.db.conn:
        archive.db.execute(
            "insert or ignore into recoveries (agency_id, url, document_id, capture_timestamp, original,"
            " capture_digest, raw_url, status, reason, sha256, size, mimetype, retrieved_at, warc_path)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [agency_id, target["url"], target["document_id"], capture.timestamp, capture.original, capture.digest,
             capture.raw_url, status, reason, sha256, size, mimetype, utcnow(), warc_path],
        )
