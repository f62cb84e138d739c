"""The listing parser and URL canonicalisation, on real archived .gov pages and on small pages built to the shapes
real libraries use (USWDS collections, Drupal 7 grouped views, plain lists)."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from foiawatch.config import (
    AgencyConfig,
    DocumentRules,
    bundled_config_dir,
    load_config,
    on_allowed_host,
    parse_config,
)
from foiawatch.web.parse import classify_response, parse_listing
from foiawatch.web.urls import canonical_url, extension, is_document_url

REALPAGES = Path(__file__).parent / "fixtures" / "realpages"
EPA_URL = "https://www.epa.gov/hfstudy/epa-published-research-related-hydraulic-fracturing-study"
HPMS_URL = ("https://highways.dot.gov/safety/data-analysis-tools/rsdp/rsdp-tools/"
            "highway-performance-monitoring-system-hpms")


def realpage(name: str) -> bytes:
    return (REALPAGES / name).read_bytes()


def recorded(name: str) -> tuple[int, dict[str, str], bytes]:
    """A Wayback response as recorded: status, headers (first value of each) and body."""
    body = realpage(name)
    meta = json.loads((REALPAGES / f"{name}.headers.json").read_text())
    return meta["status"]["code"], {k: v[0] for k, v in meta["headers"].items()}, body


def config(**listing: object) -> AgencyConfig:
    data: dict = {"agency": {"id": "test", "name": "Test", "library_urls": ["https://www.agency.gov/foia/library"]}}
    documents = listing.pop("documents", None)
    if documents:
        data["documents"] = documents
    if listing:
        data["listing"] = listing
    return parse_config(data, "test.toml")


def page(body: str) -> bytes:
    return f"<!DOCTYPE html><html><head><title>FOIA Library</title></head><body>{body}</body></html>".encode()


# --- canonical URLs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("../files/Report.PDF#page=2", "https://WWW.Agency.GOV:443/foia/library/",
         "https://www.agency.gov/foia/files/Report.PDF"),
        ("HTTP://Example.gov:80", None, "http://example.gov/"),
        ("https://example.gov:8443/a", None, "https://example.gov:8443/a"),
        ("//www.census.gov/geo/gssi/", "https://web.archive.org/x", "https://www.census.gov/geo/gssi/"),
        ("/doclib/foia/reports/identIafisStatsThroughDec2014.xlsx", "https://www.ice.gov/foia/library",
         "https://www.ice.gov/doclib/foia/reports/identIafisStatsThroughDec2014.xlsx"),
        ("?page=2&sort=date", "https://www.ice.gov/foia/library?page=1",
         "https://www.ice.gov/foia/library?page=2&sort=date"),
        ("https://x.gov/list?b=2&a=1", None, "https://x.gov/list?b=2&a=1"),
        ("https://x.gov/a/./b/../c.pdf", None, "https://x.gov/a/c.pdf"),
        ("  https://x.gov/a\n/b.pdf  ", None, "https://x.gov/a/b.pdf"),
        ("https://x.gov/caf%c3%a9/r%65port%7e1.pdf", None, "https://x.gov/caf%C3%A9/report~1.pdf"),
        ("https://x.gov/café/100%.pdf", None, "https://x.gov/caf%C3%A9/100%25.pdf"),
        ("https://x.gov/a%2Fb.pdf", None, "https://x.gov/a%2Fb.pdf"),
    ],
)
def test_canonical_url(url: str, base: str | None, expected: str) -> None:
    assert canonical_url(url, base) == expected


def test_canonical_url_spellings_of_one_fbi_vault_file_agree() -> None:
    base = "https://vault.fbi.gov/Some Collection/"
    spellings = [
        canonical_url("Name Part 01/at_download/file", base),
        canonical_url("https://vault.fbi.gov/Some%20Collection/Name%20Part%2001/at_download/file"),
        canonical_url("https://vault.fbi.gov/Some%20Collection/Name Part%2001/at_download/file#x"),
    ]
    assert spellings == ["https://vault.fbi.gov/Some%20Collection/Name%20Part%2001/at_download/file"] * 3


@pytest.mark.parametrize(
    "url", ["mailto:foia@ice.dhs.gov", "javascript:void(0)", "tel:+18663474357", "data:text/plain,hi", "ftp://x.gov/a",
            "http://[::1", "www.ice.gov/no-scheme"],
)
def test_canonical_url_rejects_non_http(url: str) -> None:
    assert canonical_url(url) is None


def test_is_document_url_extension_pattern_and_exclusion() -> None:
    rules = DocumentRules(url_patterns=(r"/at_download/file$",), exclude_patterns=(r"/privacy/",))
    assert is_document_url("https://www.ice.gov/doclib/foia/Reports/Stats.XLSX", rules)
    assert is_document_url("https://x.gov/files/report.pdf?version=2", rules)
    assert is_document_url("https://vault.fbi.gov/A/B%20Part%2001/at_download/file", rules)
    assert not is_document_url("https://x.gov/foia/library", rules)
    assert not is_document_url("https://x.gov/pdf", rules)  # no extension, just a name
    assert not is_document_url("https://x.gov/privacy/notice.pdf", rules)  # excluded wins over the extension
    assert not is_document_url("https://x.gov/report.pdf.html", rules)
    assert extension("https://x.gov/a%20b.Docx") == "docx"


def test_allowed_hosts_cover_their_www_twin() -> None:
    assert on_allowed_host("https://WWW.ICE.gov:443/x", ["www.ice.gov"])
    assert not on_allowed_host("https://ice.gov.evil.example/x", ["www.ice.gov"])
    assert on_allowed_host("https://ice.gov/x", ["www.ice.gov"])  # the www. twin, both ways
    assert on_allowed_host("https://www.ice.gov/x", ["ice.gov"])
    assert not on_allowed_host("https://www.www.ice.gov/x", ["ice.gov"])
    assert not on_allowed_host("https://wwwice.gov/x", ["ice.gov"])


def test_backslashes_in_a_path_are_slashes() -> None:
    assert canonical_url("\\docs\\a.pdf", "https://x.gov/foia/") == "https://x.gov/docs/a.pdf"
    assert canonical_url("a.pdf?q=a\\b", "https://x.gov/foia/") == "https://x.gov/foia/a.pdf?q=a%5Cb"


# --- real pages ------------------------------------------------------------------------------------------------


@pytest.fixture
def epa_config() -> AgencyConfig:
    """The EPA page's paper pages treated as the documents, to check sections against the page as read by eye."""
    return config(content_selector=".main-column",
                  documents={"url_patterns": [r"^https://www\.epa\.gov/hfstudy/(?!forms/)"]})


