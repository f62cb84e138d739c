"""``foiawatch crawl`` and ``foiawatch agencies``: snapshot a library, and list the agency configs."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from ..archive import DataDir
from ..archive.failures import WHAT, classify_text
from ..archive.vocabulary import CrawlKind, CrawlStatus, FailureKind
from ..config import AgencyConfig, ConfigError
from ..crawler import CrawlProcessError
from ..crawler import crawl as run_crawl
from .options import (
    EXIT_ATTENTION,
    config_dir_option,
    configured_agencies,
    data_dir_option,
    echo_json,
    json_option,
    load_agency,
    quiet,
)
from .progress import CrawlProgress, print_crawl_summary


@click.command()
@click.argument("agency")
@click.option("--pass", "kind", type=click.Choice([kind.value for kind in CrawlKind]), default=CrawlKind.FULL.value,
              show_default=True, help="full: every listing page and document; watch: the listing pages only "
              "(conditionally), new documents fetched and delisted ones probed; revalidate: documents due a "
              "re-check of their bytes ([passes] revalidate_days).")
@data_dir_option
@config_dir_option
@json_option
def crawl(agency: str, kind: str, data_dir: DataDir, config_dir: Path | None, as_json: bool) -> None:
    """Snapshot AGENCY's FOIA library: every listing page and every linked document (or one pass, --pass).

    AGENCY is a bundled agency name (see `foiawatch agencies`) or a path to a .toml config.
    A watch pass that finds nothing new is kept as a check, not a crawl (status "unchanged").
    Exits 0 for a complete, incomplete or unchanged crawl, 3 when the library was down or blocked (recorded as an
    outage: nothing is ever marked removed because of it).
    """
    config = load_agency(agency, config_dir)
    console = Console(stderr=True)
    with CrawlProgress(console, quiet=quiet() or as_json) as progress:
        try:
            result = run_crawl(config, data_dir, on_event=progress.update, kind=kind)
        except CrawlProcessError as error:
            raise click.ClickException(str(error)) from None
    outage = result.status == CrawlStatus.OUTAGE
    if as_json:
        echo_json({"agency": config.id, "crawl_id": result.crawl_id, "status": result.status,
                   "reason": result.reason, "failure": _failure(result.reason) if outage else None,
                   "crawl": result.crawl, "extraction": result.extraction})
    else:
        print_crawl_summary(Console(), config, result)
    if outage:
        if not as_json:
            kind = classify_text(result.reason)
            named = f" ({WHAT[kind]})" if kind != FailureKind.OTHER else ""
            console.print(
                f"[bold red]The library could not be crawled{named}:[/] {result.reason}.\n"
                "It was recorded as an outage (no document is treated as removed because of it). "
                "Check the library URL in the agency config and your network, then run the crawl again.",
                soft_wrap=True,
            )
        sys.exit(EXIT_ATTENTION)


def _failure(reason: str) -> str | None:
    kind = classify_text(reason)
    return None if kind == FailureKind.OTHER else kind.value


@click.command()
@config_dir_option
@json_option
def agencies(config_dir: Path | None, as_json: bool) -> None:
    """List the agency configs foiawatch knows (bundled, and any in --config-dir)."""
    found = configured_agencies(config_dir)
    if as_json:
        echo_json([_agency_dict(path, config) for path, config in found])
        return
    for path, config in found:
        if isinstance(config, ConfigError):
            click.echo(f"{path.stem:<16} INVALID: {config}")
            continue
        click.echo(f"{config.id:<16} {config.name}  {', '.join(config.library_urls)}")


def _agency_dict(path: Path, config: AgencyConfig | ConfigError) -> dict[str, object]:
    if isinstance(config, ConfigError):
        return {"id": path.stem, "source": str(path), "valid": False, "error": str(config)}
    return {"id": config.id, "source": str(path), "valid": True, "name": config.name,
            "library_urls": list(config.library_urls), "schedule": config.schedule,
            "wayback_prefixes": list(config.wayback.all_prefixes), "wayback_schedule": config.wayback.schedule}
