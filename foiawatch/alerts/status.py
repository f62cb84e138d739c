"""The operator's view (``foiawatch status``): per agency, the state now (ok · outage since T · blocked since T ·
failing since T), the last crawl of each kind, the last Wayback baseline, the next scheduled runs, counts and the
last operator alert; then the operator conditions in force and the messages by state.

Read from the two databases alone (the scheduler's job store included), never from a live process, so cron or a
monitoring probe can run it beside the scheduler. ``needs_attention`` is what the command's exit code reports.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from ..archive import Archive
from ..archive.failures import WHAT, classify_text
from ..archive.state import baseline_due_at, scheduled_runs
from ..archive.vocabulary import CrawlKind, CrawlStatus, DocumentState, EventKind, FailureKind, StepStatus, counted
from ..config import ConfigError, parse_config
from .digests import queued_deliveries
from .settings import AlertSettings
from .watch import active_conditions, failed_runs, failing_since

OK, OUTAGE, BLOCKED, FAILING = "ok", "outage", "blocked", "failing"
STATES = (OK, OUTAGE, BLOCKED, FAILING)
# The kinds of pass over a library (crawls.kind): a full crawl, a watch pass (the listing pages only; one that finds
# nothing new is kept as a watch_checks row, not a crawl) and a revalidation pass (documents re-checked).
PASS_KINDS = tuple(kind.value for kind in CrawlKind)
LISTING_KINDS = (CrawlKind.FULL, CrawlKind.WATCH)  # the passes that read the listing: they say if it is up
# A job whose next run time is this far in the past has no scheduler running it.
OVERDUE_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class AgencyState:
    """What the agency's monitoring looks like now: ``state`` is one of STATES; ``since`` when it began (None for
    ok); ``reason`` what the evidence says, with ``failure`` naming a network failure (dns, refused, tls, ...)."""

    state: str
    since: str | None = None
    reason: str = ""
    failure: str | None = None

    def text(self) -> str:
        if self.state == OK:
            return OK + (f" ({self.reason})" if self.reason else "")
        return f"{self.state} since {self.since}: {self.reason}"


@dataclass(frozen=True)
class CrawlRef:
    """The last pass of one kind: a crawl (``id``), or for a watch pass that found nothing new its watch check
    (``id`` None, ``status`` "nothing new")."""

    id: int | None
    status: str
    started_at: str
    finished_at: str | None
    reason: str | None

    @classmethod
    def of(cls, row: dict[str, Any] | None) -> CrawlRef | None:
        if row is None:
            return None
        return cls(row["id"], row["status"], row["started_at"], row["finished_at"], row["status_reason"])


@dataclass(frozen=True)
class Baseline:
    """The last Wayback baseline that succeeded (the ``wayback`` step of a run), and the last attempt if later."""

    last_success: str | None  # when the run it belonged to started
    detail: str | None
    last_attempt: str | None = None
    last_attempt_status: str | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class ScheduledRun:
    what: str  # "run" (the whole chain) or "wayback baseline"
    at: str | None  # None: not scheduled (paused, or no scheduler ever started for it), or unknown
    overdue: bool = False  # the time is long past: no scheduler is running the job
    note: str = ""


@dataclass(frozen=True)
class Counts:
    documents: int
    removed: int  # documents found removed (confirmed by the diff), now
    removed_before_monitoring: int
    withheld: int  # stored copies the PII screen (or a reviewer) keeps out of the public archive
    queued_deliveries: int
    needs_ocr: int = 0  # scans waiting for Tesseract: `foiawatch ocr` reads them


@dataclass(frozen=True)
class OperatorAlert:
    key: str
    active: bool
    headline: str
    at: str


@dataclass(frozen=True)
class AgencyStatus:
    id: str
    name: str
    state: AgencyState
    needs_attention: bool
    attention: list[str]  # why, one line each
    last_complete_crawl: dict[str, Any] | None  # id, finished_at, status
    last_passes: dict[str, CrawlRef | None]  # PASS_KINDS -> the last pass of that kind (None: none yet)
    last_wayback_baseline: Baseline | None
    next_runs: list[ScheduledRun]
    counts: Counts
    last_event: dict[str, Any] | None  # id, kind, detected_at, summary
    failed_runs: int
    queued_deliveries: int
    last_operator_alert: OperatorAlert | None
    conditions: list[str] = field(default_factory=list)  # the agency's operator conditions in force


@dataclass(frozen=True)
class StatusReport:
    generated_at: str
    agencies: list[AgencyStatus]
    conditions: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[str, int] = field(default_factory=dict)

    @property
    def needs_attention(self) -> bool:
        return any(agency.needs_attention for agency in self.agencies) or bool(self.conditions)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "needs_attention": self.needs_attention}


def status_report(archive: Archive, private: sqlite_utils.Database, settings: AlertSettings | None = None,
                  agencies: list[str] | None = None, now: datetime | None = None) -> StatusReport:
    """The operator's view of ``agencies`` (default: every agency in the archive)."""
    settings = settings or AlertSettings()
    now = now or datetime.now(UTC)
    db = archive.db
    queued = queued_deliveries(private, "agency")
    schedule = scheduled_runs(private)
    conditions = active_conditions(private)
    known = [(row[0], row[1], row[2]) for row in db.execute("select id, name, config from agencies order by id")]
    statuses = []
    for agency_id, name, config_json in known:
        if agencies and agency_id not in agencies:
            continue
        statuses.append(_agency_status(archive, private, settings, now, agency_id, name, config_json,
                                       queued.get(agency_id, 0), schedule, conditions))
    messages = dict(private.execute("select status, count(*) from messages group by status").fetchall())
    shown = [c for c in conditions if c["agency_id"] is None or not agencies or c["agency_id"] in agencies]
    return StatusReport(now.isoformat(timespec="seconds"), statuses, shown, messages)


