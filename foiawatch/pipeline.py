"""One run of the chain for one agency: crawl → diff → Wayback baseline → recovery → publish → alerts.

Used by ``foiawatch run`` and by the scheduler. Each step is isolated: a failing step is logged and recorded, and
the later steps still run (alerts most of all: they tell the operator). Every run is recorded in the private
database's ``runs`` table, which is what "failed N times running" and ``foiawatch status`` read. Two runs of the
same agency never overlap, whoever starts them (a lock file per agency). A ``stop`` event is honoured between
steps, so SIGTERM never leaves a step half done.

Steps from other subsystems are imported when they run; a subsystem that is not installed is skipped with a
log line rather than failing every run.
"""

from __future__ import annotations

import fcntl
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlite_utils

from .alerts.notify import run_alerts
from .alerts.settings import AlertSettings
from .alerts.store import open_private, transaction
from .archive import Archive
from .archive.pii import screen_pending
from .archive.store import utcnow
from .config import AgencyConfig, cron_trigger
from .crawler import crawl
from .crawler.probe import ProbeStats, probe_never_listed
from .crawler.recover import recover
from .crawler.wayback import WaybackClient
from .crawler.wayback_listings import ListingStats, read_archived_listings
from .crawler.wayback_sync import SyncStats, sync_captures
from .diff import run_diff
from .diff.baseline import BaselineResult, run_baseline
from .publish.build import PublishStats, build_public

log = logging.getLogger(__name__)

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


class SkipStep(Exception):
    """A step that has nothing to do this time; the message says why."""


class RunInProgress(RuntimeError):
    """Another run of the same agency holds its lock."""


@dataclass
class StepResult:
    name: str
    status: str
    detail: str = ""
    error: str | None = None
    error_type: str | None = None  # the exception's class name, for conditions such as Wayback rate limiting
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "detail": self.detail, "error": self.error, "error_type": self.error_type,
                "seconds": round(self.seconds, 3)}


@dataclass
class RunContext:
    """What the steps of one run share."""

    config: AgencyConfig
    data_dir: Path
    settings: AlertSettings
    private: sqlite_utils.Database
    run_id: int


@dataclass
class RunReport:
    agency_id: str
    run_id: int
    status: str  # ok, failed or stopped
    steps: list[StepResult] = field(default_factory=list)


Step = Callable[[RunContext], str]


def crawl_step(context: RunContext) -> str:
    result = crawl(context.config, context.data_dir)
    return f"crawl {result.crawl_id}: {result.status}" + (f" ({result.reason})" if result.reason else "")


def diff_step(context: RunContext) -> str:
    with Archive(context.data_dir) as archive:
        result = run_diff(archive, context.config.id, confirmations=context.config.removal_confirmations)
    created = ", ".join(f"{n} {kind}" for kind, n in sorted(result.created.items()))
    return f"{result.total} new event(s)" + (f": {created}" if created else "")


def wayback_step(context: RunContext) -> str:
    """The Wayback baseline, on the agency's own (rarer) ``[wayback] schedule``."""
    config = context.config
    if not config.wayback.prefix:
        raise SkipStep("no [wayback] prefix configured")
    due_at = wayback_due_at(context)
    if due_at > datetime.now(timezone.utc):
        raise SkipStep(f"next baseline due at {due_at.isoformat(timespec='minutes')}")
    with Archive(context.data_dir) as archive, wayback_client(config) as client:
        outcome = wayback_baseline(archive, config, client)
    if outcome.baseline is None:
        raise SkipStep(outcome.sync.skipped)
    return (f"{outcome.sync.captures} capture(s) ({outcome.sync.new} new); "
            f"{outcome.baseline.created} removed_before_monitoring event(s)")


@dataclass
class BaselineOutcome:
    sync: SyncStats
    listings: ListingStats | None = None
    probes: ProbeStats | None = None
    baseline: BaselineResult | None = None  # None when there was nothing to list


def wayback_baseline(archive: Archive, config: AgencyConfig, client: WaybackClient, *,
                     on_listing: Callable[[int], None] | None = None,
                     on_pages: Callable[[int, int], None] | None = None,
                     on_probe: Callable[[int, int], None] | None = None) -> BaselineOutcome:
    """List every capture under the prefix, read the library's archived listing pages (what removed documents were
    called, and where they were listed), probe the captured URLs no crawl ever listed, then let diff/ conclude
    which were removed before monitoring began. The crawler fetches; diff decides."""
    outcome = BaselineOutcome(sync_captures(archive, config, client, progress=on_listing))
    if outcome.sync.skipped:
        return outcome
    outcome.listings = read_archived_listings(archive, config, client, progress=on_pages)
    outcome.probes = probe_never_listed(archive, config, progress=on_probe)
    outcome.baseline = run_baseline(archive, config.id, config.wayback.prefix)
    return outcome


