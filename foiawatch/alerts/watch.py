"""Watching the watcher: conditions the operator must hear about, each announced once when it starts and once when
it ends, whatever the number of runs in between.

- ``stale:<agency>``    no complete crawl for longer than ``stale_after`` (the library down, blocked, or crawls
                        never finishing): a monitor that silently stops monitoring is the worst failure.
- ``failing:<agency>``  ``failed_runs`` runs in a row with a failed step (foiawatch itself broken: a crawl process
                        dying, a full disk). A library that is merely down is ``stale``, not ``failing``.
- ``wayback:<agency>``  the Wayback Machine rate-limits or refuses us (``RateLimited``, ``WaybackUnavailable``).
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
from ..archive.store import utcnow
from ..archive.vocabulary import (
    CrawlStatus,
    FetchOutcome,
    MessagePurpose,
    MessageStatus,
    RunStatus,
    StepStatus,
    SubscriptionStatus,
)
from . import outbox, render
from .safety import mask_target
from .settings import AlertSettings

log = logging.getLogger(__name__)

WAYBACK_TROUBLE = frozenset({"RateLimited", "WaybackUnavailable"})  # errors of crawler.wayback
WAYBACK_STEPS = ("wayback", "recover")


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
        f"{agency_id}: {streak} run(s) in a row failed" if streak else f"{agency_id}: runs succeed again",
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
    since = last["finished_at"] if last else first["started_at"]
    last_text = f"crawl {last['id']} at {since}" if last else "none"
    detail = (f"Last complete crawl: {last_text}.\n"
              f"Latest crawl: {latest['id']}, {latest['status']}"
              + (f" ({latest['status_reason']})" if latest["status_reason"] else "") + ".")
    age = age_seconds(since)
    if age > settings.stale_after:
        return Condition(f"stale:{agency_id}", agency_id, True,
                         f"{agency_id}: no complete crawl for {duration_text(age)}", detail)
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
    streak = 0
    errors: list[str] = []
    for run in private.query("select id, status, steps from runs where agency_id = ? order by id desc limit 100",
                             [agency_id]):
        if run["id"] != run_id and run["status"] not in (RunStatus.OK, RunStatus.FAILED):
            continue
        failed = [f"{name}: {step['error']}" for name, step in json.loads(run["steps"]).items()
                  if step["status"] == StepStatus.FAILED and step.get("error_type") not in WAYBACK_TROUBLE]
        if not failed:
            break
        streak += 1
        errors = errors or failed
    return streak, errors


def _wayback(private: sqlite_utils.Database, agency_id: str, run_id: int | None) -> Condition | None:
    """Judged from the run in progress: only a run that talked to the Wayback Machine knows anything."""
    if run_id is None:
        return None
    steps = json.loads(private.execute("select steps from runs where id = ?", [run_id]).fetchone()[0])
    ran = {name: steps[name] for name in WAYBACK_STEPS
           if steps.get(name, {}).get("status") in (StepStatus.OK, StepStatus.FAILED)}
    if not ran:
        return None
    trouble = [f"{name}: {step.get('error')}" for name, step in ran.items()
               if step.get("error_type") in WAYBACK_TROUBLE]
    if trouble:
        return Condition(f"wayback:{agency_id}", agency_id, True,
                         f"{agency_id}: the Wayback Machine is rate-limiting or refusing us", "\n".join(trouble))
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
        detail = (f"Message {message['id']}: {message['status']} after {message['attempts']} attempt(s); "
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
                "insert into conditions (key, agency_id, active, detail, since, changed_at) values (?, ?, ?, ?, ?, ?) "
                "on conflict(key) do update set active = excluded.active, detail = excluded.detail, "
                "since = excluded.since, changed_at = excluded.changed_at",
                [condition.key, condition.agency_id, int(condition.active), condition.detail, now, now])
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
