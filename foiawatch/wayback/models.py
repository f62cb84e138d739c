"""What the Wayback Machine's answers are made of: captures (CDX rows), their timestamps and digests, parsed CDX
pages, and the results of downloads and Save Page Now jobs. Plain, frozen values; the client makes them."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from ..config import WAYBACK_BASE_URL
from .errors import BlockedSite, CdxFormatError

log = logging.getLogger(__name__)

_DEFAULT_PORT = re.compile(r"^(http://[^/:]+):80(?=/|$)|^(https://[^/:]+):443(?=/|$)")
_DATA_URL = re.compile(r"data:\w+/[\w.+-]+;base64", re.IGNORECASE)


def cdx_digest(data: bytes) -> str:
    """The CDX ``digest`` of a body: base32 of its SHA-1."""
    return base32_digest(hashlib.sha1(data).digest())


def parse_timestamp(timestamp: str) -> datetime:
    """Read a 14-digit Wayback timestamp as UTC, repairing the month-00 and day-00 rows real indexes hold.

    Those rows have a stray "00" inserted before the month or day and the seconds cut off; removing the insertion
    is the closest readable time (the repair EDGI's ``wayback`` package found with the Wayback team).
    """
    if len(timestamp) != 14 or not timestamp.isdigit():
        raise ValueError(f"not a 14-digit timestamp: {timestamp!r}")
    if timestamp[4:6] == "00":
        timestamp = f"{timestamp[:4]}{timestamp[6:]}00"
    elif timestamp[6:8] == "00":
        timestamp = f"{timestamp[:6]}{timestamp[8:]}00"
    return datetime.strptime(timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def format_timestamp(value: str | date) -> str:
    """A CDX ``from``/``to`` value: strings pass through, dates and datetimes become UTC timestamps."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo:
            value = value.astimezone(UTC)
        return value.strftime("%Y%m%d%H%M%S")
    return value.strftime("%Y%m%d000000")


def _usable_original(url: str) -> bool:
    """False for rows crawlers captured from junk links: mailto: and e-mail addresses, data: URIs, non-URLs."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and "@" not in parts.netloc
        and not _DATA_URL.search(url)
    )


@dataclass(frozen=True)
class Capture:
    """One CDX row: a Wayback Machine record of a URL at a time."""

    urlkey: str
    timestamp: str  # as the index has it (14 digits), used to build playback URLs
    captured_at: datetime  # the same time, repaired if the index row was malformed
    original: str
    mimetype: str
    status: int | None  # None for a revisit record
    digest: str | None  # base32 SHA-1 of the body; None when not from the index
    length: int | None
    base_url: str = WAYBACK_BASE_URL

    @classmethod
    def at(cls, url: str, timestamp: str, base_url: str = WAYBACK_BASE_URL) -> Capture:
        """A capture known only by URL and time (no CDX row): playable, but its download cannot be verified."""
        return cls("", timestamp, parse_timestamp(timestamp), url, "unk", None, None, None, base_url)

    @property
    def is_revisit(self) -> bool:
        """A revisit record: same body as an earlier capture of the URL (same digest), stored once."""
        return self.mimetype == "warc/revisit"

    @property
    def raw_url(self) -> str:
        """The ``id_`` playback URL: the captured bytes, unmodified."""
        return f"{self.base_url}/web/{self.timestamp}id_/{self.original}"

    @property
    def view_url(self) -> str:
        """The page for people, with the Wayback Machine's banner and rewritten links."""
        return f"{self.base_url}/web/{self.timestamp}/{self.original}"


@dataclass(frozen=True)
class CdxPage:
    """One parsed CDX response."""

    captures: list[Capture]
    resume_key: str | None  # opaque: sent back verbatim to get the next page
    malformed: int  # rows skipped because they could not be read or name no real URL
    bad_timestamps: int = 0  # rows skipped because their timestamp is no time at all


class _BadTimestamp(ValueError):
    pass


def _parse_row(line: str, base_url: str) -> Capture | None:
    fields = line.split(" ")
    if len(fields) != 7:
        return None
    urlkey, timestamp, original, mimetype, status, digest, length = fields
    try:
        captured_at = parse_timestamp(timestamp)
    except ValueError:
        raise _BadTimestamp(timestamp) from None
    try:
        status_code = None if status == "-" else int(status)
        size = None if length == "-" else int(length)
    except ValueError:
        return None
    original = _DEFAULT_PORT.sub(lambda m: m.group(1) or m.group(2), original)
    if not _usable_original(original):
        return None
    return Capture(urlkey, timestamp, captured_at, original, mimetype, status_code, digest, size, base_url)


def parse_cdx(text: str, base_url: str = WAYBACK_BASE_URL) -> CdxPage:
    """Parse a plain-text CDX response: rows of 7 space-separated fields, then a blank line and the resume key.

    An answer that is not CDX at all (an HTML page served with 200 by a proxy or an error handler, or a body that
    opens with a blank line) raises ``CdxFormatError``: parsing it would lose every row, or send a page of HTML
    back as a resume key.
    """
    if text[:1] in ("\n", "\r"):
        raise CdxFormatError("the CDX answer starts with a blank line, so it holds no rows a reader can trust")
    if text.lstrip()[:1] == "<":
        raise CdxFormatError(f"the CDX answer is HTML, not CDX: {' '.join(text.split())[:120]!r}")
    captures: list[Capture] = []
    malformed = bad_timestamps = 0
    lines = iter(text.splitlines())
    resume_key = None
    for line in lines:
        if not line.strip():
            resume_key = next(lines, "").strip() or None
            break
        if "AccessControlException" in line:
            raise BlockedSite(line.strip())
        try:
            capture = _parse_row(line.strip(), base_url)
        except _BadTimestamp:
            bad_timestamps += 1
            log.debug("skipping CDX row with a bad timestamp %.200r", line)
            continue
        if capture is None:
            malformed += 1
            log.debug("skipping malformed CDX row %.200r", line)
        else:
            captures.append(capture)
    if resume_key is not None and (" " in resume_key or "<" in resume_key):
        raise CdxFormatError(f"the CDX answer ends in something that is no resume key: {resume_key[:120]!r}")
    return CdxPage(captures, resume_key, malformed, bad_timestamps)


@dataclass
class CdxStats:
    """What a listing fetched and what it dropped, so a caller can tell a thin listing from a broken one."""

    pages: int = 0
    rows: int = 0  # readable rows received, duplicates included
    duplicates: int = 0
    malformed: int = 0
    bad_timestamps: int = 0
    revisits: int = 0


class CdxListing(Iterator[Capture]):
    """A lazy CDX listing: each page is requested only when the previous one has been consumed."""

    def __init__(self, fetch_page: Callable[[dict[str, str | list[str]]], CdxPage], params: dict) -> None:
        self.stats = CdxStats()
        self._captures = self._generate(fetch_page, params)

    def __iter__(self) -> CdxListing:
        return self

    def __next__(self) -> Capture:
        return next(self._captures)

    def _generate(self, fetch_page: Callable[[dict], CdxPage], params: dict) -> Iterator[Capture]:
        seen: set[tuple] = set()
        resume_key: str | None = None
        while True:
            page = fetch_page(params if resume_key is None else {**params, "resumeKey": resume_key})
            self.stats.pages += 1
            self.stats.malformed += page.malformed
            self.stats.bad_timestamps += page.bad_timestamps
            for capture in page.captures:
                self.stats.rows += 1
                # The real index repeats rows, within a page and across pages.
                identity = (capture.urlkey, capture.timestamp, capture.original, capture.digest, capture.status)
                if identity in seen:
                    self.stats.duplicates += 1
                    continue
                seen.add(identity)
                self.stats.revisits += int(capture.is_revisit)
                yield capture
            if not page.resume_key:
                return
            resume_key = page.resume_key


@dataclass(frozen=True)
class DownloadResult:
    """A capture's body on disk, with what is needed to store it as evidence."""

    capture: Capture
    path: Path
    size: int
    sha256: str
    digest: str  # base32 SHA-1 of the bytes as served, comparable with CDX digests
    verified: bool  # the digest matched the capture's CDX row (False when there was none to compare with)
    final_url: str  # the playback URL that served the bytes
    final_timestamp: str
    content_type: str
    redirects: tuple[str, ...] = ()  # archived redirects followed on the way (playback URLs)


@dataclass(frozen=True)
class SaveResult:
    """A finished Save Page Now job."""

    url: str
    job_id: str
    timestamp: str
    raw_url: str


def base32_digest(sha1: bytes) -> str:
    return base64.b32encode(sha1).decode("ascii")
