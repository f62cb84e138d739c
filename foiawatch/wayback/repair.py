"""Repair for the fixity audit (``archive.fixity.audit`` takes it as its ``repair`` callable): a recovered blob
whose file went missing or bad is fetched again from the Wayback capture it was recovered from."""

from __future__ import annotations

from typing import Unpack

from ..archive import Archive
from ..archive.vocabulary import RecoveryStatus
from .client import ClientOptions, WaybackClient
from .errors import WaybackError
from .models import Capture, parse_timestamp


class WaybackRepair:
    """Put a recovered blob's bytes back from the Wayback capture it was recovered from.

    Only blobs that recovery stored (a ``recoveries`` row with status ok) can be repaired: their provenance names
    the capture and its CDX digest, and the bytes fetched again must hash to the blob's name before they replace
    anything. A crawled blob has no second source; its WARC record is the evidence.
    """

    def __init__(self, archive: Archive, **client_options: Unpack[ClientOptions]):
        self.archive = archive
        self.client_options = client_options
        self._clients: dict[str, WaybackClient] = {}

    def __call__(self, sha256: str) -> str | None:
        db = self.archive.db
        rows = db.execute(
            "select capture_timestamp, original, capture_digest, raw_url, mimetype from recoveries "
            "where sha256 = ? and status = ? order by id", [sha256, RecoveryStatus.RECOVERED],
        ).fetchall()
        if not rows:
            return "not recovered from the Wayback Machine, so there is no capture to fetch it from"
        failures = []
        for timestamp, original, digest, raw_url, mimetype in rows:
            base_url = raw_url.split("/web/", 1)[0]
            capture = Capture("", timestamp, parse_timestamp(timestamp), original, mimetype or "unk", 200, digest,
                              None, base_url)
            download = self.archive.data_dir.tmp / f"repair-{sha256}"
            try:
                fetched = self._client(base_url).download(capture, download)
            except WaybackError as error:
                failures.append(f"capture {timestamp}: {error}")
                continue
            if fetched.sha256 != sha256:
                download.unlink(missing_ok=True)
                failures.append(f"capture {timestamp} now serves other bytes (sha256 {fetched.sha256})")
                continue
            self.archive.blobs.path(sha256).unlink(missing_ok=True)  # put() would keep a same-size bad copy
            self.archive.blobs.put(download, sha256)
            return None
        return "; ".join(failures)

    def _client(self, base_url: str) -> WaybackClient:
        if base_url not in self._clients:
            self._clients[base_url] = WaybackClient(base_url, **self.client_options)
        return self._clients[base_url]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
