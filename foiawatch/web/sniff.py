"""Decide what a downloaded body really is from its first bytes: a server's Content-Type is not trusted.

An agency that takes a PDF down often answers its URL with an HTML "page not found" at status 200; treating that
page as the document would hide the takedown.
"""

from __future__ import annotations

_SIGNATURES: list[tuple[bytes, str]] = [
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # legacy .doc / .xls
    (b"{\\rtf", "application/rtf"),
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
]
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<title")
_OOXML = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation"}


def is_html(head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].lower()
    return any(start.startswith(marker) for marker in _HTML_MARKERS) or (
        start.startswith(b"<") and (b"<html" in start or b"<body" in start)
    )


def sniff_mimetype(head: bytes, declared: str | None, url: str = "") -> str:
    """The type the bytes show; falls back to the declared type only for formats without a signature."""
    for signature, mimetype in _SIGNATURES:
        if head.startswith(signature):
            if mimetype == "application/zip":  # OOXML files are ZIPs too: the name or a matching type tells
                if declared is not None and declared in _OOXML.values():
                    return declared
                extension = url.rsplit(".", 1)[-1].lower() if "." in url.rsplit("/", 1)[-1] else ""
                return _OOXML.get(extension, mimetype)
            return mimetype
    if is_html(head):
        return "text/html"
    if declared and not declared.startswith("text/html"):
        return declared
    return "application/octet-stream"
