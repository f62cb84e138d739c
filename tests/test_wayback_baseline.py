"""Wayback baseline, recovery and section bundles end to end (issue 4, items 3-5).

The demo library and a Wayback stand-in run on 127.0.0.1; the library is crawled for real, then the commands run as
an operator would run them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from click.testing import CliRunner
from pypdf import PdfReader

from foiawatch.archive import Archive
from foiawatch.cli import cli
from foiawatch.config import find_config
from foiawatch.crawler import crawl
from foiawatch.demo.library import SECURE_COMMUNITIES_SECTIONS
from foiawatch.demo.scenario import (
    CAPTURED_AT,
    PILOT_RECORDS,
    PILOT_SECTION,
    PILOT_SECTION_TITLE,
    archived_listing_pages,
    demo_agency,
    first_library_captures,
    wayback_captures,
)
from foiawatch.demo.site import DemoSite
from foiawatch.demo.wayback_standin import StandinCapture, WaybackStandin
from foiawatch.diff.baseline import run_baseline
from foiawatch.wayback import WaybackClient, cdx_digest
from foiawatch.wayback.cdx_sync import sync_captures
from foiawatch.wayback.listings import read_archived_listings
from foiawatch.wayback.probes import probe_never_listed

from .conftest import StaticSite, demo_config

DEMO_TOML = Path(__file__).parents[1] / "foiawatch" / "agencies" / "demo.toml"
FAST = dict(cdx_per_minute=60_000, playback_per_second=1000, min_backoff=0.05, retry_backoff=0.01)
(OLD, LATER), LATEST = CAPTURED_AT, "20170301120000"
PDF = "application/pdf"


def write_config(config_dir: Path, site_url: str, wayback_url: str, probes_per_run: int = 500) -> None:
    """The bundled demo config, aimed at the running demo site and Wayback stand-in."""
    netloc = urlsplit(site_url).netloc
    source = (DEMO_TOML.read_text()
              .replace("http://127.0.0.1:8765", site_url)
              .replace('prefix = "127.0.0.1:8765/', f'prefix = "{netloc}/')
              .replace("[wayback]\n", f'[wayback]\nbase_url = "{wayback_url}"\nprobes_per_run = {probes_per_run}\n'))
    config_dir.mkdir(exist_ok=True)
    (config_dir / "demo.toml").write_text(source)


def run(command: str, tmp_path: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, [command, "demo", "--config-dir", str(tmp_path / "configs"),
                                      "--data-dir", str(tmp_path / "data"), *args])
    assert result.exit_code == 0, result.output
    return result.output


def crawl_once(tmp_path: Path) -> None:
    result = crawl(find_config("demo", tmp_path / "configs"), tmp_path / "data")
    assert result.status == "complete", result.reason


def v1_captures(site: DemoSite) -> dict[str, list[StandinCapture]]:
    """The demo library's captures of every document it first served (at OLD and LATER), by URL."""
    captures: dict[str, list[StandinCapture]] = {}
    for capture in first_library_captures(site):
        captures.setdefault(capture.url, []).append(capture)
    return captures


def events(tmp_path: Path, kind: str) -> list[dict]:
    with Archive(tmp_path / "data") as archive:
        return list(archive.db.query("select * from events where kind = ? order by url", [kind]))


def test_baseline_of_2000_captured_documents_takes_few_cdx_requests(tmp_path):
    with DemoSite(state="v1") as site:
        live = v1_captures(site)
        old = [StandinCapture(f"{site.url}/doclib/foia/old-records/Record_{n:04d}.pdf", OLD, 200, PDF,
                              b"%%PDF-1.4 record %d" % n) for n in range(2000 - len(live))]
        not_documents = [StandinCapture(f"{site.url}/doclib/foia/old-records/", OLD, 200, "text/html", b"<html>")]
        with WaybackStandin([c for cs in live.values() for c in cs] + old + not_documents) as standin:
            write_config(tmp_path / "configs", site.url, standin.url, probes_per_run=2000)  # all in one run
            crawl_once(tmp_path)
            output = run("wayback", tmp_path, "--quiet")
            cdx_requests = standin.requests["cdx"]

    print(f"\nbaseline of {len(live) + len(old)} captured documents: {cdx_requests} CDX requests")
    assert cdx_requests <= 10
    counts = re.search(r"CDX requests: (\d+) for documents, (\d+) for listing pages", output)
    assert counts and int(counts[1]) + int(counts[2]) == cdx_requests, output
    with Archive(tmp_path / "data") as archive:
        assert archive.db.execute("select count(distinct url) from captures").fetchone()[0] == 2000
    flagged = {e["url"] for e in events(tmp_path, "removed_before_monitoring")}
    assert flagged == {c.url for c in old}, "exactly the documents the library no longer serves"


