"""The alerts step of a run: judge the operator's conditions, turn new events into digests, send what is due."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..archive import Archive, DataDir
from ..archive.datadir import DataDirLike
from ..archive.state import file_lock, open_private
from ..archive.vocabulary import counted
from . import digests, outbox, watch
from .settings import AlertSettings


@dataclass
class AlertsReport:
    deliveries: int = 0  # new (event, subscription) pairs
    digests: int = 0  # messages queued for subscribers
    conditions: list[str] = field(default_factory=list)  # operator conditions that started or ended
    sent: outbox.SendReport = field(default_factory=outbox.SendReport)

    def __str__(self) -> str:
        changed = f"; operator: {', '.join(self.conditions)}" if self.conditions else ""
        return f"{self.deliveries} new deliveries in {counted(self.digests, 'digest')}; messages: {self.sent}{changed}"


def run_alerts(data_dir: DataDirLike, settings: AlertSettings, agency_id: str | None = None,
               run_id: int | None = None) -> AlertsReport:
    """Everything alerts do in one run, under the dispatch lock. ``agency_id`` and ``run_id`` name the run in
    progress, whose agency's conditions are judged; without them only deliveries are."""
    data_dir = DataDir.at(data_dir)
    report = AlertsReport()
    private = open_private(data_dir)
    try:
        with Archive(data_dir) as archive, file_lock(data_dir.alerts_lock):
            outbox.recover_orphans(private)
            conditions = watch.delivery_conditions(private, settings)
            if agency_id:
                conditions += watch.agency_conditions(archive, private, agency_id, settings, run_id)
            report.conditions = watch.apply(private, settings, conditions)
            report.deliveries = digests.fan_out(private, archive)
            report.digests = len(digests.queue_digests(private, archive, settings))
            report.sent = outbox.send_due(private, settings)
    finally:
        private.close()
    return report


def send_pending(data_dir: DataDir, settings: AlertSettings) -> outbox.SendReport:
    """Send what is due without looking at the archive (after a subscribe, for its confirmation)."""
    private = open_private(data_dir)
    try:
        with file_lock(data_dir.alerts_lock):
            outbox.recover_orphans(private)
            return outbox.send_due(private, settings)
    finally:
        private.close()
