"""Section bundles: every document of a library section in one ZIP, and in one bookmarked PDF when all are PDFs.

This is the "PDF portfolio" people assemble by hand after a takedown, made from the archive: each file is the exact
copy we hold (the last one a crawl fetched, or else the Wayback capture recovery stored), and ``manifest.csv`` says
where each came from (URL, crawl or capture time, Wayback URL, sha256). A section's documents are those last
listed under its heading, and those a removal event files under it (for documents only the Wayback Machine saw,
the folder they were captured in). Files the PII screen withholds are bundled all the same but flagged: a bundle is
a private operator artefact, never part of the public archive.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pypdf import PdfReader, PdfWriter

from ..archive import Archive
from ..archive.pii import is_withheld
from ..archive.vocabulary import RecoveryStatus, TextStatus
from ..wayback import parse_timestamp

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("file", "title", "url", "source", "capture", "wayback_url", "sha256", "withheld", "note")
PDF = "application/pdf"


@dataclass
class BundleResult:
    zip_path: Path
    pdf_path: Path | None  # None unless every bundled file is a PDF
    manifest: list[dict[str, str]] = field(default_factory=list)  # rows of manifest.csv

    @property
    def included(self) -> int:
        return sum(1 for row in self.manifest if row["file"])

    @property
    def missing(self) -> int:
        return len(self.manifest) - self.included

    @property
    def withheld(self) -> int:
        return sum(1 for row in self.manifest if row["withheld"] == "yes")


def write_bundle(archive: Archive, agency_id: str, section: str, out_dir: str | Path) -> BundleResult:
    """Write ``<agency>-<section>.zip`` (and ``.pdf``) into ``out_dir``; raises ``LookupError`` for an unknown
    section, naming the known ones."""
    members = _members(archive, agency_id, section)
    if not members:
        known = ", ".join(repr(name) for name in _sections(archive, agency_id)) or "none"
        raise LookupError(f"{agency_id} has no document under section {section!r}; known sections: {known}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{agency_id}-{_slug(section)}"
    result = BundleResult(out_dir / f"{stem}.zip", None)
    names: set[str] = set()
    copies = []
    for member in members:
        copy = _copy(archive, agency_id, member)
        row = {"file": "", "title": member["title"] or _filename(member["url"]), "url": member["url"],
               "source": "", "capture": "", "wayback_url": "", "sha256": "", "withheld": "", "note": ""}
        if copy is None:
            row["note"] = "no copy in the archive"
        else:
            row.update(file=_unique(_filename(copy["location"]), names), source=copy["source"],
                       capture=copy["capture"], wayback_url=copy["wayback_url"] or "", sha256=copy["sha256"],
                       withheld="yes" if is_withheld(archive, copy["sha256"]) else "no")
            copies.append((row, copy))
        result.manifest.append(row)
    # The PDF first: what it cannot include is noted in the manifest the ZIP carries.
    if copies and all(copy["mimetype"] == PDF for _, copy in copies):
        result.pdf_path = out_dir / f"{stem}.pdf"
        _write_pdf(archive, copies, result.pdf_path)
    _write_zip(archive, copies, result.manifest, result.zip_path)
    return result


def _members(archive: Archive, agency_id: str, section: str) -> list[dict[str, Any]]:
    """The section's documents, one row per URL: listed under it, or filed under it by a removal event."""
    return list(archive.db.query(
        """
        select url, max(document_id) as document_id, max(title) as title from (
            select url, id as document_id, title from documents where agency_id = :agency and section = :section
            union all
            select url, document_id, title from removed_event_documents where agency_id = :agency and section = :section
        )
        group by url order by max(document_id) is null, max(document_id), url
        """,
        {"agency": agency_id, "section": section},
    ))


def _sections(archive: Archive, agency_id: str) -> list[str]:
    return [row["section"] for row in archive.db.query(
        "select section from documents where agency_id = :agency and section is not null union "
        "select section from removed_event_documents where agency_id = :agency and section is not null order by 1",
        {"agency": agency_id},
    )]


def _copy(archive: Archive, agency_id: str, member: dict[str, Any]) -> dict[str, Any] | None:
    """The bytes we hold of a document: the last crawled copy, else the newest recovered capture."""
    rows = list(archive.db.query(
        """
        select * from (
            select 'crawl' as source, s.sha256, b.mimetype, s.fetched_at as capture, null as wayback_url,
                   coalesce(s.final_url, :url) as location
            from sightings s join blobs b on b.sha256 = s.sha256
            where s.document_id = :document order by s.crawl_id desc limit 1
        )
        union all
        select * from (
            select 'wayback', r.sha256, b.mimetype, r.capture_timestamp, r.raw_url, r.original
            from recoveries r join blobs b on b.sha256 = r.sha256
            where r.agency_id = :agency and r.url = :url and r.status = :ok
            order by r.capture_timestamp desc limit 1
        )
        """,
        {"document": member["document_id"], "agency": agency_id, "url": member["url"], "ok": RecoveryStatus.RECOVERED},
    ))
    if not rows:
        return None
    copy = min(rows, key=lambda row: row["source"] != "crawl")  # a union's row order is not guaranteed
    if copy["source"] == "wayback":
        copy["capture"] = parse_timestamp(copy["capture"]).isoformat()
    return copy


def _write_zip(archive: Archive, copies: list[tuple[dict[str, str], dict[str, Any]]],
               manifest: list[dict[str, str]], path: Path) -> None:
    partial = path.with_name(f".{path.name}.part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as bundle:
        for row, copy in copies:
            bundle.write(archive.blobs.path(copy["sha256"]), row["file"])
        text = io.StringIO()
        writer = csv.DictWriter(text, MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(manifest)
        bundle.writestr(MANIFEST, text.getvalue())
    os.replace(partial, path)


def _write_pdf(archive: Archive, copies: list[tuple[dict[str, str], dict[str, Any]]], path: Path) -> None:
    """One PDF, a bookmark per document; a PDF text extraction failed on, or pypdf cannot read, is left out and
    the manifest says so (the ZIP still holds it)."""
    writer = PdfWriter()
    for row, copy in copies:
        failed = archive.db.execute("select error from texts where sha256 = ? and status = ?",
                                    [copy["sha256"], TextStatus.FAILED]).fetchone()
        if failed:
            row["note"] = f"not in the merged PDF: unreadable ({failed[0]})"
            continue
        try:
            reader = PdfReader(archive.blobs.path(copy["sha256"]))
            writer.append(reader, outline_item=row["title"])
        except Exception as error:  # noqa: BLE001 - any malformed PDF; the ZIP keeps it, the note says why
            row["note"] = f"not in the merged PDF: unreadable ({type(error).__name__}: {error})"
    partial = path.with_name(f".{path.name}.part")
    with open(partial, "wb") as handle:
        writer.write(handle)
    os.replace(partial, path)


def _filename(url: str) -> str:
    name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    return re.sub(r"[^\w.()+-]+", "_", name).strip("._") or "document"


def _unique(name: str, taken: set[str]) -> str:
    stem, dot, suffix = name.rpartition(".")
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}.{suffix}" if dot else f"{name}-{n}"
    taken.add(candidate)
    return candidate


def _slug(section: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", section.lower()).strip("-") or "section"
