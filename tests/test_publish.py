"""Publishing end to end: the ICE takedown crawled from the demo library, published, queried through Datasette.

The scenario adds three things to the 2017 story: one Secure Communities document carries an SSN (the screen
withholds it; it is then taken down with its section), a reviewer withholds a contract, and one detention standard
is rewritten (a text diff). A subscriber's address sits in private.db and in the archive: neither may leak.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import feedparser
import httpx
import pytest
from click.testing import CliRunner

from foiawatch.archive import Archive
from foiawatch.archive.pii import screen_pending, withhold
from foiawatch.cli import cli
from foiawatch.crawler import crawl
from foiawatch.demo.library import SECURE_COMMUNITIES_SECTIONS, preset
from foiawatch.demo.site import DemoSite
from foiawatch.diff.engine import run_diff
from foiawatch.publish import PublicApp, build_public
from foiawatch.publish.build import public_file_name
from foiawatch.publish.files import SAFE_CONTENT_TYPES, safe_content_type
from foiawatch.publish.pages import section_path

from .conftest import demo_config
from .support.built import built_once

WITHHELD_PATH = "/doclib/foia/secure-communities/SC_Fact_Sheet.pdf"
WITHHELD_TITLE = "Secure Communities fact sheet"
WITHHELD_MARKER = "quokka lantern manifest"  # appears only in the withheld document
WITHHELD_SSN = "123-45-6789"
WITHHELD_TEXT = (f"Call log excerpt for the Secure Communities fact sheet.\n\nCaller Maria Example, "
                 f"SSN: {WITHHELD_SSN}, asked about the {WITHHELD_MARKER}.")
SEARCH_TITLE = "Secure Communities Standard Operating Procedures"  # taken down with its section
SEARCH_PHRASE = "interoperability responses are received"  # from its text
CHANGED_PATH = "/doclib/foia/detention-management/2011_PBNDS.pdf"
CHANGED_TITLE = "Performance-Based National Detention Standards 2011"
CHANGED_TEXT = "The standards governing conditions of confinement, as revised.\n\nA paragraph added in the revision."
REVIEWED_TITLE = "Intergovernmental service agreement, Otero County"
REVIEWER, REVIEW_REASON = "Reviewer Jane Quill", "the requester's home address is on page two"
SUBSCRIBER = "watcher-secret@example.org"


@dataclass
class IceScenario:
    data_dir: Path
    taken_down: dict[str, str]  # title -> section heading, for every Secure Communities document

    @property
    def public_db(self) -> Path:
        return self.data_dir / "public" / "public.db"

    def blob(self, title: str) -> tuple[str, str]:
        """The sha256 and extracted text of a document's last copy, read from the archive itself."""
        with Archive(self.data_dir) as archive:
            return archive.db.execute(
                "select d.sha256, t.text from documents d join texts t on t.sha256 = d.sha256 where d.title = ?",
                [title]).fetchone()


def ice_scenario(tmp_path_factory: pytest.TempPathFactory) -> IceScenario:
    """Crawl v1 -> outage -> v2_takedown -> v2_takedown, diff, screen, review and publish; once per test run."""
    folder = built_once(tmp_path_factory, "ice-scenario", _build_ice_scenario)
    return IceScenario(folder / "data", json.loads((folder / "taken_down.json").read_text()))


