"""Watching the watcher: conditions the operator must hear about, each announced once when it starts and once when
it ends, whatever the number of runs in between.

- ``stale:<agency>``    no complete crawl for longer than ``stale_after`` (the library down, blocked, or crawls
                        never finishing): a monitor that silently stops monitoring is the worst failure.
- ``failing:<agency>``  ``failed_runs`` runs in a row with a failed step (foiawatch itself broken: a crawl process
                        dying, a full disk). A library that is merely down is ``stale``, not ``failing``.
- ``wayback:<agency>``  the Wayback Machine cannot be used: its name does not resolve, it refuses connections, TLS
                        fails, it times out, it answers 5xx (``WaybackUnavailable``) or rate-limits us
                        (``RateLimited``); the alert says which.
- ``blocked:<agency>:<host>``  the host answered ``blocked_probes`` probes of delisted documents in a row with a
                        block page: those documents cannot be verified (and are never called removed).
- ``delivery:<id>``     a subscriber's messages keep failing (``delivery_failures`` attempts, given up, or lost in
                        a crash mid-send).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils

from ..archive import Archive
from ..archive.db import transaction
from ..archive.failures import WHAT, classify_text
from ..archive.store import utcnow
from ..archive.vocabulary import (
    CrawlStatus,
    FailureKind,
    FetchOutcome,
    MessagePurpose,
    MessageStatus,
    RunStatus,
    StepStatus,
    SubscriptionStatus,
    counted,
)
from . import outbox, render
from .safety import mask_target
from .settings import AlertSettings

log = logging.getLogger(__name__)

WAYBACK_TROUBLE = frozenset({"RateLimited", "WaybackUnavailable", "CdxFormatError"})  # errors of wayback/
WAYBACK_STEPS = ("wayback", "recover")
# The operator alert's headline, by what happened (a DNS failure is not rate limiting).
WAYBACK_HEADLINES: dict[FailureKind, str] = {
    FailureKind.DNS: "cannot reach the Wayback Machine: DNS failure (its host name does not resolve)",
    FailureKind.REFUSED: "cannot reach the Wayback Machine: connection refused",
    FailureKind.TLS: "cannot reach the Wayback Machine: TLS error",
    FailureKind.TIMEOUT: "cannot reach the Wayback Machine: it does not answer in time",
    FailureKind.RESET: "the Wayback Machine keeps breaking off connections",
    FailureKind.RATE_LIMITED: "the Wayback Machine is rate-limiting us (429 Too Many Requests)",
    FailureKind.SERVER_ERROR: "the Wayback Machine is failing (server errors, 5xx)",
    FailureKind.BLOCKED: "the Wayback Machine refuses access",
    FailureKind.BAD_ANSWER: "the Wayback Machine answers with pages that are not CDX",
    FailureKind.OTHER: "the Wayback Machine cannot be used",
}


def _failure_kind(step: dict[str, Any]) -> FailureKind:
    """What happened, from a failed step: its recorded kind, else (runs recorded before kinds were) its error."""
    if step.get("error_kind") in set(FailureKind):
        return FailureKind(step["error_kind"])
    if step.get("error_type") == "RateLimited":
        return FailureKind.RATE_LIMITED
    return classify_text(step.get("error"))


@dataclass(frozen=True)
class Condition:
    key: str
    agency_id: str | None
    active: bool
    headline: str
    detail: str
    announce: bool = True  # False: change state silently (a subscription that ended is no news)


def agency_conditions(archive: Archive, private: sqlite_utils.Database, agency_id: str,
                      settings: AlertSettings, run_id: int | None = None) -> list[Condition]:
    """The agency's conditions as of now; ``run_id`` is the run in progress (its failed steps count)."""
    conditions = []
    stale = _stale(archive, agency_id, settings)
    if stale:
        conditions.append(stale)
    streak, errors = failed_streak(private, agency_id, run_id)
    conditions.append(Condition(
        f"failing:{agency_id}", agency_id, streak >= settings.failed_runs,
        f"{agency_id}: {counted(streak, 'run')} in a row failed" if streak else f"{agency_id}: runs succeed again",
        "\n".join(errors) or "The last run finished every step.",
    ))
    conditions += _blocked_probes(archive, private, agency_id, settings)
    wayback = _wayback(private, agency_id, run_id)
    if wayback:
        conditions.append(wayback)
    return conditions


