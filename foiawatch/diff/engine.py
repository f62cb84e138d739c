"""The diff engine: turns an agency's sequence of crawls into events. It never fetches anything.

Crawls are replayed in order, each in its own transaction, against a small per-document state (``diff_documents``)
so that a crawl of a million documents is compared with set operations in SQL; Python only sees the documents
whose state changes. Each crawl is judged by ``rules.classify_crawl`` first:

- any crawl may add, change or restore documents (being listed or served is positive evidence);
- only a complete crawl may count a document as missing, unlisted, moved or removed, or compare sections and
  listing-page text with the complete crawl before it;
- an outage opens one ``outage`` event; the next complete crawl closes it with ``outage_ended``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from ..archive import Archive
from ..archive.db import transaction
from ..archive.text import text_label
from ..archive.verdict import DEFAULT_FAILED_PAGE_SHARE, CrawlVerdict
from ..archive.vocabulary import ACTIVE_DOCUMENT_STATES, CrawlKind, CrawlStatus, DocumentState, EventKind, counted
from .listing import ListingChanges, compare_listings
from .rules import classify_crawl, describe_probe, judge_missing, may_have_moved
from .textdiff import text_diff

_ACTIVE = ", ".join(f"'{state}'" for state in ACTIVE_DOCUMENT_STATES)

# Lists inside one event's evidence (pages, documents) are cut here; the full count is always given.
EVIDENCE_LIST_LIMIT = 1000


@dataclass
class DiffResult:
    """What one run of the diff did: the crawls it replayed and the new events, by kind."""

    agency_id: str
    crawls: list[int] = field(default_factory=list)
    created: Counter = field(default_factory=Counter)
    waiting_on: int | None = None  # a running crawl; later crawls wait until it finishes

    @property
    def total(self) -> int:
        return sum(self.created.values())

    def as_dict(self) -> dict[str, Any]:
        return {"agency": self.agency_id, "crawls": self.crawls, "created": dict(self.created),
                "total": self.total, "waiting_on": self.waiting_on}


@dataclass
class _Cursor:
    crawl_id: int = 0
    last_complete: int | None = None
    outage_since: int | None = None


@dataclass
class _Crawl:
    """The crawl being diffed and the events it decides."""

    id: int
    agency_id: str
    detected_at: str
    events: list[dict[str, Any]] = field(default_factory=list)
    text_diffs: dict[str, tuple[str, str]] = field(default_factory=dict)  # dedupe key → (old, new sha256)

    def emit(self, kind: str, key: str, summary: str, evidence: dict[str, Any], *, document_id: int | None = None,
             url: str | None = None, title: str | None = None, section: str | None = None) -> None:
        self.events.append({
            "agency_id": self.agency_id, "kind": kind, "crawl_id": self.id, "document_id": document_id,
            "url": url, "title": title, "section": section or None, "detected_at": self.detected_at,
            "summary": summary, "evidence": json.dumps(evidence, sort_keys=True),
            "dedupe_key": f"{kind}:{self.agency_id}:{self.id}:{key}",
        })


def run_diff(archive: Archive, agency_id: str, *, confirmations: int = 2,
             failed_page_share: float = DEFAULT_FAILED_PAGE_SHARE, rebuild: bool = False) -> DiffResult:
    """Diff every finished crawl of an agency not diffed yet and record the events; returns what was created.

    ``confirmations`` and ``failed_page_share`` are the agency's ``removal_confirmations`` and ``[outage]
    failed_page_share``. ``rebuild`` forgets the engine's state and replays every crawl: events already recorded
    are recognised by their dedupe key and not recorded twice.
    """
    if confirmations < 1:
        raise ValueError("confirmations must be at least 1")
    db = archive.db
    result = DiffResult(agency_id)
    if rebuild:
        with transaction(db):
            db.execute("delete from diff_documents where agency_id = ?", [agency_id])
            db.execute("delete from diff_cursor where agency_id = ?", [agency_id])
    cursor = _load_cursor(db, agency_id)
    crawls = list(db.query("select * from crawls where agency_id = ? and id > ? order by id",
                           [agency_id, cursor.crawl_id]))
    for row in crawls:
        if row["status"] == CrawlStatus.RUNNING:
            result.waiting_on = row["id"]  # diffing past it would judge documents out of order
            break
        with transaction(db):
            crawl = _Crawl(row["id"], agency_id, row["finished_at"] or row["started_at"])
            _diff_crawl(archive, crawl, row, cursor, confirmations, failed_page_share)
            result.created.update(_record(db, crawl))
            _save_cursor(db, agency_id, cursor)
        result.crawls.append(row["id"])
    with transaction(db):
        backfill_text_diffs(archive, agency_id)
    return result


def backfill_text_diffs(archive: Archive, agency_id: str | None = None) -> int:
    """Compute the pending text diffs of ``changed`` events whose old and new texts have both been extracted.

    A ``changed`` event is recorded with its diff pending: texts may be extracted later, and diffing thousands of
    documents one at a time here keeps only one pair of texts in memory.
    """
    db = archive.db
    rows = db.execute(
        """
        select t.event_id, t.old_sha256, t.new_sha256
        from text_diffs t join events e on e.id = t.event_id
        where t.diff is null and (:agency is null or e.agency_id = :agency)
          and exists (select 1 from texts where sha256 = t.old_sha256 and text is not null)
          and exists (select 1 from texts where sha256 = t.new_sha256 and text is not null)
        """,
        {"agency": agency_id},
    ).fetchall()
    for event_id, old_sha, new_sha in rows:
        old_text, new_text = (db.execute("select text from texts where sha256 = ?", [sha]).fetchone()[0]
                              for sha in (old_sha, new_sha))
        diff = text_diff(old_text, new_text, text_label(archive, old_sha), text_label(archive, new_sha))
        db.execute(
            "update text_diffs set diff = ?, lines_added = ?, lines_removed = ?, truncated = ? where event_id = ?",
            [diff.diff, diff.lines_added, diff.lines_removed, int(diff.truncated), event_id],
        )
    return len(rows)


# one crawl -----------------------------------------------------------------------------------------------------


def _diff_crawl(archive: Archive, crawl: _Crawl, row: dict[str, Any], cursor: _Cursor, confirmations: int,
                failed_page_share: float) -> None:
    db = archive.db
    if row.get("kind") == CrawlKind.REVALIDATE:  # no listing read: it can only see changed bytes
        _load_seen(db, crawl)
        _changed(db, crawl)
        db.execute("drop table temp.diff_seen")
        cursor.crawl_id = crawl.id
        return
    pages = _listing_pages(db, crawl.id)
    verdict = classify_crawl(row, pages, archive.links_per_page(cursor.last_complete), failed_page_share)
    baseline = cursor.last_complete is None  # until a first complete crawl, what is listed is not "added"
    _load_seen(db, crawl)
    _relisted(db, crawl)
    _changed(db, crawl)
    moved_to: set[int] = set()
    if verdict.status == CrawlStatus.COMPLETE:
        moved_to = _absent(db, crawl, confirmations)
    if not baseline:
        _added(db, crawl, moved_to)
    db.execute("drop table temp.diff_seen")

    if verdict.status == CrawlStatus.OUTAGE:
        if cursor.outage_since is None:
            _outage_started(crawl, row, verdict, pages, cursor.last_complete)
            cursor.outage_since = crawl.id
    elif verdict.status == CrawlStatus.COMPLETE:
        changes = (compare_listings(db, crawl.agency_id, cursor.last_complete, crawl.id)
                   if cursor.last_complete is not None else ListingChanges([], []))
        _listing_events(crawl, changes, cursor.last_complete)
        if cursor.outage_since is not None:
            _outage_ended(db, crawl, cursor, changes)
        cursor.last_complete, cursor.outage_since = crawl.id, None
    cursor.crawl_id = crawl.id


def _load_seen(db: sqlite_utils.Database, crawl: _Crawl) -> None:
    """The crawl's sightings that differ from the engine's state: new, relisted, or with new content; and the
    documents a watch pass listed again without fetching them (its links, not its sightings, say so).

    One pass over the crawl's sightings; documents listed as before with the same content never leave SQLite.
    New documents join the state here.
    """
    db.execute("drop table if exists temp.diff_seen")
    db.execute(
        """
        create temp table diff_seen as
        select s.document_id, s.listed, s.outcome, s.http_status, s.sha256, s.listing_page, s.section,
               d.state, d.sha256 as old_sha, d.sha_crawl as old_sha_crawl
        from sightings s left join diff_documents d on d.document_id = s.document_id
        where s.crawl_id = :crawl and s.document_id is not null
          and ((d.state is null and s.listed = 1)
               or (d.state != 'listed' and s.listed = 1)
               or (d.state is not null and s.sha256 is not null and s.sha256 is not d.sha256))
        union all
        select l.document_id, 1, null, null, null, l.listing_page, l.section, d.state, d.sha256, d.sha_crawl
        from links l join diff_documents d on d.document_id = l.document_id
        where l.crawl_id = :crawl and d.state != 'listed'
          and l.rowid = (select min(rowid) from links where crawl_id = :crawl and document_id = l.document_id)
          and not exists (select 1 from sightings s where s.crawl_id = :crawl and s.document_id = l.document_id)
        """,
        {"crawl": crawl.id},
    )
    db.execute(
        """
        insert into diff_documents (document_id, agency_id, state, first_listed, last_listed, sha256, sha_crawl)
        select document_id, ?, 'listed', ?, ?, sha256, case when sha256 is null then null else ? end
        from temp.diff_seen where state is null
        """,
        [crawl.agency_id, crawl.id, crawl.id, crawl.id],
    )


def _relisted(db: sqlite_utils.Database, crawl: _Crawl) -> None:
    """Listed again: back to ``listed``; announced as ``restored`` if its removal or unlisting was announced."""
    rows = list(db.query("""
        select x.document_id, x.state, x.listing_page, x.section, x.http_status, x.sha256, d.url, d.title
        from temp.diff_seen x join documents d on d.id = x.document_id
        where x.state is not null and x.state != 'listed' and x.listed = 1
    """))
    for r in rows:
        if r["state"] in (DocumentState.REMOVED, DocumentState.UNLISTED):
            was = "removed" if r["state"] == DocumentState.REMOVED else "delisted while still served"
            crawl.emit(EventKind.RESTORED, str(r["document_id"]),
                       f"“{r['title'] or r['url']}” is listed again after it was {was}.",
                       {"previous_state": r["state"], "listing_page": r["listing_page"], "section": r["section"],
                        "http_status": r["http_status"], "sha256": r["sha256"]},
                       document_id=r["document_id"], url=r["url"], title=r["title"], section=r["section"])
    db.execute(
        """
        update diff_documents set state = 'listed', streak = 0, streak_evidence = null, unverified = 0, last_listed = ?
        where document_id in (select document_id from temp.diff_seen
                              where state is not null and state != 'listed' and listed = 1)
        """,
        [crawl.id],
    )


def _changed(db: sqlite_utils.Database, crawl: _Crawl) -> None:
    """Same URL, new content: ``changed``, its text diff pending (``backfill_text_diffs`` computes it)."""
    rows = list(db.query("""
        select x.document_id, x.old_sha, x.sha256, x.old_sha_crawl, x.listed, x.outcome, x.http_status,
               x.listing_page, coalesce(x.section, d.section) as section, d.url, d.title
        from temp.diff_seen x join documents d on d.id = x.document_id
        where x.state is not null and x.old_sha is not null and x.sha256 is not null and x.sha256 != x.old_sha
    """))
    for r in rows:
        name = r["title"] or r["url"]
        crawl.emit(EventKind.CHANGED, str(r["document_id"]), f"“{name}” changed: new content at the same URL.",
                   {"old_sha256": r["old_sha"], "new_sha256": r["sha256"], "old_crawl": r["old_sha_crawl"],
                    "listed": bool(r["listed"]), "outcome": r["outcome"], "http_status": r["http_status"],
                    "listing_page": r["listing_page"], "section": r["section"]},
                   document_id=r["document_id"], url=r["url"], title=r["title"], section=r["section"])
        crawl.text_diffs[crawl.events[-1]["dedupe_key"]] = (r["old_sha"], r["sha256"])
    db.execute(
        """
        update diff_documents set sha256 = x.sha256, sha_crawl = ?
        from temp.diff_seen x
        where x.document_id = diff_documents.document_id and x.state is not null and x.sha256 is not null
          and x.sha256 is not x.old_sha
        """,
        [crawl.id],
    )


def _absent(db: sqlite_utils.Database, crawl: _Crawl, confirmations: int) -> set[int]:
    """Judge every tracked document this complete crawl did not list; returns the new URLs documents moved to."""
    db.execute("drop table if exists temp.diff_absent")
    db.execute(
        f"""
        create temp table diff_absent as
        select d.document_id, d.state, d.streak, d.streak_evidence, d.unverified, d.sha256,
               case when d.state = 'listed'
                    then (select max(l.crawl_id) from links l where l.document_id = d.document_id
                          and l.crawl_id < :crawl)
                    else d.last_listed end as last_listed,
               p.listed as probe_listed, p.outcome, p.http_status, p.final_url, p.error
        from diff_documents d
        left join sightings p on p.crawl_id = :crawl and p.document_id = d.document_id
        where d.agency_id = :agency and d.state in ({_ACTIVE})
          and not exists (select 1 from links l where l.crawl_id = :crawl and l.document_id = d.document_id)
        """,
        {"crawl": crawl.id, "agency": crawl.agency_id},
    )
    moved = {old: new for old, new in db.execute(
        """
        select a.document_id, min(n.document_id)
        from temp.diff_absent a  -- cross join: drive from the few absent documents through sightings(sha256)
        cross join sightings s on s.sha256 = a.sha256 and s.crawl_id = ? and s.listed = 1
        cross join diff_documents n on n.document_id = s.document_id
        where n.state = 'listed' and n.first_listed > coalesce(a.last_listed, 0) and n.document_id != a.document_id
        group by a.document_id
        """,
        [crawl.id],
    )}
    rows = list(db.query("""
        select a.*, d.url, d.title, d.section, d.record_id,
               (select listing_page from links where crawl_id = a.last_listed and document_id = a.document_id
                order by rowid limit 1) as listing_page
        from temp.diff_absent a
        join documents d on d.id = a.document_id
        where coalesce(a.probe_listed, 0) = 0
    """))
    db.execute("drop table temp.diff_absent")

    # (state, streak, streak_evidence, unverified, last_listed, document_id) for each diff_documents row that changes
    updates: list[tuple[str, int, str | None, int, int | None, int]] = []
    moved_to: set[int] = set()
    removals: list[_Removal] = []
    for r in rows:
        probe = {"crawl_id": crawl.id, "outcome": r["outcome"], "http_status": r["http_status"],
                 "final_url": r["final_url"], "error": r["error"]}
        facts = {"last_listed_crawl": r["last_listed"], "listing_page": r["listing_page"], "section": r["section"],
                 "sha256": r["sha256"], "probe": probe}
        doc = {"document_id": r["document_id"], "url": r["url"], "title": r["title"], "section": r["section"]}
        name = r["title"] or r["url"]
        target = moved.get(r["document_id"])
        if target is not None and may_have_moved(r["outcome"], r["url"], r["final_url"]):
            new_url, new_title = _document(db, target)
            crawl.emit(EventKind.MOVED, str(r["document_id"]), f"“{name}” moved to {new_url} (same content).",
                       {**facts, "new_document_id": target, "new_url": new_url, "new_title": new_title}, **doc)
            moved_to.add(target)
            updates.append((DocumentState.MOVED, 0, None, 0, r["last_listed"], r["document_id"]))
            continue
        verdict = judge_missing(r["state"], r["streak"], r["outcome"], confirmations, r["unverified"])
        # The probes of the current run of "gone" (a verdict with no streak ended the run).
        streak = json.loads(r["streak_evidence"] or "[]") + [probe] if verdict.streak else []
        if verdict.event == EventKind.UNLISTED and verdict.cannot_verify:
            crawl.emit(EventKind.UNLISTED, str(r["document_id"]),
                       f"“{name}” is no longer listed, and whether it is still served cannot be verified: "
                       f"{verdict.unverified} consecutive complete crawls met a block page ({r['error']}).",
                       {**facts, "unverified": True, "blocked_crawls": verdict.unverified}, **doc)
        elif verdict.event == EventKind.UNLISTED:
            crawl.emit(EventKind.UNLISTED, str(r["document_id"]),
                       f"“{name}” is no longer listed but is still served ({describe_probe(probe)}).", facts, **doc)
        elif verdict.event == EventKind.REMOVED:
            removals.append(_Removal(doc, {**facts, "confirmations": confirmations, "crawls": streak},
                                     r["record_id"]))
        if (verdict.state, verdict.streak, verdict.unverified) != (r["state"], r["streak"], r["unverified"]):
            updates.append((verdict.state, verdict.streak, json.dumps(streak) if streak else None,
                            verdict.unverified, r["last_listed"], r["document_id"]))
    db.conn.executemany(
        "update diff_documents set state = ?, streak = ?, streak_evidence = ?, unverified = ?, last_listed = ? "
        "where document_id = ?",
        updates,
    )
    _removed(crawl, removals)
    return moved_to


@dataclass
class _Removal:
    """A document this crawl confirms removed, before its event is written (a record's parts join its event)."""

    doc: dict[str, Any]
    evidence: dict[str, Any]
    record_id: int | None


def _removed(crawl: _Crawl, removals: list[_Removal]) -> None:
    """One ``removed`` event per document; a record removed with its parts (FBI Vault style) is one event that
    names them, so a watcher hears of the record once, not once per part."""
    removed_now = {removal.doc["document_id"] for removal in removals}
    parts: dict[int, list[_Removal]] = {}
    for removal in removals:
        if removal.record_id is not None and removal.record_id in removed_now:
            parts.setdefault(removal.record_id, []).append(removal)
    for removal in removals:
        if removal.record_id in removed_now:
            continue
        doc, evidence = removal.doc, removal.evidence
        streak = evidence["crawls"]
        summary = (f"“{doc['title'] or doc['url']}” was removed: not listed and gone in {len(streak)} consecutive "
                   f"complete crawls ({', '.join(describe_probe(p) for p in streak)}).")
        taken = parts.get(doc["document_id"], [])
        if taken:
            summary += f" Its {counted(len(taken), 'part')} went with it."
            evidence = {**evidence, "parts_count": len(taken), "parts": [
                {"document_id": part.doc["document_id"], "url": part.doc["url"], "title": part.doc["title"],
                 "probe": part.evidence["probe"]} for part in taken[:EVIDENCE_LIST_LIMIT]]}
        crawl.emit(EventKind.REMOVED, str(doc["document_id"]), summary, evidence, **doc)


def _added(db: sqlite_utils.Database, crawl: _Crawl, moved_to: set[int]) -> None:
    rows = list(db.query("""
        select x.document_id, x.listing_page, coalesce(x.section, d.section) as section, x.http_status, x.sha256,
               d.url, d.title
        from temp.diff_seen x join documents d on d.id = x.document_id
        where x.state is null
    """))
    for r in rows:
        if r["document_id"] in moved_to:
            continue
        where = f" under “{r['section']}”" if r["section"] else ""
        crawl.emit(EventKind.ADDED, str(r["document_id"]), f"“{r['title'] or r['url']}” was added{where}.",
                   {"listing_page": r["listing_page"], "section": r["section"], "http_status": r["http_status"],
                    "sha256": r["sha256"]},
                   document_id=r["document_id"], url=r["url"], title=r["title"], section=r["section"])


def _listing_events(crawl: _Crawl, changes: ListingChanges, previous: int | None) -> None:
    # ``previous`` is None only before the first complete crawl, when there is nothing to compare (no changes)
    for section in changes.sections:
        gone = sum(1 for d in section.documents if d["probe"] in ("gone", "soft_404"))
        count = len(section.documents)
        crawl.emit(EventKind.SECTION_REMOVED, section.name,
                   f"Section “{section.name}” vanished with all {count} of its documents "
                   f"({gone} answer 404/410 or a soft 404).",
                   {"previous_crawl": previous, "listing_pages": section.listing_pages, "documents_count": count,
                    "documents": section.documents[:EVIDENCE_LIST_LIMIT], "text": section.text},
                   url=section.listing_pages[0] if section.listing_pages else None, section=section.name)
    for page in changes.pages:
        first = page.blocks[0] if len(page.blocks[0]) <= 120 else page.blocks[0][:117] + "…"
        more = f" and {counted(len(page.blocks) - 1, 'more block')}" if len(page.blocks) > 1 else ""
        crawl.emit(EventKind.PAGE_TEXT_REMOVED, page.url, f"Text deleted from {page.url}: “{first}”{more}.",
                   {"previous_crawl": previous, "listing_page": page.url, "deleted": page.blocks}, url=page.url)


def _outage_started(crawl: _Crawl, row: dict[str, Any], verdict: CrawlVerdict, pages: list[dict[str, Any]],
                    last_complete: int | None) -> None:
    if verdict.blocked:
        summary = f"The library blocked our crawler ({verdict.reason}); a block is not a takedown."
    else:
        summary = f"The library is down or shows an outage notice ({verdict.reason})."
    crawl.emit(EventKind.OUTAGE, "", summary + " Nothing is marked removed until a complete crawl.",
               {"crawl_id": crawl.id, "crawl_status": row["status"], "status_reason": row["status_reason"],
                "reason": verdict.reason, "blocked": verdict.blocked, "last_complete_crawl": last_complete,
                "listing_pages_count": len(pages), "listing_pages": pages[:EVIDENCE_LIST_LIMIT]},
               url=pages[0]["url"] if pages else None)


def _outage_ended(db: sqlite_utils.Database, crawl: _Crawl, cursor: _Cursor, changes: ListingChanges) -> None:
    """Close an outage with a reconciliation: what was listed before it and did not come back."""
    during = list(db.query("select id, status, status_reason from crawls where agency_id = ? and id >= ? and id < ?"
                       " and status != 'running' order by id", [crawl.agency_id, cursor.outage_since, crawl.id]))
    missing = list(db.query("""
        select d.id as document_id, d.url, d.title, d.section from documents d
        where d.id in (select document_id from links where crawl_id = :before)
          and not exists (select 1 from links l where l.crawl_id = :crawl and l.document_id = d.id)
          and not exists (select 1 from sightings c where c.crawl_id = :crawl and c.document_id = d.id
                          and c.listed = 1)
        order by d.id
    """, {"before": cursor.last_complete, "crawl": crawl.id}))
    sections = [s.name for s in changes.sections]
    crawl.emit(EventKind.OUTAGE_ENDED, "",
               f"The library is back after {counted(len(during), 'crawl')} of outage; "
               f"{counted(len(missing), 'document')} and {counted(len(sections), 'section')} listed before it did "
               "not come back.",
               {"outage_crawls": during, "before_crawl": cursor.last_complete, "missing_documents_count": len(missing),
                "missing_documents": missing[:EVIDENCE_LIST_LIMIT], "missing_sections": sections})


# storage -------------------------------------------------------------------------------------------------------


def _record(db: sqlite_utils.Database, crawl: _Crawl) -> Counter:
    """Insert the crawl's events (a dedupe key already recorded is skipped) and their pending text diffs."""
    created: Counter = Counter()
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for event in crawl.events:
        by_kind.setdefault(event["kind"], []).append(event)
    for kind, events in by_kind.items():
        cursor = db.conn.executemany(
            "insert or ignore into events (agency_id, kind, crawl_id, document_id, url, title, section, detected_at,"
            " summary, evidence, dedupe_key) values (:agency_id, :kind, :crawl_id, :document_id, :url, :title,"
            " :section, :detected_at, :summary, :evidence, :dedupe_key)",
            events,
        )
        created[kind] += cursor.rowcount
    db.conn.executemany(
        "insert or ignore into text_diffs (event_id, old_sha256, new_sha256) select id, ?, ? from events"
        " where dedupe_key = ?",
        [(old_sha, new_sha, key) for key, (old_sha, new_sha) in crawl.text_diffs.items()],
    )
    return +created


def _load_cursor(db: sqlite_utils.Database, agency_id: str) -> _Cursor:
    row = db.execute("select crawl_id, last_complete, outage_since from diff_cursor where agency_id = ?",
                     [agency_id]).fetchone()
    return _Cursor(*row) if row else _Cursor()


def _save_cursor(db: sqlite_utils.Database, agency_id: str, cursor: _Cursor) -> None:
    db.execute(
        "insert into diff_cursor (agency_id, crawl_id, last_complete, outage_since) values (?, ?, ?, ?) "
        "on conflict (agency_id) do update set crawl_id = excluded.crawl_id, "
        "last_complete = excluded.last_complete, outage_since = excluded.outage_since",
        [agency_id, cursor.crawl_id, cursor.last_complete, cursor.outage_since],
    )


def _listing_pages(db: sqlite_utils.Database, crawl_id: int) -> list[dict[str, Any]]:
    return list(db.query("select url, http_status, error, document_links, outage_notice, blocked, is_root, notice"
                         " from listing_pages where crawl_id = ? order by id", [crawl_id]))


def _document(db: sqlite_utils.Database, document_id: int) -> tuple[str, str]:
    return db.execute("select url, title from documents where id = ?", [document_id]).fetchone()