def _build_ice_scenario(folder: Path) -> None:
    data_dir = folder / "data"
    with DemoSite() as site:
        config = demo_config(site.url)
        for state in (preset("v1").edit(WITHHELD_PATH, WITHHELD_TEXT), "outage",
                      preset("v2_takedown").edit(CHANGED_PATH, CHANGED_TEXT),
                      preset("v2_takedown").edit(CHANGED_PATH, CHANGED_TEXT)):
            site.set_state(state)
            crawl(config, data_dir)
            with Archive(data_dir) as archive:
                run_diff(archive, config.id, confirmations=config.removal_confirmations)
        taken_down = {d.title: s.title for s in site.library.sections
                      if s.slug in SECURE_COMMUNITIES_SECTIONS for d in s.documents}
    scenario = IceScenario(data_dir, taken_down)
    with Archive(data_dir) as archive:
        screen_pending(archive)
        withhold(archive, scenario.blob(REVIEWED_TITLE)[0], REVIEWER, REVIEW_REASON)
        # What the alerts subsystem keeps is private, whichever database it ends up in.
        archive.db["subscriptions"].insert({"id": 1, "email": SUBSCRIBER}, pk="id")
    private = sqlite3.connect(data_dir / "private.db")
    private.execute("create table subscriptions (id integer primary key, email text)")
    private.execute("insert into subscriptions (email) values (?)", [SUBSCRIBER])
    private.commit()
    private.close()
    build_public(data_dir)
    (folder / "taken_down.json").write_text(json.dumps(taken_down))


