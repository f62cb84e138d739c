"""The reader's site beyond the browser: PDF previews under their budget (a hostile file fails alone, a withheld one
is never opened), plain `datasette public.db -m metadata.yaml` with foiawatch installed, readable diffs, the chart,
search terms a reader types, and statuses that are true now."""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import feedparser
import httpx
import pytest

from foiawatch.archive.pii import screen_pending, withhold
from foiawatch.demo.pdf import make_pdf
from foiawatch.publish import build_public
from foiawatch.publish.chart import month_span, takedowns_svg
from foiawatch.publish.diffview import readable
from foiawatch.publish.pages import fts_query
from foiawatch.publish.preview import PreviewBudget, render_preview
from foiawatch.publish.serve import CONFIG_DIR
from foiawatch.publish.wording import evidence_words

from .conftest import free_port
from .support.datasette import answering
from .test_publish import IceScenario, ice_scenario
from .test_side_channels import Library

CLEAN = "Guidance on the use of segregation in detention, revised."


def pdf_document(library: Library, name: str, body: bytes, text: str = CLEAN) -> tuple[int, str]:
    """A listed PDF document whose bytes are ``body`` and whose extracted text is ``text``."""
    document, _ = library.document(name, text)
    stored = library.archive.blobs.put_bytes(body)
    with library.db.conn:
        library.archive.record_blob(stored, "application/pdf", source="crawl")
        library.db.execute("insert or ignore into texts (sha256, status, text) values (?, 'ok', ?)",
                           [stored.sha256, text])
        library.db.execute("update documents set sha256 = ?, mimetype = 'application/pdf' where id = ?",
                           [stored.sha256, document])
    return document, stored.sha256


def previews(data_dir: Path) -> dict[str, tuple[bool, str | None]]:
    with sqlite3.connect(data_dir / "public" / "public.db") as public:
        return {sha: (png is not None, error) for sha, png, error in public.execute(
            "select sha256, png, error from previews")}


def test_previews_fail_alone_for_hostile_pdfs_and_never_open_withheld_ones(tmp_path):
    library = Library(tmp_path)
    _, good = pdf_document(library, "good.pdf", make_pdf("A memo", ["First paragraph.", "Second."]))
    _, broken = pdf_document(library, "broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF")
    _, giant = pdf_document(library, "giant.pdf", make_pdf("A memo", ["x"]).replace(
        b"/MediaBox [0 0 612 792]", b"/MediaBox [0 0 612 50000]"))
    _, withheld = pdf_document(library, "withheld.pdf", make_pdf("Private", ["SSN: 482-18-7800"]),
                               text="Caller SSN: 482-18-7800.")
    screen_pending(library.archive)
    stats = build_public(library.data_dir)
    got = previews(library.data_dir)
    assert got[good] == (True, "")
    assert got[broken][0] is False and got[broken][1].startswith("PDFium cannot open it")
    assert got[giant] == (False, "the first page's size is implausible (612 x 50000 points)")
    assert withheld not in got  # never rendered: the file is not published
    assert stats.rows["previews rendered"] == 1 and stats.rows["previews failed"] == 2
    # The next publish reuses them (a failure is not tried again while the bytes are the same).
    again = build_public(library.data_dir)
    assert again.rows["previews reused"] == 3 and again.rows["previews rendered"] == 0
    assert previews(library.data_dir) == got
    with sqlite3.connect(library.data_dir / "public" / "public.db") as public:
        width, height, png = public.execute("select width, height, png from previews where sha256 = ?",
                                            [good]).fetchone()
    assert png.startswith(b"\x89PNG") and width == 600 and height > 700 and len(png) < 300_000


