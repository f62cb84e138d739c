"""Text extraction: real PDFs from the py-pdf sample-files corpus (tests/fixtures/pdfs), broken and hostile files built
from them, and the archive integration (one ``texts`` row per blob, searchable through FTS)."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import threading
import time
import zlib
from pathlib import Path

import pytest

from foiawatch.archive.ocr import OcrSettings
from foiawatch.archive.store import Archive
from foiawatch.archive.text import ExtractorPool, extract_file, extract_pending
from foiawatch.demo.pdf import assemble_pdf, make_pdf, make_xlsx, make_zip

from .conftest import store_bytes

NO_OCR = OcrSettings(None, unavailable="Tesseract is not installed (apt-get install tesseract-ocr)")

CORPUS = Path(__file__).parent / "fixtures" / "pdfs"

# Phrases visible on each document's first page (see the files themselves; files.json gives no expected text).
PHRASES = {
    "001-trivial_minimal-document.pdf": "Lorem ipsum dolor sit amet",
    "011-google-doc-document_google-doc-document.pdf": "Beautiful is better than ugly.",
    "016-libre-office-link_libre-office-link.pdf": "This is a link to an awesome blog.",
    "020-xmp_output_with_metadata_pymupdf.pdf": "Hello, World!",
    "021-pdfa_crazyones-pdfa.pdf": "The Crazy Ones",
    "015-arabic_habibi.pdf": "habibi",
}
IMAGE_ONLY = ["007-imagemagick-images_imagemagick-lzw.pdf", "019-grayscale-image_grayscale-image.pdf",
              "023-cmyk-image_cmyk-image.pdf"]
# Every page an image, no text layer: without Tesseract, these wait for OCR.
SCANS = IMAGE_ONLY + ["007-imagemagick-images_imagemagick-ASCII85Decode.pdf",
                      "007-imagemagick-images_imagemagick-CCITTFaxDecode.pdf",
                      "007-imagemagick-images_imagemagick-images.pdf", "018-base64-image_base64image.pdf"]
PASSWORD = "005-libreoffice-writer-password_libreoffice-writer-password.pdf"
UNREADABLE_METADATA = "017-unreadable-meta-data_unreadablemetadata.pdf"


@pytest.fixture(scope="module")
def pool():
    """Text layers only: scans are tests/test_ocr.py's, where Tesseract is installed."""
    with ExtractorPool(workers=2, timeout=20, ocr=NO_OCR) as shared:
        yield shared


def corpus_entries() -> list[tuple[str, dict]]:
    """files.json entries as (file name in the corpus, metadata); names are "<folder>_<file>"."""
    entries = json.loads((CORPUS / "files.json").read_text())["data"]
    return [(entry["path"].replace("/", "_"), entry) for entry in entries
            if (CORPUS / entry["path"].replace("/", "_")).is_file()]


def test_corpus_page_counts_and_statuses(pool):
    entries = dict(corpus_entries())
    results = dict(pool.map((name, CORPUS / name, "application/pdf") for name in entries))
    for name, entry in entries.items():
        extraction = results[name]
        if entry["encrypted"]:
            assert extraction.status == "failed", name
        elif name != UNREADABLE_METADATA:
            assert extraction.status in ("ok", "empty", "needs_ocr"), (name, extraction.error)
            assert extraction.pages == entry["pages"], name
            assert (extraction.status == "needs_ocr") == (name in SCANS), name
    for name, phrase in PHRASES.items():
        assert phrase in results[name].text, name
        assert {page.source for page in results[name].page_info} == {"text_layer"}, name
    for name in IMAGE_ONLY:
        # Without Tesseract a scan waits, with a one-line hint, for `foiawatch ocr`.
        assert results[name].text == "" and results[name].error == (
            "1 of 1 pages are scans without a text layer; Tesseract is not installed (apt-get install "
            "tesseract-ocr): `foiawatch ocr` reads them then"), name
    four_pages = results["004-pdflatex-4-pages_pdflatex-4-pages.pdf"]
    assert four_pages.text.count("\f") == 3 and four_pages.chars == len(four_pages.text) > 10_000


def test_password_protected_pdf_fails_as_encrypted(pool):
    extraction = pool.extract(CORPUS / PASSWORD)
    assert extraction.status == "failed"
    assert extraction.error == "encrypted PDF: password required"


