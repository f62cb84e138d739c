"""`foiawatch verify`: the fixity audit finds missing, corrupt and orphaned blobs and WARCs, records every audit,
and repairs a recovered blob from its Wayback capture (issue 7, part 1)."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from foiawatch.archive import Archive
from foiawatch.archive.fixity import audit, check_warc
from foiawatch.archive.store import utcnow
from foiawatch.cli import cli
from foiawatch.crawler import crawl
from foiawatch.demo.pdf import make_pdf
from foiawatch.demo.site import DemoSite
from foiawatch.demo.wayback_standin import WaybackStandin
from foiawatch.wayback import cdx_digest

from .conftest import demo_config


@pytest.fixture(scope="module")
def crawled(tmp_path_factory) -> Path:
    """An archive holding one complete crawl of the demo library."""
    data = tmp_path_factory.mktemp("crawled")
    with DemoSite() as site:
        assert crawl(demo_config(site.url), data).status == "complete"
    return data


@pytest.fixture
def archive_dir(crawled, tmp_path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(crawled, copy)
    return copy


def verify(data: Path, *args: str):
    return CliRunner().invoke(cli, ["verify", "--data-dir", str(data), *args])


def audits(data: Path) -> list[dict]:
    with Archive(data) as archive:
        return list(archive.db["fixity_audits"].rows_where(order_by="id"))


def problems(data: Path, audit_id: int) -> dict[str, tuple[str, str]]:
    """path -> (kind, detail) of one recorded audit."""
    with Archive(data) as archive:
        return {row["path"]: (row["kind"], row["detail"])
                for row in archive.db["fixity_problems"].rows_where("audit_id = ?", [audit_id])}


def blob_paths(data: Path, count: int) -> list[Path]:
    with Archive(data) as archive:
        shas = [row[0] for row in archive.db.execute("select sha256 from blobs order by sha256 limit ?", [count])]
        return [archive.blobs.path(sha) for sha in shas]


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def warc_of(data: Path) -> Path:
    return next((data / "warc").rglob("*.warc.gz"))


def test_a_sound_archive_passes_and_the_audit_is_recorded(archive_dir):
    result = verify(archive_dir)
    assert result.exit_code == 0, result.output
    assert "OK: 0 missing, 0 corrupt, 0 orphan" in result.output
    (audit,) = audits(archive_dir)
    with Archive(archive_dir) as archive:
        assert audit["blobs"] == archive.db["blobs"].count > 40
    assert audit["warcs"] == 1 and audit["warc_records"] > audit["blobs"]
    assert (audit["ok"], audit["missing"], audit["corrupt"], audit["orphaned"]) == (1, 0, 0, 0)
    assert audit["started_at"] <= audit["finished_at"]


def test_missing_corrupt_and_orphaned_blobs_fail_the_audit(archive_dir):
    rotten, lost = blob_paths(archive_dir, 2)
    flip_byte(rotten, rotten.stat().st_size // 2)  # same size, one bit changed
    lost.unlink()
    with Archive(archive_dir) as archive:
        orphan = archive.blobs.put_bytes(b"%PDF-1.4 bytes no row names").relative_path
    stray = archive_dir / "blobs" / "00" / "00" / "not-a-blob"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left here by hand")

    result = verify(archive_dir)

    assert result.exit_code == 1
    assert "PROBLEMS FOUND: 1 missing, 1 corrupt, 2 orphan" in result.output
    found = problems(archive_dir, audits(archive_dir)[-1]["id"])
    relative = lambda path: str(path.relative_to(archive_dir))  # noqa: E731
    assert found[relative(rotten)][0] == "corrupt" and "hash to" in found[relative(rotten)][1]
    assert found[relative(lost)] == ("missing", "file not found")
    assert found[f"blobs/{orphan}"] == ("orphan", "no blob row; its bytes match its name")
    assert found[relative(stray)][0] == "orphan" and "hash to" in found[relative(stray)][1]
    (audit,) = audits(archive_dir)
    assert (audit["ok"], audit["missing"], audit["corrupt"], audit["orphaned"]) == (0, 1, 1, 2)


def gzip_members(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each gzip member: each WARC record is one."""
    spans, start = [], 0
    while start < len(data):
        decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        decompressor.decompress(data[start:])
        end = len(data) - len(decompressor.unused_data)
        spans.append((start, end))
        start = end
    return spans


