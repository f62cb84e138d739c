"""The outbox: every message (digest, confirmation, operator alert) is a row first and sent second, so a channel
that fails is retried with back-off and nothing is lost when the process dies.

A message's content and idempotency key are fixed when it is queued; a retry resends exactly the same message.
States: ``queued`` → ``sending`` → ``sent``; back to ``queued`` (with ``next_attempt_at``) after a temporary
failure; ``failed`` after a permanent one or too many attempts. Only one sender runs at a time
(``alerts_lock``, see ``notify``), so a row found ``sending`` was left by a process that died mid-send:

- a webhook is sent again with the same ``Idempotency-Key``: at-least-once, and a receiver that keeps the keys
  it has seen processes it once;
- an email whose SMTP dialogue had not reached DATA is sent again (nothing was handed over);
- an email that had reached DATA may already be in the recipient's mailbox; it becomes ``unknown`` and is not
  sent again (at-most-once in that window; ``foiawatch status`` counts these).
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from typing import Any

import sqlite_utils

from ..archive.db import transaction
from ..archive.store import utcnow
from ..archive.vocabulary import MessagePurpose, MessageStatus, SubscriptionStatus
from .channels import DeliveryError, post_json, send_email
from .render import Rendered
from .safety import RefusedTarget, mask_in, mask_target
from .settings import AlertSettings

log = logging.getLogger(__name__)



@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.retrying} to retry, {self.failed} given up"


def new_key() -> str:
    return uuid.uuid4().hex


def queue(db: sqlite_utils.Database, purpose: str, channel: str, target: str, rendered: Rendered, *,
          key: str | None = None, fmt: str = "json", subscription_id: int | None = None) -> int:
    """Add a message to the outbox (inside the caller's transaction) and return its id. ``key`` is its
    idempotency key, when the content already names it."""
    cursor = db.execute(
        "insert into messages (subscription_id, purpose, channel, target, format, idempotency_key, subject, body, "
        "payload, next_attempt_at, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [subscription_id, purpose, channel, target, fmt, key or new_key(), rendered.subject, rendered.body,
         json.dumps(rendered.payload, ensure_ascii=False, sort_keys=True), utcnow(), utcnow()],
    )
    return int(cursor.lastrowid or 0)


def recover_orphans(db: sqlite_utils.Database) -> None:
    """Settle messages a dead sender left ``sending`` (see the module's doc). Call under the dispatch lock."""
    with transaction(db):
        orphans = list(db.query("select id, channel, target, phase from messages where status = ?",
                                [MessageStatus.SENDING]))
        for message in orphans:
            if message["channel"] == "email" and message["phase"] == "data":
                log.warning("message %s to %s: the sender stopped after handing it to the SMTP server; it may "
                            "have arrived and is not sent again", message["id"],
                            mask_target(message["channel"], message["target"]))
                db.execute("update messages set status = ?, last_error = ? where id = ?",
                           [MessageStatus.UNKNOWN, "sender stopped during SMTP DATA; outcome unknown", message["id"]])
            else:
                db.execute("update messages set status = ?, phase = null where id = ?",
                           [MessageStatus.QUEUED, message["id"]])


def send_due(db: sqlite_utils.Database, settings: AlertSettings) -> SendReport:
    """Attempt every queued message whose time has come, oldest first. Call under the dispatch lock."""
    report = SendReport()
    due = list(db.query("select m.*, s.status as subscription_status, s.unsubscribe_token from messages m "
                        "left join subscriptions s on s.id = m.subscription_id "
                        "where m.status = ? and m.next_attempt_at <= ? order by m.id",
                        [MessageStatus.QUEUED, utcnow()]))
    for message in due:
        if message["subscription_status"] == SubscriptionStatus.UNSUBSCRIBED:
            _finish(db, message["id"], MessageStatus.FAILED, "unsubscribed")
            continue
        outcome = _attempt(db, message, settings)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _attempt(db: sqlite_utils.Database, message: dict[str, Any], settings: AlertSettings) -> str:
    """One try at one message; returns "sent", "retrying" or "failed"."""
    attempts = message["attempts"] + 1
    with transaction(db):
        db.execute("update messages set status = ?, phase = 'connect', attempts = ?, last_attempt_at = ? "
                   "where id = ?", [MessageStatus.SENDING, attempts, utcnow(), message["id"]])
    target = mask_target(message["channel"], message["target"])
    try:
        if message["channel"] == "email":
            server = settings.smtp()
            if server is None:
                raise DeliveryError("email is not configured (set FOIAWATCH_SMTP_URL)")
            send_email(server, _email(message, settings), timeout=settings.timeout,
                       before_data=lambda: _set_phase(db, message["id"], "data"))
        else:
            key = message["idempotency_key"]
            post_json(message["target"], message["payload"].encode("utf-8"),
                      {"Idempotency-Key": key, "X-Foiawatch-Message": key}, timeout=settings.timeout,
                      # the operator's own webhook is configuration, not a subscriber's input: no SSRF risk
                      allow_private=settings.allow_private_webhooks or message["purpose"] == MessagePurpose.OPERATOR)
    except (DeliveryError, RefusedTarget, OSError) as error:
        error_text = mask_in(str(error), message["target"], target)
        permanent = isinstance(error, RefusedTarget) or getattr(error, "permanent", False)
        if permanent or attempts >= settings.max_attempts:
            log.error("message %s (%s) to %s given up after %d attempt(s): %s", message["id"], message["purpose"],
                      target, attempts, error_text)
            _finish(db, message["id"], MessageStatus.FAILED, error_text)
            return "failed"
        delay = min(settings.retry_base * 2 ** (attempts - 1), settings.retry_max)
        log.warning("message %s (%s) to %s failed (attempt %d), retrying in %.0f s: %s", message["id"],
                    message["purpose"], target, attempts, delay, error_text)
        retry_at = (datetime.now(UTC) + timedelta(seconds=delay)).isoformat(timespec="seconds")
        with transaction(db):
            db.execute("update messages set status = ?, phase = null, next_attempt_at = ?, last_error = ? "
                       "where id = ?", [MessageStatus.QUEUED, retry_at, error_text, message["id"]])
        return "retrying"
    _finish(db, message["id"], MessageStatus.SENT, None)
    log.info("message %s (%s) sent to %s", message["id"], message["purpose"], target)
    return "sent"


def _finish(db: sqlite_utils.Database, message_id: int, status: str, error: str | None) -> None:
    with transaction(db):
        db.execute("update messages set status = ?, phase = null, last_error = coalesce(?, last_error), "
                   "sent_at = case when ? = 'sent' then ? end where id = ?",
                   [status, error, status, utcnow(), message_id])


def _set_phase(db: sqlite_utils.Database, message_id: int, phase: str) -> None:
    with transaction(db):
        db.execute("update messages set phase = ? where id = ?", [phase, message_id])


def _email(message: dict[str, Any], settings: AlertSettings) -> EmailMessage:
    """The email for an outbox row. Header values that came from outside are checked (addresses) or flattened
    (subjects); the email package refuses any line break left in a header."""
    email = EmailMessage(policy=SMTP)
    email["From"] = settings.mail_from
    email["To"] = message["target"]
    email["Subject"] = message["subject"]
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = f"<{message['idempotency_key']}@{settings.mail_from.rpartition('@')[2] or 'foiawatch'}>"
    email["Auto-Submitted"] = "auto-generated"
    unsubscribe = settings.manage_link("unsubscribe", message["unsubscribe_token"] or "")
    if message["purpose"] == MessagePurpose.DIGEST and unsubscribe:
        email["List-Unsubscribe"] = f"<{unsubscribe}>"
    email.set_content(message["body"], cte="quoted-printable")
    return email
