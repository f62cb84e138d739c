"""The demo library site behaves like the agency sites the crawler must survive, in every state it can be put in."""

from __future__ import annotations

import hashlib
import io
import zipfile
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urljoin, urlsplit
from xml.etree import ElementTree

import pytest
import requests
from parsel import Selector
from pypdf import PdfReader

from foiawatch.config import find_config
from foiawatch.demo import (
    OUTAGE_NOTICE,
    SECURE_COMMUNITIES_PARAGRAPH,
    SECURE_COMMUNITIES_SECTIONS,
    DemoLibrary,
    DemoSite,
    LibraryState,
    preset,
)
from foiawatch.demo.library import DEMO_NOTICE, document_bytes
from foiawatch.demo.pdf import make_pdf

LIBRARY = DemoLibrary.ice_2017()
ALL_PATHS = {d.path for d in LIBRARY.documents()}
SC_PATHS = {d.path for slug in SECURE_COMMUNITIES_SECTIONS for d in LIBRARY.section(slug).documents}
PDF = LIBRARY.section("detention-management").documents[1]  # linked with an absolute URL
REDIRECTED = next(d for d in LIBRARY.documents() if d.link_style == "redirect")


@pytest.fixture(scope="module")
def running():
    with DemoSite(LIBRARY) as site:
        yield site


@pytest.fixture
def site(running):
    running.set_state("v1")
    running.clear_requests()
    return running


def get(site: DemoSite, path: str, **kwargs) -> requests.Response:
    return requests.get(site.url + path, timeout=5, **kwargs)


def crawl(site: DemoSite) -> tuple[dict[str, str], list[str]]:
    """Walk the library like the crawler will: the root, then the collection pages by their next links.

    Returns {document path: section} (redirect links resolved without downloading) and the pages visited."""
    found, pages = {}, []
    url = site.library_url
    root = Selector(get(site, "/foia/library").text)
    for link in root.css("main h2 + p + ul a"):
        section = link.xpath("ancestor::ul/preceding-sibling::h2[1]/text()").get()
        found[_final_path(site, urljoin(url, link.attrib["href"]))] = section
    for link in root.css(".view-grouping table.views-table td a"):
        section = link.xpath("ancestor::div[@class='view-grouping']/div[@class='view-grouping-header']/text()").get()
        found[_final_path(site, urljoin(url, link.attrib["href"]))] = section
    page_url = urljoin(url, root.css("p.library-more a::attr(href)").get())
    while page_url:
        pages.append(page_url[len(site.url):])
        page = Selector(requests.get(page_url, timeout=5).text)
        for link in page.css("li.usa-collection__item h4.usa-collection__heading > a"):
            section = link.css("::text").get().rsplit(" | ", 1)[1]
            found[_final_path(site, urljoin(page_url, link.attrib["href"]))] = section
        next_href = page.css("a.usa-pagination__next-page::attr(href)").get()
        page_url = urljoin(page_url, next_href) if next_href else None
    return found, pages


def _final_path(site: DemoSite, url: str) -> str:
    path = urlsplit(url).path
    if path.startswith("/doclib/redirect/"):
        response = requests.head(url, timeout=5, allow_redirects=False)
        assert response.status_code == 301
        path = urlsplit(response.headers["Location"]).path
    return path


def main_text(html: str) -> str:
    """The visible text of the main region once the volatile parts the demo config ignores are dropped."""
    main = Selector(html).css("main")[0]
    for node in main.css("form, script, .last-updated"):
        node.drop()
    return " ".join(main.xpath("string()").get().split())


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data), strict=True)
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


# --- v1 -------------------------------------------------------------------------------------------------------


def test_v1_lists_every_document_under_its_section(site):
    found, pages = crawl(site)
    assert set(found) == ALL_PATHS
    for document in LIBRARY.documents():
        assert found[document.path] == LIBRARY.section(document.section).title
    assert pages == ["/foia/library/collection", "/foia/library/collection?page=1", "/foia/library/collection?page=2"]


