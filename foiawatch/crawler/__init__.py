"""Crawling: the Scrapy spider and recorder that snapshot a FOIA library. Only this package imports Scrapy.

:func:`crawl` runs one crawl in a child process (see :mod:`.run`) and streams its progress events back. The child's
log lines go to ``logs/crawl-<agency>.log`` (JSON lines, with anything else it writes to stderr) and come back as
``log`` events, logged here as this process's own: on its stderr and in its logs/, terminal or not.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..archive import logs
from ..archive.datadir import DataDir, DataDirLike
from ..archive.vocabulary import CrawlKind
from ..config import AgencyConfig, config_to_dict

log = logging.getLogger(__name__)


class CrawlProcessError(RuntimeError):
    """The crawl process died without reporting a result; its log says why."""


@dataclass
class CrawlResult:
    crawl_id: int | None  # None: a watch pass that found nothing new (status "unchanged"), kept as no crawl
    status: str
    reason: str
    crawl: dict[str, Any]
    extraction: dict[str, Any]


def crawl(
    config: AgencyConfig,
    data_dir: DataDirLike,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    kind: str = CrawlKind.FULL,
) -> CrawlResult:
    """Crawl one agency's library into the archive at ``data_dir`` and return the crawl's outcome. ``kind``: a
    full crawl, a watch pass (listing pages, new and delisted documents) or a revalidation pass (documents due)."""
    data_dir = DataDir.at(data_dir)
    log_path = data_dir.crawl_log(config.id)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(config_to_dict(config), handle)
    # The file keeps INFO (DEBUG when this process is verbose); only what this process would log is sent up.
    wanted = logging.getLogger("foiawatch").getEffectiveLevel()
    file_level = "DEBUG" if wanted <= logging.DEBUG else "INFO"
    try:
        with open(log_path, "ab") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "foiawatch.crawler.run", "--data-dir", str(data_dir),
                 "--config-json", handle.name, "--file-log-level", file_level,
                 "--relay-log-level", logging.getLevelName(max(wanted, logging.DEBUG)), "--kind", str(kind)],
                stdout=subprocess.PIPE, stderr=log_file, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            finished: dict[str, Any] | None = None
            assert process.stdout is not None
            for line in process.stdout:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if event.get("event") == "log":
                    logs.replay(event)
                    continue
                if on_event:
                    on_event(event)
                if event.get("event") == "finished":
                    finished = event
            returncode = process.wait()
    finally:
        os.unlink(handle.name)
    if finished is None:
        log.error("the crawl process for %s exited with code %s before finishing; see %s", config.id, returncode,
                  log_path, extra={"agency": config.id})
        raise CrawlProcessError(
            f"the crawl process for {config.id!r} exited with code {returncode} before finishing; "
            f"see {log_path}"
        )
    return CrawlResult(finished["crawl_id"], finished["status"], finished["reason"], finished["crawl"],
                       finished["extraction"])
