"""The Wayback Machine: our client for its CDX index, playback and Save Page Now, and what foiawatch does with it.

``client`` is the one way foiawatch talks to the service (``errors`` and ``models`` are its vocabulary);
``cdx_sync`` copies the index of an agency's documents into the archive, ``listings`` reads the library's archived
listing pages, ``probes`` asks the live library about captured URLs no crawl ever listed, ``recovery`` stores
verified copies of removed documents, and ``repair`` puts a damaged recovered blob back from its capture.
Everything here records facts; diff/ decides what was removed.
"""

from .client import WaybackClient
from .errors import (
    BlockedSite,
    CaptureRejected,
    CdxFormatError,
    DigestMismatch,
    NotADocument,
    NotArchived,
    RateLimited,
    SaveFailed,
    WaybackError,
    WaybackUnavailable,
)
from .models import (
    Capture,
    CdxListing,
    CdxPage,
    CdxStats,
    DownloadResult,
    SaveResult,
    cdx_digest,
    parse_cdx,
    parse_timestamp,
)

__all__ = [
    "BlockedSite", "Capture", "CaptureRejected", "CdxFormatError", "CdxListing", "CdxPage", "CdxStats",
    "DigestMismatch", "DownloadResult", "NotADocument", "NotArchived", "RateLimited", "SaveFailed", "SaveResult",
    "WaybackClient", "WaybackError", "WaybackUnavailable", "cdx_digest", "parse_cdx", "parse_timestamp",
]
