"""Reading HTML the same way everywhere: bytes in any (or a lying) charset to a tree, its title, its visible text."""

from __future__ import annotations

import re

import lxml.html
from lxml import etree
from w3lib.encoding import html_to_unicode

from ..archive.text_clean import clean_text

NEVER_VISIBLE = ("script", "style", "template")
WHITESPACE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")  # zero-width spaces included
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<title")


def parse_html(body: bytes, encoding: str | None = None) -> etree._Element:
    """A tree for any bytes: ``encoding`` is the charset the server declared, if any; a byte-order mark overrides
    it; when it is missing or bogus the page's own meta charset and then UTF-8 are used (undecodable bytes become
    U+FFFD). An empty or hopeless body gives an empty page, never an error."""
    _, text = html_to_unicode(f"text/html; charset={encoding}" if encoding else None, body)
    text = text.replace("\x00", "")
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True)
    try:
        return lxml.html.document_fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, ValueError):
        return lxml.html.document_fromstring(b"<html><body></body></html>", parser=parser)


def collapse(text: str) -> str:
    """Whitespace (zero-width spaces included) collapsed to single spaces, trimmed, and control characters and
    bidirectional overrides dropped: every title, heading and link text read from a page goes through here."""
    return WHITESPACE.sub(" ", clean_text(text, keep_c1=True) or "").strip()


def page_title(document: etree._Element) -> str:
    title = document.find("head/title")
    if title is None:
        title = document.find(".//title")
    return collapse(title.text_content()) if title is not None else ""


def visible_text(document: etree._Element) -> str:
    """The text a reader sees (scripts, styles and templates left out), whitespace collapsed."""
    body = document.find("body")
    root = body if body is not None else document
    parts = [collapse(text) for text in root.xpath(
        ".//text()[not(ancestor::script or ancestor::style or ancestor::template)]")]
    return " ".join(part for part in parts if part)


def looks_like_html(content_type: str, body: bytes) -> bool:
    """What the server says, or failing that what the first bytes show."""
    if "html" in content_type.lower():
        return True
    start = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith(_HTML_STARTS)
