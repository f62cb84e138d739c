"""``foiawatch crawl`` and ``foiawatch agencies``: snapshot a library, and list the agency configs."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from ..archive import DataDir
from ..archive.vocabulary import CrawlStatus
from ..config import ConfigError, bundled_config_dir, load_config
from ..crawler import CrawlProcessError
from ..crawler import crawl as run_crawl
from .options import config_dir_option, data_dir_option, load_agency, quiet_option
from .progress import CrawlProgress, print_crawl_summary


@click.command()
@click.argument("agency")
@data_dir_option
@config_dir_option
@quiet_option
def crawl(agency: str, data_dir: DataDir, config_dir: Path | None, quiet: bool) -> None:
    """Snapshot AGENCY's FOIA library: every listing page and every linked document.

    AGENCY is a bundled agency name (see `foiawatch agencies`) or a path to a .toml config.
    Exits 0 for a complete or incomplete crawl, 3 when the library was down or blocked (recorded as an outage:
    nothing is ever marked removed because of it).
    """
    config = load_agency(agency, config_dir)
    console = Console(stderr=True)
    with CrawlProgress(console, enabled=not quiet) as progress:
        try:
            result = run_crawl(config, data_dir, on_event=progress.update)
        except CrawlProcessError as error:
            raise click.ClickException(str(error)) from None
    print_crawl_summary(Console(), config, result)
    if result.status == CrawlStatus.OUTAGE:
        console.print(
            f"[bold red]The library could not be crawled:[/] {result.reason}.\n"
            "It was recorded as an outage (no document is treated as removed because of it). "
            "Check the library URL in the agency config and your network, then run the crawl again.",
            soft_wrap=True,
        )
        sys.exit(3)


@click.command()
@config_dir_option
def agencies(config_dir: Path | None) -> None:
    """List the agency configs foiawatch knows (bundled, and any in --config-dir)."""
    directories = ([config_dir] if config_dir else []) + [bundled_config_dir()]
    seen: set[str] = set()
    for directory in directories:
        for path in sorted(directory.glob("*.toml")):
            if path.stem in seen:
                continue
            seen.add(path.stem)
            try:
                config = load_config(path)
            except ConfigError as error:
                click.echo(f"{path.stem:<16} INVALID: {error}")
                continue
            click.echo(f"{config.id:<16} {config.name}  {', '.join(config.library_urls)}")
