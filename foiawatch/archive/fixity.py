"""Fixity audit: do the bytes on disk still match what the archive recorded?

An archive is evidence only while its files are intact. Disks rot, copies go wrong, people tidy up folders. So
the audit re-hashes every blob against its sha256 name and row, re-checks every WARC's gzip members against their
CRC-32 and every WARC record against its ``WARC-Block-Digest`` / ``WARC-Payload-Digest``, and lists files the
database does not know (orphans). Each audit
is recorded (``fixity_audits``, ``fixity_problems``) so that "when was this last checked, and was it clean" has an
answer.

A killed crawl may leave its WARC cut off inside the last record (each record is flushed whole, but a kill can
land mid-write). That tail never was a complete record, so for an interrupted crawl it is reported as
``truncated``, which is not a fixity failure; anywhere else a damaged record is ``corrupt``.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from .blobs import BlobError, sha256_file
from .store import Archive, utcnow
from .vocabulary import CrawlStatus

MISSING, CORRUPT, ORPHAN, TRUNCATED = "missing", "corrupt", "orphan", "truncated"
FAILURES = (MISSING, CORRUPT, ORPHAN)  # TRUNCATED is expected after a kill and fails nothing
BLOB, WARC = "blob", "warc"
_WARC_NAME = re.compile(r"^crawl-(\d+)\.warc\.gz$")
_READ = 1024 * 1024

@dataclass
class Problem:
    kind: str  # one of MISSING, CORRUPT, ORPHAN, TRUNCATED
    file_type: str  # BLOB or WARC
    path: str  # relative to the data directory
    detail: str
    sha256: str | None = None
    crawl_id: int | None = None
    repaired: bool = False


@dataclass
class Audit:
    """The outcome of one fixity audit; ``ok`` when nothing is missing, corrupt or orphaned (after repairs)."""

    started_at: str
    finished_at: str = ""
    id: int | None = None
    blobs: int = 0
    warcs: int = 0
    warc_records: int = 0
    problems: list[Problem] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for p in self.problems if p.kind == kind and not p.repaired)

    @property
    def repaired(self) -> int:
        return sum(1 for p in self.problems if p.repaired)

    @property
    def ok(self) -> bool:
        return not any(p.kind in FAILURES and not p.repaired for p in self.problems)

    def as_dict(self) -> dict:
        counts = {kind: self.count(kind) for kind in (*FAILURES, TRUNCATED)}
        return {"id": self.id, "started_at": self.started_at, "finished_at": self.finished_at, "ok": self.ok,
                "blobs": self.blobs, "warcs": self.warcs, "warc_records": self.warc_records, **counts,
                "repaired": self.repaired, "problems": [asdict(p) for p in self.problems]}


# A repair gets a blob's sha256 and answers None when it put the right bytes back, or why it could not.
Repair = Callable[[str], "str | None"]


# Progress of an audit: called with "blobs" or "warcs", files checked so far, and how many there are.
AuditProgress = Callable[[str, int, int], None]


def audit(archive: Archive, repair: Repair | None = None, progress: AuditProgress | None = None) -> Audit:
    """Check every blob and WARC of the archive, try ``repair`` on bad blobs, and record the audit."""
    result = Audit(started_at=utcnow())
    report = progress or (lambda kind, done, total: None)
    result.problems += _check_blobs(archive, result, report)
    result.problems += _check_warcs(archive, result, report)
    if repair:
        for problem in result.problems:
            if problem.file_type == BLOB and problem.kind in (MISSING, CORRUPT):
                assert problem.sha256 is not None, "_check_blobs names every missing or corrupt blob by its sha256"
                failure = repair(problem.sha256)
                problem.repaired = failure is None
                problem.detail += "; repaired" if failure is None else f"; not repaired: {failure}"
    result.finished_at = utcnow()
    _record(archive, result)
    return result


# blobs --------------------------------------------------------------------------------------------------------


def _check_blobs(archive: Archive, result: Audit, progress: AuditProgress) -> Iterator[Problem]:
    known: set[str] = set()
    total = archive.db.execute("select count(*) from blobs").fetchone()[0]
    for sha256, size, recorded_path in archive.db.execute("select sha256, size, path from blobs order by sha256"):
        progress("blobs", result.blobs, total)
        result.blobs += 1
        known.add(sha256)
        try:
            path = archive.blobs.path(sha256)
        except BlobError as error:
            yield Problem(CORRUPT, BLOB, f"blobs/{recorded_path}", f"blob row is not a sha256: {error}", sha256)
            continue
        relative = _relative(archive, path)
        if not path.is_file():
            yield Problem(MISSING, BLOB, relative, "file not found", sha256)
            continue
        actual, actual_size = sha256_file(path)
        if actual != sha256:
            yield Problem(CORRUPT, BLOB, relative, f"bytes hash to {actual}", sha256)
        elif size is not None and actual_size != size:
            yield Problem(CORRUPT, BLOB, relative, f"{actual_size} bytes on disk, {size} recorded", sha256)
    candidates = [p for p in archive.blobs.iter_files() if p.name not in known or p != archive.blobs.path(p.name)]
    if candidates:
        # Re-read the rows: a crawl running beside the audit stores the file first and commits its row later.
        names = [p.name for p in candidates]
        placeholders = ",".join("?" * len(names))
        late = {row[0] for row in archive.db.execute(f"select sha256 from blobs where sha256 in ({placeholders})",
                                                     names)}
        for path in candidates:
            if path.name in late and path == archive.blobs.path(path.name):
                continue
            actual, _ = sha256_file(path)
            state = "its bytes match its name" if actual == path.name else f"its bytes hash to {actual}"
            yield Problem(ORPHAN, BLOB, _relative(archive, path), f"no blob row; {state}",
                          path.name if actual == path.name else None)


# WARCs --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WarcCheck:
    """One WARC file read through: records whose digests were checked, and the first damage found."""

    records: int
    damage: str | None = None
    truncated: bool = False  # the damage is the last record cut short, not bytes changed


def check_warc(path: Path) -> WarcCheck:
    """Check a gzipped WARC twice: every gzip member against its CRC-32 and length (a changed byte anywhere in the
    compressed data or its trailer), then every record against its WARC digests (what the record claims)."""
    members, damage = _gzip_damage(path)
    if damage:
        return WarcCheck(members, *damage)
    records = 0
    with open(path, "rb") as handle:
        iterator = ArchiveIterator(handle, check_digests=True)
        for record in iterator:
            stream = record.content_stream()
            while stream.read(_READ):
                pass
            if record.digest_checker.passed is False:
                problems = "; ".join(record.digest_checker.problems)
                return WarcCheck(records, f"record at offset {iterator.get_record_offset()}: {problems}")
            records += 1
    return WarcCheck(records)


def _gzip_damage(path: Path) -> tuple[int, tuple[str, bool] | None]:
    """Walk the gzip members: how many are whole, and the first damage as (detail, truncated). A member that runs
    to the end of the file without ending is a truncation: the writer died inside its last record."""
    members, offset, member_start, fed = 0, 0, 0, False
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    with open(path, "rb") as handle:
        while chunk := handle.read(_READ):
            while chunk:
                try:
                    decompressor.decompress(chunk)
                except zlib.error as error:
                    return members, (f"gzip member at offset {member_start}: {error}", False)
                fed = True
                if not decompressor.eof:
                    offset += len(chunk)
                    break
                used = len(chunk) - len(decompressor.unused_data)
                offset += used
                chunk = decompressor.unused_data
                members, member_start, fed = members + 1, offset, False
                decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    if fed:
        return members, (f"the record at offset {member_start} is cut short", True)
    return members, None


def _check_warcs(archive: Archive, result: Audit, progress: AuditProgress) -> Iterator[Problem]:
    seen: set[Path] = set()
    warcs = list(crawl_warcs(archive))
    for done, (crawl, path) in enumerate(warcs):
        progress("warcs", done, len(warcs))
        seen.add(path)
        relative = _relative(archive, path)
        if not path.is_file():
            if crawl["warc_path"]:
                yield Problem(MISSING, WARC, relative, "file not found", crawl_id=crawl["id"])
            continue
        result.warcs += 1
        check = check_warc(path)
        result.warc_records += check.records
        if check.damage:
            finished = crawl["status"] in (CrawlStatus.COMPLETE, CrawlStatus.OUTAGE) or (
                crawl["status"] == CrawlStatus.INCOMPLETE and not _interrupted(crawl["status_reason"]))
            kind = TRUNCATED if check.truncated and not finished else CORRUPT
            yield Problem(kind, WARC, relative, check.damage, crawl_id=crawl["id"])
    # The WARCs of recovery runs: a killed run can leave its last record cut short, and that record's copy was
    # never recorded (the row is written after the record), so a cut tail is expected, not damage.
    for path in recovery_warcs(archive):
        seen.add(path)
        if not path.is_file():
            yield Problem(MISSING, WARC, _relative(archive, path), "file not found")
            continue
        result.warcs += 1
        check = check_warc(path)
        result.warc_records += check.records
        if check.damage:
            yield Problem(TRUNCATED if check.truncated else CORRUPT, WARC, _relative(archive, path), check.damage)
    for path in sorted(archive.data_dir.warc.rglob("*")):
        if path.is_file() and path not in seen:
            yield Problem(ORPHAN, WARC, _relative(archive, path), "no crawl names this file")


def crawl_warcs(archive: Archive, agency_id: str | None = None) -> Iterator[tuple[dict, Path]]:
    """Each crawl (row) with the path of its WARC, which may not exist.

    A crawl killed before it finished never recorded its WARC's path, but its WARC is where the crawler writes
    every crawl's: ``warc/<agency>/crawl-<id>.warc.gz``.
    """
    data_dir = archive.data_dir
    for crawl in list(archive.db.query(
            "select * from crawls where (:agency is null or agency_id = :agency) order by id", {"agency": agency_id})):
        yield crawl, (data_dir.root / crawl["warc_path"] if crawl["warc_path"] else
                      data_dir.warc_file(crawl["agency_id"], crawl["id"]))


def recovery_warcs(archive: Archive, agency_id: str | None = None) -> list[Path]:
    """The WARCs recovery runs wrote the copies they stored to (which may not exist any more)."""
    return [archive.data_dir.root / path for (path,) in archive.db.execute(
        "select distinct warc_path from recoveries where warc_path is not null "
        "and (:agency is null or agency_id = :agency) order by warc_path", {"agency": agency_id})]


def _interrupted(reason: str | None) -> bool:
    return (reason or "").startswith("interrupted")


def _relative(archive: Archive, path: Path) -> str:
    return archive.data_dir.relative(path)


# recording ----------------------------------------------------------------------------------------------------


def _record(archive: Archive, result: Audit) -> None:
    db = archive.db
    with db.conn:
        cursor = db.execute(
            "insert into fixity_audits (started_at, finished_at, blobs, warcs, warc_records, missing, corrupt, "
            "orphaned, truncated, repaired, ok) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [result.started_at, result.finished_at, result.blobs, result.warcs, result.warc_records,
             result.count(MISSING), result.count(CORRUPT), result.count(ORPHAN), result.count(TRUNCATED),
             result.repaired, int(result.ok)],
        )
        result.id = int(cursor.lastrowid or 0)
        db.conn.executemany(
            "insert into fixity_problems (audit_id, kind, file_type, path, sha256, crawl_id, detail, repaired) "
            "values (?, ?, ?, ?, ?, ?, ?, ?)",
            [(result.id, p.kind, p.file_type, p.path, p.sha256, p.crawl_id, p.detail, int(p.repaired))
             for p in result.problems],
        )