def _agency_status(archive: Archive, private: sqlite_utils.Database, settings: AlertSettings, now: datetime,
                   agency_id: str, name: str, config_json: str | None, queued: int,
                   schedule: dict[str, datetime | None], conditions: list[dict[str, Any]]) -> AgencyStatus:
    db = archive.db
    complete = archive.last_crawl(agency_id, CrawlStatus.COMPLETE)
    event = next(db.query("select id, kind, detected_at, summary from events where agency_id = ? "
                          "order by id desc limit 1", [agency_id]), None)
    streak = failed_runs(private, agency_id)
    state = _state(archive, private, settings, now, agency_id, complete, streak)
    next_runs = _next_runs(private, now, agency_id, config_json, schedule.get(agency_id), agency_id in schedule)
    own_conditions = [c for c in conditions if c["agency_id"] == agency_id]
    attention = [] if state.state == OK else [state.text()]
    attention += [f"operator condition {c['key']} since {c['since']}" for c in own_conditions]
    attention += [f"the {run.what} was due at {run.at}: {run.note}" for run in next_runs if run.overdue]
    return AgencyStatus(
        id=agency_id, name=name, state=state, needs_attention=bool(attention), attention=attention,
        last_complete_crawl={key: complete[key] for key in ("id", "finished_at", "status")} if complete else None,
        last_passes=_last_passes(archive, agency_id),
        last_wayback_baseline=_baseline(private, agency_id), next_runs=next_runs,
        counts=_counts(archive, agency_id, queued), last_event=event, failed_runs=len(streak),
        queued_deliveries=queued, last_operator_alert=_last_alert(private, agency_id),
        conditions=[c["key"] for c in own_conditions])


