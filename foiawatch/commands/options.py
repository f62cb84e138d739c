"""What every command shares: the options that mean the same thing everywhere, and the helpers that turn a
subsystem's errors into one clear line (``click.ClickException``) instead of a traceback.

Bad paths and names are refused before anything runs, in one line and with a non-zero exit: a data directory that
cannot be written (every command but ``serve`` writes to it, if only SQLite's journal), a ``--config-dir`` that
does not exist (rather than quietly using the bundled configs alone), an agency the archive does not know.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
from click.core import ParameterSource

from ..alerts.settings import AlertSettings
from ..archive import Archive, DataDir, logs
from ..archive.datadir import DATA_DIR_ENV, DEFAULT_DATA_DIR
from ..archive.vocabulary import EventKind
from ..config import AgencyConfig, ConfigError, bundled_config_dir, find_config, load_config

F = TypeVar("F", bound=Callable[..., Any])


def _to_data_dir(_ctx: click.Context, _param: click.Parameter, value: Path) -> DataDir:
    data_dir = DataDir.at(value)
    check_writable(data_dir)
    return data_dir


def _to_served_data_dir(_ctx: click.Context, _param: click.Parameter, value: Path) -> DataDir:
    return DataDir.at(value)


def _data_dir_option(callback: Callable[[click.Context, click.Parameter, Path], DataDir]) -> Callable[[F], F]:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=lambda: os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR),
        show_default=f"${DATA_DIR_ENV} or ./{DEFAULT_DATA_DIR}",
        callback=callback,
        help="Archive directory (database, blobs, WARCs).",
    )


data_dir_option = _data_dir_option(_to_data_dir)
# ``serve`` only reads: a public archive may be served from a read-only copy.
served_data_dir_option = _data_dir_option(_to_served_data_dir)


def check_writable(data_dir: DataDir) -> None:
    """Refuse a data directory this process cannot write to (or create), and databases in it it cannot write."""
    root = data_dir.root
    existing = root
    try:
        while not existing.exists():
            existing = existing.parent
    except OSError as error:  # a directory on the way cannot be searched
        raise click.ClickException(f"cannot use {root} as the data directory: {error.strerror or error} "
                                   f"({error.filename})") from None
    if not existing.is_dir():
        raise click.ClickException(f"cannot use {root} as the data directory: {existing} is not a directory")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass  # what access(2) would say, except that access(2) takes root for able to write anywhere
    except OSError as error:
        place = "" if existing == root else f" ({existing} is not)"
        raise click.ClickException(f"the data directory {root} is not writable{place}: "
                                   f"{error.strerror or error}") from None
    for path in (data_dir.archive_db, data_dir.private_db):
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if file.exists() and not os.access(file, os.R_OK | os.W_OK):
                raise click.ClickException(f"the data directory {root} is not writable: {file.name} is read-only")


def _to_config_dir(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None and not value.is_dir():
        what = "is not a directory" if value.exists() else "does not exist"
        raise click.ClickException(f"the config directory {value} {what} (--config-dir or $FOIAWATCH_CONFIG_DIR)")
    return value


def config_dir_option(function: F) -> F:
    return click.option(
        "--config-dir",
        type=click.Path(path_type=Path),
        default=lambda: os.environ.get("FOIAWATCH_CONFIG_DIR") or None,
        callback=_to_config_dir,
        help="Directory of agency .toml files, searched before the bundled ones. Default: $FOIAWATCH_CONFIG_DIR.",
    )(function)


def _to_public_url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if not value:
        return None
    try:
        parts = urlsplit(value.strip())
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.query and not parts.fragment
    except ValueError:
        valid = False
    if not valid or any(ord(c) < 33 or ord(c) == 127 for c in value.strip()):
        raise click.ClickException(f"the public URL {value!r} is not an http(s) URL (--public-url or "
                                   "$FOIAWATCH_PUBLIC_URL)")
    return value.strip().rstrip("/")


public_url_option = click.option(
    "--public-url", envvar="FOIAWATCH_PUBLIC_URL", callback=_to_public_url,
    help="The URL visitors reach the archive at (feed ids and links start with it; never the request's Host "
         "header). Default: $FOIAWATCH_PUBLIC_URL, else http://HOST:PORT.")


# Click shows (and matches) an enum's member names; the words a user types are the values.
EVENT_KINDS = click.Choice([kind.value for kind in EventKind])
json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as one JSON document on stdout (logs stay on stderr).")
SECTION_HELP = ("A section heading exactly as the library shows it (the same meaning in every command; "
                "`foiawatch events --json` lists them).")


def open_archive(data_dir: DataDir) -> Archive:
    """The archive in ``data_dir``, or a clear error when there is none yet (rather than creating an empty one)."""
    if not data_dir.has_archive():
        raise click.ClickException(
            f"no archive in {data_dir}; run `foiawatch crawl AGENCY --data-dir {data_dir}` first")
    return Archive(data_dir)


def check_agency(archive: Archive, agency: str | None) -> None:
    """Refuse an agency the archive has never recorded (a filter on it could only ever find nothing)."""
    if agency is None:
        return
    known = [row[0] for row in archive.db.execute("select id from agencies order by id")]
    if agency not in known:
        raise click.ClickException(f"no agency {agency!r} in the archive in {archive.data_dir}; "
                                   f"known: {', '.join(known) or 'none'}")


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


# Exit codes, the same for every command (README, "Exit codes") ----------------------------------------------

EXIT_OK = 0
EXIT_ERROR = 1  # something failed; the one line printed says what (click.ClickException)
EXIT_USAGE = 2  # bad arguments (click's own)
EXIT_ATTENTION = 3  # the library is down or blocked (crawl), an agency needs attention (status)
EXIT_UNAVAILABLE = 4  # a service foiawatch depends on could not be used (the Wayback Machine): nothing concluded


class Unavailable(click.ClickException):
    """A service could not be used (unreachable, rate-limiting, refusing): one line, exit code 4."""

    exit_code = EXIT_UNAVAILABLE


# Logging and --quiet / --verbose / --log-format, on every command ---------------------------------------------

LOG_META = "foiawatch.logging"


@dataclass
class LogChoice:
    """What the logging options said, at the root (``foiawatch -v crawl``) or on the command (``crawl -v``)."""

    fmt: str = "auto"
    verbose: int = 0
    quiet: bool = False

    @property
    def verbosity(self) -> int:
        return self.verbose if self.verbose else (-1 if self.quiet else 0)


def log_choice() -> LogChoice:
    """The logging options in force for the running command (defaults outside a command)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return LogChoice()
    return ctx.find_root().meta.setdefault(LOG_META, LogChoice())


