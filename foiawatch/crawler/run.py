"""Run one crawl in its own process.

Twisted's reactor cannot be restarted, and the scheduler runs crawls for hours from one process, so every crawl
gets a fresh interpreter: ``python -m foiawatch.crawler.run``. The child reports progress as JSON lines on stdout;
:func:`foiawatch.crawler.crawl` reads them. Its log lines are JSON lines on stderr, which the parent appends to
``logs/crawl-<agency>.log``, and are also sent up as ``log`` events, which the parent logs as its own (so they reach
its stderr and its logs/ file, terminal or not). A child killed at any point leaves its crawl "running" in the archive,
which the next crawl marks "incomplete": an interrupted crawl is never mistaken for a complete one.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

from ..archive import Archive, DataDir, logs
from ..archive.db import table
from ..archive.text import extract_pending
from ..archive.vocabulary import CrawlKind
from ..archive.warc import CrawlWarc
from ..config import AgencyConfig, config_to_dict, parse_config

log = logging.getLogger("foiawatch.crawler.run")  # not __main__: it runs as `python -m`
_stdout_lock = threading.Lock()


def emit(event: str, data: dict[str, Any]) -> None:
    line = json.dumps({"event": event, **data}) + "\n"
    with _stdout_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


class RelayHandler(logging.Handler):
    """Sends each log record up to the parent process as a ``log`` event on stdout: foiawatch's own lines, which
    name what happened; the libraries' lines (Scrapy's "Gave up retrying", with a traceback for a DNS failure)
    only when verbose, and stay in the crawl's log file otherwise."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.libraries = level <= logging.DEBUG

    def emit(self, record: logging.LogRecord) -> None:
        if not self.libraries and not record.name.startswith("foiawatch"):
            return
        try:
            emit("log", logs.record_dict(record))
        except Exception:  # noqa: BLE001 - logging must never break the crawl
            self.handleError(record)


_OURS: list[logging.Handler] = []


_LIBRARIES = ("scrapy", "twisted", "urllib3", "asyncio", "pypdf", "filelock")


def keep_only_our_handlers() -> None:
    """Undo what Scrapy's logging set-up did to ours: its root handler, its loggers' levels."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler not in _OURS:
            root.removeHandler(handler)
    _library_levels()


def _library_levels() -> None:
    """The libraries' INFO lines (Scrapy's versions, middlewares, stats) only when verbose."""
    level = logging.DEBUG if logging.getLogger().level <= logging.DEBUG else logging.WARNING
    for name in _LIBRARIES:
        logging.getLogger(name).setLevel(level)


def setup_logging(file_level: int, relay_level: int) -> None:
    """JSON lines on stderr (the parent appends them to logs/crawl-<agency>.log) and relayed to the parent."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    to_file = logging.StreamHandler(sys.stderr)
    to_file.setFormatter(logs.JsonFormatter())
    to_file.setLevel(file_level)
    relay = RelayHandler(relay_level)
    root.addHandler(to_file)
    root.addHandler(relay)
    root.setLevel(min(file_level, relay_level))
    _OURS[:] = [to_file, relay]
    _library_levels()


def scrapy_settings(config: AgencyConfig) -> dict[str, Any]:
    politeness = config.politeness
    return {
        "USER_AGENT": politeness.user_agent,
        "ROBOTSTXT_OBEY": politeness.obey_robots,
        # The per-host budget (crawler/budget.py): Scrapy sends a request from a host's slot only this long after
        # the one before, with no jitter (drawn anew at each look at the queue, it would average below the interval).
        "DOWNLOAD_DELAY": politeness.interval,
        "DOWNLOAD_DELAY_JITTER": 0.0,
        "CONCURRENT_REQUESTS": politeness.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": politeness.concurrency,
        "DOWNLOAD_TIMEOUT": politeness.timeout,
        "RETRY_TIMES": politeness.retries,
        # 429 and 503 say "slow down": HostBudget backs the whole host off and retries them. 403 is a block.
        "RETRY_HTTP_CODES": [500, 502, 504, 522, 524, 408],
        "REDIRECT_MAX_TIMES": 10,
        "DOWNLOAD_MAXSIZE": config.documents.max_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "DOWNLOAD_FAIL_ON_DATALOSS": True,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_INSTALL_ROOT_HANDLER": False,  # our handlers (setup_logging) write the log
        "LOG_LEVEL": "WARNING",
        # Scrapy starts this many tasks per callback result; ours yield a handful of requests, and the default
        # (100) costs more CPU than the downloads themselves.
        "CONCURRENT_ITEMS": 8,
        "DOWNLOADER_MIDDLEWARES": {"foiawatch.crawler.budget.HostBudget": 940,
                                   "foiawatch.crawler.middleware.WarcMiddleware": 950},
    }


