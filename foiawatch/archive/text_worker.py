"""Text extraction itself, and the worker process that runs it.

Nothing here is safe to call in a process that matters: pypdf on a hostile PDF can loop, exhaust memory or hit a
bug in a C library; so can PDFium, Pillow, Tesseract, python-calamine and python-docx on the scans, images,
spreadsheets and Word files they read (:mod:`.ocr`, :mod:`.office`). :mod:`foiawatch.archive.text` runs this module
as ``python -m foiawatch.archive.text_worker`` under a memory cap and a wall-clock timeout, and replaces the process
when a file kills it.

The type of a file is decided from its bytes: a server's Content-Type (``blobs.mimetype``) is only a hint for
bytes without a signature.

A PDF page with (almost) no text layer is rendered and, if it shows anything, read by OCR; so is every frame of an
image file. OCR goes page by page: before each page the worker tells the pool, which gives the page a full timeout
of its own, so a 200-page scan takes as long as its pages need while each page stays bounded.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import logging
import os
import re
import resource
import signal
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, BinaryIO

import charset_normalizer
import lxml.etree
import lxml.html
import pypdf
from PIL import Image, UnidentifiedImageError
from pypdf.errors import FileNotDecryptedError, LimitReachedError
from pypdf.generic import DictionaryObject, IndirectObject

from . import ocr as ocr_images
from .office import Refused, check_zip, delimited_text, docx_text, sheet_pages, zip_kind
from .vocabulary import TextSource, TextStatus, one_line

# Statuses of a ``texts`` row. On an "ok" row, ``error`` is a warning: the text is there but partial.
PAGE_BREAK = "\f"  # between PDF pages, as pdftotext does; str.splitlines() treats it as a line break
READY = b"ready"

_ZIP, _OLE, _IMAGE = "zip", "ole", "image"
_BINARY_SIGNATURES: list[tuple[bytes, str]] = [
    (b"PK\x03\x04", _ZIP),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", _OLE),
    (b"{\\rtf", "RTF document"),
    (b"\x89PNG", _IMAGE),
    (b"\xff\xd8\xff", _IMAGE),
    (b"GIF8", _IMAGE),
    (b"II*\x00", _IMAGE),
    (b"MM\x00*", _IMAGE),
    (b"\x1f\x8b", "gzip archive"),
]
# A PDF page whose text layer has fewer letters and digits than this (a Bates stamp, a page number) is a scan.
_MIN_LAYER_CHARS = 64
_INK_DPI = 50  # enough to tell a blank page from a written one, when OCR cannot run anyway
MAX_OCR_PAGES = 2000  # per file; pages past it are left unread and the text is flagged as partial
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
# PDF syntax in a file whose first KiB has no %PDF- header: a PDF with a damaged header or none (a fuzzed or
# mangled download), or one behind an HTML error page a server prepended. Such a file is a malformed PDF, never
# plain text: its object syntax must not be archived as the document's words.
_PDF_WINDOW = 64 * 1024
_PDF_HEADER = re.compile(rb"%PDF-\d")
_PDF_SYNTAX = re.compile(rb"\d+\s+\d+\s+obj\b|\btrailer\s*<<|\bstartxref\s+\d")
# A text layer that decodes to control or private-use characters is a font without a usable Unicode map: what
# pypdf reads from it is glyph numbers, not words. Such a page is read like a scan (rendered and OCR'd).
_UNDECODED = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ue000-\uf8ff]")
_MIN_UNDECODED = 3
MAX_ERROR_CHARS = 200
# Titles that say nothing: empty stand-ins, and the file or template name a tool put there.
_PLACEHOLDER_TITLE = re.compile(r"(?i)^(?:untitled|title|document\d*|microsoft word - .*|.*\.(?:docx?|pdf|tmp))$")


@dataclass(frozen=True)
class Page:
    """One page of a paged text (a PDF's, an image file's): where its text came from and, for OCR, how sure
    Tesseract was (the mean word confidence, words read, and the words under ``ocr.LOW_WORD_CEILING`` as
    ``(start, end, confidence)`` in the page's text)."""

    source: str
    confidence: float | None = None
    words: int = 0
    low_words: tuple[tuple[int, int, float], ...] = ()


@dataclass(frozen=True)
class Extraction:
    """The outcome for one file: what the ``texts`` table records about it."""

    status: str
    text: str = ""
    pages: int | None = None
    error: str | None = None
    seconds: float = 0.0
    title: str | None = None  # what the file calls itself (a PDF's metadata Title), if anything
    page_info: tuple[Page, ...] = ()  # one per page of the text, for PDFs and images

    @property
    def chars(self) -> int:
        return len(self.text)


def encode_reply(extraction: Extraction, reusable: bool) -> bytes:
    """JSON, not pickle: a worker subverted by a hostile file must not be able to run code in the parent."""
    pages = [[page.source, page.confidence, page.words, [list(word) for word in page.low_words]]
             for page in extraction.page_info]
    return json.dumps({"status": extraction.status, "text": extraction.text, "pages": extraction.pages,
                       "error": extraction.error, "title": extraction.title, "page_info": pages,
                       "reusable": reusable}, ensure_ascii=False).encode()


def encode_progress(note: str) -> bytes:
    """A message before each OCR page: the file is still moving, and what it is doing (for a timeout's reason)."""
    return json.dumps({"progress": note}).encode()


def decode_reply(data: bytes) -> tuple[Extraction, bool] | str:
    """The worker's answer for one file, or a progress note, checked field by field; ValueError if neither."""
    reply = json.loads(data)
    if isinstance(reply.get("progress"), str) and len(reply) == 1:
        return str(reply["progress"])[:200]
    status, text, pages, error, title, page_info, reusable = (
        reply.get(key) for key in ("status", "text", "pages", "error", "title", "page_info", "reusable"))
    if (status not in tuple(TextStatus) or not isinstance(text, str) or not isinstance(reusable, bool)
            or not isinstance(pages, (int, type(None))) or not isinstance(error, (str, type(None)))
            or not isinstance(title, (str, type(None))) or not isinstance(page_info, list)):
        raise ValueError("malformed reply from a text extraction worker")
    return Extraction(status, text, pages, error, title=title,
                      page_info=tuple(_decode_page(page) for page in page_info)), reusable


def _decode_page(value: Any) -> Page:
    source, confidence, words, low_words = value
    if (source not in (TextSource.TEXT_LAYER, TextSource.OCR) or not isinstance(words, int)
            or not isinstance(confidence, (int, float, type(None)))
            or not all(isinstance(n, (int, float)) for word in low_words for n in word)):
        raise ValueError("malformed page in a reply from a text extraction worker")
    return Page(source, confidence, words, tuple((int(a), int(b), float(c)) for a, b, c in low_words))


Progress = Callable[[str], None]


def _quiet(_note: str) -> None:
    """No one to tell: a file extracted outside a worker."""


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


def extract(path: Path, declared_mimetype: str | None, max_chars: int,
            ocr: ocr_images.OcrSettings | None = None, timeout: float = 30.0, progress: Progress = _quiet,
            ) -> Extraction:
    """Extract the text of one file in this process (no isolation: only a worker should call it). Without ``ocr``
    (or without Tesseract in it) scans are ``needs_ocr``; ``timeout`` bounds each OCR page's Tesseract run.
    The error (or warning) is one line of at most ``MAX_ERROR_CHARS``, whatever a parser's message was."""
    extraction = _extract(path, declared_mimetype, max_chars, ocr, timeout, progress)
    return replace(extraction, error=one_line(extraction.error, MAX_ERROR_CHARS)) if extraction.error else extraction


def _extract(path: Path, declared_mimetype: str | None, max_chars: int, ocr: ocr_images.OcrSettings | None,
             timeout: float, progress: Progress) -> Extraction:
    ocr = ocr or ocr_images.OcrSettings(None, unavailable="OCR was not asked for")
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024)
            if not head:
                return Extraction(TextStatus.FAILED, error="empty file (0 bytes)")
            if b"%PDF-" in head and not _is_html(head, None):
                return _extract_pdf(path, handle, max_chars, _Ocr(ocr, timeout, progress))
            binary = next((kind for signature, kind in _BINARY_SIGNATURES if head.startswith(signature)), None)
            if binary is None:  # a file read as text: the whole of what can be kept, not a workbook's or an image's
                # UTF-8 needs at most 4 bytes a character: reading more than that can only be truncated away.
                handle.seek(0)
                data = handle.read(max_chars * 4 + 4)
                if _pdf_syntax(data[:_PDF_WINDOW]):
                    return _extract_pdf(path, handle, max_chars, _Ocr(ocr, timeout, progress))
    except OSError as error:
        return Extraction(TextStatus.FAILED, error=f"cannot read file: {error}")
    if binary is not None:
        return _extract_binary(binary, path, max_chars, _Ocr(ocr, timeout, progress))
    if _is_html(head, declared_mimetype):
        return _extract_html(data, max_chars)
    if b"\x00" in head and not head.startswith(_BOMS):
        return Extraction(TextStatus.UNSUPPORTED, error=f"binary file ({declared_mimetype or 'unknown type'})")
    text = _decode(data)
    capped = _Capped(max_chars)
    capped.add(delimited_text(text, declared_mimetype) or text)
    return capped.result()