def test_epa_sections_list_their_documents(epa_config: AgencyConfig) -> None:
    parsed = parse_listing(realpage("wayback_mementos/epa.gov__hfstudy-published-research__20190101033033.id_.html"),
                           EPA_URL, epa_config)
    by_section = Counter(link.section for link in parsed.occurrences)
    assert list(by_section) == ["Analysis of Existing Data", "Case Studies", "Laboratory Studies",
                                "Scenario Evaluations", "Toxicity Studies"]
    assert list(by_section.values()) == [5, 6, 5, 11, 2]
    found = {link.url.removeprefix("https://www.epa.gov/hfstudy/"): link for link in parsed.documents}
    fracfocus = found["epa-analysis-fracfocus-1-data"]  # href="/hfstudy/epa-analysis-fracfocus-1-data"
    assert (fracfocus.title, fracfocus.section) == ("EPA Analysis of FracFocus 1.0 Data", "Analysis of Existing Data")
    nested = found["review-well-operator-files-hydraulically-fractured-oil-and-gas-production-wells-well-design"]
    assert (nested.title, nested.section) == ("Well Design and Construction", "Analysis of Existing Data")
    killdeer = found["retrospective-case-study-killdeer-north-dakota"]
    assert (killdeer.link_text, killdeer.section) == ("Killdeer, North Dakota", "Case Studies")
    # <h2><span>Laboratory Studies</span></h2>, link wrapped in <p><ins>
    inorganic = found["sources-contributing-inorganic-species-drinking-water-intakes-during-low-flow-conditions"]
    assert inorganic.section == "Laboratory Studies"
    toxicity = found["estimating-potential-toxicity-chemicals-associated-hydraulic-fracturing-operations-using"]
    assert toxicity.section == "Toxicity Studies"
    assert all(link.url.startswith("https://www.epa.gov/hfstudy/") for link in parsed.documents)  # relative hrefs
    assert "forms/contact-us-about-epas-hydraulic-fracturing-study" not in found
    assert parsed.paragraphs[0].startswith("EPA conducted independent research resulting in over 25 peer-reviewed")
    assert not any("Burden et al." in p for p in parsed.paragraphs)  # a document's citation, not prose


def test_epa_alert_banner_is_not_content() -> None:
    body = realpage("wayback_mementos/epa.gov__hfstudy-published-research__20190101033033.id_.html")
    epa = load_config(bundled_config_dir() / "epa-hfstudy.toml")
    whole_body = replace(epa, listing=replace(epa.listing, content_selector="body"))  # banner inside the content root
    banner = re.search(rb'<div class="sitewide-alert sitewide-alert--emergency.*?</div></div>', body, re.S)
    assert banner is not None
    without_banner = body.replace(banner.group(0), b"")
    for agency in (epa, whole_body):
        with_text = parse_listing(body, EPA_URL, agency).text
        assert "lapse in appropriations" not in with_text
        assert "EPA conducted independent research" in with_text
        assert with_text == parse_listing(without_banner, EPA_URL, agency).text