def test_a_preview_over_its_budget_fails_with_the_reason(tmp_path):
    pdf = tmp_path / "memo.pdf"
    pdf.write_bytes(make_pdf("A memo", ["Some text."] * 40))
    assert render_preview(pdf, None, PreviewBudget(seconds_per_file=0.01)) == (
        None, "rendering took longer than 0.01 s")
    png, reason = render_preview(pdf, None, PreviewBudget(max_png_bytes=200))
    assert png is None and re.fullmatch(r"the preview would be [\d,]+ bytes, over the 200-byte budget", reason)
    assert render_preview(pdf, None, PreviewBudget(max_pdf_bytes=10))[1] == \
        "larger than the 0 MiB a preview is rendered from"
    assert render_preview(tmp_path / "gone.pdf", None) == (None, "the file is not in the blob store")
    png, reason = render_preview(pdf, None)
    assert reason == "" and png is not None and png.startswith(b"\x89PNG")


def test_a_publish_stops_rendering_at_its_time_budget_and_the_next_goes_on(tmp_path):
    library = Library(tmp_path)
    shas = [pdf_document(library, f"memo-{n}.pdf", make_pdf(f"Memo {n}", ["Text."]))[1] for n in range(3)]
    screen_pending(library.archive)
    stats = build_public(library.data_dir, PreviewBudget(total_seconds=0))
    assert stats.rows["previews deferred"] == 3 and previews(library.data_dir) == {}
    assert build_public(library.data_dir).rows["previews rendered"] == 3
    assert set(previews(library.data_dir)) == set(shas)


# plain datasette, with foiawatch installed ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def plain_datasette(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, IceScenario]]:
    """`datasette public.db -m metadata.yaml`: Datasette finds foiawatch's plugin by its entry point."""
    scenario = ice_scenario(tmp_path_factory)
    port = free_port()
    command = [sys.executable, "-m", "datasette", str(scenario.public_db), "-m", str(CONFIG_DIR / "metadata.yaml"),
               "--port", str(port)]
    with answering(command, port) as url:
        yield url, scenario


def test_plain_datasette_serves_the_readers_site(plain_datasette):
    url, scenario = plain_datasette
    plugins = {p["name"] for p in httpx.get(url + "/-/plugins.json").json()}
    assert "foiawatch" in plugins
    home = httpx.get(url + "/")
    assert home.status_code == 200 and "Latest takedowns" in home.text and '<html lang="en">' in home.text
    sha256, _ = scenario.blob("Secure Communities Standard Operating Procedures")
    with sqlite3.connect(scenario.public_db) as public:
        (key,) = public.execute("select key from catalogue where sha256 = ?", [sha256]).fetchone()
    page = httpx.get(f"{url}/documents/{key}")
    assert page.status_code == 200 and "Cite this" in page.text
    download = httpx.get(f"{url}/-/files/{sha256}")  # the archive, found beside the public database
    assert download.status_code == 200 and download.headers["content-disposition"].startswith("attachment")
    assert httpx.get(f"{url}/-/previews/{sha256}.png").headers["content-type"] == "image/png"
    feed = feedparser.parse(httpx.get(url + "/agencies/demo.atom").content)
    assert feed.bozo == 0 and feed.feed.id == "urn:foiawatch:feed:agency:demo" and feed.entries
    # The limits of a server open to anyone hold here too.
    big = httpx.get(url + "/public.json", params={"sql": "select randomblob(300000000)"})
    assert big.status_code == 400 and "too big" in big.text


# the pieces --------------------------------------------------------------------------------------------------------


def test_a_diff_reads_as_lines_and_words_that_changed():
    diff = readable("--- a\n+++ b\n@@ -1,3 +1,3 @@\n Title\n-The fee is 10 dollars.\n+The fee is 25 dollars.\n"
                    " Footer\n@@ -9,1 +9,2 @@\n-Gone entirely, nothing like it.\n+A new line <b>here</b>\n+And more")
    kinds = [(line.kind, line.old, line.new) for line in diff.lines]
    assert kinds == [("context", 1, 1), ("removed", 2, None), ("added", None, 2), ("context", 3, 3),
                     ("gap", None, None), ("removed", 9, None), ("added", None, 9), ("added", None, 10)]
    assert str(diff.lines[1].html) == "The fee is <del>10</del> dollars."
    assert str(diff.lines[2].html) == "The fee is <ins>25</ins> dollars."
    assert str(diff.lines[6].html) == "A new line &lt;b&gt;here&lt;/b&gt;"  # unlike its removed line: no marks
    assert readable("\n".join(f"+line {n}" for n in range(50)), max_lines=10).cut