def _pdf_syntax(window: bytes) -> bool:
    """PDF objects after a %PDF- header further in than the first KiB, or, with no header at all, from the start."""
    header = _PDF_HEADER.search(window)
    return bool(_PDF_SYNTAX.search(window, header.end() if header else 0, len(window) if header else 4096))


def _extract_binary(kind: str, path: Path, max_chars: int, ocr: _Ocr) -> Extraction:
    """Files known by their signature: images are OCR'd, workbooks and Word files read, the rest unsupported."""
    if kind == _IMAGE:
        return _extract_image(path, max_chars, ocr)
    capped = _Capped(max_chars)
    try:
        if kind == _ZIP:
            with check_zip(path) as archive:
                what = zip_kind(archive)
            if what is None:
                return Extraction(TextStatus.UNSUPPORTED,
                                  error="ZIP container (a ZIP archive or PPTX): no text extraction for this type")
            if what == "docx":
                capped.add(docx_text(path))
                return capped.result()
        elif kind != _OLE:
            return Extraction(TextStatus.UNSUPPORTED, error=f"{kind}: no text extraction for this type")
        sheets = 0
        for sheet in sheet_pages(path):
            capped.add(sheet)
            sheets += 1
            if capped.full:
                break
    except Refused as error:
        if kind == _OLE and str(error).startswith("malformed workbook"):  # an OLE file that is no XLS
            return Extraction(TextStatus.UNSUPPORTED,
                              error="OLE container (legacy DOC or PPT): no text extraction for this type")
        return Extraction(TextStatus.FAILED, error=str(error))
    return capped.result(PAGE_BREAK, sheets)


