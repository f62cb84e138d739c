"""The Wayback baseline: documents removed before monitoring began, and the captures that hold removed documents.

docs/DESIGN.md rule 7: a document the Wayback Machine captured under the library prefix, that none of our crawls ever
listed, and that the library no longer serves, was removed before we started watching. Like the rest of diff/ this
only reads what wayback/ recorded (``captures``, ``wayback_probes``, ``archived_links``) and what crawls saw, and
fetches nothing; a URL is concluded gone only from a probe that found it gone (404/410 or a soft 404).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import sqlite_utils

from ..archive import Archive, captures
from ..archive.pii import is_withheld
from ..archive.text_clean import clean_text
from ..archive.vocabulary import CrawlStatus, EventKind, ProbeOutcome, RecoveryStatus, counted
from .engine import EVIDENCE_LIST_LIMIT
from .rules import describe_probe

_NAME_LIKE = re.compile(r"[^\W\d_]{2,}.*\s.*[^\W\d_]{2,}")  # a line with two words at least: not "1" or "Page 2"
_TITLE_CHARS = 200


@dataclass
class BaselineResult:
    """What the baseline found among captured URLs never seen listed, by their last probe."""

    agency_id: str
    never_listed: int = 0
    gone: int = 0  # probed gone: removed before monitoring
    served: int = 0  # still served without a link
    inconclusive: int = 0  # the probe could not tell (5xx, timeout, blocked, outage page, robots.txt)
    unprobed: int = 0
    created: int = 0  # new removed_before_monitoring events
    skipped: str | None = None


def run_baseline(archive: Archive, agency_id: str, prefixes: Sequence[str] = ()) -> BaselineResult:
    """Record a ``removed_before_monitoring`` event for every captured URL never listed and probed gone.

    A document's title and section are those of the newest archived listing page we read that links it; failing
    that, its file name and the folder it was filed in under the one of ``prefixes`` (the agency's Wayback prefixes)
    it lies under. Re-running
    records nothing twice.
    """
    db = archive.db
    result = BaselineResult(agency_id)
    crawl = db.execute(
        "select id from crawls where agency_id = ? and status = ? order by id desc limit 1",
        [agency_id, CrawlStatus.COMPLETE],
    ).fetchone()
    if crawl is None:
        result.skipped = f"no complete crawl of {agency_id} yet: nothing can be known to be unlisted"
        return result
    found = list(db.query(
        f"""
        select n.*, p.probed_at, p.outcome, p.http_status, p.final_url, p.error
        from ({captures.NEVER_LISTED}) n left join ({captures.LATEST_PROBES}) p on p.url = n.url
        order by n.url
        """,
        {"agency": agency_id},
    ))
    result.never_listed = len(found)
    events = []
    for row in found:
        outcome = row["outcome"]
        if outcome in (ProbeOutcome.GONE, ProbeOutcome.SOFT_404):
            result.gone += 1
            events.append(_event(archive, agency_id, crawl[0], row, prefixes))
        elif outcome == ProbeOutcome.SERVED:
            result.served += 1
        elif outcome is None:
            result.unprobed += 1
        else:
            result.inconclusive += 1
    with db.conn:
        result.created = db.conn.executemany(
            "insert or ignore into events (agency_id, kind, crawl_id, document_id, url, title, section, detected_at,"
            " summary, evidence, dedupe_key) values (:agency_id, :kind, :crawl_id, null, :url, :title, :section,"
            " :detected_at, :summary, :evidence, :dedupe_key)",
            events,
        ).rowcount
    return result


def _folder(url: str, prefixes: Sequence[str]) -> str | None:
    """The first folder of ``url``'s path below the path of the longest prefix it lies under
    (``/doclib/foia/<folder>/...``), if any."""
    path = urlsplit(url).path
    bases = [urlsplit("//" + prefix.split("://")[-1]).path for prefix in prefixes] or [""]
    under = [base for base in bases if path.startswith(base)]
    if not under:
        return None
    base = max(under, key=len)
    folder, slash, _ = path[len(base):].lstrip("/").partition("/")
    return clean_text(unquote(folder)) if slash and folder else None


def _event(archive: Archive, agency_id: str, crawl_id: int, row: dict[str, Any],
           prefixes: Sequence[str]) -> dict[str, Any]:
    db, url = archive.db, row["url"]
    listed = _archived_listing(db, agency_id, url)
    if listed:
        title, title_from = listed["title"] or listed["link_text"], "archived_listing"
    else:
        title, title_from = _own_title(archive, agency_id, url)
    section, section_from = (listed["section"], "archived_listing") if listed and listed["section"] else \
        (_folder(url, prefixes), "folder")
    held = list(db.query(
        "select timestamp, original, mimetype, status, digest, length, raw_url from captures"
        " where agency_id = ? and url = ? order by timestamp",
        [agency_id, url],
    ))
    probe = {key: row[key] for key in ("probed_at", "outcome", "http_status", "final_url", "error")}
    if listed:
        where = f" (listed under “{section}” as archived on {_day(listed['timestamp'])})"
    else:
        named = {"pdf_metadata": "the document's own title", "first_line": "the document's first line",
                 "file_name": "its file name"}[title_from]
        where = f" (named after {named}" + (f"; filed under “{section}”, the folder it was captured in)"
                                            if section else ")")
    summary = (f"“{title}”{where} was captured by the Wayback Machine ({counted(row['captures'], 'capture')}, "
               f"{_day(row['first_capture'])} to {_day(row['last_capture'])}) but never listed in our crawls, "
               f"and the library now answers {describe_probe(probe)}.")
    evidence = {"captures_count": len(held), "captures": held[:EVIDENCE_LIST_LIMIT], "probe": probe,
                "last_complete_crawl": crawl_id, "archived_listing": listed, "title_from": title_from,
                "section_from": section_from if section else None, "inferred": not listed}
    return {
        "agency_id": agency_id, "kind": EventKind.REMOVED_BEFORE_MONITORING, "crawl_id": crawl_id, "url": url,
        "title": title, "section": section, "detected_at": row["probed_at"],
        "summary": summary, "evidence": json.dumps(evidence, sort_keys=True),
        "dedupe_key": f"{EventKind.REMOVED_BEFORE_MONITORING}:{agency_id}:{url}",
    }


def _own_title(archive: Archive, agency_id: str, url: str) -> tuple[str, str]:
    """What a document removed before monitoring, named by no archived listing, calls itself: its PDF Title, else
    its first line of text, read from the verified copy recovery stored; else its file name. Only a copy the PII
    screen let through may name an event (events are public)."""
    copy = archive.db.execute(
        "select r.sha256, t.title, t.text from recoveries r join texts t on t.sha256 = r.sha256 "
        "where r.agency_id = ? and r.url = ? and r.status = ? order by r.capture_timestamp desc limit 1",
        [agency_id, url, RecoveryStatus.RECOVERED]).fetchone()
    if copy and not is_withheld(archive, copy[0]):
        if copy[1]:
            return copy[1], "pdf_metadata"
        line = next((line.strip() for line in (copy[2] or "").splitlines() if _NAME_LIKE.search(line)), "")
        if line:
            return line[:_TITLE_CHARS], "first_line"
    return clean_text(unquote(urlsplit(url).path.rsplit("/", 1)[-1])) or url, "file_name"


def _archived_listing(db: sqlite_utils.Database, agency_id: str, url: str) -> dict[str, Any] | None:
    """How the newest archived listing page we read that links ``url`` listed it, if any did."""
    return next(db.query(
        "select l.title, l.section, l.link_text, c.url as page, c.timestamp, c.raw_url from archived_links l"
        " join listing_captures c on c.id = l.listing_capture_id where l.agency_id = ? and l.url = ?"
        " order by c.timestamp desc limit 1",
        [agency_id, url],
    ), None)


def _day(timestamp: str) -> str:
    return f"{timestamp[:4]}-{timestamp[4:6]}-{timestamp[6:8]}"
