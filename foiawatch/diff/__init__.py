"""diff/: turns an agency's crawls into events (added, changed, removed, unlisted, moved, restored, ...).

Reads the archive's tables, writes ``events`` and ``text_diffs``; never fetches anything.
"""

from .engine import DiffResult, backfill_text_diffs, run_diff
from .report import events_json, list_events, render_report
from .schema import EVENT_KINDS, ensure_schema

__all__ = [
    "DiffResult", "EVENT_KINDS", "backfill_text_diffs", "ensure_schema", "events_json", "list_events",
    "render_report", "run_diff",
]