# PDF --------------------------------------------------------------------------------------------------------


def _extract_pdf(path: Path, handle: BinaryIO, max_chars: int, ocr: _Ocr) -> Extraction:
    """pypdf reads what it can, so a file is tried even without its ``%%EOF`` marker; then the text may be that of
    a file cut short, and the warning says so (the PII screen holds partial texts for a reviewer). Pages with
    (almost) no text layer are then rendered and OCR'd (:func:`_scanned_pages`)."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - _EOF_WINDOW))
    cut_short = b"%%EOF" not in handle.read()
    handle.seek(0)
    source: BinaryIO = handle
    if cut_short:  # pypdf gives up on a file without the marker; with one appended it reads what is there
        source = io.BytesIO(handle.read() + b"\n%%EOF\n")
    try:
        reader, pages, notes = _open_pdf(source)
        if cut_short:
            if not pages:
                return Extraction(TextStatus.FAILED, error=f"truncated PDF: no %%EOF marker at the end of its "
                                                          f"{size:,} bytes, and no page could be read")
            notes.insert(0, f"no %%EOF marker at the end of its {size:,} bytes: the file may be cut short")
        layer: list[str] = []
        failures: list[str] = []
        failed: set[int] = set()
        chars = 0
        for index, page in enumerate(pages):
            if chars > max_chars:
                break
            try:
                layer.append(page.extract_text().replace("\ufffd", ""))
            except (MemoryError, LimitReachedError):
                raise
            except Exception as error:  # one broken page should not cost the others their text
                failures.append(f"page {index + 1}: {_describe(error)}")
                failed.add(index)
                layer.append("")  # keeps one form feed per page boundary
            chars += len(layer[-1])
        if pages and len(failures) == len(pages):
            what = "truncated PDF: no %%EOF marker" if cut_short else "malformed PDF"
            return Extraction(TextStatus.FAILED, pages=len(pages), error=f"{what}: {failures[0]}")
        if failures:
            notes.append(f"no text from {len(failures)} of {len(pages)} pages ({failures[0]})")
        undecoded = {index for index, text in enumerate(layer) if index not in failed and _undecoded(text)}
        candidates = [index for index, text in enumerate(layer)
                      if index not in failed and (index in undecoded or _scanned(pages[index], text))]
        scans = _scanned_pages(path, candidates, len(pages), ocr) if candidates else _Scans()
        if scans.unread:
            return Extraction(TextStatus.NEEDS_OCR, pages=len(pages), error=_needs_ocr(
                _unread(scans.unread, undecoded, len(pages)), ocr.settings))
        notes += scans.notes
        lost = [index for index in sorted(undecoded) if index not in scans.read]
        if lost:
            notes.append(f"{len(lost)} of {len(pages)} pages have a text layer that does not decode to words "
                         f"(a font without a Unicode map), left out (first: page {lost[0] + 1})")
        for index in undecoded:
            layer[index] = ""  # glyph numbers are no one's words: OCR's reading stands alone, or nothing
        capped = _Capped(max_chars)
        info: list[Page] = []
        for index, text in enumerate(layer):
            if capped.full:
                break
            read = scans.read.get(index)
            capped.add(_merge(text, read) if read else text)
            info.append(Page(TextSource.OCR, read.confidence, read.words, read.low_words) if read
                        else Page(TextSource.TEXT_LAYER))
        return replace(capped.result(PAGE_BREAK, len(pages), notes), title=_pdf_title(reader), page_info=tuple(info))
    except FileNotDecryptedError:
        return Extraction(TextStatus.FAILED, error="encrypted PDF: password required")
    except LimitReachedError as error:
        what = f"truncated PDF: no %%EOF marker at the end of its {size:,} bytes; " if cut_short else ""
        # Only a stream that inflates past the limits is a bomb; a page tree too deep is just too deep.
        bomb = " (decompression bomb?)" if re.search(r"(?i)decompress|inflat|stream|bytes", str(error)) else ""
        return Extraction(TextStatus.FAILED, error=f"{what}over pypdf's safety limits{bomb}: {_describe(error)}")
    except MemoryError:
        raise
    except Exception as error:  # pypdf raises everything from PdfReadError to KeyError on malformed input
        what = f"truncated PDF: no %%EOF marker at the end of its {size:,} bytes" if cut_short else "malformed PDF"
        return Extraction(TextStatus.FAILED, error=f"{what}: {_describe(error)}")


def _scanned(page: pypdf.PageObject, text: str) -> bool:
    """Whether a page may be a scan: no text layer at all (text drawn as shapes is only seen rendered), or a
    scant one (a Bates stamp, a page number) over an image."""
    letters = sum(char.isalnum() for char in text)
    return letters == 0 or letters < _MIN_LAYER_CHARS and _draws_image(page.get("/Resources"), depth=3)


def _undecoded(text: str) -> bool:
    """Whether a page's text layer is glyph codes rather than words: control or private-use characters (not
    tabs or line breaks), at least ``_MIN_UNDECODED`` of them, one in twenty of its visible characters, and more
    of them than spaces. A font whose codes are shifted maps even the space to a control code, so its words run
    together; prose with some undecoded symbols (TeX math fonts without a Unicode map) still has its spaces, and
    keeps its text layer."""
    bad = len(_UNDECODED.findall(text))
    return (bad >= _MIN_UNDECODED and bad * 20 >= sum(not char.isspace() for char in text)
            and bad > text.count(" "))


def _unread(unread: list[int], undecoded: set[int], total: int) -> str:
    """Which pages wait for OCR, and why: scans, or text in fonts that do not say which letters they draw."""
    garbled = sum(index in undecoded for index in unread)
    if not garbled:
        return f"{len(unread)} of {total} pages are scans without a text layer"
    why = "have a text layer that does not decode to words (a font without a Unicode map)"
    if garbled == len(unread):
        return f"{len(unread)} of {total} pages {why}"
    return f"{len(unread)} of {total} pages are scans without a text layer or {why}"


def _draws_image(resources: Any, depth: int) -> bool:
    """An image among a page's (or a form's) resources, looking into forms ``depth`` levels deep."""
    try:
        xobjects = resources.get_object().get("/XObject") if resources is not None else None
        for reference in (xobjects.get_object().values() if xobjects is not None else ()):
            xobject = reference.get_object()
            if xobject.get("/Subtype") == "/Image":
                return True
            if xobject.get("/Subtype") == "/Form" and depth > 0 and _draws_image(xobject.get("/Resources"),
                                                                                depth - 1):
                return True
    except (AttributeError, KeyError, TypeError, ValueError, RecursionError):
        return False  # resources too broken to read: the text layer stands
    return False


@dataclass(frozen=True)
class _Ocr:
    """What OCR of one file needs: the settings, each page's time, and whom to tell before each page."""

    settings: ocr_images.OcrSettings
    timeout: float
    progress: Progress

    def read(self, image: Image.Image, started: float) -> ocr_images.PageText | None:
        """The page's text by OCR; None for a blank page; RuntimeError when Tesseract fails or overruns."""
        if not ocr_images.has_ink(image):
            return None
        return ocr_images.read_page(image, self.settings, self.timeout - (time.monotonic() - started) - 0.5)


