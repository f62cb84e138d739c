"""Every path of an archive directory, in one place.

Layout::

    archive.db                 agencies, crawls, listing pages, documents, sightings, blobs, texts, events, ...
    private.db                 subscriptions, deliveries, runs, the scheduler's jobs: never published
    blobs/ab/cd/<sha256>       every byte string stored once
    warc/<agency>/crawl-<id>.warc.gz
    warc/<agency>/recovered-<run>.warc.gz   copies recovered from the Wayback Machine, with their provenance
    public/public.db           what ``foiawatch publish`` builds and ``foiawatch serve`` serves
    logs/                      the crawl processes' logs
    locks/<agency>.lock        one pipeline run per agency at a time
    alerts.lock                one alert sender at a time
    tmp/                       partial downloads; never trusted, swept on open
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .published import PUBLIC_DB_NAME

DATA_DIR_ENV = "FOIAWATCH_DATA"
DEFAULT_DATA_DIR = "foiawatch-data"


@dataclass(frozen=True)
class DataDir:
    """An archive directory. Entry points (``Archive``, ``open_private``, ``crawl``, ``run_pipeline``, ...) accept a
    ``DataDirLike`` and turn it into a ``DataDir`` at once with ``DataDir.at``; everything below takes a ``DataDir``."""

    root: Path

    @classmethod
    def at(cls, path: DataDirLike) -> DataDir:
        return path if isinstance(path, DataDir) else cls(Path(path).resolve())

    @classmethod
    def default(cls) -> DataDir:
        """``$FOIAWATCH_DATA``, else ``./foiawatch-data``: the same default for every command."""
        return cls.at(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)

    @property
    def archive_db(self) -> Path:
        return self.root / "archive.db"

    @property
    def private_db(self) -> Path:
        return self.root / "private.db"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    @property
    def warc(self) -> Path:
        return self.root / "warc"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def public_db(self) -> Path:
        return self.root / "public" / f"{PUBLIC_DB_NAME}.db"

    @property
    def alerts_lock(self) -> Path:
        return self.root / "alerts.lock"

    def warc_file(self, agency_id: str, crawl_id: int) -> Path:
        return self.warc / agency_id / f"crawl-{crawl_id}.warc.gz"

    def recovery_warc(self, agency_id: str, run: str) -> Path:
        """The WARC of one recovery run's copies (``run`` names it: its start time and process)."""
        return self.warc / agency_id / f"recovered-{run}.warc.gz"

    def crawl_log(self, agency_id: str) -> Path:
        return self.logs / f"crawl-{agency_id}.log"

    def agency_lock(self, agency_id: str) -> Path:
        return self.root / "locks" / f"{agency_id}.lock"

    def relative(self, path: Path) -> str:
        """A path inside the directory as it is recorded in the database (so the directory can move)."""
        return str(path.relative_to(self.root))

    def has_archive(self) -> bool:
        return self.archive_db.is_file()

    def __str__(self) -> str:
        return str(self.root)


DataDirLike = DataDir | str | Path
