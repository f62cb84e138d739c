"""Text extraction itself, and the worker process that runs it.

Nothing here is safe to call in a process that matters: pypdf on a hostile PDF can loop, exhaust memory or hit a
bug in a C library. :mod:`foiawatch.archive.text` runs this module as ``python -m foiawatch.archive.text_worker``
under a memory cap and a wall-clock timeout, and replaces the process when a file kills it.

The type of a file is decided from its bytes: a server's Content-Type (``blobs.mimetype``) is only a hint for
bytes without a signature.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import re
import resource
import signal
import sys
import warnings
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import BinaryIO

import charset_normalizer
import lxml.etree
import lxml.html
import pypdf
from pypdf.errors import FileNotDecryptedError, LimitReachedError
from pypdf.generic import DictionaryObject, IndirectObject

from .vocabulary import TextStatus

# Statuses of a ``texts`` row. On an "ok" row, ``error`` is a warning: the text is there but partial.
PAGE_BREAK = "\f"  # between PDF pages, as pdftotext does; str.splitlines() treats it as a line break
READY = b"ready"

_BINARY_SIGNATURES: list[tuple[bytes, str]] = [
    (b"PK\x03\x04", "ZIP container (DOCX, XLSX, PPTX or ZIP archive)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE container (legacy DOC, XLS or PPT)"),
    (b"{\\rtf", "RTF document"),
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"\x1f\x8b", "gzip archive"),
]
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_DROPPED_HTML = ("script", "style", "noscript", "template")
_HTML_BLOCKS = frozenset(
    "address article aside blockquote br caption dd div dl dt figcaption figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol option p pre section table title tr ul".split()
)
_HTML_CELLS = frozenset({"td", "th"})
_WHITESPACE = re.compile(r"\s+")
_EOF_WINDOW = 64 * 1024  # writers may append junk after %%EOF; the marker is looked for this far from the end
# Titles that say nothing: empty stand-ins, and the file or template name a tool put there.
_PLACEHOLDER_TITLE = re.compile(r"(?i)^(?:untitled|title|document\d*|microsoft word - .*|.*\.(?:docx?|pdf|tmp))$")


@dataclass(frozen=True)
class Extraction:
    """The outcome for one file: what the ``texts`` table records about it."""

    status: str
    text: str = ""
    pages: int | None = None
    error: str | None = None
    seconds: float = 0.0
    title: str | None = None  # what the file calls itself (a PDF's metadata Title), if anything

    @property
    def chars(self) -> int:
        return len(self.text)


def encode_reply(extraction: Extraction, reusable: bool) -> bytes:
    """JSON, not pickle: a worker subverted by a hostile file must not be able to run code in the parent."""
    return json.dumps({"status": extraction.status, "text": extraction.text, "pages": extraction.pages,
                       "error": extraction.error, "title": extraction.title, "reusable": reusable},
                      ensure_ascii=False).encode()


def decode_reply(data: bytes) -> tuple[Extraction, bool]:
    """The worker's answer for one file, checked field by field; ValueError if it is not one."""
    reply = json.loads(data)
    status, text, pages, error, title, reusable = (reply.get(key) for key in ("status", "text", "pages", "error",
                                                                               "title", "reusable"))
    if (status not in tuple(TextStatus) or not isinstance(text, str) or not isinstance(reusable, bool)
            or not isinstance(pages, (int, type(None))) or not isinstance(error, (str, type(None)))
            or not isinstance(title, (str, type(None)))):
        raise ValueError("malformed reply from a text extraction worker")
    return Extraction(status, text, pages, error, title=title), reusable


class _Capped:
    """Collects text up to a number of characters, so one file cannot fill the database."""

    def __init__(self, max_chars: int):
        self.max_chars = max_chars
        self.parts: list[str] = []
        self.size = 0
        self.full = False

    def add(self, text: str) -> None:
        room = self.max_chars - self.size
        if len(text) > room:
            text, self.full = text[:room], True
        self.parts.append(text)
        self.size += len(text)

    def result(self, separator: str = "", pages: int | None = None, notes: list[str] | None = None) -> Extraction:
        text = separator.join(self.parts)[: self.max_chars]
        notes = list(notes or [])
        if self.full:
            notes.append(f"text truncated at {self.max_chars:,} characters")
        warning = "; ".join(notes) or None
        if not text.strip():
            return Extraction(TextStatus.EMPTY, "", pages, warning)
        return Extraction(TextStatus.OK, text, pages, warning)


