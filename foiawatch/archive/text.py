"""Extract the text of every blob once, in worker processes that a hostile file cannot take down with it.

A PDF can make pypdf loop forever, allocate gigabytes, or crash the interpreter. So extraction runs in a few
long-lived worker processes (:mod:`.text_worker`), each under a memory cap, and every file gets a wall-clock
timeout: a worker that overruns is killed, one that dies is replaced, and the file is recorded as ``failed`` with
the reason. Workers are reused across files because the benchmark library has 10,000 small PDFs and a process per
file would cost more than the extraction.

Each blob gets exactly one ``texts`` row (status ``ok``, ``empty``, ``failed``, ``unsupported`` or ``needs_ocr``); on
an ``ok`` row, ``error`` is a warning that the text is partial (truncated, or some pages unreadable). A PDF's or an
image's pages also get a ``text_pages`` row each: whether the page's text is its text layer or OCR, and how sure OCR
was. Scans found while Tesseract is missing are ``needs_ocr``; :func:`ocr_pending` reads them once it is there.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, TypeVar, cast

from .db import table
from .ocr import OcrSettings, ocr_settings
from .store import Archive, utcnow
from .text_clean import clean_document_text, clean_text
from .text_worker import READY, Extraction, decode_reply
from .vocabulary import TextSource, TextStatus

__all__ = ["Extraction", "ExtractionStats", "ExtractorPool", "WorkerStartError", "extract_file", "extract_pending",
           "ocr_pending", "text_label"]

DEFAULT_TIMEOUT = 30.0
DEFAULT_MEMORY_LIMIT = 1 << 30  # bytes of address space per worker
DEFAULT_MAX_CHARS = 20_000_000
DEFAULT_WORKERS = 2
_STARTUP_TIMEOUT = 60.0
_BATCH_ROWS, _BATCH_SECONDS = 100, 1.0

K = TypeVar("K")


class WorkerStartError(RuntimeError):
    """A worker process could not start: the environment is broken, not a file."""


class _Worker:
    """One ``text_worker`` process and the two pipes to it."""

    def __init__(self, memory_limit: int):
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        try:
            # Its own process group: a worker killed mid-page takes its Tesseract with it (kill()).
            self.process = subprocess.Popen(
                [sys.executable, "-m", "foiawatch.archive.text_worker", "--memory-limit", str(memory_limit)],
                stdin=request_read, stdout=reply_write, start_new_session=True,
            )
        except BaseException:
            os.close(request_write)
            os.close(reply_read)
            raise
        finally:
            os.close(request_read)
            os.close(reply_write)
        self.requests = Connection(request_write, readable=False)
        self.replies = Connection(reply_read, writable=False)

    def wait_ready(self) -> None:
        """Wait until the worker has imported its parsers, so that time is not charged to the first file."""
        if not self.replies.poll(_STARTUP_TIMEOUT) or self._read() != READY:
            reason = self.exit_reason()
            self.kill()
            raise WorkerStartError(f"the text extraction worker did not start ({reason})")

    def send(self, path: Path, mimetype: str | None, max_chars: int, timeout: float, ocr: OcrSettings) -> bool:
        """Hand the worker a file; False if it has died."""
        try:
            self.requests.send_bytes(json.dumps([str(path), mimetype, max_chars, timeout, ocr.as_json()]).encode())
            return True
        except OSError:
            return False

    def receive(self) -> tuple[Extraction, bool] | str | None:
        """The worker's answer: ``(extraction, reusable)``, or a progress note (an OCR page begins); None if it died
        (or garbled its answer) instead."""
        data = self._read()
        try:
            return decode_reply(data) if data is not None else None
        except (ValueError, KeyError, TypeError):
            return None

    def _read(self) -> bytes | None:
        try:
            return self.replies.recv_bytes()
        except (EOFError, OSError):
            return None

    def exit_reason(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:  # gone already, and its group with it
            pass
        self.process.wait()
        if not self.requests.closed:
            self.requests.close()
            self.replies.close()

    def stop(self) -> None:
        """Let the worker exit cleanly (it does when its input closes); kill it if it will not."""
        self.requests.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.replies.close()


@dataclass
class _Job:
    key: Any
    path: Path
    mimetype: str | None
    started: float = 0.0
    deadline: float = 0.0
    doing: str = ""  # the worker's last progress note ("page 7 of 200")


class ExtractorPool:
    """Long-lived extraction workers; each file runs under a timeout, a memory cap and a character cap.

    The timeout is per file, and per page for OCR: a worker starting an OCR page says so, and the page gets the
    whole timeout. ``ocr`` says whether and how Tesseract runs (default: as ``ocr_settings()`` finds it). Use as a
    context manager so the workers are stopped. Workers start lazily, up to ``workers``. Not thread-safe: one
    caller at a time.
    """

    def __init__(self, workers: int = DEFAULT_WORKERS, timeout: float = DEFAULT_TIMEOUT,
                 memory_limit: int = DEFAULT_MEMORY_LIMIT, max_chars: int = DEFAULT_MAX_CHARS,
                 ocr: OcrSettings | None = None):
        if workers < 1 or timeout <= 0 or memory_limit <= 0 or max_chars <= 0:
            raise ValueError("workers, timeout, memory_limit and max_chars must be positive")
        self.ocr = ocr or ocr_settings()
        self.size = workers
        self.timeout = timeout
        self.memory_limit = memory_limit
        self.max_chars = max_chars
        self._idle: list[_Worker] = []
        self._busy: dict[_Worker, _Job] = {}
        self._started = 0

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in list(self._busy):
            worker.kill()
        for worker in self._idle:
            worker.stop()
        self._busy.clear()
        self._idle.clear()
        self._started = 0

    def extract(self, path: str | Path, mimetype: str | None = None) -> Extraction:
        """Extract one file; the mimetype recorded for it is only a hint."""
        [(_, extraction)] = self.map([(None, Path(path), mimetype)])
        return extraction

    def map(self, jobs: Iterable[tuple[K, Path, str | None]]) -> Iterator[tuple[K, Extraction]]:
        """Extract ``(key, path, mimetype)`` jobs in parallel, yielding ``(key, extraction)`` as each finishes."""
        pending = iter(jobs)
        try:
            while True:
                self._dispatch(pending)
                if not self._busy:
                    return
                yield from self._collect()
        finally:
            # Abandoned mid-way: answers still in flight would be mistaken for the next files' answers.
            for worker in list(self._busy):
                self._retire(worker)

    def _dispatch(self, pending: Iterator[tuple[Any, Path, str | None]]) -> None:
        while self._idle or self._started < self.size:
            spec = next(pending, None)
            if spec is None:
                return
            job = _Job(*spec)
            if not self._idle:
                self._start_missing()
            worker = self._idle.pop()
            if not worker.send(job.path, job.mimetype, self.max_chars, self.timeout, self.ocr):
                self._retire(worker)  # it died while idle (e.g. the OOM killer); a fresh one gets the file
                self._start_missing()
                worker = self._idle.pop()
                if not worker.send(job.path, job.mimetype, self.max_chars, self.timeout, self.ocr):
                    self._retire(worker)
                    raise WorkerStartError("a fresh text extraction worker stopped reading at once")
            job.started = time.monotonic()
            job.deadline = job.started + self.timeout
            self._busy[worker] = job

    def _start_missing(self) -> None:
        """Bring the pool up to size, starting the processes side by side (each takes a few hundred ms)."""
        fresh = [_Worker(self.memory_limit) for _ in range(self.size - self._started)]
        self._started += len(fresh)
        try:
            for worker in fresh:
                worker.wait_ready()
        except WorkerStartError:
            for worker in fresh:
                worker.kill()
            self._started -= len(fresh)
            raise
        self._idle.extend(fresh)

    def _retire(self, worker: _Worker) -> None:
        self._busy.pop(worker, None)
        worker.kill()
        self._started -= 1

    def _collect(self) -> list[tuple[Any, Extraction]]:
        """Wait for the first answer or deadline; return what finished, replacing workers that failed."""
        next_deadline = min(job.deadline for job in self._busy.values())
        by_connection = {worker.replies: worker for worker in self._busy}
        # wait() returns some of the connections it is given; typeshed widens that to anything it could be given
        ready = cast("list[Connection[Any, Any]]",
                     wait(list(by_connection), timeout=max(0.0, next_deadline - time.monotonic())))
        now = time.monotonic()
        finished: list[tuple[Any, Extraction]] = []
        for worker in [by_connection[connection] for connection in ready]:
            job = self._busy[worker]
            answer = worker.receive()
            if isinstance(answer, str):  # an OCR page begins: it has the whole timeout
                job.doing, job.deadline = answer, now + self.timeout
                continue
            if answer is None:
                extraction = Extraction(TextStatus.FAILED, error=f"worker crashed: {worker.exit_reason()}")
                reusable = False
            else:
                extraction, reusable = answer
            finished.append((job.key, replace(extraction, seconds=now - job.started)))
            if reusable:
                del self._busy[worker]
                self._idle.append(worker)
            else:
                self._retire(worker)
        for worker, job in list(self._busy.items()):
            if now >= job.deadline:
                self._retire(worker)
                where = f" (OCR of {job.doing})" if job.doing else ""
                timed_out = Extraction(TextStatus.FAILED, error=f"timed out after {self.timeout:g} s{where}",
                                       seconds=now - job.started)
                finished.append((job.key, timed_out))
        return finished


@dataclass
class ExtractionStats:
    """How many blobs got each status in one run."""

    counts: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, int]:
        return {status: self.counts[status] for status in TextStatus if self.counts[status]}


def extract_file(path: str | Path, *, mimetype: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 memory_limit: int = DEFAULT_MEMORY_LIMIT, max_chars: int = DEFAULT_MAX_CHARS) -> Extraction:
    """Extract one file in a throwaway worker (for one-off files such as a Wayback recovery)."""
    with ExtractorPool(1, timeout, memory_limit, max_chars) as pool:
        return pool.extract(path, mimetype)


class OcrUnavailable(RuntimeError):
    """Tesseract cannot run here: the message says why and how to install it."""


def extract_pending(archive: Archive, *, workers: int = DEFAULT_WORKERS, timeout: float = DEFAULT_TIMEOUT,
                    memory_limit: int = DEFAULT_MEMORY_LIMIT, max_chars: int = DEFAULT_MAX_CHARS,
                    progress: Callable[[int, int], None] | None = None,
                    ocr: OcrSettings | None = None) -> ExtractionStats:
    """Give every blob without a ``texts`` row one; safe to re-run, and to run after a crash mid-way.

    Rows are committed in small batches, so an interrupted run keeps what it finished; a blob whose file is missing
    from the store is recorded as failed. ``progress(done, total)`` is called before the first file and after each.
    """
    pending = archive.db.execute(
        "select sha256, mimetype from blobs where sha256 not in (select sha256 from texts) order by rowid"
    ).fetchall()
    pool = ExtractorPool(min(workers, max(len(pending), 1)), timeout, memory_limit, max_chars, ocr)
    return _extract(archive, pending, pool, progress, again=False)


def ocr_pending(archive: Archive, agency: str | None = None, *, workers: int = DEFAULT_WORKERS,
                timeout: float = DEFAULT_TIMEOUT, memory_limit: int = DEFAULT_MEMORY_LIMIT,
                max_chars: int = DEFAULT_MAX_CHARS, progress: Callable[[int, int], None] | None = None,
                ocr: OcrSettings | None = None) -> ExtractionStats:
    """Extract again, now with OCR, every blob left ``needs_ocr`` (those of ``agency``'s documents and recovered
    copies, or all); each row is replaced by the new one. Raises OcrUnavailable when Tesseract still cannot run."""
    ocr = ocr or ocr_settings()
    if ocr.command is None:
        raise OcrUnavailable(ocr.unavailable)
    pending = archive.db.execute(
        """
        select t.sha256, b.mimetype from texts t join blobs b on b.sha256 = t.sha256
        where t.status = :needs_ocr and (:agency is null
            or t.sha256 in (select s.sha256 from sightings s join documents d on d.id = s.document_id
                            where d.agency_id = :agency)
            or t.sha256 in (select sha256 from recoveries where agency_id = :agency))
        order by b.rowid
        """, {"needs_ocr": TextStatus.NEEDS_OCR, "agency": agency}).fetchall()
    pool = ExtractorPool(min(workers, max(len(pending), 1)), timeout, memory_limit, max_chars, ocr)
    return _extract(archive, pending, pool, progress, again=True)


def _extract(archive: Archive, pending: list[tuple[str, str | None]], pool: ExtractorPool,
             progress: Callable[[int, int], None] | None, again: bool) -> ExtractionStats:
    stats, total = ExtractionStats(), len(pending)
    if progress:
        progress(0, total)
    if not pending:
        pool.close()
        return stats
    jobs = ((sha256, archive.blobs.path(sha256), mimetype) for sha256, mimetype in pending)
    batch: list[tuple[str, Extraction]] = []
    flushed = time.monotonic()
    try:
        with pool:
            for sha256, extraction in pool.map(jobs):
                batch.append((sha256, extraction))
                stats.counts[extraction.status] += 1
                if len(batch) >= _BATCH_ROWS or time.monotonic() - flushed >= _BATCH_SECONDS:
                    _write(archive, batch, again)
                    batch, flushed = [], time.monotonic()
                if progress:
                    progress(stats.total, total)
    finally:
        _write(archive, batch, again)  # on Ctrl-C too: finished files need not be extracted again
    return stats


def _row(sha256: str, extraction: Extraction) -> dict[str, Any]:
    ok = extraction.status == TextStatus.OK
    ocr = [page for page in extraction.page_info if page.source == TextSource.OCR]
    words = sum(page.words for page in ocr)
    page_texts = extraction.text.split("\f")
    layer = any(page.source == TextSource.TEXT_LAYER and number < len(page_texts) and page_texts[number].strip()
                for number, page in enumerate(extraction.page_info))
    source = TextSource.TEXT_LAYER if not ocr else TextSource.MIXED if layer else TextSource.OCR
    return {"sha256": sha256, "status": extraction.status, "error": extraction.error,
            "text": clean_document_text(extraction.text) if ok else None,
            "pages": extraction.pages,
            "chars": extraction.chars, "seconds": round(extraction.seconds, 4), "extracted_at": utcnow(),
            "title": clean_text(extraction.title),
            "source": source if ok else None, "ocr_pages": len(ocr) if ok and ocr else None,
            "ocr_confidence": round(sum((page.confidence or 0) * page.words for page in ocr) / words, 1)
                              if ok and words else None}


def _page_rows(sha256: str, extraction: Extraction) -> list[dict[str, Any]]:
    if extraction.status != TextStatus.OK:
        return []
    return [{"sha256": sha256, "page": number, "source": page.source, "confidence": page.confidence,
             "words": page.words if page.source == TextSource.OCR else None,
             "low_words": json.dumps([list(word) for word in page.low_words]) if page.source == TextSource.OCR
             else None}
            for number, page in enumerate(extraction.page_info, start=1)]


def _write(archive: Archive, results: list[tuple[str, Extraction]], again: bool) -> None:
    """Store a batch of extractions; ``again`` replaces a blob's rows (OCR of a ``needs_ocr`` text), otherwise
    "or ignore": another process may have extracted the same blob meanwhile, and the first row stands."""
    if not results:
        return
    rows = [_row(sha256, extraction) for sha256, extraction in results]
    pages = [row for sha256, extraction in results for row in _page_rows(sha256, extraction)]
    with archive.db.conn:
        if again:
            archive.db.conn.executemany("delete from text_pages where sha256 = ?", [[row["sha256"]] for row in rows])
            table(archive.db, "texts").upsert_all(rows, pk="sha256")
            table(archive.db, "text_pages").insert_all(pages)
        else:
            table(archive.db, "texts").insert_all(rows, ignore=True)
            table(archive.db, "text_pages").insert_all(pages, ignore=True)


def text_label(archive: Archive, sha256: str) -> str:
    """A text's name in a diff: its sha256, and how it was read when OCR read some of it."""
    row = archive.db.execute("select source, ocr_pages, pages, ocr_confidence from texts where sha256 = ?",
                             [sha256]).fetchone()
    if row is None or row[0] not in (TextSource.OCR, TextSource.MIXED):
        return sha256
    source, ocr_pages, pages, confidence = row
    how = "OCR" if source == TextSource.OCR else f"OCR of {ocr_pages} of {pages} pages"
    sure = f", mean confidence {confidence:g}" if confidence is not None else ""
    return f"{sha256} ({how}{sure})"
