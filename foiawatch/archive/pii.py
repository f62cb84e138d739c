"""The PII screen: every extracted text is screened once, and a blob with high-risk findings is withheld.

Agencies publish personal data by mistake (ICE, 2017: call logs with names, SSNs, addresses and phone
numbers). The archive must not become the second leak, so it fails closed: a blob is public only once its text
was screened and nothing high-risk (SSN, A-number, date of birth) turned up, or a reviewer released it.
Phone numbers, e-mail and street addresses are recorded for review but do not withhold on their own. A text
the extractor could only partly read (truncated, pages unreadable) withholds too: the rest was never screened.

OCR text is screened as read, with OCR's letter-for-digit slips ("4B2-l8-78OO") read back as digits. A page OCR
was unsure of withholds too, when personal data could hide in what it misread: a page whose mean confidence is
under the threshold (``$FOIAWATCH_OCR_MIN_CONFIDENCE``, 70 by default), or a form field for an SSN, an A-number or a
birth date whose value OCR read only with low confidence. A clean scan read with confidence is published at once.

Tables (in the archive database):

* ``pii_screens``      one row per screened text: when, by which screener, how many hits, whether withheld.
* ``pii_findings``     per blob, kind and page: a count, the risk and one masked excerpt for the reviewer.
* ``withholdings``     the current decision per blob: withheld 0/1, by "screen" or "review", and the
                       screen's reason ("high-risk PII: dob, ssn", or "text partly extracted: ...").
* ``review_decisions`` who released or withheld what, when and why: private, never published.

``pii_findings`` (its excerpts show the context around masked values) and ``review_decisions`` (free-text
reasons, reviewer names) belong to the private side; ``pii_screens`` and ``withholdings`` hold no personal
data and can be public, so the archive can say *that* a file is withheld.
"""

from __future__ import annotations

import bisect
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

from .ocr import LOW_WORD_CEILING
from .pii_patterns import A_NUMBER, ADDRESS, DOB, EMAIL, HIGH_RISK, PHONE, SSN, Hit, fields, find_pii, ocr_digits
from .store import Archive, utcnow
from .vocabulary import TextSource, TextStatus

SCREENER = "pii-3"  # bump when detectors change, so older screens can be found and redone
OCR_CONFIDENCE_ENV = "FOIAWATCH_OCR_MIN_CONFIDENCE"
DEFAULT_OCR_CONFIDENCE = 70.0  # Tesseract's mean word confidence on a clean 300-dpi page is above 90
HIGH, LOW = "high", "low"
RELEASE, WITHHOLD = "release", "withhold"
BY_SCREEN, BY_REVIEW = "screen", "review"
PRIVATE_TABLES = ("pii_findings", "review_decisions")

_EXCERPT_REACH = 32
_FIELD_REACH = 48  # how far after a form's label its value is looked for (as pii_patterns reads labels)
_FORM_RULES = "_-\u2013\u2014.:,;|'\" "  # what an empty form field's line or box reads as: never a value
_KIND_NAMES = {SSN: "an SSN", A_NUMBER: "an A-number", DOB: "a date of birth"}
_LONG_NUMBER = re.compile(r"\d(?:[ .-]?\d){6,}")  # 7+ digits no detector claimed: mask it all the same


@dataclass(frozen=True)
class Finding:
    """All hits of one kind on one page; ``excerpt`` shows the first one, masked, with masked neighbours."""

    kind: str
    count: int
    page: int | None
    excerpt: str

    @property
    def risk(self) -> str:
        return HIGH if self.kind in HIGH_RISK else LOW


@dataclass
class ScreenStats:
    """What one ``screen_pending`` run did, for the CLI to report."""

    screened: int = 0
    with_findings: int = 0
    withheld: int = 0
    hits: int = 0
    partial: int = 0  # screened, but withheld because part of the file's text could not be read
    unscreenable: int = 0  # texts whose extraction failed: never screened, so withheld until reviewed


def screen_text(text: str) -> list[Finding]:
    """Findings per kind and page (1-based from form feeds; None for text without page breaks)."""
    hits = find_pii(text)
    breaks = [i for i, char in enumerate(text) if char == "\f"]
    groups: dict[tuple[str, int | None], list[int]] = {}
    for index, hit in enumerate(hits):
        page = bisect.bisect(breaks, hit.start) + 1 if breaks else None
        groups.setdefault((hit.kind, page), []).append(index)
    return [
        Finding(kind, len(indexes), page, _excerpt(text, hits, indexes[0]))
        for (kind, page), indexes in groups.items()
    ]


def mask(kind: str, value: str) -> str:
    """What may be shown of a value: never enough to use it, enough for a reviewer to recognise its kind."""
    digits = re.sub(r"\D", "", value)
    if kind == SSN:
        return "***-**-" + digits[-4:]
    if kind == A_NUMBER:
        return "A-***-***-" + digits[-3:]
    if kind == PHONE:
        return "(***) ***-" + digits[-4:]
    if kind == DOB:
        return "**/**/****"
    if kind == EMAIL:
        local, _, domain = value.partition("@")
        return local[0] + "***@" + domain
    if kind == ADDRESS:
        return re.sub(r"\d", "*", value)
    raise ValueError(f"unknown PII kind {kind!r}")