def extract(path: Path, declared_mimetype: str | None, max_chars: int) -> Extraction:
    """Extract the text of one file in this process (no isolation: only a worker should call it)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024)
            if not head:
                return Extraction(TextStatus.FAILED, error="empty file (0 bytes)")
            if b"%PDF-" in head and not _is_html(head, None):
                return _extract_pdf(handle, max_chars)
            # UTF-8 needs at most 4 bytes a character: reading more than that can only be truncated away.
            handle.seek(0)
            data = handle.read(max_chars * 4 + 4)
    except OSError as error:
        return Extraction(TextStatus.FAILED, error=f"cannot read file: {error}")
    for signature, description in _BINARY_SIGNATURES:
        if head.startswith(signature):
            return Extraction(TextStatus.UNSUPPORTED, error=f"{description}: no text extraction for this type")
    if _is_html(head, declared_mimetype):
        return _extract_html(data, max_chars)
    if b"\x00" in head and not head.startswith(_BOMS):
        return Extraction(TextStatus.UNSUPPORTED, error=f"binary file ({declared_mimetype or 'unknown type'})")
    capped = _Capped(max_chars)
    capped.add(_decode(data))
    return capped.result()


# PDF --------------------------------------------------------------------------------------------------------


def _extract_pdf(handle: BinaryIO, max_chars: int) -> Extraction:
    """pypdf reads what it can, so a file is tried even without its ``%%EOF`` marker; then the text may be that of
    a file cut short, and the warning says so (the PII screen holds partial texts for a reviewer)."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - _EOF_WINDOW))
    cut_short = b"%%EOF" not in handle.read()
    handle.seek(0)
    source: BinaryIO = handle
    if cut_short:  # pypdf gives up on a file without the marker; with one appended it reads what is there
        source = io.BytesIO(handle.read() + b"\n%%EOF\n")
    try:
        reader = pypdf.PdfReader(source)
        if reader.is_encrypted and not _decrypt(reader):
            return Extraction(TextStatus.FAILED, error="encrypted PDF: password required")
        pages, notes = _pages(reader)
        if cut_short:
            if not pages:
                return Extraction(TextStatus.FAILED, error=f"truncated PDF: no %%EOF marker at the end of its "
                                                          f"{size:,} bytes, and no page could be read")
            notes.insert(0, f"no %%EOF marker at the end of its {size:,} bytes: the file may be cut short")
        capped = _Capped(max_chars)
        failures: list[str] = []
        for number, page in enumerate(pages, start=1):
            if capped.full:
                break
            try:
                capped.add(page.extract_text().replace("\ufffd", ""))
            except (MemoryError, LimitReachedError):
                raise
            except Exception as error:  # one broken page should not cost the others their text
                failures.append(f"page {number}: {_describe(error)}")
                capped.add("")  # keeps one form feed per page boundary
        if pages and len(failures) == len(pages):
            what = "truncated PDF: no %%EOF marker" if cut_short else "malformed PDF"
            return Extraction(TextStatus.FAILED, pages=len(pages), error=f"{what}: {failures[0]}")
        if failures:
            notes.append(f"no text from {len(failures)} of {len(pages)} pages ({failures[0]})")
        return replace(capped.result(PAGE_BREAK, len(pages), notes), title=_pdf_title(reader))
    except FileNotDecryptedError:
        return Extraction(TextStatus.FAILED, error="encrypted PDF: password required")
    except LimitReachedError as error:
        what = f"truncated PDF: no %%EOF marker at the end of its {size:,} bytes; " if cut_short else ""
        return Extraction(TextStatus.FAILED, error=f"{what}over pypdf's safety limits (decompression bomb?): {error}")
    except MemoryError:
        raise
    except Exception as error:  # pypdf raises everything from PdfReadError to KeyError on malformed input
        what = f"truncated PDF: no %%EOF marker at the end of its {size:,} bytes" if cut_short else "malformed PDF"
        return Extraction(TextStatus.FAILED, error=f"{what}: {_describe(error)}")


def _pdf_title(reader: pypdf.PdfReader) -> str | None:
    """The document information dictionary's Title, if it holds words (not a file name or "untitled")."""
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # noqa: BLE001 - a broken info dictionary is no title, not a failed extraction
        return None
    title = _WHITESPACE.sub(" ", str(title or "")).strip()[:300]
    if not title or _PLACEHOLDER_TITLE.match(title):
        return None
    return title


def _decrypt(reader: pypdf.PdfReader) -> bool:
    """Many published PDFs are encrypted only against editing: the empty user password opens them."""
    try:
        return bool(reader.decrypt(""))
    except Exception:
        return False


def _pages(reader: pypdf.PdfReader) -> tuple[list[pypdf.PageObject], list[str]]:
    """The document's pages; when its page tree is unreadable, the page objects found by scanning the file."""
    try:
        return list(reader.pages), []
    except (MemoryError, LimitReachedError):
        raise
    except Exception as error:
        candidates = [(number, generation) for generation, numbers in reader.xref.items() for number in numbers]
        candidates += [(number, 0) for number in reader.xref_objStm]
        pages = []
        for number, generation in sorted(candidates):
            reference = IndirectObject(number, generation, reader)
            try:
                obj = reader.get_object(reference)
            except Exception:
                continue
            if isinstance(obj, DictionaryObject) and obj.get("/Type") == "/Page":
                page = pypdf.PageObject(reader, reference)
                page.update(obj)
                pages.append(page)
        if not pages:
            raise error
        return pages, [f"page tree unreadable ({_describe(error)}); {len(pages)} pages recovered by scanning"]


