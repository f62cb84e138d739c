"""Where a reader of an alert can see the evidence: the event and document in the public archive, our archived
copy of the document, and any copy recovered from the Wayback Machine.

File links are given only for bytes the public archive actually serves (screened and not withheld, the rule of
``publish.build``); a withheld copy is reachable through the document's page, which says why it is withheld.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from ..publish.build import FILES_ROUTE, PUBLIC_DB_NAME


class EventLinks:
    """Builds the links of events read from one archive database."""

    def __init__(self, db: sqlite_utils.Database, public_url: str | None) -> None:
        self.db, self.public_url = db, public_url
        self.tables = set(db.table_names())

    def __call__(self, event: dict[str, Any]) -> dict[str, str]:
        """Links for one event (a row of the archive's ``events``); missing ones are left out."""
        links: dict[str, str] = {}
        if self.public_url:
            links["archive"] = f"{self.public_url}/{PUBLIC_DB_NAME}/events/{event['id']}"
            if event["document_id"]:
                links["archive_document"] = f"{self.public_url}/{PUBLIC_DB_NAME}/documents/{event['document_id']}"
            archived = self._archived_sha256(event["document_id"])
            if archived and self._published(archived):
                links["archived_copy"] = self._file(archived)
        recovered = self._recovery(event)
        if recovered:
            published = self.public_url and self._published(recovered["sha256"])
            links["recovered_copy"] = self._file(recovered["sha256"]) if published else recovered["raw_url"]
        return links

    def _file(self, sha256: str) -> str:
        return f"{self.public_url}{FILES_ROUTE}{sha256}"

    def _archived_sha256(self, document_id: int | None) -> str | None:
        """The bytes of the document's last successful fetch."""
        if not document_id:
            return None
        row = self.db.execute("select sha256 from sightings where document_id = ? and sha256 is not null "
                              "order by crawl_id desc limit 1", [document_id]).fetchone()
        return row[0] if row else None

    def _published(self, sha256: str) -> bool:
        if "withholdings" not in self.tables:
            return False
        row = self.db.execute("select withheld from withholdings where sha256 = ?", [sha256]).fetchone()
        return row is not None and row[0] == 0

    def _recovery(self, event: dict[str, Any]) -> dict[str, Any] | None:
        if "recoveries" not in self.tables or not event["url"]:
            return None
        found = self.db.query("select sha256, raw_url from recoveries where agency_id = ? and url = ? "
                              "and status = 'ok' order by capture_timestamp desc limit 1",
                              [event["agency_id"], event["url"]])
        return next(found, None)