@dataclass
class _Scans:
    """What OCR made of a PDF's pages without a text layer: their text by page index, the pages that need OCR
    when it cannot run, and notes on pages it could not read."""

    read: dict[int, ocr_images.PageText] = field(default_factory=dict)
    unread: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _scanned_pages(path: Path, candidates: list[int], total: int, ocr: _Ocr) -> _Scans:
    """Render each candidate page; OCR those that show anything (without Tesseract, list them)."""
    scans = _Scans()
    failures: list[str] = []
    try:
        with ocr_images.PdfPages(path) as document:
            for count, index in enumerate(index for index in candidates if index < len(document)):
                started = time.monotonic()
                ocr.progress(f"page {index + 1} of {total}")
                if ocr.settings.command is None:
                    if ocr_images.has_ink(document.render(index, _INK_DPI)):
                        scans.unread.append(index)
                    continue
                if count == MAX_OCR_PAGES:
                    scans.notes.append(f"OCR stopped after {MAX_OCR_PAGES:,} pages")
                    break
                try:
                    read = ocr.read(document.render(index), started)
                except RuntimeError as error:  # PDFium's errors are RuntimeErrors too
                    failures.append(f"page {index + 1}: {error}")
                    continue
                if read is not None:
                    scans.read[index] = read
    except RuntimeError as error:  # PDFium cannot open what pypdf could
        scans.notes.append(f"pages without a text layer could not be rendered for OCR ({error})")
    if failures:
        scans.notes.append(f"OCR failed on {len(failures)} of {total} pages ({failures[0]})")
    return scans


