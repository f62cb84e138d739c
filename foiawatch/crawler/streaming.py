"""Stream document bodies to disk instead of memory.

Scrapy's HTTP/1.1 handler accumulates every response body in a ``BytesIO`` before handing it to the spider, so a
200 MB PDF costs 200 MB of RAM per concurrent download. Its only seam is the ``_ResponseReader`` protocol's body
buffer: for requests that carry ``meta[STREAM_META]`` (a directory) we swap that buffer for a file that hashes as it
writes. The response then reaches the spider with an empty body and ``meta[BODY_META]`` describing the file.

Everything else (timeouts, size caps, data-loss detection, redirects, retries) stays Scrapy's own. This patch only
ever runs inside the crawl subprocess.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.core.downloader.handlers import http11

STREAM_META = "foiawatch_stream_dir"
BODY_META = "foiawatch_body"


@dataclass
class DiskBody:
    """A finished download on disk: where it is, how long it is, what it hashes to."""

    path: Path
    size: int
    sha256: str


class _DiskBuffer:
    """Quacks like the ``BytesIO`` Scrapy writes the body into, but writes to a temporary file."""

    def __init__(self, directory: Path, meta: dict[str, Any]):
        self._file = tempfile.NamedTemporaryFile(dir=directory, prefix="dl-", delete=False)
        self._digest = hashlib.sha256()
        self._size = 0
        self._meta = meta
        # Recorded now, so a failed download's partial file can be found and deleted by the errback.
        meta[BODY_META] = DiskBody(Path(self._file.name), 0, "")

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._digest.update(data)
        self._size += len(data)

    def truncate(self, size: int = 0) -> None:
        """Scrapy truncates before cancelling an over-size download; the errback deletes the file."""
        self._file.truncate(size)

    def getvalue(self) -> bytes:
        """Called once, when the body is complete: close the file and describe it."""
        self._file.close()
        self._meta[BODY_META] = DiskBody(Path(self._file.name), self._size, self._digest.hexdigest())
        return b""


class _DiskResponseReader(http11._ResponseReader):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        directory = self._request.meta.get(STREAM_META)
        # A 304 has no body: no file for it (a re-crawl is mostly 304s, and creating files costs the reactor).
        if directory and self._txresponse.code != 304:
            self._bodybuf = _DiskBuffer(Path(directory), self._request.meta)  # type: ignore[assignment]


def install() -> None:
    """Make Scrapy's HTTP/1.1 handler stream bodies of marked requests to disk (into an existing directory)."""
    http11._ResponseReader = _DiskResponseReader  # type: ignore[misc]


def discard_body(meta: dict[str, Any]) -> None:
    """Delete a streamed body that will not be kept (failed, redirected, not a document)."""
    body = meta.pop(BODY_META, None)
    if body is not None:
        body.path.unlink(missing_ok=True)