def test_the_chart_spans_months_and_says_what_it_shows():
    months = month_span({"2017-10": 20, "2016-12": 3}, span=12)
    assert months[0] == ("2016-11", 0) and months[1] == ("2016-12", 3) and months[-1] == ("2017-10", 20)
    svg = takedowns_svg(months)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and 'role="img"' in svg
    assert "<title id=\"chart-title\">Documents removed per month, Nov 2016 to Oct 2017</title>" in svg
    assert "<title>Oct 2017: 20 removed</title>" in svg and svg.count("<rect") == 12
    assert takedowns_svg([]) == ""
    # Labels at the quarters, three bars apart at least, the year on January and on the first label.
    labels = re.findall(r'text-anchor="middle">([^<]+)<', takedowns_svg(month_span({"2026-11": 20})))
    assert labels == ["Jan 2025", "Apr", "Jul", "Oct", "Jan 2026", "Apr", "Jul", "Oct"]
    labels = re.findall(r'text-anchor="middle">([^<]+)<', takedowns_svg(month_span({"2026-08": 5})))
    assert labels[:2] == ["Oct 2024", "Jan 2025"]


def test_a_removal_is_explained_in_plain_words():
    evidence = {"last_listed_crawl": 1, "parts_count": 1,
                "crawls": [{"crawl_id": 2, "http_status": 404}, {"crawl_id": 3, "http_status": 410}]}
    words = " ".join(evidence_words("removed", json.dumps(evidence), {1: "2017-09-30T10:00:00+00:00",
                                                                      2: "2017-10-02T10:00:00+00:00",
                                                                      3: "2017-10-03T10:00:00+00:00"}))
    assert words.startswith("Last listed by the library on 30 Sep 2017. Then missing from the library in 2 "
                            "consecutive complete crawls, and its address, checked directly each time, answered: "
                            "2 Oct 2017: HTTP 404 Not Found; 3 Oct 2017: HTTP 410 Gone.")
    assert words.endswith("1 part of this record went with it.")


@pytest.mark.parametrize("typed, query", [
    ("detention standards", '"detention" "standards"'),
    ('"secure communities" AND -x:y', '"secure communities" "AND" "x" "y"'),
    ('unbalanced "quote', '"unbalanced" "quote"'),
    ("", ""),
])
def test_search_terms_are_never_fts_syntax(typed, query):
    assert fts_query(typed) == query


def test_status_follows_the_latest_event(tmp_path):
    library = Library(tmp_path)
    kept, _ = library.document("kept.txt", CLEAN)
    back, _ = library.document("back.txt", CLEAN + " Back.")
    gone, _ = library.document("gone.txt", CLEAN + " Gone.")
    edited, _ = library.document("edited.txt", CLEAN + " Edited.")
    library.event("removed", document_id=back, title="back")
    library.event("restored", document_id=back, title="back")
    library.event("changed", document_id=back, title="back")  # changed since its return: still "restored"
    library.event("removed", document_id=gone, title="gone")
    library.event("changed", document_id=edited, title="edited")
    screen_pending(library.archive)
    withhold(library.archive, library.db.execute("select sha256 from documents where id = ?", [kept]).fetchone()[0],
             "reviewer", "a name")
    build_public(library.data_dir)
    with sqlite3.connect(library.data_dir / "public" / "public.db") as public:
        status = dict(public.execute("select document_id, status from catalogue").fetchall())
        removed = [row[0] for row in public.execute("select document_id from removed_documents")]
        restored = [row[0] for row in public.execute("select document_id from restored_documents")]
        counts = public.execute("select documents, removed, restored, listed, withheld from agency_counts").fetchone()
    assert status == {kept: "listed", back: "restored", gone: "removed", edited: "changed"}
    assert removed == [gone] and restored == [back]
    assert counts == (4, 1, 1, 3, 1)