def test_library_uses_every_layout_and_link_style(site):
    root = Selector(get(site, "/foia/library").text)
    assert root.css("main h2::text").getall() == [
        "Secure Communities", "Secure Communities: memorandums of agreement", "Detention management",
    ]
    assert root.css(".view-grouping-header::text").getall() == ["Secure Communities statistics", "Removal statistics"]
    hrefs = root.css("main a::attr(href)").getall()
    assert any(h.startswith("http://127.0.0.1:") for h in hrefs)
    assert any(h.startswith("../doclib/") for h in hrefs)
    assert any(h.startswith("/doclib/redirect/") for h in hrefs)
    assert any(h.endswith(".PDF") for h in hrefs)
    collection = Selector(get(site, "/foia/library/collection?page=2").text)
    assert len(collection.css("li.usa-collection__item")) == 1
    assert collection.css("li.usa-collection__item time::attr(datetime)").get()
    assert not collection.css("a.usa-pagination__next-page")
    past_the_end = Selector(get(site, "/foia/library/collection?page=3").text)
    assert not past_the_end.css("li.usa-collection__item")


def test_documents_carry_type_length_and_a_strong_sha256_etag(site):
    for document in LIBRARY.documents():
        response = get(site, document.path)
        assert response.status_code == 200, document.path
        assert response.headers["Content-Type"] == document.content_type
        assert int(response.headers["Content-Length"]) == len(response.content)
        assert response.headers["ETag"] == '"' + hashlib.sha256(response.content).hexdigest() + '"'
        assert parsedate_to_datetime(response.headers["Last-Modified"]).date().isoformat() == document.date


def test_paths_keep_their_case(site):
    assert get(site, PDF.path).status_code == 200
    assert get(site, PDF.path.lower()).status_code == 404


def test_redirect_links_lead_to_the_file(site):
    response = get(site, f"/doclib/redirect/{REDIRECTED.id}")
    assert [r.status_code for r in response.history] == [301]
    assert urlsplit(response.url).path == REDIRECTED.path
    assert response.content == document_bytes(REDIRECTED, REDIRECTED.text)
    site.set_state(LibraryState().remove(REDIRECTED.path))
    assert get(site, f"/doclib/redirect/{REDIRECTED.id}").status_code == 404


def test_head_answers_headers_without_a_body(site):
    response = requests.head(site.url + PDF.path, timeout=5)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(document_bytes(PDF, PDF.text))
    assert response.content == b""


def test_robots_txt_allows_everything(site):
    response = get(site, "/robots.txt")
    assert response.status_code == 200
    assert response.text.splitlines() == ["User-agent: *", "Disallow:"]


def test_listing_pages_change_only_in_their_volatile_bits(site):
    first, second = get(site, "/foia/library").text, get(site, "/foia/library").text
    assert first != second  # fresh form_build_id every time, as Drupal does
    assert Selector(first).css("input[name=form_build_id]::attr(value)").get().startswith("form-")
    assert main_text(first) == main_text(second)


# --- file contents ------------------------------------------------------------------------------------------


def test_pdfs_extract_to_their_text(site):
    text = pdf_text(get(site, PDF.path).content)
    assert text.startswith(PDF.title)
    for paragraph in PDF.text.split("\n\n"):
        assert " ".join(paragraph.split()) in text
    assert DEMO_NOTICE in text


def test_pdfs_are_deterministic_and_paginate_long_text():
    paragraphs = [f"Paragraph {i}: the quick brown fox jumps over the lazy dog. " * 4 for i in range(60)]
    data = make_pdf("Long (report)", paragraphs)
    assert data == make_pdf("Long (report)", paragraphs)
    reader = PdfReader(io.BytesIO(data), strict=True)
    assert len(reader.pages) > 1
    assert reader.metadata.title == "Long (report)"
    assert " ".join(paragraphs[-1].split()) in pdf_text(data)


def test_xlsx_and_zip_are_valid_packages(site):
    sheet = LIBRARY.section("removal-statistics").documents[2]
    with zipfile.ZipFile(io.BytesIO(get(site, sheet.path).content)) as workbook:
        assert "[Content_Types].xml" in workbook.namelist()
        root = ElementTree.fromstring(workbook.read("xl/worksheets/sheet1.xml"))
    cells = [node.text for node in root.iter() if node.tag.endswith("}t") or node.tag.endswith("}v")]
    assert cells[:4] == ["Country", "Removals", "Mexico", "149821"]
    archive = LIBRARY.section("removal-statistics").documents[3]
    with zipfile.ZipFile(io.BytesIO(get(site, archive.path).content)) as files:
        assert files.testzip() is None
        assert "Four years of removal statistics" in pdf_text(files.read("Removal_Statistics_FY2013-FY2016.pdf"))


