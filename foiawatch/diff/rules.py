"""The removal rules of docs/DESIGN.md as pure functions, so each decision can be tested without a database.

A false "removed" is the worst bug this project can have, so every rule here errs towards "no conclusion":
only a complete crawl can count against a document, only a 404/410 or soft 404 counts as gone, and anything
else (a block, a 5xx, a timeout, no probe at all) breaks a run of confirmations instead of extending it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..archive.verdict import DEFAULT_FAILED_PAGE_SHARE, CrawlVerdict, PageFacts, judge_crawl
from ..archive.vocabulary import CrawlStatus, DocumentState, EventKind, FetchOutcome

GONE_OUTCOMES = frozenset({FetchOutcome.GONE, FetchOutcome.SOFT_404})
# A too-large answer is still a document being served: it only exceeded our download cap.
SERVED_OUTCOMES = frozenset({FetchOutcome.FETCHED, FetchOutcome.NOT_MODIFIED, FetchOutcome.TOO_LARGE})
# Anything else (blocked, failed, skipped, no probe at all) is no conclusion.


def classify_crawl(
    crawl: Mapping[str, Any], pages: Iterable[Mapping[str, Any]], previous_links: Mapping[str, int],
    failed_page_share: float = DEFAULT_FAILED_PAGE_SHARE,
) -> CrawlVerdict:
    """Check a recorded crawl against its stored listing pages before trusting it to remove anything.

    The crawler decided the status with ``archive.verdict.judge_crawl``; a crawl it recorded as complete is judged
    again here by the same rule from the stored pages, because a crawl wrongly marked complete would turn an
    outage into thousands of removals. A crawl recorded as below complete is never upgraded.
    ``previous_links`` maps each listing page URL of the last complete crawl to the documents it linked.
    """
    reason = crawl.get("status_reason") or ""
    facts = [PageFacts.from_row(page) for page in pages]
    if crawl["status"] == CrawlStatus.OUTAGE:
        blocked = reason.lower().startswith("blocked") or (
            sum(1 for f in facts if f.blocked) > sum(1 for f in facts if f.outage_notice))
        return CrawlVerdict(CrawlStatus.OUTAGE, reason or "the crawler reported an outage", blocked)
    if crawl["status"] != CrawlStatus.COMPLETE:
        return CrawlVerdict(CrawlStatus.INCOMPLETE, reason or f"crawl status {crawl['status']}")
    if not facts:
        return CrawlVerdict(CrawlStatus.INCOMPLETE, "no listing page was recorded")
    verdict = judge_crawl(facts, previous_links, failed_page_share)
    return verdict if verdict.status != CrawlStatus.COMPLETE else CrawlVerdict(CrawlStatus.COMPLETE, reason)


@dataclass(frozen=True)
class MissingVerdict:
    """The next state of a document a complete crawl did not list, and the event that transition raises."""

    state: str
    streak: int
    event: str | None = None
    unverified: int = 0  # consecutive complete crawls whose probe met a block page
    cannot_verify: bool = False  # the event says the document is unlisted only because it could not be checked


def judge_missing(state: str, streak: int, outcome: str | None, confirmations: int,
                  unverified: int = 0) -> MissingVerdict:
    """Apply rules 3 and 4 to one unlisted document, given its probe outcome in this complete crawl.

    ``state`` is listed, missing or unlisted; ``streak`` counts the consecutive complete crawls so far in which it
    was missing and probed gone. Gone ``confirmations`` times in a row → removed. Served → unlisted (announced
    once). Anything else is no conclusion and restarts the count: "consecutive" means consecutive. A block page
    ``confirmations`` times in a row (``unverified``) makes it unlisted, announced as "cannot be verified": a
    document that stays behind a block page is reported, never as removed.
    """
    if outcome in GONE_OUTCOMES:
        streak += 1
        if streak >= confirmations:
            return MissingVerdict(DocumentState.REMOVED, streak, EventKind.REMOVED)
        return MissingVerdict(DocumentState.MISSING if state == DocumentState.LISTED else state, streak)
    if outcome in SERVED_OUTCOMES:
        event = None if state == DocumentState.UNLISTED else EventKind.UNLISTED
        return MissingVerdict(DocumentState.UNLISTED, 0, event)
    if outcome == FetchOutcome.BLOCKED:
        unverified += 1
        if unverified >= confirmations:
            event = None if state == DocumentState.UNLISTED else EventKind.UNLISTED
            return MissingVerdict(DocumentState.UNLISTED, 0, event, unverified, cannot_verify=True)
        return MissingVerdict(DocumentState.MISSING if state == DocumentState.LISTED else state, 0, None, unverified)
    return MissingVerdict(DocumentState.MISSING if state == DocumentState.LISTED else state, 0)


def may_have_moved(outcome: str | None, url: str, final_url: str | None) -> bool:
    """Whether a probe lets a vanished URL be explained as a move: it is gone, or it redirects elsewhere."""
    if outcome in GONE_OUTCOMES:
        return True
    return outcome in SERVED_OUTCOMES and bool(final_url) and final_url != url


def describe_probe(probe: Mapping[str, Any]) -> str:
    """How a probe answered, for a summary: "HTTP 404", "soft 404" (a 200 page that is not the document)."""
    if probe["outcome"] == FetchOutcome.SOFT_404 or not probe["http_status"]:
        return str(probe["outcome"]).replace("_", " ")
    return f"HTTP {probe['http_status']}"
