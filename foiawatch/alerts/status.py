"""The operator's view (``foiawatch status``): per agency, the last complete crawl, the last event, failed runs in
a row and queued deliveries; then the operator conditions in force and the messages by state. Read from the two
databases alone, never from a live process."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import sqlite_utils

from ..archive import Archive
from ..archive.vocabulary import CrawlStatus
from .digests import queued_deliveries
from .watch import active_conditions, failed_streak


@dataclass(frozen=True)
class AgencyStatus:
    id: str
    last_complete_crawl: dict[str, Any] | None  # id, finished_at, status
    last_event: dict[str, Any] | None  # id, kind, detected_at, summary
    failed_runs: int
    queued_deliveries: int


@dataclass(frozen=True)
class StatusReport:
    agencies: list[AgencyStatus]
    conditions: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def status_report(archive: Archive, private: sqlite_utils.Database) -> StatusReport:
    db = archive.db
    queued = queued_deliveries(private, "agency")
    agencies = []
    for (agency_id,) in db.execute("select id from agencies order by id").fetchall():
        crawl = archive.last_crawl(agency_id, CrawlStatus.COMPLETE)
        event = next(db.query("select id, kind, detected_at, summary from events where agency_id = ? "
                              "order by id desc limit 1", [agency_id]), None)
        agencies.append(AgencyStatus(
            agency_id, {key: crawl[key] for key in ("id", "finished_at", "status")} if crawl else None, event,
            failed_streak(private, agency_id)[0], queued.get(agency_id, 0)))
    messages = dict(private.execute("select status, count(*) from messages group by status").fetchall())
    return StatusReport(agencies, active_conditions(private), messages)
