"""The Wayback evidence (issue 12, part 2): only captures of a 2xx answer count, answers that are not CDX are
errors with a message, and a listing says what it skipped and why."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from foiawatch.archive import Archive
from foiawatch.cli import cli
from foiawatch.crawler import crawl
from foiawatch.demo.wayback_standin import StandinCapture, WaybackStandin
from foiawatch.diff.baseline import run_baseline
from foiawatch.wayback import CdxFormatError, WaybackClient, WaybackUnavailable, parse_cdx
from foiawatch.wayback.cdx_sync import sync_captures
from foiawatch.wayback.probes import probe_never_listed

from .conftest import StaticSite, demo_config

FAST = dict(cdx_per_minute=60_000, playback_per_second=1000, min_backoff=0.05, retry_backoff=0.01, retries=0)
HTML = {"Content-Type": "text/html; charset=utf-8"}
ROW = "gov,agency)/doclib/a.pdf 20170101000000 https://agency.gov/doclib/a.pdf application/pdf 200 ABCDEF 100"


class TestNotCdx:
    def test_a_body_opening_with_a_blank_line_is_an_error_not_an_empty_listing(self):
        with pytest.raises(CdxFormatError, match="blank line"):
            parse_cdx("\n" + ROW + "\n")

    def test_html_served_with_200_is_an_error_not_rows_and_a_resume_key(self):
        with pytest.raises(CdxFormatError, match="HTML"):
            parse_cdx("<html><body>nginx</body></html>\n\n<body>nginx</body>\n")
        with pytest.raises(CdxFormatError, match="resume key"):
            parse_cdx(ROW + "\n\n<body>nginx</body>\n")

    def test_the_client_reports_it_as_the_service_being_unavailable(self, tmp_path):
        with StaticSite({"/cdx/search/cdx?" + "x": (200, HTML, b"")}) as site:
            site.routes = _AnyQuery(HTML, b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>")
            client = WaybackClient(site.url, **FAST)
            with pytest.raises(WaybackUnavailable, match="HTML, not CDX"):
                list(client.search_prefix("agency.gov/doclib/"))

    def test_skipped_rows_are_counted_by_reason(self):
        text = "\n".join([ROW, ROW.replace("20170101000000", "2017XX01000000"), "garbage", ""])
        page = parse_cdx(text)
        assert (len(page.captures), page.malformed, page.bad_timestamps) == (1, 1, 1)


class _AnyQuery(dict):
    """Routes for StaticSite answering every path with the same response."""

    def __init__(self, headers, body):
        super().__init__()
        self.answer = (200, headers, body)

    def get(self, path, default=None):
        return self.answer


def test_only_captures_of_a_2xx_answer_make_a_document_captured(tmp_path):
    """A never-listed URL the Wayback Machine saw only as a redirect, a 404 or a 500 was never shown to be a
    document: even answering 404 live, it is not removed before monitoring. A revisit of a 200 capture counts."""
    library = (b'<html><body><main id="main-content"><h2>Records</h2>'
               b'<a href="/doclib/foia/listed.pdf">Listed</a></main></body></html>')
    routes = {"/foia/library": (200, HTML, library),
              "/doclib/foia/listed.pdf": (200, {"Content-Type": "application/pdf"}, b"%PDF-1.4")}
    with StaticSite(routes) as site:
        def capture(name, status, timestamp="20160101000000", body=b"%PDF-1.4 old"):
            return StandinCapture(f"{site.url}/doclib/foia/{name}", timestamp, status, "application/pdf", body)

        captures = [capture("only-302.pdf", 302), capture("only-404.pdf", 404), capture("only-500.pdf", 500),
                    capture("ok.pdf", 200), capture("revisited.pdf", 200),
                    capture("revisited.pdf", None, "20170101000000")]
        with WaybackStandin(captures) as standin:
            config = replace(demo_config(site.url), library_urls=(site.url + "/foia/library",))
            config = replace(config, wayback=replace(config.wayback, base_url=standin.url,
                                                     prefix=f"{urlsplit(site.url).netloc}/doclib/foia/"))
            assert crawl(config, tmp_path).status == "complete"
            archive = Archive(tmp_path)
            stats = sync_captures(archive, config, WaybackClient(standin.url, **FAST))
            assert (stats.captures, stats.not_ok) == (6, 3)
            assert "3 captures of a non-2xx answer kept as history only" in stats.skipped_rows()
            probes = probe_never_listed(archive, config)
            result = run_baseline(archive, config.id, config.wayback.all_prefixes)
    assert probes.probed == 2, "only URLs captured as documents are probed"
    flagged = {row["url"].rsplit("/", 1)[1] for row in archive.db.query(
        "select url from events where kind = 'removed_before_monitoring'")}
    assert flagged == {"ok.pdf", "revisited.pdf"} and result.created == 2
    held = archive.db.execute("select count(*) from captures where url like '%only-%'").fetchone()[0]
    assert held == 3, "the non-2xx captures stay in the archive as history"


def test_the_wayback_command_says_what_it_skipped(tmp_path):
    from .test_wayback_baseline import write_config

    with StaticSite({}) as site, WaybackStandin([]) as standin:
        write_config(tmp_path / "configs", site.url, standin.url)
        site.routes["/foia/library"] = (200, HTML, b'<html><main id="main-content"><a href="/x.pdf">x</a></main>')
        data = ["--data-dir", str(tmp_path / "data"), "--config-dir", str(tmp_path / "configs")]
        CliRunner().invoke(cli, ["crawl", "demo", "--quiet", *data])
        result = CliRunner().invoke(cli, ["wayback", "demo", "--quiet", *data])
    assert result.exit_code == 0, result.output
    assert "CDX listing: 0 malformed CDX rows and 0 with a bad timestamp skipped" in result.output


def test_a_document_no_archived_listing_names_is_named_by_itself_unless_withheld(tmp_path):
    from foiawatch.demo.pdf import make_pdf
    from foiawatch.pipeline import wayback_baseline

    library = (b'<html><body><main id="main-content"><h2>Records</h2>'
               b'<a href="/doclib/foia/listed.pdf">Listed</a></main></body></html>')
    routes = {"/foia/library": (200, HTML, library),
              "/doclib/foia/listed.pdf": (200, {"Content-Type": "application/pdf"}, b"%PDF-1.4")}
    titled = make_pdf("Secure Communities quarterly statistics, FY2010", ["Numbers by state."])
    untitled = make_pdf("Memorandum of agreement with Harris County", ["Signed in 2009."])
    name = b"(Memorandum of agreement with Harris County)"
    untitled = untitled.replace(b"/Title " + name, b"/Title (" + b" " * (len(name) - 2) + b")")  # same offsets
    private = make_pdf("Hotline call log", ["Caller SSN 219-09-9999, DOB 04/12/1961."])
    with StaticSite(routes) as site:
        files = {"stats.pdf": titled, "moa.pdf": untitled, "calls.pdf": private}
        captures = [StandinCapture(f"{site.url}/doclib/foia/programme/{name}", "20150101000000", 200,
                                   "application/pdf", body) for name, body in files.items()]
        with WaybackStandin(captures) as standin:
            config = replace(demo_config(site.url), library_urls=(site.url + "/foia/library",))
            config = replace(config, wayback=replace(config.wayback, base_url=standin.url,
                                                     prefix=f"{urlsplit(site.url).netloc}/doclib/foia/"))
            assert crawl(config, tmp_path).status == "complete"
            with Archive(tmp_path) as archive:
                outcome = wayback_baseline(archive, config, WaybackClient(standin.url, **FAST))
                events = {row["url"].rsplit("/", 1)[1]: row for row in archive.db.query(
                    "select url, title, section, summary, evidence from events")}
    assert outcome.recovered is not None and outcome.recovered.recovered == 3
    assert events["stats.pdf"]["title"] == "Secure Communities quarterly statistics, FY2010"
    assert events["moa.pdf"]["title"] == "Memorandum of agreement with Harris County"
    assert events["calls.pdf"]["title"] == "calls.pdf", "a withheld copy never names a public event"
    assert "219-09-9999" not in json.dumps(events) and "Hotline" not in json.dumps(events)
    for name, source in (("stats.pdf", "pdf_metadata"), ("moa.pdf", "first_line"), ("calls.pdf", "file_name")):
        evidence = json.loads(events[name]["evidence"])
        assert (evidence["title_from"], evidence["section_from"], evidence["inferred"]) == (source, "folder", True)
        assert events[name]["section"] == "programme" and "the folder it was captured in" in events[name]["summary"]


def test_new_documents_are_sent_to_save_page_now_when_asked_for(tmp_path, monkeypatch):
    from foiawatch.wayback.baseline import wayback_client
    from foiawatch.wayback.preserve import save_new_documents

    monkeypatch.setenv("FOIAWATCH_IA_ACCESS_KEY", "access")
    monkeypatch.setenv("FOIAWATCH_IA_SECRET_KEY", "secret")
    names = [f"doc-{n}.pdf" for n in range(3)]
    library = ('<html><body><main id="main-content"><h2>Records</h2>'
               + "".join(f'<a href="/doclib/foia/{n}">{n}</a>' for n in names) + "</main></body></html>").encode()
    routes = {"/foia/library": (200, HTML, library)}
    routes.update({f"/doclib/foia/{n}": (200, {"Content-Type": "application/pdf"}, b"%PDF-1.4 " + n.encode())
                   for n in names})
    with StaticSite(routes) as site, WaybackStandin([]) as standin:
        config = replace(demo_config(site.url), library_urls=(site.url + "/foia/library",))
        off = replace(config, wayback=replace(config.wayback, base_url=standin.url))
        on = replace(off, wayback=replace(off.wayback, save_new=True, save_per_run=2))
        assert crawl(config, tmp_path).status == "complete"
        with Archive(tmp_path) as archive:
            assert save_new_documents(archive, off, wayback_client(off)).skipped
            first = save_new_documents(archive, on, WaybackClient(standin.url, allow_save=True, save_per_minute=60_000,
                                                                  **FAST), poll_interval=0.01)
            second = save_new_documents(archive, on, WaybackClient(standin.url, allow_save=True,
                                                                   save_per_minute=60_000, **FAST), poll_interval=0.01)
            third = save_new_documents(archive, on, WaybackClient(standin.url, allow_save=True,
                                                                  save_per_minute=60_000, **FAST), poll_interval=0.01)
            saves = list(archive.db.query("select url, status, job_id, raw_url from wayback_saves order by id"))
    assert (first.saved, first.left, second.saved, second.left, third.asked) == (2, 1, 1, 0, 0)
    assert sorted(standin.saved) == sorted(f"{site.url}/doclib/foia/{n}" for n in names)
    assert all(row["status"] == "ok" and row["job_id"] and row["raw_url"].startswith(standin.url) for row in saves)
