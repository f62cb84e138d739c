"""``/-/files/<sha256>``: download a published document's bytes from the archive's blob store; and
``/-/previews/<sha256>.png``, the first page of a published PDF as rendered at publish time (``preview.py``).

A file is served only if it is in the public database's ``blobs`` table (published when the database was built)
*and* the archive still says it is released now: a reviewer who withholds a file after publishing takes it down
at once, without waiting for the next ``foiawatch publish``. Anything else answers 404, the same for withheld
and unknown files. A preview follows its file: no preview of a file withheld now.

Fetched bytes are the agency's, not ours, and may be HTML or worse: every answer is an attachment with a
Content-Type from a short list of document types (anything else is ``application/octet-stream``), ``nosniff`` and
a sandboxing CSP, so a browser never renders a fetched file as a page of this site.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from datasette.utils.asgi import Response, asgi_send_file

from ..archive.blobs import BlobStore
from ..archive.datadir import DataDir
from ..archive.published import FILES_ROUTE, PUBLIC_DB_NAME

if TYPE_CHECKING:
    from datasette.app import Datasette
    from datasette.utils.asgi import Request

ROUTE = rf"^{FILES_ROUTE}(?P<sha256>[0-9a-f]{{64}})$"
PREVIEW_ROUTE = r"^/-/previews/(?P<sha256>[0-9a-f]{64})\.png$"
CHUNK = 256 * 1024
SAFE_CONTENT_TYPES = frozenset({
    "application/pdf", "application/zip", "application/msword", "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint", "application/rtf", "text/plain", "text/csv", "image/png", "image/jpeg",
    "image/gif", "image/tiff",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
})
DOWNLOAD_HEADERS = {
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; sandbox",
    "cache-control": "public, max-age=3600",
}

_archives: WeakKeyDictionary[Datasette, DataDir] = WeakKeyDictionary()


def attach_archive(datasette: Datasette, data_dir: DataDir) -> None:
    """Tell the route where this instance's bytes are; an instance without an archive serves no file."""
    _archives[datasette] = data_dir


def has_archive(datasette: Datasette) -> bool:
    return datasette in _archives


def safe_content_type(mimetype: str | None) -> str:
    """The stored type if it is a known document type, else ``application/octet-stream`` (never HTML, XML, SVG)."""
    base = (mimetype or "").split(";", 1)[0].strip().lower()
    if base not in SAFE_CONTENT_TYPES:
        return "application/octet-stream"
    return f"{base}; charset=utf-8" if base.startswith("text/") else base


async def download(datasette: Datasette, request: Request) -> FileDownload | Response:
    sha256 = request.url_vars["sha256"]
    data_dir = _archives.get(datasette)
    if data_dir is None:
        return _not_found()
    result = await datasette.get_database(PUBLIC_DB_NAME).execute(
        "select filename, mimetype from blobs where sha256 = ?", [sha256]
    )
    row = result.first()
    path = BlobStore(data_dir.blobs, data_dir.tmp).path(sha256)
    if row is None or not path.is_file() or not await asyncio.to_thread(_released_now, data_dir.archive_db, sha256):
        return _not_found()
    return FileDownload(path, row["filename"] or sha256, safe_content_type(row["mimetype"]))


async def preview(datasette: Datasette, request: Request) -> Response:
    sha256 = request.url_vars["sha256"]
    data_dir = _archives.get(datasette)
    if data_dir is None:
        return _not_found()
    result = await datasette.get_database(PUBLIC_DB_NAME).execute(
        "select png from previews where sha256 = ? and png is not null", [sha256])
    row = result.first()
    if row is None or not await asyncio.to_thread(_released_now, data_dir.archive_db, sha256):
        return _not_found()
    return Response(row["png"], content_type="image/png", headers=DOWNLOAD_HEADERS)


def _not_found() -> Response:
    return Response.text("No such file.", status=404, headers={"x-content-type-options": "nosniff"})


def _released_now(archive_db: Path, sha256: str) -> bool:
    """The archive's decision as of now; no row, no table or no readable archive all mean withheld."""
    try:
        with closing(sqlite3.connect(f"{archive_db.as_uri()}?mode=ro", uri=True)) as connection:
            row = connection.execute("select withheld from withholdings where sha256 = ?", [sha256]).fetchone()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == 0


class FileDownload:
    """A streamed attachment (Datasette's own ``AsgiFileDownload`` sends 4 KiB chunks and no safety headers)."""

    def __init__(self, path: Path, filename: str, content_type: str):
        self.path, self.filename, self.content_type = path, filename, content_type

    async def asgi_send(self, send: Any) -> None:
        headers = {**DOWNLOAD_HEADERS, "content-disposition": f'attachment; filename="{self.filename}"'}
        await asgi_send_file(send, self.path, content_type=self.content_type, chunk_size=CHUNK, headers=headers)
