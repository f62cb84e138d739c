"""The text of spreadsheets (XLSX, XLS, XLSB, ODS, CSV) and Word files (DOCX), for search, diffs and the PII screen.

Only the extraction worker (:mod:`.text_worker`) calls this: it parses hostile files. Every sheet becomes one page
(the pages of a text are separated by form feeds): a line naming the sheet, then one line per row with the cells
separated by tabs, so the row under the header "SSN" is read as an SSN by the screen's table rules, and a row
removed from a table is one removed line in a diff. Every cell is read whatever its formatting: hidden rows,
columns and sheets, black-filled cells and white text are "redaction" by formatting, and their contents are as
much in the file as any other (the 2017 ICE call logs were handed out so).

Both formats are ZIP files, so a ZIP is refused before any part is parsed when it would unpack to more than
``MAX_UNZIPPED`` bytes or packs a part suspiciously well (a zip bomb); a sheet over ``MAX_ROWS`` rows or a workbook
over ``MAX_CELLS`` cells is refused with its size rather than read into memory row by row.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

MAX_UNZIPPED = 512 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed size of one part; XML sheets reach 20-50, bombs thousands
_RATIO_FROM = 1024 * 1024  # small parts may pack as well as they like
MAX_PARTS = 10_000
MAX_ROWS = 250_000  # per sheet
MAX_CELLS = 5_000_000  # per workbook

_SHEET_PARTS = ("xl/workbook.xml", "xl/workbook.bin")
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


class Refused(ValueError):
    """A file over a bound or not what it claims: the message is the recorded reason."""


def check_zip(path: Path) -> zipfile.ZipFile:
    """Open a ZIP whose declared sizes are within bounds (ZipFile stops reading a part at its declared size)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise Refused(f"malformed ZIP container: {error}") from None
    parts = archive.infolist()
    total = sum(part.file_size for part in parts)
    if len(parts) > MAX_PARTS:
        archive.close()
        raise Refused(f"ZIP container of {len(parts):,} parts, over the limit of {MAX_PARTS:,}")
    if total > MAX_UNZIPPED:
        archive.close()
        raise Refused(f"ZIP container unpacking to {total:,} bytes, over the limit of {MAX_UNZIPPED:,} (zip bomb?)")
    for part in parts:
        if part.file_size > _RATIO_FROM and part.file_size > MAX_RATIO * max(part.compress_size, 1):
            archive.close()
            raise Refused(f"ZIP part {part.filename[:80]} packs {part.file_size:,} bytes into "
                          f"{part.compress_size:,} (zip bomb?)")
    return archive


def zip_kind(archive: zipfile.ZipFile) -> str | None:
    """"sheets" (XLSX, XLSM, XLSB, ODS), "docx", or None for any other ZIP (an archive, a presentation)."""
    names = set(archive.namelist())
    if names & set(_SHEET_PARTS):
        return "sheets"
    if "word/document.xml" in names:
        return "docx"
    if "mimetype" in names and archive.read("mimetype").strip() == _ODS_MIMETYPE:
        return "sheets"
    return None


def sheet_pages(path: Path) -> Iterator[str]:
    """Each sheet of a workbook as a page of text; python-calamine reads XLSX, XLSM, XLSB, XLS and ODS alike."""
    import python_calamine

    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    except python_calamine.PasswordError:
        raise Refused("encrypted workbook: password required") from None
    except (python_calamine.CalamineError, OSError, ValueError) as error:
        raise Refused(f"malformed workbook: {error}") from None
    cells = 0
    try:
        for metadata in workbook.sheets_metadata:
            try:
                sheet = workbook.get_sheet_by_name(metadata.name)
            except (python_calamine.CalamineError, ValueError) as error:
                raise Refused(f"malformed sheet {metadata.name!r}: {error}") from None
            if sheet.height > MAX_ROWS:
                raise Refused(f"sheet {metadata.name!r} has {sheet.height:,} rows, over the limit of "
                              f"{MAX_ROWS:,}")
            cells += sheet.height * sheet.width
            if cells > MAX_CELLS:
                raise Refused(f"workbook of over {MAX_CELLS:,} cells (sheet {metadata.name!r} reaches {cells:,})")
            visibility = str(metadata.visible).rsplit(".", 1)[-1].lower()
            hidden = "" if visibility == "visible" else f" ({visibility.replace('veryhidden', 'very hidden')})"
            yield f"Sheet: {metadata.name}{hidden}\n" + rows_text(sheet.to_python(skip_empty_area=False))
    finally:
        workbook.close()


def rows_text(rows: Iterable[Iterable[Any]]) -> str:
    """Rows as lines of tab-separated cells; rows with nothing in them are left out."""
    lines = []
    for row in rows:
        values = [_cell(value) for value in row]
        if any(values):
            lines.append("\t".join(values).rstrip("\t"))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    """A cell as a person reads it: 123456789 not 123456789.0, a date without a midnight time."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return " ".join(str(value).split())  # a tab or line break inside a cell would break the row apart


def docx_text(path: Path) -> str:
    """A Word file's text: headers, the body's paragraphs and tables in order (a table row per line, cells
    tab-separated), footers; a header repeated by later sections is read once."""
    import docx
    from docx.table import Table

    try:
        document = docx.Document(str(path))
        margins = [(section.header, section.footer) for section in document.sections]
    except Exception as error:  # python-docx raises from KeyError to lxml's XMLSyntaxError on broken files
        raise Refused(f"malformed Word file: {type(error).__name__}: {error}") from None
    headers = [p.text for header, _ in margins if not header.is_linked_to_previous for p in header.paragraphs]
    footers = [p.text for _, footer in margins if not footer.is_linked_to_previous for p in footer.paragraphs]
    body = [rows_text([cell.text for cell in row.cells] for row in block.rows) if isinstance(block, Table)
            else block.text for block in document.iter_inner_content()]
    return "\n".join(part for part in headers + body + footers if part.strip())


def delimited_text(text: str, declared_mimetype: str | None) -> str | None:
    """A CSV (or semicolon-, tab- or pipe-separated) text as tab-separated rows; None when it is not one.

    Declared CSV is parsed as CSV; otherwise a text counts as delimited when its first lines (at least three) all
    have the same number of fields, two or more, for one delimiter.
    """
    sample = text[:65536]
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    declared = bool(declared_mimetype and "csv" in declared_mimetype.lower())
    if len(lines) < (1 if declared else 3):
        return None
    try:
        dialect: Any = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|")
    except csv.Error:
        if not declared:
            return None
        dialect = csv.excel
    widths = {len(row) for row in csv.reader(lines[:-1] or lines, dialect)}
    if not declared and (len(widths) != 1 or widths.pop() < 2):
        return None
    return rows_text(csv.reader(io.StringIO(text), dialect))