def test_unreadable_metadata_still_yields_text(pool):
    extraction = pool.extract(CORPUS / UNREADABLE_METADATA)
    assert extraction.status == "ok"
    assert "Wirewound" in extraction.text and "\ufffd" not in extraction.text
    assert "recovered by scanning" in extraction.error  # a warning: the text may be partial


@pytest.mark.parametrize("name", ["004-pdflatex-4-pages_pdflatex-4-pages.pdf",
                                  "011-google-doc-document_google-doc-document.pdf",
                                  "009-pdflatex-geotopo_GeoTopo-komprimiert.pdf"])
def test_truncated_pdfs_are_tried_flagged_or_failed_and_the_pool_keeps_working(pool, tmp_path, name):
    data = (CORPUS / name).read_bytes()
    rng = random.Random(f"truncate {name}")
    jobs = []
    for offset in sorted(rng.randrange(len(data) // 20, len(data) - 2048) for _ in range(4)):
        path = tmp_path / f"cut-{offset}.pdf"
        path.write_bytes(data[:offset])
        jobs.append((offset, path, "application/pdf"))
    for offset, extraction in pool.map(jobs):
        # pypdf reads what it can of a file cut short; what it reads is flagged as possibly partial, so the PII
        # screen holds it for a reviewer, and what it cannot read fails (issue 12: tried, not refused).
        if extraction.status == "failed":
            assert extraction.error.startswith("truncated PDF: no %%EOF marker"), offset
        else:
            assert extraction.error.startswith("no %%EOF marker"), offset
    assert "Lorem ipsum" in pool.extract(CORPUS / "001-trivial_minimal-document.pdf").text


def _corrupt_xref(data: bytes) -> bytes:
    """XOR the 200 bytes that the final startxref points at: the cross-reference table or stream."""
    offset = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    return data[:offset] + bytes(byte ^ 0x5A for byte in data[offset:offset + 200]) + data[offset + 200:]


@pytest.mark.parametrize("name", [
    "002-trivial-libre-office-writer_002-trivial-libre-office-writer.pdf",  # a classic xref table
    "001-trivial_minimal-document.pdf",  # an xref stream, pages inside object streams
])
def test_corrupt_xref_is_rebuilt_from_the_objects(pool, tmp_path, name):
    # As viewers do: the objects are still there, so the text is recovered whole rather than failed.
    (tmp_path / "bad-xref.pdf").write_bytes(_corrupt_xref((CORPUS / name).read_bytes()))
    rebuilt, original = pool.extract(tmp_path / "bad-xref.pdf"), pool.extract(CORPUS / name)
    assert rebuilt.status == original.status == "ok"
    assert rebuilt.text == original.text


def test_garbled_body_fails_as_malformed(pool, tmp_path):
    data = (CORPUS / "004-pdflatex-4-pages_pdflatex-4-pages.pdf").read_bytes()
    noise = random.Random("garble").randbytes(len(data) - 64)
    (tmp_path / "garbled.pdf").write_bytes(data[:32] + noise + data[-32:])  # header and %%EOF intact
    extraction = pool.extract(tmp_path / "garbled.pdf")
    assert extraction.status == "failed" and extraction.error.startswith("malformed PDF: ")


def test_empty_and_unsupported_files(pool, tmp_path):
    (tmp_path / "zero.pdf").write_bytes(b"")
    (tmp_path / "table.xlsx").write_bytes(make_xlsx([["case", "status"], ["2019-0042", "closed"]]))
    (tmp_path / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (tmp_path / "files.zip").write_bytes(make_zip({"a.txt": b"a"}))
    (tmp_path / "old.gz").write_bytes(b"\x1f\x8b" + bytes(20))
    results = dict(pool.map([
        ("zero", tmp_path / "zero.pdf", "application/pdf"),
        ("xlsx", tmp_path / "table.xlsx", "application/pdf"),  # the declared type is not trusted
        ("png", tmp_path / "scan.png", None),
        ("zip", tmp_path / "files.zip", None),
        ("gzip", tmp_path / "old.gz", None),
        ("missing", tmp_path / "nope.pdf", None),
    ]))
    assert (results["zero"].status, results["zero"].error) == ("failed", "empty file (0 bytes)")
    assert (results["xlsx"].status, results["xlsx"].text) == ("ok", "Sheet: Sheet1\ncase\tstatus\n2019-0042\tclosed")
    assert results["png"].status == "failed" and results["png"].error.startswith("malformed image: ")
    assert results["zip"].status == "unsupported" and "ZIP archive" in results["zip"].error
    assert results["gzip"].status == "unsupported" and "gzip" in results["gzip"].error
    assert results["missing"].status == "failed" and results["missing"].error.startswith("cannot read file")


def test_html_keeps_visible_text_only(pool, tmp_path):
    page = tmp_path / "notice.bin"
    page.write_bytes(
        "<!DOCTYPE html><html><head><meta charset='windows-1252'><title>Notice</title>"
        "<style>p { color: red }</style><script>var secret = 'tracking';</script></head>"
        "<body><h1>Records release</h1><p>Café  budget,\n 2019</p><!-- hidden comment --><table>"
        "<tr><td>A-1</td><td>Memo</td></tr></table></body></html>".encode("cp1252")
    )
    extraction = pool.extract(page, "application/pdf")
    assert extraction.status == "ok"
    assert extraction.text == "Notice\nRecords release\nCafé budget, 2019\nA-1 Memo"


def test_plain_text_and_csv_are_decoded(pool, tmp_path):
    # CSV comes out as tab-separated cells (the PII screen reads tabs as columns under their header).
    (tmp_path / "utf8.csv").write_bytes("name,city\nZoë,Zürich\n".encode())
    (tmp_path / "legacy.csv").write_bytes("name,note\nMüller,\"Gebühren für Akteneinsicht\"\n".encode("cp1252") * 20)
    (tmp_path / "prose.txt").write_bytes(b"Dear requester, thank you.\nWe found, after a search, nothing.\nRegards\n")
    results = dict(pool.map([("utf8", tmp_path / "utf8.csv", "text/csv"), ("legacy", tmp_path / "legacy.csv", None),
                             ("prose", tmp_path / "prose.txt", "text/plain")]))
    assert results["utf8"].text == "name\tcity\nZoë\tZürich"
    assert results["legacy"].status == "ok" and "Müller\tGebühren für Akteneinsicht" in results["legacy"].text
    assert results["prose"].text.startswith("Dear requester, thank you.\n")


def test_character_cap_truncates_with_a_warning(tmp_path):
    with ExtractorPool(workers=1, max_chars=1000) as small:
        extraction = small.extract(CORPUS / "004-pdflatex-4-pages_pdflatex-4-pages.pdf")
    assert (extraction.status, extraction.chars) == ("ok", 1000)
    assert extraction.error == "text truncated at 1,000 characters"


# Hostile PDFs, built by hand -------------------------------------------------------------------------------


def _stream(dictionary: bytes, content: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"


def _one_page(content_stream: bytes, resources: bytes = b"/Font << /F1 4 0 R >>") -> list[bytes]:
    """Objects 1-4: catalog, page tree, page (contents = object 5), Helvetica."""
    return [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R /Resources << "
            + resources + b" >> >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", content_stream]


def _deflate(chunks) -> bytes:
    compressor = zlib.compressobj(6)
    return b"".join(compressor.compress(chunk) for chunk in chunks) + compressor.flush()


def _worker_pids() -> list[int]:
    """This process's extraction workers, from /proc (Linux)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and b"foiawatch.archive.text_worker" in command:
            pids.append(int(stat.parent.name))
    return pids


def _peak_memory(pid: int) -> int:
    """Peak resident set size of a live process, in bytes."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024


needs_proc = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads worker memory from /proc")


@needs_proc
def test_decompression_bomb_fails_with_bounded_memory(tmp_path):
    # 2 KB of text operators, then 300 MB of spaces: about 300 KB on disk.
    content = _deflate([b"BT /F1 12 Tf 72 700 Td (bomb) Tj ET "] + [b" " * (1 << 20)] * 300)
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(assemble_pdf(_one_page(_stream(b"/Filter /FlateDecode", content))))
    assert bomb.stat().st_size < 1 << 20
    limit = 512 << 20
    others = set(_worker_pids())
    with ExtractorPool(workers=1, memory_limit=limit) as isolated:
        extraction = isolated.extract(bomb)
        assert extraction.status == "failed" and "decompression bomb" in extraction.error
        [worker] = set(_worker_pids()) - others
        assert _peak_memory(worker) < limit
        assert isolated.extract(CORPUS / "020-xmp_output_with_metadata_pymupdf.pdf").text == "Hello, World!"


def test_memory_cap_kills_a_greedy_file_and_the_worker_is_replaced(tmp_path):
    # One 60-million-character string: under pypdf's stream limits, far over a 256 MiB address space.
    content = _deflate([b"BT /F1 12 Tf 72 700 Td ("] + [b"A" * (1 << 20)] * 60 + [b") Tj ET"])
    greedy = tmp_path / "greedy.pdf"
    greedy.write_bytes(assemble_pdf(_one_page(_stream(b"/Filter /FlateDecode", content))))
    with ExtractorPool(workers=1, memory_limit=256 << 20) as capped:
        extraction = capped.extract(greedy)
        assert extraction.status == "failed"
        assert extraction.error == "worker crashed: out of memory (limit 256 MiB)"
        assert "Lorem ipsum" in capped.extract(CORPUS / "001-trivial_minimal-document.pdf").text


def _endless_pdf(depth: int = 9, fanout: int = 10) -> bytes:
    """Form XObjects that each draw the next one ``fanout`` times: fanout**depth text draws from 2 KB."""
    objects = _one_page(_stream(b"", b"/X Do"), resources=b"/XObject << /X 6 0 R >>")
    for level in range(depth + 1):
        last = level == depth
        resources = b"/Font << /F1 4 0 R >>" if last else b"/XObject << /X %d 0 R >>" % (7 + level)
        content = b"BT /F1 12 Tf 72 700 Td (loop) Tj ET" if last else b" ".join([b"/X Do"] * fanout)
        objects.append(_stream(b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << "
                               + resources + b" >>", content))
    return assemble_pdf(objects)


def test_endless_pdf_times_out_and_the_pool_keeps_working(tmp_path):
    endless = tmp_path / "endless.pdf"
    endless.write_bytes(_endless_pdf())
    good = CORPUS / "016-libre-office-link_libre-office-link.pdf"
    with ExtractorPool(workers=2, timeout=1.0) as quick:
        assert quick.extract(good).text == "This is a link to an awesome blog."  # both workers started, off the clock
        started = time.monotonic()
        results = dict(quick.map([("endless", endless, None), ("good", good, None)]))
        assert time.monotonic() - started < 5
        assert results["endless"].status == "failed"
        assert results["endless"].error == "timed out after 1 s"
        assert results["good"].text == "This is a link to an awesome blog."
        assert quick.extract(good).text == "This is a link to an awesome blog."  # the timed-out worker was replaced


@needs_proc
def test_crashed_worker_is_reported_and_replaced(tmp_path):
    endless = tmp_path / "endless.pdf"
    endless.write_bytes(_endless_pdf())
    hello = CORPUS / "020-xmp_output_with_metadata_pymupdf.pdf"
    others = set(_worker_pids())

    with ExtractorPool(workers=1, timeout=30) as crashing:
        # A worker that has answered once is past its start-up: the crash below hits it mid-file, not mid-import.
        assert crashing.extract(hello).text == "Hello, World!"
        [worker] = set(_worker_pids()) - others
        crash_the_worker_soon = threading.Timer(0.5, os.kill, (worker, signal.SIGSEGV))
        started = time.monotonic()
        crash_the_worker_soon.start()
        extraction = crashing.extract(endless)
        crash_the_worker_soon.join()
        assert time.monotonic() - started < 10
        assert (extraction.status, extraction.error) == ("failed", "worker crashed: killed by SIGSEGV")
        assert crashing.extract(hello).text == "Hello, World!"


def test_extract_file_runs_one_file_in_isolation(tmp_path):
    endless = tmp_path / "endless.pdf"
    endless.write_bytes(_endless_pdf())
    assert extract_file(endless, timeout=0.5).error == "timed out after 0.5 s"
    assert extract_file(CORPUS / "021-pdfa_crazyones-pdfa.pdf").text.startswith("The Crazy Ones")


# The archive ----------------------------------------------------------------------------------------------


def test_extract_pending_fills_texts_once_and_feeds_search(tmp_path, monkeypatch):
    monkeypatch.setenv("FOIAWATCH_TESSERACT", "off")
    archive = Archive(tmp_path / "data")
    memo_pdf = make_pdf("Memo on detention standards", ["Inspectors found overcrowded holding cells in Building 4."])
    memo = store_bytes(archive, memo_pdf, "application/pdf")
    scan = store_bytes(archive, (CORPUS / IMAGE_ONLY[0]).read_bytes(), "application/pdf")
    locked = store_bytes(archive, (CORPUS / PASSWORD).read_bytes(), "application/pdf")
    archived = store_bytes(archive, make_zip({"a.txt": b"a"}), "application/zip")
    calls: list[tuple[int, int]] = []

    stats = extract_pending(archive, progress=lambda done, total: calls.append((done, total)))

    assert stats.as_dict() == {"ok": 1, "failed": 1, "unsupported": 1, "needs_ocr": 1}
    assert calls[0] == (0, 4) and calls[-1] == (4, 4)
    rows = {row["sha256"]: row for row in archive.db["texts"].rows}
    assert {sha: rows[sha]["status"] for sha in rows} == {memo: "ok", scan: "needs_ocr", locked: "failed",
                                                          archived: "unsupported"}
    assert rows[scan]["error"] == ("1 of 1 pages are scans without a text layer; OCR is off ($FOIAWATCH_TESSERACT): "
                                   "`foiawatch ocr` reads them then")
    assert rows[memo]["pages"] == 1 and rows[memo]["chars"] == len(rows[memo]["text"]) > 0
    assert (rows[memo]["source"], rows[memo]["ocr_pages"], rows[scan]["source"]) == ("text_layer", None, None)
    assert [(page["page"], page["source"]) for page in archive.db["text_pages"].rows_where("sha256 = ?", [memo])] \
        == [(1, "text_layer")]
    assert rows[locked]["error"] == "encrypted PDF: password required" and rows[locked]["text"] is None
    found = archive.db.execute(
        "select texts.sha256 from texts_fts join texts on texts.rowid = texts_fts.rowid where texts_fts match ?",
        ['"overcrowded holding cells"'],
    ).fetchall()
    assert found == [(memo,)]

    again = extract_pending(archive)
    assert again.total == 0 and archive.db["texts"].count == 4

    newer = store_bytes(archive, make_pdf("Second memo", ["Follow-up inspection."]), "application/pdf")
    assert extract_pending(archive).as_dict() == {"ok": 1}
    assert archive.db["texts"].get(newer)["status"] == "ok" and archive.db["texts"].count == 5


def test_a_pdf_missing_its_eof_marker_is_read_and_screened_not_refused(tmp_path):
    """Issue 12: pypdf reads many PDFs whose %%EOF marker is missing; their text is screened (and, flagged as
    possibly cut short, held for a reviewer) instead of the file being withheld unscreened."""
    from foiawatch.archive.pii import screen_pending
    from foiawatch.archive.text import extract_pending
    from foiawatch.demo.pdf import make_pdf

    data = make_pdf("Detention statistics", ["Caller SSN 219-09-9999 on the second line."])
    cut = data[:data.rindex(b"%%EOF")]
    assert b"%%EOF" not in cut
    with Archive(tmp_path) as archive:
        stored = archive.blobs.put_bytes(cut)
        archive.record_blob(stored, "application/pdf", "test")
        archive.db.conn.commit()
        extract_pending(archive)
        screen_pending(archive)
        text = archive.db.execute("select status, text, error from texts").fetchone()
        findings = [row[0] for row in archive.db.execute("select kind from pii_findings")]
    assert text[0] == "ok" and "219-09-9999" in text[1] and text[2].startswith("no %%EOF marker")
    assert findings == ["ssn"], "screened: the reviewer sees what it holds"


def test_a_pdf_title_from_its_metadata(pool, tmp_path):
    from foiawatch.demo.pdf import make_pdf

    path = tmp_path / "titled.pdf"
    path.write_bytes(make_pdf("Evaluation of the Secure Communities pilot, 2009", ["Text."]))
    assert pool.extract(path).title == "Evaluation of the Secure Communities pilot, 2009"
