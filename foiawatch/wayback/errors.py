"""The Wayback client's errors: each one something a caller can act on (EDGI's ``wayback`` exception tree is the
model). What the caller needs travels as attributes: ``CaptureRejected.reason`` and ``.capture``; every error has a
``kind`` (``archive.vocabulary.FailureKind``: DNS failure, connection refused, TLS error, 429, 5xx, ...), so callers
word their messages and the operator's alerts by what happened."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..archive.vocabulary import FailureKind

if TYPE_CHECKING:
    from .models import Capture


class WaybackError(Exception):
    """Something went wrong talking to the Wayback Machine."""

    kind: FailureKind = FailureKind.OTHER

    def __init__(self, *args: object, kind: FailureKind | None = None) -> None:
        super().__init__(*args)
        if kind is not None:
            self.kind = kind


class WaybackUnavailable(WaybackError):
    """The service is unreachable or keeps failing: retry the whole job later, do not conclude anything. ``kind``
    says how: ``dns``, ``refused``, ``tls``, ``timeout``, ``reset``, ``server_error``, ``bad_answer``."""


class CdxFormatError(WaybackUnavailable):
    """The CDX endpoint answered with something that is not CDX (an HTML page, a body opening with a blank line):
    nothing is concluded from it, and the listing is tried again later."""

    kind = FailureKind.BAD_ANSWER


class RateLimited(WaybackError):
    """The service kept answering 429 after every back-off allowed; stop before the IP gets blocked."""

    kind = FailureKind.RATE_LIMITED


class BlockedSite(WaybackError):
    """The archive refuses access to this URL (an exclusion request or robots.txt)."""

    kind = FailureKind.BLOCKED


class NotArchived(WaybackError):
    """The Wayback Machine holds no capture of the URL asked for."""


class CaptureRejected(WaybackError):
    """A capture that must not be stored as a document; ``reason`` says why, ``capture`` which one."""

    def __init__(self, capture: Capture, reason: str) -> None:
        super().__init__(f"{capture.raw_url}: {reason}")
        self.capture = capture
        self.reason = reason


class DigestMismatch(CaptureRejected):
    """The bytes served do not hash to the capture's CDX digest (corrupt capture or tampered transfer)."""

    def __init__(self, capture: Capture, expected: str, actual: str, size: int) -> None:
        super().__init__(capture, f"body of {size} bytes has digest {actual}, CDX says {expected}")
        self.expected, self.actual, self.size = expected, actual, size


class NotADocument(CaptureRejected):
    """The capture is an archived error page or redirect (``archived_status``), not a document."""

    def __init__(self, capture: Capture, archived_status: int) -> None:
        super().__init__(capture, f"the archived response has status {archived_status}; not a document")
        self.archived_status = archived_status


class SaveFailed(WaybackError):
    """Save Page Now did not produce a capture."""