def test_epa_bundled_config_follows_the_paper_pages() -> None:
    epa = load_config(bundled_config_dir() / "epa-hfstudy.toml")
    parsed = parse_listing(realpage("wayback_mementos/epa.gov__hfstudy-published-research__20190101033033.id_.html"),
                           EPA_URL, epa)
    assert parsed.documents == []  # the files are on the paper pages
    assert "https://www.epa.gov/hfstudy/retrospective-case-study-wise-county-texas" in parsed.follow_pages
    assert "https://www.epa.gov/hfstudy/epa-analysis-fracfocus-1-data" in parsed.follow_pages
    assert not any("/forms/" in url or url == EPA_URL for url in parsed.follow_pages)
    assert parsed.outage_notice is None and parsed.blocked is None


def test_energy_gov_versions_differ_only_in_the_changed_list_items() -> None:
    a = realpage("gov_page_versions/energy.gov__root__versionA.html")
    b = realpage("gov_page_versions/energy.gov__root__versionB.html")
    build_ids = [re.search(rb'name="form_build_id" value="([^"]+)"', body).group(1) for body in (a, b)]
    assert build_ids[0] != build_ids[1]  # the raw pages differ in a volatile hidden input as well
    agency = config()
    text_a = parse_listing(a, "https://energy.gov/", agency).text
    text_b = parse_listing(b, "https://energy.gov/", agency).text
    lines_a, lines_b = Counter(text_a.splitlines()), Counter(text_b.splitlines())
    removed, added = lines_a - lines_b, lines_b - lines_a
    assert removed == Counter({
        "Secretary Perry Announces Conditional Commitment to Support Continued Construction of Vogtle Advanced "
        "Nuclear Energy Project": 1,
        "The Vogtle project is the first new nuclear power plant to be licensed and begin construction in the United "
        "States in more than three decades.": 1,
        "Secretary Perry Urges FERC to Take Swift Action to Address Threats to Grid Resiliency": 1,
        "Secretary of Energy Rick Perry formally proposes that the Federal Energy Regulatory Commission (FERC) take "
        "swift action to address threats to grid.": 1,
        "September 29, 2017": 2,
    })
    assert sorted(added) == sorted([
        "Energy Department Invests Up to $50 Million to Improve the Resilience and Security of the "
        "Nation\u00e2\u0080\u0099s Critical Energy Infrastructure",  # mojibake as published
        "Projects to improve the resilience of the Nation's critical energy infrastructure, including the electric "
        "grid and oil and natural gas infrastructure.",
        "September 12, 2017",
        "U.S. Department of Energy Proposes Expedited Approval for Small-Scale Natural Gas Exports",
        "A proposed rule aims to provide faster approval of small-scale exports of natural gas, including liquefied "
        "natural gas (LNG), from export facilities.",
        "September 1, 2017",
    ])
    for build_id in build_ids:
        assert build_id.decode() not in text_a + text_b


def test_fema_drupal_last_updated_stamp_is_normalised_away() -> None:
    agency = config()
    texts = [parse_listing(realpage(f"gov_page_versions/fema.gov__hurricane-maria__version{v}.html"),
                           "https://www.fema.gov/hurricane-maria", agency).text for v in "AB"]
    # The content root is .region-content, not the empty <a id="main-content"> skip-link target.
    assert "This is the main page for up-to-date resources" in texts[0]
    for text in texts:
        assert "Last Updated" not in text
        assert not re.search(r"^10/0[35]/2017 - \d\d:\d\d$", text, re.M)


def test_wayback_toolbar_and_rewriting_do_not_change_the_text() -> None:
    agency = config()
    raw = parse_listing(realpage("wayback_mementos/fws.gov__birds__20171124151315.id_.html"),
                        "https://www.fws.gov/birds/", agency)
    replayed = parse_listing(realpage("wayback_mementos/fws.gov__birds__20171124151315.view-mode.html"),
                             "https://web.archive.org/web/20171124151315/https://www.fws.gov/birds/", agency)
    assert "598 captures" not in replayed.text and "Archive Team" not in replayed.text
    assert replayed.text == raw.text
    assert "Bob Hautman Wins Federal Duck Stamp Contest" in raw.text.splitlines()