# --- presets ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/foia/library", "/foia/library/collection?page=1", PDF.path])
def test_outage_answers_the_notice_everywhere(site, path):
    site.set_state("outage")
    response = get(site, path)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert OUTAGE_NOTICE in main_text(response.text)
    assert not Selector(response.text).css("main a")


def test_v2_takedown_drops_exactly_the_secure_communities_sections_and_paragraph(site):
    before = main_text(get(site, "/foia/library").text)
    site.set_state("v2_takedown")
    found, _ = crawl(site)
    assert set(found) == ALL_PATHS - SC_PATHS
    assert len(SC_PATHS) == 20
    for path in SC_PATHS:
        response = get(site, path)
        assert response.status_code == 404
        assert "Page not found" in Selector(response.text).css("h1::text").get()
    after = main_text(get(site, "/foia/library").text)
    paragraph = next(p.text for p in LIBRARY.paragraphs if p.id == SECURE_COMMUNITIES_PARAGRAPH)
    assert paragraph in before and paragraph not in after
    assert all(p.text in after for p in LIBRARY.paragraphs if p.id != SECURE_COMMUNITIES_PARAGRAPH)
    assert "Secure Communities" not in after


def test_blocked_answers_a_challenge_with_the_chosen_status(site):
    site.set_state("blocked")
    response = get(site, "/foia/library")
    assert response.status_code == 403
    assert "Just a moment..." in response.text and response.headers["cf-mitigated"] == "challenge"
    site.set_state(LibraryState(blocked=True, blocked_status=200))
    response = get(site, "/foia/library/collection")
    assert response.status_code == 200 and "Checking your browser" in response.text


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(ValueError, match="v2_takedown"):
        preset("v3")


# --- single mutations ---------------------------------------------------------------------------------------


def test_moved_document_keeps_its_bytes_at_the_new_path_only(site):
    new_path = "/doclib/foia/detention-management/archive/Detainee_Handbook_National_2016.pdf"
    old_bytes = get(site, PDF.path).content
    site.set_state(LibraryState().move(PDF.path, new_path))
    found, _ = crawl(site)
    assert new_path in found and PDF.path not in found
    assert get(site, PDF.path).status_code == 404
    assert get(site, new_path).content == old_bytes


def test_edited_document_changes_bytes_etag_and_last_modified(site):
    old = get(site, PDF.path)
    site.set_state(LibraryState().edit(PDF.path, "The handbook was revised.\n\nSection four was withdrawn."))
    revalidated = get(site, PDF.path, headers={"If-None-Match": old.headers["ETag"]})
    assert revalidated.status_code == 200
    assert revalidated.headers["ETag"] != old.headers["ETag"]
    assert "Section four was withdrawn." in pdf_text(revalidated.content)
    assert get(site, PDF.path, headers={"If-Modified-Since": old.headers["Last-Modified"]}).status_code == 200
    assert parsedate_to_datetime(revalidated.headers["Last-Modified"]) > parsedate_to_datetime(
        old.headers["Last-Modified"])
    found, _ = crawl(site)
    assert set(found) == ALL_PATHS


def test_unlisted_document_is_still_served(site):
    site.set_state(LibraryState().unlist(PDF.path, REDIRECTED.path))
    found, _ = crawl(site)
    assert set(found) == ALL_PATHS - {PDF.path, REDIRECTED.path}
    assert get(site, PDF.path).status_code == 200
    assert get(site, f"/doclib/redirect/{REDIRECTED.id}").status_code == 200


def test_failing_page_answers_500_and_the_others_do_not(site):
    site.set_state(LibraryState().fail_pages("/foia/library/collection?page=1"))
    assert get(site, "/foia/library/collection?page=1").status_code == 500
    assert get(site, "/foia/library/collection").status_code == 200
    assert get(site, "/foia/library").status_code == 200


