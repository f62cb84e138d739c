"""Preservation on first sight (opt-in, ``[wayback] save_new = true``): ask Save Page Now to capture each document
foiawatch sees for the first time, so an independent archive holds it too before anyone can take it down.

Within the service's limits (the client paces Save Page Now requests) and a per-run budget; every request is
recorded in ``wayback_saves`` (the capture it made, or why not), which is the provenance of that copy. Documents
already asked for are never asked again; a failed request is retried on a later run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..archive import Archive
from ..archive.store import utcnow
from ..config import AgencyConfig
from .client import WaybackClient
from .errors import RateLimited, SaveFailed, WaybackUnavailable


@dataclass
class SaveStats:
    asked: int = 0
    saved: int = 0
    failed: list[str] = field(default_factory=list)  # "URL: why"
    left: int = 0  # new documents waiting for a later run (budget)
    skipped: str | None = None


def save_new_documents(archive: Archive, config: AgencyConfig, client: WaybackClient, *,
                       poll_interval: float = 5.0) -> SaveStats:
    """Ask Save Page Now for every document of the agency not asked for yet (or whose last request failed)."""
    if not config.wayback.save_new:
        return SaveStats(skipped="[wayback] save_new is off")
    pending = [(row["id"], row["url"]) for row in archive.db.query(
        "select d.id, d.url from documents d where d.agency_id = ? and not exists "
        "(select 1 from wayback_saves w where w.document_id = d.id and w.status = 'ok') order by d.id",
        [config.id])]
    stats = SaveStats(left=max(0, len(pending) - config.wayback.save_per_run))
    for document_id, url in pending[:config.wayback.save_per_run]:
        stats.asked += 1
        try:
            result = client.save_page(url, poll_interval=poll_interval)
        except (RateLimited, WaybackUnavailable):
            _record(archive, config.id, document_id, url, "failed", error="the service is unavailable or busy")
            stats.left += len(pending[:config.wayback.save_per_run]) - stats.asked
            raise
        except SaveFailed as error:
            _record(archive, config.id, document_id, url, "failed", error=str(error))
            stats.failed.append(f"{url}: {error}")
            continue
        _record(archive, config.id, document_id, url, "ok", job_id=result.job_id, timestamp=result.timestamp,
                raw_url=result.raw_url)
        stats.saved += 1
    return stats


def _record(archive: Archive, agency_id: str, document_id: int, url: str, status: str, *, job_id: str | None = None,
            timestamp: str | None = None, raw_url: str | None = None, error: str | None = None) -> None:
    with archive.db.conn:
        archive.db.execute(
            "insert into wayback_saves (agency_id, document_id, url, requested_at, status, job_id, timestamp, "
            "raw_url, error) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [agency_id, document_id, url, utcnow(), status, job_id, timestamp, raw_url, error])
