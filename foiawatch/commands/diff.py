"""``foiawatch diff`` and ``foiawatch events``: run the diff, and read its events back."""

from __future__ import annotations

from pathlib import Path

import click

from ..archive import DataDir
from ..archive.vocabulary import counted
from ..diff import DiffResult, events_json, list_events, render_report
from ..pipeline import diff_agency
from .options import (
    EVENT_KINDS,
    check_agency,
    config_dir_option,
    data_dir_option,
    json_option,
    load_agency,
    open_archive,
)


@click.command()
@click.argument("agency")
@data_dir_option
@config_dir_option
@click.option("--since", type=int, metavar="CRAWL",
              help="Report the events of this crawl and later ones (default: of the crawls diffed now).")
@json_option
@click.option("--rebuild", is_flag=True,
              help="Forget the diff's state and replay every crawl; events already recorded are not repeated.")
def diff(agency: str, data_dir: DataDir, config_dir: Path | None, since: int | None, as_json: bool,
         rebuild: bool) -> None:
    """Turn AGENCY's new crawls into events (removed, changed, outage, ...) and report them.

    Only complete crawls can remove anything: a document must be missing and answer 404/410 (or a soft 404) in
    the agency's removal_confirmations consecutive complete crawls.
    """
    config = load_agency(agency, config_dir)
    archive = open_archive(data_dir)
    result = diff_agency(archive, config, rebuild=rebuild)
    if since is None and result.crawls:
        since = result.crawls[0]
    events = list_events(archive, config.id, since=since, limit=None) if since is not None else []
    if as_json:
        click.echo(events_json(events, diff=result.as_dict()))
        return
    click.echo(_headline(result))
    if since is not None:
        click.echo(render_report(events))


@click.command()
@data_dir_option
@click.option("--agency", help="Only this agency's events.")
@click.option("--kind", "kinds", multiple=True, type=EVENT_KINDS,
              help="Only these kinds (repeatable).")
@click.option("--section", help="Only events under this section heading.")
@click.option("--since", metavar="CRAWL|DATE", help="A crawl id, or an ISO date or timestamp.")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True, help="The newest N events.")
@json_option
def events(data_dir: DataDir, agency: str | None, kinds: tuple[str, ...], section: str | None, since: str | None,
           limit: int, as_json: bool) -> None:
    """List recorded events, filtered, grouped by kind and section."""
    archive = open_archive(data_dir)
    check_agency(archive, agency)
    found = list_events(archive, agency, kinds, section, int(since) if since and since.isdigit() else since, limit)
    click.echo(events_json(found) if as_json else render_report(found))


def _headline(result: DiffResult) -> str:
    if not result.crawls:
        line = f"No new crawl of {result.agency_id} to diff."
    else:
        first, last = result.crawls[0], result.crawls[-1]
        crawls = f"crawl {first}" if first == last else f"crawls {first}-{last}"
        line = f"Diffed {crawls} of {result.agency_id}: {counted(result.total, 'new event')}."
    if result.waiting_on:
        line += f" Crawl {result.waiting_on} is still running; later crawls wait for it."
    return line