def test_states_naming_unknown_things_are_refused():
    with pytest.raises(ValueError, match="not a document"):
        LIBRARY.view(LibraryState().remove("/doclib/foia/nowhere.pdf"))
    with pytest.raises(ValueError, match="section"):
        LIBRARY.view(LibraryState().remove_sections("secure-community"))
    with pytest.raises(ValueError, match="unknown document fault"):
        LibraryState().fault(PDF.path, "slow")


# --- conditional requests -----------------------------------------------------------------------------------


def test_conditional_requests_get_304(site):
    first = get(site, PDF.path)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    by_etag = get(site, PDF.path, headers={"If-None-Match": etag})
    by_date = get(site, PDF.path, headers={"If-Modified-Since": modified})
    assert (by_etag.status_code, by_etag.content, by_etag.headers["ETag"]) == (304, b"", etag)
    assert by_date.status_code == 304
    earlier = format_datetime(parsedate_to_datetime(modified).replace(year=2000), usegmt=True)
    assert get(site, PDF.path, headers={"If-Modified-Since": earlier}).status_code == 200
    assert get(site, PDF.path, headers={"If-None-Match": '"other"', "If-Modified-Since": modified}).status_code == 200
    log = [r for r in site.requests if r.path == PDF.path]
    assert [(r.status, r.headers.get("if-none-match")) for r in log[:2]] == [(200, None), (304, etag)]


# --- document faults ----------------------------------------------------------------------------------------


def faulty(site: DemoSite, kind: str, **state) -> None:
    site.set_state(LibraryState(**state).fault(PDF.path, kind))


def test_fault_timeout_answers_only_after_the_delay(site):
    faulty(site, "timeout", fault_delay=0.5)
    with pytest.raises(requests.ReadTimeout):
        requests.get(site.url + PDF.path, timeout=0.2)
    assert get(site, PDF.path).status_code == 200


@pytest.mark.parametrize("kind, message", [("reset", "reset"), ("truncate", "IncompleteRead")])
def test_fault_breaks_the_body_after_promising_it_all(site, kind, message):
    faulty(site, kind)
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match=message):
        get(site, PDF.path)


def test_fault_html_answers_a_not_found_page_with_200(site):
    faulty(site, "html")
    response = get(site, PDF.path)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Page not found" in response.text


def test_fault_redirect_loop_never_ends(site):
    faulty(site, "redirect_loop")
    with pytest.raises(requests.TooManyRedirects):
        get(site, PDF.path)


def test_fault_soft404_redirects_to_the_home_page(site):
    faulty(site, "soft404")
    response = get(site, PDF.path)
    assert [r.status_code for r in response.history] == [301]
    assert urlsplit(response.url).path == "/"
    assert response.headers["Content-Type"].startswith("text/html")


def test_fault_oversize_announces_and_sends_the_large_body(site):
    faulty(site, "oversize", oversize_bytes=3_000_000)
    assert requests.head(site.url + PDF.path, timeout=5).headers["Content-Length"] == "3000000"
    response = get(site, PDF.path)
    assert len(response.content) == 3_000_000
    assert response.content.startswith(b"%PDF-")


@pytest.mark.parametrize("kind, status", [("500", 500), ("410", 410)])
def test_fault_status(site, kind, status):
    faulty(site, kind)
    assert get(site, PDF.path).status_code == status


# --- synthetic library and config ---------------------------------------------------------------------------


def test_synthetic_library_is_large_paginated_and_served():
    library = DemoLibrary.synthetic(10_000)
    view = library.view(LibraryState())
    assert len(view.listed_paths()) == 10_000
    assert {s.layout for s in library.sections} == {"list", "table", "collection"}
    small = DemoLibrary.synthetic(120, n_sections=10, page_size=25)
    with DemoSite(small) as site:
        found, pages = crawl(site)
    assert set(found) == {d.path for d in small.documents()}
    collection_items = sum(len(s.documents) for s in small.sections if s.layout == "collection")
    assert len(pages) == -(-collection_items // 25)


def test_demo_config_matches_the_site():
    config = find_config("demo")
    assert config.library_urls[0].endswith("/foia/library")
    assert config.politeness.delay == 0 and config.politeness.concurrency == 8
    assert config.wayback.prefix.endswith("/doclib/foia/")
    assert {d.kind for d in LIBRARY.documents()} <= set(config.documents.extensions)
    assert config.listing.title_section_separator == " | "