def run(config: AgencyConfig, data_dir: DataDir, kind: str = CrawlKind.FULL) -> int:
    from scrapy.crawler import CrawlerProcess

    from . import streaming
    from .recorder import UNCHANGED, CrawlRecorder
    from .spider import LibrarySpider

    streaming.install()
    archive = Archive(data_dir)
    archive.sweep_tmp()
    archive.register_agency(config.id, config.name, list(config.library_urls), json.dumps(config_to_dict(config)))
    crawl_id = archive.start_crawl(config.id, kind=kind)
    emit("started", {"crawl_id": crawl_id, "agency": config.id})
    warc_path = archive.data_dir.warc_file(config.id, crawl_id)
    warc = CrawlWarc(warc_path, {"agency": config.id, "crawl": str(crawl_id)})
    stream_dir = archive.work_dir(f"crawl{crawl_id}")
    recorder = CrawlRecorder(archive, config, crawl_id, kind=kind)
    log.info("crawl %d of %s started: %s", crawl_id, config.id, ", ".join(config.library_urls),
             extra={"agency": config.id, "crawl_id": crawl_id})
    process = CrawlerProcess(scrapy_settings(config))
    keep_only_our_handlers()  # Scrapy releases before LOG_INSTALL_ROOT_HANDLER install their own root handler
    process.crawl(LibrarySpider, recorder=recorder, known=archive.fetch_state(config.id), stream_dir=stream_dir,
                  warc=warc, progress=_progress)
    process.start()
    warc.close()
    requests = sum(crawler.stats.get_value("downloader/request_count", 0) for crawler in process.crawlers)
    status, reason = recorder.finish(archive.data_dir.relative(warc_path), requests=requests)
    shutil.rmtree(stream_dir, ignore_errors=True)
    if status == UNCHANGED:  # a watch pass that found nothing new leaves no crawl behind, and no WARC
        warc_path.unlink(missing_ok=True)
        log.info("watch pass of %s: %s", config.id, reason, extra={"agency": config.id})
        emit("finished", {"crawl_id": None, "status": status, "reason": reason, "crawl": {"requests": requests},
                          "extraction": {}})
        archive.close()
        return 0
    emit("crawled", {"crawl_id": crawl_id, "status": status, "reason": reason})
    _log_listing(archive, config, crawl_id, status, reason)
    extraction = extract_pending(archive,
                                 progress=lambda done, total: emit("extracting", {"done": done, "total": total}))
    row = table(archive.db, "crawls").get(crawl_id)
    log.info("crawl %d of %s finished: %s; %d documents listed (%d new, %d unchanged, %d not modified, %d failed), "
             "%d probes, %d bytes in %.1f s; text extraction: %s", crawl_id, config.id, status, row["documents"] or 0,
             row["documents_new"] or 0, row["documents_unchanged"] or 0, row["not_modified"] or 0,
             row["documents_failed"] or 0, row["probes"] or 0, row["bytes"] or 0, row["duration_s"] or 0.0,
             ", ".join(f"{count} {what}" for what, count in extraction.as_dict().items()) or "nothing new",
             extra={"agency": config.id, "crawl_id": crawl_id, "status": status})
    emit("finished", {"crawl_id": crawl_id, "status": status, "reason": reason, "crawl": row,
                      "extraction": extraction.as_dict()})
    archive.close()
    return 0


def _progress(event: str, data: dict[str, Any]) -> None:
    """The spider's progress events, sent up for the progress display and logged at DEBUG (--verbose)."""
    if event == "page":
        log.debug("listing page %s: %s", data.get("url"), f"ok, {data.get('documents', 0)} document link(s)"
                  if data.get("ok") else "failed", extra={"url": data.get("url")})
    elif event == "document":
        log.debug("document %s%s", data.get("url"), ": failed" if data.get("failed") else "",
                  extra={"url": data.get("url"), "listed": data.get("listed")})
    emit(event, data)


def _log_listing(archive: Archive, config: AgencyConfig, crawl_id: int, status: str, reason: str) -> None:
    """The crawl's verdict, and each listing page that failed with what it answered (the first 20)."""
    extra = {"agency": config.id, "crawl_id": crawl_id, "status": status}
    failed = list(archive.db.query(
        "select url, http_status, error, blocked, outage_notice from listing_pages where crawl_id = ? and "
        "(error is not null or blocked = 1 or outage_notice = 1 or http_status is null or http_status >= 400) "
        "order by id", [crawl_id]))
    for page in failed[:20]:
        answer = page["error"] or (f"HTTP {page['http_status']}" if page["http_status"] else "no answer")
        if page["outage_notice"]:
            answer = f"an outage notice ({answer})" if page["error"] else "an outage notice"
        log.warning("listing page %s failed: %s", page["url"], answer, extra={**extra, "url": page["url"]})
    if len(failed) > 20:
        log.warning("%d more listing pages failed", len(failed) - 20, extra=extra)
    (log.info if status == "complete" else log.warning)("crawl %d of %s: %s (%s)", crawl_id, config.id, status,
                                                        reason, extra=extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one foiawatch crawl (used by `foiawatch crawl`).")
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--config-json", required=True, type=Path)
    parser.add_argument("--file-log-level", default="INFO", help="Level of the JSON lines written to stderr.")
    parser.add_argument("--relay-log-level", default="INFO", help="Level of the log lines sent to the parent.")
    parser.add_argument("--kind", default=CrawlKind.FULL, choices=[kind.value for kind in CrawlKind])
    args = parser.parse_args(argv)
    setup_logging(logging.getLevelName(args.file_log_level), logging.getLevelName(args.relay_log_level))
    config = parse_config(json.loads(args.config_json.read_text()), source=str(args.config_json))
    return run(config, DataDir.at(args.data_dir), args.kind)


if __name__ == "__main__":
    sys.exit(main())
