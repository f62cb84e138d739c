"""First-page previews of published PDFs, rendered at publish time into the public database's ``previews`` table.

A reader sees what a document looks like without opening an agency's PDF in the browser (a PDF is never shown
inline: it is the agency's file, not ours). Only the copy each document page shows is rendered, and only when it
is published: a withheld file is never opened. Rendering is budgeted: each file in its own process
(:mod:`.preview_worker`) under a timeout and a memory cap, each PNG under a size cap, and the whole publish under a
time budget; a file that fails gets its reason in the table (and is not tried again while its bytes are the same),
one the budget did not reach is rendered by a later publish. Previews are reused from the public database being
replaced, which is derived data like them, so a publish renders only what is new.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from ..archive.blobs import BlobStore
from ..archive.datadir import DataDir

PDF_TYPES = ("application/pdf", "application/x-pdf")
# Run by its path, not with -m: importing the foiawatch package would load Datasette in every worker (0.7 s each).
WORKER = Path(__file__).with_name("preview_worker.py")


@dataclass(frozen=True)
class PreviewBudget:
    """How much a publish may spend on previews."""

    seconds_per_file: float = 20.0
    total_seconds: float = 120.0
    max_png_bytes: int = 300_000
    max_pdf_bytes: int = 200 * 1024 * 1024
    memory_limit: int = 1 << 30


DEFAULT_BUDGET = PreviewBudget()

_TABLE = """create table previews (
    sha256 text primary key,
    png blob,                          -- null when it could not be rendered
    width integer, height integer,
    error text,                        -- why not
    rendered_at text
)"""


def build_previews(db: sqlite_utils.Database, data_dir: DataDir, previous: Path | None,
                   budget: PreviewBudget = DEFAULT_BUDGET) -> dict[str, int]:
    """Fill ``previews`` for the published PDFs the catalogue shows; returns counts (rendered, reused, failed,
    deferred)."""
    db.execute(_TABLE)
    wanted = {row[0]: row[1] for row in db.execute(
        "select distinct b.sha256, b.size from catalogue k join blobs b on b.sha256 = k.copy_sha256 "
        f"where lower(substr(b.mimetype, 1, 15)) in ({', '.join(repr(t) for t in PDF_TYPES)}) "
        "or b.mimetype like 'application/pdf;%'")}
    counts = {"rendered": 0, "reused": 0, "failed": 0, "deferred": 0}
    if previous is not None and previous.is_file() and wanted:
        counts["reused"] = _reuse(db, previous, list(wanted))
        for (sha256,) in db.execute("select sha256 from previews"):
            wanted.pop(sha256, None)
    blobs = BlobStore(data_dir.blobs, data_dir.tmp)
    deadline = time.monotonic() + budget.total_seconds
    for sha256, size in sorted(wanted.items()):
        if time.monotonic() > deadline:
            counts["deferred"] += 1
            continue
        png, error = render_preview(blobs.path(sha256), size, budget)
        width, height = _png_size(png) if png else (None, None)
        db.execute("insert into previews values (?, ?, ?, ?, ?, datetime('now'))", [sha256, png, width, height, error])
        counts["failed" if png is None else "rendered"] += 1
    return counts


def render_preview(path: Path, size: int | None, budget: PreviewBudget = DEFAULT_BUDGET) -> tuple[bytes | None, str]:
    """(PNG, "") or (None, why not), rendered in a worker process under the budget's limits."""
    if not path.is_file():
        return None, "the file is not in the blob store"
    if (size or path.stat().st_size) > budget.max_pdf_bytes:
        return None, f"larger than the {budget.max_pdf_bytes >> 20} MiB a preview is rendered from"
    command = [sys.executable, str(WORKER), str(path),
               "--max-bytes", str(budget.max_png_bytes), "--memory-limit", str(budget.memory_limit),
               "--cpu-seconds", str(int(budget.seconds_per_file) + 1)]
    try:
        done = subprocess.run(command, capture_output=True, timeout=budget.seconds_per_file, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, f"rendering took longer than {budget.seconds_per_file:g} s"
    if done.returncode == 0 and done.stdout.startswith(b"\x89PNG"):
        return done.stdout, ""
    reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
    if done.returncode < 0:
        return None, f"the renderer crashed (signal {-done.returncode})"
    return None, (reason[-1] if reason else f"the renderer failed (exit status {done.returncode})")[:300]


def _reuse(db: sqlite_utils.Database, previous: Path, wanted: list[str]) -> int:
    """Copy the previews of ``wanted`` files from the public database being replaced, if it has any (read through
    a connection of its own: the build's transaction cannot attach a database)."""
    reused = 0
    try:
        with closing(sqlite3.connect(f"{previous.resolve().as_uri()}?mode=ro", uri=True)) as old:
            for start in range(0, len(wanted), 500):
                rows = old.execute(
                    "select sha256, png, width, height, error, rendered_at from previews "
                    "where sha256 in (select value from json_each(?)) "
                    "and (png is not null or error not like 'rendering took longer%')",
                    [json.dumps(wanted[start:start + 500])]).fetchall()
                db.conn.executemany("insert into previews values (?, ?, ?, ?, ?, ?)", rows)
                reused += len(rows)
    except sqlite3.Error:  # an older public database without previews, or none readable: render them all
        return reused
    return reused


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
