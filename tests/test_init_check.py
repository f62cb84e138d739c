"""``foiawatch init`` then ``foiawatch check --json`` on real government listing pages, each served from a local
mirror of its site: exactly the documents, sections and further pages counted by hand (tests/fixtures/listingpages)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from foiawatch.cli import cli

from .support.mirror import mirrored, page_names


@pytest.mark.parametrize("name", page_names())
def test_init_then_check_finds_the_hand_counted_documents(name: str, tmp_path: Path) -> None:
    runner = CliRunner()
    with mirrored(name) as page:
        written = runner.invoke(cli, ["init", page.url, "--id", "library", "--config-dir", str(tmp_path),
                                      "--delay", "0", "--json"])
        assert written.exit_code == 0, written.output
        checked = runner.invoke(cli, ["check", "library", "--config-dir", str(tmp_path), "--pages", "1",
                                      "--delay", "0", "--json"])
    assert checked.exit_code == 0, checked.output
    report = json.loads(checked.output)
    assert report["listing_pages"] == 1
    assert report["documents"] == page.expected["documents"]
    assert report["sections"] == page.expected["sections"]
    assert set(report["next_pages"]) == page.next_pages
    assert json.loads(written.output)["sections"] == page.expected["sections"]


# --- what init refuses, and what check warns about ------------------------------------------------------------

BLOCK_PAGE = (Path(__file__).parent / "fixtures" / "blockpages" / "captcha__cloudflare-recaptcha-cloudscraper.html")
HTML = {"Content-Type": "text/html; charset=utf-8"}


def _listing(*items: str) -> bytes:
    return ("<html><head><title>Reading room</title></head><body><main>"
            + "".join(items) + "</main></body></html>").encode()


@pytest.mark.parametrize(("route", "message"), [
    ((200, HTML, BLOCK_PAGE.read_bytes()), "block or challenge page"),
    ((503, HTML, b"<html>down</html>"), "answered HTTP 503"),
    ((200, {"Content-Type": "application/pdf"}, b"%PDF-1.4\n%%EOF"), "not an HTML page"),
])
def test_init_writes_nothing_from_a_page_that_is_not_a_library(route, message: str, tmp_path: Path) -> None:
    from .conftest import StaticSite

    with StaticSite({"/foia": route}) as site:
        result = CliRunner().invoke(cli, ["init", site.url + "/foia", "--config-dir", str(tmp_path / "configs"),
                                          "--delay", "0"])
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "configs").exists()


def test_init_obeys_robots_txt_and_keeps_an_existing_config(tmp_path: Path) -> None:
    from .conftest import StaticSite

    page = _listing('<a href="/a.pdf">A</a>')
    routes = {"/foia": (200, HTML, page), "/robots.txt": (200, {"Content-Type": "text/plain"},
                                                          b"User-agent: *\nDisallow: /private\n"),
              "/private/foia": (200, HTML, page)}
    runner = CliRunner()
    with StaticSite(routes) as site:
        refused = runner.invoke(cli, ["init", site.url + "/private/foia", "--id", "x", "--config-dir",
                                      str(tmp_path), "--delay", "0"])
        first = runner.invoke(cli, ["init", site.url + "/foia", "--id", "x", "--config-dir", str(tmp_path),
                                    "--delay", "0"])
        again = runner.invoke(cli, ["init", site.url + "/foia", "--id", "x", "--config-dir", str(tmp_path),
                                    "--delay", "0"])
    assert refused.exit_code == 1 and "robots.txt" in refused.output
    assert first.exit_code == 0, first.output
    assert "Reading room" in (tmp_path / "x.toml").read_text()  # the page's title names the library
    assert again.exit_code == 1 and "already exists" in again.output


def test_check_warns_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from .conftest import StaticSite

    first = _listing('<h2>2024</h2><ul><li><a href="/2024/a.pdf">A</a></li><li><a href="/2024/b.pdf">B</a></li>'
                     '<li><a href="https://elsewhere.example/c.pdf">C</a></li></ul>'
                     '<h2>2023</h2><ul><li><a href="/2023/d.pdf">D</a></li></ul>'
                     '<a href="/foia?page=1">2</a><a href="/foia?page=2">3</a>')
    routes = {"/foia": (200, HTML, first), "/foia?page=1": (200, HTML, BLOCK_PAGE.read_bytes()),
              "/foia?page=2": (500, HTML, b"<html>oops</html>")}
    monkeypatch.chdir(tmp_path)
    with StaticSite(routes) as site:
        config = tmp_path / "configs" / "room.toml"
        config.parent.mkdir()
        config.write_text(f'[agency]\nid = "room"\nname = "Room"\nlibrary_urls = ["{site.url}/foia"]\n'
                          '[politeness]\ndelay = 0\nrequests_per_minute = 0\nretries = 0\n')
        result = CliRunner().invoke(cli, ["check", "room", "--config-dir", str(config.parent), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["listing_pages"] == 1 and report["documents"] == 4
    assert report["sections"] == {"2024": 3, "2023": 1}
    warnings = "\n".join(report["warnings"])
    assert "looks like a block page" in warnings or "(blocked)" in warnings
    assert "HTTP 500" in warnings
    assert "elsewhere.example, which is not in allowed_hosts" in warnings
    assert "1 section of one document" in warnings
    assert sorted(p.name for p in tmp_path.iterdir()) == ["configs"]  # no archive, no data directory


def test_init_recognises_records_with_parts_and_the_crawl_groups_them(tmp_path: Path) -> None:
    """A Plone folder listing as on FBI Vault: the listing links records, each record's page links its parts
    through Plone's extension-less at_download/file links."""
    from foiawatch.archive import Archive
    from foiawatch.config import load_config
    from foiawatch.crawler import crawl

    from .conftest import StaticSite

    records = {"cointelpro": 3, "flight-705": 2, "ufo": 4}
    items = "".join(f'<dt><a href="/vault/{slug}" class="contenttype-folder">{slug.title()}</a></dt>'
                    f"<dd>Records about {slug}</dd>" for slug in records)
    routes = {"/vault/recently-added": (200, HTML, _listing(f'<dl id="content-core">{items}</dl>'))}
    for slug, count in records.items():
        parts = "".join(f'<li><a href="/vault/{slug}/{slug}-part-{n}-of-{count}/at_download/file">'
                        f"{slug} Part {n} of {count}</a></li>" for n in range(1, count + 1))
        routes[f"/vault/{slug}"] = (200, HTML, _listing(f"<h1>{slug}</h1><ul>{parts}</ul>"))
        for n in range(1, count + 1):
            routes[f"/vault/{slug}/{slug}-part-{n}-of-{count}/at_download/file"] = (
                200, {"Content-Type": "application/pdf"}, f"%PDF-1.4 {slug} {n}".encode())
    with StaticSite(routes) as site:
        written = CliRunner().invoke(cli, ["init", site.url + "/vault/recently-added", "--id", "vault",
                                           "--config-dir", str(tmp_path), "--delay", "0", "--json"])
        assert written.exit_code == 0, written.output
        config = load_config(tmp_path / "vault.toml")
        assert config.listing.record_patterns and json.loads(written.output)["records"] == 3
        assert crawl(config, tmp_path / "data").status == "complete"
    with Archive(tmp_path / "data") as archive:
        grouped = dict(archive.db.execute("select r.url, count(*) from documents d join documents r "
                                          "on r.id = d.record_id group by r.url").fetchall())
    assert {url.removeprefix(site.url + "/vault/"): n for url, n in grouped.items()} == records


