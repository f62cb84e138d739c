"""Where a reader of an alert can see the evidence: the event and document in the public archive, our archived
copy of the document, and any copy recovered from the Wayback Machine.

File links are given only for bytes the public archive actually serves (screened and not withheld, the rule of
``publish.build``); a withheld copy is reachable through the document's page, which says why it is withheld. A
recovered copy that is withheld (or was never screened) is linked by its capture calendar, never by the direct
Wayback link to its bytes.
"""

from __future__ import annotations

from typing import Any

from ..archive import Archive
from ..archive.pii import is_withheld
from ..archive.published import FILES_ROUTE, PUBLIC_DB_NAME
from ..archive.vocabulary import RecoveryStatus
from ..config import WAYBACK_BASE_URL


class EventLinks:
    """Builds the links of events read from one archive."""

    def __init__(self, archive: Archive, public_url: str | None) -> None:
        self.archive, self.db, self.public_url = archive, archive.db, public_url

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
            if not recovered["sha256"] or not self._published(recovered["sha256"]):
                links["recovered_copy"] = self._calendar(event["agency_id"], recovered["original"])
            elif self.public_url:
                links["recovered_copy"] = self._file(recovered["sha256"])
            else:
                links["recovered_copy"] = recovered["raw_url"]
        return links

    def _calendar(self, agency_id: str, url: str) -> str:
        """The Wayback Machine's list of a URL's captures, in the agency's configured Wayback Machine (as
        ``publish.build`` links it): never the direct (``id_``) link to the bytes of a withheld copy."""
        row = self.db.execute("select json_extract(config, '$.wayback.base_url') from agencies where id = ?",
                              [agency_id]).fetchone()
        return f"{(row and row[0]) or WAYBACK_BASE_URL}/web/*/{url}"

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
        return not is_withheld(self.archive, sha256)

    def _recovery(self, event: dict[str, Any]) -> dict[str, Any] | None:
        if not event["url"]:
            return None
        found = self.db.query("select sha256, raw_url, original from recoveries where agency_id = ? and url = ? "
                              "and status = ? order by capture_timestamp desc limit 1",
                              [event["agency_id"], event["url"], RecoveryStatus.RECOVERED])
        return next(found, None)
