"""Real odd PDFs from qpdf's and pdfminer.six's test files (tests/fixtures/pdfs/qpdf_*, pdfminer_*; see its
PROVENANCE.tsv): each goes through the real extraction pool and gets what a user needs from it, the text where
pypdf can read it and a one-line reason where it cannot, and the pool keeps working afterwards."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from foiawatch.archive.ocr import OcrSettings
from foiawatch.archive.text import ExtractorPool

CORPUS = Path(__file__).parent / "fixtures" / "pdfs"
NO_OCR = OcrSettings(None, unavailable="Tesseract is not installed")
TIMEOUT = 20
POTATOES = "\f".join(f"Potato {n}" for n in range(1, 30))  # qpdf's 30-page test file, pages 2-30

# name: (status, pages, text that must be in it or None, error: exact, a prefix ending in "…" , or None)
EXPECTED = {
    # Viewers open these; so must we, and say (as a warning) how the text was found.
    "qpdf_bad-xref.pdf": ("ok", 1, "Potato",
                          "cross-reference table unreadable (Could not read Null object); the file's objects were "
                          "found by scanning it"),
    "pdfminer_simple1.pdf": ("ok", 1, "Hello World\nHello World",
                             "cross-reference table unreadable (startxref not found); the file's objects were found "
                             "by scanning it"),
    "qpdf_pages-loop.pdf": ("ok", 1, "Potato",
                            "page tree unreadable (Detected cyclic page references.); 1 pages recovered by scanning"),
    # Readable as they stand.
    "qpdf_enc-R3-V2-O-master.pdf": ("ok", 30, POTATOES, None),  # RC4, owner password only
    "qpdf_leading-junk.pdf": ("ok", 30, POTATOES, None),
    "qpdf_append-xref-loop.pdf": ("ok", 30, "Potato 0 new\fPotato 1\f", None),  # the update's text, not the old
    # Not readable: said so in one line.
    "qpdf_enc-XI-R6-V5-U-view-O-master.pdf": ("failed", None, None, "encrypted PDF: password required"),
    "qpdf_deep-pages.pdf": ("failed", None, None,
                            "over pypdf's safety limits: Maximum page tree depth reached: 101 > 100."),
    # PDF syntax without a header is a broken PDF, not plain text or an unknown binary.
    "qpdf_issue-141a.pdf": ("failed", None, None, "malformed PDF: Cannot find Root object in pdf"),
    "qpdf_issue-335a.pdf": ("failed", None, None,
                            "truncated PDF: no %%EOF marker at the end of its 24,974 bytes: startxref not found"),
    # No words in the text layer: waiting for OCR, not archived as clean text.
    "pdfminer_pdf-with-jbig2.pdf": ("needs_ocr", 1, None,
                                    "1 of 1 pages are scans without a text layer; Tesseract is not installed: "
                                    "`foiawatch ocr` reads them then"),
    "pdfminer_issue-791-non-unicode-cmap.pdf": (
        "needs_ocr", 1, None, "1 of 1 pages have a text layer that does not decode to words (a font without a "
                              "Unicode map); Tesseract is not installed: `foiawatch ocr` reads them then"),
}


@pytest.fixture(scope="module")
def results():
    with ExtractorPool(workers=2, timeout=TIMEOUT, ocr=NO_OCR) as pool:
        started = time.monotonic()
        found = dict(pool.map((name, CORPUS / name, "application/pdf") for name in EXPECTED))
        elapsed = time.monotonic() - started
        # The pool still works after all of them, with the workers that read them.
        after = pool.extract(CORPUS / "001-trivial_minimal-document.pdf")
    return found, elapsed, after


def test_every_odd_pdf_is_vendored():
    assert all((CORPUS / name).is_file() for name in EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_odd_pdf_gets_what_a_user_needs(results, name):
    found, _, _ = results
    status, pages, text, error = EXPECTED[name]
    extraction = found[name]
    assert extraction.status == status, (name, extraction.error)
    assert extraction.pages == pages
    assert extraction.error == error
    assert extraction.seconds < TIMEOUT
    if text is None:
        assert extraction.text == ""
    else:
        assert text in extraction.text
    if extraction.error:  # one line a person can read: no traceback, no line breaks, not a wall of text
        assert "\n" not in extraction.error and "Traceback" not in extraction.error
        assert len(extraction.error) <= 200


def test_garbled_text_layer_is_not_archived_as_text(results):
    # pypdf reads this page as '3HQČåQt\x03SURVWĜHGN…' (each letter shifted, spaces as U+0003).
    found, _, _ = results
    assert "\x03" not in found["pdfminer_issue-791-non-unicode-cmap.pdf"].text


def test_the_pool_finishes_them_all_and_keeps_working(results):
    _, elapsed, after = results
    assert elapsed < 30
    assert after.status == "ok" and "Lorem ipsum dolor sit amet" in after.text


def test_an_html_error_page_prepended_to_a_pdf(tmp_path):
    # What a server sends when it writes its error page and then the file: the PDF is there, behind the HTML.
    html = (b"<!DOCTYPE html><html><head><title>Session expired</title></head><body><p>"
            + b"Your session has expired. Please log in again. " * 40 + b"</p></body></html>\n")
    assert len(html) > 1024
    pdf = (CORPUS / "016-libre-office-link_libre-office-link.pdf").read_bytes()
    (tmp_path / "prefixed.pdf").write_bytes(html + pdf)
    with ExtractorPool(workers=1, timeout=TIMEOUT, ocr=NO_OCR) as pool:
        extraction = pool.extract(tmp_path / "prefixed.pdf", "application/pdf")
    assert extraction.status == "ok" and "This is a link to an awesome blog." in extraction.text
    assert "Session expired" not in extraction.text


def test_long_multi_line_parser_messages_are_one_short_line(tmp_path):
    from foiawatch.archive.vocabulary import one_line

    assert one_line("bad token\n  at offset 12\n") == "bad token at offset 12"
    long = one_line("x " * 300)
    assert len(long) == 200 and long.endswith("…")