def _describe(error: BaseException) -> str:
    """pypdf's own messages stand alone; anything else (KeyError, RecursionError…) needs its type to make sense."""
    message = str(error).strip()
    if message and type(error).__module__.startswith("pypdf"):
        return message
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


# HTML and plain text ----------------------------------------------------------------------------------------


def _is_html(head: bytes, declared_mimetype: str | None) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(_HTML_MARKERS):
        return True
    if start.startswith(b"<?xml") or start.startswith(b"<!--"):
        return b"<html" in start
    return bool(declared_mimetype and declared_mimetype.startswith("text/html") and start.startswith(b"<"))


def _extract_html(data: bytes, max_chars: int) -> Extraction:
    """The text a reader sees: scripts and styles dropped, one line per block element."""
    # Valid UTF-8 is almost never an accident; otherwise libxml2 follows <meta charset> or falls back to Latin-1.
    encoding = "utf-8" if _is_utf8(data) else None
    parser = lxml.html.HTMLParser(encoding=encoding, remove_comments=True, remove_pis=True)
    try:
        document = lxml.html.document_fromstring(data, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return Extraction(TextStatus.EMPTY)
    lxml.etree.strip_elements(document, *_DROPPED_HTML, with_tail=False)
    parts: list[str] = []
    for event, element in lxml.etree.iterwalk(document, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        separator = "\n" if tag in _HTML_BLOCKS else " " if tag in _HTML_CELLS else ""
        # As a browser renders it: whitespace (newlines included) inside a block is one space.
        text = element.text if event == "start" else element.tail
        parts.extend((separator, _WHITESPACE.sub(" ", text or "")))
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    capped = _Capped(max_chars)
    capped.add("\n".join(line for line in lines if line))
    return capped.result()


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start >= len(data) - 3  # a character cut off by the size cap is still UTF-8
    return True


def _decode(data: bytes) -> str:
    """UTF-8 (or a BOM's encoding); else Windows-1252; else a detected charset; else UTF-8 with U+FFFD.

    Windows-1252 comes before detection because it is what agency exports are when they are not UTF-8, and
    detectors on short files confuse it with other single-byte code pages (Müller comes back as M³ller).
    """
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if _is_utf8(data):
        return data.decode("utf-8", errors="replace")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        guess = charset_normalizer.from_bytes(data[: 1024 * 1024]).best()
    return data.decode(guess.encoding if guess else "utf-8", errors="replace")


# The worker process -----------------------------------------------------------------------------------------


def _limit_cpu(seconds: float) -> None:
    """A backstop if the parent dies while this process loops on a file: the kernel stops it with SIGXCPU."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    budget = int(used.ru_utime + used.ru_stime + seconds * 2 + 5)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    resource.setrlimit(resource.RLIMIT_CPU, (budget if hard == resource.RLIM_INFINITY else min(budget, hard), hard))


def main(argv: list[str] | None = None) -> int:
    """Serve extraction requests (JSON ``[path, mimetype, max_chars, timeout]``) from stdin until it closes."""
    parser = argparse.ArgumentParser(description="foiawatch text extraction worker (started by foiawatch itself)")
    parser.add_argument("--memory-limit", type=int, required=True, help="address space cap in bytes")
    args = parser.parse_args(argv)
    # Failures are recorded per file in the database; pypdf's warnings about each would only flood the logs.
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops us
    requests = Connection(0, writable=False)
    replies = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # a stray print() from a library must not corrupt the reply channel
    resource.setrlimit(resource.RLIMIT_AS, (args.memory_limit, args.memory_limit))
    replies.send_bytes(READY)
    while True:
        try:
            path, mimetype, max_chars, timeout = json.loads(requests.recv_bytes())
        except EOFError:
            return 0
        _limit_cpu(timeout)
        try:
            result = extract(Path(path), mimetype, max_chars)
        except MemoryError:
            result = Extraction(TextStatus.FAILED,
                                error=f"worker crashed: out of memory (limit {args.memory_limit >> 20} MiB)")
            # The heap may be left fragmented; a fresh process is cheaper than finding out.
            replies.send_bytes(encode_reply(result, False))
            return 1
        except Exception as error:  # a bug in a parser: the file fails, the worker goes on
            result = Extraction(TextStatus.FAILED, error=f"extraction error: {_describe(error)}")
        replies.send_bytes(encode_reply(result, True))


if __name__ == "__main__":
    sys.exit(main())