def test_akamai_block_is_blocked_and_the_normal_capture_is_ok() -> None:
    status, headers, body = recorded("wayback_mementos/highways.dot.gov__hpms__20260416015729.id_.403.html")
    assert status == 403
    assert classify_response(status, headers, body) == "blocked"
    assert classify_response(200, {"Content-Type": "text/html"}, body) == "blocked"  # the same page served as 200
    assert parse_listing(body, HPMS_URL, config()).blocked == "Akamai access denied"
    status, headers, body = recorded("wayback_mementos/highways.dot.gov__hpms__20260416012735.id_.html")
    assert classify_response(status, headers, body) == "ok"
    parsed = parse_listing(body, HPMS_URL, config())
    assert parsed.blocked is None and "Highway Performance Monitoring System" in parsed.text


def test_bogus_charset_page_parses() -> None:
    body = realpage("gov_page_versions/noaa.gov__radar-status__bogus-charset.html")
    for encoding in (None, "who-knows-what-i-am"):
        parsed = parse_listing(body, "http://radar2pub.bldr.ncep.noaa.gov/", config(), encoding=encoding)
        assert "NWS Level II Radar Receive Status" in parsed.text
        assert "44 sites up (97.8%) of 45 radar sites monitored" in parsed.text.splitlines()


@pytest.mark.parametrize(
    ("name", "verdict", "as_200"),
    [
        ("wayback_mementos/whitehouse.gov__ostp-student-faqs__20201027220743.id_.404.html", "gone", "not_found_page"),
        ("wayback_mementos/census.gov__geo-gssi__20201102233026.id_.404.html", "gone", "not_found_page"),
        ("wayback_mementos/epa.gov__signpost-cc__20200201024405.id_.html", "not_found_page", "not_found_page"),
        ("wayback_mementos/epa.gov__hfstudy-published-research__20190101033033.id_.html", "ok", "ok"),
        ("wayback_mementos/fws.gov__birds__20171124151315.id_.html", "ok", "ok"),
        ("wayback_mementos/cdc.gov__after-travel-japanese__20201123040127.id_.html", "ok", "ok"),
    ],
)
def test_classify_recorded_responses(name: str, verdict: str, as_200: str) -> None:
    status, headers, body = recorded(name)
    assert classify_response(status, headers, body) == verdict
    assert classify_response(200, {"Content-Type": "text/html"}, body) == as_200


# --- synthetic pages in real shapes ----------------------------------------------------------------------------


USWDS = page("""
<main id="main-content">
  <h1>FOIA Library</h1>
  <ul class="usa-collection">
    <li class="usa-collection__item"><div class="usa-collection__body">
      <h4 class="usa-collection__heading"><a href="/doclib/foia/reports/identIafisStatsThroughDec2014.xlsx">
        IDENT/IAFIS Interoperability Statistics | Secure Communities</a></h4>
      <ul class="usa-collection__meta"><li><time datetime="2015-01-20">January 20, 2015</time></li></ul>
    </div></li>
    <li class="usa-collection__item"><div class="usa-collection__body">
      <h4 class="usa-collection__heading"><a href="/doclib/foia/dro_policy_memos/09684drofieldpolicymanual.pdf">
        DRO Field Policy Manual | Detention Management</a></h4>
      <p class="usa-collection__description">Superseded. <a
         href="/doclib/foia/dro_policy_memos/09684drofieldpolicymanual.pdf">Download</a></p>
    </div></li>
    <li class="usa-collection__item"><div class="usa-collection__body">
      <h4 class="usa-collection__heading"><a
         href="https://www.ice.gov/doclib/foia/contracts/Contract.ZIP">Contract files</a></h4>
    </div></li>
  </ul>
  <nav class="usa-pagination" aria-label="Pagination"><ul>
    <li><a href="/foia/library">1</a></li><li><a href="?page=1">2</a></li><li><a href="?page=2">3</a></li>
    <li><a class="usa-pagination__next-page" href="/foia/library?page=2#top">Next</a></li>
  </ul></nav>
  <a href="/foia/library-other?page=2">another list</a>
</main>""")


def ice() -> AgencyConfig:
    return load_config(bundled_config_dir() / "ice.toml")


def test_uswds_collection_items_with_category_titles() -> None:
    parsed = parse_listing(USWDS, "https://www.ice.gov/foia/library?page=1", ice())
    assert [(d.url, d.title, d.section) for d in parsed.documents] == [
        ("https://www.ice.gov/doclib/foia/reports/identIafisStatsThroughDec2014.xlsx",
         "IDENT/IAFIS Interoperability Statistics", "Secure Communities"),
        ("https://www.ice.gov/doclib/foia/dro_policy_memos/09684drofieldpolicymanual.pdf",
         "DRO Field Policy Manual", "Detention Management"),
        ("https://www.ice.gov/doclib/foia/contracts/Contract.ZIP", "Contract files", ""),
    ]
    assert parsed.documents[0].link_text == "IDENT/IAFIS Interoperability Statistics | Secure Communities"
    assert len(parsed.occurrences) == 3  # the "Download" link repeats a document in the same section
    assert parsed.next_pages == ["https://www.ice.gov/foia/library?page=2"]
    assert parsed.follow_pages == []
    assert "Next" not in parsed.text.splitlines()  # the pager sits in a <nav>


