"""What a message says: one digest per subscriber and run (plain text, JSON, or a Slack-compatible body), the
confirmation request, and the operator's alerts. Pure functions of their inputs, so a retried message is the
same message.

A digest answers, for each event: what happened, at which agency, in which section, to which document (title,
URL), when it was detected, the evidence, and where to see it: the public archive, our archived copy and any
copy recovered from the Wayback Machine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..archive.vocabulary import EventKind, counted, one_line

SLACK_TEXT_LIMIT = 38_000  # Slack cuts message text at 40,000 characters
DOCUMENT_LIST_LIMIT = 200  # document titles listed under one section_removed / outage_ended event
LINK_LABELS = (("archive", "Archive"), ("archive_document", "Document in the archive"),
               ("archived_copy", "Archived copy"), ("recovered_copy", "Recovered copy"), ("url", "Original URL"))
_KIND_PHRASES = {
    "removed": ("document removed", "documents removed"),
    "section_removed": ("section removed", "sections removed"),
    "removed_before_monitoring": ("document removed before monitoring", "documents removed before monitoring"),
    "outage": ("outage", "outages"),
    "outage_ended": ("outage ended", "outages ended"),
    "page_text_removed": ("page text deletion", "page text deletions"),
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str  # plain text
    payload: dict[str, Any]  # the webhook's JSON


def _kind_phrase(kind: str, count: int) -> str:
    """"3 documents removed": an event kind counted in the words of a digest's subject."""
    singular, plural = _KIND_PHRASES.get(kind, (kind.replace("_", " "), kind.replace("_", " ")))
    return counted(count, singular, plural)


def digest(events: Sequence[dict[str, Any]], *, key: str, unsubscribe: str, filters: str,
           slack: bool = False) -> Rendered:
    """One message listing every event (each carrying ``agency_name`` and ``links``), grouped by kind, agency and
    section. ``unsubscribe`` is the link or instruction every message ends with."""
    counts = Counter(event["kind"] for event in events)
    agencies = sorted({event["agency_name"] for event in events})
    summary = ", ".join(_kind_phrase(kind, counts[kind]) for kind in EventKind if counts[kind])
    subject = one_line(f"[foiawatch] {', '.join(agencies)}: {summary}", 180)
    lines = [f"foiawatch detected {counted(len(events), 'event')}: {summary}.", ""]
    for kind in (k for k in EventKind if counts[k]):
        lines += [f"{kind.upper().replace('_', ' ')} ({counts[kind]})", ""]
        group: tuple[str, str | None] | None = None
        for event in sorted((e for e in events if e["kind"] == kind),
                            key=lambda e: (e["agency_name"], e["section"] or "", e["id"])):
            if (event["agency_name"], event["section"]) != group:
                group = (event["agency_name"], event["section"])
                section = f" — section “{one_line(event['section'])}”" if event["section"] else ""
                lines.append(f"{one_line(event['agency_name'])} ({event['agency_id']}){section}")
            lines += _event_lines(event) + [""]
    lines += ["--", f"You receive this because you subscribed to foiawatch alerts ({filters}).", unsubscribe]
    body = "\n".join(lines)
    payload: dict[str, Any]
    if slack:
        text = body if len(body) <= SLACK_TEXT_LIMIT else body[:SLACK_TEXT_LIMIT] + "\n… (cut; see the archive)"
        payload = {"text": _slack_escape(text)}
    else:
        payload = {"type": "foiawatch.digest", "id": key, "count": len(events), "counts": dict(counts),
                   "events": [_event_json(event) for event in events], "unsubscribe": unsubscribe}
    return Rendered(subject, body, payload)


def _event_lines(event: dict[str, Any]) -> list[str]:
    what = f"“{one_line(event['title'], 300)}”" if event["title"] else (
        f"section “{one_line(event['section'], 300)}”" if event["section"] else one_line(event["url"] or "", 300))
    lines = [f"- {what} — detected {_date(event['detected_at'])}", f"  {one_line(event['summary'], 1000)}"]
    facts = _facts(event["evidence"])
    if facts:
        lines.append(f"  Evidence: {facts}")
    documents = event["evidence"].get("documents") or event["evidence"].get("missing_documents") or []
    for document in documents[:DOCUMENT_LIST_LIMIT]:
        if isinstance(document, dict):
            name = one_line(document.get("title") or document.get("url") or "", 200)
            lines.append(f"    · {name}  {document.get('url') or ''}".rstrip())
    if len(documents) > DOCUMENT_LIST_LIMIT:
        lines.append(f"    · … and {len(documents) - DOCUMENT_LIST_LIMIT} more (see the archive)")
    links = {"url": event["url"], **event["links"]}
    lines += [f"  {label}: {links[name]}" for name, label in LINK_LABELS if links.get(name)]
    return lines


def _facts(evidence: dict[str, Any]) -> str:
    """The evidence's plain facts (HTTP answers, crawls, pages), leaving out lists, digests, the section (shown
    above) and values already given under another name."""
    facts, seen = [], set()
    for key, value in sorted(evidence.items()):
        if isinstance(value, dict) and "outcome" in value:  # one probe
            value = f"{value['outcome']}" + (f" (HTTP {value['http_status']})" if value.get("http_status") else "")
        elif isinstance(value, (dict, list)) or value in (None, "") or "sha256" in key or key == "section":
            continue
        text = one_line(str(value), 200)
        if text not in seen:
            seen.add(text)
            facts.append(f"{key.replace('_', ' ')}: {text}")
    return "; ".join(facts)


def _event_json(event: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "agency_id", "agency_name", "kind", "title", "section", "url", "document_id", "crawl_id",
            "detected_at", "summary", "evidence", "links")
    return {key: event.get(key) for key in keys}


def _date(iso: str) -> str:
    return iso.replace("T", " ")[:16] + " UTC" if iso else "?"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def confirmation(filters: str, confirm: str) -> Rendered:
    """The double opt-in request: nothing is sent to an address until its owner confirms."""
    body = "\n".join([
        "Someone, hopefully you, asked foiawatch to email this address when public records are removed from",
        f"government FOIA libraries ({filters}).",
        "",
        "Nothing will be sent unless you confirm:",
        confirm,
        "",
        "If you did not ask for this, ignore this message; you will not hear from us again.",
    ])
    return Rendered("[foiawatch] Confirm your alert subscription", body, {"type": "foiawatch.confirm"})


def operator_notice(key: str, raised: bool, headline: str, detail: str) -> Rendered:
    """An alert to the operator about foiawatch itself: a problem (``raised``) or its recovery. Its JSON carries
    ``text`` too, so a Slack-compatible webhook can take it as it is."""
    state = "PROBLEM" if raised else "RECOVERED"
    subject = one_line(f"[foiawatch operator] {state}: {headline}", 180)
    body = f"{state}: {headline}\n\n{detail}\n\nCondition: {key}\n"
    return Rendered(subject, body, {"type": "foiawatch.operator", "condition": key, "state": state.lower(),
                                    "headline": headline, "detail": detail, "text": _slack_escape(body)})
