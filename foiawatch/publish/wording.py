"""Plain words for the reader's pages: dates as people write them, statuses, file sizes, and what the evidence of
a removal says ("answered 404 Not Found in 2 consecutive complete crawls"), from an event's JSON evidence."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from http import HTTPStatus
from typing import Any

from ..archive.vocabulary import EventKind, counted

STATUS_EXPLAINED = {
    "listed": "The library lists it now.",
    "changed": "The library lists it now, with content different from our first copy.",
    "removed": "Taken down: no longer listed, and its address answers that it is gone.",
    "restored": "Listed again after it was taken down (or delisted).",
    "unlisted": "No longer listed, but its address still serves it (or cannot be checked).",
    "moved": "The same file is now listed at another address.",
    "withheld": "Our copy is withheld: its text and file are not published.",
}
KIND_WORDS = {
    EventKind.ADDED: "Listed", EventKind.CHANGED: "Changed", EventKind.REMOVED: "Removed",
    EventKind.UNLISTED: "No longer listed", EventKind.MOVED: "Moved", EventKind.RESTORED: "Restored",
    EventKind.SECTION_REMOVED: "Section removed", EventKind.PAGE_TEXT_REMOVED: "Text deleted",
    EventKind.REMOVED_BEFORE_MONITORING: "Removed before monitoring",
    EventKind.OUTAGE: "Outage", EventKind.OUTAGE_ENDED: "Outage ended",
}


def plain_date(value: object) -> str:
    """"3 Oct 2017" from an ISO timestamp or a Wayback timestamp (20171003120000); "" for nothing."""
    text = str(value or "")
    try:
        if text.isdigit() and len(text) >= 8:
            moment = datetime.strptime(text[:8], "%Y%m%d")
        else:
            moment = datetime.fromisoformat(text[:10])
    except ValueError:
        return text
    return f"{moment.day} {moment:%b %Y}"


def file_size(size: object) -> str:
    """"1.4 MB", "820 bytes"."""
    if not isinstance(size, int):
        return ""
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size:,} bytes"


def answer_words(probe: Mapping[str, Any]) -> str:
    """What the document's address answered when checked directly."""
    status = probe.get("http_status")
    if probe.get("outcome") == "soft_404":
        return "a page that is not the document (the site's “not found” page, or a redirect to the library)"
    if isinstance(status, int):
        try:
            return f"HTTP {status} {HTTPStatus(status).phrase}"
        except ValueError:
            return f"HTTP {status}"
    return str(probe.get("outcome") or "no answer").replace("_", " ")


def evidence_words(kind: str, evidence_json: str | None, crawl_dates: Mapping[int, str]) -> list[str]:
    """Sentences saying how foiawatch knows, for an event of ``kind``; ``crawl_dates`` names crawls by date."""
    try:
        evidence = json.loads(evidence_json or "{}")
    except ValueError:
        return []
    if not isinstance(evidence, dict):
        return []

    def when(crawl: object) -> str:
        return plain_date(crawl_dates.get(crawl)) if isinstance(crawl, int) else ""

    sentences = []
    if kind == EventKind.REMOVED:
        checks = [probe for probe in evidence.get("crawls") or [] if isinstance(probe, dict)]
        if evidence.get("last_listed_crawl") in crawl_dates:
            sentences.append(f"Last listed by the library on {when(evidence['last_listed_crawl'])}.")
        if checks:
            answers = "; ".join(f"{when(p.get('crawl_id')) or 'a crawl'}: {answer_words(p)}" for p in checks)
            crawls = counted(len(checks), "consecutive complete crawl")
            sentences.append(f"Then missing from the library in {crawls}, and its address, checked directly each "
                             f"time, answered: {answers}.")
        if evidence.get("parts_count"):
            sentences.append(f"{counted(evidence['parts_count'], 'part')} of this record went with it.")
    elif kind == EventKind.UNLISTED:
        probe = evidence.get("probe")
        probe = probe if isinstance(probe, dict) else {}
        if evidence.get("unverified"):
            sentences.append(f"No longer listed; {evidence.get('blocked_crawls', 'several')} consecutive checks of its "
                             "address met a block page, so whether it is still served cannot be verified.")
        else:
            sentences.append(f"No longer listed, but its address still answered {answer_words(probe)}.")
    elif kind == EventKind.RESTORED:
        was = "taken down" if evidence.get("previous_state") == "removed" else "delisted"
        sentences.append(f"Listed again by the library after it was {was}.")
    elif kind == EventKind.MOVED and evidence.get("new_url"):
        sentences.append(f"The same file is now listed at {evidence['new_url']}.")
    elif kind == EventKind.REMOVED_BEFORE_MONITORING:
        sentences.append("The Wayback Machine captured this address before foiawatch watched the library; our "
                         "crawls never saw it listed, and checked directly it answered that it is gone.")
        if evidence.get("inferred"):
            sentences.append("Its title and section were inferred from the file and its address.")
    return sentences