class Served:
    """``PublicApp`` on a loopback port in a thread, queried over real HTTP."""

    def __init__(self, data_dir: Path):
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(PublicApp(data_dir), host="127.0.0.1", port=0,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 120  # a start-up wait, generous for a loaded machine
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the public instance did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.url, timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(10)

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.client.get(path, params=params or None)

    def json(self, path: str, **params: str) -> object:
        response = self.get(path, **params)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return response.json()

    def rows(self, path: str, **params: str) -> list[dict]:
        """Every row of a table, view or query, following Datasette's pagination."""
        rows, params = [], {"_shape": "objects", "_size": "max", **params}
        while True:
            page = self.json(path + ".json", **params)
            rows += page["rows"]
            if not page.get("next"):
                return rows
            params["_next"] = page["next"]

    def sql(self, sql: str) -> httpx.Response:
        return self.get("/public.json", sql=sql, _shape="array")


@pytest.fixture(scope="module")
def ice(tmp_path_factory: pytest.TempPathFactory) -> IceScenario:
    return ice_scenario(tmp_path_factory)


@pytest.fixture(scope="module")
def public(ice: IceScenario) -> Iterator[Served]:
    with Served(ice.data_dir) as served:
        yield served


# what journalists read ----------------------------------------------------------------------------------------


def test_removed_documents_are_listed_with_section_and_recovered_copy(ice, public):
    removed = public.rows("/public/removed_documents")
    assert {r["title"]: r["section"] for r in removed} == ice.taken_down
    assert [r["removed_at"] for r in removed] == sorted((r["removed_at"] for r in removed), reverse=True)
    withheld_sha, _ = ice.blob(WITHHELD_TITLE)
    for row in removed:
        assert row["kind"] == "removed" and row["first_seen"] and row["last_listed"]
        assert row["wayback"] == "https://web.archive.org/web/*/" + row["url"]
        if row["withheld"]:  # the SSN, and files with no text the screen could read (ZIP, XLSX)
            assert row["recovered_copy"] is None and row["copy_from"] is None
            assert row["withheld"] == ("high-risk PII: ssn" if row["title"] == WITHHELD_TITLE
                                       else "no text to screen (unsupported)")
            continue
        assert row["copy_from"] == "crawl"
        sha256 = row["recovered_copy"].removeprefix("/-/files/")
        download = public.get(row["recovered_copy"])
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == sha256 != withheld_sha
        assert download.headers["content-disposition"].startswith("attachment; filename=")
        assert download.headers["x-content-type-options"] == "nosniff"
        assert download.headers["content-type"] in SAFE_CONTENT_TYPES
    (sop,) = [r for r in removed if r["title"] == SEARCH_TITLE]
    download = public.get(sop["recovered_copy"])
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == 'attachment; filename="Secure_Communities_SOP.pdf"'
    assert download.content.startswith(b"%PDF")


def test_withheld_document_keeps_its_metadata(ice, public):
    (document,) = public.rows("/public/documents", title=WITHHELD_TITLE)
    assert document["url"].startswith("http://127.0.0.1:") and document["sha256"] == ice.blob(WITHHELD_TITLE)[0]
    assert document["section"] == "Secure Communities"
    assert document["withheld"] == "high-risk PII: ssn"
    assert document["download"] is None and document["text_id"] is None
    (withholding,) = public.rows("/public/withholdings", sha256=document["sha256"])
    assert withholding["decided_by"] == "screen"
    # Files never screened (no text to screen) are withheld too, and say why.
    reasons = {r["reason"] for r in public.rows("/public/withholdings")}
    assert reasons == {"high-risk PII: ssn", "withheld by a reviewer", "no text to screen (unsupported)"}


def test_a_document_page_says_where_it_was_and_why_its_copy_is_withheld(ice, public):
    (document,) = public.rows("/public/documents", title=WITHHELD_TITLE)
    assert document["wayback"] == "https://web.archive.org/web/*/" + document["url"]
    page = public.get(f"/documents/{document['id']}").text
    assert 'section <a href="/agencies/demo/sections/Secure+Communities">“Secure Communities”</a>' in page
    assert f'<a href="{document["wayback"]}" rel="nofollow noreferrer">Every capture of this address' in page
    assert '<span class="badge removed"' in page and ">copy withheld</span>" in page
    assert "high-risk PII: ssn. Its text and file are not published." in page
    assert "/-/files/" not in page and "/-/previews/" not in page and 'id="text"' not in page
    # Datasette's row page, for researchers, sends a reader to it.
    assert f'href="/documents/{document["id"]}"' in public.get(f"/public/documents/{document['id']}").text


def test_takedowns_by_section_outages_changes_and_timeline(ice, public):
    by_section = {r["section"]: r for r in public.rows("/public/takedowns_by_section")}
    for section in set(ice.taken_down.values()):
        expected = sum(1 for s in ice.taken_down.values() if s == section)
        assert by_section[section]["documents_removed"] == expected
        assert by_section[section]["section_removed_events"] == 1

    assert [r["kind"] for r in public.rows("/public/outages")] == ["outage_ended", "outage"]

    (change,) = public.rows("/public/document_changes")
    assert change["title"] == CHANGED_TITLE and change["diff_missing"] is None
    assert "+A paragraph added in the revision." in change["diff"]
    assert public.rows("/public/document_changes", document_id=str(change["document_id"])) == [change]
    assert public.rows("/public/document_changes", document_id="999999") == []

    timeline = public.rows("/public/agency_timeline", agency="demo")
    assert [c["status"] for c in timeline] == ["complete", "complete", "outage", "complete"]
    assert "removed" in timeline[0]["events"] and "section_removed" in timeline[1]["events"]


def test_full_text_search_and_facets(ice, public):
    found = public.json("/public/documents.json", _search=SEARCH_PHRASE, _shape="objects")
    assert [r["title"] for r in found["rows"]] == [SEARCH_TITLE]
    facets = public.json("/public/removed_documents.json")["facet_results"]
    assert {f["value"] for f in facets["section"]["results"]} == set(ice.taken_down.values())
    events = public.json("/public/events.json")["facet_results"]
    assert {"agency_id", "kind", "section"} <= set(events)
    assert {f["value"] for f in events["kind"]["results"]} >= {"removed", "section_removed", "outage", "changed"}


def test_takedown_feed_parses_and_lists_every_takedown(ice, public):
    response = public.get("/public/takedown_feed.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "foiawatch public archive: Takedowns"
    entries = feed.entries
    titles = [e.title for e in entries]
    for title in ice.taken_down:
        assert any(f"removed “{title}”" in t for t in titles), title
    for section in set(ice.taken_down.values()):
        assert any(f"section “{section}” removed" in t for t in titles), section
    assert any("text deleted from" in t for t in titles)
    assert len({e.id for e in entries}) == len(entries) == len(ice.taken_down) + 3 + 1
    documents = [e for e in entries if "removed “" in e.title]
    assert all(e.link.startswith(public.url + "/documents/") for e in documents)
    assert all(e.link == public.url + "/agencies/demo" for e in entries if e not in documents)
    assert public.get(entries[0].link).status_code == 200
    (sop,) = [e for e in entries if SEARCH_TITLE in e.title]
    assert [t.term for t in sop.tags] == ["removed"]
    links = {link.rel: link.href for link in sop.links}
    assert links["related"].endswith("/Secure_Communities_SOP.pdf") and links["related"].startswith("http://127.0.0.1")
    assert links["enclosure"].startswith(public.url + "/-/files/")
    (withheld,) = [e for e in entries if WITHHELD_TITLE in e.title]
    assert "enclosure" not in {link.rel for link in withheld.links}


def test_agency_and_section_feeds(ice, public):
    global_feed = feedparser.parse(public.get("/public/takedown_feed.atom").content)
    agency = feedparser.parse(public.get("/agencies/demo.atom").content)
    assert agency.bozo == 0 and agency.feed.id == "urn:foiawatch:feed:agency:demo"
    assert {e.id for e in agency.entries} == {e.id for e in global_feed.entries}  # one library: the same takedowns
    assert agency.feed.title == "foiawatch public archive: Takedowns from Demo FOIA library (modelled on the 2017 " \
                                "ICE FOIA Library)"
    assert {link.rel: link.href for link in agency.feed.links}["alternate"] == public.url + "/agencies/demo"
    for section in set(ice.taken_down.values()):
        path = section_path("demo", section)
        feed = feedparser.parse(public.get(path + ".atom").content)
        assert feed.bozo == 0, feed.get("bozo_exception")
        titles = sorted(e.title for e in feed.entries)
        expected = sorted([f"{agency.feed.title.split(': ', 1)[1].removeprefix('Takedowns from ')}: section "
                           f"“{section}” removed"] + [f"Demo FOIA library (modelled on the 2017 ICE FOIA Library): "
                                                      f"removed “{title}”" for title, s in ice.taken_down.items()
                                                      if s == section])
        assert titles == expected
        assert {t.term for e in feed.entries for t in e.tags} == {"removed", "section_removed"}
        page = public.get(path).text
        assert f'href="{path}.atom"' in page and "Subscribe to this section's takedowns" in page
    assert public.get("/agencies/nope.atom").status_code == 404
    assert public.get(section_path("demo", "No such section") + ".atom").status_code == 404


def test_home_page_explains_and_shows_latest_takedowns(ice, public):
    page = public.get("/").text
    assert "An independent archive of government FOIA libraries" in page
    assert "Latest takedowns" in page and 'name="q"' in page
    # One entry per takedown as a reader counts it: each section with its documents, the paragraph once.
    for section in set(ice.taken_down.values()):
        count = sum(1 for s in ice.taken_down.values() if s == section)
        assert f"“{section}”</a> taken down, with {count} documents" in page, section
    assert page.count("Text deleted from the library's pages") == 1
    assert f'<time datetime="{date.today().isoformat()}">{date.today().day} {date.today():%b %Y}</time>' in page
    # The global feed and each agency's, linked and announced; counts per agency; the chart, drawn at publish.
    assert 'href="/public/takedown_feed.atom"' in page and 'href="/agencies/demo.atom"' in page
    assert '<link rel="alternate" type="application/atom+xml" title="Takedowns from Demo FOIA library' in page
    assert "<dt>Removed</dt><dd><a href=\"/removed?agency=demo\">20</a></dd>" in page
    withheld = sum(1 for d in public.rows("/public/documents") if d["withheld"])
    assert withheld > 1 and f"<dt>Withheld</dt><dd>{withheld}</dd>" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page and "<title>" in page
    assert f"<tr><td>{date.today():%b %Y}</td><td>20</td></tr>" in page


# what must stay private -----------------------------------------------------------------------------------------


def reader_pages(public: Served) -> list[str]:
    """Every page of the reader's site: lists, each document, change, agency and section, and their feeds."""
    paths = ["/", "/removed", "/restored", "/removed?before=1", "/search?q=secure", "/public/takedown_feed.atom"]
    paths += [f"/documents/{row['key']}" for row in public.rows("/public/catalogue")]
    paths += [f"/changes/{row['event_id']}" for row in public.rows("/public/text_diffs")]
    for agency in public.rows("/public/agencies"):
        paths += [f"/agencies/{agency['id']}", f"/agencies/{agency['id']}.atom"]
    for section in public.rows("/public/section_counts"):
        paths += [section_path(section["agency_id"], section["section"]) + suffix for suffix in ("", ".atom")]
    return paths


def every_response_text(public: Served) -> Iterator[tuple[str, str]]:
    """Every page and every SQL answer of the public instance that could carry a row of any table."""
    for path in ("/public", "/-/metadata.json", "/-/databases.json", *reader_pages(public)):
        response = public.get(path)
        assert response.status_code == 200, path
        yield path, response.text
    tables = public.sql("select name, type from sqlite_master where type in ('table', 'view')").json()
    assert {"texts_fts_data", "texts_fts_idx", "texts_fts_docsize", "removed_documents"} <= {t["name"] for t in tables}
    for table in tables:
        name = table["name"]
        answer = public.sql(f"select * from [{name}]")
        assert answer.status_code == 200, (name, answer.text[:300])
        yield f"?sql=select * from {name}", answer.text
        if table["type"] == "table" and not name.startswith("texts_fts") and name != "sqlite_stat1":
            for row in public.rows(f"/public/{name}"):
                yield f"/public/{name}", json.dumps(row, ensure_ascii=False)
    yield "/public.db", public.get("/public.db").content.decode("latin-1")


def test_withheld_text_and_bytes_are_unreachable(ice, public):
    withheld_sha, archived_text = ice.blob(WITHHELD_TITLE)
    assert WITHHELD_MARKER in archived_text and WITHHELD_SSN in archived_text  # the archive does hold them
    secrets = (WITHHELD_MARKER, WITHHELD_SSN, "quokka", "Maria Example")
    checked = 0
    for where, text in every_response_text(public):
        for secret in secrets:
            assert secret not in text, f"{secret!r} reachable at {where}"
        checked += 1
    assert checked > 20
    assert not any(secret.encode() in ice.public_db.read_bytes() for secret in secrets)
    for search in ("quokka", "lantern manifest", "Maria"):
        assert "Nothing found." in public.get("/search", q=search).text
        assert public.json("/public/documents.json", _search=search)["rows"] == []
        assert public.json("/public/texts.json", _search=search)["rows"] == []
        assert public.sql(f"select rowid from texts_fts where texts_fts match '{search}'").json() == []
    assert public.get(f"/-/files/{withheld_sha}").status_code == 404
    assert public.get(f"/-/previews/{withheld_sha}.png").status_code == 404
    assert public.sql(f"select * from previews where sha256 = '{withheld_sha}'").json() == []
    assert public.get(f"/-/files/{withheld_sha.upper()}").status_code == 404
    assert public.sql(f"select * from blobs where sha256 = '{withheld_sha}'").json() == []


def test_private_tables_and_databases_are_unreachable(ice, public):
    for where, text in every_response_text(public):
        for secret in (SUBSCRIBER, REVIEWER, REVIEW_REASON):
            assert secret not in text, f"{secret!r} reachable at {where}"
    tables = {t["name"] for t in public.sql("select name from sqlite_master").json()}
    assert not tables & {"subscriptions", "review_decisions", "pii_findings", "deliveries", "diff_cursor",
                         "diff_documents"}
    assert public.get("/public/subscriptions").status_code == 404
    assert public.get("/private").status_code == 404 and public.get("/archive").status_code == 404
    assert public.get("/_internal").status_code == 403  # Datasette's own catalogue, root only
    assert public.sql("select * from subscriptions").status_code == 400
    assert [d["name"] for d in public.sql("select * from pragma_database_list").json()] == ["main"]
    assert list(public.json("/-/databases.json")) and {
        d["name"] for d in public.json("/-/databases.json")} == {"public"}
    for attempt in (f"attach database '{ice.data_dir / 'private.db'}' as private",
                    "select * from private.subscriptions", "insert into events (kind) values ('x')",
                    f"select readfile('{ice.data_dir / 'private.db'}')", "select load_extension('x')"):
        assert public.sql(attempt).status_code == 400, attempt


def test_files_withheld_after_publishing_are_taken_down_at_once(ice, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(ice.data_dir, data_dir)
    with Served(data_dir) as served:
        (document,) = served.rows("/public/documents", title=SEARCH_TITLE)
        assert served.get(document["download"]).status_code == 200
        with Archive(data_dir) as archive:
            withhold(archive, document["sha256"], "reviewer", "a name in a footnote")
        assert served.get(document["download"]).status_code == 404  # before any new publish
        assert served.rows("/public/documents", title=SEARCH_TITLE)[0]["withheld"] is None
        build_public(data_dir)  # a publish while serving: the next request sees the new database
        (document,) = served.rows("/public/documents", title=SEARCH_TITLE)
        assert document["withheld"] == "withheld by a reviewer" and document["download"] is None
        assert served.json("/public/documents.json", _search=SEARCH_PHRASE)["rows"] == []


def test_publish_reads_the_archive_and_replaces_the_public_database(ice, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(ice.data_dir, data_dir)
    archive_files = sorted(p for p in data_dir.iterdir() if p.name.startswith("archive.db"))
    before = {p.name: p.read_bytes() for p in archive_files}
    old_inode = ice.public_db.stat().st_ino
    result = CliRunner().invoke(cli, ["publish", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "files downloadable" in result.output and "withheld" in result.output
    assert {p.name: p.read_bytes() for p in archive_files} == before
    public_db = data_dir / "public" / "public.db"
    assert public_db.stat().st_ino != old_inode
    assert [p.name for p in public_db.parent.iterdir()] == ["public.db"]  # no partial file left
    missing = CliRunner().invoke(cli, ["publish", "--data-dir", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "no archive database" in missing.output
    assert not (tmp_path / "nowhere").exists()
    refused = CliRunner().invoke(cli, ["serve", "--data-dir", str(tmp_path / "nowhere")])
    assert refused.exit_code == 1 and "foiawatch publish" in refused.output


@pytest.mark.parametrize("stored, served", [
    ("application/pdf", "application/pdf"),
    ("APPLICATION/PDF; qs=1", "application/pdf"),
    ("text/plain", "text/plain; charset=utf-8"),
    ("text/html; charset=utf-8", "application/octet-stream"),
    ("image/svg+xml", "application/octet-stream"),
    ("application/xhtml+xml", "application/octet-stream"),
    ("application/javascript", "application/octet-stream"),
    (None, "application/octet-stream"),
])
def test_files_are_served_with_a_safe_content_type(stored, served):
    assert safe_content_type(stored) == served


@pytest.mark.parametrize("url, mimetype, name", [
    ("https://x.gov/doclib/foia/Report%20FY2016.pdf", "application/pdf", "Report_FY2016.pdf"),
    ("https://x.gov/doclib/redirect/1009", "application/pdf", "1009.pdf"),
    ('https://x.gov/a/"evil";.pdf', None, "evil_.pdf"),
    (None, "application/zip", "ab" * 32 + ".zip"),
])
def test_download_file_names_are_safe_in_a_header(url, mimetype, name):
    assert public_file_name("ab" * 32, mimetype, url) == name


def record_recovered_copy(archive: Archive, url: str, body: bytes) -> str:
    """A document removed before monitoring, as the Wayback baseline and recovery record it: its capture, the copy
    recovered from it (text extracted, not screened yet) and the event. Returns the copy's sha256."""
    db = archive.db
    stored = archive.blobs.put_bytes(body)
    archive.record_blob(stored, "text/plain", source="wayback")
    db.execute("insert into texts (sha256, status, text) values (?, 'ok', ?)", [stored.sha256, body.decode()])
    raw_url = f"https://web.archive.org/web/20150101000000id_/{url}"
    db.execute("insert into captures (agency_id, urlkey, timestamp, original, url, digest, raw_url, seen_at) "
               "values ('demo', ?, '20150101000000', ?, ?, 'SHA1DIGEST', ?, '2030-01-01')", [url, url, url, raw_url])
    db.execute("insert into recoveries (agency_id, url, capture_timestamp, original, capture_digest, raw_url, "
               "status, sha256, retrieved_at) "
               "values ('demo', ?, '20150101000000', ?, 'SHA1DIGEST', ?, 'ok', ?, '2030-01-01')",
               [url, url, raw_url, stored.sha256])
    db.execute("insert into events (agency_id, kind, url, title, section, detected_at, summary, evidence, "
               "dedupe_key) values ('demo', 'removed_before_monitoring', ?, ?, 'secure-communities', "
               "'2030-01-01T00:00:00+00:00', 'Captured, never listed, gone now.', '{}', ?)",
               [url, url.rsplit("/", 1)[1], "removed_before_monitoring:demo:" + url])
    db.conn.commit()
    return stored.sha256


def test_wayback_recoveries_are_published_when_the_archive_has_them(ice, tmp_path):
    """Tables of Wayback recovery (archive/schema/wayback.py) are copied; a document removed before monitoring gets
    its recovered copy, screened like any other blob."""
    data_dir = tmp_path / "data"
    shutil.copytree(ice.data_dir, data_dir)
    gone = {"clean": ("https://www.ice.gov/doclib/foia/secure-communities/SC_Rollout_2009.pdf",
                      b"Secure Communities rollout plan, 2009. Interoperability in Harris County."),
            "pii": ("https://www.ice.gov/doclib/foia/secure-communities/SC_Call_Log.txt",
                    b"Call log. Caller DOB: 04/12/1961, SSN: 123-45-6789.")}
    with Archive(data_dir) as archive:
        shas = {name: record_recovered_copy(archive, url, body) for name, (url, body) in gone.items()}
        screen_pending(archive)
    build_public(data_dir)
    with Served(data_dir) as served:
        rows = {r["url"]: r for r in served.rows("/public/removed_documents", kind="removed_before_monitoring")}
        clean, pii = rows[gone["clean"][0]], rows[gone["pii"][0]]
        assert clean["copy_from"] == "wayback" and clean["recovered_copy"] == "/-/files/" + shas["clean"]
        download = served.get(clean["recovered_copy"])
        assert download.content == gone["clean"][1]
        assert download.headers["content-disposition"] == 'attachment; filename="SC_Rollout_2009.pdf"'
        assert pii["recovered_copy"] is None and pii["withheld"] == "high-risk PII: dob, ssn"
        assert served.get("/-/files/" + shas["pii"]).status_code == 404
        assert served.rows("/public/withholdings", sha256=shas["pii"])[0]["reason"] == "high-risk PII: dob, ssn"
        assert len(served.rows("/public/captures")) == 2 and len(served.rows("/public/recoveries")) == 2
        feed = feedparser.parse(served.get("/public/takedown_feed.atom").content)
        titles = [entry.title for entry in feed.entries[:2]]  # the newest
        assert any(t.endswith("removed before monitoring “SC_Rollout_2009.pdf”") for t in titles), titles
        assert "123-45-6789" not in served.sql("select * from texts").text