def _excerpt(text: str, hits: list[Hit], here: int) -> str:
    hit = hits[here]
    start = max(text.rfind("\f", 0, hit.start) + 1, hit.start - _EXCERPT_REACH)
    page_end = text.find("\f", hit.end)
    end = min(len(text) if page_end < 0 else page_end, hit.end + _EXCERPT_REACH)
    # Never cut a word or a value at the window's edge: a cut number escapes masking, a cut value is partial.
    while start > 0 and not text[start - 1].isspace() and hit.start - start < 2 * _EXCERPT_REACH:
        start -= 1
    while end < len(text) and not text[end].isspace() and end - hit.end < 2 * _EXCERPT_REACH:
        end += 1
    # Hits are sorted and never overlap: the ones in the window are a slice around ``hit``.
    first, last = here, here
    while first > 0 and hits[first - 1].end > start:
        first -= 1
    while last + 1 < len(hits) and hits[last + 1].start < end:
        last += 1
    start, end = min(start, hits[first].start), max(end, hits[last].end)
    parts, cursor = [], start
    for other in hits[first:last + 1]:
        parts.append(_mask_unclaimed(text[cursor:other.start]))
        parts.append(mask(other.kind, text[other.start:other.end]))
        cursor = other.end
    parts.append(_mask_unclaimed(text[cursor:end]))
    return " ".join("".join(parts).split())


def _mask_unclaimed(text: str) -> str:
    return _LONG_NUMBER.sub(lambda m: re.sub(r"\d", "#", m.group()[:-4]) + m.group()[-4:], text)


# storage -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OcrPage:
    """What the screen needs to know of a page OCR read: how sure it was, overall and of its unsure words."""

    confidence: float | None
    low_words: tuple[tuple[int, int, float], ...]


def ocr_min_confidence() -> float:
    """The confidence under which OCR text is unsure: ``$FOIAWATCH_OCR_MIN_CONFIDENCE`` (0-90), else 70."""
    value = os.environ.get(OCR_CONFIDENCE_ENV, "").strip()
    try:
        threshold = float(value) if value else DEFAULT_OCR_CONFIDENCE
    except ValueError:
        raise ValueError(f"${OCR_CONFIDENCE_ENV} is not a number: {value!r}") from None
    if not 0 <= threshold <= LOW_WORD_CEILING:
        raise ValueError(f"${OCR_CONFIDENCE_ENV} must be between 0 and {LOW_WORD_CEILING:g}, not {threshold:g}")
    return threshold


def screen_ocr_text(text: str, pages: dict[int, OcrPage], threshold: float) -> tuple[list[Finding], str | None]:
    """Screen a text some pages of which (``pages``, 1-based) OCR read: the findings, and why OCR's uncertainty
    holds it for review (None if it does not). A text without page breaks is one page."""
    parts = text.split("\f")
    read = "\f".join(ocr_digits(part) if number in pages else part for number, part in enumerate(parts, start=1))
    findings = screen_text(read)
    return findings, _unsure(parts, pages, threshold)


def _unsure(parts: list[str], pages: dict[int, OcrPage], threshold: float) -> str | None:
    """Why personal data could hide in what OCR misread: the first page it was unsure of, or the first form field
    for a high-risk kind whose value it read with low confidence. Names kinds and pages, never values."""
    for number, page in sorted(pages.items()):
        if number > len(parts):
            continue
        if page.confidence is not None and page.confidence < threshold:
            return (f"OCR unsure of page {number} (mean confidence {page.confidence:g}, under {threshold:g}): "
                    "personal data could hide in what it misread")
        text = parts[number - 1]
        for kind, end in fields(text, HIGH_RISK):
            line_end = text.find("\n", end)
            line_end = len(text) if line_end < 0 else line_end
            if not text[end:line_end].strip():  # a field whose box is under its label
                following = text.find("\n", line_end + 1)
                end, line_end = line_end + 1, len(text) if following < 0 else following
            stop = min(line_end, end + _FIELD_REACH)
            unsure = [confidence for start, finish, confidence in page.low_words
                      if start < stop and finish > end and confidence < threshold
                      and text[start:finish].strip(_FORM_RULES)]
            if unsure:
                return (f"OCR could not read the value of a field for {_KIND_NAMES[kind]} on page {number} "
                        f"(confidence {min(unsure):g}): held for review")
    return None