def test_probes_conclude_only_on_gone_and_only_after_a_complete_crawl(tmp_path):
    document = (200, {"Content-Type": PDF}, b"%PDF-1.4 still here")
    html = {"Content-Type": "text/html; charset=utf-8"}
    library = b'<html><body><main id="main-content"><h2>Records</h2><a href="/doclib/foia/live.pdf">Live</a></main>'
    routes = {
        "/foia/library": (200, html, library),
        "/doclib/foia/live.pdf": document,
        "/doclib/foia/gone-410.pdf": (410, html, b"<html><title>Gone</title></html>"),
        "/doclib/foia/soft-404.pdf": (200, html, b"<html><title>Page not found</title><h1>Page not found</h1>"),
        "/doclib/foia/served.pdf": document,
        "/doclib/foia/error-503.pdf": (503, html, b"<html><title>Service unavailable</title></html>"),
        "/doclib/foia/forbidden-403.pdf": (403, html, b"<html><title>Access denied</title></html>"),
        "/doclib/foia/outage.pdf": (200, html, b"<html><main id='main-content'><p>The library is temporarily "
                                               b"unavailable while it undergoes review.</p></main></html>"),
    }
    outage_library = (200, html, b'<html><main id="main-content"><p>The library is temporarily unavailable.</p>')
    names = [path.rsplit("/", 1)[-1] for path in routes if path.startswith("/doclib/")] + ["gone-404.pdf"]
    with StaticSite(dict(routes, **{"/foia/library": outage_library})) as site, \
            WaybackStandin([StandinCapture(f"{site.url}/doclib/foia/{name}", OLD, 200, PDF, name.encode())
                            for name in names]) as standin:
        config = demo_config(site.url)
        config = replace(config, wayback=replace(config.wayback, base_url=standin.url,
                                                 prefix=f"{urlsplit(site.url).netloc}/doclib/foia/"))
        archive = Archive(tmp_path)
        client = WaybackClient(standin.url, **FAST)
        assert crawl(config, tmp_path).status == "outage"
        assert sync_captures(archive, config, client).captures == len(names)
        refused = probe_never_listed(archive, config)
        assert refused.probed == 0 and "outage" in refused.skipped
        assert run_baseline(archive, config.id, config.wayback.all_prefixes).created == 0

        site.routes["/foia/library"] = routes["/foia/library"]
        assert crawl(config, tmp_path).status == "complete"
        probes = probe_never_listed(archive, config)
        result = run_baseline(archive, config.id, config.wayback.all_prefixes)
        again = probe_never_listed(archive, config)

    assert probes.outcomes == {"gone": 2, "soft_404": 1, "served": 1, "failed": 1, "blocked": 1, "outage": 1}
    flagged = {row["url"].rsplit("/", 1)[-1] for row in archive.db.query(
        "select url from events where kind = 'removed_before_monitoring'")}
    assert flagged == {"gone-404.pdf", "gone-410.pdf", "soft-404.pdf"}
    assert (result.gone, result.served, result.inconclusive, result.created) == (3, 1, 3, 3)
    assert again.probed == 4, "URLs found gone are not probed again; the others are"
    assert run_baseline(archive, config.id, config.wayback.all_prefixes).created == 0, "a re-run records nothing twice"


