"""``foiawatch demo`` and ``foiawatch demo-site``: the 2017 ICE story replayed offline, and the demo library on its
own for crawling by hand."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
from rich.console import Console

from ..archive import Archive, DataDir
from ..demo.library import PRESETS
from ..demo.scenario import StepResult, demo_agency, run_ice_scenario, wayback_captures
from ..demo.site import DemoSite, serve_forever
from ..demo.wayback_standin import WaybackStandin
from ..diff import list_events, render_report
from ..pipeline import publish_archive, wayback_baseline
from ..wayback.baseline import wayback_client
from ..wayback.recovery import recover as recover_documents
from .publish import serve as serve_command


@click.command("demo-site")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (keep it on loopback).")
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default="v1", show_default=True,
              help="State of the library: v1 (baseline), outage, v2_takedown (the 2017 ICE story), blocked.")
@click.option("--documents", type=int, default=0, help="Serve a synthetic library of this many documents instead.")
def demo_site(host: str, port: int, preset: str, documents: int) -> None:
    """Serve the bundled demo FOIA library (modelled on ICE's 2017 library) on this machine."""
    serve_forever(host, port, preset, synthetic_documents=documents, announce=click.echo)


DEMO_MARKER = ".foiawatch-demo"


@click.command()
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
    archive_dir = DataDir.at(data_dir)
    with DemoSite() as site, WaybackStandin(wayback_captures(site)) as standin:
        config = demo_agency(site.library_url, standin.url)
        console.print(f"Demo library at {site.library_url}; Wayback Machine stand-in at {standin.url}\n")

        def show(step: StepResult) -> None:
            found = ", ".join(f"{count} {kind}" for kind, count in sorted(step.events.items())) or "no new events"
            console.print(f"[bold]crawl {step.crawl.crawl_id}[/] ({step.description}): "
                          f"{step.crawl.status}, {step.crawl.crawl['documents']} documents listed — {found}",
                          soft_wrap=True)

        run_ice_scenario(site, config, archive_dir, on_step=show)
        with Archive(archive_dir) as archive, wayback_client(config) as client:
            outcome = wayback_baseline(archive, config, client)
            recovered = recover_documents(archive, config, client)
        assert outcome.listings is not None and outcome.baseline is not None, \
            "the demo agency sets a [wayback] prefix, so its baseline is never skipped"
        console.print(f"[bold]Wayback baseline[/]: {outcome.sync.captures} captures listed in "
                      f"{outcome.sync.cdx_requests + outcome.listings.cdx_requests} CDX requests; "
                      f"{outcome.listings.read} archived listing pages read; {outcome.baseline.created} documents "
                      f"removed before monitoring; {recovered.recovered} recovered with provenance", soft_wrap=True)
    published = publish_archive(archive_dir)
    with Archive(archive_dir) as archive:
        click.echo("\n" + render_report(list_events(archive, agency=config.id)))
    console.print(f"Public archive built: {published.files} files downloadable, {published.withheld} withheld by "
                  "the PII screen.", soft_wrap=True)
    if serve:
        ctx = click.get_current_context()
        ctx.invoke(serve_command, data_dir=archive_dir, host="127.0.0.1", port=port)
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