def _merge(layer: str, read: ocr_images.PageText) -> str:
    """A scanned page's text: what OCR read, then whatever of its scant text layer OCR did not (text drawn
    invisibly is kept for the screen); OCR comes first so the unsure words' offsets hold."""
    if not read.text or not set(layer.split()) <= set(read.text.split()):
        return f"{read.text}\n{layer}" if read.text else layer
    return read.text


def _needs_ocr(what: str, settings: ocr_images.OcrSettings) -> str:
    return f"{what}; {settings.unavailable}: `foiawatch ocr` reads them then"


def _extract_image(path: Path, max_chars: int, ocr: _Ocr) -> Extraction:
    """An image file (TIFF, PNG, JPEG, GIF): each frame is a page, read by OCR; its size is checked before it is
    decoded, so a decompression bomb fails with its size instead of taking the worker's memory."""
    capped = _Capped(max_chars)
    info: list[Page] = []
    failures: list[str] = []
    notes: list[str] = []
    inked = 0
    try:
        frames = ocr_images.image_frames(path)
        for number in itertools.count(1):
            started = time.monotonic()
            ocr.progress(f"image page {number}")
            frame = next(frames, None)
            if frame is None or capped.full:
                break
            if number > MAX_OCR_PAGES:
                notes.append(f"OCR stopped after {MAX_OCR_PAGES:,} pages")
                break
            if ocr.settings.command is None:
                inked += ocr_images.has_ink(frame)
                continue
            try:
                read = ocr.read(frame, started)
            except RuntimeError as error:
                failures.append(f"page {number}: {error}")
                read = None
            capped.add(read.text if read else "")
            info.append(Page(TextSource.OCR, read.confidence, read.words, read.low_words) if read
                        else Page(TextSource.OCR))
    except (ocr_images.ImageTooLarge, Image.DecompressionBombError) as error:
        return Extraction(TextStatus.FAILED, error=str(error))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        return Extraction(TextStatus.FAILED, error=f"malformed image: {_describe(error)}")
    if ocr.settings.command is None:
        if inked:
            return Extraction(TextStatus.NEEDS_OCR, pages=number - 1,
                              error=_needs_ocr("a scanned image", ocr.settings))
        return Extraction(TextStatus.EMPTY, pages=number - 1)
    if failures:
        if len(failures) == len(info):
            return Extraction(TextStatus.FAILED, pages=len(info), error=f"OCR failed: {failures[0]}")
        notes.append(f"OCR failed on {len(failures)} of {len(info)} pages ({failures[0]})")
    return replace(capped.result(PAGE_BREAK, len(info), notes), page_info=tuple(info))


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


