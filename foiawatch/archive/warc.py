"""One WARC file per crawl holding every HTTP exchange, written with warcio.

WARC is what web archives (the Wayback Machine, pywb, Webrecorder) read, so a crawl can be handed to an archivist
or replayed as it was. Each record is its own gzip member and is flushed at once: a crash loses at most the record
being written, and the file stays readable up to it.

A 304 to a conditional request is written as a ``revisit`` record (profile server-not-modified) that refers to the
response holding the bytes, so a replay tool shows the document as of that crawl rather than an empty 304; the 304's
own status and headers are kept in the revisit record's ``WARC-Foiawatch-Response*`` fields.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from .. import __version__

GZIP_LEVEL = 1
STORED = 0  # deflate's "stored" blocks: still one valid gzip member per record, at the cost of a copy
_SAMPLE_BYTES = 16 * 1024
_WORTH_COMPRESSING = 0.9  # a payload whose sample does not shrink below this share is stored


class _GzipMembers:
    """Compresses each WARC record as its own gzip member, like warcio, but not at warcio's fixed level 9, which
    spends most of a crawl's CPU squeezing PDFs that are compressed already: ``level`` applies to the next member."""

    def __init__(self, handle: BinaryIO):
        self._handle = handle
        self._compressor: zlib._Compress | None = None  # typeshed's name for what zlib.compressobj returns
        self.level = GZIP_LEVEL

    def write(self, data: bytes) -> None:
        if self._compressor is None:
            self._compressor = zlib.compressobj(self.level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        self._handle.write(self._compressor.compress(data))

    def flush(self) -> None:
        """warcio flushes once at the end of every record: close the member there."""
        if self._compressor is not None:
            self._handle.write(self._compressor.flush())
            self._compressor = None
        self._handle.flush()


def _level_for(sample: bytes) -> int:
    """Compress a payload only if its first bytes shrink: scanned PDFs, ZIPs and XLSX files hardly do."""
    if not sample:
        return GZIP_LEVEL
    return GZIP_LEVEL if len(zlib.compress(sample, GZIP_LEVEL)) < _WORTH_COMPRESSING * len(sample) else STORED


NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


@dataclass(frozen=True)
class PayloadRecord:
    """Where a payload is in a WARC: what a revisit record refers to."""

    record_id: str | None  # WARC-Record-ID; None when only the URL and date are known (archives made before)
    date: str  # WARC-Date, ISO 8601
    digest: str  # WARC-Payload-Digest, e.g. "sha1:BASE32..."


def payload_digest(path: Path) -> str:
    """The WARC payload digest of a stored body (what warcio writes for a response with that payload)."""
    sha1 = hashlib.sha1()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            sha1.update(chunk)
    return "sha1:" + base64.b32encode(sha1.digest()).decode("ascii")


class CrawlWarc:
    """A WARC file written record by record: a crawl's exchanges, or the copies one recovery run stored."""

    def __init__(self, path: Path, info: dict[str, str]):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handle: BinaryIO = open(path, "ab")
        self._members = _GzipMembers(self._handle)
        self._writer = WARCWriter(self._members, gzip=False)
        record = self._writer.create_warcinfo_record(path.name, {"software": f"foiawatch/{__version__}", **info})
        self._write(record)

    def _write(self, record) -> None:
        self._writer.write_record(record)

    def write_exchange(
        self,
        url: str,
        method: str,
        request_headers: Iterable[tuple[str, str]],
        status: int,
        response_headers: Iterable[tuple[str, str]],
        body: bytes | None = None,
        body_path: Path | None = None,
        protocol: str = "HTTP/1.1",
    ) -> PayloadRecord:
        """Write a request and its response; the response payload comes from ``body`` or streams from a file.
        Returns where the response's payload is."""
        request_http = StatusAndHeaders(f"{method} {_path_of(url)} {protocol}", list(request_headers),
                                        is_http_request=True)
        request = self._writer.create_warc_record(url, "request", payload=io.BytesIO(b""), length=0,
                                                  http_headers=request_http)
        response_http = StatusAndHeaders(f"{status} {_reason(status)}", list(response_headers), protocol=protocol)
        with open(body_path, "rb") if body_path is not None else io.BytesIO(body or b"") as payload:
            self._members.level = _level_for(payload.read(_SAMPLE_BYTES))
            length = payload.seek(0, io.SEEK_END)
            payload.seek(0)
            response = self._writer.create_warc_record(url, "response", payload=payload, length=length,
                                                      http_headers=response_http)
            try:
                self._write(response)
            finally:
                self._members.level = GZIP_LEVEL
        request.rec_headers.add_header("WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID"))
        self._write(request)
        headers = response.rec_headers
        return PayloadRecord(headers.get_header("WARC-Record-ID"), headers.get_header("WARC-Date"),
                             headers.get_header("WARC-Payload-Digest"))

    def write_not_modified(self, url: str, method: str, request_headers: Iterable[tuple[str, str]],
                           response_headers: Iterable[tuple[str, str]], original: PayloadRecord,
                           protocol: str = "HTTP/1.1") -> None:
        """Write a 304 answer: a revisit record referring to ``original``, with no HTTP headers of its own so a
        replay serves the original's, and the 304's status and headers kept in ``WARC-Foiawatch-Response*`` fields
        (a separate metadata record would be replayed as the capture itself), then the request."""
        revisit = self._writer.create_warc_record(url, "revisit", payload=io.BytesIO(b""), length=0,
                                                  warc_content_type="application/http; msgtype=response")
        fields = [("WARC-Profile", NOT_MODIFIED_PROFILE), ("WARC-Refers-To-Target-URI", url),
                  ("WARC-Refers-To-Date", original.date), ("WARC-Payload-Digest", original.digest),
                  ("WARC-Foiawatch-Response", f"{protocol} 304 {_reason(304)}")]
        if original.record_id:
            fields.append(("WARC-Refers-To", original.record_id))
        fields += [("WARC-Foiawatch-Response-Header", f"{name}: {value}") for name, value in response_headers]
        for name, value in fields:
            revisit.rec_headers.add_header(name, value)
        self._write(revisit)
        request_http = StatusAndHeaders(f"{method} {_path_of(url)} {protocol}", list(request_headers),
                                        is_http_request=True)
        request = self._writer.create_warc_record(url, "request", payload=io.BytesIO(b""), length=0,
                                                  http_headers=request_http)
        request.rec_headers.add_header("WARC-Concurrent-To", revisit.rec_headers.get_header("WARC-Record-ID"))
        self._write(request)

    def write_resource(self, url: str, date: str, content_type: str, body_path: Path,
                       fields: Iterable[tuple[str, str]] = ()) -> PayloadRecord:
        """Write a document obtained other than by fetching ``url`` (a Wayback capture), dated when it was captured,
        with ``fields`` saying where it came from."""
        with open(body_path, "rb") as payload:
            self._members.level = _level_for(payload.read(_SAMPLE_BYTES))
            length = payload.seek(0, io.SEEK_END)
            payload.seek(0)
            record = self._writer.create_warc_record(url, "resource", payload=payload, length=length,
                                                    warc_content_type=content_type,
                                                    warc_headers_dict={"WARC-Date": date})
            for name, value in fields:
                record.rec_headers.add_header(name, value)
            try:
                self._write(record)
            finally:
                self._members.level = GZIP_LEVEL
        headers = record.rec_headers
        return PayloadRecord(headers.get_header("WARC-Record-ID"), headers.get_header("WARC-Date"),
                             headers.get_header("WARC-Payload-Digest") or headers.get_header("WARC-Block-Digest"))

    def close(self) -> None:
        self._handle.close()


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