def quiet() -> bool:
    """``--quiet``: no progress display, warnings and errors only on stderr."""
    return log_choice().quiet


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if param.name is None or ctx.get_parameter_source(param.name) in (None, ParameterSource.DEFAULT):
        return value
    choice = ctx.find_root().meta.setdefault(LOG_META, LogChoice())
    if param.name == "log_format":
        choice.fmt = value
    elif param.name == "verbose":
        choice.verbose = max(choice.verbose, value)
    elif param.name == "quiet":
        choice.quiet = choice.quiet or bool(value)
    return value


def _logging_params() -> list[click.Option]:
    return [
        click.Option(["-v", "--verbose"], count=True, expose_value=False, callback=_remember,
                     help="More detail on stderr and in logs/ (-vv: the libraries' debug lines too)."),
        click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, callback=_remember,
                     help="No progress display; only warnings and errors on stderr (logs/ keeps everything)."),
        click.Option(["--log-format"], type=click.Choice(logs.FORMATS), default="auto", show_default=True,
                     envvar="FOIAWATCH_LOG_FORMAT", expose_value=False, callback=_remember,
                     help="stderr log lines: console, json (one object per line), or auto (console on a "
                          "terminal, json otherwise). Files in logs/ are always JSON. Default: "
                          "$FOIAWATCH_LOG_FORMAT, else auto."),
    ]


_depth = 0


def with_logging(command: click.Command) -> click.Command:
    """Give ``command`` (and every command under it) the logging options, and configure logging once, before its
    work starts: to stderr as the options say and, when it has a ``--data-dir``, to that directory's logs/."""
    taken = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for param in _logging_params():
        if not taken & set(param.opts):
            command.params.append(param)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_logging(sub)
        return command
    callback = command.callback
    if callback is None or getattr(callback, "_with_logging", False):
        return command

    @functools.wraps(callback)
    def configured(*args: Any, **kwargs: Any) -> Any:
        global _depth
        if _depth:  # a command invoking another (demo -> serve): logging is set up already
            return callback(*args, **kwargs)
        ctx = click.get_current_context()
        data_dir = ctx.params.get("data_dir")
        choice = log_choice()
        logs.configure(choice.fmt, choice.verbosity, data_dir if isinstance(data_dir, DataDir) else None)
        _depth += 1
        try:
            return callback(*args, **kwargs)
        finally:
            _depth -= 1
            logs.reset()

    configured._with_logging = True  # type: ignore[attr-defined]
    command.callback = configured
    return command


# Agency configs -------------------------------------------------------------------------------------------------

# The bundled demo config points at a placeholder address (127.0.0.1:8765, where `foiawatch demo-site` serves);
# it is listed, but scheduled only when named.
DEMO_AGENCY = "demo"


def configured_agencies(config_dir: Path | None) -> list[tuple[Path, AgencyConfig | ConfigError]]:
    """Every agency config: those in ``config_dir`` first, then the bundled ones not shadowed by a file of the same
    name; each loaded, or the error that stops it loading."""
    directories = ([config_dir] if config_dir else []) + [bundled_config_dir()]
    seen: set[str] = set()
    found: list[tuple[Path, AgencyConfig | ConfigError]] = []
    for directory in directories:
        for path in sorted(directory.glob("*.toml")):
            if path.stem in seen:
                continue
            seen.add(path.stem)
            try:
                found.append((path, load_config(path)))
            except ConfigError as error:
                found.append((path, error))
    return found


def echo_json(data: Any) -> None:
    """A command's --json output: one JSON document on stdout."""
    click.echo(json.dumps(data, indent=2, default=str))
