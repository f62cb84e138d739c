"""What a person sees while a crawl runs and when it ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..archive.vocabulary import counted
from ..config import AgencyConfig
from ..crawler import CrawlResult


def bars_wanted(console: Console, quiet: bool) -> bool:
    """Progress bars only on a terminal, and not with --quiet: without a terminal (cron, systemd, a container, a
    pipe) the log lines are the record, and a redrawn bar would only garble it."""
    return console.is_terminal and not quiet


@contextmanager
def progress_bars(quiet: bool = False) -> Iterator[Progress]:
    """Progress bars on stderr for long commands (stdout stays clean for reports and --json), gone when done."""
    console = Console(stderr=True)
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, disable=not bars_wanted(console, quiet),
                        transient=True)
    with progress:
        yield progress


class CrawlProgress:
    """Turns the crawl process's events into a live display: pages, documents, probes, text extraction."""

    def __init__(self, console: Console, quiet: bool = False):
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console, disable=not bars_wanted(console, quiet), transient=True,
        )
        self.pages = self.progress.add_task("listing pages", total=None)
        self.documents = self.progress.add_task("documents", total=0)
        self.extraction = self.progress.add_task("text extraction", total=None, visible=False)

    def __enter__(self) -> CrawlProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.progress.__exit__(exc_type, exc, traceback)

    def update(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "page":
            self.progress.advance(self.pages)
            self.progress.update(self.documents, total=self.progress.tasks[self.documents].total
                                 + event.get("documents", 0))
        elif kind == "document":
            self.progress.advance(self.documents)
        elif kind == "probing":
            self.progress.update(self.documents, total=self.progress.tasks[self.documents].total + event["count"],
                                 description="documents (+ probes of unlisted ones)")
        elif kind == "extracting":
            self.progress.update(self.extraction, visible=True, completed=event["done"], total=event["total"])


def print_crawl_summary(console: Console, config: AgencyConfig, result: CrawlResult) -> None:
    crawl = result.crawl
    if result.crawl_id is None:  # a watch pass that found nothing new: no crawl was kept
        console.print(f"{config.name} — watch pass: [green]{result.status}[/] — {result.reason}; "
                      f"{counted(crawl.get('requests', 0), 'request')}", soft_wrap=True)
        return
    colour = {"complete": "green", "incomplete": "yellow"}.get(result.status, "red")
    table = Table(title=f"{config.name} — crawl {result.crawl_id}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("status", f"[{colour}]{result.status}[/] — {result.reason}")
    table.add_row("listing pages", f"{crawl['pages_ok']} ok, {crawl['pages_failed']} failed")
    table.add_row("documents", f"{crawl['documents']} listed: {crawl['documents_new']} new, "
                  f"{crawl['documents_unchanged']} unchanged, {crawl['not_modified']} not modified (304), "
                  f"{crawl['documents_failed']} failed")
    table.add_row("probes", f"{crawl['probes']} no-longer-listed documents checked")
    table.add_row("downloaded", _size(crawl["bytes"] or 0))
    table.add_row("time", f"{crawl['duration_s']:.1f} s")
    extraction = result.extraction
    if extraction:
        table.add_row("text", ", ".join(f"{count} {status}" for status, count in extraction.items()) or "nothing new")
    table.add_row("WARC", str(crawl["warc_path"]))
    console.print(table)


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"
