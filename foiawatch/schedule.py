"""The scheduler: each agency's chain (``pipeline.run_pipeline``) on the cron schedule of its config.

APScheduler 3 does the timing, with its job store in the private database so the schedule survives restarts:

- ``max_instances=1``: a run still going when the next one is due makes that one skip (and the per-agency lock
  in the pipeline stops a ``foiawatch run`` from overlapping a scheduled run);
- ``coalesce=True`` and no misfire limit: runs missed while foiawatch was down are made up by exactly one run;
- a failing run is recorded and logged by the pipeline and never reaches the scheduler, which simply runs it
  again at the next time;
- SIGTERM or SIGINT sets ``STOP``: the running chains stop between two steps, then the scheduler exits.

Cron expressions are read in UTC.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger

from .archive import Archive, DataDir
from .archive.datadir import DataDirLike
from .archive.state import SCHEDULE_JOBS_TABLE, open_private, schedule_job_id
from .config import AgencyConfig, cron_trigger
from .pipeline import RunInProgress, Step, run_pipeline

log = logging.getLogger(__name__)

STOP = threading.Event()  # set by SIGTERM/SIGINT; the running chains check it between steps
JOBS_TABLE = SCHEDULE_JOBS_TABLE
_RUNNING: BackgroundScheduler | None = None  # the scheduler of this process, which confirmation runs are added to


def agency_trigger(config: AgencyConfig) -> BaseTrigger:
    """An agency's runs: on its watch cadence when it watches listing-first (each run revalidates when that is
    due), else on its [agency] schedule."""
    return cron_trigger(config.passes.watch or config.schedule)


def scheduled_run(config: AgencyConfig, data_dir: str, steps: Sequence[tuple[str, Step]] | None = None) -> None:
    """The job: one run of the chain. Module-level, with picklable arguments, so the job store can keep it."""
    try:
        run_pipeline(config, data_dir, steps=steps, stop=STOP)
    except RunInProgress as busy:
        log.warning("%s; this scheduled run is skipped", busy)
        return
    _confirm_soon(config, data_dir, steps)


def _confirm_soon(config: AgencyConfig, data_dir: str, steps: Sequence[tuple[str, Step]] | None) -> None:
    """A watch run that left documents one confirmation short runs again ``[passes] confirm_after`` minutes later
    instead of at the next watch time: a takedown is announced sooner, by the same rule."""
    delay = config.passes.confirm_after
    if not config.passes.watch or not delay or _RUNNING is None or STOP.is_set():
        return
    with Archive(data_dir) as archive:
        pending = archive.pending_removals(config.id)
    if pending:
        when = datetime.now(UTC) + timedelta(minutes=delay)
        _RUNNING.add_job(scheduled_run, DateTrigger(when), args=(config, data_dir, steps),
                         id=confirmation_job_id(config.id), name=f"{config.id} (confirmation)",
                         replace_existing=True)
        log.info("%s: %d document(s) await confirmation; next pass at %s", config.id, pending,
                 when.isoformat(timespec="seconds"), extra={"agency": config.id})


def confirmation_job_id(agency_id: str) -> str:
    return schedule_job_id(agency_id) + ":confirm"


def start_scheduler(configs: Sequence[AgencyConfig], data_dir: DataDirLike, *,
                    trigger_for: Callable[[AgencyConfig], BaseTrigger] = agency_trigger,
                    steps: Sequence[tuple[str, Step]] | None = None) -> BackgroundScheduler:
    """Start a background scheduler running exactly these agencies, resuming the stored schedule."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # SQLAlchemy: only the scheduler needs it

    data_dir = DataDir.at(data_dir)
    open_private(data_dir).close()  # creates the database and its directory
    store = SQLAlchemyJobStore(url=f"sqlite:///{data_dir.private_db}", tablename=JOBS_TABLE,
                               engine_options={"connect_args": {"timeout": 30}})
    scheduler = BackgroundScheduler(
        jobstores={"default": store}, executors={"default": ThreadPoolExecutor(max(2, len(configs)))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}, timezone=UTC,
    )
    scheduler.start(paused=True)
    wanted = {schedule_job_id(config.id): config for config in configs}
    confirmations = {confirmation_job_id(agency_id) for agency_id in (config.id for config in configs)}
    for job in scheduler.get_jobs():
        if job.id not in wanted and job.id not in confirmations:
            job.remove()
    for job_id, config in wanted.items():
        trigger, args = trigger_for(config), (config, str(data_dir), steps)
        job = scheduler.get_job(job_id)
        if job is None:
            scheduler.add_job(scheduled_run, trigger, args=args, id=job_id, name=config.id)
            continue
        if str(job.trigger) != str(trigger):
            job.reschedule(trigger)  # a new schedule starts from now; an unchanged one keeps its next run time
        job.modify(args=args)
    scheduler.resume()
    global _RUNNING
    _RUNNING = scheduler
    return scheduler


def serve(configs: Sequence[AgencyConfig], data_dir: DataDirLike, *,
          trigger_for: Callable[[AgencyConfig], BaseTrigger] = agency_trigger,
          steps: Sequence[tuple[str, Step]] | None = None) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT; returns once running chains have stopped."""
    STOP.clear()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: STOP.set())
    scheduler = start_scheduler(configs, data_dir, trigger_for=trigger_for, steps=steps)
    for job in scheduler.get_jobs():
        log.info("%s: next run at %s", job.name, job.next_run_time)
    STOP.wait()
    log.info("stopping: waiting for running chains to finish their current step")
    scheduler.shutdown(wait=True)
