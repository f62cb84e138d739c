"""The public Datasette instance: the public database alone, opened immutable, with foiawatch's metadata, pages
and plugin. No other database is attached, so ``?sql=`` reaches nothing but published data; the archive is read
only for the bytes of published files and the current withholding decision (see ``files.py``).

``foiawatch publish`` replaces ``public.db`` by a rename while the instance runs. :class:`PublicApp` notices the
new file on the next request and moves to a Datasette opened on it; requests already running finish on the old
one. The takedown feed and search are therefore as fresh as the last publish, with no restart.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import yaml
from datasette.app import Datasette

from ..archive.datadir import DataDir, DataDirLike
from ..archive.published import PUBLIC_DB_NAME
from . import atom, files, plugin
from .build import LONGEST_VALUE_SQL

CONFIG_DIR = Path(__file__).resolve().parents[1] / "datasette_config"
SETTINGS = {
    "default_page_size": 50,
    "max_returned_rows": 1000,
    "sql_time_limit_ms": 1000,
    "facet_time_limit_ms": 200,
    "suggest_facets": False,  # suggestions run a query per column on every table page
    "allow_download": True,  # the whole public database: it holds nothing that is not public
}
RETIRE_AFTER_S = 60.0  # how long a replaced instance keeps its SQL threads for requests still running on it


def make_datasette(data_dir: DataDirLike, public_url: str | None = None) -> Datasette:
    """A Datasette serving ``<data_dir>/public/public.db`` (as built by ``build_public``) and nothing else.
    ``public_url`` is where visitors reach it: the Atom feed's ids and links start with it (see ``atom``)."""
    data_dir = DataDir.at(data_dir)
    public_db = data_dir.public_db
    if not public_db.is_file():
        raise FileNotFoundError(f"no public database at {public_db}; run `foiawatch publish` first")
    plugin.register()
    metadata = yaml.safe_load((CONFIG_DIR / "metadata.yaml").read_text(encoding="utf-8"))
    datasette = Datasette(immutables=[str(public_db)], metadata=metadata, settings=SETTINGS)
    if set(datasette.databases) != {"_internal", PUBLIC_DB_NAME}:  # _internal: Datasette's own, never public
        raise RuntimeError(f"the public instance must serve the public database alone: {list(datasette.databases)}")
    files.attach_archive(datasette, data_dir)
    plugin.limit_values(datasette, longest_value(public_db))
    if public_url:
        atom.set_public_url(datasette, public_url)
    return datasette


def longest_value(public_db: Path) -> int:
    """Bytes of the longest value in the public database (an index lookup; a full scan in a database built by an
    older release, once per published file)."""
    with closing(sqlite3.connect(f"{public_db.resolve().as_uri()}?immutable=1", uri=True)) as connection:
        try:
            return int(connection.execute(LONGEST_VALUE_SQL).fetchone()[0] or 0)
        except sqlite3.OperationalError:  # no texts table: nothing long
            return 0


class PublicApp:
    """ASGI app serving the newest public database: a new file (new inode) gets a new, warmed-up Datasette."""

    def __init__(self, data_dir: DataDirLike, public_url: str | None = None):
        self.data_dir = DataDir.at(data_dir)
        self.public_url = public_url
        self._lock = asyncio.Lock()
        self._identity: tuple[int, int] | None = None
        self._served: tuple[Datasette, Any] | None = None  # the instance and its ASGI app

    def _file_identity(self) -> tuple[int, int]:
        stat = os.stat(self.data_dir.public_db)
        return stat.st_ino, stat.st_mtime_ns

    async def _app(self) -> Any:
        if self._served is None or self._file_identity() != self._identity:
            async with self._lock:
                identity = self._file_identity()
                if identity != self._identity:
                    datasette = make_datasette(self.data_dir, self.public_url)
                    await datasette.invoke_startup()
                    await datasette.get_database(PUBLIC_DB_NAME).table_counts(limit=60_000)
                    retired, self._served, self._identity = self._served, (datasette, datasette.app()), identity
                    if retired is not None:  # free its SQL threads, and their connections to the old file
                        asyncio.get_running_loop().call_later(RETIRE_AFTER_S, retired[0].executor.shutdown, False)
        assert self._served is not None
        return self._served[1]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:
            await (await self._app())(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        await receive()  # lifespan.startup
        try:
            await self._app()  # fail at startup, not on the first request, if nothing is published
        except Exception as error:  # noqa: BLE001 (reported to the server, which exits)
            await send({"type": "lifespan.startup.failed", "message": str(error)})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})
