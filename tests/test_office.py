"""Spreadsheets and Word files (issue 17): read cell by cell with their column headers, screened, searched and diffed;
formatting is no redaction; zip bombs and oversized sheets fail with a recorded reason."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from foiawatch.archive.ocr import OcrSettings
from foiawatch.archive.pii import screen_pending
from foiawatch.archive.store import Archive
from foiawatch.archive.text import ExtractorPool, extract_pending
from foiawatch.diff.textdiff import text_diff

from .conftest import store_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CALLERS = [("03/02/2017", "GARCIA, Maria", "(202) 555-0142", "482-18-7800"),
           ("03/02/2017", "LEE, Wei", "3125550199", "219099999"),
           ("03/04/2017", "OKAFOR, Grace", "(404) 555-0187", "078-05-1121")]


def workbook_bytes(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def call_log() -> bytes:
    """The 2017 hotline log as it was handed out: the SSN column hidden and filled black, a hidden sheet of birth
    dates in white text."""
    book = Workbook()
    calls = book.active
    calls.title = "Calls"
    calls.append(["ICE hotline call log, March 2017"])
    calls.append(["Date", "Caller name", "Caller phone", "SSN", "Notes"])
    for row in CALLERS:
        calls.append([*row, "reported a neighbour"])
    black = PatternFill("solid", fgColor="000000")
    for cell in calls["D"]:
        cell.fill = black
        cell.font = Font(color="000000")
    calls.column_dimensions["D"].hidden = True
    extra = book.create_sheet("Callers")
    extra.sheet_state = "hidden"
    extra.append(["Caller name", "DOB"])
    extra.append(["GARCIA, Maria", "04/12/1978"])
    extra["B2"].font = Font(color="FFFFFF")
    return workbook_bytes(book)


def statistics(years: list[tuple[str, int, int]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Removals"
    sheet.append(["Fiscal year", "Removals", "Returns"])
    for row in years:
        sheet.append(list(row))
    return workbook_bytes(book)


def memo() -> bytes:
    document = docx.Document()
    document.add_heading("Memorandum for field office directors", 1)
    document.add_paragraph("Subject: staffing of the detention standards review in the Newark field office.")
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Office", "Reviewers"), ("Newark", "4")], strict=True):
        for cell, value in zip(row.cells, cells, strict=True):
            cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def search(archive: Archive, phrase: str) -> list[str]:
    return [row[0] for row in archive.db.execute(
        "select texts.sha256 from texts_fts join texts on texts.rowid = texts_fts.rowid where texts_fts match ?",
        [f'"{phrase}"'])]


def test_a_call_log_redacted_by_formatting_is_withheld_for_what_it_holds(tmp_path):
    with Archive(tmp_path / "data") as archive:
        log = store_bytes(archive, call_log(), XLSX)
        stats = store_bytes(archive, statistics([("FY2016", 240255, 1000), ("FY2017", 226119, 1200)]), XLSX)
        letter = store_bytes(archive, memo(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        calls_csv = store_bytes(archive, b"Caller,Phone,SSN\nMaria Garcia,2025550142,482187800\nWei Lee,3125550199,"
                                   b"219099999\n", "text/csv")
        assert extract_pending(archive, ocr=OcrSettings(None)).as_dict() == {"ok": 4}
        screen_pending(archive)
        texts = {row["sha256"]: row for row in archive.db["texts"].rows}
        withheld = dict(archive.db.execute("select sha256, reason from withholdings where withheld = 1").fetchall())
        findings = {(kind, page): count for kind, page, count in archive.db.execute(
            "select kind, page, count from pii_findings where sha256 = ?", [log])}
        assert search(archive, "FY2017") == [stats] and search(archive, "detention standards review") == [letter]
        assert sorted(search(archive, "GARCIA")) == sorted([log, calls_csv])  # found, though never published
    # Every cell is read as it is, whatever hides it: the hidden black column, the hidden sheet, the white text.
    assert texts[log]["text"].split("\f") == [
        "Sheet: Calls\nICE hotline call log, March 2017\nDate\tCaller name\tCaller phone\tSSN\tNotes\n"
        + "\n".join("\t".join(row) + "\treported a neighbour" for row in CALLERS),
        "Sheet: Callers (hidden)\nCaller name\tDOB\nGARCIA, Maria\t04/12/1978",
    ]
    assert withheld == {log: "high-risk PII: dob, ssn", calls_csv: "high-risk PII: ssn"}
    assert findings == {("ssn", 1): 3, ("phone", 1): 3, ("dob", 2): 1}  # under "SSN" even unformatted 219099999
    assert texts[letter]["text"] == ("Memorandum for field office directors\nSubject: staffing of the detention "
                                     "standards review in the Newark field office.\nOffice\tReviewers\nNewark\t4")
    assert {texts[sha]["source"] for sha in texts} == {"text_layer"}


def test_a_row_removed_from_a_statistics_table_is_one_removed_line(tmp_path):
    years = [("FY2015", 235413, 900), ("FY2016", 240255, 1000), ("FY2017", 226119, 1200)]
    with ExtractorPool(1, ocr=OcrSettings(None)) as pool:
        (tmp_path / "v1.xlsx").write_bytes(statistics(years))
        (tmp_path / "v2.xlsx").write_bytes(statistics([years[0], years[2]]))
        old, new = pool.extract(tmp_path / "v1.xlsx"), pool.extract(tmp_path / "v2.xlsx")
    diff = text_diff(old.text, new.text)
    assert (diff.lines_added, diff.lines_removed) == (0, 1)
    assert "\n-FY2016\t240255\t1000" in diff.diff


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def million_row_xlsx() -> bytes:
    """A workbook with one sheet of a million rows, its XML written here (openpyxl would take a minute)."""
    rows = b"".join(b'<row r="%d"><c r="A%d" t="n"><v>%d</v></c></row>' % (n, n, n * 7919 % 1000003)
                    for n in range(1, 1_000_001))
    sheet = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             b'spreadsheetml/2006/main"><sheetData>' + rows + b"</sheetData></worksheet>")
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    relations = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    return _zip({
        "[Content_Types].xml": (
            b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
            b'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"'
            b'/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            b'officedocument.spreadsheetml.worksheet+xml"/></Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{relations}/officeDocument" Target="xl/workbook.xml"'
            '/></Relationships>').encode(),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{relations}"><sheets>'
            '<sheet name="Rows" sheetId="1" r:id="rId1"/></sheets></workbook>').encode(),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{relations}/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>').encode(),
        "xl/worksheets/sheet1.xml": sheet,
    })


@pytest.fixture(scope="module")
def pool():
    with ExtractorPool(workers=2, timeout=60, memory_limit=1 << 30, ocr=OcrSettings(None)) as shared:
        yield shared


def test_zip_bombs_and_a_million_row_sheet_fail_with_their_reason(pool, tmp_path: Path):
    bomb = _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                 "xl/worksheets/sheet1.xml": b" " * (200 << 20)})
    (tmp_path / "bomb.xlsx").write_bytes(bomb)
    (tmp_path / "rows.xlsx").write_bytes(million_row_xlsx())
    (tmp_path / "memo.docx").write_bytes(memo())
    assert len(bomb) < 1 << 20
    results = dict(pool.map([(name, tmp_path / name, None) for name in ("bomb.xlsx", "rows.xlsx", "memo.docx")]))
    assert results["bomb.xlsx"].status == "failed"
    assert results["bomb.xlsx"].error.startswith("ZIP part xl/worksheets/sheet1.xml packs 209,715,200 bytes into ")
    assert results["bomb.xlsx"].error.endswith(" (zip bomb?)")
    assert (results["rows.xlsx"].status, results["rows.xlsx"].error) == (
        "failed", "sheet 'Rows' has 1,000,000 rows, over the limit of 250,000")
    assert results["memo.docx"].status == "ok"  # the pool goes on


def test_an_archive_upgraded_reads_what_the_older_release_could_not(tmp_path):
    import sqlite_utils

    from foiawatch.archive import schema
    from foiawatch.archive.migrations import MigrationSet

    path = tmp_path / "archive.db"
    before = [m for m in schema.ARCHIVE.migrations if m.name < "0017"]
    MigrationSet("archive.db", before).apply(sqlite_utils.Database(path))
    old = sqlite_utils.Database(path)
    old["blobs"].insert({"sha256": "a" * 64, "size": 1, "mimetype": XLSX, "path": "x", "source": "crawl"})
    old["texts"].insert({"sha256": "a" * 64, "status": "unsupported",
                         "error": "ZIP container (DOCX, XLSX, PPTX or ZIP archive): no text extraction for this type"})
    old["blobs"].insert({"sha256": "b" * 64, "size": 1, "mimetype": "application/pdf", "path": "y", "source": "crawl"})
    old["texts"].insert({"sha256": "b" * 64, "status": "ok", "text": "A memo."})
    old.conn.close()
    with Archive(tmp_path) as archive:  # migrated on opening
        assert [(row["sha256"][0], row["source"]) for row in archive.db["texts"].rows] == [("b", "text_layer")]
