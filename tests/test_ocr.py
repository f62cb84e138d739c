"""OCR (issue 17): scans are read by Tesseract page by page in the bounded workers, screened and published when clean;
without Tesseract they wait as needs_ocr for `foiawatch ocr`. Tesseract is Debian's, installed here if missing (as the
browser test installs Chromium); the scans are generated, small pages at 200-300 dpi, skewed and speckled."""

from __future__ import annotations

import io
import json
import random
import sqlite3
import time
import zlib
from struct import pack

import pypdf
import pytest
from click.testing import CliRunner

from foiawatch.archive import Archive
from foiawatch.archive.ocr import OcrSettings, ocr_settings
from foiawatch.archive.pii import screen_pending
from foiawatch.archive.text import ExtractorPool, extract_pending
from foiawatch.cli import cli
from foiawatch.config import load_config
from foiawatch.crawler import crawl
from foiawatch.demo.pdf import make_pdf
from foiawatch.pipeline import diff_agency, publish_archive

from .conftest import StaticSite, store_bytes
from .support.scans import encode, form, install_tesseract, page_image, scan_pdf


@pytest.fixture(scope="module")
def tesseract() -> OcrSettings:
    problem = install_tesseract()
    if problem:
        pytest.skip(problem)
    settings = ocr_settings()
    if settings.command is None:
        pytest.skip(settings.unavailable)
    return settings


def scan(lines: list[str], seed: int, dpi: int = 300) -> bytes:
    """A small scanned page: skewed, speckled, softened."""
    return scan_pdf([page_image(lines, dpi=dpi, inches=(4.5, 3.0), points=10, skew=0.6, speckles=150, blur=0.5,
                                seed=seed)], dpi)


def test_scanned_forms_are_screened_and_clean_ones_published_and_searchable(tesseract, tmp_path):
    rng = random.Random(17)
    forms = [form(rng, personal=n < 4) for n in range(7)]
    with Archive(tmp_path / "data") as archive:
        shas = [store_bytes(archive, scan(f.lines, seed=n, dpi=(200, 300)[n % 2]), "application/pdf")
                for n, f in enumerate(forms)]
        assert extract_pending(archive, ocr=tesseract).as_dict() == {"ok": 7}
        screen_pending(archive)
        texts = {row["sha256"]: row for row in archive.db["texts"].rows}
        reasons = dict(archive.db.execute("select sha256, reason from withholdings where withheld = 1"))
        found = {row[0] for row in archive.db.execute(
            "select texts.sha256 from texts_fts join texts on texts.rowid = texts_fts.rowid "
            "where texts_fts match 'applicant'")}
    for sha, generated in zip(shas, forms, strict=True):
        assert texts[sha]["source"] == "ocr" and texts[sha]["ocr_confidence"] > 70, generated.lines
        if generated.high_risk:  # found, or held because OCR was unsure of the field's value
            assert reasons[sha].startswith(("high-risk PII: ", "OCR could not read the value of a field for ")), (
                generated.lines, texts[sha]["text"])
        else:
            assert sha not in reasons, (generated.lines, texts[sha]["text"], reasons.get(sha))
    assert found == set(shas)  # every scan is searchable (the clean ones are published, below in the e2e test)


def test_a_mixed_pdf_ocrs_only_the_pages_without_a_text_layer(tesseract, tmp_path):
    writer = pypdf.PdfWriter()
    for part in (make_pdf("Cover letter", ["The enclosed records are released in part under exemption 6."]),
                 scan(["Detention log, Newark", "Transfers this week: 14"], seed=1)):
        writer.append(pypdf.PdfReader(io.BytesIO(part)))
    path = tmp_path / "mixed.pdf"
    with open(path, "wb") as handle:
        writer.write(handle)
    with ExtractorPool(1, ocr=tesseract) as pool:
        extraction = pool.extract(path)
    layer, scanned = extraction.text.split("\f")
    assert [page.source for page in extraction.page_info] == ["text_layer", "ocr"]
    assert "released in part under exemption 6." in layer and "Transfers this week: 14" in scanned
    assert extraction.page_info[0].confidence is None and extraction.page_info[1].confidence > 80