def test_init_and_check_read_an_xml_sitemap(tmp_path: Path) -> None:
    from .conftest import StaticSite

    sitemap = ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
               + "".join(f"<url><loc>{{site}}/foia/{name}</loc></url>" for name in
                         ("a.pdf", "b.pdf", "c.xlsx", "about.html")) + "</urlset>")
    with StaticSite({}) as site:
        site.routes["/sitemap.xml"] = (200, {"Content-Type": "application/xml"},
                                       sitemap.replace("{site}", site.url).encode())
        runner = CliRunner()
        written = runner.invoke(cli, ["init", site.url + "/sitemap.xml", "--id", "map", "--config-dir",
                                      str(tmp_path), "--delay", "0"])
        assert written.exit_code == 0, written.output
        checked = runner.invoke(cli, ["check", "map", "--config-dir", str(tmp_path), "--json", "--delay", "0"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["documents"] == 3


def test_year_links_are_filters_not_pages() -> None:
    """Links to this page that differ only in a year parameter (Sitefinity's "View By Year", ?fileYear=, ?yr=)
    pick another year's listing; a numbered ?page= beside them is still the pager."""
    from foiawatch.web.layout import detect

    years = "".join(f'<a href="/board?year={y}">{y}</a><a href="/opinions?fileYear={y}">{y}</a>'
                    for y in range(2011, 2025))
    body = _listing('<a href="/a.pdf">A</a><a href="/b.pdf">B</a>', years)
    assert detect(body, "https://www.agency.gov/board?year=2024").listing.page_parameter == "page"
    paged = _listing('<a href="/a.pdf">A</a>', years, '<a href="/board?year=2024&amp;page=2">2</a>')
    assert detect(paged, "https://www.agency.gov/board?year=2024").listing.page_parameter == "page"
    numbered = _listing('<a href="/a.pdf">A</a><a href="/board?p=2">2</a><a href="/board?p=3">3</a>')
    assert detect(numbered, "https://www.agency.gov/board").listing.page_parameter == "p"


def test_a_word_valued_parameter_keeps_kinds_of_links_apart() -> None:
    """Legistar's View.ashx serves an agenda PDF for M=A and an iCalendar entry for M=IC of the same meeting: the
    kinds are asked about apart, so the agendas are documents and the calendar entries are not."""
    from foiawatch.web.layout import detect

    rows = "".join(f'<tr><td><a href="View.ashx?M=IC&amp;ID={n}&amp;GUID=AB{n}">iCal</a></td>'
                   f'<td><a href="View.ashx?M=A&amp;ID={n}&amp;GUID=AB{n}">Agenda</a></td></tr>' for n in range(3))
    body = _listing(f"<table>{rows}</table>")
    layout = detect(body, "https://county.legistar.com/DepartmentDetail.aspx?ID=7",
                    ask=lambda url: "application/pdf" if "M=A&" in url else "text/calendar")
    from foiawatch.web.urls import is_document_url

    assert is_document_url("https://county.legistar.com/View.ashx?M=A&ID=9&GUID=AB9", layout.documents)
    assert not is_document_url("https://county.legistar.com/View.ashx?M=IC&ID=9&GUID=AB9", layout.documents)


def test_a_word_that_differs_from_link_to_link_is_no_kind() -> None:
    """``getdoc.php?id=1&name=budget``: a word each link has its own of names the file, not a kind of link; the
    links still make one template, asked about together."""
    from foiawatch.web.layout import detect
    from foiawatch.web.urls import is_document_url

    links = "".join(f'<li><a href="/getdoc.php?id={n}&amp;name={word}">{word}</a></li>'
                    for n, word in enumerate(["budget", "minutes", "agenda", "bylaws"]))
    layout = detect(_listing(f"<ul>{links}</ul>"), "https://www.agency.gov/board",
                    ask=lambda url: "application/pdf" if "getdoc.php" in url else "text/html")
    assert is_document_url("https://www.agency.gov/getdoc.php?id=9&name=charter", layout.documents)


def test_page_x_of_y_is_a_page_count_not_a_result_count() -> None:
    """"Page 1 of 34" says how many listing pages there are; "Page 1 of 806257 results" (a search engine's
    results line) does not."""
    from foiawatch.web.layout import detect

    links = '<a href="/a.pdf">A</a><a href="/b.pdf">B</a>'
    assert detect(_listing(links, "<p>Page 2 of 1,204</p>"), "https://www.agency.gov/lib").page_of == (2, 1204)
    assert detect(_listing(links, "<p>Page 1 of 806257 results</p>"), "https://www.agency.gov/lib").page_of is None
