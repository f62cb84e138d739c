"""From the archive's events to queued digests: one delivery row per (event, subscription), then one message per
subscriber listing all of its undelivered events, however many (an outage flagging 900 documents is one message).

The archive and the private database are separate files, so nothing here is one transaction across both; every
step is instead safe to repeat: deliveries are unique per (event, subscription), the events cursor only moves
after their deliveries are written, and a delivery joins a message in the same transaction that queues it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from ..archive import Archive
from ..archive.db import transaction
from ..archive.pii import is_withheld
from ..archive.state import get_state, set_state
from ..archive.store import utcnow
from ..archive.vocabulary import Channel, MessagePurpose, MessageStatus, SubscriptionStatus
from . import outbox, render
from .links import EventLinks
from .settings import AlertSettings
from .subscriptions import Subscription, subscriptions

CURSOR = "events_cursor"  # the last archive event id matched against the subscriptions
_BATCH = 1000


def fan_out(private: sqlite_utils.Database, archive: Archive) -> int:
    """Match events recorded since the last call against the active subscriptions; returns deliveries added."""
    active = subscriptions(private, SubscriptionStatus.ACTIVE)
    texts: dict[int, str | None] = {}

    def document_text(event: dict[str, Any]) -> str | None:
        """The document's newest extracted text, if it is public. A withheld text is never searched: a keyword
        matching it would tell the subscriber what the withheld file says (whether it holds a given SSN)."""
        if event["document_id"] and event["document_id"] not in texts:
            row = archive.db.execute(
                "select t.sha256, t.text from sightings s join texts t on t.sha256 = s.sha256 "
                "where s.document_id = ? and t.text is not null order by s.crawl_id desc limit 1",
                [event["document_id"]]).fetchone()
            texts[event["document_id"]] = row[1] if row and not is_withheld(archive, row[0]) else None
        return texts.get(event["document_id"])

    added, cursor = 0, int(get_state(private, CURSOR, "0"))
    while True:
        events = list(archive.db.query("select * from events where id > ? order by id limit ?", [cursor, _BATCH]))
        if not events:
            return added
        matched = [(event["id"], subscription.id, event["agency_id"], utcnow())
                   for event in events for subscription in active if subscription.matches(event, document_text)]
        cursor = events[-1]["id"]
        with transaction(private):
            added += private.conn.executemany(
                "insert or ignore into deliveries (event_id, subscription_id, agency_id, created_at) "
                "values (?, ?, ?, ?)", matched).rowcount
            set_state(private, CURSOR, str(cursor))


def queue_digests(private: sqlite_utils.Database, archive: Archive, settings: AlertSettings
                  ) -> list[int]:
    """Queue one digest per active subscription with undelivered events; returns the message ids."""
    links = EventLinks(archive, settings.public_url)
    agencies = dict(archive.db.execute("select id, name from agencies").fetchall())
    queued = []
    for subscription in subscriptions(private, SubscriptionStatus.ACTIVE):
        pending = [event_id for (event_id,) in private.execute(
            "select event_id from deliveries where subscription_id = ? and message_id is null order by event_id",
            [subscription.id])]
        if not pending:
            continue
        events = _events(archive, pending)
        for event in events:
            event["agency_name"] = agencies.get(event["agency_id"], event["agency_id"])
            event["links"] = links(event)
        key = outbox.new_key()
        rendered = render.digest(events, key=key, unsubscribe=unsubscribe_line(settings, subscription),
                                 filters=subscription.describe_filters(), slack=subscription.format == "slack")
        with transaction(private):
            message_id = outbox.queue(private, MessagePurpose.DIGEST, subscription.channel, subscription.target,
                                      rendered, key=key, fmt=subscription.format, subscription_id=subscription.id)
            private.conn.executemany("update deliveries set message_id = ? where subscription_id = ? and event_id = ?",
                                     [(message_id, subscription.id, event_id) for event_id in pending])
        queued.append(message_id)
    return queued


def queued_deliveries(private: sqlite_utils.Database, by: str) -> dict[object, int]:
    """Deliveries not sent yet (waiting for a digest, or in one queued or being sent), per "subscription" or
    "agency"."""
    column = {"subscription": "d.subscription_id", "agency": "d.agency_id"}[by]
    return dict(private.execute(
        f"select {column}, count(*) from deliveries d left join messages m on m.id = d.message_id "
        f"where m.id is null or m.status in (?, ?) group by {column}",
        [MessageStatus.QUEUED, MessageStatus.SENDING]).fetchall())


def unsubscribe_line(settings: AlertSettings, subscription: Subscription) -> str:
    link = settings.manage_link("unsubscribe", subscription.unsubscribe_token)
    if link:
        return f"Unsubscribe: {link}"
    return (f"To unsubscribe, send this token to the operator of this foiawatch instance: "
            f"{subscription.unsubscribe_token} (they run `foiawatch unsubscribe TOKEN`).")


def queue_confirmation(private: sqlite_utils.Database, settings: AlertSettings, subscription: Subscription) -> int:
    """Queue the double opt-in request of a pending email subscription."""
    token = subscription.confirm_token
    assert token is not None, "a pending subscription is given a confirmation token when it is created"
    link = settings.manage_link("confirm", token)
    how = (f"Confirm: {link}" if link else
           f"To confirm, send this token to the operator of this foiawatch instance: {token} "
           f"(they run `foiawatch confirm TOKEN`).")
    with transaction(private):
        return outbox.queue(private, MessagePurpose.CONFIRM, Channel.EMAIL, subscription.target,
                            render.confirmation(subscription.describe_filters(), how),
                            subscription_id=subscription.id)


def _events(archive: Archive, ids: Sequence[int]) -> list[dict[str, Any]]:
    events = []
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start:start + _BATCH]
        events += list(archive.db.query(f"select * from events where id in ({', '.join('?' * len(chunk))}) order by id",
                       list(chunk)))
    for event in events:
        event["evidence"] = json.loads(event["evidence"])
    return events