def screen_pending(archive: Archive, ocr_threshold: float | None = None) -> ScreenStats:
    """Screen every extracted text not screened yet; each exactly once, even with two screens running.
    ``ocr_threshold``: the OCR confidence under which text is unsure (default: ``ocr_min_confidence()``)."""
    threshold = ocr_min_confidence() if ocr_threshold is None else ocr_threshold
    stats = ScreenStats()
    pending = [
        row[0] for row in archive.db.execute(
            "select sha256 from texts where status = ? "
            "and sha256 not in (select sha256 from pii_screens) order by sha256", [TextStatus.OK]
        )
    ]
    for sha256 in pending:
        text, warning = archive.db.execute("select text, error from texts where sha256 = ?", [sha256]).fetchone()
        pages = {number: OcrPage(confidence, tuple(tuple(word) for word in json.loads(low_words or "[]")))
                 for number, confidence, low_words in archive.db.execute(
                     "select page, confidence, low_words from text_pages where sha256 = ? and source = ?",
                     [sha256, TextSource.OCR])}
        findings, unsure = screen_ocr_text(text or "", pages, threshold) if pages else (screen_text(text or ""), None)
        reason = _withhold_reason(findings, warning) or unsure
        if _record(archive.db, sha256, findings, reason):
            stats.screened += 1
            stats.with_findings += bool(findings)
            stats.withheld += reason is not None
            stats.partial += bool(warning)
            stats.hits += sum(f.count for f in findings)
    stats.unscreenable = archive.db.execute(
        "select count(*) from texts where status != ? and sha256 not in (select sha256 from pii_screens)",
        [TextStatus.OK]
    ).fetchone()[0]
    return stats


def _withhold_reason(findings: Iterable[Finding], extraction_warning: str | None) -> str | None:
    """Why the screen withholds a blob, or None to let it be public; the reason holds no personal data."""
    high = sorted({f.kind for f in findings if f.risk == HIGH})
    if high:
        return "high-risk PII: " + ", ".join(high)
    if extraction_warning:
        return "text partly extracted: " + extraction_warning
    return None


def _record(db: sqlite_utils.Database, sha256: str, findings: list[Finding], reason: str | None) -> bool:
    """Write one screen atomically; False if another process recorded this text first."""
    withheld = reason is not None
    now = utcnow()
    with db.conn:
        claimed = db.execute(
            "insert or ignore into pii_screens (sha256, screened_at, screener, hits, withheld) "
            "values (?, ?, ?, ?, ?)",
            [sha256, now, SCREENER, sum(f.count for f in findings), int(withheld)],
        ).rowcount
        if not claimed:
            return False
        db.conn.executemany(
            "insert into pii_findings (sha256, kind, page, count, risk, excerpt) values (?, ?, ?, ?, ?, ?)",
            [(sha256, f.kind, f.page, f.count, f.risk, f.excerpt) for f in findings],
        )
        # A reviewer who decided before the text could be screened keeps the last word.
        db.execute(
            "insert or ignore into withholdings (sha256, withheld, decided_by, reason, updated_at) "
            "values (?, ?, ?, ?, ?)",
            [sha256, int(withheld), BY_SCREEN, reason, now],
        )
    return True


# review --------------------------------------------------------------------------------------------------


def release(archive: Archive, sha256: str, reviewer: str, reason: str) -> None:
    """A reviewer makes a blob public despite its findings; recorded with who, when and why."""
    _decide(archive, sha256, RELEASE, reviewer, reason)


def withhold(archive: Archive, sha256: str, reviewer: str, reason: str) -> None:
    """A reviewer keeps a blob out of the public archive, whatever the screen found."""
    _decide(archive, sha256, WITHHOLD, reviewer, reason)


def is_withheld(archive: Archive, sha256: str) -> bool:
    """True unless the blob was screened clean or released: unscreened bytes are never public."""
    return _withheld_now(archive.db, sha256)


def _withheld_now(db: sqlite_utils.Database, sha256: str) -> bool:
    row = db.execute("select withheld from withholdings where sha256 = ?", [sha256]).fetchone()
    return row is None or bool(row[0])


def _decide(archive: Archive, sha256: str, action: str, reviewer: str, reason: str) -> None:
    if not reviewer.strip() or not reason.strip():
        raise ValueError("a review decision needs a reviewer and a reason")
    db = archive.db
    if not db.execute("select 1 from blobs where sha256 = ?", [sha256]).fetchone():
        raise KeyError(f"no blob {sha256}")
    now = utcnow()
    with db.conn:
        was_withheld = _withheld_now(db, sha256)
        db.execute(
            "insert into review_decisions (sha256, action, reviewer, reason, decided_at, was_withheld) "
            "values (?, ?, ?, ?, ?, ?)",
            [sha256, action, reviewer.strip(), reason.strip(), now, int(was_withheld)],
        )
        db.execute(
            "insert into withholdings (sha256, withheld, decided_by, updated_at) values (?, ?, ?, ?) "
            "on conflict (sha256) do update set withheld = excluded.withheld, decided_by = excluded.decided_by, "
            "updated_at = excluded.updated_at",
            [sha256, int(action == WITHHOLD), BY_REVIEW, now],
        )