def recover_step(context: RunContext) -> str:
    with Archive(context.data_dir) as archive, wayback_client(context.config) as client:
        stats = recover(archive, context.config, client)
    return (f"{stats.recovered} recovered, {len(stats.unrecoverable)} without a usable capture, "
            f"{len(stats.errors)} to retry")


def publish_step(context: RunContext) -> str:
    stats = publish_archive(context.data_dir)
    return f"{stats.path.name}: {stats.files} file(s) published, {stats.withheld} withheld"


def publish_archive(data_dir: str | Path) -> PublishStats:
    """Screen new blobs for personal data, then rebuild the public database: nothing unscreened is published."""
    with Archive(data_dir) as archive:
        screen_pending(archive)
    return build_public(data_dir)


def alerts_step(context: RunContext) -> str:
    return str(run_alerts(context.data_dir, context.settings, context.config.id, context.run_id))


STEPS: tuple[tuple[str, Step], ...] = (
    ("crawl", crawl_step), ("diff", diff_step), ("wayback", wayback_step), ("recover", recover_step),
    ("publish", publish_step), ("alerts", alerts_step),
)


def run_pipeline(config: AgencyConfig, data_dir: str | Path, *, settings: AlertSettings | None = None,
                 steps: Sequence[tuple[str, Step]] = STEPS, stop: threading.Event | None = None) -> RunReport:
    """Run the chain once for one agency; raises RunInProgress if another run of it is going on."""
    data_dir = Path(data_dir)
    settings = settings or AlertSettings.from_env()
    with _agency_lock(data_dir, config.id):
        private = open_private(data_dir)
        try:
            with transaction(private):
                run_id = int(private.execute("insert into runs (agency_id, started_at, status) values (?, ?, ?)",
                                             [config.id, utcnow(), "running"]).lastrowid)
            context = RunContext(config, data_dir, settings, private, run_id)
            report = RunReport(config.id, run_id, "running")
            for name, step in steps:
                if stop is not None and stop.is_set():
                    log.info("%s: stopping before %s", config.id, name)
                    report.status = "stopped"
                    break
                report.steps.append(_run_step(context, name, step))
                _record(private, run_id, report)
            else:
                report.status = FAILED if any(s.status == FAILED for s in report.steps) else OK
            _record(private, run_id, report, finished=True)
        finally:
            private.close()
    log.info("%s: run %d %s", config.id, run_id, report.status)
    return report


def _run_step(context: RunContext, name: str, step: Step) -> StepResult:
    started = time.monotonic()
    try:
        result = StepResult(name, OK, step(context) or "")
    except SkipStep as skipped:
        result = StepResult(name, SKIPPED, str(skipped))
    except Exception as error:  # a failing step is recorded; the run goes on
        log.exception("%s: step %s failed", context.config.id, name)
        result = StepResult(name, FAILED, error=f"{type(error).__name__}: {error}", error_type=type(error).__name__)
    result.seconds = time.monotonic() - started
    log.info("%s: %s %s %s", context.config.id, name, result.status, result.detail or result.error or "")
    return result


def _record(private: sqlite_utils.Database, run_id: int, report: RunReport, finished: bool = False) -> None:
    steps = json.dumps({s.name: s.as_dict() for s in report.steps})
    with transaction(private):
        private.execute("update runs set steps = ?, status = ?, finished_at = ? where id = ?",
                        [steps, report.status, utcnow() if finished else None, run_id])


def wayback_due_at(context: RunContext) -> datetime:
    """When the baseline is next due: at once if it never succeeded, else the first time the Wayback schedule
    fires after the last success (times in UTC)."""
    (last,) = context.private.execute(
        "select max(started_at) from runs where agency_id = ? and json_extract(steps, '$.wayback.status') = 'ok'",
        [context.config.id]).fetchone()
    if last is None:
        return datetime.min.replace(tzinfo=timezone.utc)
    after = datetime.fromisoformat(last) + timedelta(seconds=1)
    return cron_trigger(context.config.wayback.schedule).get_next_fire_time(None, after)


def wayback_client(config: AgencyConfig) -> WaybackClient:
    return WaybackClient(config.wayback.base_url, user_agent=config.politeness.user_agent)


@contextmanager
def _agency_lock(data_dir: Path, agency_id: str) -> Iterator[None]:
    path = data_dir / "locks" / f"{agency_id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunInProgress(f"another run of {agency_id} is in progress") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
