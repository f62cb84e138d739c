"""Benchmark the public instance: page times of the reader's pages and Datasette's views on a 1,000,000-event archive.

    .venv/bin/python bench/publish.py [--events 1000000] [--requests 30] [--keep DIR]

Builds a synthetic archive straight into the archive's tables (five agencies, 2,000 crawls, one document and blob
per "added" event, 2 % of blobs withheld) whose events mix like a long-watched library's: half "added", a fifth
"changed", 15 % "removed", 6 % "removed_before_monitoring", the rest the other kinds. Then runs
``foiawatch publish`` and ``foiawatch serve`` (in its own process, as deployed) and times pages over HTTP: the
reader's removed list (first page, one agency, a later page), a document's page (a removed document with a long
history: the one with the most events), an agency page, search, the home page, Datasette's removed-documents view as
HTML (with its facets and count) and as JSON, a filtered and a second page, and the feeds. Targets: the document
page and the removed lists ≤ 200 ms (median; p95 reported).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from foiawatch.archive import Archive  # noqa: E402
from foiawatch.publish import build_public  # noqa: E402

AGENCIES, CRAWLS_PER_AGENCY, SECTIONS = 5, 400, 200
TARGET_MS = 200.0
TARGETS = ("document page (reader)", "removed list (reader)", "removed list, one agency (reader)",
           "removed list, page 2 (reader)", "removed documents (HTML)")
# Event kinds by share of all events, in per-mille; "added" events also create the documents.
MIX = {"added": 500, "changed": 200, "removed": 150, "removed_before_monitoring": 60, "unlisted": 30,
       "restored": 20, "moved": 20, "section_removed": 5, "page_text_removed": 5, "outage": 5, "outage_ended": 5}


def build_archive(root: Path, events: int) -> None:
    archive = Archive(root)
    db = archive.db
    db.execute("pragma synchronous = off")
    documents = events * MIX["added"] // 1000
    with db.conn:
        for a in range(AGENCIES):
            db.execute("insert into agencies (id, name, library_urls, config, created_at) values (?, ?, ?, '{}', "
                       "'2017-01-01T00:00:00+00:00')", [f"agency{a}", f"Agency {a} FOIA library",
                                                         f'["https://agency{a}.example.gov/foia"]'])
        db.execute(f"""
            with recursive n(i) as (select 1 union all select i + 1 from n where i < {AGENCIES * CRAWLS_PER_AGENCY})
            insert into crawls (id, agency_id, started_at, finished_at, status, status_reason)
            select i, 'agency' || ((i - 1) % {AGENCIES}),
                   strftime('%Y-%m-%dT%H:%M:%S+00:00', '2017-01-01', '+' || (i * 6) || ' hours'),
                   strftime('%Y-%m-%dT%H:%M:%S+00:00', '2017-01-01', '+' || (i * 6 + 1) || ' hours'),
                   case when i % 97 = 0 then 'outage' else 'complete' end, '' from n
        """)
        db.execute(f"""
            with recursive n(i) as (select 1 union all select i + 1 from n where i < {documents})
            insert into documents (id, agency_id, url, title, section, first_seen_crawl, last_listed_crawl, sha256,
                                   mimetype)
            select i, 'agency' || (i % {AGENCIES}),
                   'https://agency' || (i % {AGENCIES}) || '.example.gov/foia/doc-' || i || '.pdf',
                   'Record ' || i || ' on detention and removal operations', 'Section ' || (i % {SECTIONS}),
                   1 + (i % {AGENCIES}), 1 + (i % {AGENCIES}) + {AGENCIES} * (i % 300),
                   printf('%064x', i), 'application/pdf' from n
        """)
        db.execute("""
            insert into blobs (sha256, size, mimetype, path, source, stored_at)
            select sha256, 1000 + id % 5000, mimetype, sha256, 'crawl', '2017-01-01T00:00:00+00:00' from documents
        """)
        db.execute("""
            insert into texts (sha256, status, text, pages, chars, extracted_at)
            select sha256, 'ok', title || '. Quarterly statistics of section ' || section || '.', 1, 60,
                   '2017-01-01T00:00:00+00:00' from documents
        """)
        db.execute("""
            insert into withholdings (sha256, withheld, decided_by, reason, updated_at)
            select sha256, id % 50 = 0, 'screen', case when id % 50 = 0 then 'high-risk PII: ssn' end,
                   '2017-01-01T00:00:00+00:00' from documents
        """)
        first = 1
        for kind, share in MIX.items():
            count = events * share // 1000
            db.execute(f"""
                with recursive n(i) as (select {first} union all select i + 1 from n where i < {first + count - 1})
                insert into events (id, agency_id, kind, crawl_id, document_id, url, title, section, detected_at,
                                    summary, evidence, dedupe_key)
                select i, d.agency_id, '{kind}', c.id, {'null' if kind.startswith('outage') else 'd.id'}, d.url,
                       d.title, d.section, c.finished_at, '“' || d.title || '” {kind.replace('_', ' ')}.', '{{}}',
                       '{kind}:' || i
                from n
                join documents d on d.id = 1 + (i * 7919) % {documents}
                join crawls c on c.id = 1 + (i * 104729) % {AGENCIES * CRAWLS_PER_AGENCY}
            """)
            first += count
    archive.close()


def busiest_removed_document(root: Path) -> int:
    """The removed document with the most events: the longest timeline a document page shows."""
    with sqlite3.connect(root / "public" / "public.db") as public:
        return public.execute("select e.document_id from events e join catalogue k on k.key = "
                              "cast(e.document_id as text) and k.status = 'removed' group by e.document_id "
                              "order by count(*) desc limit 1").fetchone()[0]


def later_page(url: str) -> str:
    """The reader's list's "Older documents" link from its first page."""
    with urllib.request.urlopen(url, timeout=60) as response:
        found = re.search(r'href="(/removed\?[^"]*after=[^"]*)"', response.read().decode())
    assert found, "no second page"
    return html.unescape(found.group(1))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timed(url: str, requests: int) -> list[float]:
    urllib.request.urlopen(url, timeout=60).read()  # warm: first use of each query plan and page cache
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            assert response.status == 200, (url, response.status)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="Build in this directory and keep it.")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="foiawatch-bench-publish-"))
    try:
        started = time.perf_counter()
        build_archive(root, args.events)
        print(f"synthetic archive: {args.events:,} events in {time.perf_counter() - started:.1f}s")
        stats = build_public(root)
        size = stats.path.stat().st_size / 2**20
        print(f"foiawatch publish: {stats.seconds:.1f}s, {size:,.0f} MiB, {stats.rows['events']:,} events, "
              f"{stats.files:,} files, {stats.withheld:,} withheld")
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-c", "from foiawatch.cli import cli; cli()", "serve", "--data-dir", str(root),
             "--port", str(port)], stdout=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(base + "/-/versions.json", timeout=5).close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("foiawatch serve did not start") from None
                    time.sleep(0.2)
            with urllib.request.urlopen(base + "/public/removed_documents.json", timeout=60) as first:
                page2 = "/public/removed_documents?" + urlencode({"_next": json.load(first)["next"]})
            busiest = busiest_removed_document(root)
            pages = {
                "document page (reader)": f"/documents/{busiest}",
                "removed list (reader)": "/removed",
                "removed list, one agency (reader)": "/removed?agency=agency3",
                "removed list, page 2 (reader)": later_page(base + "/removed"),
                "agency page (reader)": "/agencies/agency2",
                "search, a rare word (reader)": "/search?q=record+4242",
                "search, words in every text (reader)": "/search?q=detention+statistics",
                "agency feed (Atom)": "/agencies/agency1.atom",
                "removed documents (HTML)": "/public/removed_documents",
                "removed documents (JSON)": "/public/removed_documents.json",
                "removed documents, one section": "/public/removed_documents?section=Section+7",
                "removed documents, page 2": page2,
                "takedown feed (Atom)": "/public/takedown_feed.atom",
                "home page": "/",
            }
            verdict = True
            print(f"{'page':<34} {'median':>9} {'p95':>9}  ({args.requests} requests each)")
            for name, path in pages.items():
                times = sorted(timed(base + path, args.requests))
                median, p95 = statistics.median(times), times[int(len(times) * 0.95) - 1]
                target = name in TARGETS
                verdict &= median <= TARGET_MS if target else True
                print(f"{name:<34} {median:7.1f}ms {p95:7.1f}ms" + (f"  target ≤ {TARGET_MS:.0f} ms" if target else ""))
        finally:
            server.terminate()
            server.wait(10)
        print("PASS" if verdict else "FAIL")
        return 0 if verdict else 1
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