def test_first_page_without_parameter_finds_the_numbered_pages() -> None:
    parsed = parse_listing(USWDS, "https://www.ice.gov/foia/library", ice())
    assert parsed.next_pages == ["https://www.ice.gov/foia/library?page=2", "https://www.ice.gov/foia/library?page=1"]


DRUPAL_VIEWS = page("""
<div id="page"><a id="main-content"></a>
<div class="region region-content">
  <h2>Frequently requested records</h2>
  <div class="view view-foia-library">
    <div class="view-content">
      <div class="view-grouping"><div class="view-grouping-header">Detention</div>
        <div class="view-grouping-content">
          <table class="views-table cols-2"><thead><tr><th>Title</th><th>Date</th></tr></thead><tbody>
            <tr class="odd"><td class="views-field views-field-title"><a
                href="/sites/default/files/detention-standards-2011.pdf">Detention Standards 2011</a></td>
                <td><span class="date-display-single" content="2011-02-04T00:00:00-05:00">02/04/2011</span></td></tr>
            <tr class="even"><td><a
                href="/sites/default/files/inspections.xls">Inspections</a></td><td>03/01/2012</td></tr>
          </tbody></table>
        </div></div>
      <div class="view-grouping"><div class="view-grouping-header">Removal</div>
        <div class="view-grouping-content">
          <table class="views-table"><caption>Statistics</caption><tbody>
            <tr><td><a href="/sites/default/files/removals-fy2016.csv">Removals FY2016</a></td></tr>
          </tbody></table>
          <div class="views-row"><a href="/sites/default/files/removal-memo.docx">Removal memo</a></div>
        </div></div>
    </div>
  </div>
  <h2>Other records</h2>
  <div class="views-row"><span class="views-field-title"><a href="/sites/default/files/other.pdf">Other</a></span>
    <span class="date-display-single">January 5, 2016</span></div>
  <div class="item-list"><ul class="pager"><li
    class="pager-next"><a href="/foia-library?page=1">next ›</a></li></ul></div>
</div></div>""")


def test_drupal_grouped_views_tables() -> None:
    parsed = parse_listing(DRUPAL_VIEWS, "https://www.agency.gov/foia-library", config())
    assert [(d.url.rsplit("/", 1)[-1], d.section) for d in parsed.documents] == [
        ("detention-standards-2011.pdf", "Detention"),
        ("inspections.xls", "Detention"),
        ("removals-fy2016.csv", "Statistics"),  # the table's caption, within the "Removal" group
        ("removal-memo.docx", "Removal"),  # after the captioned table, back to the group header
        ("other.pdf", "Other records"),  # after the groups, the next heading
    ]
    assert parsed.next_pages == ["https://www.agency.gov/foia-library?page=1"]
    assert "Detention Standards 2011\n02/04/2011" in parsed.text  # one table cell per line


def test_table_sort_links_are_not_pages() -> None:
    body = page("""<main><table class="views-table"><thead><tr>
      <th><a href="/foia-library?page=1&amp;order=title&amp;sort=asc">Title</a></th></tr></thead>
      <tbody><tr><td><a href="/files/a.pdf">A</a></td></tr></tbody></table>
      <ul class="pager"><li><a href="/foia-library">first</a></li><li><a href="/foia-library?page=0">1</a></li>
      <li class="pager-next"><a href="/foia-library?page=2">next</a></li></ul></main>""")
    parsed = parse_listing(body, "https://www.agency.gov/foia-library?page=1", config())
    # ?page=0 is the first page, which the library lists without the parameter: one URL for one page.
    assert parsed.next_pages == ["https://www.agency.gov/foia-library?page=2",
                                 "https://www.agency.gov/foia-library"]



def test_a_pager_that_writes_the_filters_in_another_order_links_the_same_listing() -> None:
    """A search engine's pager rewrites the query in its own order (the VA's bva_search.jsp links
    ``DB=2016&DB=2017&RS=51`` from a request of ``RS=1&DB=2017&DB=2016``): the same filters, the same listing. A
    link with other filters (one year) is still no page of it."""
    from foiawatch.web.layout import detect

    pager = "".join(f'<a href="/search.jsp?RPP=50&amp;DB=2016&amp;DB=2017&amp;RS={rs}">{n}</a>'
                    for n, rs in ((2, 51), (3, 101)))
    body = page(f'<main><a href="/files/a.txt">A</a><a href="/files/b.txt">B</a>{pager}'
                '<a href="/search.jsp?RPP=50&amp;DB=2017">2017</a></main>')
    here = "https://www.agency.gov/search.jsp?RPP=50&RS=1&DB=2017&DB=2016"
    layout = detect(body, here)
    assert layout.listing.page_parameter == "RS"
    parsed = parse_listing(body, here, replace(config(), listing=layout.listing))
    assert parsed.next_pages == ["https://www.agency.gov/search.jsp?RPP=50&DB=2016&DB=2017&RS=51",
                                 "https://www.agency.gov/search.jsp?RPP=50&DB=2016&DB=2017&RS=101"]


