"""Benchmark: one CDX prefix listing vs one availability lookup per document, against the local stand-in.

    .venv/bin/python bench/wayback.py [--documents 2000] [--versions 2] [--latency 0.05] [--sample 100] [--unthrottled]

Both sides run against the same stand-in with the same injected per-request latency. By default both are paced
as foiawatch paces the real service (CDX 24/min; per-URL lookups at the playback rate, 8/s); ``--unthrottled``
lifts the pacing to show the latency-bound cost alone. The per-document side runs on ``--sample`` documents and
is extrapolated linearly (it is one independent request per document), which the output says.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from foiawatch.demo.wayback_standin import StandinCapture, WaybackStandin  # noqa: E402
from foiawatch.wayback import WaybackClient  # noqa: E402
from foiawatch.web.ratelimit import RateLimiter  # noqa: E402

PREFIX = "www.agency.gov/foia/library/"


def build_library(documents: int, versions: int) -> list[StandinCapture]:
    """``versions`` distinct bodies per document, plus a later re-capture of unchanged bytes (collapsed)."""
    captures = []
    for n in range(documents):
        url = f"https://{PREFIX}doc-{n:05d}.pdf"
        for v in range(versions):
            body = b"%%PDF-1.4 document %d version %d" % (n, v)
            captures.append(StandinCapture(url, f"{2018 + v}0101{n % 24:02d}0000", 200, "application/pdf", body))
        captures.append(StandinCapture(url, "20250101000000", 200, "application/pdf", body))
    return captures


def prefix_listing(standin: WaybackStandin, unthrottled: bool) -> tuple[int, float, int, int]:
    rates = {"cdx_per_minute": 1e9, "playback_per_second": 1e9} if unthrottled else {}
    client = WaybackClient(standin.url, **rates)
    started = time.perf_counter()
    captures = list(client.search_prefix(PREFIX, statuses=[200]))
    elapsed = time.perf_counter() - started
    return client.requests["cdx"], elapsed, len(captures), len({c.original for c in captures})


def availability_per_document(standin: WaybackStandin, urls: list[str], unthrottled: bool) -> tuple[float, int]:
    limiter = None if unthrottled else RateLimiter(8)  # the per-URL rate foiawatch allows itself (playback)
    found = 0
    started = time.perf_counter()
    with requests.Session() as session:
        for url in urls:
            if limiter:
                limiter.acquire()
            answer = session.get(f"{standin.url}/wayback/available", params={"url": url}, timeout=30).json()
            found += bool(answer["archived_snapshots"])
    return time.perf_counter() - started, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--versions", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every stand-in request")
    parser.add_argument("--sample", type=int, default=100, help="documents actually looked up one by one")
    parser.add_argument("--unthrottled", action="store_true", help="no client-side pacing on either side")
    args = parser.parse_args()

    with WaybackStandin(build_library(args.documents, args.versions), latency=args.latency) as standin:
        cdx_requests, cdx_time, captures, urls = prefix_listing(standin, args.unthrottled)
        sample = [f"https://{PREFIX}doc-{n:05d}.pdf" for n in range(min(args.sample, args.documents))]
        sample_time, found = availability_per_document(standin, sample, args.unthrottled)

    scale = args.documents / len(sample)
    per_doc_requests, per_doc_time = args.documents, sample_time * scale
    pacing = "unthrottled" if args.unthrottled else "polite pacing (CDX 24/min, per-URL lookups 8/s)"
    print(f"{args.documents} documents x {args.versions} versions under {PREFIX}; "
          f"{args.latency * 1000:.0f} ms latency per request; {pacing}\n")
    print(f"{'approach':<34}{'requests':>10}{'wall time':>12}   what it finds")
    print(f"{'CDX prefix listing (resume keys)':<34}{cdx_requests:>10}{cdx_time:>11.1f}s"
          f"   {captures} captures of {urls} documents (every version)")
    print(f"{'availability API per document':<34}{per_doc_requests:>10}{per_doc_time:>11.1f}s"
          f"   1 closest capture per document ({found}/{len(sample)} in sample)")
    print(f"\nper-document side measured on {len(sample)} documents ({sample_time:.1f}s) and extrapolated x{scale:g}")
    print(f"prefix listing: {per_doc_requests / cdx_requests:.0f}x fewer requests, "
          f"{per_doc_time / cdx_time:.0f}x less wall time")


if __name__ == "__main__":
    main()