def test_a_changed_byte_in_a_warc_is_corrupt(archive_dir):
    warc = warc_of(archive_dir)
    assert check_warc(warc).damage is None
    start, end = gzip_members(warc.read_bytes())[40]
    flip_byte(warc, (start + end) // 2)  # inside the compressed record
    result = verify(archive_dir, "--json")
    assert result.exit_code == 1
    assert '"corrupt": 1' in result.output and str(warc.relative_to(archive_dir)) in result.output
    assert f"gzip member at offset {start}" in result.output


def test_a_rewritten_warc_record_fails_its_digest(archive_dir):
    """A record recompressed with a changed payload is valid gzip: only its WARC digests can tell."""
    warc = warc_of(archive_dir)
    data = warc.read_bytes()
    for start, end in gzip_members(data):
        record = gzip.decompress(data[start:end])
        if b"WARC-Type: response" in record and b"%PDF" in record:
            forged = gzip.compress(record.replace(b"%PDF-1.", b"%PDF-2.", 1))
            warc.write_bytes(data[:start] + forged + data[end:])
            break
    check = check_warc(warc)
    assert not check.truncated and "digest failed" in check.damage
    assert verify(archive_dir).exit_code == 1


def test_a_cut_warc_is_corrupt_for_a_finished_crawl_and_truncated_for_an_interrupted_one(archive_dir):
    warc = warc_of(archive_dir)
    records = check_warc(warc).records
    with open(warc, "r+b") as handle:
        handle.truncate(warc.stat().st_size - 100)  # inside the last record
    check = check_warc(warc)
    assert check.truncated and check.records == records - 1

    assert verify(archive_dir).exit_code == 1  # a complete crawl's WARC must be whole

    # A crawl killed mid-write never records its WARC's path; the audit finds the file by the crawler's naming.
    with Archive(archive_dir) as archive:
        archive.db["crawls"].update(1, {"status": "incomplete", "warc_path": None,
                                        "status_reason": "interrupted: the crawl process stopped"})
    result = verify(archive_dir)
    assert result.exit_code == 0, result.output
    assert "1 truncated" in result.output
    assert audits(archive_dir)[-1]["truncated"] == 1


def test_missing_and_orphaned_warcs(archive_dir):
    warc = warc_of(archive_dir)
    moved = warc.with_name("copy-someone-made.warc.gz")
    warc.rename(moved)
    result = verify(archive_dir)
    assert result.exit_code == 1
    found = problems(archive_dir, audits(archive_dir)[-1]["id"])
    assert found[str(warc.relative_to(archive_dir))] == ("missing", "file not found")
    assert found[str(moved.relative_to(archive_dir))] == ("orphan", "no crawl names this file")


def recovered_blob(archive: Archive, body: bytes, raw_url: str, timestamp: str, digest: str) -> str:
    """Store ``body`` as recovery does: a blob from the Wayback Machine with the capture as provenance."""
    stored = archive.blobs.put_bytes(body)
    with archive.db.conn:
        archive.record_blob(stored, "application/pdf", source="wayback")
        archive.db["recoveries"].insert({
            "agency_id": "demo", "url": "http://agency.example/foia/memo.pdf", "capture_timestamp": timestamp,
            "original": "http://agency.example/foia/memo.pdf", "capture_digest": digest, "raw_url": raw_url,
            "status": "ok", "sha256": stored.sha256, "size": stored.size, "mimetype": "application/pdf",
            "retrieved_at": utcnow(),
        })
    return stored.sha256


def test_repair_from_wayback_restores_a_corrupt_recovered_blob(archive_dir):
    memo = make_pdf("Memo taken down in 2017", ["Recovered from the Wayback Machine."])
    timestamp = "20170301000000"
    with WaybackStandin([("http://agency.example/foia/memo.pdf", timestamp, 200, "application/pdf", memo, {})]) \
            as standin:
        with Archive(archive_dir) as archive:
            sha256 = recovered_blob(archive, memo, f"{standin.url}/web/{timestamp}id_/http://agency.example/foia/"
                                    "memo.pdf", timestamp, cdx_digest(memo))
            recovered = archive.blobs.path(sha256)
            crawled = next(p for p in blob_paths(archive_dir, 60) if p.name != sha256)
        flip_byte(recovered, 10)
        flip_byte(crawled, 10)

        result = verify(archive_dir, "--repair-from-wayback")

    assert result.exit_code == 1, "the crawled blob has no second source and stays corrupt"
    assert recovered.read_bytes() == memo
    assert hashlib.sha256(recovered.read_bytes()).hexdigest() == sha256
    assert "repaired" in next(line for line in result.output.splitlines() if sha256 in line)
    assert "not repaired: not recovered from the Wayback Machine" in result.output
    audit = audits(archive_dir)[-1]
    assert (audit["repaired"], audit["corrupt"]) == (1, 1)

    flip_byte(crawled, 10)  # undo: only the repaired blob was ever wrong now
    assert verify(archive_dir).exit_code == 0


def test_repair_refuses_a_capture_that_no_longer_matches(archive_dir):
    memo = make_pdf("Memo", ["The original wording."])
    timestamp = "20170301000000"
    changed = make_pdf("Memo", ["Different bytes under the same capture."])
    with WaybackStandin([("http://agency.example/foia/memo.pdf", timestamp, 200, "application/pdf", changed, {})]) \
            as standin:
        with Archive(archive_dir) as archive:
            sha256 = recovered_blob(archive, memo, f"{standin.url}/web/{timestamp}id_/http://agency.example/foia/"
                                    "memo.pdf", timestamp, cdx_digest(memo))
            path = archive.blobs.path(sha256)
        path.unlink()
        result = verify(archive_dir, "--repair-from-wayback")
    assert result.exit_code == 1
    assert not path.exists(), "bytes that do not hash to the blob's name must never be put in its place"
    assert "not repaired: capture 20170301000000" in result.output


def test_audit_reports_progress_over_every_blob_and_warc(archive_dir):
    calls = []
    with Archive(archive_dir) as archive:
        result = audit(archive, progress=lambda kind, done, total: calls.append((kind, done, total)))
    for kind, checked in (("blobs", result.blobs), ("warcs", result.warcs)):
        assert checked > 0
        assert [(done, total) for k, done, total in calls if k == kind] == [(n, checked) for n in range(checked)]
