"""Probe benchmark (issue 14, item 3): the live probes of captured URLs no crawl ever listed, one at a time against
concurrently, at the same per-host budget.

    .venv/bin/python bench/probes.py [--urls 3000] [--latency 2.0] [--budget 120] [--concurrency 8] [--scale 100]

A library on 127.0.0.1, in a process of its own (so the server does not share the prober's interpreter), answers
every request after --latency seconds; a third of its captured URLs still serve a PDF (HEAD, then GET), the others
answer 404 (one HEAD). One complete crawl and one CDX sync from the local Wayback stand-in are made once; each side
then probes its own copy of that archive, with ``[wayback] probes_per_run`` covering every URL. Time runs --scale
times faster than real (the latency and the budget's interval alike), so the ratio is the one a real library with
that latency and budget would see, and the real-time figures are the scaled ones multiplied back.

Concurrency pays only when an answer takes longer than the budget's interval (60 / budget seconds): below that, one
request at a time already uses the whole budget, and the ratio falls to 1.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from foiawatch.archive import Archive  # noqa: E402
from foiawatch.config import AgencyConfig, find_config  # noqa: E402
from foiawatch.crawler import crawl  # noqa: E402
from foiawatch.demo.wayback_standin import StandinCapture, WaybackStandin  # noqa: E402
from foiawatch.wayback import WaybackClient  # noqa: E402
from foiawatch.wayback.cdx_sync import sync_captures  # noqa: E402
from foiawatch.wayback.probes import ProbeStats, probe_never_listed  # noqa: E402

FOLDER = "/doclib/foia/"
LIBRARY = b'<html><body><main id="main-content"><a href="/doclib/foia/listed.pdf">Listed</a></main></body></html>'
FAST = dict(cdx_per_minute=60_000, playback_per_second=1000, min_backoff=0.05, retry_backoff=0.01)


class _Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True


def serve(latency: float, port: multiprocessing.Queue) -> None:
    """The library (run in a child process): every answer after ``latency`` seconds; record-N.pdf is served when N
    is a multiple of 3, else 404."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK stall between them

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.answer(body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self.answer(body=False)

        def answer(self, body: bool) -> None:
            time.sleep(latency)
            status, kind, content = 404, "text/html", b"<html><title>Page not found</title></html>"
            if self.path == "/foia/library":
                status, content = 200, LIBRARY
            elif self.path == FOLDER + "listed.pdf" or self.path.startswith(FOLDER + "record-") and \
                    int(self.path[len(FOLDER + "record-"):-len(".pdf")]) % 3 == 0:
                status, kind, content = 200, "application/pdf", b"%PDF-1.4 " + self.path.encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if body:
                self.wfile.write(content)

        def log_message(self, *args: object) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    port.put(server.server_address[1])
    server.serve_forever()


def prepare(data: Path, site_url: str, urls: int, budget: float) -> AgencyConfig:
    """One complete crawl of the library and the captures of ``urls`` records it never listed, in ``data``."""
    captures = [StandinCapture(f"{site_url}{FOLDER}record-{n:05d}.pdf", "20160101000000", 200, "application/pdf",
                               b"%d" % n) for n in range(urls)]
    with WaybackStandin(captures) as standin:
        demo = find_config("demo")
        config = replace(demo, library_urls=(site_url + "/foia/library",),
                         politeness=replace(demo.politeness, delay=0.0, requests_per_minute=budget),
                         wayback=replace(demo.wayback, base_url=standin.url, probes_per_run=urls,
                                         prefix=urlsplit(site_url).netloc + FOLDER))
        if crawl(config, data).status != "complete":
            raise SystemExit("the crawl of the local library was not complete")
        with Archive(data) as archive, WaybackClient(standin.url, **FAST) as client:
            sync_captures(archive, config, client)
    return config


def timed_probes(data: Path, config: AgencyConfig, concurrency: int) -> tuple[float, ProbeStats]:
    config = replace(config, politeness=replace(config.politeness, concurrency=concurrency))
    with Archive(data) as archive:
        started = time.perf_counter()
        stats = probe_never_listed(archive, config)
        return time.perf_counter() - started, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--urls", type=int, default=3000, help="captured URLs never listed")
    parser.add_argument("--latency", type=float, default=2.0, help="seconds the library takes to answer (real)")
    parser.add_argument("--budget", type=float, default=120, help="requests a minute to the host (real)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--scale", type=float, default=100, help="how many times faster than real time to run")
    args = parser.parse_args()

    port: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(args.latency / args.scale, port), daemon=True)
    server.start()
    work = Path(tempfile.mkdtemp(prefix="foiawatch-bench-probes-"))
    try:
        config = prepare(work / "prepared", f"http://127.0.0.1:{port.get(timeout=10)}", args.urls,
                         args.budget * args.scale)
        runs = {}
        for concurrency in (1, args.concurrency):
            shutil.copytree(work / "prepared", work / str(concurrency))
            runs[concurrency] = timed_probes(work / str(concurrency), config, concurrency)
    finally:
        server.terminate()
        shutil.rmtree(work, ignore_errors=True)

    (alone, alone_stats), (together, together_stats) = runs[1], runs[args.concurrency]
    if alone_stats.outcomes != together_stats.outcomes:
        raise SystemExit(f"the two runs disagree: {alone_stats.outcomes} vs {together_stats.outcomes}")
    outcomes = ", ".join(f"{count} {outcome}" for outcome, count in sorted(together_stats.outcomes.items()))
    requests = together_stats.probed + together_stats.outcomes.get("served", 0)  # a HEAD each, a GET if served
    floor = requests * 60 / (args.budget * args.scale)
    print(f"{args.urls} captured URLs never listed ({outcomes}: {requests} requests); the library answers in "
          f"{args.latency:g} s; budget {args.budget:g} requests a minute to the host (one every "
          f"{60 / args.budget:g} s); time scaled 1:{args.scale:g}\n")
    print(f"{'probes':<26}{'wall time':>12}{'real time':>12}")
    for label, seconds in (("one at a time", alone), (f"concurrency {args.concurrency}", together),
                           ("the budget's floor", floor)):
        print(f"{label:<26}{seconds:>11.1f}s{seconds * args.scale / 60:>10.0f}min")
    print(f"probes: {alone / together:.1f}x faster at concurrency {args.concurrency} than one at a time, "
          "at the same per-host budget")


if __name__ == "__main__":
    main()