def _state(archive: Archive, private: sqlite_utils.Database, settings: AlertSettings, now: datetime,
           agency_id: str, complete: dict[str, Any] | None, streak: list[dict[str, Any]]) -> AgencyState:
    """outage or blocked: the latest finished crawls found the library down (or behind a block page), since the
    first of them started; failing: foiawatch's runs fail (since the first failed run of the streak), or no crawl
    has completed for longer than FOIAWATCH_STALE_AFTER; else ok."""
    finished = list(archive.db.query(
        "select id, status, status_reason, started_at from crawls where agency_id = ? and status != ? "
        f"and kind in ({', '.join('?' * len(LISTING_KINDS))}) order by id desc limit 1000",
        [agency_id, CrawlStatus.RUNNING, *LISTING_KINDS]))
    if finished and finished[0]["status"] == CrawlStatus.OUTAGE:
        blocked = _blocked(finished[0])
        run = []
        for crawl in finished:
            if crawl["status"] != CrawlStatus.OUTAGE or _blocked(crawl) != blocked:
                break
            run.append(crawl)
        first, last = run[-1], run[0]
        kind = classify_text(last["status_reason"])
        failure = None if kind == FailureKind.OTHER else kind.value
        named = f"{WHAT[kind]}: " if failure and not blocked else ""
        crawls = f"crawl {last['id']}" if len(run) == 1 else f"crawls {first['id']}-{last['id']}"
        return AgencyState(BLOCKED if blocked else OUTAGE, first["started_at"],
                           f"{named}{last['status_reason']} ({crawls})", failure)
    if streak:
        first_failed = streak[-1]
        errors = [f"{name}: {step.get('error')}" for name, step in json.loads(streak[0]["steps"]).items()
                  if step.get("status") == StepStatus.FAILED]
        last_error = "; ".join(errors) or "a step failed"
        return AgencyState(FAILING, first_failed["started_at"],
                           f"{counted(len(streak), 'run')} in a row failed; last: {last_error}")
    if finished:
        since = archive.last_complete_reading(agency_id) or finished[-1]["started_at"]
        age = (now - datetime.fromisoformat(since)).total_seconds()
        if age > settings.stale_after:
            latest = finished[0]
            return AgencyState(FAILING, since, f"no complete crawl since {since}; latest crawl {latest['id']}: "
                                               f"{latest['status']} ({latest['status_reason']})")
        if finished[0]["status"] == CrawlStatus.INCOMPLETE:
            return AgencyState(OK, reason=f"latest crawl {finished[0]['id']} incomplete: "
                                          f"{finished[0]['status_reason']}")
    since_failing = failing_since(private, agency_id)
    if since_failing:  # the condition is still recorded as active though the runs no longer fail
        return AgencyState(OK, reason=f"runs succeed again (the operator condition since {since_failing} ends at "
                                      "the next alerts step)")
    return AgencyState(OK)


def _last_passes(archive: Archive, agency_id: str) -> dict[str, CrawlRef | None]:
    db = archive.db
    passes: dict[str, CrawlRef | None] = {}
    for kind in PASS_KINDS:
        row = next(db.query("select id, status, started_at, finished_at, status_reason from crawls "
                            "where agency_id = ? and kind = ? order by id desc limit 1", [agency_id, kind]), None)
        passes[kind] = CrawlRef.of(row)
    check = next(db.query("select started_at, finished_at, listing_pages, not_modified from watch_checks "
                          "where agency_id = ? order by id desc limit 1", [agency_id]), None)
    watch = passes[CrawlKind.WATCH]
    if check and (watch is None or check["started_at"] > watch.started_at):
        passes[CrawlKind.WATCH] = CrawlRef(None, "nothing new", check["started_at"], check["finished_at"],
                                           f"{counted(check['listing_pages'], 'listing page')} read, "
                                           f"{check['not_modified']} not modified")
    return passes


def _blocked(crawl: dict[str, Any]) -> bool:
    """An outage caused by a block or challenge page (``archive.verdict`` words it "blocked: ...")."""
    return str(crawl["status_reason"] or "").startswith("blocked")


