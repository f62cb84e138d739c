"""``foiawatch check ID``: a dry run of a library's config on its first listing pages; nothing is written."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from ..archive.vocabulary import counted
from ..config import AgencyConfig
from ..web.fetch import PoliteSession
from ..web.survey import Survey, survey
from .options import config_dir_option, json_option, load_agency


@click.command()
@click.argument("agency")
@click.option("--pages", type=click.IntRange(1), default=5, show_default=True,
              help="Read at most this many listing pages (the library's URLs first, then the pages they link).")
@click.option("--delay", type=click.FloatRange(0), default=None,
              help="Seconds between requests to the site. Default: the config's [politeness] pace (its delay "
                   "and requests_per_minute).")
@config_dir_option
@json_option
def check(agency: str, pages: int, delay: float | None, config_dir: Path | None, as_json: bool) -> None:
    """Show what AGENCY's config finds on its first listing pages, fetching no document and writing nothing.

    Prints the sections with their document counts and sample titles, the further pages found, and warnings
    (pages that failed or look blocked, sections of one document, items without a link, links outside
    allowed_hosts). --json prints {"listing_pages", "documents", "sections", "next_pages", "warnings",
    "records"} (records: pages of records with parts, which only a crawl reads).
    Exits 1 when no listing page could be read.
    """
    config = load_agency(agency, config_dir)
    politeness = config.politeness if delay is None else replace(config.politeness, delay=delay,
                                                                     requests_per_minute=0)
    with PoliteSession(politeness) as session:
        result = survey(config, session, pages)
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
    else:
        print_survey(Console(), config, result)
    if not any(page.problem is None for page in result.pages):
        sys.exit(1)


def print_survey(console: Console, config: AgencyConfig, result: Survey) -> None:
    """The survey for a person: pages read, sections with counts and sample titles, pagination, warnings."""
    read = [page for page in result.pages if page.problem is None]
    console.print(f"[bold]{escape(config.name)}[/] ({config.id}): {counted(len(read), 'listing page')} read, "
                  f"{counted(len(result.documents), 'document')}", soft_wrap=True)
    for section, count in result.sections.items():
        console.print(f"  {escape(section) or '(no section)'}: {count}", soft_wrap=True)
        for title in result.samples(section):
            console.print(f"      {escape(title[:100])}", soft_wrap=True, highlight=False)
    if result.records:
        console.print(f"{counted(len(result.records), 'record page')}, whose parts the crawl reads "
                      f"(e.g. {escape(next(iter(result.records.values())).title)})", soft_wrap=True)
    if result.next_pages:
        console.print(f"Further listing pages found, not read: {len(result.next_pages)} "
                      f"(e.g. {escape(result.next_pages[0])})", soft_wrap=True)
    hosts = sorted(set(config.allowed_hosts))
    console.print(f"Documents fetched from: {', '.join(hosts)}", soft_wrap=True)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
