"""Run one crawl in its own process.

Twisted's reactor cannot be restarted, and the scheduler runs crawls for hours from one process, so every crawl
gets a fresh interpreter: ``python -m foiawatch.crawler.run``. The child reports progress as JSON lines on stdout;
:func:`foiawatch.crawler.crawl` reads them. A child killed at any point leaves its crawl "running" in the archive,
which the next crawl marks "incomplete": an interrupted crawl is never mistaken for a complete one.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from ..archive import Archive, DataDir
from ..archive.db import table
from ..archive.text import extract_pending
from ..archive.warc import CrawlWarc
from ..config import AgencyConfig, config_to_dict, parse_config


def emit(event: str, data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()


def scrapy_settings(config: AgencyConfig) -> dict[str, Any]:
    politeness = config.politeness
    return {
        "USER_AGENT": politeness.user_agent,
        "ROBOTSTXT_OBEY": politeness.obey_robots,
        "DOWNLOAD_DELAY": politeness.delay,
        "CONCURRENT_REQUESTS": politeness.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": politeness.concurrency,
        "DOWNLOAD_TIMEOUT": politeness.timeout,
        "RETRY_TIMES": politeness.retries,
        # 429 is a "slow down", not a fault to retry at once; 403 is a block. Neither is retried.
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408],
        "REDIRECT_MAX_TIMES": 10,
        "DOWNLOAD_MAXSIZE": config.documents.max_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "DOWNLOAD_FAIL_ON_DATALOSS": True,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        # Scrapy starts this many tasks per callback result; ours yield a handful of requests, and the default
        # (100) costs more CPU than the downloads themselves.
        "CONCURRENT_ITEMS": 8,
        "DOWNLOADER_MIDDLEWARES": {"foiawatch.crawler.middleware.WarcMiddleware": 950},
    }


def run(config: AgencyConfig, data_dir: DataDir) -> int:
    from scrapy.crawler import CrawlerProcess

    from . import streaming
    from .recorder import CrawlRecorder
    from .spider import LibrarySpider

    streaming.install()
    archive = Archive(data_dir)
    archive.sweep_tmp()
    archive.register_agency(config.id, config.name, list(config.library_urls), json.dumps(config_to_dict(config)))
    crawl_id = archive.start_crawl(config.id)
    emit("started", {"crawl_id": crawl_id, "agency": config.id})
    warc_path = archive.data_dir.warc_file(config.id, crawl_id)
    warc = CrawlWarc(warc_path, {"agency": config.id, "crawl": str(crawl_id)})
    stream_dir = archive.work_dir(f"crawl{crawl_id}")
    recorder = CrawlRecorder(archive, config, crawl_id)
    process = CrawlerProcess(scrapy_settings(config))
    process.crawl(LibrarySpider, recorder=recorder, known=archive.fetch_state(config.id), stream_dir=stream_dir,
                  warc=warc, progress=emit)
    process.start()
    warc.close()
    status, reason = recorder.finish(archive.data_dir.relative(warc_path))
    shutil.rmtree(stream_dir, ignore_errors=True)
    emit("crawled", {"crawl_id": crawl_id, "status": status, "reason": reason})
    extraction = extract_pending(archive,
                                 progress=lambda done, total: emit("extracting", {"done": done, "total": total}))
    row = table(archive.db, "crawls").get(crawl_id)
    emit("finished", {"crawl_id": crawl_id, "status": status, "reason": reason, "crawl": row,
                      "extraction": extraction.as_dict()})
    archive.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one foiawatch crawl (used by `foiawatch crawl`).")
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--config-json", required=True, type=Path)
    args = parser.parse_args(argv)
    config = parse_config(json.loads(args.config_json.read_text()), source=str(args.config_json))
    return run(config, DataDir.at(args.data_dir))


if __name__ == "__main__":
    sys.exit(main())
