"""`foiawatch export`: a BagIt bag that the bagit library validates, with every blob's provenance, and crawl WARCs
that index, pass warcio's digest checker and give back the original PDF bytes (issue 7, part 2)."""

from __future__ import annotations

import csv
import io
import json
import mimetypes
import shutil
from pathlib import Path
from types import SimpleNamespace

import bagit
import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator
from warcio.checker import Checker
from warcio.indexer import Indexer

from foiawatch.archive import Archive
from foiawatch.archive.pii import release
from foiawatch.cli import cli
from foiawatch.crawler import crawl
from foiawatch.demo.library import SECURE_COMMUNITIES_SECTIONS, document_bytes
from foiawatch.demo.site import DemoSite

from .conftest import demo_config
from .support.built import demo_story


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Two crawls of the demo library, before and after the 2017 takedown; yields (site, archive dir)."""
    data = tmp_path_factory.mktemp("export")
    with DemoSite() as site:
        config = demo_config(site.url)
        assert crawl(config, data).status == "complete"
        site.set_state("v2_takedown")
        assert crawl(config, data).status == "complete"
        yield site, data


@pytest.fixture
def archive_dir(library, tmp_path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(library[1], copy)
    return copy


def export(data: Path, *args: str):
    return CliRunner().invoke(cli, ["export", "demo", "--data-dir", str(data), *args])


def provenance(bag: Path) -> list[dict]:
    with open(bag / "data" / "provenance.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_bag_validates_and_lists_every_blob_with_provenance(library, archive_dir, tmp_path):
    site, _ = library
    bag_dir = tmp_path / "bag"
    result = export(archive_dir, "--bagit", str(bag_dir), "--include-withheld")
    assert result.exit_code == 0, result.output

    bag = bagit.Bag(str(bag_dir))
    bag.validate()  # structure, Payload-Oxum, and every checksum recomputed
    assert bag.info["External-Identifier"] == "demo" and bag.version_info == (1, 0)
    with Archive(archive_dir) as archive:
        blobs = {row["sha256"]: row for row in archive.db["blobs"].rows}
    payload = set(bag.payload_files())
    named = {sha: f"data/blobs/{row['path']}{mimetypes.guess_extension(row['mimetype']) or '.bin'}"
             for sha, row in blobs.items()}  # payload files carry their type's extension (issue 12)
    assert set(named.values()) <= payload
    assert {"data/warc/crawl-1.warc.gz", "data/warc/crawl-2.warc.gz", "data/provenance.csv",
            "data/crawls.csv"} <= payload
    assert {path: fixity["sha256"] for path, fixity in bag.entries.items() if path.startswith("data/blobs/")} == \
        {path: sha for sha, path in named.items()}

    rows = provenance(bag_dir)
    assert {row["sha256"] for row in rows} == set(blobs)
    pdf = next(d for d in site.library.documents() if d.kind == "pdf" and d.link_style == "root"
               and d.section not in SECURE_COMMUNITIES_SECTIONS)
    (row,) = [r for r in rows if r["url"] == site.url + pdf.path]
    assert (row["origin"], row["first_crawl"], row["last_crawl"], row["http_status"]) == ("crawl", "1", "2", "200")
    assert row["etag"] and row["fetched_at"] and row["mimetype"] == "application/pdf"
    assert (bag_dir / row["bag_path"]).read_bytes() == document_bytes(pdf, pdf.text)


def test_tampering_with_the_bag_is_detected(archive_dir, tmp_path):
    bag_dir = tmp_path / "bag"
    assert export(archive_dir, "--bagit", str(bag_dir), "--include-withheld").exit_code == 0
    victim = next(p for p in (bag_dir / "data" / "blobs").rglob("*") if p.is_file())
    victim.write_bytes(victim.read_bytes().replace(b"%PDF", b"%PDX", 1))
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(bag_dir)).validate()


def test_withheld_blobs_stay_out_unless_asked_for(archive_dir, tmp_path):
    result = export(archive_dir, "--bagit", str(tmp_path / "public"))
    assert result.exit_code == 0, result.output
    rows = provenance(tmp_path / "public")
    # The screen withholds what it could not read (spreadsheets, ZIPs): unscreened bytes never leave by default.
    withheld = {row["sha256"] for row in rows if row["withheld"] == "1"}
    assert withheld and all(row["bag_path"] == "" for row in rows if row["sha256"] in withheld)
    assert f"{len(withheld)} blob{'' if len(withheld) == 1 else 's'} withheld" in result.output
    bag = bagit.Bag(str(tmp_path / "public"))
    bag.validate()
    assert not any(sha in path for path in bag.payload_files() for sha in withheld)

    with Archive(archive_dir) as archive:
        for sha in withheld:
            release(archive, sha, "reviewer@example.org", "statistics tables, no personal data")
    assert export(archive_dir, "--bagit", str(tmp_path / "released")).exit_code == 0
    assert all(row["bag_path"] for row in provenance(tmp_path / "released"))


def response_index(warc: Path) -> list[dict]:
    """A CDX-style index of a WARC (url, offset, length of each response record), as replay tools build one."""
    output = io.StringIO()
    indexer = Indexer(["WARC-Target-URI", "WARC-Type", "offset", "length", "http:status"], [str(warc)], output)
    with open(warc, "rb") as handle:
        indexer.process_one(handle, output, str(warc))
    return [json.loads(line) for line in output.getvalue().splitlines() if '"response"' in line]


def replay(warc: Path, url: str) -> tuple[str, bytes]:
    """Look the URL up in the index, seek to its record and read the response there: what a replay does."""
    entry = next(e for e in response_index(warc) if e["WARC-Target-URI"] == url and e["http:status"] == "200")
    with open(warc, "rb") as handle:
        handle.seek(int(entry["offset"]))
        record = next(iter(ArchiveIterator(handle)))
        return record.http_headers.get_header("Content-Type"), record.content_stream().read()


def test_exported_warcs_pass_the_checker_and_replay_the_original_pdf(library, archive_dir, tmp_path):
    site, _ = library
    result = export(archive_dir, "--warc", str(tmp_path / "warcs"), "--bagit", str(tmp_path / "bag"))
    assert result.exit_code == 0, result.output
    copies = sorted((tmp_path / "warcs").iterdir())
    assert [p.name for p in copies] == ["crawl-1.warc.gz", "crawl-2.warc.gz"]
    assert copies[0].read_bytes() == next((archive_dir / "warc").rglob("crawl-1.warc.gz")).read_bytes()

    checker = Checker(SimpleNamespace(inputs=[str(p) for p in copies], verbose=False))
    assert checker.process_all() == 0  # every record's block and payload digest verified

    pdf = next(d for d in site.library.documents() if d.kind == "pdf" and d.section in SECURE_COMMUNITIES_SECTIONS
               and d.link_style == "root")
    content_type, body = replay(tmp_path / "bag" / "data" / "warc" / "crawl-1.warc.gz", site.url + pdf.path)
    assert content_type == "application/pdf"
    assert body == document_bytes(pdf, pdf.text)  # the takedown removed it; the WARC still holds its bytes


def test_export_refuses_what_it_cannot_do_well(archive_dir, tmp_path):
    assert "--bagit DIR and/or --warc DIR" in export(archive_dir).output
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    result = export(archive_dir, "--bagit", str(occupied))
    assert result.exit_code == 1 and "not an empty directory" in result.output
    assert (occupied / "notes.txt").read_text() == "mine"

    with Archive(archive_dir) as archive:
        sha = archive.db.execute("select sha256 from blobs where mimetype = 'application/pdf' limit 1").fetchone()[0]
        path = archive.blobs.path(sha)
    path.write_bytes(path.read_bytes()[:-1] + b"?")
    result = export(archive_dir, "--bagit", str(tmp_path / "bag"), "--include-withheld")
    assert result.exit_code == 1 and f"blob {sha} is corrupt" in result.output and "foiawatch verify" in result.output
    assert not (tmp_path / "bag").exists() and not (tmp_path / "bag.partial").exists(), "no half-made bag is left"


# Evidence that survives export (issue 12, part 3) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_archive(tmp_path_factory) -> Path:
    """The demo's story (recoveries from the Wayback stand-in, files the PII screen withholds, an outage), plus one
    event of each kind the story does not raise: an archive with every kind of evidence."""
    data = tmp_path_factory.mktemp("demo") / "data"
    shutil.copytree(demo_story(tmp_path_factory)[0], data)
    with Archive(data) as archive, archive.db.conn:
        for kind in ("added", "changed", "moved", "unlisted", "restored"):
            archive.db.execute(
                "insert into events (agency_id, kind, url, title, detected_at, summary, evidence, dedupe_key) "
                "values ('demo', ?, 'http://127.0.0.1/doclib/x.pdf', 'X', '2030-01-01T00:00:00+00:00', ?, '{}', ?)",
                [kind, f"A {kind} event.", f"{kind}:demo:test"])
    return data


def test_a_bag_of_an_archive_with_recoveries_withheld_files_and_every_event_kind(demo_archive, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(demo_archive, data)
    result = export(data, "--bagit", str(tmp_path / "bag"), "--warc", str(tmp_path / "warcs"))
    assert result.exit_code == 0, result.output
    bag = bagit.Bag(str(tmp_path / "bag"))
    bag.validate()
    with Archive(data) as archive:
        kinds = {row[0] for row in archive.db.execute("select distinct kind from events")}
        recovered = list(archive.db.query("select * from recoveries where status = 'ok'"))
        withheld = {row[0] for row in archive.db.execute(
            "select sha256 from blobs where sha256 not in (select sha256 from withholdings where withheld = 0)")}
    assert len(kinds) == 11 and recovered and withheld
    with open(tmp_path / "bag" / "data" / "events.csv", newline="", encoding="utf-8") as handle:
        assert {row["kind"] for row in csv.DictReader(handle)} == kinds
    with open(tmp_path / "bag" / "data" / "takedowns.csv", newline="", encoding="utf-8") as handle:
        takedowns = list(csv.DictReader(handle))
    assert {row["kind"] for row in takedowns} == {"removed", "section_removed", "removed_before_monitoring"}
    rows = provenance(tmp_path / "bag")
    wayback = [row for row in rows if row["origin"] == "wayback"]
    assert {row["url"] for row in wayback} == {row["url"] for row in recovered}
    assert all(row["title"] for row in wayback), "a recovered copy is named by its removal event"
    assert not any(row["bag_path"] for row in rows if row["sha256"] in withheld), "withheld bytes stay out"
    recovery_warcs = sorted((tmp_path / "warcs").glob("recovered-*.warc.gz"))
    assert recovery_warcs and {path.name for path in recovery_warcs} <= \
        {Path(p).name for p in bag.payload_files() if "/warc/" in p}


def test_recovered_copies_are_in_a_warc_with_their_provenance(demo_archive):
    with Archive(demo_archive) as archive:
        recovered = {row["original"]: row for row in archive.db.query("select * from recoveries where status='ok'")}
        (path,) = {archive.data_dir.root / row["warc_path"] for row in recovered.values()}
    with open(path, "rb") as handle:
        resources = {r.rec_headers.get_header("WARC-Target-URI"): (r.rec_headers, r.content_stream().read())
                     for r in ArchiveIterator(handle) if r.rec_type == "resource"}
    assert set(resources) == set(recovered)
    with Archive(demo_archive) as archive:
        for url, (headers, body) in resources.items():
            row = recovered[url]
            assert body == archive.blobs.path(row["sha256"]).read_bytes()
            assert headers.get_header("WARC-Source-URI") == row["raw_url"]
            assert headers.get_header("WARC-Foiawatch-Capture-Digest") == f"sha1:{row['capture_digest']}"
            assert headers.get_header("WARC-Date").startswith(
                f"{row['capture_timestamp'][:4]}-{row['capture_timestamp'][4:6]}-{row['capture_timestamp'][6:8]}")
    assert Checker(SimpleNamespace(inputs=[str(path)], verbose=False)).process_all() == 0


def test_one_export_failing_does_not_skip_the_other(demo_archive, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(demo_archive, data)
    (tmp_path / "bag").mkdir()
    (tmp_path / "bag" / "something").write_text("not empty")
    result = export(data, "--bagit", str(tmp_path / "bag"), "--warc", str(tmp_path / "warcs"))
    assert result.exit_code == 1
    assert "BagIt bag not written" in result.output and "not an empty directory" in result.output
    assert list((tmp_path / "warcs").glob("*.warc.gz")), "the WARCs were copied all the same"