def test_wordpress_numbers_pages_in_the_path() -> None:
    """WordPress's pager (paginate_links) links /page/N of the listing, keeping its query; page 1 is the bare path.
    Another path or another query is not a page of this listing."""
    pager = ('<a href="/files/a.pdf">A</a><div class="pagination">'
             '<a class="page-numbers" href="/opinions/?yr=2024">1</a>'
             '<a class="page-numbers" href="/opinions/page/2/?yr=2024&#038;mo=08#038;mo=08">2</a>'
             '<a class="page-numbers" href="/opinions/page/3/?yr=2024">3</a>'
             '<a href="/opinions/page/4/?yr=2023">2023</a><a href="/news/page/2/?yr=2024">news</a></div>')
    first = parse_listing(page(pager), "https://www.agency.gov/opinions/?yr=2024", config())
    assert first.next_pages == ["https://www.agency.gov/opinions/page/3/?yr=2024"]
    third = parse_listing(page(pager), "https://www.agency.gov/opinions/page/3/?yr=2024", config())
    assert third.next_pages == ["https://www.agency.gov/opinions/?yr=2024"]

PLAIN = page("""
<header><a href="/files/header-logo.pdf">logo</a></header>
<main>
  <p>Records released under the FOIA are posted here.</p>
  <p>Records about the 2017 program review are listed separately.</p>
  <h2>Policies</h2>
  <ul>
    <li><a href="policy/Annual Report 2016.pdf">Annual Report 2016</a>
      <ul><li><a
      href="https://www.agency.gov/foia/library/policy/Annual%20Report%202016.pdf">same report, other spelling</a></li>
          <li><a href="/data/export.XLSX">Data export</a> (<a href="/data/export.zip">zip</a>)</li></ul></li>
    <li><a href="/foia/requests">How to make a request</a></li>
    <li><a href="mailto:foia@agency.gov">Email us about report.pdf</a></li>
    <li><a href="javascript:openReport('x.pdf')">Open</a></li>
    <li><a href="#top">Back to top</a></li>
  </ul>
  <h3>Memoranda</h3>
  <ul><li><a href="https://www.agency.gov/foia/library/policy/Annual%20Report%202016.pdf" title="x"></a></li>
      <li><a href="https://other.example.org/memo.pdf">External memo</a></li></ul>
  <form><input type="hidden" name="form_build_id" value="form-abc123"><input
    type="hidden" name="csrf_token" value="zzz">
    <label>Search</label></form>
  <p>Page last reviewed: March 3, 2024</p>
  <div>Showing 1 - 4 of 4 results</div>
</main>
<footer><p>Last updated on December 13, 2016</p></footer>""")


def test_plain_list_links_dedup_and_sections() -> None:
    parsed = parse_listing(PLAIN, "https://www.agency.gov/foia/library/", config(follow_patterns=[r"/foia/requests$"]))
    report = "https://www.agency.gov/foia/library/policy/Annual%20Report%202016.pdf"
    assert [d.url for d in parsed.documents] == [
        report, "https://www.agency.gov/data/export.XLSX", "https://www.agency.gov/data/export.zip",
        "https://other.example.org/memo.pdf",
    ]
    assert parsed.documents[0].title == "Annual Report 2016"
    assert [(o.url, o.section) for o in parsed.occurrences if o.url == report] == [(report, "Policies"),
                                                                                    (report, "Memoranda")]
    memoranda = next(o for o in parsed.occurrences if o.section == "Memoranda" and o.url == report)
    assert (memoranda.link_text, memoranda.title) == ("", "x")  # an empty link falls back to its title attribute
    assert parsed.follow_pages == ["https://www.agency.gov/foia/requests"]
    assert parsed.paragraphs == ["Records released under the FOIA are posted here.",
                                 "Records about the 2017 program review are listed separately."]
    lines = parsed.text.splitlines()
    assert "Data export (zip)" in lines and "Annual Report 2016" in lines
    for volatile in ("form-abc123", "zzz", "Search", "Page last reviewed", "Showing 1", "logo", "December 13"):
        assert volatile not in parsed.text


