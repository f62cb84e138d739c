"""The documents removal events name, and the Wayback captures that hold them: what recovery fetches and what
section bundles gather. Read through the ``removed_event_documents`` and ``removed_document_captures`` views
(archive/schema/events.py), so the rule "which events name which documents" is written once, in SQL."""

from __future__ import annotations

from typing import Any

from .store import Archive


def removed_event_documents(archive: Archive, agency_id: str, event_id: int | None = None) -> list[dict[str, Any]]:
    """Documents named by removal events (one row per event and document), optionally of one event only."""
    return list(archive.db.query(
        "select * from removed_event_documents where agency_id = :agency and (:event is null or event_id = :event)"
        " order by url, event_id",
        {"agency": agency_id, "event": event_id},
    ))


def document_captures(archive: Archive, agency_id: str, event_id: int | None = None) -> list[dict[str, Any]]:
    """The Wayback captures of removed documents, newest first per document."""
    return list(archive.db.query(
        "select distinct url, document_id, urlkey, timestamp, original, mimetype, status, digest, length, raw_url"
        " from removed_document_captures where agency_id = :agency and (:event is null or event_id = :event)"
        " order by url, timestamp desc",
        {"agency": agency_id, "event": event_id},
    ))
