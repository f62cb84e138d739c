"""One run of the chain for one agency: crawl → diff → preserve (opt-in Save Page Now) → Wayback baseline →
recovery → publish → alerts.

An agency with ``[passes] watch`` runs listing-first instead (:func:`steps_for`): a watch pass, a revalidation pass
when one is due, then the same chain; a run whose watch pass found nothing new and revalidated nothing publishes
nothing new either.

Used by ``foiawatch run`` and by the scheduler. Each step is isolated: a failing step is logged and recorded, and
the later steps still run (alerts most of all: they tell the operator). Every run is recorded in the private
database's ``runs`` table, which is what "failed N times running" and ``foiawatch status`` read. Two runs of the
same agency never overlap, whoever starts them (a lock file per agency). A ``stop`` event is honoured between
steps, so SIGTERM never leaves a step half done.

"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from .alerts.notify import run_alerts
from .alerts.settings import AlertSettings
from .archive import Archive, DataDir
from .archive.datadir import DataDirLike
from .archive.pii import screen_pending
from .archive.state import Locked, baseline_due_at, file_lock, open_private, record_run, start_run
from .archive.vocabulary import CrawlKind, RunStatus, StepStatus, counted
from .config import AgencyConfig, cron_trigger
from .crawler import CrawlProcessError, crawl
from .diff import DiffResult, run_diff
from .diff.baseline import BaselineResult, run_baseline
from .publish.build import PublishStats, build_public
from .wayback import WaybackClient, WaybackError
from .wayback.baseline import BaselineEvidence, gather_evidence, wayback_client
from .wayback.preserve import save_new_documents
from .wayback.recovery import recover

log = logging.getLogger(__name__)


class SkipStep(Exception):
    """A step that has nothing to do this time; the message says why."""


class RunInProgress(RuntimeError):
    """Another run of the same agency holds its lock."""


@dataclass
class StepResult:
    name: str
    status: StepStatus
    detail: str = ""
    error: str | None = None
    error_type: str | None = None  # the exception's class name, for conditions such as Wayback rate limiting
    error_kind: str | None = None  # what happened (archive.vocabulary.FailureKind): dns, refused, 429, 5xx ...
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "detail": self.detail, "error": self.error, "error_type": self.error_type,
                "error_kind": self.error_kind, "seconds": round(self.seconds, 3)}


@dataclass
class RunContext:
    """What the steps of one run share."""

    config: AgencyConfig
    data_dir: DataDir
    settings: AlertSettings
    private: sqlite_utils.Database
    run_id: int
    unchanged: bool = False  # a watch pass found nothing new and nothing was revalidated: nothing to publish


@dataclass
class RunReport:
    agency_id: str
    run_id: int
    status: RunStatus
    steps: list[StepResult] = field(default_factory=list)


Step = Callable[[RunContext], str]

# Failures that say what happened in their message (the Wayback Machine unreachable, rate-limiting, refusing; a
# crawl process that died, its log named): logged as one line, without a traceback.
EXPECTED_FAILURES: tuple[type[Exception], ...] = (WaybackError, CrawlProcessError)


def crawl_step(context: RunContext) -> str:
    result = crawl(context.config, context.data_dir)
    return f"crawl {result.crawl_id}: {result.status}" + (f" ({result.reason})" if result.reason else "")


def watch_step(context: RunContext) -> str:
    """A watch pass: the listing pages only; new documents fetched, delisted ones probed."""
    result = crawl(context.config, context.data_dir, kind=CrawlKind.WATCH)
    if result.crawl_id is None:
        context.unchanged = True
        return f"watch pass: {result.status} ({result.reason})"
    return f"watch pass, crawl {result.crawl_id}: {result.status}" + (f" ({result.reason})" if result.reason else "")


def revalidate_step(context: RunContext) -> str:
    """A revalidation pass, when the agency's ``[passes] revalidate`` schedule says one is due."""
    due_at = revalidation_due_at(context)
    if due_at > datetime.now(UTC):
        raise SkipStep(f"next revalidation due at {due_at.isoformat(timespec='minutes')}")
    result = crawl(context.config, context.data_dir, kind=CrawlKind.REVALIDATE)
    context.unchanged = False
    return f"revalidation, crawl {result.crawl_id}: {result.status}" + (f" ({result.reason})" if result.reason else "")