def test_unchanged_page_with_new_stamps_reads_the_same_and_a_deleted_paragraph_shows() -> None:
    agency = config()
    later = (PLAIN.replace(b"March 3, 2024", b"April 30, 2025").replace(b"form-abc123", b"form-def456")
             .replace(b"Showing 1 - 4 of 4", b"Showing 1 - 4 of 5"))
    assert parse_listing(PLAIN, "https://www.agency.gov/foia/library/", agency).text == \
        parse_listing(later, "https://www.agency.gov/foia/library/", agency).text
    deleted = later.replace(b"<p>Records about the 2017 program review are listed separately.</p>", b"")
    assert parse_listing(deleted, "https://www.agency.gov/foia/library/", agency).paragraphs == [
        "Records released under the FOIA are posted here."]


def test_base_href_is_respected() -> None:
    body = b'<html><head><base href="https://cdn.agency.gov/foia/"></head><body><a href="a.pdf">A</a></body></html>'
    parsed = parse_listing(body, "https://www.agency.gov/library", config())
    assert [d.url for d in parsed.documents] == ["https://cdn.agency.gov/foia/a.pdf"]


def test_outage_notice_replacing_the_library() -> None:
    body = page('<main><h1>FOIA Library</h1><p>The ICE FOIA library is temporarily unavailable while it undergoes '
                'review.</p><p><a href="/doclib/foia/privacy.pdf">Privacy notice</a></p></main>')
    parsed = parse_listing(body, "https://www.ice.gov/foia/library", ice())
    assert parsed.outage_notice == "The ICE FOIA library is temporarily unavailable while it undergoes review."
    assert parsed.blocked is None


def test_outage_notice_in_an_ignored_alert_banner_still_counts() -> None:
    body = page('<main><div class="usa-alert"><p>This page is currently unavailable.</p></div></main>')
    parsed = parse_listing(body, "https://www.ice.gov/foia/library", ice())
    assert parsed.outage_notice == "This page is currently unavailable."
    assert "unavailable" not in parsed.text


def test_notice_on_a_page_full_of_documents_is_not_an_outage() -> None:
    items = "".join(f'<li><a href="/doclib/foia/r{i}.pdf">Report {i}</a></li>' for i in range(5))
    body = page(f"<main><p>The search tool is temporarily unavailable.</p><ul>{items}</ul></main>")
    parsed = parse_listing(body, "https://www.ice.gov/foia/library", ice())
    assert len(parsed.documents) == 5 and parsed.outage_notice is None


CLOUDFLARE = b"""<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">vault.fbi.gov</h1><h2 class="h2" id="challenge-running">Checking if the site connection
is secure</h2><noscript><div>Enable JavaScript and cookies to continue</div></noscript></div></div>
<script>(function(){window._cf_chl_opt={cvId: '2',cZone: 'vault.fbi.gov',cType: 'managed'};}());</script>
</body></html>"""


def test_cloudflare_challenge_is_blocked_whatever_the_status() -> None:
    parsed = parse_listing(CLOUDFLARE, "https://vault.fbi.gov/", config())
    assert parsed.blocked == "Cloudflare challenge"
    for status in (200, 403, 503):
        assert classify_response(status, {"Content-Type": "text/html; charset=UTF-8"}, CLOUDFLARE) == "blocked"
    assert classify_response(200, {"CF-Mitigated": "challenge"}, b"") == "blocked"


@pytest.mark.parametrize(
    ("status", "headers", "body", "verdict"),
    [
        (410, {}, b"", "gone"),
        (404, {"Content-Type": "text/html"}, b"<html><body>Not here</body></html>", "gone"),
        (429, {}, b"", "blocked"),
        (401, {}, b"", "blocked"),
        (202, {"x-amzn-waf-action": "challenge"}, b"", "blocked"),
        (500, {"Content-Type": "text/html"}, b"<title>Internal Server Error</title>", "error"),
        (502, {}, b"Bad Gateway", "error"),
        (200, {"Content-Type": "application/pdf"}, b"%PDF-1.7\n... Page not found ...", "ok"),
        (200, {"Content-Type": "text/html"}, b"<html><head><title>Page Not Found | Agency</title></head></html>",
         "not_found_page"),
        (200, {}, b"<!DOCTYPE html><html><body><h1>Error 404</h1></body></html>", "not_found_page"),
        (200, {"Content-Type": "text/html"},
         b"<title>FOIA Library</title><h1>FOIA Library</h1><p>If a link says page not found, tell us.</p>", "ok"),
        (200, {"Content-Type": "text/html"},
         b"<title>Access Denied</title><h1>Access Denied</h1>" + b"<p>A FOIA log of denied requests.</p>" * 200, "ok"),
        (200, {"Content-Type": "text/html"},
         b"<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. "
         b"Please consult with your administrator.<br>Your support ID is: 123</body></html>", "blocked"),
    ],
)
def test_classify_response(status: int, headers: dict[str, str], body: bytes, verdict: str) -> None:
    assert classify_response(status, headers, body) == verdict


