"""The removal rules of docs/DESIGN.md as pure functions, so each decision can be tested without a database.

A false "removed" is the worst bug this project can have, so every rule here errs towards "no conclusion":
only a complete crawl can count against a document, only a 404/410 or soft 404 counts as gone, and anything
else (a block, a 5xx, a timeout, no probe at all) breaks a run of confirmations instead of extending it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..archive.store import COMPLETE, FETCHED, GONE, INCOMPLETE, NOT_MODIFIED, OUTAGE, SOFT_404, TOO_LARGE
from .schema import LISTED, MISSING, REMOVED, UNLISTED

GONE_OUTCOMES = frozenset({GONE, SOFT_404})
# A too-large answer is still a document being served: it only exceeded our download cap.
SERVED_OUTCOMES = frozenset({FETCHED, NOT_MODIFIED, TOO_LARGE})
# Anything else (blocked, failed, skipped, no probe at all) is no conclusion.

# A listing page that linked at least this many documents in the last complete crawl and links none now is an
# outage (docs/DESIGN.md rule 2), whatever the crawler concluded. Same threshold as the crawler's own check.
EMPTIED_PAGE_MIN_LINKS = 5


@dataclass(frozen=True)
class CrawlVerdict:
    """What a crawl may be used for: only ``complete`` crawls may count against a document."""

    status: str
    reason: str
    blocked: bool = False


def page_ok(page: Mapping[str, Any]) -> bool:
    """A listing page whose text and links can be trusted."""
    status = page.get("http_status") or 0
    return (
        not page.get("error") and not page.get("blocked") and not page.get("outage_notice")
        and (200 <= status < 300 or status == 304)
    )


def classify_crawl(
    crawl: Mapping[str, Any], pages: Iterable[Mapping[str, Any]], previous_links: Mapping[str, int]
) -> CrawlVerdict:
    """Re-check the crawler's status against its listing pages before trusting a crawl to remove anything.

    ``previous_links`` maps each listing page URL of the last complete crawl to the documents it linked.
    The crawler should already have decided the same; this is a second lock on the door, because a crawl
    wrongly marked complete would turn an outage into thousands of removals.
    """
    reason = crawl.get("status_reason") or ""
    pages = list(pages)
    blocked_pages = sum(1 for p in pages if p.get("blocked"))
    notice_pages = sum(1 for p in pages if p.get("outage_notice"))
    blocked = reason.lower().startswith("blocked") or blocked_pages > notice_pages
    if crawl["status"] == OUTAGE:
        return CrawlVerdict(OUTAGE, reason or "the crawler reported an outage", blocked)
    if crawl["status"] != COMPLETE:
        return CrawlVerdict(INCOMPLETE, reason or f"crawl status {crawl['status']}")
    if not pages:
        return CrawlVerdict(INCOMPLETE, "no listing page was recorded")
    if blocked_pages or notice_pages:
        what = "a block or challenge page" if blocked else "an outage notice"
        return CrawlVerdict(OUTAGE, f"{blocked_pages + notice_pages} of {len(pages)} listing pages show {what}",
                            blocked)
    emptied = [p["url"] for p in pages if page_ok(p) and not p.get("document_links")
               and previous_links.get(p["url"], 0) >= EMPTIED_PAGE_MIN_LINKS]
    if emptied:
        return CrawlVerdict(OUTAGE, f"{len(emptied)} listing page(s) that linked many documents now link none: "
                            f"{emptied[0]}")
    failed = sum(1 for p in pages if not page_ok(p))
    if failed:
        return CrawlVerdict(INCOMPLETE, f"{failed} of {len(pages)} listing pages failed")
    return CrawlVerdict(COMPLETE, reason)


@dataclass(frozen=True)
class MissingVerdict:
    """The next state of a document a complete crawl did not list, and the event that transition raises."""

    state: str
    streak: int
    event: str | None = None


def judge_missing(state: str, streak: int, outcome: str | None, confirmations: int) -> MissingVerdict:
    """Apply rules 3 and 4 to one unlisted document, given its probe outcome in this complete crawl.

    ``state`` is listed, missing or unlisted; ``streak`` counts the consecutive complete crawls so far in which it
    was missing and probed gone. Gone ``confirmations`` times in a row → removed. Served → unlisted (announced
    once). Anything else is no conclusion and restarts the count: "consecutive" means consecutive.
    """
    if outcome in GONE_OUTCOMES:
        streak += 1
        if streak >= confirmations:
            return MissingVerdict(REMOVED, streak, REMOVED)
        return MissingVerdict(MISSING if state == LISTED else state, streak)
    if outcome in SERVED_OUTCOMES:
        return MissingVerdict(UNLISTED, 0, None if state == UNLISTED else UNLISTED)
    return MissingVerdict(MISSING if state == LISTED else state, 0)


def may_have_moved(outcome: str | None, url: str, final_url: str | None) -> bool:
    """Whether a probe lets a vanished URL be explained as a move: it is gone, or it redirects elsewhere."""
    if outcome in GONE_OUTCOMES:
        return True
    return outcome in SERVED_OUTCOMES and bool(final_url) and final_url != url
