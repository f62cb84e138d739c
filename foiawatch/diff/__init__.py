"""diff/: turns an agency's crawls into events (added, changed, removed, unlisted, moved, restored, ...).

Reads the archive's tables, writes ``events`` and ``text_diffs``; never fetches anything.
"""

from .engine import DiffResult, backfill_text_diffs, run_diff
from .report import events_json, list_events, render_report

__all__ = ["DiffResult", "backfill_text_diffs", "events_json", "list_events", "render_report", "run_diff"]
