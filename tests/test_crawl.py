"""End-to-end crawls of libraries served on 127.0.0.1: the crawl-and-archive acceptance checks of issue 2."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from foiawatch.archive import Archive
from foiawatch.archive.blobs import sha256_file
from foiawatch.cli import cli
from foiawatch.crawler import crawl

from .conftest import StaticSite, demo_config

DOCUMENT_PREFIX = "/doclib/"


def document_requests(site, since: int = 0):
    return [r for r in site.requests[since:] if r.path.startswith(DOCUMENT_PREFIX) and r.method == "GET"]


def sightings(data_dir: Path, crawl_id: int) -> dict[str, dict]:
    with Archive(data_dir) as archive:
        rows = archive.db.execute(
            "select d.url, s.* from sightings s join documents d on d.id = s.document_id where s.crawl_id = ?",
            [crawl_id],
        ).fetchall()
        columns = ["url"] + [c.name for c in archive.db["sightings"].columns]
    return {row[0]: dict(zip(columns, row, strict=True)) for row in rows}


def test_second_crawl_of_unchanged_library_downloads_nothing(demo_site, tmp_path):
    config = demo_config(demo_site.url)
    first = crawl(config, tmp_path)
    with Archive(tmp_path) as archive:
        blobs_after_first = archive.db["blobs"].count
    served = len(document_requests(demo_site))
    mark = len(demo_site.requests)

    second = crawl(config, tmp_path)

    assert first.status == second.status == "complete"
    assert first.crawl["documents"] == second.crawl["documents"] == len(demo_site.view.listed_paths())
    assert served > 0
    # Every document request of the second crawl was conditional and answered 304: no body downloaded.
    again = document_requests(demo_site, since=mark)
    assert again and all(r.status in (301, 304) for r in again)
    assert all("if-none-match" in {k.lower() for k in r.headers} for r in again if r.status == 304)
    assert second.crawl["not_modified"] == second.crawl["documents"]
    assert second.crawl["bytes"] == 0
    with Archive(tmp_path) as archive:
        assert archive.db["blobs"].count == blobs_after_first
    first_docs, second_docs = sightings(tmp_path, first.crawl_id), sightings(tmp_path, second.crawl_id)
    assert set(first_docs) == set(second_docs)
    assert all(first_docs[url]["sha256"] == second_docs[url]["sha256"] for url in first_docs)


def test_first_crawl_records_sections_documents_text_and_warc(demo_site, tmp_path):
    result = crawl(demo_config(demo_site.url), tmp_path)
    assert result.status == "complete"
    with Archive(tmp_path) as archive:
        db = archive.db
        sections = {row[0] for row in db.execute("select distinct section from links")}
        assert {"Secure Communities", "Secure Communities statistics"} <= sections
        # Every file has its own type, XLSX (a ZIP inside) too, even when its link redirects to the file.
        types = dict(db.execute("select d.title, b.mimetype from documents d join blobs b on b.sha256 = d.sha256"))
        assert types == {d.title: d.content_type for d in demo_site.library.documents()}
        # Every listed PDF's text was extracted once and is full-text searchable.
        assert db.execute("select count(*) from texts where status = 'ok'").fetchone()[0] > 0
        word = db.execute("select text from texts where status = 'ok' limit 1").fetchone()[0].split()[3]
        assert db.execute("select count(*) from texts_fts where texts_fts match ?", [f'"{word}"']).fetchone()[0]
        # The WARC holds the exchanges, and a PDF's payload there is byte-identical to its blob.
        warc = tmp_path / db["crawls"].get(result.crawl_id)["warc_path"]
        pdf_sha = db.execute("select sha256 from blobs where mimetype = 'application/pdf' limit 1").fetchone()[0]
        blob_bytes = archive.blobs.path(pdf_sha).read_bytes()
    payloads = []
    with open(warc, "rb") as handle:
        for record in ArchiveIterator(handle):
            if record.rec_type == "response":
                payloads.append(record.content_stream().read())
    assert blob_bytes in payloads
    assert len(payloads) >= result.crawl["documents"] + result.crawl["pages_ok"]


def test_killed_crawl_leaves_a_sound_archive_and_is_never_complete(tmp_path):
    from foiawatch.demo.library import DemoLibrary
    from foiawatch.demo.site import DemoSite

    with DemoSite(DemoLibrary.synthetic(400, n_sections=8, page_size=50)) as site:
        config = demo_config(site.url, concurrency=2)
        config_path = tmp_path / "demo.json"
        import json

        from foiawatch.config import config_to_dict

        config_path.write_text(json.dumps(config_to_dict(config)))
        data = tmp_path / "data"
        child = subprocess.Popen(
            [sys.executable, "-m", "foiawatch.crawler.run", "--data-dir", str(data), "--config-json",
             str(config_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120  # a start-up wait, generous for a loaded machine
        while time.monotonic() < deadline:
            if (data / "archive.db").exists():
                with sqlite3.connect(data / "archive.db") as conn:
                    try:
                        if conn.execute("select count(*) from blobs").fetchone()[0] >= 40:
                            break
                    except sqlite3.OperationalError:
                        pass
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()

        with sqlite3.connect(data / "archive.db") as conn:
            assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
            status = conn.execute("select status from crawls order by id desc limit 1").fetchone()[0]
        assert status != "complete"
        archive = Archive(data)
        for path in archive.blobs.iter_files():
            assert sha256_file(path)[0] == path.name, f"corrupt blob {path}"
        archive.close()

        rerun = crawl(config, data)
        assert rerun.status == "complete"
        with Archive(data) as archive:
            statuses = [row["status"] for row in archive.crawls(config.id)]
            assert statuses == ["incomplete", "complete"]
            assert "interrupted" in archive.db["crawls"].get(1)["status_reason"]
            for row in archive.db["blobs"].rows:
                assert archive.blobs.verify(row["sha256"])
            assert not any(archive.data_dir.tmp.rglob("dl-*")), "partial downloads left behind"


def test_unreachable_library_exits_non_zero_with_a_clear_message(tmp_path):
    config_file = tmp_path / "gone.toml"
    config_file.write_text(
        '[agency]\nid = "gone"\nname = "Unreachable"\nlibrary_urls = ["http://127.0.0.1:9/foia"]\n'
        "[politeness]\ndelay = 0.0\nrequests_per_minute = 0\nretries = 0\ntimeout = 5.0\n"
    )
    result = CliRunner().invoke(cli, ["crawl", str(config_file), "--data-dir", str(tmp_path / "d"), "--quiet"])
    assert result.exit_code == 3
    assert "could not be crawled" in result.output and "connection refused" in result.output
    with Archive(tmp_path / "d") as archive:
        assert archive.last_crawl("gone")["status"] == "outage"


def test_invalid_config_is_refused_naming_the_key(tmp_path):
    config_file = tmp_path / "bad.toml"
    config_file.write_text('[agency]\nid = "bad"\nname = "Bad"\nlibrary_urls = ["http://127.0.0.1/"]\n'
                           "[politeness]\ndelay = \"fast\"\n")
    result = CliRunner().invoke(cli, ["crawl", str(config_file), "--data-dir", str(tmp_path / "d")])
    assert result.exit_code != 0
    assert "'delay' must be a number" in result.output


def test_listing_page_error_makes_the_crawl_incomplete_and_loses_nothing(demo_site, tmp_path):
    config = demo_config(demo_site.url)
    first = crawl(config, tmp_path)
    demo_site.set_state(replace(demo_site.state, failing_pages=frozenset({"/foia/library/collection?page=1"})))
    second = crawl(config, tmp_path)
    assert first.status == "complete"
    assert second.status == "incomplete"
    assert "collection?page=1" in second.reason
    with Archive(tmp_path) as archive:
        failed = archive.db.execute(
            "select http_status from listing_pages where crawl_id = ? and url like '%page=1'", [second.crawl_id]
        ).fetchone()
        assert failed == (500,)
        for row in archive.db["blobs"].rows:
            assert archive.blobs.verify(row["sha256"])
    assert second.crawl["documents"] < first.crawl["documents"]


@pytest.mark.parametrize(
    ("fault", "outcome", "error_words"),
    [
        ("timeout", "failed", "timed out"),
        ("reset", "failed", "connection lost"),
        ("truncate", "failed", "connection lost"),
        ("html", "soft_404", "HTML page"),
        ("redirect_loop", "failed", "redirect"),
        ("oversize", "too_large", "max size"),
        ("soft404", "soft_404", "HTML page"),
    ],
)
def test_document_faults_are_recorded_and_store_nothing_partial(demo_site, tmp_path, fault, outcome, error_words):
    victim = next(d for d in demo_site.library.documents() if d.kind == "pdf" and d.link_style == "root")
    demo_site.set_state(replace(demo_site.state.fault(victim.path, fault), fault_delay=6.0,
                                oversize_bytes=3_000_000))
    config = demo_config(demo_site.url, timeout=2.5, retries=0)
    config = replace(config, documents=replace(config.documents, max_bytes=2_000_000))
    result = crawl(config, tmp_path)
    assert result.status == "complete"  # one bad document never makes a listing incomplete
    seen = {url.split("/")[-1]: row for url, row in sightings(tmp_path, result.crawl_id).items()}
    row = seen[victim.filename]
    assert row["outcome"] == outcome
    assert error_words.lower() in (row["error"] or "").lower()
    assert row["sha256"] is None
    with Archive(tmp_path) as archive:
        for blob in archive.db["blobs"].rows:
            assert archive.blobs.verify(blob["sha256"])
        assert not any(archive.data_dir.tmp.rglob("dl-*"))
    others = {url: r["outcome"] for url, r in sightings(tmp_path, result.crawl_id).items() if r["id"] != row["id"]}
    assert others and set(others.values()) == {"fetched"}, others


def test_malformed_pdf_is_stored_and_its_extraction_failure_recorded(tmp_path):
    broken = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\nxref\nthis is not an xref table"
    listing = (b"<html><body><main><h2>Reports</h2><ul>"
               b'<li><a href="/files/broken.pdf">Broken report</a></li></ul></main></body></html>')
    routes = {"/library": (200, {"Content-Type": "text/html"}, listing),
              "/files/broken.pdf": (200, {"Content-Type": "application/pdf"}, broken),
              "/robots.txt": (200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow:\n")}
    with StaticSite(routes) as site:
        config = demo_config(site.url, library_path="/library")
        config = replace(config, listing=replace(config.listing, content_selector="main", follow_patterns=()))
        result = crawl(config, tmp_path)
    assert result.status == "complete"
    with Archive(tmp_path) as archive:
        (sha,) = archive.db.execute("select sha256 from blobs").fetchone()
        assert archive.blobs.path(sha).read_bytes() == broken
        text = archive.db["texts"].get(sha)
    assert text["status"] == "failed" and text["error"]


def test_robots_txt_is_obeyed_by_default(tmp_path):
    listing = b'<html><body><main><h2>Reports</h2><a href="/private/a.pdf">A</a></main></body></html>'
    routes = {"/library": (200, {"Content-Type": "text/html"}, listing),
              "/private/a.pdf": (200, {"Content-Type": "application/pdf"}, b"%PDF-1.4 secret"),
              "/robots.txt": (200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /private/\n")}
    with StaticSite(routes) as site:
        config = demo_config(site.url, library_path="/library")
        config = replace(config, listing=replace(config.listing, content_selector="main", follow_patterns=()))
        result = crawl(config, tmp_path)
    (row,) = sightings(tmp_path, result.crawl_id).values()
    assert row["outcome"] == "skipped"
    with Archive(tmp_path) as archive:
        assert archive.db["blobs"].count == 0


def test_crawl_command_prints_a_summary(demo_site, tmp_path, monkeypatch):
    config_dir = tmp_path / "configs"
    config_dir.mkdir()
    source = (Path(__file__).parents[1] / "foiawatch" / "agencies" / "demo.toml").read_text()
    (config_dir / "demo.toml").write_text(source.replace("http://127.0.0.1:8765", demo_site.url))
    result = CliRunner().invoke(cli, ["crawl", "demo", "--config-dir", str(config_dir),
                                      "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "complete" in result.output
    assert f"{len(demo_site.view.listed_paths())} listed" in result.output
    assert os.path.exists(tmp_path / "d" / "archive.db")


def test_documents_on_hosts_outside_the_config_are_not_fetched(tmp_path):
    listing = (b'<html><body><main><h2>Reports</h2><a href="/files/a.pdf">A</a>'
               b'<a href="http://localhost:9/evil.pdf">Elsewhere</a></main></body></html>')
    routes = {"/library": (200, {"Content-Type": "text/html"}, listing),
              "/files/a.pdf": (200, {"Content-Type": "application/pdf"}, b"%PDF-1.4 fine"),
              "/robots.txt": (200, {"Content-Type": "text/plain"}, b"")}
    with StaticSite(routes) as site:
        config = demo_config(site.url, library_path="/library")
        config = replace(config, allowed_hosts=("127.0.0.1",),
                         listing=replace(config.listing, content_selector="main", follow_patterns=()))
        result = crawl(config, tmp_path)
    outcomes = {url.rsplit("/", 1)[-1]: row["outcome"] for url, row in sightings(tmp_path, result.crawl_id).items()}
    assert outcomes == {"a.pdf": "fetched", "evil.pdf": "skipped"}


def test_sweeping_tmp_removes_only_dead_processes_work(tmp_path):
    archive = Archive(tmp_path)
    mine = archive.work_dir("wayback")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = archive.data_dir.tmp / f"crawl7-{dead.pid}-abc"
    leftover.mkdir()
    (leftover / "dl-partial").write_bytes(b"half a PDF")
    archive.sweep_tmp()
    assert mine.is_dir() and not leftover.exists()
    archive.close()
