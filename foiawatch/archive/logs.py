"""Log lines: what every foiawatch process writes to stderr and to ``<data-dir>/logs/``.

One set-up for the command line (``foiawatch.cli`` calls :func:`configure` once per command) and for the crawl
child process (``foiawatch.crawler.run``), so that a crawl run by cron, systemd or a container, where there is no
terminal, leaves the same record as one watched on a terminal:

- **stderr**: ``console`` lines (``12:03:04 INFO foiawatch.pipeline: ice: crawl ok ...``) or ``json`` lines (one
  object per line), as ``--log-format`` says; ``auto`` is console on a terminal, JSON anywhere else (a journal, a
  container log, a pipe). INFO and above; WARNING with ``--quiet``; DEBUG with ``--verbose``.
- **files in logs/**: always JSON lines, INFO and above (DEBUG with ``--verbose``), in one file per UTC day
  (``logs/foiawatch-2025-01-31.log``, appended to by every process, one ``write`` per line) beside the crawl
  processes' own files (``logs/crawl-<agency>.log``).

JSON lines are made by the standard library's ``json`` (:class:`JsonFormatter`), not python-json-logger: twenty
lines of code, one dependency fewer, and the same formatter runs in the crawl child, which must not need anything
the crawl itself does not.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from .datadir import DataDir

FORMATS = ("auto", "console", "json")
# The attributes every LogRecord has; anything else was passed in ``extra=`` and goes into the JSON object.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
# Third-party loggers that are chatty at INFO (Scrapy's stats dump, APScheduler's "Running job"): WARNING unless -vv.
_CHATTY = ("scrapy", "twisted", "apscheduler", "urllib3", "asyncio", "datasette", "uvicorn", "filelock", "pypdf")
_MARK = "_foiawatch_handler"


def record_dict(record: logging.LogRecord) -> dict[str, Any]:
    """A log record as the JSON object written for it (and sent by the crawl child to its parent)."""
    data: dict[str, Any] = {
        "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
        "message": record.getMessage(),
        "pid": record.process,
    }
    for key, value in vars(record).items():
        if key not in _STANDARD and not key.startswith("_"):
            data[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
    if record.exc_info and record.exc_info[0] is not None:
        data["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
    return data


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, pid, the record's extras, any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(record_dict(record), ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL logger: message`` for a person at a terminal (local time, no date)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is written, so a progress display that redirects stderr
    (rich) prints log lines above itself, and a test runner that swaps stderr captures them."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


class DailyFileHandler(logging.Handler):
    """JSON lines appended to ``<directory>/<prefix>-YYYY-MM-DD.log`` (UTC date), a new file each day.

    Every process appends to the same file (O_APPEND, one write per line), so the scheduler, ``foiawatch run``
    from cron and ``foiawatch status`` can share it; nothing is rotated or deleted by foiawatch.
    """

    def __init__(self, directory: Path, prefix: str = "foiawatch") -> None:
        super().__init__()
        self.directory, self.prefix = directory, prefix
        self._day: str | None = None
        self._fd: int | None = None
        self._fd_lock = threading.Lock()
        self._unwritable = False
        self.setFormatter(JsonFormatter())

    def path_for(self, day: str) -> Path:
        return self.directory / f"{self.prefix}-{day}.log"

    def emit(self, record: logging.LogRecord) -> None:
        if self._unwritable:
            return
        try:
            line = (self.format(record) + "\n").encode("utf-8", "replace")
            day = datetime.fromtimestamp(record.created, UTC).date().isoformat()
            with self._fd_lock:
                if day != self._day or self._fd is None:
                    self._close_fd()
                    self.directory.mkdir(parents=True, exist_ok=True)
                    self._fd = os.open(self.path_for(day), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                    self._day = day
                os.write(self._fd, line)
        except OSError as error:  # a read-only data directory (``serve`` from a read-only copy): stderr only
            self._unwritable = True
            sys.stderr.write(f"foiawatch: cannot write log files in {self.directory} ({error.strerror or error}); "
                             "logging to stderr only\n")
        except Exception:  # noqa: BLE001 - logging must never break the work it records
            self.handleError(record)

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        with self._fd_lock:
            self._close_fd()
        super().close()


def resolve_format(fmt: str, stream: IO[str] | None = None) -> str:
    """``auto`` made concrete: console on a terminal, json anywhere else."""
    if fmt != "auto":
        return fmt
    stream = stream or sys.stderr
    try:
        return "console" if stream.isatty() else "json"
    except (AttributeError, ValueError):
        return "json"


def levels(verbosity: int) -> tuple[int, int]:
    """(stderr level, file level) for a verbosity: -1 quiet, 0 normal, 1 and more verbose."""
    if verbosity < 0:
        return logging.WARNING, logging.INFO
    if verbosity == 0:
        return logging.INFO, logging.INFO
    return logging.DEBUG, logging.DEBUG


def configure(fmt: str = "auto", verbosity: int = 0, data_dir: DataDir | None = None, *,
              stderr: bool = True) -> None:
    """(Re)install foiawatch's handlers on the root logger, replacing those a previous call installed.

    ``data_dir``: also write JSON lines to its ``logs/`` directory. ``stderr``: also write to stderr in ``fmt``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: choose one of {', '.join(FORMATS)}")
    reset()
    root = logging.getLogger()
    _saved.update({name: logging.getLogger(name or None).level for name in ("", *_CHATTY)})
    stderr_level, file_level = levels(verbosity)
    handlers: list[logging.Handler] = []
    if stderr:
        to_stderr = StderrHandler()
        to_stderr.setLevel(stderr_level)
        to_stderr.setFormatter(JsonFormatter() if resolve_format(fmt) == "json" else ConsoleFormatter())
        handlers.append(to_stderr)
    if data_dir is not None:
        file_handler = DailyFileHandler(data_dir.logs)
        file_handler.setLevel(file_level)
        handlers.append(file_handler)
    for handler in handlers:
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    root.setLevel(min([stderr_level, file_level] if handlers else [logging.WARNING]))
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)


_saved: dict[str, int] = {}  # the levels configure() changed, as they were


def reset() -> None:
    """Remove and close the handlers :func:`configure` installed (other handlers are left alone), and put back the
    levels it changed."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
            handler.close()
    for name, level in _saved.items():
        logging.getLogger(name or None).setLevel(level)
    _saved.clear()


def replay(data: dict[str, Any]) -> None:
    """Log a record another process sent as :func:`record_dict` made it, through this process's handlers, if
    this process's loggers want it (the crawl child's lines reach the parent's stderr and files this way)."""
    name = str(data.get("logger") or "foiawatch")
    level = logging.getLevelName(str(data.get("level") or "INFO"))
    level = level if isinstance(level, int) else logging.INFO
    logger = logging.getLogger(name)
    if not logger.isEnabledFor(level):
        return
    extra = {key: value for key, value in data.items()
             if key not in ("time", "level", "logger", "message", "exception", "event") and key not in _STANDARD}
    record = logger.makeRecord(name, level, "(crawl process)", 0, str(data.get("message", "")), (), None,
                               extra=extra)
    if data.get("time"):
        try:
            record.created = datetime.fromisoformat(str(data["time"])).timestamp()
        except ValueError:
            pass
    if data.get("exception"):
        record.msg = f"{record.msg}\n{data['exception']}"
    logger.handle(record)
