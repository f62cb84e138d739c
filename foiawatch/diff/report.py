"""Reading events back: filtered queries, a plain-text report for people and JSON for programs."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from ..archive import Archive
from ..archive.vocabulary import EventKind, counted

NO_SECTION = "(no section)"


def list_events(
    archive: Archive,
    agency: str | None = None,
    kinds: Iterable[str] | None = None,
    section: str | None = None,
    since: int | str | None = None,
    limit: int | None = 1000,
) -> list[dict[str, Any]]:
    """Events, oldest first, with evidence decoded; the newest ``limit`` when there are more.

    ``since`` is a crawl id (events decided by that crawl or later) or an ISO timestamp (detected at or after it).
    """
    where: list[str] = []
    params: list[str | int] = []
    if agency:
        where.append("e.agency_id = ?")
        params.append(agency)
    kinds = list(kinds or [])
    unknown = sorted(set(kinds) - set(EventKind))
    if unknown:
        raise ValueError(f"unknown event kind {unknown[0]!r} (known: {', '.join(EventKind)})")
    if kinds:
        where.append(f"e.kind in ({', '.join('?' for _ in kinds)})")
        params.extend(kinds)
    if section:
        where.append("e.section = ?")
        params.append(section)
    if isinstance(since, int):
        where.append("e.crawl_id >= ?")
        params.append(since)
    elif since:
        where.append("e.detected_at >= ?")
        params.append(since)
    sql = (
        "select e.*, t.lines_added, t.lines_removed from events e left join text_diffs t on t.event_id = e.id"
        + (" where " + " and ".join(where) if where else "")
        + " order by e.id desc"
        + (" limit ?" if limit is not None else "")
    )
    events = list(archive.db.query(sql, params + ([limit] if limit is not None else [])))
    for event in events:
        event["evidence"] = json.loads(event["evidence"])
    events.reverse()
    return events


def count_by_kind(events: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(event["kind"] for event in events)
    return {kind: counts[kind] for kind in EventKind if counts[kind]}


def render_report(events: Sequence[dict[str, Any]]) -> str:
    """Counts first, then every event grouped by kind (most alarming first) and by section."""
    if not events:
        return "No events."
    counts = count_by_kind(events)
    lines = [f"{counted(len(events), 'event')}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items())]
    for kind in counts:
        lines += ["", f"{kind} ({counts[kind]})"]
        by_section: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for event in events:
            if event["kind"] == kind:
                by_section[event["section"] or NO_SECTION].append(event)
        for section, members in by_section.items():
            lines.append(f"  {section}")
            for event in members:
                diffed = (f" (+{event['lines_added']}/-{event['lines_removed']} lines)"
                          if event.get("lines_added") is not None else "")
                lines.append(f"    [{event['agency_id']} crawl {event['crawl_id']}] {event['summary']}{diffed}")
                if event["url"]:
                    lines.append(f"      {event['url']}")
    return "\n".join(lines)


def events_json(events: Sequence[dict[str, Any]], **extra: Any) -> str:
    """The same report as JSON: counts by kind and the events with their evidence (plus ``extra`` keys)."""
    document = {**extra, "counts": count_by_kind(events), "events": list(events)}
    return json.dumps(document, indent=2, ensure_ascii=False)
