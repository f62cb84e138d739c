"""Extract the text of every blob once, in worker processes that a hostile file cannot take down with it.

A PDF can make pypdf loop forever, allocate gigabytes, or crash the interpreter. So extraction runs in a few
long-lived worker processes (:mod:`.text_worker`), each under a memory cap, and every file gets a wall-clock
timeout: a worker that overruns is killed, one that dies is replaced, and the file is recorded as ``failed`` with
the reason. Workers are reused across files because the benchmark library has 10,000 small PDFs and a process per
file would cost more than the extraction.

Each blob gets exactly one ``texts`` row (status ``ok``, ``empty``, ``failed`` or ``unsupported``); on an ``ok``
row, ``error`` is a warning that the text is partial (truncated, or some pages unreadable).
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
from .store import Archive, utcnow
from .text_clean import clean_document_text, clean_text
from .text_worker import READY, Extraction, decode_reply
from .vocabulary import TextStatus

__all__ = ["Extraction", "ExtractionStats", "ExtractorPool", "WorkerStartError", "extract_file", "extract_pending"]

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
            self.process = subprocess.Popen(
                [sys.executable, "-m", "foiawatch.archive.text_worker", "--memory-limit", str(memory_limit)],
                stdin=request_read, stdout=reply_write,
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

    def send(self, path: Path, mimetype: str | None, max_chars: int, timeout: float) -> bool:
        """Hand the worker a file; False if it has died."""
        try:
            self.requests.send_bytes(json.dumps([str(path), mimetype, max_chars, timeout]).encode())
            return True
        except OSError:
            return False

    def receive(self) -> tuple[Extraction, bool] | None:
        """The worker's answer: ``(extraction, reusable)``; None if it died (or garbled its answer) instead."""
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
        self.process.kill()
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


class ExtractorPool:
    """Long-lived extraction workers; each file runs under a timeout, a memory cap and a character cap.

    Use as a context manager so the workers are stopped. Workers start lazily, up to ``workers``. Not thread-safe:
    one caller at a time.
    """

    def __init__(self, workers: int = DEFAULT_WORKERS, timeout: float = DEFAULT_TIMEOUT,
                 memory_limit: int = DEFAULT_MEMORY_LIMIT, max_chars: int = DEFAULT_MAX_CHARS):
        if workers < 1 or timeout <= 0 or memory_limit <= 0 or max_chars <= 0:
            raise ValueError("workers, timeout, memory_limit and max_chars must be positive")
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
            if not worker.send(job.path, job.mimetype, self.max_chars, self.timeout):
                self._retire(worker)  # it died while idle (e.g. the OOM killer); a fresh one gets the file
                self._start_missing()
                worker = self._idle.pop()
                if not worker.send(job.path, job.mimetype, self.max_chars, self.timeout):
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
                timed_out = Extraction(TextStatus.FAILED, error=f"timed out after {self.timeout:g} s",
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


def extract_pending(archive: Archive, *, workers: int = DEFAULT_WORKERS, timeout: float = DEFAULT_TIMEOUT,
                    memory_limit: int = DEFAULT_MEMORY_LIMIT, max_chars: int = DEFAULT_MAX_CHARS,
                    progress: Callable[[int, int], None] | None = None) -> ExtractionStats:
    """Give every blob without a ``texts`` row one; safe to re-run, and to run after a crash mid-way.

    Rows are committed in small batches, so an interrupted run keeps what it finished; a blob whose file is missing
    from the store is recorded as failed. ``progress(done, total)`` is called before the first file and after each.
    """
    pending = archive.db.execute(
        "select sha256, mimetype from blobs where sha256 not in (select sha256 from texts) order by rowid"
    ).fetchall()
    stats, total = ExtractionStats(), len(pending)
    if progress:
        progress(0, total)
    if not pending:
        return stats
    jobs = ((sha256, archive.blobs.path(sha256), mimetype) for sha256, mimetype in pending)
    batch: list[dict[str, Any]] = []
    flushed = time.monotonic()
    try:
        with ExtractorPool(min(workers, max(total, 1)), timeout, memory_limit, max_chars) as pool:
            for sha256, extraction in pool.map(jobs):
                batch.append(_row(sha256, extraction))
                stats.counts[extraction.status] += 1
                if len(batch) >= _BATCH_ROWS or time.monotonic() - flushed >= _BATCH_SECONDS:
                    _write(archive, batch)
                    batch, flushed = [], time.monotonic()
                if progress:
                    progress(stats.total, total)
    finally:
        _write(archive, batch)  # on Ctrl-C too: finished files need not be extracted again
    return stats


def _row(sha256: str, extraction: Extraction) -> dict[str, Any]:
    return {"sha256": sha256, "status": extraction.status, "error": extraction.error,
            "text": clean_document_text(extraction.text) if extraction.status == TextStatus.OK else None,
            "pages": extraction.pages,
            "chars": extraction.chars, "seconds": round(extraction.seconds, 4), "extracted_at": utcnow(),
            "title": clean_text(extraction.title)}


def _write(archive: Archive, rows: list[dict[str, Any]]) -> None:
    # "or ignore": another process may have extracted the same blob meanwhile; the first row stands.
    if rows:
        table(archive.db, "texts").insert_all(rows, ignore=True)
