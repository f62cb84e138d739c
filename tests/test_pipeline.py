"""The chain for one agency: `foiawatch run` on the demo library, and how failing, stopped and concurrent runs
are recorded and reported to the operator."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace
from datetime import UTC, datetime

from click.testing import CliRunner

from foiawatch.alerts.settings import AlertSettings
from foiawatch.archive.state import open_private
from foiawatch.cli import cli
from foiawatch.config import bundled_config_dir, find_config
from foiawatch.pipeline import RunContext, RunInProgress, alerts_step, run_pipeline, wayback_due_at
from foiawatch.wayback import RateLimited

from .conftest import OPERATOR


def demo_toml(site_url: str, directory) -> str:
    """The bundled demo config pointed at a running demo site, with no Wayback prefix (no outside requests)."""
    host = site_url.removeprefix("http://")
    text = (bundled_config_dir() / "demo.toml").read_text().replace("127.0.0.1:8765", host)
    text = text.replace(f'prefix = "{host}/doclib/foia/"', 'prefix = ""')
    path = directory / "demo.toml"
    path.write_text(text)
    return str(path)


def test_run_command_runs_the_chain_once(demo_site, tmp_path):
    config = demo_toml(demo_site.url, tmp_path)
    data_dir = tmp_path / "data"
    result = CliRunner().invoke(cli, ["run", config, "--data-dir", str(data_dir)], env={"FOIAWATCH_SMTP_URL": ""})
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()}
    assert lines == {"crawl": "ok", "diff": "ok", "preserve": "skipped", "wayback": "skipped", "recover": "ok",
                     "publish": "ok", "alerts": "ok"}
    assert "crawl 1: complete" in result.output and "no [wayback] prefix configured" in result.output
    assert (data_dir / "public" / "public.db").is_file()
    (run,) = list(open_private(data_dir).query("select * from runs"))
    assert run["status"] == "ok" and list(json.loads(run["steps"])) == list(lines)
    status = CliRunner().invoke(cli, ["status", "--data-dir", str(data_dir)])
    assert re.search(r"demo \(Demo FOIA library[^\n]*\)\n  state:\s+ok\n  last complete crawl:\s+1 at", status.stdout)
    assert re.search(r"failed runs in a row:\s+0\n", status.stdout) and "All ok." in status.stdout
    assert status.exit_code == 0, "nothing needs attention: exit 0"


def fails(context: RunContext) -> str:
    raise RuntimeError("the crawl process died")


def succeeds(context: RunContext) -> str:
    return "done"


def rate_limited(context: RunContext) -> str:
    raise RateLimited("web.archive.org still answers 429 after 4 back-offs")


def test_failing_step_is_recorded_and_the_run_goes_on(tmp_path):
    later = []
    report = run_pipeline(find_config("demo"), tmp_path, settings=AlertSettings(),
                          steps=(("crawl", fails), ("diff", lambda context: later.append("diff") or "ran")))
    assert report.status == "failed" and later == ["diff"]
    assert [(s.name, s.status, s.error) for s in report.steps] == [
        ("crawl", "failed", "RuntimeError: the crawl process died"), ("diff", "ok", None)]


def test_runs_failing_again_and_again_alert_the_operator_once(tmp_path, mailbox):
    settings = AlertSettings(smtp_url=mailbox.url, operator_email=OPERATOR, failed_runs=2)
    config = find_config("demo")
    for step in (fails, fails, fails, succeeds, succeeds):
        run_pipeline(config, tmp_path, settings=settings, steps=(("crawl", step), ("alerts", alerts_step)))
    problem, recovered = mailbox.to(OPERATOR)
    assert problem["Subject"] == "[foiawatch operator] PROBLEM: demo: 2 runs in a row failed"
    assert "crawl: RuntimeError: the crawl process died" in problem.get_content()
    assert recovered["Subject"] == "[foiawatch operator] RECOVERED: demo: runs succeed again"


def test_wayback_rate_limiting_alerts_the_operator_and_its_end_too(tmp_path, mailbox):
    settings = AlertSettings(smtp_url=mailbox.url, operator_email=OPERATOR, failed_runs=1)  # not "failing"
    config = find_config("demo")
    for step in (rate_limited, rate_limited, succeeds):
        run_pipeline(config, tmp_path, settings=settings, steps=(("wayback", step), ("alerts", alerts_step)))
    problem, recovered = mailbox.to(OPERATOR)
    assert "PROBLEM: demo: the Wayback Machine is rate-limiting us (429 Too Many Requests)" in problem["Subject"]
    assert "429 after 4 back-offs" in problem.get_content()
    assert "RECOVERED: demo: the Wayback Machine answers again" in recovered["Subject"]


def test_stop_is_honoured_between_steps(tmp_path):
    stop = threading.Event()

    def first(context: RunContext) -> str:
        stop.set()  # SIGTERM arrives while this step runs
        return "finished anyway"

    report = run_pipeline(find_config("demo"), tmp_path, settings=AlertSettings(), stop=stop,
                          steps=(("first", first), ("second", succeeds)))
    assert report.status == "stopped" and [s.name for s in report.steps] == ["first"]
    (run,) = list(open_private(tmp_path).query("select status, finished_at from runs"))
    assert run["status"] == "stopped" and run["finished_at"]


def test_runs_of_one_agency_never_overlap(tmp_path):
    config = find_config("demo")
    inner: list[Exception] = []

    def nested(context: RunContext) -> str:
        try:
            run_pipeline(config, tmp_path, settings=AlertSettings(), steps=(("crawl", succeeds),))
        except RunInProgress as busy:
            inner.append(busy)
        run_pipeline(replace(config, id="other"), tmp_path, settings=AlertSettings(), steps=(("crawl", succeeds),))
        return "ok"

    run_pipeline(config, tmp_path, settings=AlertSettings(), steps=(("crawl", nested),))
    assert [str(e) for e in inner] == ["another run of demo is in progress"]


def test_wayback_baseline_follows_its_own_schedule(tmp_path):
    config = replace(find_config("demo"), wayback=replace(find_config("demo").wayback, schedule="0 3 * * 0"))
    private = open_private(tmp_path)
    context = RunContext(config, tmp_path, AlertSettings(), private, run_id=0)
    assert wayback_due_at(context) < datetime.now(UTC), "never done: due at once"
    with private.conn:
        private.execute("insert into runs (agency_id, started_at, status, steps) values (?, ?, 'ok', ?)",
                        [config.id, "2024-05-01T10:00:00+00:00", json.dumps({"wayback": {"status": "ok"}})])
    assert wayback_due_at(context) == datetime(2024, 5, 5, 3, 0, tzinfo=UTC)  # the next Sunday, 03:00


def test_unknown_agency_and_bad_settings_are_clear_errors(tmp_path):
    result = CliRunner().invoke(cli, ["run", "nonexistent", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "no config for agency 'nonexistent'" in result.output
    result = CliRunner().invoke(cli, ["run", "demo", "--data-dir", str(tmp_path)],
                                env={"FOIAWATCH_STALE_AFTER": "soon"})
    assert result.exit_code == 1 and "FOIAWATCH_STALE_AFTER: not a duration" in result.output
