"""What a reviewer of the PII screen reads: the blobs under review, and everything known about one of them.

Decisions are made by :func:`.pii.release` and :func:`.pii.withhold`; this module only reads. Findings show masked
excerpts, and reviewers' names and reasons are private: all of this is for the operator, never published.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

WITHHELD, PUBLIC, ALL = "withheld", "public", "all"
STATES = (WITHHELD, PUBLIC, ALL)

# The newest document address a blob was fetched or recovered from, and its title.
_NAMED_BY = """
    select d.url, d.title, d.section, d.agency_id from sightings s join documents d on d.id = s.document_id
    where s.sha256 = :sha256 order by s.crawl_id desc limit 1
"""
_RECOVERED_AS = "select url, null, null, agency_id from recoveries where sha256 = :sha256 order by id desc limit 1"


def resolve(db: sqlite_utils.Database, prefix: str) -> str:
    """The full sha256 of the blob ``prefix`` (at least 6 hex digits) names; ``LookupError`` says why not."""
    prefix = prefix.strip().lower()
    if len(prefix) < 6 or any(c not in "0123456789abcdef" for c in prefix):
        raise LookupError(f"{prefix!r} is not a sha256 or a prefix of one (6 hex digits at least)")
    matches = [row[0] for row in db.execute(
        "select sha256 from blobs where sha256 >= ? and sha256 < ? order by sha256 limit 2", [prefix, prefix + "g"])]
    if not matches:
        raise LookupError(f"no blob {prefix}: `foiawatch review list --state all` lists them")
    if len(matches) > 1:
        raise LookupError(f"{prefix} names more than one blob; give more digits")
    return matches[0]


def blobs_for_review(db: sqlite_utils.Database, state: str = WITHHELD, limit: int | None = None) -> list[dict]:
    """Blobs in ``state`` (withheld: by the screen, a reviewer, or because never screened), newest first."""
    condition = {WITHHELD: "coalesce(w.withheld, 1) = 1", PUBLIC: "w.withheld = 0", ALL: "1"}[state]
    return _rows(db, condition, {}, limit)


def _rows(db: sqlite_utils.Database, condition: str, params: dict[str, Any], limit: int | None) -> list[dict]:
    rows = list(db.query(
        f"""
        select b.sha256, b.mimetype, b.size, b.stored_at, w.withheld, w.decided_by, w.reason, w.updated_at,
               t.status as text_status,
               (select group_concat(kind || ' x' || total, ', ') from (
                   select kind, sum(count) as total from pii_findings f where f.sha256 = b.sha256
                   group by kind order by kind)) as findings
        from blobs b left join withholdings w on w.sha256 = b.sha256 left join texts t on t.sha256 = b.sha256
        where {condition}
        order by coalesce(w.updated_at, b.stored_at) desc, b.sha256
        {"limit " + str(int(limit)) if limit else ""}
        """,
        params,
    ))
    for row in rows:
        row["state"] = WITHHELD if row["withheld"] in (None, 1) else PUBLIC
        row["why"] = _why(row)
        row.update(_named_by(db, row["sha256"]))
    return rows


def blob_details(db: sqlite_utils.Database, sha256: str) -> dict[str, Any]:
    """One blob for a reviewer: what it is, where it came from, the screen's findings and every decision."""
    (row,) = _rows(db, "b.sha256 = :sha256", {"sha256": sha256}, None)
    row["screen"] = next(db.query("select screened_at, screener, hits from pii_screens where sha256 = ?",
                                  [sha256]), None)
    row["findings_by_page"] = list(db.query(
        "select kind, risk, page, count, excerpt from pii_findings where sha256 = ? order by risk, kind, page",
        [sha256]))
    row["decisions"] = list(db.query(
        "select decided_at, action, reviewer, reason, was_withheld from review_decisions where sha256 = ? "
        "order by id", [sha256]))
    return row


def _why(row: dict[str, Any]) -> str:
    if row["decided_by"] == "review":
        return "released by a reviewer" if row["withheld"] == 0 else "withheld by a reviewer"
    if row["withheld"] is not None:
        return row["reason"] or ("screened: nothing high-risk" if row["withheld"] == 0 else "withheld by the screen")
    if row["text_status"] and row["text_status"] != "ok":
        return f"no text to screen ({row['text_status']})"
    return "not screened yet"


def _named_by(db: sqlite_utils.Database, sha256: str) -> dict[str, Any]:
    """The document a blob belongs to: the one a crawl fetched it for, else the one it was recovered as."""
    for query in (_NAMED_BY, _RECOVERED_AS):
        found = db.execute(query, {"sha256": sha256}).fetchone()
        if found:
            return dict(zip(("url", "title", "section", "agency_id"), found, strict=True))
    return {"url": None, "title": None, "section": None, "agency_id": None}
