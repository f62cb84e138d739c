"""The private database's tables: subscribers, what was sent to them, the operator's alert state, and the history of
pipeline runs. Never published (docs/DESIGN.md, "Public vs private")."""

from __future__ import annotations

import sqlite_utils

from ..migrations import execute_script

_TABLES = """
create table if not exists subscriptions (
    id integer primary key,
    channel text not null,                  -- email | webhook
    target text not null,                   -- address or URL (never logged in full)
    format text not null default 'json',    -- webhooks: json | slack
    agencies text not null default '[]',    -- JSON list; empty = every agency
    kinds text not null,                    -- JSON list of event kinds
    section text,                           -- case-insensitive part of the section heading
    keyword text,                           -- case-insensitive part of title, summary or document text
    status text not null,                   -- pending (email not confirmed) | active | unsubscribed
    confirm_token text unique,
    unsubscribe_token text not null unique,
    after_event_id integer not null default 0,  -- events up to this one predate the subscription
    created_at text not null,
    confirmed_at text,
    unsubscribed_at text
);

create table if not exists messages (
    id integer primary key,
    subscription_id integer references subscriptions(id),  -- null for the operator's alerts
    purpose text not null,                  -- digest | confirm | operator
    channel text not null,
    target text not null,
    format text not null default 'json',
    idempotency_key text not null unique,   -- webhook Idempotency-Key header, email Message-ID
    subject text not null,
    body text not null,                     -- plain text
    payload text,                           -- JSON for webhooks
    status text not null default 'queued',  -- queued | sending | sent | failed | unknown
    phase text,                             -- while sending email: connect | data (DATA may have reached the server)
    attempts integer not null default 0,
    next_attempt_at text not null,
    last_attempt_at text,
    last_error text,
    sent_at text,
    created_at text not null
);
create index if not exists messages_due on messages (status, next_attempt_at);
create index if not exists messages_subscription on messages (subscription_id, id);

create table if not exists deliveries (
    id integer primary key,
    event_id integer not null,              -- events.id in the archive
    subscription_id integer not null references subscriptions(id),
    agency_id text not null,
    message_id integer references messages(id),  -- null while queued for the next digest
    created_at text not null,
    unique (event_id, subscription_id)
);
create index if not exists deliveries_unbatched on deliveries (subscription_id) where message_id is null;
create index if not exists deliveries_message on deliveries (message_id);

create table if not exists conditions (
    key text primary key,                   -- e.g. stale:ice, failing:ice, wayback:ice, delivery:12
    agency_id text,
    active integer not null,
    detail text,
    since text,
    changed_at text not null
);

create table if not exists runs (
    id integer primary key,
    agency_id text not null,
    started_at text not null,
    finished_at text,
    status text not null,                   -- running | ok | failed | stopped
    steps text not null default '{}'        -- JSON: step name -> {status, detail, error, error_type, seconds}
);
create index if not exists runs_agency on runs (agency_id, id);

create table if not exists state (
    key text primary key,
    value text
);
"""


def create_tables(db: sqlite_utils.Database) -> None:
    execute_script(db, _TABLES)


def add_condition_headlines(db: sqlite_utils.Database) -> None:
    """Keep each operator condition's headline as last announced, for ``foiawatch status`` ("last operator
    alert"); conditions recorded before this have none and are shown by their key. (Migration 0001's comment on
    ``subscriptions.section`` is history: since this release the section is compared exactly, as everywhere.)"""
    db.execute("alter table conditions add column headline text")
