"""Records with parts, FBI Vault style (issue 13, part 6): the listing links each record's own page, which lists the
record's PDF parts. Parts are documents of their record; a record taken down is one ``removed`` event naming its
parts; a part taken down on its own is its own event; a record page that cannot be read says nothing of its parts.
"""

from __future__ import annotations

import json
from pathlib import Path

from foiawatch.archive import Archive
from foiawatch.config import load_config
from foiawatch.crawler import crawl
from foiawatch.pipeline import diff_agency

from .conftest import StaticSite

HTML = {"Content-Type": "text/html; charset=utf-8"}
PDF = {"Content-Type": "application/pdf"}
RECORDS = {"alpha-project": 2, "bravo-files": 3, "charlie-memo": 1}


def vault_page(records: list[str]) -> bytes:
    items = "".join(f'<li><a href="/vault/{slug}">{slug.replace("-", " ").title()}</a></li>' for slug in records)
    return f'<html><body><main id="content"><h2>Records</h2><ul>{items}</ul></main></body></html>'.encode()


def record_page(slug: str, parts: list[int]) -> bytes:
    links = "".join(f'<li><a href="/vault/{slug}/{slug}-part-{n:02d}/at_download/file">Part {n:02d}</a></li>'
                    for n in parts)
    return (f'<html><body><main id="content"><h1>{slug.replace("-", " ").title()}</h1><ul>{links}</ul>'
            f"</main></body></html>").encode()


def part_path(slug: str, n: int) -> str:
    return f"/vault/{slug}/{slug}-part-{n:02d}/at_download/file"


def routes() -> dict:
    table = {"/vault/": (200, HTML, vault_page(list(RECORDS)))}
    for slug, count in RECORDS.items():
        table[f"/vault/{slug}"] = (200, HTML, record_page(slug, list(range(1, count + 1))))
        for n in range(1, count + 1):
            table[part_path(slug, n)] = (200, PDF, f"%PDF-1.4 {slug} part {n}".encode())
    return table


def events(data: Path) -> list[dict]:
    with Archive(data) as archive:
        return [dict(row) for row in archive.db.query("select * from events order by id")]


def test_a_record_removed_takes_its_parts_in_one_event(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with StaticSite(routes()) as site:
        (tmp_path / "vault.toml").write_text(
            f'[agency]\nid = "vault"\nname = "The Vault"\nlibrary_urls = ["{site.url}/vault/"]\n'
            '[documents]\nurl_patterns = ["/at_download/file$"]\n'
            '[listing]\nrecord_patterns = ["/vault/[a-z-]+$"]\n'
            '[politeness]\ndelay = 0\nrequests_per_minute = 0\nretries = 0\n')
        config = load_config(tmp_path / "vault.toml")

        def run() -> None:
            assert crawl(config, data).status == "complete"
            with Archive(data) as archive:
                diff_agency(archive, config)

        run()
        with Archive(data) as archive:
            parts = {row["url"].removeprefix(site.url): (row["title"], row["record"]) for row in archive.db.query(
                "select d.url, d.title, r.url as record from documents d join documents r on r.id = d.record_id")}
        assert len(parts) == 6
        assert parts[part_path("bravo-files", 3)] == ("Bravo Files: Part 03", f"{site.url}/vault/bravo-files")

        # Bravo is taken down whole; Alpha loses its second part; Charlie's page fails for a while.
        site.routes["/vault/"] = (200, HTML, vault_page(["alpha-project", "charlie-memo"]))
        for path in ["/vault/bravo-files", *(part_path("bravo-files", n) for n in (1, 2, 3)),
                     part_path("alpha-project", 2)]:
            del site.routes[path]
        site.routes["/vault/alpha-project"] = (200, HTML, record_page("alpha-project", [1]))
        site.routes["/vault/charlie-memo"] = (503, HTML, b"<html>Service unavailable</html>")
        run()
        run()
        run()
    removed = [e for e in events(data) if e["kind"] == "removed"]
    assert sorted(e["url"].removeprefix(site.url) for e in removed) == [part_path("alpha-project", 2),
                                                                       "/vault/bravo-files"]
    bravo = next(e for e in removed if e["url"].endswith("/bravo-files"))
    evidence = json.loads(bravo["evidence"])
    assert evidence["parts_count"] == 3 and "Its 3 parts went with it" in bravo["summary"]
    assert sorted(p["url"].removeprefix(site.url) for p in evidence["parts"]) == [
        part_path("bravo-files", n) for n in (1, 2, 3)]
    others = {(e["kind"], e["url"].removeprefix(site.url)) for e in events(data) if e["kind"] != "removed"}
    assert others == {("changed", "/vault/alpha-project")}  # its page lost a line; nothing of Charlie's unread page
    with Archive(data) as archive:
        named = {row[0].removeprefix(site.url) for row in archive.db.execute(
            "select url from removed_event_documents where agency_id = 'vault'")}
    assert named == {"/vault/bravo-files", part_path("alpha-project", 2),
                     *(part_path("bravo-files", n) for n in (1, 2, 3))}  # recovery looks for every part
