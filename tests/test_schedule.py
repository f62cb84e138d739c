"""The scheduler on a fast clock: the real APScheduler set-up and pipeline runs, with steps that only sleep or fail,
so that timing (overlap, make-up runs after downtime, SIGTERM between steps) is what is tested."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from foiawatch.archive.state import open_private
from foiawatch.config import AgencyConfig, cron_trigger, find_config
from foiawatch.pipeline import RunContext
from foiawatch.schedule import serve, start_scheduler

ROOT = Path(__file__).resolve().parents[1]
SLEEP = {"fast": 0.05, "slow": 2.5}
_lock = threading.Lock()
running: dict[str, int] = defaultdict(int)
most_at_once: dict[str, int] = defaultdict(int)
starts: dict[str, list[float]] = defaultdict(list)


def work(context: RunContext) -> str:
    """A step that sleeps (or fails, for the agency "broken"), noting how many runs of its agency overlap."""
    agency = context.config.id
    with _lock:
        running[agency] += 1
        most_at_once[agency] = max(most_at_once[agency], running[agency])
        starts[agency].append(time.time())
    try:
        if agency == "broken":
            raise RuntimeError("the library config is broken")
        time.sleep(SLEEP[agency])
        return "slept"
    finally:
        with _lock:
            running[agency] -= 1


STEPS = (("work", work),)


def agency(agency_id: str) -> AgencyConfig:
    return replace(find_config("demo"), id=agency_id)


def every_second(config: AgencyConfig) -> IntervalTrigger:
    return IntervalTrigger(seconds=1)


def runs(data_dir: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for run in open_private(data_dir).query("select agency_id, status from runs order by id"):
        found[run["agency_id"]].append(run["status"])
    return found


def test_agencies_run_on_schedule_without_overlap_and_a_failure_stops_nothing(tmp_path):
    scheduler = start_scheduler([agency("fast"), agency("slow"), agency("broken")], tmp_path,
                                trigger_for=every_second, steps=STEPS)
    time.sleep(4.6)
    scheduler.shutdown(wait=True)
    recorded = runs(tmp_path)
    assert len(recorded["fast"]) >= 3 and set(recorded["fast"]) == {"ok"}
    assert len(recorded["broken"]) >= 3 and set(recorded["broken"]) == {"failed"}, "retried every time"
    assert 1 <= len(recorded["slow"]) <= 2, "a run due while the last one runs is skipped, not queued"
    assert dict(most_at_once) == {"fast": 1, "slow": 1, "broken": 1}


def test_restart_resumes_the_stored_schedule_and_makes_up_missed_runs_once(tmp_path):
    fast = agency("fast")
    starts["fast"].clear()
    scheduler = start_scheduler([fast], tmp_path, trigger_for=every_second, steps=STEPS)
    grid = scheduler.get_job("agency:fast").trigger.start_date.timestamp()  # regular runs: grid + whole seconds
    time.sleep(1.5)
    scheduler.shutdown(wait=True)
    assert len(starts["fast"]) == 1
    time.sleep(max(0.0, grid + 4.5 - time.time()))  # runs are missed; restart halfway between two regular ones
    restarted = time.time()
    scheduler = start_scheduler([fast], tmp_path, trigger_for=every_second, steps=STEPS)
    next_regular = grid + 5
    time.sleep(max(0.0, next_regular - 0.05 - time.time()))
    scheduler.shutdown(wait=True)
    made_up = [t - restarted for t in starts["fast"][1:] if t < next_regular]
    assert len(made_up) == 1, "the missed runs are made up by one run"
    assert made_up[0] < 0.3, "at once: the stored schedule was resumed (a new job would wait a full interval)"
    assert set(runs(tmp_path)["fast"]) == {"ok"}


def test_agencies_no_longer_named_are_unscheduled(tmp_path):
    scheduler = start_scheduler([agency("fast"), agency("slow")], tmp_path, trigger_for=every_second, steps=STEPS)
    scheduler.shutdown(wait=False)
    scheduler = start_scheduler([agency("fast")], tmp_path, trigger_for=every_second, steps=STEPS)
    assert [job.id for job in scheduler.get_jobs()] == ["agency:fast"]
    scheduler.shutdown(wait=False)


def test_cron_days_of_week_are_read_as_cron_reads_them():
    after = datetime(2024, 5, 1, tzinfo=UTC)  # a Wednesday
    weekday = {expression: cron_trigger(expression).get_next_fire_time(None, after).strftime("%a")
               for expression in ("0 3 * * 0", "0 3 * * 7", "0 3 * * 1-5", "0 3 * * 6")}
    assert weekday == {"0 3 * * 0": "Sun", "0 3 * * 7": "Sun", "0 3 * * 1-5": "Wed", "0 3 * * 6": "Sat"}


def first(context: RunContext) -> str:
    (context.data_dir.root / "first-started").touch()
    time.sleep(1.5)
    return "finished"


def second(context: RunContext) -> str:
    (context.data_dir.root / "second-started").touch()
    return "should not run"


def serve_until_signalled(data_dir: str) -> None:
    """Run in a child process by the SIGTERM test: one agency, due at once (however long the child took to start:
    an interval trigger whose start had passed would wait a whole interval), two steps."""
    serve([agency("sigterm")], Path(data_dir), steps=(("first", first), ("second", second)),
          trigger_for=lambda config: DateTrigger(run_date=datetime.now(UTC)))


def test_sigterm_stops_the_scheduler_between_steps(tmp_path):
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; from tests.test_schedule import serve_until_signalled; "
                               "serve_until_signalled(sys.argv[1])", str(tmp_path)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120  # a start-up wait, generous for a loaded machine
        while not (tmp_path / "first-started").exists():
            assert time.monotonic() < deadline and child.poll() is None, child.stderr.read() if child.poll() else ""
            time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=60) == 0
    finally:
        child.kill()
    assert not (tmp_path / "second-started").exists()
    (run,) = list(open_private(tmp_path).query("select status, steps from runs"))
    assert run["status"] == "stopped" and '"first": {"status": "ok"' in run["steps"]


# `foiawatch schedule` as typed, on the fast clock ---------------------------------------------------------------


def noted(context: RunContext) -> str:
    """A step that only notes which agency ran (no crawl, nothing fetched)."""
    (context.data_dir.root / f"ran-{context.config.id}").touch()
    return "noted"


def schedule_command(*args: str) -> None:
    """Run in a child process: `foiawatch schedule ARGS` through the real command line (agency selection, config
    loading, settings checks), with the scheduler on the fast clock and a step that only notes the run."""
    import functools

    from foiawatch.cli import cli
    from foiawatch.commands import run as run_command

    run_command.serve = functools.partial(serve, trigger_for=every_second, steps=(("noted", noted),))
    cli.main(["schedule", *args], prog_name="foiawatch")


def run_schedule_until(tmp_path: Path, args: list[str], wanted: set[str]) -> set[str]:
    """Start `foiawatch schedule ARGS` in a child, wait until every agency in ``wanted`` ran (and a second more),
    stop it with SIGTERM; returns the agencies that ran."""
    data_dir = tmp_path / "data"
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; from tests.test_schedule import schedule_command; "
                               "schedule_command(*sys.argv[1:])", *args, "--data-dir", str(data_dir)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "FOIAWATCH_SMTP_URL": ""},
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120  # a start-up wait, generous for a loaded machine
        while not wanted <= {path.name.removeprefix("ran-") for path in data_dir.glob("ran-*")}:
            assert time.monotonic() < deadline and child.poll() is None, child.stderr.read() if child.poll() else ""
            time.sleep(0.1)
        time.sleep(1.2)  # every scheduled agency has had a turn
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == 0, child.stderr.read()
    finally:
        child.kill()
    return {path.name.removeprefix("ran-") for path in data_dir.glob("ran-*")}


def two_agencies(tmp_path: Path) -> Path:
    config_dir = tmp_path / "configs"
    config_dir.mkdir()
    text = (ROOT / "foiawatch" / "agencies" / "demo.toml").read_text()
    for agency_id in ("alpha", "beta"):
        (config_dir / f"{agency_id}.toml").write_text(text.replace('id = "demo"', f'id = "{agency_id}"'))
    return config_dir


def test_schedule_with_no_argument_runs_every_configured_agency(tmp_path):
    config_dir = two_agencies(tmp_path)
    # Both agencies of --config-dir and only them: the bundled configs are a catalogue, not a list to watch.
    expected = {"alpha", "beta"}
    ran = run_schedule_until(tmp_path, ["--config-dir", str(config_dir)], expected)
    assert ran == expected
    jobs = {row[0] for row in open_private(tmp_path / "data").execute("select id from schedule_jobs")}
    assert jobs == {f"agency:{agency}" for agency in expected}
    recorded = runs(tmp_path / "data")
    assert recorded["alpha"] and recorded["beta"] and set(recorded["alpha"] + recorded["beta"]) == {"ok"}


def test_schedule_with_no_argument_and_no_config_dir_runs_the_bundled_agencies(tmp_path):
    # Every bundled agency; the demo (a placeholder address) only when named.
    bundled = {path.stem for path in (ROOT / "foiawatch" / "agencies").glob("*.toml")} - {"demo"}
    assert {"ice", "epa-hfstudy"} <= bundled
    assert run_schedule_until(tmp_path, [], bundled) == bundled


def test_schedule_agency_option_chooses_and_repeats(tmp_path):
    config_dir = two_agencies(tmp_path)
    ran = run_schedule_until(tmp_path, ["--config-dir", str(config_dir), "--agency", "beta", "--agency", "demo"],
                             {"beta", "demo"})
    assert ran == {"beta", "demo"}
    jobs = {row[0] for row in open_private(tmp_path / "data").execute("select id from schedule_jobs")}
    assert jobs == {"agency:beta", "agency:demo"}
