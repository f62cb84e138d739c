"""``foiawatch verify`` and ``foiawatch export``: audit the archive's files, and hand an agency's archive on.

They reuse the shared options of ``foiawatch.cli`` and are registered at the bottom of cli.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..cli import config_dir_option, data_dir_option, load_agency, open_archive
from ..progress import progress_bars
from .export import ExportError, export_bag, export_warcs
from .fixity import FAILURES, TRUNCATED, Audit, WaybackRepair, audit


@click.command()
@data_dir_option
@click.option("--repair-from-wayback", "repair", is_flag=True,
              help="Fetch missing or corrupt recovered blobs again from the Wayback capture they came from.")
@click.option("--json", "as_json", is_flag=True, help="Print the audit as JSON.")
def verify(data_dir: Path, repair: bool, as_json: bool) -> None:
    """Fixity audit: re-hash every blob and WARC record against its recorded sha256 or WARC digest.

    Reports missing, corrupt and orphaned files and records the audit in the archive. Exits 1 if any problem is
    left (a truncated last record in the WARC of an interrupted crawl is reported but is not a problem).
    """
    archive = open_archive(data_dir)
    repairer = WaybackRepair(archive) if repair else None
    try:
        with progress_bars() as bars:
            tasks = {"blobs": bars.add_task("re-hashing blobs", total=None),
                     "warcs": bars.add_task("checking WARC records", total=None)}
            result = audit(archive, repair=repairer, progress=lambda kind, done, total: bars.update(
                tasks[kind], completed=done, total=total))
    finally:
        if repairer:
            repairer.close()
    click.echo(json.dumps(result.as_dict(), indent=2) if as_json else _report(result))
    if not result.ok:
        sys.exit(1)


@click.command()
@click.argument("agency")
@data_dir_option
@config_dir_option
@click.option("--bagit", "bag_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write a BagIt bag (blobs, WARCs, provenance.csv) to this new or empty directory.")
@click.option("--warc", "warc_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Copy the agency's crawl WARCs, unchanged, into this directory.")
@click.option("--include-withheld", is_flag=True,
              help="Put blobs the PII screen withholds (or has not screened) in the bag too: a private copy.")
def export(agency: str, data_dir: Path, config_dir: Path | None, bag_dir: Path | None, warc_dir: Path | None,
           include_withheld: bool) -> None:
    """Export AGENCY's archive as a BagIt bag and/or its crawl WARCs as they are."""
    if not bag_dir and not warc_dir:
        raise click.UsageError("say where to export: --bagit DIR and/or --warc DIR")
    config = load_agency(agency, config_dir)
    archive = open_archive(data_dir)
    try:
        if bag_dir:
            bag = export_bag(archive, config.id, bag_dir, include_withheld=include_withheld)
            click.echo(f"BagIt bag of {config.id} in {bag.directory}: {bag.blobs} blob(s), {bag.warcs} WARC(s), "
                       f"{bag.bytes:,} bytes of payload.")
            if bag.withheld:
                click.echo(f"{bag.withheld} blob(s) withheld by the PII screen or not yet screened were left out "
                           "(listed in provenance.csv); --include-withheld puts them in.")
        if warc_dir:
            copies = export_warcs(archive, config.id, warc_dir)
            click.echo(f"{len(copies)} WARC file(s) of {config.id} copied to {warc_dir}.")
    except ExportError as error:
        raise click.ClickException(str(error)) from None


def _report(result: Audit) -> str:
    lines = [f"Fixity audit {result.id}: {result.blobs} blob(s), {result.warcs} WARC file(s) "
             f"({result.warc_records} records) checked."]
    for problem in result.problems:
        state = " (repaired)" if problem.repaired else ""
        lines.append(f"  {problem.kind:<9} {problem.file_type:<4} {problem.path}: {problem.detail}{state}")
    counts = ", ".join(f"{result.count(kind)} {kind}" for kind in (*FAILURES, TRUNCATED))
    verdict = "OK" if result.ok else "PROBLEMS FOUND"
    lines.append(f"{verdict}: {counts}, {result.repaired} repaired.")
    return "\n".join(lines)