def test_empty_and_broken_bodies_do_not_crash() -> None:
    for body in (b"", b"\x00\x00", b"<<<>>>", b"\xff\xfe\x00garbage", b"<html><body><ul><li><a href='a.pdf'>A"):
        parsed = parse_listing(body, "https://www.agency.gov/", config())
        assert parsed.blocked is None
    assert [d.url for d in parse_listing(b"<ul><li><a href='a.pdf'>A", "https://www.agency.gov/", config()).documents] \
        == ["https://www.agency.gov/a.pdf"]


def test_huge_page_is_read_in_one_linear_pass() -> None:
    sections = []
    for s in range(200):
        links = "".join(f'<li><a href="/files/{s}/doc-{i}.pdf">Doc {s}-{i}</a></li>' for i in range(100))
        sections.append(f"<h2>Section {s}</h2><ul>{links}</ul>")
    body = page("<main>" + "".join(sections) + "</main>")
    started = time.perf_counter()
    parsed = parse_listing(body, "https://www.agency.gov/", config())
    elapsed = time.perf_counter() - started
    assert len(parsed.documents) == 20_000
    assert parsed.documents[-1].section == "Section 199" and parsed.documents[-1].title == "Doc 199-99"
    assert elapsed < 20, f"parsing 20,000 links took {elapsed:.1f}s"


def test_item_selector_without_heading_uses_link_text() -> None:
    agency = config(item_selector="div.views-row")
    body = page('<main><div class="views-row"><a href="/f/a.pdf">Alpha</a> <a href="/f/b.pdf">Beta</a></div></main>')
    assert [d.title for d in parse_listing(body, "https://www.agency.gov/", agency).documents] == ["Alpha", "Beta"]


def test_control_characters_and_bidi_overrides_never_reach_the_archive():
    """Issue 12: titles, sections, link texts and page text are cleaned as they are read (Atom and HTML pages
    built from them stay valid; a terminal showing them is not rewritten)."""
    page = ("<html><body><main id='main-content'><h2>Sec\x07tion\u202e one</h2><ul>"
            "<li><a href='/doclib/a.pdf'>\x1b[31mRed\x00 report\x0bannex\u2066</a></li>"
            "<li><a href='/doclib/b.pdf'>Second</a></li></ul><p>Text\x1f with\x85 controls\x7f.</p>"
            "</main></body></html>").encode()
    parsed = parse_listing(page, "https://www.agency.gov/foia", config())
    (first, _) = parsed.documents
    assert (first.title, first.section) == ("[31mRed report annex", "Section one")
    assert first.link_text == first.title
    assert "Text with controls." in parsed.text
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", parsed.text)


def test_a_link_to_the_pages_own_feed_is_no_document() -> None:
    """An RSS icon linking the feed the page declares in its head (``feed.xml``, as on Navy JAG's opinion archive)
    subscribes to the site; an ``.xml`` file the page does not declare as its feed is still a document."""
    body = (b'<!DOCTYPE html><html><head><title>Opinions</title>'
            b'<link rel="alternate" type="application/atom+xml" title="Court" href="/feed.xml"></head><body><main>'
            b'<h2><a href="/feed.xml" class="rss">|</a> Decisions</h2><ul><li><a href="/a.pdf">A</a></li>'
            b'<li><a href="/data/b.xml">B</a></li></ul></main></body></html>')
    result = parse_listing(body, "https://www.agency.gov/courts/opinions.htm", config())
    assert sorted(d.url for d in result.documents) == ["https://www.agency.gov/a.pdf",
                                                        "https://www.agency.gov/data/b.xml"]


def test_a_colon_heading_over_instructions_labels_them_not_the_table() -> None:
    """``<h4>Directions:</h4>`` followed by a paragraph on how to sort the table below labels that prose; the table's
    documents stay under the heading above. A colon heading followed by its table ("MEETING SCHEDULE:") heads it."""
    rows = '<table><tr><td><a href="/a.pdf">A</a></td></tr><tr><td><a href="/b.pdf">B</a></td></tr></table>'
    body = page(f"<main><h2>2014 Opinion Archive</h2><h4>Directions:</h4><p>Click a column heading to sort.</p>"
                f"<ul><li><strong>Search:</strong> choose a column.</li></ul>{rows}"
                f'<h2>Schedule</h2><h3>MEETING SCHEDULE:</h3>{rows.replace("/a.", "/c.").replace("/b.", "/d.")}</main>')
    result = parse_listing(body, "https://www.agency.gov/foia/library", config(section_selector="h2, h3, h4"))
    assert Counter(d.section for d in result.documents) == {"2014 Opinion Archive": 2, "MEETING SCHEDULE:": 2}