def test_ice_2017_library_emptied_before_monitoring_is_recovered_and_bundled(tmp_path):
    with DemoSite(state="v2_takedown") as site:
        captures = v1_captures(site)
        removed = {site.url + d.path: d for d in site.library.documents() if d.section in SECURE_COMMUNITIES_SECTIONS}
        bodies = {url: captures[url][-1].body for url in captures}
        sop, fact_sheet, moa = (next(u for u in removed if u.endswith(name)) for name in
                                ("Secure_Communities_SOP.pdf", "SC_Fact_Sheet.pdf", "MOA_Texas_DPS.pdf"))
        corrupt = StandinCapture(sop, LATEST, 200, PDF, bodies[sop][:-200] + b"garbage", digest=cdx_digest(bodies[sop]))
        archived_404 = StandinCapture(fact_sheet, LATEST, 404, "text/html", b"<html><title>Page not found</title>")
        captured_html = StandinCapture(moa, LATEST, 200, "text/html", b"<html><title>Moved</title></html>")
        with WaybackStandin([c for cs in captures.values() for c in cs] + [corrupt, archived_404, captured_html]) \
                as standin:
            write_config(tmp_path / "configs", site.url, standin.url)
            crawl_once(tmp_path)
            first = run("wayback", tmp_path, "--quiet")
            second = run("wayback", tmp_path, "--quiet")
            recovered = run("recover", tmp_path, "--quiet")
            playback = standin.requests["playback"]
            rerun = run("recover", tmp_path, "--quiet")
            assert standin.requests["playback"] == playback, "a second recovery fetches nothing"
            requested = [path for _, endpoint, _, path in standin.log if endpoint == "playback"]
            bundles = {slug: run("bundle", tmp_path, "--section", slug, "--out", str(tmp_path / "bundles"))
                       for slug in SECURE_COMMUNITIES_SECTIONS}

    # Baseline: exactly the three sections' documents, each filed under its folder.
    flagged = events(tmp_path, "removed_before_monitoring")
    assert {e["url"] for e in flagged} == set(removed)
    assert all(e["section"] == removed[e["url"]].section for e in flagged)
    assert len(json.loads(next(e for e in flagged if e["url"] == sop)["evidence"])["captures"]) == 3
    assert "20 new removed_before_monitoring" in first and "0 new removed_before_monitoring" in second
    assert "(0 new)" in second

    with Archive(tmp_path / "data") as archive:
        probed = {row["url"] for row in archive.db.query("select distinct url from wayback_probes")}
        assert probed == set(removed), "documents the crawl reached (redirected links too) are never probed"

        # Recovery: every document stored, byte-identical to its capture, with provenance.
        ok = {r["url"]: r for r in archive.db.query("select * from recoveries where status = 'ok'")}
        assert set(ok) == set(removed)
        for url, row in ok.items():
            body = bodies[url]
            assert archive.blobs.path(row["sha256"]).read_bytes() == body
            assert row["sha256"] == hashlib.sha256(body).hexdigest()
            assert row["capture_digest"] == cdx_digest(body) and row["original"] == url
            assert row["capture_timestamp"] == LATER
            assert row["raw_url"] == f"{standin.url}/web/{LATER}id_/{url}" and row["retrieved_at"]
            assert archive.db["blobs"].get(row["sha256"])["source"] == "wayback"
            text = archive.db["texts"].get(row["sha256"])
            # PDFs and spreadsheets (cell by cell) are read; a ZIP is not opened.
            assert text["status"] == ("unsupported" if url.lower().endswith(".zip") else "ok"), text
        unscreened = archive.db.execute(
            "select count(*) from recoveries r join texts t on t.sha256 = r.sha256 where r.status = 'ok'"
            " and t.status = 'ok' and r.sha256 not in (select sha256 from pii_screens)").fetchone()[0]
        assert unscreened == 0, "recovered text is screened for personal data before anything is published"

        # The corrupt capture was rejected and recorded, never stored; the older good one was used instead.
        (rejected,) = archive.db.query("select * from recoveries where status = 'rejected'")
        assert (rejected["url"], rejected["capture_timestamp"]) == (sop, LATEST)
        assert "digest" in rejected["reason"] and rejected["sha256"] is None
        bad_sha = hashlib.sha256(corrupt.body).hexdigest()
        assert not archive.db["blobs"].count_where("sha256 = ?", [bad_sha])
        assert not any(f"{LATEST}id_/{url}" in path for path in requested for url in (fact_sheet, moa)), \
            "archived error pages and HTML captures are never downloaded"
        blobs = archive.db["blobs"].count
    # No archived listing names them, so the baseline recovers their copies to name them by their own titles
    # (issue 12); the recovery step then finds them stored.
    assert "recovered now: 20" in first and f"rejected capture {LATEST} of {sop}" in first
    assert "recovered now: 0" in recovered and "already stored: 20" in recovered
    assert "recovered now: 0" in rerun and "already stored: 20" in rerun
    assert all(json.loads(e["evidence"])["title_from"] == "pdf_metadata" for e in flagged
               if e["url"].lower().endswith(".pdf")), "named after the document's own title"
    with Archive(tmp_path / "data") as archive:
        assert archive.db["blobs"].count == blobs

    # Bundles: every document of each section, byte-identical to its capture, with a manifest.
    bundled = set()
    for slug, output in bundles.items():
        documents = [d for d in removed.values() if d.section == slug]
        with zipfile.ZipFile(tmp_path / "bundles" / f"demo-{slug}.zip") as bundle:
            manifest = list(csv.DictReader(io.StringIO(bundle.read("manifest.csv").decode())))
            assert len(manifest) == len(documents)
            for row in manifest:
                assert bundle.read(row["file"]) == bodies[row["url"]]
                assert row["sha256"] == hashlib.sha256(bodies[row["url"]]).hexdigest()
                assert row["source"] == "wayback" and row["wayback_url"].endswith(f"{LATER}id_/{row['url']}")
                assert row["capture"].startswith("2016-12-01") and row["withheld"] in ("yes", "no")
                bundled.add(row["url"])
        merged = tmp_path / "bundles" / f"demo-{slug}.pdf"
        if all(d.kind == "pdf" for d in documents):
            reader = PdfReader(merged)
            assert [item.title for item in reader.outline] == [row["title"] for row in manifest]
            assert len(reader.pages) == sum(len(PdfReader(io.BytesIO(bodies[r["url"]])).pages) for r in manifest)
            assert "merged PDF" in output
        else:
            assert not merged.exists()
    assert bundled == set(removed)


