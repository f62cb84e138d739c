"""Read a library's listing pages the way a crawl would, without fetching a document or writing anything: what
``foiawatch check`` prints and ``foiawatch init`` previews.

A survey counts the documents (one per canonical URL, under the section it is first listed in), the further
listing pages found and not read, and warns about what a person should look at before trusting the config: pages
that failed or look blocked, sections of one document (often items' own titles), items without a link, links to
hosts the config does not allow.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from ..archive.vocabulary import counted
from ..config import AgencyConfig
from .fetch import PoliteSession, describe_failure
from .parse import OK, DocumentLink, classify_response, parse_listing
from .urls import canonical_url

MAX_LISTING_BYTES = 20 * 1024 * 1024  # a listing page larger than this is read only this far (and said so)
_SAMPLE_TITLES = 3


@dataclass
class PageRead:
    """One listing page as the survey read it."""

    url: str
    status: int | None
    documents: int = 0
    problem: str | None = None  # why the page could not be read (failed, blocked, not found)


@dataclass
class Survey:
    """What the first listing pages of a library hold."""

    pages: list[PageRead] = field(default_factory=list)
    documents: dict[str, DocumentLink] = field(default_factory=dict)  # canonical URL -> first listing
    records: dict[str, DocumentLink] = field(default_factory=dict)  # record pages (their parts: see the crawl)
    next_pages: list[str] = field(default_factory=list)  # found, not read
    warnings: list[str] = field(default_factory=list)

    @property
    def sections(self) -> dict[str, int]:
        """Documents per section, in the order sections were first seen ('' is no section)."""
        return dict(Counter(link.section for link in self.documents.values()))

    def samples(self, section: str) -> list[str]:
        return [link.title for link in self.documents.values() if link.section == section][:_SAMPLE_TITLES]

    def as_json(self) -> dict[str, Any]:
        return {"listing_pages": sum(page.problem is None for page in self.pages),
                "documents": len(self.documents), "sections": self.sections, "next_pages": self.next_pages,
                "warnings": self.warnings, "records": len(self.records)}


def survey(config: AgencyConfig, session: PoliteSession, max_pages: int) -> Survey:
    """Fetch the library's listing pages breadth-first (its ``library_urls``, then the pages they link), at most
    ``max_pages``, and survey them."""
    result = Survey()
    queue = [canonical_url(url) or url for url in config.library_urls]
    seen = set(queue)
    while queue and len(result.pages) < max_pages:
        url = queue.pop(0)
        found = _read(config, session, url, result)
        for page in found:
            if page not in seen:
                seen.add(page)
                queue.append(page)
    result.next_pages = queue
    _warn(config, result)
    return result


def survey_page(config: AgencyConfig, url: str, body: bytes) -> Survey:
    """The survey of one page already fetched (``init`` previews the page it just read)."""
    result = Survey()
    result.next_pages = _add(config, url, body, 200, result)
    _warn(config, result)
    return result


def _read(config: AgencyConfig, session: PoliteSession, url: str, result: Survey) -> list[str]:
    if not session.allowed(url):
        result.pages.append(PageRead(url, None, problem="robots.txt disallows it"))
        return []
    try:
        fetched = session.fetch(url, MAX_LISTING_BYTES)
    except requests.RequestException as error:
        result.pages.append(PageRead(url, None, problem=describe_failure(error)))
        return []
    verdict = classify_response(fetched.status, fetched.headers, fetched.body)
    if verdict != OK:
        result.pages.append(PageRead(url, fetched.status, problem=f"HTTP {fetched.status} ({verdict})"))
        return []
    if fetched.truncated:
        result.warnings.append(f"{url} is larger than {MAX_LISTING_BYTES // 2**20} MiB; only that much was read")
    return _add(config, fetched.final_url, fetched.body, fetched.status, result)


def _add(config: AgencyConfig, url: str, body: bytes, status: int, result: Survey) -> list[str]:
    parsed = parse_listing(body, url, config)
    page = PageRead(url, status, len(parsed.documents))
    result.pages.append(page)
    if parsed.blocked:
        page.problem = f"looks like a block page ({parsed.blocked})"
        return []
    for link in parsed.documents:
        result.documents.setdefault(link.url, link)
    for link in parsed.records:
        result.records.setdefault(link.url, link)
    if parsed.items_without_link:
        result.warnings.append(f"{url}: {counted(parsed.items_without_link, 'item')} without a document link")
    return parsed.next_pages + parsed.follow_pages


def _warn(config: AgencyConfig, result: Survey) -> None:
    for page in result.pages:
        if page.problem:
            result.warnings.append(f"{page.url}: {page.problem}")
    if not result.documents and not result.records and any(page.problem is None for page in result.pages):
        result.warnings.append("no document links found: is this the page that lists the documents?")
    singles = [name for name, count in result.sections.items() if name and count == 1]
    if singles and len(singles) * 2 >= len(result.sections):
        result.warnings.append(f"{counted(len(singles), 'section')} of one document (are items' own titles taken as "
                               f"sections?), e.g. {singles[0]!r}")
    elif singles:
        named = ", ".join(map(repr, singles[:5]))
        result.warnings.append(f"{counted(len(singles), 'section')} of one document: {named}")
    outside = Counter(urlsplit(link).hostname for link in result.documents if not config.host_allowed(link))
    for host, count in outside.most_common():
        result.warnings.append(f"{counted(count, 'document link')} to {host}, which is not in allowed_hosts: "
                               "they will not be fetched")
