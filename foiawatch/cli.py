"""The ``foiawatch`` command: one entry point for crawling, diffing, recovery, publishing and alerts."""

from __future__ import annotations

import os
from pathlib import Path

import click

from . import __version__

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
