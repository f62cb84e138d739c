"""Crawl benchmark: a synthetic library of N documents served on 127.0.0.1, crawled twice, beside `wget --mirror`.

    .venv/bin/python bench/crawl.py [--documents 10000] [--concurrency 16]

Prints first-crawl wall time and docs/s, re-crawl wall time and its 304 share, the crawl process's peak RSS,
wget's time on the same site, and the floor Scrapy itself sets: the same document URLs fetched by a bare Scrapy
spider whose callback does nothing (no parsing, storing, WARC or database), at the same concurrency. Targets
(issue 2): first crawl <= 2x wget, re-crawl <= 0.2x first crawl, RSS <= 300 MB.
The crawl figures are for fetching and archiving; text extraction, which wget does not do, is timed separately.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from foiawatch.archive import Archive
from foiawatch.config import config_to_dict, find_config
from foiawatch.demo.library import DemoLibrary
from foiawatch.demo.site import DemoSite


class PeakMemory(threading.Thread):
    """Samples the high-water RSS (VmHWM) of a process and of its children, the text-extraction workers.

    rusage's ru_maxrss would not do: Linux carries a forked child's pre-exec high-water mark (a copy of this
    process, demo server caches included) across exec into it."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.children_peak_kb = pid, 0, 0
        self.done = threading.Event()

    @staticmethod
    def _hwm(pid: int) -> int:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return 0
        return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.peak_kb = max(self.peak_kb, self._hwm(self.pid))
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
            for child in (children.read_text().split() if children.exists() else ()):
                self.children_peak_kb = max(self.children_peak_kb, self._hwm(int(child)))


def run_crawl(config_path: Path, data_dir: Path) -> dict:
    """One crawl in its own process, as `foiawatch crawl` runs it; returns timings, events and peak RSS."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "foiawatch.crawler.run", "--data-dir", str(data_dir), "--config-json",
         str(config_path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    memory = PeakMemory(child.pid)
    memory.start()
    crawled_at, finished = None, None
    assert child.stdout is not None
    for line in child.stdout:
        event = json.loads(line)
        if event["event"] == "crawled":
            crawled_at = time.perf_counter()
        elif event["event"] == "finished":
            finished = event
    memory.done.set()
    memory.join()
    status = child.wait()
    ended = time.perf_counter()
    if finished is None or status != 0:
        raise SystemExit(f"crawl failed (exit status {status}); see the crawl log")
    return {"crawl_seconds": (crawled_at or ended) - started, "total_seconds": ended - started,
            "crawl": finished["crawl"], "extraction": finished["extraction"], "peak_rss_mb": memory.peak_kb / 1024,
            "workers_peak_rss_mb": memory.children_peak_kb / 1024}


def run_wget(url: str, target: Path) -> float | None:
    wget = shutil.which("wget")
    if not wget:
        return None
    started = time.perf_counter()
    subprocess.run([wget, "--mirror", "--quiet", "--no-host-directories", "-e", "robots=off", "-P", str(target),
                    url], check=False)
    return time.perf_counter() - started


def run_bare_scrapy(urls: list[str], concurrency: int, work: Path) -> float:
    """Seconds a do-nothing Scrapy spider takes to GET ``urls``, in its own process (a reactor runs once)."""
    url_file = work / "urls.txt"
    url_file.write_text("\n".join(urls))
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--bare-scrapy", str(url_file), "--concurrency", str(concurrency)],
                   check=True)
    return time.perf_counter() - started


def bare_scrapy(url_file: Path, concurrency: int) -> None:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    urls = url_file.read_text().split()

    class BareSpider(scrapy.Spider):
        name = "bare"

        async def start(self):
            for url in urls:
                yield scrapy.Request(url, callback=self.parse, dont_filter=True)

        def parse(self, response):
            pass

    process = CrawlerProcess({"CONCURRENT_REQUESTS": concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
                              "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False})
    process.crawl(BareSpider)
    process.start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--document-kb", type=int, default=0,
                        help="pad each PDF to about this size (real releases, mostly scans, weigh 100 KB-5 MB)")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds the demo server waits before each answer (loopback has none; agencies do)")
    parser.add_argument("--bare-scrapy", type=Path, help=argparse.SUPPRESS)  # the child of run_bare_scrapy
    args = parser.parse_args()
    if args.bare_scrapy:
        bare_scrapy(args.bare_scrapy, args.concurrency)
        return

    print(f"building a synthetic library of {args.documents} documents ...", flush=True)
    library = DemoLibrary.synthetic(args.documents, padding=args.document_kb * 1024)
    with tempfile.TemporaryDirectory(prefix="foiawatch-bench-") as tmp, \
            DemoSite(library, latency=args.latency) as site:
        work = Path(tmp)
        config = find_config("demo")
        config = replace(config, library_urls=(site.library_url,),
                         politeness=replace(config.politeness, concurrency=args.concurrency, timeout=60.0))
        config_path = work / "config.json"
        config_path.write_text(json.dumps(config_to_dict(config)))
        data_dir = work / "data"

        first = run_crawl(config_path, data_dir)
        second = run_crawl(config_path, data_dir)
        wget_seconds = run_wget(site.library_url, work / "wget")
        origin = site.library_url.split("/", 3)[:3]
        bare_seconds = run_bare_scrapy(["/".join(origin) + d.path for d in library.documents()],
                                       args.concurrency, work)
        with Archive(data_dir) as archive:
            blob_bytes = sum(row[0] for row in archive.db.execute("select size from blobs"))

    docs = first["crawl"]["documents"]
    share_304 = second["crawl"]["not_modified"] / max(second["crawl"]["documents"], 1)
    print(f"documents listed            {docs} ({blob_bytes / 1e6:.1f} MB stored), server latency "
          f"{args.latency * 1000:.0f} ms, concurrency {args.concurrency}")
    print(f"first crawl                 {first['crawl_seconds']:.1f} s  ({docs / first['crawl_seconds']:.0f} docs/s)"
          f"  status {first['crawl']['status']}")
    print(f"  + text extraction         {first['total_seconds'] - first['crawl_seconds']:.1f} s  "
          f"{first['extraction']}")
    print(f"re-crawl                    {second['crawl_seconds']:.1f} s  304 share {share_304:.1%}"
          f"  ratio to first crawl {second['crawl_seconds'] / first['crawl_seconds']:.2f} (target <= 0.2)")
    print(f"peak RSS of crawl process   {max(first['peak_rss_mb'], second['peak_rss_mb']):.0f} MB (target <= 300); "
          f"text-extraction workers {max(first['workers_peak_rss_mb'], second['workers_peak_rss_mb']):.0f} MB each")
    if wget_seconds is None:
        print("wget --mirror               skipped: wget is not installed")
    else:
        print(f"wget --mirror               {wget_seconds:.1f} s  first crawl / wget = "
              f"{first['crawl_seconds'] / wget_seconds:.2f} (target <= 2)")


    print(f"bare Scrapy, same documents {bare_seconds:.1f} s  first crawl / bare Scrapy = "
          f"{first['crawl_seconds'] / bare_seconds:.2f}, re-crawl / bare Scrapy = "
          f"{second['crawl_seconds'] / bare_seconds:.2f}" + (
              f", bare Scrapy / wget = {bare_seconds / wget_seconds:.2f}" if wget_seconds else ""))


if __name__ == "__main__":
    main()
