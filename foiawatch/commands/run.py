"""``foiawatch run``, ``schedule`` and ``status``: the chain once, the chain on every agency's schedule, and the
operator's view of both."""

from __future__ import annotations

import logging
import sys
from contextlib import closing
from pathlib import Path

import click

from ..alerts.settings import SETTINGS_HELP
from ..alerts.status import OK, AgencyStatus, CrawlRef, StatusReport, status_report
from ..alerts.watch import age_seconds, duration_text
from ..archive import DataDir
from ..archive.state import open_private
from ..archive.vocabulary import RunStatus
from ..config import AgencyConfig, ConfigError
from ..pipeline import RunInProgress, run_pipeline
from ..schedule import serve
from .options import (
    DEMO_AGENCY,
    EXIT_ATTENTION,
    alert_settings,
    check_agency,
    config_dir_option,
    configured_agencies,
    data_dir_option,
    echo_json,
    json_option,
    load_agency,
    open_archive,
)

log = logging.getLogger(__name__)


@click.command()
@data_dir_option
@click.option("--agency", "agencies", multiple=True, help="Only this agency (repeatable; default: every agency).")
@json_option
def status(data_dir: DataDir, agencies: tuple[str, ...], as_json: bool) -> None:
    """Per agency: the state now (ok, outage since T, blocked since T, failing since T), the last crawl of each
    kind, the last Wayback baseline, the next scheduled runs, counts and the last operator alert; then the
    operator conditions in force and the messages waiting.

    Exits 0 when every agency is ok and no operator condition is in force, 3 when something needs attention (for
    cron and monitoring), 1 when there is no archive to read.
    """
    settings = alert_settings()
    with open_archive(data_dir) as archive, closing(open_private(data_dir)) as private:
        for agency in agencies:
            check_agency(archive, agency)
        report = status_report(archive, private, settings, list(agencies) or None)
    if as_json:
        echo_json(report.as_dict())
    else:
        _print_status(report)
    if report.needs_attention:
        sys.exit(EXIT_ATTENTION)


def _print_status(report: StatusReport) -> None:
    for agency in report.agencies:
        click.echo(_agency_text(agency))
    conditions = report.conditions
    click.echo("Operator conditions: " + ("none" if not conditions else ""))
    for condition in conditions:
        what = condition.get("headline") or condition["key"]
        click.echo(f"  {what} (since {condition['since']}; {condition['key']})")
    messages = report.messages
    click.echo("Messages: " + (", ".join(f"{n} {state}" for state, n in sorted(messages.items())) or "none"))
    click.echo("Needs attention." if report.needs_attention else "All ok.")


def _ago(iso: str | None) -> str:
    return f"{iso} ({duration_text(age_seconds(iso))} ago)" if iso else "none"


def _pass_text(crawl: CrawlRef | None) -> str:
    if crawl is None:
        return "none"
    which = f"crawl {crawl.id}, " if crawl.id is not None else ""
    why = f" ({crawl.reason})" if crawl.reason and crawl.status != "complete" else ""
    return f"{which}{crawl.status} at {_ago(crawl.finished_at or crawl.started_at)}{why}"


def _agency_text(agency: AgencyStatus) -> str:
    state = agency.state
    crawl = agency.last_complete_crawl
    passes = agency.last_passes
    baseline = agency.last_wayback_baseline
    counts = agency.counts
    facts: dict[str, object] = {
        "state": state.text() if state.state == OK else f"{state.state.upper()} since {state.since}: {state.reason}",
        "last complete crawl": f"{crawl['id']} at {_ago(crawl['finished_at'])}" if crawl else "none",
        "last full crawl": _pass_text(passes["full"]),
        "last watch": _pass_text(passes["watch"]),
        "last revalidation": _pass_text(passes["revalidate"]),
        "last Wayback baseline": (_ago(baseline.last_success) if baseline and baseline.last_success else "none")
                                 + (f"; last attempt {baseline.last_attempt} {baseline.last_attempt_status}: "
                                    f"{baseline.last_error}" if baseline and baseline.last_attempt else ""),
        "next runs": "; ".join(f"{run.what}: {run.at or '-'}" + (f" ({run.note})" if run.note else "")
                               + (" OVERDUE" if run.overdue else "") for run in agency.next_runs),
        "documents": f"{counts.documents} ({counts.removed} removed, {counts.removed_before_monitoring} removed "
                     f"before monitoring, {counts.withheld} withheld"
                     + (f", {counts.needs_ocr} scans awaiting `foiawatch ocr`)" if counts.needs_ocr else ")"),
        "queued deliveries": counts.queued_deliveries,
        "failed runs in a row": agency.failed_runs,
        "last event": f"{agency.last_event['kind']} at {agency.last_event['detected_at']}: "
                      f"{agency.last_event['summary']}" if agency.last_event else "none",
        "last operator alert": (f"{'PROBLEM' if agency.last_operator_alert.active else 'RECOVERED'}: "
                                f"{agency.last_operator_alert.headline} at {agency.last_operator_alert.at}"
                                if agency.last_operator_alert else "none"),
    }
    lines = [f"{agency.id} ({agency.name})" + (" — NEEDS ATTENTION" if agency.needs_attention else "")]
    lines += [f"  {label + ':':<24}{value}" for label, value in facts.items()]
    return "\n".join(lines)