def revalidation_due_at(context: RunContext) -> datetime:
    """At once if the agency was never revalidated, else the first time its revalidation schedule fires after the
    last revalidation pass began (UTC)."""
    with Archive(context.data_dir) as archive:
        row = archive.db.execute("select max(started_at) from crawls where agency_id = ? and kind = ?",
                                 [context.config.id, CrawlKind.REVALIDATE]).fetchone()
    if row[0] is None:
        return datetime.min.replace(tzinfo=UTC)
    after = datetime.fromisoformat(row[0]) + timedelta(seconds=1)
    return cron_trigger(context.config.passes.revalidate).get_next_fire_time(None, after)


def diff_step(context: RunContext) -> str:
    with Archive(context.data_dir) as archive:
        result = diff_agency(archive, context.config)
    created = ", ".join(f"{n} {kind}" for kind, n in sorted(result.created.items()))
    return f"{counted(result.total, 'new event')}" + (f": {created}" if created else "")


def wayback_step(context: RunContext) -> str:
    """The Wayback baseline, on the agency's own (rarer) ``[wayback] schedule``."""
    config = context.config
    if not config.wayback.all_prefixes:
        raise SkipStep("no [wayback] prefix configured")
    due_at = wayback_due_at(context)
    if due_at > datetime.now(UTC):
        raise SkipStep(f"next baseline due at {due_at.isoformat(timespec='minutes')}")
    with Archive(context.data_dir) as archive, wayback_client(config) as client:
        outcome = wayback_baseline(archive, config, client)
    if outcome.baseline is None:
        raise SkipStep(outcome.sync.skipped)
    return (f"{counted(outcome.sync.captures, 'capture')} ({outcome.sync.new} new); "
            f"{counted(outcome.baseline.created, 'removed_before_monitoring event')}")


def diff_agency(archive: Archive, config: AgencyConfig, *, rebuild: bool = False) -> DiffResult:
    """The diff of an agency's new crawls, by the agency's own rules."""
    return run_diff(archive, config.id, confirmations=config.removal_confirmations,
                    failed_page_share=config.outage.failed_page_share, rebuild=rebuild)


@dataclass
class BaselineOutcome(BaselineEvidence):
    baseline: BaselineResult | None = None  # None when there was nothing to list


def wayback_baseline(archive: Archive, config: AgencyConfig, client: WaybackClient, *,
                     on_listing: Callable[[int], None] | None = None,
                     on_pages: Callable[[int, int], None] | None = None,
                     on_probe: Callable[[int, int], None] | None = None) -> BaselineOutcome:
    """Gather the Wayback evidence (wayback/ fetches), then let diff/ conclude which documents were removed before
    monitoring began (diff decides)."""
    evidence = gather_evidence(archive, config, client, on_listing=on_listing, on_pages=on_pages,
                               on_probe=on_probe)
    outcome = BaselineOutcome(evidence.sync, evidence.listings, evidence.probes, evidence.recovered)
    if not evidence.sync.skipped:
        outcome.baseline = run_baseline(archive, config.id, config.wayback.all_prefixes)
    return outcome


def preserve_step(context: RunContext) -> str:
    """Opt-in (``[wayback] save_new``): ask Save Page Now to capture the documents seen for the first time."""
    if not context.config.wayback.save_new:
        raise SkipStep("[wayback] save_new is off")
    with Archive(context.data_dir) as archive, wayback_client(context.config) as client:
        stats = save_new_documents(archive, context.config, client)
    return f"{stats.saved} saved, {len(stats.failed)} refused, {stats.left} left for later runs"


def recover_step(context: RunContext) -> str:
    with Archive(context.data_dir) as archive, wayback_client(context.config) as client:
        stats = recover(archive, context.config, client)
    return (f"{stats.recovered} recovered, {len(stats.unrecoverable)} without a usable capture, "
            f"{len(stats.errors)} to retry")


def publish_step(context: RunContext) -> str:
    if context.unchanged:
        raise SkipStep("the watch pass found nothing new")
    stats = publish_archive(context.data_dir)
    return f"{stats.path.name}: {counted(stats.files, 'file')} published, {stats.withheld} withheld"


def publish_archive(data_dir: DataDirLike) -> PublishStats:
    """Screen new blobs for personal data, then rebuild the public database: nothing unscreened is published."""
    with Archive(data_dir) as archive:
        screen_pending(archive)
    return build_public(data_dir)


