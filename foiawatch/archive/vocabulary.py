"""Every word foiawatch stores in a status, outcome or kind column, in one place.

Each enum is a ``StrEnum``: its members are the very strings written to the database (and to JSON), so rows read
back compare equal to them, and a word can never mean two things: a fetch that ``FAILED`` and a message that
``FAILED`` are ``FetchOutcome.FAILED`` and ``MessageStatus.FAILED``.
"""

from __future__ import annotations

import re
from enum import StrEnum


class CrawlStatus(StrEnum):
    """``crawls.status``: only a complete crawl can count against a document (docs/DESIGN.md rule 1)."""

    RUNNING = "running"  # not finished; a crawl whose process died stays here until the next one marks it
    COMPLETE = "complete"  # every listing page fetched and parsed
    INCOMPLETE = "incomplete"  # some listing page failed, or the crawl was interrupted
    OUTAGE = "outage"  # the library was down, blocked, or showed an outage notice


class CrawlKind(StrEnum):
    """``crawls.kind``: what a crawl read. Only the listing passes (full, watch) say what is listed."""

    FULL = "full"  # every listing page and every document
    WATCH = "watch"  # every listing page; only new documents fetched, delisted ones probed
    REVALIDATE = "revalidate"  # no listing page: documents due re-checked, conditionally, for changes


class FetchOutcome(StrEnum):
    """``sightings.outcome``: what one fetch (or probe) of a document answered. The crawler records it; diff judges."""

    FETCHED = "fetched"  # 200, bytes stored (sightings.sha256 set)
    NOT_MODIFIED = "not_modified"  # 304 to a conditional request; sha256 carried over from the last fetch
    GONE = "gone"  # 404 or 410
    SOFT_404 = "soft_404"  # redirected to, or answered with, a non-document (HTML) page
    BLOCKED = "blocked"  # 401/403/429 or a bot-challenge page: says nothing about removal
    FAILED = "failed"  # 5xx, timeout, reset, truncated body, redirect loop: says nothing about removal
    TOO_LARGE = "too_large"  # over the configured size cap; recorded, not downloaded
    SKIPPED = "skipped"  # not fetched (robots.txt disallows it, or a host outside allowed_hosts)


class ProbeOutcome(StrEnum):
    """``wayback_probes.outcome``: what the library answers now for a captured URL no crawl ever listed (the words
    it shares with ``FetchOutcome`` mean the same)."""

    GONE = "gone"
    SOFT_404 = "soft_404"
    SERVED = "served"  # the URL still answers with a document
    BLOCKED = "blocked"
    FAILED = "failed"
    OUTAGE = "outage"  # answered with the library's outage notice: says nothing about the document
    SKIPPED = "skipped"


class EventKind(StrEnum):
    """``events.kind``, most alarming first (reports list kinds in this order)."""

    REMOVED = "removed"
    SECTION_REMOVED = "section_removed"
    REMOVED_BEFORE_MONITORING = "removed_before_monitoring"  # seen by the Wayback Machine, never live for us
    PAGE_TEXT_REMOVED = "page_text_removed"
    UNLISTED = "unlisted"
    MOVED = "moved"
    CHANGED = "changed"
    RESTORED = "restored"
    ADDED = "added"
    OUTAGE = "outage"
    OUTAGE_ENDED = "outage_ended"


class DocumentState(StrEnum):
    """``diff_documents.state``: where the diff has got to with one document."""

    LISTED = "listed"
    MISSING = "missing"  # not listed by a complete crawl and not yet confirmed gone
    UNLISTED = "unlisted"  # not listed, still served
    REMOVED = "removed"
    MOVED = "moved"


# Only these can still become "removed".
ACTIVE_DOCUMENT_STATES = (DocumentState.LISTED, DocumentState.MISSING, DocumentState.UNLISTED)


class TextStatus(StrEnum):
    """``texts.status``: how text extraction of one blob ended."""

    OK = "ok"
    EMPTY = "empty"  # read, but no text in it (a blank scan, a photograph)
    FAILED = "failed"  # broken, hostile, over a bound: the error says which
    UNSUPPORTED = "unsupported"  # a type we do not read (ZIP archives, presentations)
    NEEDS_OCR = "needs_ocr"  # scanned pages and no Tesseract to read them: `foiawatch ocr` does it later


class TextSource(StrEnum):
    """``texts.source`` and ``text_pages.source``: where a text came from."""

    TEXT_LAYER = "text_layer"  # text the file holds: a PDF's text layer, a sheet's cells, a Word file's paragraphs
    OCR = "ocr"  # read by Tesseract from a page image
    MIXED = "mixed"  # (a whole file only) some pages each way


class RecoveryStatus(StrEnum):
    """``recoveries.status``: every Wayback capture recovery tried, the rejected ones too."""

    RECOVERED = "ok"
    REJECTED = "rejected"


LISTING_CAPTURE_READ = "read"  # listing_captures.status of a page read; otherwise the status says why it was not


class StepStatus(StrEnum):
    """The status of one step of a pipeline run (``runs.steps``)."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


class RunStatus(StrEnum):
    """``runs.status``: one pipeline run of one agency."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"  # some step failed; the later steps still ran
    STOPPED = "stopped"  # SIGTERM between two steps


class MessageStatus(StrEnum):
    """``messages.status`` in the private outbox."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # given up
    UNKNOWN = "unknown"  # a crash after SMTP DATA started: maybe delivered, never resent


class MessagePurpose(StrEnum):
    DIGEST = "digest"
    CONFIRM = "confirm"
    OPERATOR = "operator"


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class SubscriptionStatus(StrEnum):
    PENDING = "pending"  # email not confirmed yet
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"


class FailureKind(StrEnum):
    """What went wrong talking to a server (``error_kind`` of a run's failed step; ``archive.failures`` names
    each one for people)."""

    DNS = "dns"  # the host name does not resolve
    REFUSED = "refused"  # nothing listens there: connection refused
    TLS = "tls"  # the TLS handshake or certificate failed
    TIMEOUT = "timeout"  # no answer in time
    RESET = "reset"  # the connection broke off
    RATE_LIMITED = "rate_limited"  # 429 Too Many Requests
    SERVER_ERROR = "server_error"  # 5xx
    BLOCKED = "blocked"  # the service refuses access (403, an exclusion)
    BAD_ANSWER = "bad_answer"  # an answer that is not what the endpoint serves (HTML where CDX was due)
    OTHER = "other"


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """"1 crawl", "2 crawls": counts in the words people read (summaries, alerts, pages), never "2 crawl(s)"."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


_WHITESPACE = re.compile(r"\s+")


def one_line(text: str | None, limit: int = 200) -> str:
    """Whitespace (line breaks included) collapsed and the length capped: scraped titles in a header or a list, and
    parsers' messages (a nested exception, a dump of a bad token) in an error cell or a log line."""
    text = _WHITESPACE.sub(" ", text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