def test_tiff_png_and_jpeg_records_are_read(tesseract, tmp_path):
    pages = [page_image([f"Incident report, part {n}", f"Reference 2017-{n}42"], dpi=200, inches=(4.5, 3.0),
                        points=10, seed=n) for n in (1, 2)]
    tiff = tmp_path / "report.tiff"
    pages[0].save(tiff, save_all=True, append_images=pages[1:], compression="tiff_lzw")
    (tmp_path / "report.png").write_bytes(encode(pages[0], "PNG"))
    (tmp_path / "report.jpg").write_bytes(encode(pages[1], "JPEG"))
    with ExtractorPool(2, ocr=tesseract) as pool:
        results = dict(pool.map((name, tmp_path / name, None) for name in ("report.tiff", "report.png", "report.jpg")))
    assert results["report.tiff"].pages == 2 and results["report.tiff"].text.count("\f") == 1
    assert "part 1" in results["report.tiff"].text and "part 2" in results["report.tiff"].text.split("\f")[1]
    assert "Reference 2017-142" in results["report.png"].text and "part 2" in results["report.jpg"].text
    assert all({page.source for page in result.page_info} == {"ocr"} for result in results.values())


def _png_bomb(side: int) -> bytes:
    """A valid 1-bit PNG of side x side pixels, all white: a few hundred KB that would decode to gigabytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return pack(">I", len(data)) + kind + data + pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def test_a_decompression_bomb_image_fails_with_its_reason(tmp_path):
    (tmp_path / "bomb.png").write_bytes(_png_bomb(12_000))  # 144 M pixels: over the limit, under Pillow's own
    (tmp_path / "huge.png").write_bytes(_png_bomb(40_000))  # 1.6 G pixels: Pillow refuses it itself
    assert (tmp_path / "huge.png").stat().st_size < 1 << 20
    with ExtractorPool(1, memory_limit=512 << 20, ocr=OcrSettings(None, unavailable="off")) as pool:
        results = dict(pool.map((name, tmp_path / name, None) for name in ("bomb.png", "huge.png")))
        assert pool.extract(tmp_path / "bomb.png").status == "failed"  # the same worker, still there
    assert (results["bomb.png"].status, results["bomb.png"].error) == (
        "failed", "image of 12,000x12,000 pixels, over the limit of 80,000,000 (decompression bomb?)")
    assert results["huge.png"].status == "failed" and "decompression bomb" in results["huge.png"].error


def test_a_200_page_scan_is_read_page_by_page_without_holding_up_other_documents(tesseract, tmp_path):
    # 200 pages, every tenth written on: each OCR page gets the 2-second timeout afresh, the whole scan takes longer.
    pages = [page_image([f"Page {n} of 200", "Continued"] if n % 10 == 1 else [], dpi=100, inches=(3, 1.5),
                        points=14) for n in range(1, 201)]
    (tmp_path / "long.pdf").write_bytes(scan_pdf(pages, 100))
    memos = [(f"memo{n}", tmp_path / f"memo{n}.pdf") for n in range(20)]
    for name, path in memos:
        path.write_bytes(make_pdf(f"Memo {name}", ["Routine correspondence."]))
    finished: list[str] = []
    started = time.monotonic()
    with ExtractorPool(2, timeout=2.0, memory_limit=512 << 20, ocr=tesseract) as pool:
        results = {}
        for key, extraction in pool.map([("long", tmp_path / "long.pdf", None)]
                                        + [(name, path, None) for name, path in memos]):
            finished.append(key)
            results[key] = extraction
    took = time.monotonic() - started
    long = results["long"]
    assert long.status == "ok" and long.pages == 200 and long.error is None, long.error
    assert took > 2.0 and "Page 191 of 200" in long.text.split("\f")[190]
    assert sum(page.source == "ocr" for page in long.page_info) == 20  # blank pages are not sent to Tesseract
    assert finished[-1] == "long" and len(finished) == 21  # the memos went through the other worker meanwhile


# End to end: crawl, needs_ocr, `foiawatch ocr`, a changed scan, publishing ------------------------------------


def test_scans_wait_for_tesseract_then_are_read_diffed_screened_and_published(tesseract, tmp_path, monkeypatch):
    rng = random.Random(5)
    personal = form(rng, personal=True)
    notice_v1 = ["NOTICE OF HEARING", "The hearing is set for May 3, 2017", "at the Newark immigration court."]
    notice_v2 = ["NOTICE OF HEARING", "The hearing is cancelled.", "at the Newark immigration court."]
    files = {"/files/notice.pdf": scan(notice_v1, seed=1), "/files/intake.pdf": scan(personal.lines, seed=2)}
    listing = "".join(f'<li><a href="{path}">{path.rsplit("/", 1)[1]}</a></li>' for path in files)
    routes = {"/foia/library": (200, {"Content-Type": "text/html"},
                                f"<html><body><main><h2>Releases</h2><ul>{listing}</ul></main></body></html>".encode())}
    routes.update({path: (200, {"Content-Type": "application/pdf"}, data) for path, data in files.items()})
    data = tmp_path / "data"
    with StaticSite(routes) as site:
        (tmp_path / "court.toml").write_text(
            f'[agency]\nid = "court"\nname = "Immigration court releases"\nlibrary_urls = ["{site.url}/foia/library"]\n'
            '[politeness]\ndelay = 0\nrequests_per_minute = 0\nretries = 0\n')
        config = load_config(tmp_path / "court.toml")
        monkeypatch.setenv("FOIAWATCH_TESSERACT", "off")  # as on a machine without Tesseract
        assert crawl(config, data).status == "complete"
        status = CliRunner().invoke(cli, ["status", "--data-dir", str(data), "--json"])
        assert json.loads(status.stdout)["agencies"][0]["counts"]["needs_ocr"] == 2
        monkeypatch.delenv("FOIAWATCH_TESSERACT")
        ocr = CliRunner().invoke(cli, ["ocr", "--data-dir", str(data), "--agency", "court", "--json"])
        assert ocr.exit_code == 0, ocr.output
        assert json.loads(ocr.stdout) | {"text_diffs": 0} == {"extracted": {"ok": 2}, "screened": 2, "withheld": 1,
                                                             "text_diffs": 0, "needs_ocr_left": 0}
        with Archive(data) as archive:
            diff_agency(archive, config)
        routes["/files/notice.pdf"] = (200, {"Content-Type": "application/pdf"}, scan(notice_v2, seed=1))
        assert crawl(config, data).status == "complete"
        with Archive(data) as archive:
            diff_agency(archive, config)
    publish_archive(data)
    with Archive(data) as archive:
        [diff] = [row[0] for row in archive.db.execute(
            "select t.diff from text_diffs t join events e on e.id = t.event_id where e.kind = 'changed'")]
    assert "-The hearing is set for May 3, 2017" in diff and "+The hearing is cancelled." in diff
    assert "(OCR, mean confidence " in diff.splitlines()[0]
    public = sqlite3.connect(data / "public" / "public.db")
    rows = public.execute("select d.url, w.reason, t.source from documents d left join withholdings w on "
                          "w.sha256 = d.sha256 left join texts t on t.sha256 = d.sha256 order by d.url").fetchall()
    assert [(url.rsplit("/", 1)[1], reason, source) for url, reason, source in rows] == [
        ("intake.pdf", rows[0][1], None), ("notice.pdf", None, "ocr")]
    assert rows[0][1].startswith("high-risk PII: ")
    assert public.execute("select count(*) from texts_fts where texts_fts match 'cancelled'").fetchone() == (1,)