def test_bundle_of_an_unknown_section_names_the_known_ones(demo_site, tmp_path):
    write_config(tmp_path / "configs", demo_site.url, "http://127.0.0.1:9")
    crawl_once(tmp_path)
    result = CliRunner().invoke(cli, ["bundle", "demo", "--section", "Nope", "--config-dir", str(tmp_path / "configs"),
                                      "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "b")])
    assert result.exit_code == 1
    assert "no document under section 'Nope'" in result.output and "'Secure Communities'" in result.output


def test_documents_removed_before_monitoring_are_named_as_the_archived_library_listed_them(tmp_path):
    with DemoSite(state="v1") as site:
        captures = wayback_captures(site)
        pages = [c for c in captures if c.mimetype == "text/html"]
        (root,) = [c for c in pages if c.url == site.library_url]
        # A later capture of the root whose bytes do not match its digest: recorded as unreadable, never parsed.
        damaged = StandinCapture(root.url, LATEST, 200, "text/html", root.body.replace(b"pilot", b"PILOT"),
                                 digest=cdx_digest(root.body + b"\n"))
        with WaybackStandin(captures + [damaged]) as standin:
            write_config(tmp_path / "configs", site.url, standin.url)
            crawl_once(tmp_path)
            first = run("wayback", tmp_path, "--quiet")
            read_before = standin.requests["playback"]
            second = run("wayback", tmp_path, "--quiet")
            assert standin.requests["playback"] == read_before, "an archived page version is read once"

    assert f"{len(pages) + 1} versions captured, {len(pages) + 1} read now" in first
    assert "1 unreadable" in first and "0 read now" in second
    flagged = {e["url"]: e for e in events(tmp_path, "removed_before_monitoring")}
    expected = {f"{site.url}/doclib/foia/{PILOT_SECTION}/{filename}": title for filename, title, _ in PILOT_RECORDS}
    assert {url: e["title"] for url, e in flagged.items()} == expected
    assert {e["section"] for e in flagged.values()} == {PILOT_SECTION_TITLE}
    for event in flagged.values():
        listed = json.loads(event["evidence"])["archived_listing"]
        assert (listed["page"], listed["timestamp"]) == (site.library_url, CAPTURED_AT[0])
        assert f"listed under “{PILOT_SECTION_TITLE}” as archived on 2015-03-01" in event["summary"]
    with Archive(tmp_path / "data") as archive:
        (status,) = archive.db.execute("select status from listing_captures where timestamp = ?", [LATEST]).fetchone()
    assert status.startswith("body of") and "CDX says" in status


def test_archived_listing_pages_are_read_newest_first_a_few_per_run(tmp_path):
    with DemoSite(state="v1") as site:
        pages = archived_listing_pages(site)
        # Versions with the same bytes fold into one (collapse by digest); these differ.
        later = [replace(c, timestamp=LATEST, body=c.body + b"<!-- recaptured -->") for c in pages]
        config = demo_agency(site.library_url)
        with WaybackStandin(pages + later) as standin, Archive(tmp_path / "data") as archive, \
                WaybackClient(standin.url, **FAST) as client:
            archive.register_agency(config.id, config.name, list(config.library_urls), "{}")
            runs = [read_archived_listings(archive, config, client, limit=len(pages)) for _ in range(3)]
            read = archive.db.execute("select timestamp from listing_captures order by id").fetchall()

    assert [(r.versions, r.read, r.left) for r in runs] == [
        (2 * len(pages), len(pages), len(pages)), (2 * len(pages), len(pages), 0), (2 * len(pages), 0, 0)]
    assert [t for (t,) in read] == [LATEST] * len(pages) + [CAPTURED_AT[0]] * len(pages)


def test_listing_pages_the_archive_refuses_to_list_do_not_stop_the_baseline(tmp_path):
    with DemoSite(state="v1") as site:
        config = demo_agency(site.library_url)
        with WaybackStandin(archived_listing_pages(site), blocked=[site.library_url]) as standin, \
                Archive(tmp_path / "data") as archive, WaybackClient(standin.url, **FAST) as client:
            archive.register_agency(config.id, config.name, list(config.library_urls), "{}")
            stats = read_archived_listings(archive, config, client)

    assert (stats.versions, stats.read) == (0, 0)
    assert len(stats.blocked) == 1 and "Blocked Site Error" in stats.blocked[0]


def test_page_versions_from_when_a_never_listed_document_was_captured_are_read_first(tmp_path):
    with DemoSite(state="v1") as site:
        pages = archived_listing_pages(site)  # 2015, with the pilot section
        later = [replace(c, timestamp=stamp, body=c.body + stamp.encode())
                 for stamp in (LATEST, "20180101120000", "20190101120000") for c in pages]
        pilot = [c for c in wayback_captures(site) if f"/{PILOT_SECTION}/" in c.url]
        with WaybackStandin(pages + later + pilot) as standin, Archive(tmp_path / "data") as archive, \
                WaybackClient(standin.url, **FAST) as client:
            config = demo_agency(site.library_url, standin.url)
            archive.register_agency(config.id, config.name, list(config.library_urls), "{}")
            sync_captures(archive, config, client)
            stats = read_archived_listings(archive, config, client, limit=len(pages))
            read = {t for (t,) in archive.db.execute("select timestamp from listing_captures")}

    assert (stats.versions, stats.read, stats.left) == (4 * len(pages), len(pages), 3 * len(pages))
    assert read == {CAPTURED_AT[0]}, "the versions from when the pilot records were captured, not the newest"


def test_several_wayback_prefixes_are_all_listed_and_name_folders_under_their_own_prefix(tmp_path):
    html = {"Content-Type": "text/html; charset=utf-8"}
    library = b'<html><body><main id="main-content"><a href="/doclib/foia/live.pdf">Live</a></main></body></html>'
    routes = {"/foia/library": (200, html, library),
              "/doclib/foia/live.pdf": (200, {"Content-Type": PDF}, b"%PDF-1.4 live")}
    with StaticSite(routes) as site:
        host = urlsplit(site.url).netloc
        captured = [f"{site.url}/doclib/foia/audits/a.pdf", f"{site.url}/sites/default/files/logs/b.pdf",
                    f"{site.url}/elsewhere/c.pdf"]
        with WaybackStandin([StandinCapture(url, OLD, 200, PDF, url.encode()) for url in captured]) as standin:
            config = demo_config(site.url)
            config = replace(config, wayback=replace(
                config.wayback, base_url=standin.url, prefix=f"{host}/doclib/foia/",
                prefixes=(f"{host}/sites/default/files/", f"{host}/doclib/foia/")))
            assert config.wayback.all_prefixes == (f"{host}/doclib/foia/", f"{host}/sites/default/files/")
            archive = Archive(tmp_path)
            assert crawl(config, tmp_path).status == "complete"
            stats = sync_captures(archive, config, WaybackClient(standin.url, **FAST))
            probe_never_listed(archive, config)
            result = run_baseline(archive, config.id, config.wayback.all_prefixes)
    assert stats.captures == 2 and stats.cdx_requests >= 2  # one listing per prefix; /elsewhere/ is under neither
    assert result.created == 2
    sections = {row["url"].rsplit("/", 1)[-1]: row["section"] for row in archive.db.query(
        "select url, section from events where kind = 'removed_before_monitoring'")}
    assert sections == {"a.pdf": "audits", "b.pdf": "logs"}