def _stale(archive: Archive, agency_id: str, settings: AlertSettings) -> Condition | None:
    latest = archive.last_crawl(agency_id)
    if latest is None:
        return None  # never crawled: nothing to be stale yet
    last = archive.last_crawl(agency_id, CrawlStatus.COMPLETE)
    first = next(archive.crawls(agency_id))
    since = archive.last_complete_reading(agency_id) or first["started_at"]
    last_text = f"crawl {last['id']} at {last['finished_at']}" if last else "none"
    if last and since != last["finished_at"]:
        last_text += f"; the listing found unchanged by a watch pass at {since}"
    detail = (f"Last complete crawl: {last_text}.\n"
              f"Latest crawl: {latest['id']}, {latest['status']}"
              + (f" ({latest['status_reason']})" if latest["status_reason"] else "") + ".")
    age = age_seconds(since)
    if age > settings.stale_after:
        kind = classify_text(latest["status_reason"]) if latest["status"] != CrawlStatus.COMPLETE else None
        why = f" (latest crawl: {latest['status']}, {WHAT[kind]})" if kind and kind != FailureKind.OTHER else ""
        return Condition(f"stale:{agency_id}", agency_id, True,
                         f"{agency_id}: no complete crawl for {duration_text(age)}{why}", detail)
    return Condition(f"stale:{agency_id}", agency_id, False,
                     f"{agency_id}: complete crawls again (crawl {last['id'] if last else '?'})", detail)


def _blocked_probes(archive: Archive, private: sqlite_utils.Database, agency_id: str,
                    settings: AlertSettings) -> list[Condition]:
    """Per host, the probes of delisted documents in the last complete crawl that met a block page in a row (at
    the end of the crawl); a host that answers again ends its condition."""
    last = archive.last_crawl(agency_id, CrawlStatus.COMPLETE)
    runs: dict[str, list[str]] = {}
    for row in archive.db.query(
            "select d.url, s.outcome, s.error from sightings s join documents d on d.id = s.document_id "
            "where s.crawl_id = ? and s.listed = 0 order by s.id", [last["id"] if last else 0]):
        host = urlsplit(row["url"]).netloc
        run = runs.setdefault(host, [])
        if row["outcome"] == FetchOutcome.BLOCKED:
            run.append(f"{row['url']}: {row['error'] or 'blocked'}")
        else:
            run.clear()
    conditions = []
    for host, blocked in sorted(runs.items()):
        if len(blocked) >= settings.blocked_probes:
            conditions.append(Condition(
                f"blocked:{agency_id}:{host}", agency_id, True,
                f"{agency_id}: cannot verify {len(blocked)} delisted documents on {host}: blocked",
                "A block page answered where each document was, so whether it is still served cannot be told "
                "(none is called removed):\n" + "\n".join(blocked[:20])))
    active = {condition.key for condition in conditions}
    for (key,) in private.execute("select key from conditions where active = 1 and key like ?",
                                  [f"blocked:{agency_id}:%"]).fetchall():
        if key not in active:
            host = key.split(":", 2)[2]
            conditions.append(Condition(key, agency_id, False,
                                        f"{agency_id}: delisted documents on {host} can be checked again",
                                        "The last complete crawl's probes were not blocked."))
    return conditions


def failed_streak(private: sqlite_utils.Database, agency_id: str, run_id: int | None = None
                  ) -> tuple[int, list[str]]:
    """How many of the agency's latest runs failed in a row, with the errors of the latest. The run in progress
    counts if a step has failed already; interrupted and stopped runs are skipped; the Wayback Machine's refusals
    are the ``wayback`` condition's business, not a failure of foiawatch."""
    runs = failed_runs(private, agency_id, run_id)
    return len(runs), (_own_failures(runs[0]) if runs else [])


def failed_runs(private: sqlite_utils.Database, agency_id: str, run_id: int | None = None) -> list[dict[str, Any]]:
    """The agency's latest runs that failed in a row (newest first), as ``failed_streak`` counts them."""
    streak: list[dict[str, Any]] = []
    for run in private.query("select id, status, started_at, steps from runs where agency_id = ? "
                             "order by id desc limit 100", [agency_id]):
        if run["id"] != run_id and run["status"] not in (RunStatus.OK, RunStatus.FAILED):
            continue
        if not _own_failures(run):
            break
        streak.append(run)
    return streak


def _own_failures(run: dict[str, Any]) -> list[str]:
    return [f"{name}: {step['error']}" for name, step in json.loads(run["steps"]).items()
            if step["status"] == StepStatus.FAILED and step.get("error_type") not in WAYBACK_TROUBLE]


