"""`foiawatch status` for the operator and for monitoring: the state of each agency now (ok, outage since T,
blocked since T, failing since T), the last crawl of each kind, the last Wayback baseline, the next scheduled runs
(read from the scheduler's job store, with no scheduler running), counts and the last operator alert; exit code 3
when something needs attention."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.interval import IntervalTrigger
from click.testing import CliRunner

from foiawatch.alerts.settings import AlertSettings
from foiawatch.archive import Archive
from foiawatch.archive.state import open_private
from foiawatch.cli import cli
from foiawatch.config import config_to_dict, find_config
from foiawatch.pipeline import RunContext, alerts_step, run_pipeline
from foiawatch.schedule import start_scheduler

from .test_pipeline import demo_toml


def status(data_dir, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["status", "--json", "--data-dir", str(data_dir), *args], env=env)
    assert result.exit_code in (0, 3), result.output
    return result.exit_code, json.loads(result.stdout)


def crawl(config: str, data_dir) -> int:
    result = CliRunner().invoke(cli, ["crawl", config, "--data-dir", str(data_dir), "-q"])
    assert result.exit_code in (0, 3), result.output
    return result.exit_code


def started(data_dir, crawl_id: int) -> str:
    with Archive(data_dir) as archive:
        return archive.db.execute("select started_at from crawls where id = ?", [crawl_id]).fetchone()[0]


def test_status_reports_the_outage_with_its_start_and_exits_non_zero(demo_site, tmp_path):
    config, data_dir = demo_toml(demo_site.url, tmp_path), tmp_path / "data"
    assert crawl(config, data_dir) == 0
    code, report = status(data_dir)
    (agency,) = report["agencies"]
    assert code == 0 and agency["state"]["state"] == "ok" and agency["needs_attention"] is False
    assert report["needs_attention"] is False
    assert agency["counts"]["documents"] == 54 and agency["counts"]["removed"] == 0
    assert agency["last_complete_crawl"]["id"] == 1

    demo_site.set_state("outage")  # the library goes down
    assert crawl(config, data_dir) == 3
    assert crawl(config, data_dir) == 3
    code, report = status(data_dir)
    (agency,) = report["agencies"]
    assert code == 3, "an agency needs attention: non-zero, for cron and monitoring"
    assert agency["state"]["state"] == "outage"
    assert agency["state"]["since"] == started(data_dir, 2), "since the first crawl that found it down"
    assert "crawls 2-3" in agency["state"]["reason"]
    assert agency["needs_attention"] is True and agency["attention"][0].startswith("outage since ")
    assert agency["last_complete_crawl"]["id"] == 1, "the last complete crawl is still the one before"
    assert agency["last_passes"]["full"]["id"] == 3 and agency["last_passes"]["full"]["status"] == "outage"
    assert agency["last_passes"]["watch"] is None and agency["last_passes"]["revalidate"] is None

    text = CliRunner().invoke(cli, ["status", "--data-dir", str(data_dir)])
    assert text.exit_code == 3
    assert f"OUTAGE since {started(data_dir, 2)}" in text.stdout and "NEEDS ATTENTION" in text.stdout

    demo_site.set_state("blocked")  # then serves a bot challenge instead of the library
    assert crawl(config, data_dir) == 3
    code, report = status(data_dir)
    state = report["agencies"][0]["state"]
    assert code == 3 and state["state"] == "blocked" and state["since"] == started(data_dir, 4)

    demo_site.set_state("v1")  # and comes back
    assert crawl(config, data_dir) == 0
    code, report = status(data_dir)
    assert code == 0 and report["agencies"][0]["state"] == {"state": "ok", "since": None, "reason": "",
                                                            "failure": None}


def fails(context: RunContext) -> str:
    raise RuntimeError("the disk is full")


def baseline(context: RunContext) -> str:
    return "12 captures (3 new); 1 removed_before_monitoring event"


def test_failing_runs_next_runs_wayback_baseline_and_the_last_operator_alert(tmp_path):
    config, data_dir = find_config("demo"), tmp_path / "data"
    with Archive(data_dir) as archive:  # the agency as a crawl registers it, with its config
        archive.register_agency(config.id, config.name, list(config.library_urls),
                                json.dumps(config_to_dict(config)))
    settings = AlertSettings(failed_runs=2)
    run_pipeline(config, data_dir, settings=settings, steps=(("wayback", baseline),))
    for _ in range(2):
        run_pipeline(config, data_dir, settings=settings, steps=(("crawl", fails), ("alerts", alerts_step)))
    private = open_private(data_dir)
    first_failed = private.execute("select started_at from runs where id = 2").fetchone()[0]
    baseline_run = private.execute("select started_at from runs where id = 1").fetchone()[0]

    scheduler = start_scheduler([config], data_dir, trigger_for=lambda _: IntervalTrigger(hours=6))
    next_run = scheduler.get_job("agency:demo").next_run_time
    scheduler.shutdown(wait=False)  # no scheduler runs now: status reads the job store alone

    code, report = status(data_dir)
    (agency,) = report["agencies"]
    assert code == 3
    assert agency["state"]["state"] == "failing" and agency["state"]["since"] == first_failed
    assert "2 runs in a row failed" in agency["state"]["reason"] and "the disk is full" in agency["state"]["reason"]
    assert agency["failed_runs"] == 2
    runs = {run["what"]: run for run in agency["next_runs"]}
    assert runs["run"]["at"] == next_run.astimezone(UTC).isoformat(timespec="seconds")
    assert runs["run"]["overdue"] is False
    assert agency["last_wayback_baseline"]["last_success"] == baseline_run
    assert agency["last_wayback_baseline"]["detail"].startswith("12 captures")
    alert = agency["last_operator_alert"]
    assert alert["key"] == "failing:demo" and alert["active"] is True
    assert alert["headline"] == "demo: 2 runs in a row failed"
    assert [c["key"] for c in report["conditions"]] == ["failing:demo"]

    # A job whose time is long past: no scheduler is running it.
    with private.conn:
        private.execute("update schedule_jobs set next_run_time = ?",
                        [(datetime.now(UTC) - timedelta(hours=2)).timestamp()])
    code, report = status(data_dir)
    runs = {run["what"]: run for run in report["agencies"][0]["next_runs"]}
    assert runs["run"]["overdue"] is True and "foiawatch schedule" in runs["run"]["note"]
    assert any(line.startswith("the run was due at") for line in report["agencies"][0]["attention"])


def test_status_agency_filter_and_errors(demo_site, tmp_path):
    config, data_dir = demo_toml(demo_site.url, tmp_path), tmp_path / "data"
    crawl(config, data_dir)
    code, report = status(data_dir, "--agency", "demo")
    assert code == 0 and [agency["id"] for agency in report["agencies"]] == ["demo"]
    unknown = CliRunner().invoke(cli, ["status", "--data-dir", str(data_dir), "--agency", "nope"])
    assert unknown.exit_code == 1 and "no agency 'nope' in the archive" in unknown.output
    empty = CliRunner().invoke(cli, ["status", "--data-dir", str(tmp_path / "none")])
    assert empty.exit_code == 1 and "no archive in" in empty.output


def test_the_last_pass_of_each_kind(tmp_path):
    config, data_dir = find_config("demo"), tmp_path / "data"
    with Archive(data_dir) as archive:
        archive.register_agency(config.id, config.name, list(config.library_urls), json.dumps(config_to_dict(config)))
        with archive.db.conn:
            for crawl_id, kind, outcome, hour in ((1, "full", "complete", 1), (2, "watch", "complete", 2),
                                                 (3, "revalidate", "complete", 3), (4, "watch", "outage", 4)):
                archive.db.execute(
                    "insert into crawls (id, agency_id, kind, status, status_reason, started_at, finished_at) "
                    "values (?, 'demo', ?, ?, 'x', ?, ?)",
                    [crawl_id, kind, outcome, f"2025-01-01T0{hour}:00:00+00:00", f"2025-01-01T0{hour}:05:00+00:00"])
            archive.db.execute("insert into watch_checks (agency_id, started_at, finished_at, listing_pages, "
                               "not_modified, requests) values ('demo', '2025-01-01T05:00:00+00:00', "
                               "'2025-01-01T05:00:02+00:00', 4, 4, 4)")
    code, report = status(data_dir, env={"FOIAWATCH_STALE_AFTER": "100000d"})
    passes = report["agencies"][0]["last_passes"]
    assert passes["full"]["id"] == 1 and passes["revalidate"]["id"] == 3
    assert passes["watch"] == {"id": None, "status": "nothing new", "started_at": "2025-01-01T05:00:00+00:00",
                               "finished_at": "2025-01-01T05:00:02+00:00",
                               "reason": "4 listing pages read, 4 not modified"}
    state = report["agencies"][0]["state"]
    assert code == 3 and state["state"] == "outage" and state["since"] == "2025-01-01T04:00:00+00:00", \
        "a watch pass reads the listing: it can find the library down"
