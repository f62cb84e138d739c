"""Clean short texts that come from outside (titles, section headings, link texts) before they are stored.

A library page is hostile input: a title may carry control characters that no XML document (the Atom feed) may
contain and HTML forbids, terminal escapes that rewrite an operator's screen, or bidirectional overrides that make
a link text read differently from what it is. :func:`clean_text` keeps every printable character, markup
included (pages and feeds escape it), and drops the rest:

* C0 controls except tab and line feed; a carriage return becomes a line feed (CR LF one line feed);
* DEL and the C1 controls (U+0080-U+009F);
* the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069);
* what XML 1.0 forbids besides: lone surrogates, U+FFFE and U+FFFF.

Controls that separate words (vertical tab, form feed, the information separators, NEL) become a space, so
"Report\\x0bAnnex" stays two words.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile("[\x0b\x0c\x1c-\x1f\x85]")
_UNWANTED = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
# The same without the C1 controls, which text read from a page keeps: there they are nearly always mojibake (UTF-8
# read as Latin-1, "Nationâ\x80\x99s") that is the page as published; XML allows them, and publishing drops them.
_UNWANTED_BUT_C1 = re.compile("[\x00-\x08\x0e-\x1b\x7f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str | None, *, keep_c1: bool = False) -> str | None:
    """``value`` without control characters, bidirectional overrides and characters XML forbids; None stays None.
    ``keep_c1`` keeps U+0080-U+009F (except NEL, a separator) as read."""
    if value is None:
        return None
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return (_UNWANTED_BUT_C1 if keep_c1 else _UNWANTED).sub("", _SEPARATORS.sub(" ", value))


def clean_document_text(value: str) -> str:
    """An extracted document text cleaned the same way, but keeping its form feeds: they separate its pages."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _UNWANTED.sub("", _SEPARATORS.sub(lambda match: match.group() if match.group() == "\f" else " ", value))
