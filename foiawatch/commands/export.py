"""``foiawatch export`` and ``foiawatch bundle``: hand an agency's archive on (BagIt, WARCs), and gather a section's
documents in one ZIP and one PDF."""

from __future__ import annotations

from pathlib import Path

import click

from ..archive import DataDir
from ..archive.vocabulary import counted
from ..export.bagit import ExportError, export_bag, export_warcs
from ..export.bundle import write_bundle
from .options import (
    SECTION_HELP,
    config_dir_option,
    data_dir_option,
    echo_json,
    json_option,
    load_agency,
    open_archive,
)


@click.command()
@click.argument("agency")
@data_dir_option
@config_dir_option
@click.option("--bagit", "bag_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write a BagIt bag (blobs, WARCs, provenance.csv) to this new or empty directory.")
@click.option("--warc", "warc_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Copy the agency's WARCs (crawls and recovered copies), unchanged, into this directory.")
@click.option("--include-withheld", is_flag=True,
              help="Put blobs the PII screen withholds (or has not screened) in the bag too: a private copy.")
@json_option
def export(agency: str, data_dir: DataDir, config_dir: Path | None, bag_dir: Path | None, warc_dir: Path | None,
           include_withheld: bool, as_json: bool) -> None:
    """Export AGENCY's archive as a BagIt bag and/or its crawl WARCs as they are."""
    if not bag_dir and not warc_dir:
        raise click.UsageError("say where to export: --bagit DIR and/or --warc DIR")
    config = load_agency(agency, config_dir)
    archive = open_archive(data_dir)
    failures = []  # one export failing never skips the other: each is tried, and each failure reported
    report: dict[str, object] = {"agency": config.id, "bag": None, "warcs": None}
    say = (lambda _text: None) if as_json else click.echo
    if bag_dir:
        try:
            bag = export_bag(archive, config.id, bag_dir, include_withheld=include_withheld)
        except ExportError as error:
            failures.append(f"BagIt bag not written: {error}")
        else:
            report["bag"] = {"directory": str(bag.directory), "blobs": bag.blobs, "warcs": bag.warcs,
                             "bytes": bag.bytes, "withheld_left_out": bag.withheld}
            say(f"BagIt bag of {config.id} in {bag.directory}: {counted(bag.blobs, 'blob')}, "
                f"{counted(bag.warcs, 'WARC')}, {bag.bytes:,} bytes of payload.")
            if bag.withheld:
                say(f"{counted(bag.withheld, 'blob')} withheld by the PII screen or not yet screened were left out "
                           "(listed in provenance.csv); --include-withheld puts them in.")
    if warc_dir:
        try:
            copies = export_warcs(archive, config.id, warc_dir)
        except ExportError as error:
            failures.append(f"WARCs not copied: {error}")
        else:
            report["warcs"] = {"directory": str(warc_dir), "files": [str(copy) for copy in copies]}
            say(f"{counted(len(copies), 'WARC file')} of {config.id} copied to {warc_dir}.")
    if as_json:
        echo_json({**report, "failures": failures})
    if failures:
        raise click.ClickException("; ".join(failures))


@click.command()
@click.argument("agency")
@data_dir_option
@config_dir_option
@click.option("--section", required=True,
              help=SECTION_HELP + " For documents only the Wayback Machine saw: the section inferred from "
                                  "their folder.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Directory to write the bundle into.")
@json_option
def bundle(agency: str, data_dir: DataDir, config_dir: Path | None, section: str, out_dir: Path,
           as_json: bool) -> None:
    """Write one ZIP of a section's documents with manifest.csv, and one bookmarked PDF when all are PDFs.

    PRIVATE: the bundle includes files the PII screen withholds from the public archive (flagged in the manifest).
    It is an operator artefact; review it before sharing it with anyone.
    """
    config = load_agency(agency, config_dir)
    try:
        result = write_bundle(open_archive(data_dir), config.id, section, out_dir)
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        echo_json({"agency": config.id, "section": section, "zip": str(result.zip_path),
                   "pdf": str(result.pdf_path) if result.pdf_path else None, "included": result.included,
                   "missing": result.missing, "withheld": result.withheld})
        return
    click.echo(f"{result.zip_path}: {counted(result.included, 'document')}, {result.missing} without a copy, "
               f"{result.withheld} withheld from the public archive (private bundle).")
    if result.pdf_path:
        click.echo(f"{result.pdf_path}: merged PDF, one bookmark per document.")
