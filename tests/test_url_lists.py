"""Libraries whose records are web pages, and libraries given as a list of URLs (issue 13, parts 4 and 5).

A site of publication pages is served on 127.0.0.1; each page carries what real pages carry and must not count as
a change (a form token, a "last updated" stamp, a visit counter). Pages then go away the three ways real sites take
them down (404, a redirect to the home page, the site's own 200 "not found" page) while others hide behind a block
page, and the ordinary crawl and diff must report exactly the pages gone, within two runs, and nothing else.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from foiawatch.archive import Archive
from foiawatch.config import load_config
from foiawatch.crawler import crawl
from foiawatch.pipeline import diff_agency

from .support.local_server import LocalServer

FIXTURES = Path(__file__).parent / "fixtures"
BLOCK_PAGE = (FIXTURES / "blockpages" / "captcha__cloudflare-recaptcha-cloudscraper.html").read_bytes()
NOT_FOUND = ("<!doctype html><html><head><title>Page not found | Bureau of Records</title></head><body>"
             "<header><a href='/'>Bureau of Records</a></header><main><h1>We can't find that page</h1>"
             "<p>The page you asked for, {path}, may have moved. Search our publications instead.</p></main>"
             "</body></html>")


@dataclass
class PublicationSite:
    """``/pubs/N`` publication pages, some taken down (``gone``: path -> how) or blocked, some edited."""

    gone: dict[str, str] = field(default_factory=dict)  # path -> "404" | "home" | "not_found_page"
    blocked: set[str] = field(default_factory=set)
    edited: dict[str, str] = field(default_factory=dict)  # path -> new paragraph
    counter: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.server = LocalServer(lambda method, path, headers: self._typed(*self.answer(path)))
        self.url = self.server.url

    def close(self) -> None:
        self.server.close()

    @staticmethod
    def _typed(status: int, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "text/html; charset=utf-8", **headers}, body

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/":
            return 200, {}, b"<html><head><title>Bureau of Records</title></head><body><h1>Welcome</h1></body></html>"
        if path in self.blocked:
            return 200, {}, BLOCK_PAGE
        how = self.gone.get(path)
        if how == "404":
            return 404, {}, NOT_FOUND.format(path=path).encode()
        if how == "home":
            return 301, {"Location": "/"}, b""
        number = path.removeprefix("/pubs/")
        if how == "not_found_page" or not path.startswith("/pubs/") or not number.isdigit():
            return 200, {}, NOT_FOUND.format(path=path).encode()
        return 200, {}, self.publication(path, int(number))

    def publication(self, path: str, number: int) -> bytes:
        visit = next(self.counter)
        paragraph = self.edited.get(path, f"This report describes program {number} and its findings in detail.")
        return (f"<!doctype html><html><head><title>Report {number} | Bureau of Records</title></head><body>"
                f"<header><nav><a href='/'>Home</a> <a href='/pubs/'>Publications</a></nav></header>"
                f"<main><h1>Report {number}</h1><p>{paragraph}</p><p>Published 2019-03-04.</p>"
                f"<p>Last updated: March {1 + visit % 28}, 2026</p>"
                f"<form><input type='hidden' name='token' value='{visit * 7919:x}'></form></main>"
                f"<footer>Visits: {visit}</footer></body></html>").encode()


def write_config(folder: Path, site: PublicationSite, count: int) -> Path:
    rows = ["url,title,section"] + [f"{site.url}/pubs/{n},Report {n},{'Audits' if n % 2 else 'Studies'}"
                                    for n in range(count)]
    (folder / "urls.csv").write_text("\n".join(rows) + "\n")
    path = folder / "bureau.toml"
    path.write_text('[agency]\nid = "bureau"\nname = "Bureau of Records publications"\nlibrary_file = "urls.csv"\n'
                    "[politeness]\ndelay = 0\nrequests_per_minute = 0\nconcurrency = 16\nretries = 0\n")
    return path


def events(data_dir: Path, kind: str | None = None) -> list[dict]:
    with Archive(data_dir) as archive:
        query = "select * from events where kind = ? order by id" if kind else "select * from events order by id"
        return [dict(row) for row in archive.db.query(query, [kind] if kind else [])]


def run(config, data_dir: Path) -> str:
    status = crawl(config, data_dir).status
    with Archive(data_dir) as archive:
        diff_agency(archive, config)
    return status


def test_a_list_of_2000_pages_reports_exactly_the_76_gone_within_two_runs(tmp_path: Path) -> None:
    site = PublicationSite()
    try:
        config = load_config(write_config(tmp_path, site, 2000))
        assert config.documents.pages and config.allowed_hosts == ("127.0.0.1",)
        data = tmp_path / "data"
        assert run(config, data) == "complete"
        ways = itertools.cycle(["404", "home", "not_found_page"])
        site.gone = {f"/pubs/{n}": next(ways) for n in range(0, 1520, 20)}  # 76 pages
        site.blocked = {f"/pubs/{n}" for n in range(7, 1000, 100)}  # 10 pages behind a block page
        assert len(site.gone) == 76 and len(site.blocked) == 10
        assert run(config, data) == "complete"
        assert events(data, "removed") == []  # one answer is not a confirmation
        assert run(config, data) == "complete"
    finally:
        site.close()
    removed = events(data, "removed")
    assert sorted(e["url"] for e in removed) == sorted(site.url + path for path in site.gone)
    assert {e["kind"] for e in events(data)} == {"removed"}  # no "changed" from tokens, stamps or counters
    evidence = {e["url"].removeprefix(site.url): json.loads(e["evidence"]) for e in removed}
    assert {evidence[path]["crawls"][-1]["outcome"] for path in site.gone} == {"gone", "soft_404"}


def test_pages_as_records_changed_removed_and_never_a_soft_404(tmp_path: Path) -> None:
    site = PublicationSite()
    try:
        listing = "".join(f'<li><a href="/pubs/{n}">Report {n}</a></li>' for n in range(6))
        site_answer = site.answer

        def answer(path: str) -> tuple[int, dict[str, str], bytes]:
            if path == "/foia/logs":
                return 200, {}, f"<html><body><main><h2>FOIA logs</h2><ul>{listing}</ul></main></body></html>".encode()
            return site_answer(path)

        site.answer = answer  # type: ignore[method-assign]
        (tmp_path / "logs.toml").write_text(
            f'[agency]\nid = "logs"\nname = "FOIA logs"\nlibrary_urls = ["{site.url}/foia/logs"]\n'
            '[documents]\npages = true\nurl_patterns = ["/pubs/\\\\d+$"]\n'
            '[politeness]\ndelay = 0\nrequests_per_minute = 0\nretries = 0\n')
        config = load_config(tmp_path / "logs.toml")
        data = tmp_path / "data"
        assert run(config, data) == "complete"
        assert run(config, data) == "complete"
        assert events(data) == []  # a page served twice, with new tokens and stamps, is unchanged
        site.edited["/pubs/2"] = "This report was revised: program 2 was cancelled."
        site.gone["/pubs/4"] = "not_found_page"
        listing = listing.replace('<li><a href="/pubs/4">Report 4</a></li>', "")
        listing = listing.replace('<li><a href="/pubs/5">Report 5</a></li>', "")  # delisted, still served
        assert run(config, data) == "complete"
        assert run(config, data) == "complete"
    finally:
        site.close()
    kinds = {(e["kind"], e["url"].removeprefix(site.url)) for e in events(data)}
    assert kinds == {("changed", "/pubs/2"), ("removed", "/pubs/4"), ("unlisted", "/pubs/5")}
    with Archive(data) as archive:
        diff = archive.db.execute("select diff from text_diffs").fetchone()[0]
    assert "+This report was revised: program 2 was cancelled." in diff
    assert "-This report describes program 2" in diff


def test_most_of_a_list_gone_at_once_is_a_site_problem_not_removals(tmp_path: Path) -> None:
    site = PublicationSite()
    try:
        config = load_config(write_config(tmp_path, site, 40))
        data = tmp_path / "data"
        assert run(config, data) == "complete"
        site.gone = {f"/pubs/{n}": "404" for n in range(30)}
        assert run(config, data) == "outage"
        assert run(config, data) == "outage"
    finally:
        site.close()
    assert events(data, "removed") == []
    assert [e["kind"] for e in events(data)] == ["outage"]


@pytest.mark.parametrize("content", ["title\nno url column\n", "url\nftp://x.example/a\n"])
def test_a_bad_url_list_fails_at_load_time_naming_the_problem(tmp_path: Path, content: str) -> None:
    from foiawatch.config import ConfigError

    (tmp_path / "urls.csv").write_text(content)
    (tmp_path / "a.toml").write_text('[agency]\nid = "a"\nname = "A"\nlibrary_file = "urls.csv"\n')
    with pytest.raises(ConfigError, match="urls.csv"):
        load_config(tmp_path / "a.toml")




def test_a_url_list_has_no_watch_passes(tmp_path: Path) -> None:
    from foiawatch.config import ConfigError

    (tmp_path / "urls.csv").write_text("url\nhttps://agency.gov/a\n")
    (tmp_path / "a.toml").write_text('[agency]\nid = "a"\nname = "A"\nlibrary_file = "urls.csv"\n'
                                     '[passes]\nwatch = "*/10 * * * *"\n')
    with pytest.raises(ConfigError, match="needs listing pages"):
        load_config(tmp_path / "a.toml")
