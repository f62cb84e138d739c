"""``foiawatch demo`` and ``foiawatch demo-site``: the 2017 ICE story replayed offline, and the demo library on its
own for crawling by hand."""

from __future__ import annotations

import os
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import click
from rich.console import Console

from ..archive import Archive, DataDir
from ..archive.datadir import DATA_DIR_ENV, DEFAULT_DATA_DIR
from ..demo.library import PRESETS
from ..demo.scenario import StepResult, demo_agency, run_ice_scenario, wayback_captures
from ..demo.site import DemoSite, serve_forever
from ..demo.wayback_standin import WaybackStandin
from ..diff import list_events, render_report
from ..pipeline import publish_archive, wayback_baseline
from ..wayback.baseline import wayback_client
from ..wayback.recovery import recover as recover_documents
from .options import DEMO_AGENCY as DEMO_ID
from .options import echo_json, json_option
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
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              default=lambda: os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR),
              show_default=f"${DATA_DIR_ENV} or ./{DEFAULT_DATA_DIR}",
              help="Where the demo archive goes, as for every command (so `foiawatch events`, `status` and `serve` "
                   "read it as they are); emptied at the start of every demo run, and only if it holds nothing but "
                   "a demo archive.")
@click.option("--port", default=8001, show_default=True, type=int, help="Port of the public archive site.")
@click.option("--serve/--no-serve", default=True, show_default=True,
              help="Serve the public archive when done (Ctrl-C to stop), or just build it.")
@json_option
def demo(data_dir: Path, port: int, serve: bool, as_json: bool) -> None:
    """Replay the 2017 ICE FOIA-library takedown on the bundled demo library, offline, and publish the archive.

    Starts the demo library and a Wayback Machine stand-in on 127.0.0.1; crawls the library as it is, as it goes
    dark, and as it comes back without the three Secure Communities sections; recovers from the Wayback stand-in
    what the agency removed before monitoring began; publishes the archive and serves it at a local URL.
    """
    console = Console(quiet=as_json)
    _reset_demo_dir(data_dir)
    archive_dir = DataDir.at(data_dir)
    steps: list[dict[str, object]] = []
    with DemoSite() as site, WaybackStandin(wayback_captures(site)) as standin:
        config = demo_agency(site.library_url, standin.url)
        console.print(f"Demo library at {site.library_url}; Wayback Machine stand-in at {standin.url}\n")

        def show(step: StepResult) -> None:
            steps.append({"crawl_id": step.crawl.crawl_id, "description": step.description,
                          "status": step.crawl.status, "documents": step.crawl.crawl["documents"],
                          "events": dict(step.events)})
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
        events = list_events(archive, agency=config.id)
    if as_json:
        counts: dict[str, int] = {}
        for event in events:
            counts[event["kind"]] = counts.get(event["kind"], 0) + 1
        echo_json({"data_dir": str(archive_dir), "crawls": steps,
                   "wayback": {"captures": outcome.sync.captures,
                               "cdx_requests": outcome.sync.cdx_requests + outcome.listings.cdx_requests,
                               "listing_pages_read": outcome.listings.read,
                               "removed_before_monitoring": outcome.baseline.created,
                               "recovered": recovered.recovered},
                   "events": counts, "published": {"files": published.files, "withheld": published.withheld}})
    else:
        click.echo("\n" + render_report(events))
    console.print(f"Public archive built: {published.files} files downloadable, {published.withheld} withheld by "
                  "the PII screen.", soft_wrap=True)
    if serve:
        ctx = click.get_current_context()
        ctx.invoke(serve_command, data_dir=archive_dir, host="127.0.0.1", port=port)
    else:
        console.print(f"Serve it with `foiawatch serve --data-dir {data_dir}`.")


def _reset_demo_dir(data_dir: Path) -> None:
    """Empty the demo directory, but never a directory the demo did not create, nor a demo archive that has since
    been used for another agency (the demo shares the default data directory with every command)."""
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / DEMO_MARKER).exists():
            raise click.ClickException(f"{data_dir} exists and is not a demo archive; choose another --data-dir")
        others = _other_agencies(DataDir.at(data_dir))
        if others:
            raise click.ClickException(
                f"{data_dir} began as a demo archive but now also holds {', '.join(others)}; the demo will not "
                "empty it. Choose another --data-dir (or $FOIAWATCH_DATA) for the demo")
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / DEMO_MARKER).write_text("created by `foiawatch demo`; emptied by every demo run\n")


def _other_agencies(data_dir: DataDir) -> list[str]:
    if not data_dir.has_archive():
        return []
    with closing(sqlite3.connect(f"file:{data_dir.archive_db}?mode=ro", uri=True)) as db:
        try:
            return [row[0] for row in db.execute("select id from agencies where id != ? order by id", [DEMO_ID])]
        except sqlite3.DatabaseError:
            return ["(an archive that cannot be read)"]
