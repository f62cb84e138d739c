"""Benchmark the diff engine on two synthetic snapshots of a large library.

    .venv/bin/python bench/diff.py [--documents 1000000] [--keep DIR]

Builds an archive directly (the archive's own schema, rows bulk-inserted with executemany): snapshot 1 lists every
document over pages of 100, under sections of 1,000; snapshot 2 drops ≈1 % of the documents at random plus one
whole section (probed 404), changes the content of ≈1 %, adds ≈1 % new ones, re-paginates (so every later page
shifts) and deletes one paragraph. The build and each diff run in fresh processes so that each peak RSS is the
diff's own; confirmations=1 so that the comparison also writes the removed events. Target: the comparison ≤ 5 s
and ≤ 500 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from foiawatch.archive import Archive  # noqa: E402
from foiawatch.diff import run_diff  # noqa: E402

AGENCY = "bench"
ROOT = "https://www.example.org/foia/library"
PER_PAGE, PER_SECTION = 100, 1000
DROPPED_SECTION = 5
INTRO = ["The library holds records released under the Freedom of Information Act.",
         "Records about the programme are posted here as soon as they are processed."]


def section_of(doc: int) -> str:
    return f"Section {(doc - 1) // PER_SECTION}"


def title(doc: int) -> str:
    return f"Record {doc} of {section_of(doc)}"


def sha(doc: int, version: int) -> str:
    return f"{version:08x}{doc:056x}"


def build(root: Path, documents: int) -> None:
    archive = Archive(root)
    db = archive.db
    db.execute("pragma synchronous = off")
    archive.register_agency(AGENCY, "Benchmark library", [ROOT], "{}")
    dropped = {d for d in range(1, documents + 1) if d % 100 == 37 or (d - 1) // PER_SECTION == DROPPED_SECTION}
    changed = {d for d in range(1, documents + 1) if d % 100 == 71} - dropped
    added = range(documents + 1, documents + documents // 100 + 1)
    first = list(range(1, documents + 1))
    second = [d for d in first if d not in dropped] + list(added)
    with db.conn:
        db.conn.executemany(
            "insert into documents (id, agency_id, url, title, section, first_seen_crawl, last_listed_crawl)"
            " values (?, ?, ?, ?, ?, ?, ?)",
            ((d, AGENCY, f"https://www.example.org/doclib/foia/{section_of(d)}/record-{d}.pdf".replace(" ", "-"),
              title(d), section_of(d), 1 if d <= documents else 2, 2) for d in first + list(added)),
        )
    snapshot(db, 1, first, lambda d: sha(d, 1), [], INTRO)
    snapshot(db, 2, second, lambda d: sha(d, 2 if d in changed else 1), sorted(dropped), INTRO[:1])
    print(f"built: {documents:,} documents; snapshot 2 drops {len(dropped):,}, changes {len(changed):,}, "
          f"adds {len(added):,}", flush=True)
    archive.close()


def snapshot(db, crawl_id: int, listed: list[int], content, probed_gone: list[int], intro: list[str]) -> None:
    with db.conn:
        db.execute("insert into crawls (id, agency_id, started_at, finished_at, status, status_reason) values"
                   " (?, ?, ?, ?, 'complete', '')", [crawl_id, AGENCY, f"2026-01-0{crawl_id}T00:00:00+00:00",
                                                      f"2026-01-0{crawl_id}T01:00:00+00:00"])
        db.conn.executemany("insert into listing_pages (crawl_id, url, http_status, document_links, outage_notice,"
                            " blocked, text) values (?, ?, 200, ?, 0, 0, ?)", pages(crawl_id, listed, intro))
        db.conn.executemany(
            "insert into links (crawl_id, document_id, listing_page, section, link_text) values (?, ?, ?, ?, ?)",
            ((crawl_id, d, page_url(i // PER_PAGE), section_of(d), title(d)) for i, d in enumerate(listed)),
        )
        db.conn.executemany(
            "insert into sightings (crawl_id, document_id, listed, listing_page, section, http_status, outcome,"
            " sha256) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [*((crawl_id, d, 1, page_url(i // PER_PAGE), section_of(d), 200, "fetched", content(d))
               for i, d in enumerate(listed)),
             *((crawl_id, d, 0, None, None, 404, "gone", None) for d in probed_gone)],
        )


def page_url(number: int) -> str:
    return ROOT if number == 0 else f"{ROOT}?page={number}"


def pages(crawl_id: int, listed: list[int], intro: list[str]) -> Iterator[tuple]:
    for start in range(0, len(listed), PER_PAGE):
        lines, section = list(intro) if start == 0 else [], None
        chunk = listed[start:start + PER_PAGE]
        for d in chunk:
            if section_of(d) != section:
                section = section_of(d)
                lines.append(section)
            lines.append(f"{title(d)} (PDF, 1 MB)")
        yield crawl_id, page_url(start // PER_PAGE), len(chunk), "\n".join(lines)


def timed_diff(root: str) -> None:
    """One diff run, reporting its own wall time and peak RSS."""
    started, cpu = time.perf_counter(), time.process_time()
    result = run_diff(Archive(root), AGENCY, confirmations=1)
    print(json.dumps({"seconds": round(time.perf_counter() - started, 2),
                      "cpu_seconds": round(time.process_time() - cpu, 2),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                      "created": dict(result.created)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="build the archive here and keep it")
    parser.add_argument("--build-only", help=argparse.SUPPRESS)
    parser.add_argument("--diff-only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:
        return build(Path(args.build_only), args.documents)
    if args.diff_only:
        return timed_diff(args.diff_only)
    root = args.keep or Path(tempfile.mkdtemp(prefix="foiawatch-bench-"))
    try:
        # Every phase runs in its own process: Linux carries a parent's peak RSS over into a forked child.
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--build-only", str(root), "--documents", str(args.documents)],
                       check=True)
        print(f"build: {time.perf_counter() - started:.1f} s", flush=True)
        # Crawl 2 is hidden from the first run so that each run diffs exactly one snapshot.
        db = Archive(root).db
        db.execute("update crawls set status = 'running' where id = 2")
        db.conn.commit()
        baseline = _child(root)
        db.execute("update crawls set status = 'complete' where id = 2")
        db.conn.commit()
        comparison = _child(root)
        for name, run in (("snapshot 1 (baseline, no events)", baseline), ("snapshot 2 vs 1 (the diff)", comparison)):
            print(f"{name:34} {run['seconds']:5.2f} s wall, {run['cpu_seconds']:5.2f} s CPU, "
                  f"peak RSS {run['peak_rss_mb']} MB")
        print(f"events: {comparison['created']}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def _child(root: Path) -> dict:
    output = subprocess.run([sys.executable, __file__, "--diff-only", str(root)], check=True, capture_output=True,
                            text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
