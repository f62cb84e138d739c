"""A stored unified diff made readable: lines removed and added, paired where one replaced the other, with the
words that differ marked inside each pair.

The archive keeps the diff of two versions' extracted texts (``text_diffs.diff``, by ``diff/textdiff.py``); a
reader should see the change, not ``@@ -3,2 +3,4 @@``. Rendering is pure Python over that text, capped in lines
so a huge diff cannot hold a request for long.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from markupsafe import Markup, escape

MAX_LINES = 2000
SIMILAR = 0.5  # share of characters two lines have in common for one to be an edit of the other
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_WORDS = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass
class Line:
    kind: str  # "context", "removed", "added" or "gap" (lines the diff left out)
    html: Markup
    old: int | None = None  # line numbers in the old and new text
    new: int | None = None


@dataclass
class ReadableDiff:
    lines: list[Line] = field(default_factory=list)
    cut: bool = False  # more lines than MAX_LINES


def readable(diff: str, max_lines: int = MAX_LINES) -> ReadableDiff:
    """The lines of ``diff`` to show, removed lines followed by the added lines that replaced them."""
    result = ReadableDiff()
    removed: list[tuple[int, str]] = []
    added: list[tuple[int, str]] = []
    old = new = 0

    def flush() -> None:
        result.lines.extend(_pair(removed, added))
        removed.clear()
        added.clear()

    for raw in diff.splitlines():
        if len(result.lines) + len(removed) + len(added) >= max_lines:
            result.cut = True
            break
        if raw.startswith(("---", "+++")) and not (removed or added) and old == new == 0:
            continue
        hunk = _HUNK.match(raw)
        if hunk:
            flush()
            if result.lines:
                result.lines.append(Line("gap", Markup("…")))
            old, new = int(hunk.group(1)), int(hunk.group(2))
        elif raw.startswith("-"):
            removed.append((old, raw[1:]))
            old += 1
        elif raw.startswith("+"):
            added.append((new, raw[1:]))
            new += 1
        elif not raw.startswith("\\"):  # "\ No newline at end of file"
            flush()
            result.lines.append(Line("context", escape(raw[1:]), old, new))
            old, new = old + 1, new + 1
    flush()
    return result


def _pair(removed: list[tuple[int, str]], added: list[tuple[int, str]]) -> list[Line]:
    """Removed lines then added lines. A removed line and the added line in the same place that reads much like
    it (a sentence reworded) are one line edited: the words that changed are marked in both."""
    old_html = [escape(text) for _, text in removed]
    new_html = [escape(text) for _, text in added]
    for index, ((_, old), (_, new)) in enumerate(zip(removed, added, strict=False)):
        if difflib.SequenceMatcher(None, old, new, autojunk=False).ratio() >= SIMILAR:
            old_html[index], new_html[index] = _mark_words(old, new)
    return ([Line("removed", html, old=number) for (number, _), html in zip(removed, old_html, strict=True)]
            + [Line("added", html, new=number) for (number, _), html in zip(added, new_html, strict=True)])


def _mark_words(old: str, new: str) -> tuple[Markup, Markup]:
    """``old`` with deleted words in ``<del>`` and ``new`` with inserted words in ``<ins>``."""
    before, after = _WORDS.findall(old), _WORDS.findall(new)
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    old_html, new_html = [], []
    for operation, i1, i2, j1, j2 in matcher.get_opcodes():
        removed, inserted = escape("".join(before[i1:i2])), escape("".join(after[j1:j2]))
        if operation == "equal":
            old_html.append(removed)
            new_html.append(inserted)
            continue
        if removed:
            old_html.append(Markup("<del>{}</del>").format(removed))
        if inserted:
            new_html.append(Markup("<ins>{}</ins>").format(inserted))
    return Markup("").join(old_html), Markup("").join(new_html)
