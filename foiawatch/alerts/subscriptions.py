"""Subscriptions: who wants which events, through which channel, and the tokens that confirm and end them.

Email subscriptions start ``pending`` and only become ``active`` through the confirmation token mailed to the
address (double opt-in), so nobody can sign a stranger up for alerts. A subscription receives the events recorded
after it became active, never the archive's backlog.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from ..archive.db import transaction
from ..archive.store import utcnow
from ..archive.vocabulary import Channel, EventKind, SubscriptionStatus
from .safety import check_email, check_webhook_url, mask_target, resolve_webhook

DEFAULT_KINDS = (EventKind.REMOVED, EventKind.SECTION_REMOVED, EventKind.OUTAGE, EventKind.REMOVED_BEFORE_MONITORING)
FORMATS = ("json", "slack")


class SubscriptionError(ValueError):
    """A subscription request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class Subscription:
    id: int
    channel: str
    target: str
    format: str
    agencies: tuple[str, ...]
    kinds: tuple[str, ...]
    section: str | None
    keyword: str | None
    status: str
    unsubscribe_token: str
    confirm_token: str | None
    after_event_id: int

    def public_dict(self, queued: int | None = None) -> dict[str, Any]:
        """What ``--json`` shows of a subscription: the address masked, no tokens."""
        data: dict[str, Any] = {
            "id": self.id, "status": self.status, "channel": self.channel,
            "target": mask_target(self.channel, self.target), "format": self.format,
            "agencies": list(self.agencies), "kinds": list(self.kinds), "section": self.section,
            "keyword": self.keyword, "filters": self.describe_filters()}
        if queued is not None:
            data["queued_deliveries"] = queued
        return data

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Subscription:
        return cls(row["id"], row["channel"], row["target"], row["format"], tuple(json.loads(row["agencies"])),
                   tuple(json.loads(row["kinds"])), row["section"], row["keyword"], row["status"],
                   row["unsubscribe_token"], row["confirm_token"], row["after_event_id"])

    def matches(self, event: dict[str, Any], document_text: Callable[[dict[str, Any]], str | None]) -> bool:
        """Whether an event passes this subscription's filters. ``document_text`` is asked only when a keyword is
        not found in the event itself (it reads the archived document's text, and never a withheld one)."""
        if event["id"] <= self.after_event_id or event["kind"] not in self.kinds:
            return False
        if self.agencies and event["agency_id"] not in self.agencies:
            return False
        if self.section and (event["section"] or "") != self.section:  # exactly, as --section means everywhere
            return False
        if not self.keyword:
            return True
        keyword = self.keyword.casefold()
        own = " ".join(str(event[key] or "") for key in ("title", "summary", "section", "url"))
        evidence = event["evidence"] if isinstance(event["evidence"], str) else json.dumps(event["evidence"])
        return keyword in (own + " " + evidence).casefold() or keyword in (document_text(event) or "").casefold()

    def describe_filters(self) -> str:
        parts = [f"kinds: {', '.join(self.kinds)}", f"agencies: {', '.join(self.agencies) or 'all'}"]
        parts += [f"section “{self.section}”"] if self.section else []
        parts += [f"mentions “{self.keyword}”"] if self.keyword else []
        return "; ".join(parts)


def _token() -> str:
    """A confirmation or unsubscribe token (192 random bits, URL-safe) that never starts with "-", which a command
    line would read as an option: `foiawatch unsubscribe TOKEN` must work as the messages say."""
    while True:
        token = secrets.token_urlsafe(24)
        if not token.startswith("-"):
            return token


def subscribe(db: sqlite_utils.Database, channel: str, target: str, *, latest_event_id: int,
              allow_private_webhooks: bool = False, agencies: Sequence[str] = (),
              kinds: Sequence[str] = DEFAULT_KINDS, section: str | None = None, keyword: str | None = None,
              fmt: str = "json") -> Subscription:
    """Record a subscription. Webhooks are active at once (their URL is checked, and refused if it resolves to a
    private address); email waits for its confirmation token."""
    unknown = sorted(set(kinds) - set(EventKind))
    if unknown or not kinds:
        raise SubscriptionError(f"unknown event kind {unknown[0]!r}; known: {', '.join(EventKind)}" if unknown
                                else "name at least one event kind")
    if fmt not in FORMATS:
        raise SubscriptionError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    if channel == Channel.EMAIL:
        target, status = check_email(target), SubscriptionStatus.PENDING
    elif channel == Channel.WEBHOOK:
        target, status = check_webhook_url(target), SubscriptionStatus.ACTIVE
        try:
            resolve_webhook(target, allow_private_webhooks)
        except OSError as error:
            raise SubscriptionError(str(error)) from None
    else:
        raise SubscriptionError(f"unknown channel {channel!r}; known: {Channel.EMAIL}, {Channel.WEBHOOK}")
    now = utcnow()
    with transaction(db):
        cursor = db.execute(
            "insert into subscriptions (channel, target, format, agencies, kinds, section, keyword, status, "
            "confirm_token, unsubscribe_token, after_event_id, created_at, confirmed_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [channel, target, fmt if channel == Channel.WEBHOOK else "text", json.dumps(sorted(set(agencies))),
             json.dumps([k for k in EventKind if k in kinds]), section or None, keyword or None, status,
             _token() if status == SubscriptionStatus.PENDING else None, _token(),
             latest_event_id, now, now if status == SubscriptionStatus.ACTIVE else None],
        )
    return get(db, int(cursor.lastrowid or 0))


def confirm(db: sqlite_utils.Database, token: str, *, latest_event_id: int) -> Subscription:
    """Activate the pending subscription holding this confirmation token (confirming twice is harmless)."""
    with transaction(db):
        found = db.execute("select id, status from subscriptions where confirm_token = ?", [token]).fetchone()
        if not found:
            raise SubscriptionError("no subscription has this confirmation token")
        if found[1] == SubscriptionStatus.PENDING:
            db.execute("update subscriptions set status = ?, confirmed_at = ?, after_event_id = ? where id = ?",
                       [SubscriptionStatus.ACTIVE, utcnow(), latest_event_id, found[0]])
    return get(db, found[0])


def unsubscribe(db: sqlite_utils.Database, token: str | None = None, subscription_id: int | None = None
                ) -> Subscription:
    """End a subscription, by the token every message carries or (for the operator) by id. Deliveries not yet in
    a message are dropped; messages already queued are dropped when their turn comes (``outbox.send_due``)."""
    key, value = ("unsubscribe_token", token) if token else ("id", subscription_id)
    with transaction(db):
        found = db.execute(f"select id from subscriptions where {key} = ?", [value]).fetchone()
        if not found:
            raise SubscriptionError("no subscription has this unsubscribe token" if token
                                    else f"no subscription {subscription_id}")
        db.execute("update subscriptions set status = ?, unsubscribed_at = coalesce(unsubscribed_at, ?) "
                   "where id = ?", [SubscriptionStatus.UNSUBSCRIBED, utcnow(), found[0]])
        db.execute("delete from deliveries where subscription_id = ? and message_id is null", [found[0]])
    return get(db, found[0])


def get(db: sqlite_utils.Database, subscription_id: int) -> Subscription:
    return Subscription.from_row(next(db.query("select * from subscriptions where id = ?", [subscription_id])))


def subscriptions(db: sqlite_utils.Database, status: str | None = None) -> list[Subscription]:
    where = " where status = ?" if status else ""
    return [Subscription.from_row(row)
            for row in db.query(f"select * from subscriptions{where} order by id", [status] if status else [])]
