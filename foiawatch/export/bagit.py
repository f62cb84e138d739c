"""Hand an agency's archive to someone else: a BagIt bag (RFC 8493), or its crawl WARCs as they are.

BagIt is what libraries and archives ingest: a ``data/`` payload plus manifests of checksums, so the receiver
can prove nothing changed in transit. The bag holds every blob of the agency under its sha256 path (with the
extension of its type), every WARC unchanged (crawls, and recovery runs' copies), ``provenance.csv``: for each
blob, where and when it came from (the document URL and crawl that fetched it, or the Wayback capture it was
recovered from), and the findings: ``events.csv`` (every event) and ``takedowns.csv`` (every document a removal
names, with the copy the bag holds).

The bag is written here rather than by ``bagit.make_bag``: every file is hashed once, while it is copied, and a
blob whose bytes no longer match its name stops the export instead of being certified by a fresh checksum.

Blobs the PII screen withholds (or has not screened yet) stay out of the bag unless ``include_withheld``: a bag
is easily passed on, and the archive must not become the second leak. Their provenance rows stay, marked.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import mimetypes
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..archive import Archive
from ..archive.blobs import CHUNK, sha256_file
from ..archive.fixity import crawl_warcs, recovery_warcs
from ..archive.pii import is_withheld, screen_pending
from ..archive.removals import removed_event_documents
from ..archive.vocabulary import FetchOutcome, RecoveryStatus

PROVENANCE_COLUMNS = (
    "sha256", "bag_path", "size", "mimetype", "withheld", "origin", "url", "title", "final_url", "first_crawl",
    "last_crawl", "fetched_at", "http_status", "etag", "last_modified", "capture_timestamp", "capture_digest",
    "capture_url",
)
EVENT_COLUMNS = ("id", "kind", "detected_at", "crawl_id", "document_id", "url", "title", "section", "summary",
                 "evidence")
TAKEDOWN_COLUMNS = ("event_id", "kind", "detected_at", "url", "title", "section", "bag_path")
CRAWL_COLUMNS = ("id", "started_at", "finished_at", "status", "status_reason", "documents", "bag_path")


class ExportError(Exception):
    """The export cannot be made as asked (nothing to export, target not empty, damaged blob)."""


@dataclass
class BagResult:
    """What a bag holds: counts for the report, and its payload manifest."""

    directory: Path
    blobs: int = 0  # blob files in the bag
    withheld: int = 0  # blobs left out: withheld by the PII screen or not screened yet
    warcs: int = 0
    bytes: int = 0  # payload bytes
    manifest: dict[str, str] = field(default_factory=dict)  # payload path -> sha256


def export_bag(archive: Archive, agency_id: str, directory: Path, *, include_withheld: bool = False) -> BagResult:
    """Write a BagIt bag of ``agency_id``'s blobs, WARCs and provenance to ``directory`` (new or empty)."""
    _check_agency(archive, agency_id)
    _check_target(directory)
    screen_pending(archive)  # withholding decisions must be current before any bytes leave
    staging = directory.with_name(directory.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        result = _write_bag(archive, agency_id, staging, include_withheld)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # a half-made bag is worse than none
        raise
    if directory.exists():
        directory.rmdir()
    os.replace(staging, directory)
    result.directory = directory
    return result


def _write_bag(archive: Archive, agency_id: str, bag: Path, include_withheld: bool) -> BagResult:
    result = BagResult(bag)
    data = bag / "data"
    data.mkdir(parents=True)
    provenance = list(_provenance(archive, agency_id))
    placed: dict[str, str] = {}
    for row in provenance:
        sha256 = row["sha256"]
        row["withheld"] = int(is_withheld(archive, sha256))
        if sha256 not in placed and (include_withheld or not row["withheld"]):
            name = f"blobs/{archive.blobs.relative_path(sha256)}{_extension(row['mimetype'])}"
            placed[sha256] = _copy(archive.blobs.path(sha256), data, name, result, expected=sha256)
            result.blobs += 1
        row["bag_path"] = placed.get(sha256, "")
    result.withheld = len({row["sha256"] for row in provenance} - placed.keys())
    crawls = []
    for crawl, path in crawl_warcs(archive, agency_id):
        crawl["bag_path"] = ""
        if path.is_file():
            crawl["bag_path"] = _copy(path, data, f"warc/{path.name}", result)
            result.warcs += 1
        crawls.append(crawl)
    for path in recovery_warcs(archive, agency_id):
        if path.is_file():
            _copy(path, data, f"warc/{path.name}", result)
            result.warcs += 1
    _write_csv(data, "provenance.csv", PROVENANCE_COLUMNS, provenance, result)
    _write_csv(data, "crawls.csv", CRAWL_COLUMNS, crawls, result)
    _write_csv(data, "events.csv", EVENT_COLUMNS, archive.db.query(
        "select * from events where agency_id = ? order by id", [agency_id]), result)
    _write_csv(data, "takedowns.csv", TAKEDOWN_COLUMNS, _takedowns(archive, agency_id, provenance), result)
    _write_tag_files(archive, agency_id, bag, result)
    return result


def _takedowns(archive: Archive, agency_id: str, provenance: list[dict]) -> Iterator[dict]:
    """One row per document a removal event names, with the copy of it the bag holds, if any."""
    copies: dict[str, str] = {}
    for row in provenance:
        if row["bag_path"]:
            copies.setdefault(row["url"], row["bag_path"])
    for row in removed_event_documents(archive, agency_id):
        event = archive.db.execute("select detected_at from events where id = ?", [row["event_id"]]).fetchone()
        yield {**row, "detected_at": event[0], "bag_path": copies.get(row["url"], "")}


def _extension(mimetype: str | None) -> str:
    """A payload file's extension, from the type its bytes were found to be (".bin" when none is known)."""
    return mimetypes.guess_extension((mimetype or "").split(";")[0].strip()) or ".bin"


def export_warcs(archive: Archive, agency_id: str, directory: Path) -> list[Path]:
    """Copy every WARC of ``agency_id`` (its crawls', and its recovery runs') into ``directory`` byte for byte;
    returns the copies."""
    _check_agency(archive, agency_id)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [path for _, path in crawl_warcs(archive, agency_id)] + recovery_warcs(archive, agency_id)
    return [Path(shutil.copy2(path, directory / path.name)) for path in paths if path.is_file()]


def _check_agency(archive: Archive, agency_id: str) -> None:
    if not archive.db.execute("select 1 from crawls where agency_id = ? limit 1", [agency_id]).fetchone():
        raise ExportError(f"the archive in {archive.data_dir} has no crawl of {agency_id!r}")


def _check_target(directory: Path) -> None:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ExportError(f"{directory} exists and is not an empty directory; choose a new one")


def _provenance(archive: Archive, agency_id: str) -> Iterator[dict]:
    """One row per (blob, document URL) fetched in a crawl, and one per Wayback recovery."""
    db = archive.db
    # SQLite takes the other columns from the row holding min(crawl_id): the first fetch of these bytes.
    yield from db.query(
        f"""
        select s.sha256, b.size, b.mimetype, 'crawl' as origin, d.url, d.title, s.final_url,
               min(s.crawl_id) as first_crawl, s.fetched_at, s.http_status, s.etag, s.last_modified,
               (select max(s2.crawl_id) from sightings s2
                where s2.document_id = s.document_id and s2.sha256 = s.sha256) as last_crawl
        from sightings s join documents d on d.id = s.document_id join blobs b on b.sha256 = s.sha256
        where d.agency_id = ? and s.outcome = '{FetchOutcome.FETCHED}'
        group by s.sha256, s.document_id
        order by first_crawl, d.url
        """,
        [agency_id],
    )
    # A recovered document's title: ours if a crawl saw it, else the one its removal event gives it.
    yield from db.query(
        """
        select r.sha256, b.size, b.mimetype, 'wayback' as origin, r.url,
               coalesce((select d.title from documents d where d.id = r.document_id),
                        (select e.title from events e where e.agency_id = r.agency_id and e.url = r.url
                         and e.title is not null order by e.id desc limit 1)) as title,
               r.original as final_url, r.retrieved_at as fetched_at, r.capture_timestamp, r.capture_digest,
               r.raw_url as capture_url
        from recoveries r join blobs b on b.sha256 = r.sha256
        where r.agency_id = ? and r.status = ?
        order by r.id
        """,
        [agency_id, RecoveryStatus.RECOVERED],
    )


def _copy(source: Path, data: Path, relative: str, result: BagResult, expected: str | None = None) -> str:
    """Copy a file into the payload, hashing it on the way; a blob must still hash to its name. Returns its path
    in the bag."""
    target = data / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    try:
        with open(source, "rb") as reader, open(target, "wb") as writer:
            while chunk := reader.read(CHUNK):
                digest.update(chunk)
                writer.write(chunk)
                size += len(chunk)
    except FileNotFoundError:
        raise ExportError(f"{source} is missing; run `foiawatch verify` to audit the archive") from None
    if expected and digest.hexdigest() != expected:
        raise ExportError(f"blob {expected} is corrupt (its bytes hash to {digest.hexdigest()}); "
                          "run `foiawatch verify` to audit the archive")
    return _add(result, relative, digest.hexdigest(), size)


def _write_csv(data: Path, relative: str, columns: Iterable[str], rows: Iterable[dict], result: BagResult) -> None:
    with open(data / relative, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    _add(result, relative, *sha256_file(data / relative))


def _add(result: BagResult, relative: str, sha256: str, size: int) -> str:
    path = f"data/{relative}"
    result.manifest[path] = sha256
    result.bytes += size
    return path


def _write_tag_files(archive: Archive, agency_id: str, bag: Path, result: BagResult) -> None:
    name, urls = archive.db.execute("select name, library_urls from agencies where id = ?", [agency_id]).fetchone()
    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", encoding="utf-8")
    manifest = "".join(f"{sha}  {path}\n" for path, sha in sorted(result.manifest.items()))
    (bag / "manifest-sha256.txt").write_text(manifest, encoding="utf-8")
    info = {
        "Source-Organization": "foiawatch",
        "External-Identifier": agency_id,
        "External-Description": f"{name}: FOIA library {urls}, archived by foiawatch",
        "Bagging-Date": dt.date.today().isoformat(),
        "Bag-Software-Agent": f"foiawatch/{__version__}",
        "Payload-Oxum": f"{result.bytes}.{len(result.manifest)}",
        "Foiawatch-Blobs": str(result.blobs),
        "Foiawatch-Blobs-Withheld": str(result.withheld),
        "Foiawatch-WARCs": str(result.warcs),
    }
    (bag / "bag-info.txt").write_text("".join(f"{k}: {v}\n" for k, v in info.items()), encoding="utf-8")
    tags = "".join(f"{sha256_file(bag / name)[0]}  {name}\n"
                   for name in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt"))
    (bag / "tagmanifest-sha256.txt").write_text(tags, encoding="utf-8")