def alerts_step(context: RunContext) -> str:
    return str(run_alerts(context.data_dir, context.settings, context.config.id, context.run_id))


STEPS: tuple[tuple[str, Step], ...] = (
    ("crawl", crawl_step), ("diff", diff_step), ("preserve", preserve_step), ("wayback", wayback_step),
    ("recover", recover_step), ("publish", publish_step), ("alerts", alerts_step),
)
# Listing-first: a watch pass each run, a revalidation pass when due, then the rest of the chain.
WATCH_STEPS: tuple[tuple[str, Step], ...] = (("watch", watch_step), ("revalidate", revalidate_step), *STEPS[1:])


def steps_for(config: AgencyConfig) -> tuple[tuple[str, Step], ...]:
    """The chain an agency runs: listing-first when it has ``[passes] watch``, full crawls otherwise."""
    return WATCH_STEPS if config.passes.watch else STEPS


def run_pipeline(config: AgencyConfig, data_dir: DataDirLike, *, settings: AlertSettings | None = None,
                 steps: Sequence[tuple[str, Step]] | None = None, stop: threading.Event | None = None) -> RunReport:
    """Run the chain once for one agency (``steps_for`` it unless ``steps`` says otherwise); raises
    RunInProgress if another run of it is going on."""
    data_dir = DataDir.at(data_dir)
    steps = steps if steps is not None else steps_for(config)
    settings = settings or AlertSettings.from_env()
    with ExitStack() as stack:
        try:
            stack.enter_context(file_lock(data_dir.agency_lock(config.id), wait=False))
        except Locked:
            raise RunInProgress(f"another run of {config.id} is in progress") from None
        private = open_private(data_dir)
        stack.callback(private.close)
        run_id = start_run(private, config.id)
        context = RunContext(config, data_dir, settings, private, run_id)
        report = RunReport(config.id, run_id, RunStatus.RUNNING)
        for name, step in steps:
            if stop is not None and stop.is_set():
                log.info("%s: stopping before %s", config.id, name)
                report.status = RunStatus.STOPPED
                break
            report.steps.append(_run_step(context, name, step))
            _record(private, run_id, report)
        else:
            failed = any(s.status == StepStatus.FAILED for s in report.steps)
            report.status = RunStatus.FAILED if failed else RunStatus.OK
        _record(private, run_id, report, finished=True)
    log.info("%s: run %d %s", config.id, run_id, report.status)
    return report


def _run_step(context: RunContext, name: str, step: Step) -> StepResult:
    started = time.monotonic()
    try:
        result = StepResult(name, StepStatus.OK, step(context) or "")
    except SkipStep as skipped:
        result = StepResult(name, StepStatus.SKIPPED, str(skipped))
    except EXPECTED_FAILURES as error:  # named by its message: one line, no traceback
        kind = getattr(error, "kind", None)
        log.error("%s: step %s failed: %s", context.config.id, name, error,
                  extra={"agency": context.config.id, "step": name, "error_kind": kind})
        result = StepResult(name, StepStatus.FAILED, error=f"{type(error).__name__}: {error}",
                            error_type=type(error).__name__, error_kind=kind)
    except Exception as error:  # a failing step is recorded; the run goes on
        log.exception("%s: step %s failed", context.config.id, name)
        result = StepResult(name, StepStatus.FAILED, error=f"{type(error).__name__}: {error}",
                            error_type=type(error).__name__)
    result.seconds = time.monotonic() - started
    if result.status != StepStatus.FAILED:  # a failure was logged above, as an error
        log.info("%s: %s %s %s", context.config.id, name, result.status, result.detail,
                     extra={"agency": context.config.id, "step": name, "status": result.status,
                        "seconds": round(result.seconds, 3)})
    return result


def _record(private: sqlite_utils.Database, run_id: int, report: RunReport, finished: bool = False) -> None:
    record_run(private, run_id, report.status, {s.name: s.as_dict() for s in report.steps}, finished=finished)


def wayback_due_at(context: RunContext) -> datetime:
    """When the baseline is next due: at once if it never succeeded, else the first time the Wayback schedule
    fires after the last success (times in UTC)."""
    return baseline_due_at(context.private, context.config.id, context.config.wayback.schedule)
