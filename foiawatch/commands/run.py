"""``foiawatch run``, ``schedule`` and ``status``: the chain once, the chain on every agency's schedule, and the
operator's view of both."""

from __future__ import annotations

import json
import logging
from contextlib import closing
from pathlib import Path

import click

from ..alerts.settings import SETTINGS_HELP
from ..alerts.status import status_report
from ..alerts.watch import age_seconds, duration_text
from ..archive import DataDir
from ..archive.state import open_private
from ..archive.vocabulary import RunStatus
from ..pipeline import RunInProgress, run_pipeline
from ..schedule import serve
from .options import alert_settings, config_dir_option, data_dir_option, load_agency, open_archive


@click.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(data_dir: DataDir, as_json: bool) -> None:
    """Per agency: last complete crawl, last event, failed runs in a row, queued deliveries; then the operator
    conditions in force and the messages waiting."""
    with open_archive(data_dir) as archive, closing(open_private(data_dir)) as private:
        report = status_report(archive, private)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    for agency in report.agencies:
        crawl, event = agency.last_complete_crawl, agency.last_event
        facts = {
            "last complete crawl": f"{crawl['id']} at {crawl['finished_at']} "
                                   f"({duration_text(age_seconds(crawl['finished_at']))} ago)" if crawl else "none",
            "last event": f"{event['kind']} at {event['detected_at']}: {event['summary']}" if event else "none",
            "failed runs in a row": agency.failed_runs,
            "queued deliveries": agency.queued_deliveries,
        }
        click.echo(agency.id + "".join(f"\n  {label + ':':<22}{value}" for label, value in facts.items()))
    conditions = report.conditions
    click.echo("Operator conditions: " + ("none" if not conditions else ""))
    for condition in conditions:
        click.echo(f"  {condition['key']} since {condition['since']}: {condition['detail']}")
    messages = report.messages
    click.echo("Messages: " + (", ".join(f"{n} {state}" for state, n in sorted(messages.items())) or "none"))


@click.command(epilog=SETTINGS_HELP)
@click.argument("agencies", nargs=-1, required=True)
@data_dir_option
@config_dir_option
def schedule(agencies: tuple[str, ...], data_dir: DataDir, config_dir: Path | None) -> None:
    """Run the chain for each AGENCY on the schedule of its config, in the foreground (SIGTERM stops it).

    Each run: crawl, diff, Wayback baseline (on the config's [wayback] schedule), recovery, publish, alerts.
    Runs missed while stopped are made up by one run. Cron expressions are in UTC.
    """
    configs = [load_agency(agency, config_dir) for agency in agencies]
    alert_settings()  # bad settings fail now, not at the first run
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(configs, data_dir)


@click.command("run", epilog=SETTINGS_HELP)
@click.argument("agency")
@data_dir_option
@config_dir_option
def run_once(agency: str, data_dir: DataDir, config_dir: Path | None) -> None:
    """Run the chain once for AGENCY: crawl, diff, Wayback baseline (when due), recovery, publish, alerts.

    Exits 1 if a step failed.
    """
    config = load_agency(agency, config_dir)
    settings = alert_settings()
    try:
        report = run_pipeline(config, data_dir, settings=settings)
    except RunInProgress as error:
        raise click.ClickException(str(error)) from None
    for step in report.steps:
        click.echo(f"{step.name:<8} {step.status:<8} {step.seconds:6.1f}s  {step.detail or step.error or ''}")
    if report.status == RunStatus.FAILED:
        raise SystemExit(1)

