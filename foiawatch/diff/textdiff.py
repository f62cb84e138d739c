"""Text comparison: unified diffs of a changed document's extracted text, and listing-page text as blocks."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

# A diff is stored for people to read; past this it is cut (the line counts stay exact).
MAX_DIFF_CHARS = 200_000


@dataclass(frozen=True)
class TextDiff:
    diff: str
    lines_added: int
    lines_removed: int
    truncated: bool = False


def text_diff(old: str, new: str, old_label: str = "old", new_label: str = "new") -> TextDiff:
    """A unified diff of two extracted texts with the number of lines added and removed."""
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label, lineterm=""))
    body = lines[2:]  # after the ---/+++ header, which a changed line could otherwise be mistaken for
    added = sum(1 for line in body if line.startswith("+"))
    removed = sum(1 for line in body if line.startswith("-"))
    text = "\n".join(lines)
    truncated = len(text) > MAX_DIFF_CHARS
    return TextDiff(text[:MAX_DIFF_CHARS] if truncated else text, added, removed, truncated)


def blocks(text: str | None) -> list[str]:
    """A listing page's visible text as blocks: one per line, stripped, empty lines dropped.

    The crawler already writes one block per line with whitespace collapsed; this only has to split, and it
    runs over every line of a library's listing pages, so it stays in C-implemented built-ins.
    """
    return list(filter(None, map(str.strip, (text or "").splitlines())))

