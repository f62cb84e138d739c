"""Whether a crawl can be trusted: the one rule, as a pure function of what its listing pages answered.

The crawler's recorder uses it to write a crawl's status, and diff/ applies it again to the stored listing pages
before it lets a crawl count against any document (a crawl wrongly marked complete would turn an outage into
thousands of removals). docs/DESIGN.md rule 2: an outage is one event, never a thousand removals, so the library
root failing, a block or challenge page, an outage notice, most pages failing, or a page that used to list many
documents suddenly listing none all make the crawl an ``outage``; any other failed page makes it ``incomplete``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .vocabulary import CrawlStatus

# A listing page that linked at least this many documents in the last complete crawl and links none now is a sign
# of an outage (a library emptied by a CMS failure), not of a takedown of every document on it.
EMPTIED_PAGE_MIN_LINKS = 5
# More than this share of listing pages failing is an outage (the agency config's [outage] failed_page_share).
DEFAULT_FAILED_PAGE_SHARE = 0.5


@dataclass(frozen=True)
class PageFacts:
    """What one listing page answered in a crawl: a row of ``listing_pages``."""

    url: str
    http_status: int | None
    is_root: bool = False  # one of the agency's library_urls
    error: str | None = None  # why it failed (a block is not an error: see ``blocked``)
    blocked: str | None = None  # the block or challenge page it showed instead of the library
    outage_notice: str | None = None  # the "temporarily unavailable" notice it showed
    document_links: int = 0

    @property
    def ok(self) -> bool:
        """Answered, parsed, and showing the library: its text and links can be trusted."""
        status = self.http_status or 0
        return (not self.error and not self.blocked and not self.outage_notice
                and (200 <= status < 300 or status == 304))

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PageFacts:
        """From a ``listing_pages`` row, where a block's description is stored in ``error`` and ``blocked`` is a
        flag; a notice recorded before its text was stored is described generically."""
        blocked = bool(row.get("blocked"))
        notice = row.get("notice") or ("an outage notice" if row.get("outage_notice") else None)
        return cls(url=row.get("url") or "", http_status=row.get("http_status"), is_root=bool(row.get("is_root")),
                   error=None if blocked else row.get("error"),
                   blocked=(row.get("error") or "a block page") if blocked else None,
                   outage_notice=notice, document_links=row.get("document_links") or 0)


@dataclass(frozen=True)
class CrawlVerdict:
    """A crawl's status and why; ``blocked`` marks an outage caused by a block or challenge page."""

    status: CrawlStatus
    reason: str
    blocked: bool = False
    example: str | None = None  # the first offending page, for the record: "URL (what it answered)"

    def describe(self) -> str:
        return f"{self.reason}: {self.example}" if self.example else self.reason


def page_ok(row: Mapping[str, Any]) -> bool:
    """Whether a stored listing page (a ``listing_pages`` row, or part of one) can be trusted."""
    return PageFacts.from_row(row).ok


def judge_crawl(pages: Sequence[PageFacts], previous_links: Mapping[str, int],
                failed_page_share: float = DEFAULT_FAILED_PAGE_SHARE) -> CrawlVerdict:
    """complete, incomplete or outage, from a crawl's listing pages.

    ``previous_links`` maps each listing page URL of the agency's last complete crawl to the documents it linked.
    """
    if not pages:
        return CrawlVerdict(CrawlStatus.OUTAGE, "no listing page could be fetched")
    roots = [p for p in pages if p.is_root]
    for root in roots:
        if root.outage_notice:
            return CrawlVerdict(CrawlStatus.OUTAGE, f"library root shows the notice {root.outage_notice!r}")
    blocked = [p for p in pages if p.blocked]
    if blocked:
        return CrawlVerdict(CrawlStatus.OUTAGE, f"blocked: {blocked[0].blocked} on {len(blocked)} of {len(pages)} "
                            "listing pages", blocked=True)
    failed_roots = [p for p in roots if not p.ok]
    if failed_roots and len(failed_roots) == len(roots):
        return CrawlVerdict(CrawlStatus.OUTAGE, f"library root unreachable ({_answer(failed_roots[0])})")
    failed = [p for p in pages if not p.ok and not p.outage_notice]
    if failed and len(failed) / len(pages) > failed_page_share:
        return CrawlVerdict(CrawlStatus.OUTAGE, f"{len(failed)} of {len(pages)} listing pages failed")
    noticed = [p for p in pages if p.outage_notice]
    if noticed:
        return CrawlVerdict(CrawlStatus.OUTAGE, f"{noticed[0].url} shows the notice {noticed[0].outage_notice!r}")
    emptied = [p.url for p in pages if p.ok and not p.document_links
               and previous_links.get(p.url, 0) >= EMPTIED_PAGE_MIN_LINKS]
    if emptied:
        return CrawlVerdict(CrawlStatus.OUTAGE, f"{emptied[0]} used to list documents and now lists none")
    if failed:
        return CrawlVerdict(CrawlStatus.INCOMPLETE, f"{len(failed)} of {len(pages)} listing pages failed",
                            example=f"{failed[0].url} ({_answer(failed[0])})")
    return CrawlVerdict(CrawlStatus.COMPLETE, f"{len(pages)} listing pages fetched and parsed")


def _answer(page: PageFacts) -> str:
    return page.error or (f"HTTP {page.http_status}" if page.http_status else "no answer")