def _open_pdf(source: BinaryIO) -> tuple[pypdf.PdfReader, list[pypdf.PageObject], list[str]]:
    """The reader, the pages and warnings. When pypdf cannot open the file as its cross-reference table says (a
    table that is missing, mangled or points at the wrong offsets; no ``startxref`` at all), the table is rebuilt
    from the objects in the file, as viewers do: an appended ``startxref 0`` points pypdf at no table, and it scans.
    The text is then flagged, since objects found by scanning may not be the ones the file meant."""
    try:
        return _read_pdf(source)
    except (MemoryError, LimitReachedError, FileNotDecryptedError):
        raise
    except Exception as error:
        source.seek(0)
        try:
            reader, pages, notes = _read_pdf(io.BytesIO(source.read() + b"\nstartxref\n0\n%%EOF\n"))
        except (MemoryError, LimitReachedError, FileNotDecryptedError):
            raise
        except Exception:
            raise error from None
        if not pages:
            raise error from None
        return reader, pages, [f"cross-reference table unreadable ({_describe(error)}); the file's objects were "
                               f"found by scanning it", *notes]


def _read_pdf(source: BinaryIO) -> tuple[pypdf.PdfReader, list[pypdf.PageObject], list[str]]:
    reader = pypdf.PdfReader(source)
    if reader.is_encrypted and not _decrypt(reader):
        raise FileNotDecryptedError("encrypted PDF: password required")
    pages, notes = _pages(reader)
    return reader, pages, notes


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
    """Serve extraction requests (JSON ``[path, mimetype, max_chars, timeout, ocr settings]``) from stdin until it
    closes."""
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
    # Tesseract inherits the cap; one thread each, as the workers are the parallelism (OpenMP only adds overhead).
    os.environ["OMP_THREAD_LIMIT"] = "1"
    Image.MAX_IMAGE_PIXELS = ocr_images.MAX_PIXELS  # Pillow refuses images over twice this before decoding them
    replies.send_bytes(READY)
    while True:
        try:
            path, mimetype, max_chars, timeout, ocr = json.loads(requests.recv_bytes())
        except EOFError:
            return 0

        def progress(note: str, timeout: float = timeout) -> None:
            """Each OCR page has the timeout to itself: the pool resets its clock on this, and so do we."""
            _limit_cpu(timeout)
            replies.send_bytes(encode_progress(note))

        _limit_cpu(timeout)
        try:
            result = extract(Path(path), mimetype, max_chars, ocr_images.OcrSettings.from_json(ocr), timeout,
                             progress)
        except MemoryError:
            result = Extraction(TextStatus.FAILED,
                                error=f"worker crashed: out of memory (limit {args.memory_limit >> 20} MiB)")
            # The heap may be left fragmented; a fresh process is cheaper than finding out.
            replies.send_bytes(encode_reply(result, False))
            return 1
        except Exception as error:  # a bug in a parser: the file fails, the worker goes on
            result = Extraction(TextStatus.FAILED, error=one_line(f"extraction error: {_describe(error)}"))
        replies.send_bytes(encode_reply(result, True))


if __name__ == "__main__":
    sys.exit(main())
