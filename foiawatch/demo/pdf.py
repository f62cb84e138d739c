"""Deterministic document files for the demo library: real PDFs, plus the tiny XLSX and ZIP files agencies
publish beside them.

The PDFs are written by hand rather than with reportlab because the benchmark library serves 10,000 of them and
hand-built bytes cost microseconds; they use the standard Helvetica font so pypdf extracts the text. Nothing here
depends on the clock or on randomness: the same input always gives the same bytes, hence the same sha256, so a
re-served document never looks changed.
"""

from __future__ import annotations

import io
import random
import textwrap
import zipfile
from xml.sax.saxutils import escape

_PAGE_WIDTH, _PAGE_HEIGHT = 612, 792  # US Letter, in points
_MARGIN = 72
_LEADING = 14
_WRAP = 84  # characters per line of 11 pt Helvetica inside 1-inch margins
_LINES_PER_PAGE = (_PAGE_HEIGHT - 2 * _MARGIN) // _LEADING
_FIXED_ZIP_TIME = (2017, 1, 1, 0, 0, 0)


def _pdf_string(text: str) -> bytes:
    """A PDF literal string in WinAnsiEncoding (what the standard fonts use); unmappable characters become '?'."""
    data = text.encode("cp1252", errors="replace")
    return b"(" + data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _wrap(title: str, paragraphs: list[str]) -> list[tuple[bytes, str]]:
    """(font, line) pairs: the title in bold, then each paragraph wrapped, a blank line between paragraphs."""
    lines = [(b"/F2", line) for line in textwrap.wrap(" ".join(title.split()), _WRAP)] + [(b"/F1", "")]
    for paragraph in paragraphs:
        lines += [(b"/F1", line) for line in textwrap.wrap(" ".join(paragraph.split()), _WRAP)]
        lines.append((b"/F1", ""))
    return lines[:-1]


def _content_stream(lines: list[tuple[bytes, str]]) -> bytes:
    parts = [b"BT %d TL %d %d Td" % (_LEADING, _MARGIN, _PAGE_HEIGHT - _MARGIN)]
    for font, line in lines:
        parts.append(font + b" 11 Tf " + _pdf_string(line) + b" Tj T*")
    parts.append(b"ET")
    return b"\n".join(parts)


def make_pdf(title: str, paragraphs: list[str], padding: int = 0) -> bytes:
    """A small, valid PDF (1.4, uncompressed, correct xref) showing the title and paragraphs, paginated.

    ``padding`` adds that many bytes of incompressible data in an unreferenced stream (deterministic for a given
    title), so a benchmark library can have the sizes of real releases, which are mostly scanned images."""
    lines = _wrap(title, paragraphs)
    pages = [lines[i:i + _LINES_PER_PAGE] for i in range(0, len(lines), _LINES_PER_PAGE)] or [[]]
    # Objects: 1 catalog, 2 page tree, 3-4 fonts, 5 info, then a (page, contents) pair per page.
    first_page = 6
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * i) for i in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Title " + _pdf_string(title) + b" /Producer (foiawatch demo) >>",
    ]
    for i, page_lines in enumerate(pages):
        stream = _content_stream(page_lines)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >>"
            b" /Contents %d 0 R >>" % (_PAGE_WIDTH, _PAGE_HEIGHT, first_page + 2 * i + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    if padding:
        noise = random.Random(title).randbytes(padding)
        objects.append(b"<< /Length %d >>\nstream\n" % len(noise) + noise + b"\nendstream")
    return assemble_pdf(objects, info=5)


def assemble_pdf(objects: list[bytes], info: int | None = None) -> bytes:
    """A PDF file from object bodies (object 1 is the catalog; ``info`` numbers the document-info object), with a
    correct cross-reference table. Tests build hostile PDFs with it too."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    info_entry = b" /Info %d 0 R" % info if info else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, info_entry, xref_at)
    return bytes(out)


def make_zip(files: dict[str, bytes]) -> bytes:
    """A ZIP archive with fixed timestamps, so identical members give identical bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


_SPREADSHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIP_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XLSX_STATIC = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_RELATIONSHIP_NS}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<workbook xmlns="{_SPREADSHEET_NS}" xmlns:r="{_RELATIONSHIP_NS}">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_RELATIONSHIP_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
        "</Relationships>"
    ),
}


def _column(index: int) -> str:
    """Spreadsheet column letters: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _cell(reference: str, value: str) -> str:
    if value.replace(".", "", 1).isdigit():
        return f'<c r="{reference}"><v>{value}</v></c>'
    return f'<c r="{reference}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'


def make_xlsx(rows: list[list[str]]) -> bytes:
    """A one-sheet XLSX workbook (inline strings, numbers where a cell is numeric): the minimal valid package."""
    xml_rows = "".join(
        f'<row r="{r}">' + "".join(_cell(f"{_column(c)}{r}", value) for c, value in enumerate(row)) + "</row>"
        for r, row in enumerate(rows, start=1)
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{_SPREADSHEET_NS}"><sheetData>{xml_rows}</sheetData></worksheet>'
    )
    parts = {name: text.encode() for name, text in _XLSX_STATIC.items()}
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    return make_zip(parts)