def _baseline(private: sqlite_utils.Database, agency_id: str) -> Baseline | None:
    rows = list(private.query(
        "select started_at, json_extract(steps, '$.wayback.status') as status, "
        "json_extract(steps, '$.wayback.detail') as detail, json_extract(steps, '$.wayback.error') as error "
        "from runs where agency_id = ? and json_extract(steps, '$.wayback.status') in (?, ?) "
        "order by id desc limit 200", [agency_id, StepStatus.OK, StepStatus.FAILED]))
    if not rows:
        return None
    success = next((row for row in rows if row["status"] == StepStatus.OK), None)
    attempt = rows[0] if rows[0] is not success else None
    return Baseline(success["started_at"] if success else None, success["detail"] if success else None,
                    attempt["started_at"] if attempt else None, attempt["status"] if attempt else None,
                    attempt["error"] if attempt else None)


def _next_runs(private: sqlite_utils.Database, now: datetime, agency_id: str, config_json: str | None,
               next_run: datetime | None, scheduled: bool) -> list[ScheduledRun]:
    runs = []
    if not scheduled:
        runs.append(ScheduledRun("run", None, note="not scheduled: no `foiawatch schedule` has run this agency"))
    elif next_run is None:
        runs.append(ScheduledRun("run", None, note="paused"))
    else:
        overdue = now - next_run > OVERDUE_AFTER
        runs.append(ScheduledRun("run", next_run.isoformat(timespec="seconds"), overdue,
                                 "is `foiawatch schedule` running?" if overdue else ""))
    config = _stored_config(config_json)
    if config is None or not config.wayback.all_prefixes:
        runs.append(ScheduledRun("wayback baseline", None,
                                 note="no [wayback] prefix configured" if config else "config unknown"))
        return runs
    due = baseline_due_at(private, agency_id, config.wayback.schedule)
    if due <= now:
        when, note = (next_run.isoformat(timespec="seconds") if next_run else None), "due: with the next run"
    else:
        when, note = due.isoformat(timespec="seconds"), f"[wayback] schedule {config.wayback.schedule!r}"
    runs.append(ScheduledRun("wayback baseline", when, note=note))
    return runs


def _stored_config(config_json: str | None) -> Any:
    """The agency's config as its last crawl recorded it in the archive (what the scheduler runs), or None."""
    if not config_json:
        return None
    try:
        return parse_config(json.loads(config_json), source="the archive")
    except (ValueError, ConfigError):
        return None


def _counts(archive: Archive, agency_id: str, queued: int) -> Counts:
    db = archive.db

    def one(sql: str, *params: object) -> int:
        return int(db.execute(sql, [agency_id, *params]).fetchone()[0] or 0)

    return Counts(
        documents=one("select count(*) from documents where agency_id = ?"),
        removed=one("select count(*) from diff_documents where agency_id = ? and state = ?", DocumentState.REMOVED),
        removed_before_monitoring=one("select count(distinct url) from events where agency_id = ? and kind = ?",
                                      EventKind.REMOVED_BEFORE_MONITORING),
        withheld=one("""
            select count(*) from (
                select sha256 from documents where agency_id = ?1 and sha256 is not null
                union select sha256 from recoveries where agency_id = ?1 and sha256 is not null
            ) copies left join withholdings w on w.sha256 = copies.sha256
            where coalesce(w.withheld, 1) = 1"""),
        queued_deliveries=queued,
        needs_ocr=one("""
            select count(*) from texts where status = 'needs_ocr' and sha256 in (
                select s.sha256 from sightings s join documents d on d.id = s.document_id where d.agency_id = ?1
                union select sha256 from recoveries where agency_id = ?1)"""))


def _last_alert(private: sqlite_utils.Database, agency_id: str) -> OperatorAlert | None:
    row = private.execute("select key, active, headline, changed_at from conditions where agency_id = ? "
                          "order by changed_at desc, key limit 1", [agency_id]).fetchone()
    if row is None:
        return None
    key, active, headline, changed_at = row
    return OperatorAlert(key, bool(active), headline or key, changed_at)
