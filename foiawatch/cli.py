"""The ``foiawatch`` command: one entry point for crawling, diffing, recovery, publishing and alerts."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click
from rich.console import Console

from . import __version__
from .archive import Archive
from .archive.store import OUTAGE
from .config import AgencyConfig, ConfigError, bundled_config_dir, find_config, load_config
from .crawler import CrawlProcessError
from .crawler import crawl as run_crawl
from .demo.library import PRESETS
from .demo.scenario import StepResult, demo_agency, run_ice_scenario, wayback_captures
from .demo.site import DemoSite, serve_forever
from .demo.wayback_standin import WaybackStandin
from .crawler.recover import recover as recover_documents
from .diff.report import list_events, render_report
from .pipeline import publish_archive, wayback_baseline, wayback_client
from .progress import CrawlProgress, print_crawl_summary

DATA_DIR_HELP = "Archive directory (database, blobs, WARCs). Default: $FOIAWATCH_DATA or ./foiawatch-data."


def data_dir_option(function):
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=lambda: os.environ.get("FOIAWATCH_DATA", "foiawatch-data"),
        show_default="$FOIAWATCH_DATA or ./foiawatch-data",
        help=DATA_DIR_HELP,
    )(function)


def config_dir_option(function):
    return click.option(
        "--config-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=lambda: os.environ.get("FOIAWATCH_CONFIG_DIR"),
        help="Directory of agency .toml files, searched before the bundled ones. Default: $FOIAWATCH_CONFIG_DIR.",
    )(function)


@click.group()
@click.version_option(__version__, prog_name="foiawatch")
def cli() -> None:
    """Watch government FOIA libraries: archive every document, detect takedowns, recover what was removed."""


def open_archive(data_dir: Path) -> Archive:
    """The archive in ``data_dir``, or a clear error when there is none yet (rather than creating an empty one)."""
    if not (data_dir / "archive.db").is_file():
        raise click.ClickException(
            f"no archive in {data_dir}; run `foiawatch crawl AGENCY --data-dir {data_dir}` first")
    return Archive(data_dir)


def load_agency(agency: str, config_dir: Path | None) -> AgencyConfig:
    try:
        return find_config(agency, config_dir)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


@cli.command()
@click.argument("agency")
@data_dir_option
@config_dir_option
@click.option("--quiet", is_flag=True, help="No progress display; print only the summary.")
def crawl(agency: str, data_dir: Path, config_dir: Path | None, quiet: bool) -> None:
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
    if result.status == OUTAGE:
        console.print(
            f"[bold red]The library could not be crawled:[/] {result.reason}.\n"
            "It was recorded as an outage (no document is treated as removed because of it). "
            "Check the library URL in the agency config and your network, then run the crawl again.",
            soft_wrap=True,
        )
        sys.exit(3)


@cli.command("demo-site")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (keep it on loopback).")
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default="v1", show_default=True,
              help="State of the library: v1 (baseline), outage, v2_takedown (the 2017 ICE story), blocked.")
@click.option("--documents", type=int, default=0, help="Serve a synthetic library of this many documents instead.")
def demo_site(host: str, port: int, preset: str, documents: int) -> None:
    """Serve the bundled demo FOIA library (modelled on ICE's 2017 library) on this machine."""
    serve_forever(host, port, preset, synthetic_documents=documents, announce=click.echo)


@cli.command()
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



DEMO_MARKER = ".foiawatch-demo"


@cli.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("foiawatch-demo"),
              show_default=True, help="Where the demo archive goes; emptied at the start of every demo run.")
@click.option("--port", default=8001, show_default=True, type=int, help="Port of the public archive site.")
@click.option("--serve/--no-serve", default=True, show_default=True,
              help="Serve the public archive when done (Ctrl-C to stop), or just build it.")
def demo(data_dir: Path, port: int, serve: bool) -> None:
    """Replay the 2017 ICE FOIA-library takedown on the bundled demo library, offline, and publish the archive.

    Starts the demo library and a Wayback Machine stand-in on 127.0.0.1; crawls the library as it is, as it goes
    dark, and as it comes back without the three Secure Communities sections; recovers from the Wayback stand-in
    what the agency removed before monitoring began; publishes the archive and serves it at a local URL.
    """
    console = Console()
    _reset_demo_dir(data_dir)
    with DemoSite() as site, WaybackStandin(wayback_captures(site)) as standin:
        config = demo_agency(site.library_url, standin.url)
        console.print(f"Demo library at {site.library_url}; Wayback Machine stand-in at {standin.url}\n")

        def show(step: StepResult) -> None:
            found = ", ".join(f"{count} {kind}" for kind, count in sorted(step.events.items())) or "no new events"
            console.print(f"[bold]crawl {step.crawl.crawl_id}[/] ({step.description}): "
                          f"{step.crawl.status}, {step.crawl.crawl['documents']} documents listed — {found}",
                          soft_wrap=True)

        run_ice_scenario(site, config, data_dir, on_step=show)
        with Archive(data_dir) as archive, wayback_client(config) as client:
            outcome = wayback_baseline(archive, config, client)
            recovered = recover_documents(archive, config, client)
        console.print(f"[bold]Wayback baseline[/]: {outcome.sync.captures} captures listed in "
                      f"{outcome.sync.cdx_requests + outcome.listings.cdx_requests} CDX requests; "
                      f"{outcome.listings.read} archived listing pages read; {outcome.baseline.created} documents "
                      f"removed before monitoring; {recovered.recovered} recovered with provenance", soft_wrap=True)
    published = publish_archive(data_dir)
    with Archive(data_dir) as archive:
        click.echo("\n" + render_report(list_events(archive.db, agency=config.id)))
    console.print(f"Public archive built: {published.files} files downloadable, {published.withheld} withheld by "
                  "the PII screen.", soft_wrap=True)
    if serve:
        ctx = click.get_current_context()
        ctx.invoke(serve_command, data_dir=data_dir, host="127.0.0.1", port=port)
    else:
        console.print(f"Serve it with `foiawatch serve --data-dir {data_dir}`.")


def _reset_demo_dir(data_dir: Path) -> None:
    """Empty the demo directory, but never a directory the demo did not create."""
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / DEMO_MARKER).exists():
            raise click.ClickException(f"{data_dir} exists and is not a demo archive; choose another --data-dir")
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / DEMO_MARKER).write_text("created by `foiawatch demo`; emptied by every demo run\n")

# --- commands from subsystems ---
# Imported last: their modules reuse the shared options defined above.
from .diff.commands import diff, events  # noqa: E402

cli.add_command(diff)
cli.add_command(events)

from .crawler.commands import bundle, recover, wayback  # noqa: E402

cli.add_command(wayback)
cli.add_command(recover)
cli.add_command(bundle)

from .archive.commands import export, review, verify  # noqa: E402

cli.add_command(verify)
cli.add_command(export)
cli.add_command(review)

from .publish.commands import publish, serve as serve_command  # noqa: E402

cli.add_command(publish)
cli.add_command(serve_command)

from .alerts.commands import confirm, run_once, schedule, status, subscribe, subscriptions, unsubscribe  # noqa: E402

for _command in (subscribe, confirm, unsubscribe, subscriptions, status, run_once, schedule):
    cli.add_command(_command)
