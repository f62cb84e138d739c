"""The operating state beside the archive: the private database, the history of pipeline runs, and the locks that
keep two runs of one agency, or two alert senders, from overlapping.

``private.db`` holds subscribers and what was sent to them, the operator's alert conditions, the runs and the
scheduler's jobs. It is never published (docs/DESIGN.md, "Public vs private").
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, overload

import sqlite_utils

from ..config import cron_trigger
from . import schema
from .datadir import DataDir, DataDirLike
from .db import connect, transaction
from .store import utcnow
from .vocabulary import RunStatus, StepStatus


class Locked(RuntimeError):
    """Someone else holds the lock."""


def open_private(data_dir: DataDirLike) -> sqlite_utils.Database:
    """Open (and if needed create, or migrate) the private database of a data directory.

    Autocommit: writes that belong together use ``db.transaction``. FULL sync: its rows record what was sent.
    """
    data_dir = DataDir.at(data_dir)
    data_dir.root.mkdir(parents=True, exist_ok=True)
    db = connect(data_dir.private_db, autocommit=True, synchronous="FULL")
    schema.PRIVATE.apply(db)
    return db


@contextmanager
def file_lock(path: Path, *, wait: bool = True) -> Iterator[None]:
    """An exclusive lock across threads and processes, released when the block ends (or its process dies).
    Raises ``Locked`` at once when ``wait`` is false and someone holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise Locked(str(path)) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# runs ---------------------------------------------------------------------------------------------------------


def start_run(private: sqlite_utils.Database, agency_id: str) -> int:
    with transaction(private):
        cursor = private.execute("insert into runs (agency_id, started_at, status) values (?, ?, ?)",
                                 [agency_id, utcnow(), RunStatus.RUNNING])
    return int(cursor.lastrowid or 0)


def record_run(private: sqlite_utils.Database, run_id: int, status: str, steps: Mapping[str, Any], *,
               finished: bool = False) -> None:
    """The run's steps so far (name -> their outcome), its status, and when it finished."""
    with transaction(private):
        private.execute("update runs set steps = ?, status = ?, finished_at = ? where id = ?",
                        [json.dumps(steps), status, utcnow() if finished else None, run_id])


def last_step_success(private: sqlite_utils.Database, agency_id: str, step: str) -> str | None:
    """When the last run in which ``step`` succeeded started (ISO time), or None."""
    (last,) = private.execute(
        "select max(started_at) from runs where agency_id = ? and json_extract(steps, '$.' || ? || '.status') = ?",
        [agency_id, step, StepStatus.OK]).fetchone()
    return last


def baseline_due_at(private: sqlite_utils.Database, agency_id: str, wayback_schedule: str) -> datetime:
    """When an agency's Wayback baseline is next due: at once if it never succeeded, else the first time its
    ``[wayback] schedule`` fires after the last success (times in UTC)."""
    last = last_step_success(private, agency_id, "wayback")
    if last is None:
        return datetime.min.replace(tzinfo=UTC)
    after = datetime.fromisoformat(last) + timedelta(seconds=1)
    return cron_trigger(wayback_schedule).get_next_fire_time(None, after)


# the scheduler's job store --------------------------------------------------------------------------------------

# APScheduler keeps its jobs in this table of private.db (``foiawatch.schedule``); ``next_run_time`` is a plain
# column (seconds since the epoch, UTC; null while paused), so the operator's view reads it without APScheduler.
SCHEDULE_JOBS_TABLE = "schedule_jobs"


def schedule_job_id(agency_id: str) -> str:
    return f"agency:{agency_id}"


def scheduled_runs(private: sqlite_utils.Database) -> dict[str, datetime | None]:
    """Each scheduled agency's next run time as the job store holds it (None: paused), the sooner of its regular run
    and a confirmation run (``agency:ID:confirm``); empty without a store."""
    if not private[SCHEDULE_JOBS_TABLE].exists():
        return {}
    found: dict[str, datetime | None] = {}
    for job_id, next_run in private.execute(f"select id, next_run_time from {SCHEDULE_JOBS_TABLE}").fetchall():
        if not str(job_id).startswith("agency:"):
            continue
        agency = str(job_id).removeprefix("agency:").split(":", 1)[0]
        when = None if next_run is None else datetime.fromtimestamp(float(next_run), UTC)
        known = found.get(agency)
        if agency not in found or (when is not None and (known is None or when < known)):
            found[agency] = when
    return found


# small facts ----------------------------------------------------------------------------------------------------


@overload
def get_state(db: sqlite_utils.Database, key: str, default: str) -> str: ...
@overload
def get_state(db: sqlite_utils.Database, key: str, default: None = None) -> str | None: ...
def get_state(db: sqlite_utils.Database, key: str, default: str | None = None) -> str | None:
    """The value ``set_state`` stored under ``key`` (always a string), or ``default``."""
    row = db.execute("select value from state where key = ?", [key]).fetchone()
    return row[0] if row else default


def set_state(db: sqlite_utils.Database, key: str, value: str) -> None:
    db.execute("insert into state (key, value) values (?, ?) on conflict(key) do update set value = excluded.value",
               [key, value])
