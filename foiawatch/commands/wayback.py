"""``foiawatch wayback`` and ``foiawatch recover``: the Wayback baseline, and recovery of removed documents."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import click

from ..archive import DataDir
from ..archive.vocabulary import FailureKind, counted
from ..config import AgencyConfig
from ..pipeline import wayback_baseline
from ..wayback import BlockedSite, RateLimited, WaybackUnavailable
from ..wayback.baseline import wayback_client
from ..wayback.recovery import RecoveryStats
from ..wayback.recovery import recover as recover_documents
from .options import (
    Unavailable,
    config_dir_option,
    data_dir_option,
    echo_json,
    json_option,
    load_agency,
    open_archive,
    quiet,
)
from .progress import progress_bars


@click.command()
@click.argument("agency")
@data_dir_option
@config_dir_option
@json_option
def wayback(agency: str, data_dir: DataDir, config_dir: Path | None, as_json: bool) -> None:
    """Compare AGENCY's library with what the Wayback Machine captured under its [wayback] prefix.

    Lists every capture of a document under the prefix (a few paged CDX requests), checks each captured URL no
    crawl ever listed against the library (politely, only after a complete crawl), and records those the library
    no longer serves as removed_before_monitoring events. Safe to re-run.

    Exits 4 when the Wayback Machine cannot be used (its name does not resolve, it refuses connections, TLS fails,
    it times out, answers 5xx, rate-limits or refuses us): nothing is concluded then, and the one line printed
    says which.
    """
    config = load_agency(agency, config_dir)
    archive = open_archive(data_dir)
    with progress_bars(quiet() or as_json) as progress, _wayback_errors(config), wayback_client(config) as client:
        listing = progress.add_task("CDX listing (captures)", total=None)
        pages = progress.add_task("reading archived listing pages", total=None)
        probing = progress.add_task("checking captured URLs never listed", total=None)
        outcome = wayback_baseline(
            archive, config, client, on_listing=lambda rows: progress.update(listing, completed=rows),
            on_pages=lambda done, total: progress.update(pages, completed=done, total=total),
            on_probe=lambda done, total: progress.update(probing, completed=done, total=total))
    sync, listings, probes, result = outcome.sync, outcome.listings, outcome.probes, outcome.baseline
    if as_json:
        echo_json({"agency": config.id, "sync": _plain(sync), "listings": _plain(listings), "probes": _plain(probes),
                   "recovered": _plain(outcome.recovered), "baseline": _plain(result)})
        return
    if result is None:
        click.echo(f"Skipped: {sync.skipped}.")
        return
    assert listings is not None and probes is not None, "a baseline runs only on evidence gathered in full"
    click.echo(f"CDX requests: {sync.cdx_requests} for documents, {listings.cdx_requests} for listing pages")
    click.echo(f"Captures: {sync.captures} of documents listed ({sync.new} new); "
               f"{counted(sync.urls, 'document URL')} captured in all.")
    click.echo(f"CDX listing: {sync.skipped_rows()}.")
    left = f"; {counted(listings.left, 'older version')} left for later runs" if listings.left else ""
    left += "".join(f"; not listed: {reason}" for reason in listings.blocked)
    click.echo(f"Archived listing pages: {counted(listings.versions, 'version')} captured, {listings.read} read now "
               f"({listings.links} document links, {listings.unreadable} unreadable){left}.")
    if probes.skipped:
        click.echo(f"Probes skipped: {probes.skipped}.")
    else:
        outcomes = ", ".join(f"{count} {outcome}" for outcome, count in sorted(probes.outcomes.items()))
        waiting = f"; {probes.left} left for the next run" if probes.left else ""
        click.echo(f"Probed {counted(probes.probed, 'captured URL')} never listed: "
                   f"{outcomes or 'none to probe'}{waiting}.")
    if outcome.recovered:
        click.echo("Copies of the documents found gone that no archived listing names (they name themselves):")
        _recovery_report(outcome.recovered, "Documents")
    if result.skipped:
        click.echo(f"Baseline skipped: {result.skipped}.")
        return
    click.echo(f"Never listed by our crawls: {counted(result.never_listed, 'URL')}: {result.gone} gone, "
               f"{result.served} still served, {result.inconclusive} inconclusive, {result.unprobed} not probed.")
    click.echo(f"{counted(result.created, 'new removed_before_monitoring event')}. "
               f"See them with `foiawatch events --agency {config.id} --kind removed_before_monitoring`.")


@click.command()
@click.argument("agency")
@data_dir_option
@config_dir_option
@click.option("--event", "event_id", type=int, metavar="ID",
              help="Only the documents of this removal event (ids are in `foiawatch events --json`).")
@json_option
def recover(agency: str, data_dir: DataDir, config_dir: Path | None, event_id: int | None, as_json: bool) -> None:
    """Store a Wayback copy of every removed document of AGENCY the archive holds no copy of.

    For each document named by a removed, section_removed or removed_before_monitoring event, the newest capture
    that answered 200 with the document's type is fetched raw and checked against its CDX digest; a capture that
    fails is recorded as rejected and an older one tried. Safe to re-run: nothing is fetched twice. Exits 4 when
    the Wayback Machine cannot be used (the line printed says why).
    """
    config = load_agency(agency, config_dir)
    archive = open_archive(data_dir)
    with progress_bars(quiet() or as_json) as progress, _wayback_errors(config), wayback_client(config) as client:
        task = progress.add_task("recovering from the Wayback Machine", total=None)
        try:
            stats = recover_documents(archive, config, client, event_id,
                                      progress=lambda done, total: progress.update(task, completed=done, total=total))
        except LookupError as error:
            raise click.ClickException(str(error)) from None
    if as_json:
        echo_json({"agency": config.id, **(_plain(stats) or {})})
        return
    _recovery_report(stats, "Removed documents")


def _recovery_report(stats: RecoveryStats, what: str) -> None:
    click.echo(f"{what}: {stats.documents}; already stored: {stats.already_stored}; "
               f"recovered now: {stats.recovered} ({counted(stats.new_blobs, 'new file')}).")
    for url, timestamp, reason in stats.rejected:
        click.echo(f"  rejected capture {timestamp} of {url}: {reason}")
    for url in stats.unrecoverable:
        click.echo(f"  no usable capture of {url}")
    for failure in stats.errors:
        click.echo(f"  failed for now (the next run retries): {failure}")


def _plain(stats: object) -> dict[str, Any] | None:
    """A dataclass of counts as JSON-ready data (None stays None)."""
    if stats is None:
        return None
    assert is_dataclass(stats) and not isinstance(stats, type), "the Wayback steps report dataclasses"
    return {key: _json_ready(value) for key, value in asdict(stats).items()}


def _json_ready(value: Any) -> Any:
    """Sets as sorted lists, and mapping keys as strings (a tuple key becomes "a/b")."""
    if isinstance(value, dict):
        return {"/".join(map(str, key)) if isinstance(key, tuple) else str(key): _json_ready(item)
                for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    return value


@contextmanager
def _wayback_errors(config: AgencyConfig) -> Iterator[None]:
    """Turn the client's give-up errors into one line that says what happened and what to do (exit code 4)."""
    service = config.wayback.base_url
    try:
        yield
    except WaybackUnavailable as error:
        raise Unavailable(
            f"cannot use the Wayback Machine at {service}: {error}. Nothing was concluded from it; what was listed "
            f"or recovered so far is kept. {_advice(error.kind, config)}"
        ) from None
    except RateLimited as error:
        raise Unavailable(
            f"the Wayback Machine at {service} is rate-limiting us: {error}. Stopped before the address gets "
            "blocked; wait an hour, then run the command again (progress so far is kept)."
        ) from None
    except BlockedSite as error:
        raise Unavailable(
            f"the Wayback Machine at {service} refuses access to {', '.join(config.wayback.all_prefixes)} ({error}): "
            "the site is excluded from it, so nothing can be listed or recovered from it."
        ) from None


def _advice(kind: FailureKind, config: AgencyConfig) -> str:
    where = f"[wayback] base_url in {config.source or 'the agency config'}"
    return {
        FailureKind.DNS: f"Check this machine's DNS and network, and {where}, then run the command again.",
        FailureKind.REFUSED: f"Check {where} (nothing listens there), then run the command again.",
        FailureKind.TLS: "Check the system's CA certificates, the clock and any TLS-intercepting proxy, then run "
                         "the command again.",
        FailureKind.TIMEOUT: "The service or the network is slow or down; run the command again later.",
        FailureKind.SERVER_ERROR: "The service is failing; run the command again later.",
    }.get(kind, f"Check the network and {where}, then run the command again.")