def failing_since(private: sqlite_utils.Database, agency_id: str) -> str | None:
    """When the agency's ``failing`` condition started, if it is in force."""
    row = private.execute("select since from conditions where key = ? and active = 1",
                          [f"failing:{agency_id}"]).fetchone()
    return row[0] if row else None


def _wayback(private: sqlite_utils.Database, agency_id: str, run_id: int | None) -> Condition | None:
    """Judged from the run in progress: only a run that talked to the Wayback Machine knows anything."""
    if run_id is None:
        return None
    steps = json.loads(private.execute("select steps from runs where id = ?", [run_id]).fetchone()[0])
    ran = {name: steps[name] for name in WAYBACK_STEPS
           if steps.get(name, {}).get("status") in (StepStatus.OK, StepStatus.FAILED)}
    if not ran:
        return None
    troubled = [(name, step) for name, step in ran.items() if step.get("error_type") in WAYBACK_TROUBLE]
    if troubled:
        kind = _failure_kind(troubled[0][1])
        return Condition(f"wayback:{agency_id}", agency_id, True, f"{agency_id}: {WAYBACK_HEADLINES[kind]}",
                         "\n".join(f"{name}: {step.get('error')}" for name, step in troubled))
    return Condition(f"wayback:{agency_id}", agency_id, False, f"{agency_id}: the Wayback Machine answers again",
                     ", ".join(ran) + " finished.")


def delivery_conditions(private: sqlite_utils.Database, settings: AlertSettings) -> list[Condition]:
    """One condition per subscription that was ever sent something, judged by its latest message."""
    conditions = []
    for message in private.query("""
            select m.*, s.status as subscription_status from messages m join subscriptions s on s.id = m.subscription_id
            where m.id in (select max(id) from messages where purpose = ? group by subscription_id)""",
                                 [MessagePurpose.DIGEST]):
        who = mask_target(message["channel"], message["target"])
        troubled = message["status"] in (MessageStatus.FAILED, MessageStatus.UNKNOWN) or (
            message["status"] == MessageStatus.QUEUED and message["attempts"] >= settings.delivery_failures)
        active = troubled and message["subscription_status"] == SubscriptionStatus.ACTIVE
        headline = (f"alerts to {who} (subscription {message['subscription_id']}) are not getting through" if active
                    else f"alerts to {who} (subscription {message['subscription_id']}) are delivered again")
        detail = (f"Message {message['id']}: {message['status']} after {counted(message['attempts'], 'attempt')}; "
                  f"last error: {message['last_error'] or 'none'}.")
        conditions.append(Condition(f"delivery:{message['subscription_id']}", None, active, headline, detail,
                                    announce=message["subscription_status"] == SubscriptionStatus.ACTIVE))
    return conditions


def apply(private: sqlite_utils.Database, settings: AlertSettings, conditions: list[Condition]) -> list[str]:
    """Record the conditions and queue an operator alert for each that started or ended; returns those keys."""
    changed = []
    with transaction(private):
        for condition in conditions:
            previous = private.execute("select active from conditions where key = ?", [condition.key]).fetchone()
            was_active = bool(previous and previous[0])
            if condition.active == was_active:
                if condition.active:
                    private.execute("update conditions set detail = ? where key = ?",
                                    [condition.detail, condition.key])
                continue
            now = utcnow()
            private.execute(
                "insert into conditions (key, agency_id, active, detail, headline, since, changed_at) "
                "values (?, ?, ?, ?, ?, ?, ?) on conflict(key) do update set active = excluded.active, "
                "detail = excluded.detail, headline = excluded.headline, since = excluded.since, "
                "changed_at = excluded.changed_at",
                [condition.key, condition.agency_id, int(condition.active), condition.detail, condition.headline,
                 now, now])
            if condition.announce:
                changed.append(condition.key)
                _announce(private, settings, condition)
    return changed


def _announce(private: sqlite_utils.Database, settings: AlertSettings, condition: Condition) -> None:
    (log.warning if condition.active else log.info)("operator alert: %s", condition.headline)
    notice = render.operator_notice(condition.key, condition.active, condition.headline, condition.detail)
    channels = [("email", settings.operator_email), ("webhook", settings.operator_webhook)]
    for channel, target in channels:
        if target:
            outbox.queue(private, MessagePurpose.OPERATOR, channel, target, notice)


def active_conditions(private: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(private.query("select * from conditions where active = 1 order by key"))


def age_seconds(iso: str) -> float:
    return (datetime.now(UTC) - datetime.fromisoformat(iso)).total_seconds()


def duration_text(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"