@click.command(epilog=SETTINGS_HELP)
@click.argument("agency_args", metavar="[AGENCY]...", nargs=-1)
@click.option("--agency", "agencies", multiple=True,
              help="Only this agency (repeatable). Default: every agency of --config-dir, or without one every "
                   "bundled agency but the demo.")
@data_dir_option
@config_dir_option
def schedule(agency_args: tuple[str, ...], agencies: tuple[str, ...], data_dir: DataDir,
             config_dir: Path | None) -> None:
    """Run the chain for every configured agency (those in --config-dir, or without one the bundled ones; the demo
    only when named) on the schedule of its config, in the foreground; SIGTERM stops it. --agency (or AGENCY
    arguments) chooses agencies, bundled or not.

    Each run: crawl, diff, Wayback baseline (on the config's [wayback] schedule), recovery, publish, alerts.
    Runs missed while stopped are made up by one run. Cron expressions are in UTC.
    """
    chosen = agencies + agency_args
    configs = [load_agency(agency, config_dir) for agency in chosen] if chosen else _every_agency(config_dir)
    alert_settings()  # bad settings fail now, not at the first run
    log.info("scheduling %d agencies: %s", len(configs), ", ".join(config.id for config in configs))
    serve(configs, data_dir)


def _every_agency(config_dir: Path | None) -> list[AgencyConfig]:
    """The operator's agencies: those of --config-dir when there is one (the bundled configs are a catalogue to
    choose from, not a list to watch beside them), else the bundled ones but the demo."""
    found = configured_agencies(config_dir)
    if config_dir is not None:
        found = [(path, config) for path, config in found if path.parent == config_dir]
    broken = [f"{path}: {config}" for path, config in found if isinstance(config, ConfigError)]
    if broken:
        raise click.ClickException("cannot schedule every agency, a config does not load: " + "; ".join(broken))
    configs = [config for _, config in found if isinstance(config, AgencyConfig) and config.id != DEMO_AGENCY]
    if not configs:
        raise click.ClickException(f"no agency config to schedule in {config_dir or 'the bundled configs'} (add "
                                   ".toml files there, e.g. with `foiawatch init URL`, or name agencies)")
    return configs


@click.command("run", epilog=SETTINGS_HELP)
@click.argument("agency")
@data_dir_option
@config_dir_option
@json_option
def run_once(agency: str, data_dir: DataDir, config_dir: Path | None, as_json: bool) -> None:
    """Run the chain once for AGENCY: crawl, diff, Wayback baseline (when due), recovery, publish, alerts.

    An agency with [passes] watch runs what is due: a watch pass, and a revalidation pass when its schedule says so.

    Exits 1 if a step failed.
    """
    config = load_agency(agency, config_dir)
    settings = alert_settings()
    try:
        report = run_pipeline(config, data_dir, settings=settings)
    except RunInProgress as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        echo_json({"agency": report.agency_id, "run_id": report.run_id, "status": report.status,
                   "steps": {step.name: step.as_dict() for step in report.steps}})
    else:
        for step in report.steps:
            click.echo(f"{step.name:<8} {step.status:<8} {step.seconds:6.1f}s  {step.detail or step.error or ''}")
    if report.status == RunStatus.FAILED:
        raise SystemExit(1)
