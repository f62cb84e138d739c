"""Listing-level changes between two complete crawls: sections that vanished, and text deleted from listing pages.

Both compare a complete crawl with the complete crawl before it (outages and incomplete crawls in between are
skipped), so a page that failed never looks like a page that was emptied.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from ..archive.verdict import page_ok
from ..archive.vocabulary import DocumentState
from .textdiff import blocks

# Engine states of documents that stopped being listed.
_NOT_LISTED = ", ".join(f"'{state}'" for state in DocumentState if state != DocumentState.LISTED)
# A block is a document's line when it starts with one of the page's link texts ("Title (PDF, 2 MB)") or one
# covers at least half of it ("2019-04-01: Title"); a paragraph that merely mentions "PDF" is not. Link texts
# shorter than three characters ("1", "»") are ignored.
_IS_DOCUMENT_LINE = """
    length(l.link_text) >= 3
    and (instr(c.block, l.link_text) = 1
         or (2 * length(l.link_text) >= length(c.block) and instr(c.block, l.link_text) > 0))
"""
_PAGE_STATE = ("http_status", "error", "blocked", "outage_notice")


@dataclass
class VanishedSection:
    """A section heading that no longer appears anywhere, none of whose documents is listed any more."""

    name: str
    documents: list[dict[str, Any]]
    listing_pages: list[str]
    text: list[str] = field(default_factory=list)  # other blocks of the page that went with it


@dataclass(frozen=True)
class PageDeletion:
    url: str
    blocks: list[str]


@dataclass(frozen=True)
class ListingChanges:
    sections: list[VanishedSection]
    pages: list[PageDeletion]


def section_names(db: sqlite_utils.Database, crawl_id: int) -> set[str]:
    """Every section heading a crawl listed a document under (a heading is known only through its links)."""
    rows = db.execute(
        "select distinct section from links where crawl_id = ? and section is not null and section != ''",
        [crawl_id],
    )
    return {name for (name,) in rows}


def compare_listings(db: sqlite_utils.Database, agency_id: str, previous: int, current: int) -> ListingChanges:
    """Sections and listing-page text present in ``previous`` and gone from ``current`` (both complete crawls).

    Runs after the engine has judged ``current``'s documents (it reads which stopped being listed).
    """
    before = section_names(db, previous)
    vanished = _vanished_sections(db, previous, current, before - section_names(db, current))
    return ListingChanges(vanished, _page_deletions(db, agency_id, previous, current, before, vanished))


def _vanished_sections(
    db: sqlite_utils.Database, previous: int, current: int, names: set[str]
) -> list[VanishedSection]:
    """Of the headings that vanished, those that took every one of their documents with them."""
    if not names:
        return []
    rows = db.execute(
        """
        select l.section, l.document_id, l.listing_page, d.url, d.title,
               exists(select 1 from links c where c.crawl_id = :current and c.document_id = l.document_id)
                   or coalesce(s.listed, 0) as still_listed,
               s.outcome, s.http_status
        from links l
        join documents d on d.id = l.document_id
        left join sightings s on s.crawl_id = :current and s.document_id = l.document_id
        where l.crawl_id = :previous and l.section in (select value from json_each(:names))
        order by l.section, l.document_id
        """,
        {"previous": previous, "current": current, "names": json.dumps(sorted(names))},
    ).fetchall()
    grouped: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    pages: dict[str, list[str]] = defaultdict(list)
    kept: set[str] = set()
    for section, document_id, page, url, title, still_listed, outcome, status in rows:
        if still_listed:
            kept.add(section)
        if page not in pages[section]:
            pages[section].append(page)
        grouped[section].setdefault(document_id, {
            "document_id": document_id, "url": url, "title": title, "listing_page": page,
            "probe": outcome, "http_status": status,
        })
    return [VanishedSection(name, list(documents.values()), pages[name])
            for name, documents in grouped.items() if name not in kept]


def _page_deletions(
    db: sqlite_utils.Database, agency_id: str, previous: int, current: int, headings: set[str],
    vanished: list[VanishedSection],
) -> list[PageDeletion]:
    """Blocks deleted from listing pages, less headings, documents' entries and text that went with a section.

    Only pages fetched cleanly in both crawls are compared. A block still present on any listing page of the
    current crawl was kept or moved, not deleted (pagination shifts whenever documents come and go), so blocks
    are checked against the whole current crawl, held as a set of hashes to bound memory. A block deleted from
    several pages (a paragraph a paginated listing repeats on every page) is one deletion, on the first of them.
    """
    changed = db.execute(
        """
        select a.url, a.text, a.http_status, a.error, a.blocked, a.outage_notice,
               b.http_status, b.error, b.blocked, b.outage_notice
        from listing_pages a join listing_pages b on b.crawl_id = ? and b.url = a.url
        where a.crawl_id = ? and a.text != b.text  -- a page without text (not fetched) is never compared
        order by a.id
        """,
        [current, previous],
    )
    first = changed.fetchone()
    if first is None:
        return []
    present: set[int] = set()
    for (text,) in db.execute("select text from listing_pages where crawl_id = ?", [current]):
        present.update(map(hash, blocks(text)))

    vanished_by_name = {section.name: section for section in vanished}
    candidates: list[tuple[str, int, str, str | None]] = []  # (page, position, block, vanished section)
    for url, text, *states in itertools.chain([first], changed):
        if not (page_ok(dict(zip(_PAGE_STATE, states[:4], strict=True)))
                and page_ok(dict(zip(_PAGE_STATE, states[4:], strict=True)))):
            continue
        page_blocks = blocks(text)
        missing = [p for p in _positions_missing(page_blocks, present) if page_blocks[p] not in headings]
        if not missing:
            continue
        spans = _vanished_spans(page_blocks, headings, vanished_by_name)
        for position in missing:
            section = next((name for start, end, name in spans if start < position < end), None)
            candidates.append((url, position, page_blocks[position], section))
    if not candidates:
        return []
    document_lines = _document_lines(db, agency_id, previous, [c[:3] for c in candidates])

    deleted: dict[str, list[str]] = defaultdict(list)
    reported: set[str] = set()
    entry = None  # (page, position) of the last block that belonged to a deleted document's entry
    for url, position, block, section in candidates:
        if (url, position) in document_lines:
            entry = (url, position)
        elif section:
            vanished_by_name[section].text.append(block)
        elif entry == (url, position - 1):
            entry = (url, position)  # directly follows a deleted document's line: its date cell, its summary
        elif block not in reported:  # a paragraph every page of a paginated listing repeated is deleted once
            reported.add(block)
            deleted[url].append(block)
    return [PageDeletion(url, lines) for url, lines in deleted.items()]


def _vanished_spans(
    page_blocks: list[str], headings: set[str], vanished: dict[str, VanishedSection]
) -> list[tuple[int, int, str]]:
    """(heading position, next heading position, name) of each vanished section on a page.

    What lies between a heading and the next one belongs to that section (a description, a date column), so
    when the section goes, that text went with it rather than being deleted from the page.
    """
    if not vanished:
        return []
    starts = [position for position, block in enumerate(page_blocks) if block in headings]
    ends = starts[1:] + [len(page_blocks)]
    return [(start, end, page_blocks[start])
            for start, end in zip(starts, ends, strict=True) if page_blocks[start] in vanished]


def _positions_missing(page_blocks: list[str], present: set[int]) -> list[int]:
    """Positions of the blocks whose hash is not in ``present``; set arithmetic first, as most pages lose nothing."""
    hashes = list(map(hash, page_blocks))
    positions = []
    for missing in set(hashes).difference(present):
        position = hashes.index(missing)
        while True:
            positions.append(position)
            try:
                position = hashes.index(missing, position + 1)
            except ValueError:
                break
    return sorted(positions)


def _document_lines(
    db: sqlite_utils.Database, agency_id: str, crawl_id: int, candidates: list[tuple[str, int, str]]
) -> set[tuple[str, int]]:
    """(page, position) of each candidate block that is a document's line on that page in ``crawl_id``.

    Most such blocks belong to documents that stopped being listed, which the engine's state names: their links
    are looked up first. Only blocks left over (a deleted paragraph, a document whose line was reworded) need the
    pass over all of the crawl's links, and only on their pages.
    """
    db.execute("drop table if exists temp.diff_candidates")
    db.execute("create temp table diff_candidates (url text, position integer, block text)")
    db.execute("create index temp.diff_candidates_url on diff_candidates (url)")
    db.conn.executemany("insert into temp.diff_candidates values (?, ?, ?)", candidates)
    found = set(db.execute(
        f"""
        select c.url, c.position
        from diff_documents d
        cross join links l on l.crawl_id = :crawl and l.document_id = d.document_id
        cross join temp.diff_candidates c on c.url = l.listing_page
        where d.agency_id = :agency and d.state in ({_NOT_LISTED}) and d.last_listed >= :crawl
          and {_IS_DOCUMENT_LINE}
        """,
        {"crawl": crawl_id, "agency": agency_id},
    ).fetchall())
    if len(found) < len(candidates):
        db.conn.executemany("delete from temp.diff_candidates where url = ? and position = ?", found)
        found.update(db.execute(
            f"""
            select c.url, c.position
            from links l cross join temp.diff_candidates c on c.url = l.listing_page
            where l.crawl_id = ? and {_IS_DOCUMENT_LINE}
            """,
            [crawl_id],
        ).fetchall())
    db.execute("drop table temp.diff_candidates")
    return found
