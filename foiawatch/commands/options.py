"""What every command shares: the options that mean the same thing everywhere, and the helpers that turn a
subsystem's errors into one clear line (``click.ClickException``) instead of a traceback."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..alerts.settings import AlertSettings
from ..archive import Archive, DataDir
from ..archive.datadir import DATA_DIR_ENV, DEFAULT_DATA_DIR
from ..archive.vocabulary import EventKind
from ..config import AgencyConfig, ConfigError, find_config

F = TypeVar("F", bound=Callable[..., Any])


def _to_data_dir(_ctx: click.Context, _param: click.Parameter, value: Path) -> DataDir:
    return DataDir.at(value)


def data_dir_option(function: F) -> F:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=lambda: os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR),
        show_default=f"${DATA_DIR_ENV} or ./{DEFAULT_DATA_DIR}",
        callback=_to_data_dir,
        help="Archive directory (database, blobs, WARCs).",
    )(function)


def config_dir_option(function: F) -> F:
    return click.option(
        "--config-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=lambda: os.environ.get("FOIAWATCH_CONFIG_DIR"),
        help="Directory of agency .toml files, searched before the bundled ones. Default: $FOIAWATCH_CONFIG_DIR.",
    )(function)


# Click shows (and matches) an enum's member names; the words a user types are the values.
EVENT_KINDS = click.Choice([kind.value for kind in EventKind])
quiet_option = click.option("--quiet", is_flag=True, help="No progress display; print only the summary.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a report.")


def open_archive(data_dir: DataDir) -> Archive:
    """The archive in ``data_dir``, or a clear error when there is none yet (rather than creating an empty one)."""
    if not data_dir.has_archive():
        raise click.ClickException(
            f"no archive in {data_dir}; run `foiawatch crawl AGENCY --data-dir {data_dir}` first")
    return Archive(data_dir)


def load_agency(agency: str, config_dir: Path | None) -> AgencyConfig:
    try:
        return find_config(agency, config_dir)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def alert_settings() -> AlertSettings:
    try:
        return AlertSettings.from_env()
    except ValueError as error:
        raise click.ClickException(str(error)) from None
