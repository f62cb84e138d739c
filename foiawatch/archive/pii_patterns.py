"""Find personal data in extracted text, and tell it apart from the identifiers that look just like it.

Agency documents are full of numbers shaped like SSNs and phone numbers: case and docket numbers, invoices,
contract and FOIA request numbers, ISBNs. Three things separate personal data from them:

* validation: an SSN never has area 000/666/9xx, a NANP phone never has an area or exchange starting 0/1;
* the label right before a value ("SSN:", "Case No.", "DOB") - the way call logs and forms write data;
* the value standing alone: ``202-555-0142-A`` or ``INV-123-45-6789`` is part of a longer identifier.

Values that carry no shape of their own (bare 9-digit SSNs, 10-digit phones, dates as DOBs) need a label
right before them, or a column header for that kind on the same page (tables lose labels in extraction).
An SSN written digit by digit ("4 8 2-1 8-7 8 0 0") is judged as the same SSN written without the spaces.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

SSN, A_NUMBER, DOB, PHONE, EMAIL, ADDRESS = "ssn", "a_number", "dob", "phone", "email", "address"
KINDS = (SSN, A_NUMBER, DOB, PHONE, EMAIL, ADDRESS)
HIGH_RISK = frozenset({SSN, A_NUMBER, DOB})

# Label categories beyond the kinds: numbers of things (orders, parts, books), numbers of records (cases,
# files: a person's A-number can be one), and dates that are not births.
IDENTIFIER, RECORD, OTHER_DATE = "identifier", "record", "other_date"
_NOT_PERSONAL = (IDENTIFIER, RECORD)


@dataclass(frozen=True)
class Hit:
    """One piece of personal data: where it is, never what it is (callers hold the text)."""

    kind: str
    start: int
    end: int


# A value must stand alone: not glued to letters, digits or joiners of a longer identifier.
_BEFORE = r"(?<![\w/@-])(?<!\d\.)"
_AFTER = r"(?![\w@]|[-/]\w|\.\d)"

_LABELS: dict[str, str] = {
    SSN: r"s\.?\s?s\.?\s?n\.?|ss\s*#|ss\s*no\b|soc(?:ial)?\.?\s*sec(?:urity)?\.?(?:\s*(?:card|acct|account))?",
    A_NUMBER: r"(?-i:A(?:\s*-\s*(?i:number|num\b|no\b|#|file)|\s*#|(?i:number)\b|\s+No\.))|"
              r"alien\s+(?:registration|reg\.?|number|no\b|#)",
    DOB: r"d\.?\s?o\.?\s?b\b\.?|date\s+of\s+birth|birth\s*date|birth|born(?:\s+on)?",
    PHONE: (
        r"(?:cell\s*|tele|home\s*|work\s*)?phone|ph\b|tel\b|cell(?:ular)?|mobile|fax|call\s*back|cb\b|"
        r"contact\s+(?:number|no\b|#)"
    ),
    IDENTIFIER: (
        r"order|invoice|inv\b|contract|tracking|confirmation|conf\b|p\.?o\.?\b|purchase\s+order|"
        r"isbn(?:-?1[03])?|issn|serial|s/n|receipt|ticket|batch|lot\b|part|model|item|sku|voucher|check|cheque|"
        r"transaction|txn\b|permit|award|grant|solicitation|acct|account|routing|bates|form"
    ),
    RECORD: r"case|docket|dkt\b|request|req\b|reference|ref\b|control|file|claim|record|report",
    OTHER_DATE: (
        r"date(?!\s+of\s+birth)(?:\s+of\s+\w+)?|dated|received|rec'd|sent|filed|issued|effective|signed|"
        r"updated|created|modified|arrest(?:ed)?|booked|released|entered|as\s+of|"
        r"(?:call|arrest|entry|release|booking|hire|incident|contact|report|event|filing)\s+date"
    ),
}
# Between a label and its value: punctuation and filler words ("Phone number is", "Case No.", "DOB/Age:").
_GLUE = r"(?:[\s:#=()\[\]/.\-\u2013]|\b(?:no|nos|num|number|nr|id|is|was|on|of|age)\b)*$"
_LABEL = re.compile(
    r"(?<![A-Za-z])(?:" + "|".join(f"(?P<{name}>{rx})" for name, rx in _LABELS.items()) + ")" + _GLUE, re.I
)
# The same labels wherever they stand (not only right before a value): the fields of a form.
_FIELD = re.compile(
    r"(?<![A-Za-z])(?:" + "|".join(f"(?P<{name}>{rx})" for name, rx in _LABELS.items()) + r")(?![A-Za-z])"
    + _GLUE[:-1], re.I
)
# Column headers that vouch for unlabelled values anywhere on the page: only unambiguous ones, and only as
# headers - "DOB: 04/12/1978" labels one value and says nothing about the other dates on the page.
_HEADER_ONLY = r"(?![ \t:#.=-]*[\d(+])"
_PAGE_CUES: dict[str, re.Pattern[str]] = {
    SSN: re.compile(
        r"\b(?:SSN|S\.S\.N\.?|SS\s*#|soc(?:ial)?\.?\s*sec(?:urity)?\.?\s*(?:no\b|num|#))" + _HEADER_ONLY, re.I
    ),
    A_NUMBER: re.compile(
        r"(?:\bA(?:\s*-\s*(?i:number|num\b|no\b|#|file)|\s*#|(?i:number)\b|\s+No\.)"
        r"|\b(?i:alien\s+(?:registration|number|no\b|#)))" + _HEADER_ONLY
    ),
    DOB: re.compile(r"\b(?:D\.?O\.?B\b\.?|date\s+of\s+birth|birth\s*date)" + _HEADER_ONLY, re.I),
    PHONE: re.compile(r"\b(?:(?:tele)?phone|tel\b|cell|mobile)" + _HEADER_ONLY, re.I),
}
_LABEL_REACH = 48

_SSN_DASHED = re.compile(_BEFORE + r"(\d{3})[-\u2013](\d{2})[-\u2013](\d{4})" + _AFTER)
_SSN_LOOSE = re.compile(_BEFORE + r"(\d{3})(?: ?[-.\u2013] ?| )(\d{2})(?: ?[-.\u2013] ?| )(\d{4})" + _AFTER)
# Digits written one by one ("4 8 2-1 8-7 8 0 0": form boxes, OCR, or a writer dodging a filter): dashed groups
# count as the dashed form does, other groupings as the loose form; never a run of a longer spaced number.
_SSN_SPACED = re.compile(
    _BEFORE + r"(?<!\d )(\d \d \d)(?P<s1> ?[-.\u2013] ?| +)(\d \d)(?P<s2> ?[-.\u2013] ?| +)(\d \d \d \d)"
    + _AFTER + r"(?! \d)"
)
_BARE_ID = re.compile(_BEFORE + r"(\d{8,9}|\d{3}-\d{3}-\d{3})" + _AFTER)
_A_PREFIXED = re.compile(
    r"(?<![\w/-])A(?:\s*-?\s*#\s*:?\s*|\s*-\s*|\s)?(\d{3}[-\s]?\d{3}[-\s]?\d{3}|\d{2}[-\s]?\d{3}[-\s]?\d{3})" + _AFTER
)
_PHONE = re.compile(
    _BEFORE + r"(?P<cc>\+1[-.\s]?|1[-.])?(?:\( ?(?P<pa>\d{3}) ?\) ?|(?P<a>\d{3})(?P<s1> ?[-./] ?| ))"
    r"(?P<ex>\d{3})(?P<s2> ?[-.] ?| )(?P<ln>\d{4})" + _AFTER
)
_PHONE_BARE = re.compile(_BEFORE + r"(?P<plus>\+)?1?(?P<a>\d{3})-?(?P<ex>\d{3})\d{4}" + _AFTER)
# Numbers abroad (families in Mexico and Central America): a + or 011 and a country code other than NANP's 1.
_PHONE_ABROAD = re.compile(_BEFORE + r"(?:\+|011[ .-]?)[2-9]\d{0,2}(?:[ .-]?\d){7,12}" + _AFTER)
_EMAIL = re.compile(
    r"(?<![\w.%+-])(?P<local>[A-Za-z0-9][A-Za-z0-9._%+-]*)@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}\b"
)
# Mailboxes of offices, not people: every FOIA letter carries one.
_ROLE_MAILBOXES = frozenset(
    "foia privacy info information press media webmaster noreply no-reply donotreply support help helpdesk "
    "contact admin office public inquiries records".split()
)
_SUFFIXES = (
    r"street|st|avenue|ave|road|rd|boulevard|blvd|drive|dr|lane|ln|court|ct|place|pl|way|terrace|ter|"
    r"circle|cir|parkway|pkwy|highway|hwy|square|sq|trail|trl"
)
_ADDRESS = re.compile(
    r"(?<![\w/.,-])[1-9]\d{0,5}[A-Z]?\s+(?:(?:[NSEW]\.?|North|South|East|West|NORTH|SOUTH|EAST|WEST)\s+)?"
    r"(?P<name>(?:(?:\d{1,3}(?i:st|nd|rd|th)|[A-Z][a-z]+|[A-Z]{2,})\s+){1,3})"
    r"(?i:" + _SUFFIXES + r")\b\.?(?:,?\s+(?:NW|NE|SW|SE)\b)?(?:,?\s+(?i:apt|apartment|unit|suite|ste)\.?\s*#?\s*\w+)?"
)
# "the 9th Circuit Court", "12 District Court": courts, not homes.
_NOT_STREET_NAMES = frozenset(
    "circuit district supreme superior appeals immigration municipal family federal county tax bankruptcy "
    "claims juvenile probate".split()
)

_MONTHS = {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}
_MONTH_RX = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_DATE_NUMERIC = re.compile(r"(?<![\w/.-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\w/]|[-.]\d)")
_DATE_ISO = re.compile(r"(?<![\w/.-])(\d{4})-(\d{2})-(\d{2})(?![\w/]|[-.]\d)")
_DATE_MONTH_FIRST = re.compile(
    r"\b(" + _MONTH_RX + r")\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b", re.I
)
_DATE_DAY_FIRST = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(" + _MONTH_RX + r"),?\s+(\d{4})\b", re.I)

# A person's name right before a date ("John Smith, 04/12/1978", "GARCIA, Maria (03/22/1985)").
_UPPER, _LOWER = "A-Z\u00c0-\u00d6\u00d8-\u00de", "a-z\u00df-\u00f6\u00f8-\u00ff"  # with Latin-1 accents
_NAME_TOKEN = rf"(?:[{_UPPER}][{_LOWER}]+(?:['-][{_UPPER}]?[{_LOWER}]+)?|[{_UPPER}]{{2,}}(?:['-][{_UPPER}]+)?)"
_NAME_BEFORE = re.compile(
    r"(?<![\w])(?P<name>" + _NAME_TOKEN + r"(?:,?\s+(?:[A-Z]\.?\s+)?" + _NAME_TOKEN + r"){1,2})\s*[,(|\u2013-]\s*$"
)
_NOT_NAMES = frozenset(
    "january february march april may june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday date dated received memo memorandum report case order invoice "
    "meeting call page office department agency letter subject re updated filed signed sent on the to from "
    "through and of for in at by with security homeland immigration customs enforcement service services "
    "united states us u.s washington dc federal register notice request response total".split()
)
# How much older than the page's latest date an unlabelled date must be to pass as a birth date.
_MIN_AGE_NEAR_NAME, _MIN_AGE_IN_TABLE = 14, 2


# OCR misreads digits as the letters that look like them ("4B2-l8-78OO"); within a run of mostly digits they are read
# back as digits (one character for one, so offsets hold). A letter before the run ends it, except an A-number's A.
_CONFUSABLE = str.maketrans("OoQDIl|!SsZzBG", "00001111552286")
_DIGIT_RUN = re.compile(r"(?<![B-Zb-z])[0-9OoQDIl|!SsZzBG](?:[0-9OoQDIl|!SsZzBG]|[-.\u2013/](?=[0-9OoQDIl|!SsZzBG]))*"
                        r"(?![A-Za-z])")


def ocr_digits(text: str) -> str:
    """``text`` with OCR's letter-for-digit slips corrected inside runs that are at least half digits (three or
    more); the same length, so every offset into it is one into ``text``."""
    def fix(match: re.Match[str]) -> str:
        run = match.group()
        digits = sum(char.isdigit() for char in run)
        letters = sum(char.isalpha() or char in "|!" for char in run)
        return run.translate(_CONFUSABLE) if digits >= 3 and digits >= letters else run

    return _DIGIT_RUN.sub(fix, text)


def fields(text: str, kinds: frozenset[str]) -> Iterator[tuple[str, int]]:
    """``(kind, end)`` of every label of one of ``kinds`` in ``text``: where a form's field for it begins."""
    for match in _FIELD.finditer(text):
        if match.lastgroup in kinds:
            yield match.lastgroup, match.end()


def ssn_is_valid(area: str, group: str, serial: str) -> bool:
    """The SSA never issues area 000, 666 or 900-999, group 00 or serial 0000."""
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def nanp_is_valid(area: str, exchange: str) -> bool:
    """NANP: area and exchange start 2-9, neither is an N11 service code, X9X areas are unassigned."""
    return (
        area[0] in "23456789" and exchange[0] in "23456789" and area[1:] != "11" and exchange[1:] != "11"
        and area[1] != "9"
    )


def find_pii(text: str, today: date | None = None) -> list[Hit]:
    """Every piece of personal data in ``text``, in order; pages (form feeds) are judged one at a time."""
    today = today or date.today()
    hits: list[Hit] = []
    offset = 0
    for page_text in text.split("\f"):
        page = _Page(page_text, today)
        hits.extend(Hit(h.kind, h.start + offset, h.end + offset) for h in _resolve(page.hits()))
        offset += len(page_text) + 1
    return hits


def _resolve(hits: Iterator[Hit]) -> list[Hit]:
    """Where detectors overlap, keep the longer hit (then the earlier one): each character is one thing."""
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.start, -(h.end - h.start))):
        if kept and hit.start < kept[-1].end:
            if hit.end - hit.start > kept[-1].end - kept[-1].start:
                kept[-1] = hit
            continue
        kept.append(hit)
    return kept


class _Page:
    """One page: its headers, tables and dates are the context every value on it is judged in."""

    def __init__(self, text: str, today: date):
        self.text = text
        self.today = today
        self.cues = {kind for kind, cue in _PAGE_CUES.items() if cue.search(text)}
        self.cells = list(_table_cells(text))
        self._cell_starts = [cell.start for cell in self.cells]
        self.dates = sorted(_dates(text, today))
        self._birth_columns = _dates_by_column(text, self.dates)
        # The two latest (year, start) pairs: a date is judged against the latest *other* date on the page.
        self._latest = sorted(((d.year, s) for s, _, d in self.dates if d <= today), reverse=True)[:2]

    def label(self, start: int) -> str | None:
        """What the value at ``start`` is labelled as: the label right before it, else its column header."""
        cell = self._cell(start)
        if cell:
            match = _LABEL.search(self.text[cell.start:start])
            return match.lastgroup if match else cell.column
        prefix = self.text[max(0, start - _LABEL_REACH):start]
        match = _LABEL.search(prefix[prefix.rfind("\n") + 1:])
        return match.lastgroup if match else None

    def cued(self, kind: str, start: int) -> bool:
        """A header for ``kind`` somewhere on the page vouches for values outside a table we could read."""
        return kind in self.cues and self._cell(start) is None

    def hits(self) -> Iterator[Hit]:
        yield from self._ssns()
        yield from self._a_numbers()
        yield from self._bare_ids()
        yield from self._phones()
        yield from self._emails()
        yield from self._addresses()
        yield from self._dobs()

    def _ssns(self) -> Iterator[Hit]:
        for match in _SSN_DASHED.finditer(self.text):
            if ssn_is_valid(*match.groups()) and self.label(match.start()) not in _NOT_PERSONAL:
                yield Hit(SSN, match.start(), match.end())
        for match in _SSN_LOOSE.finditer(self.text):
            if ssn_is_valid(*match.groups()) and self._vouched(SSN, match.start()):
                yield Hit(SSN, match.start(), match.end())
        for match in _SSN_SPACED.finditer(self.text):
            area, group, serial = (match.group(n).replace(" ", "") for n in (1, 3, 5))
            if not ssn_is_valid(area, group, serial):
                continue
            dashed = all(set(match.group(s)) & set("-\u2013") for s in ("s1", "s2"))
            if (self.label(match.start()) not in _NOT_PERSONAL) if dashed else self._vouched(SSN, match.start()):
                yield Hit(SSN, match.start(), match.end())

    def _a_numbers(self) -> Iterator[Hit]:
        for match in _A_PREFIXED.finditer(self.text):
            if self.label(match.start()) != IDENTIFIER:
                yield Hit(A_NUMBER, match.start(), match.end())

    def _bare_ids(self) -> Iterator[Hit]:
        """Unformatted 8-9 digit numbers: an SSN or an A-number only when a label or header says so."""
        for match in _BARE_ID.finditer(self.text):
            digits = match.group(1)
            is_ssn = digits.isdigit() and len(digits) == 9 and ssn_is_valid(digits[:3], digits[3:5], digits[5:])
            label, start = self.label(match.start()), match.start()
            if is_ssn and (label == SSN or label is None and self.cued(SSN, start)):
                yield Hit(SSN, start, match.end())
            elif label == A_NUMBER or label is None and self.cued(A_NUMBER, start):
                yield Hit(A_NUMBER, start, match.end())

    def _phones(self) -> Iterator[Hit]:
        for match in _PHONE.finditer(self.text):
            area = match.group("pa") or match.group("a")
            if not nanp_is_valid(area, match.group("ex")):
                continue
            formatted = bool(match.group("cc") or match.group("pa")) or not (
                match.group("s1").isspace() and match.group("s2").isspace()
            )
            label = self.label(match.start())
            if label not in _NOT_PERSONAL and (formatted or self._vouched(PHONE, match.start())):
                yield Hit(PHONE, match.start(), match.end())
        for match in _PHONE_BARE.finditer(self.text):
            if not nanp_is_valid(match.group("a"), match.group("ex")):
                continue
            label = self.label(match.start())
            if match.group("plus") and label not in _NOT_PERSONAL or self._vouched(PHONE, match.start()):
                yield Hit(PHONE, match.start(), match.end())
        for match in _PHONE_ABROAD.finditer(self.text):
            if self.label(match.start()) not in _NOT_PERSONAL:
                yield Hit(PHONE, match.start(), match.end())

    def _emails(self) -> Iterator[Hit]:
        for match in _EMAIL.finditer(self.text):
            parts = set(re.split(r"[._+-]", match.group("local").lower()))
            if not parts & _ROLE_MAILBOXES:
                yield Hit(EMAIL, match.start(), match.end())

    def _addresses(self) -> Iterator[Hit]:
        for match in _ADDRESS.finditer(self.text):
            last_word = match.group("name").split()[-1].lower()
            if last_word not in _NOT_STREET_NAMES:
                yield Hit(ADDRESS, match.start(), match.end())

    def _dobs(self) -> Iterator[Hit]:
        for start, end, day in self.dates:
            if day > self.today:
                continue
            label = self.label(start)
            if label is None and start in self._birth_columns:
                label = DOB if self._birth_columns[start] else OTHER_DATE
            age = self._reference_year(start) - day.year
            if label == DOB or label is None and (
                (age >= _MIN_AGE_NEAR_NAME and self._after_name(start))
                or (age >= _MIN_AGE_IN_TABLE and self.cued(DOB, start))
            ):
                yield Hit(DOB, start, end)

    def _vouched(self, kind: str, start: int) -> bool:
        """An unformatted value counts when labelled as ``kind``, or unlabelled under a ``kind`` header."""
        label = self.label(start)
        return label == kind or (label is None and self.cued(kind, start))

    def _cell(self, start: int) -> _Cell | None:
        index = bisect.bisect_right(self._cell_starts, start) - 1
        if index >= 0 and self.cells[index].start <= start < self.cells[index].end:
            return self.cells[index]
        return None

    def _reference_year(self, start: int) -> int:
        """The page's date: its latest date other than the one at ``start``, else today."""
        others = [year for year, where in self._latest if where != start]
        return others[0] if others else self.today.year

    def _after_name(self, start: int) -> bool:
        prefix = self.text[max(0, start - 60):start]
        match = _NAME_BEFORE.search(prefix[prefix.rfind("\n") + 1:])
        if not match:
            return False
        words = re.findall(r"[A-Za-z][A-Za-z'.-]*", match.group("name"))
        return not any(word.lower().rstrip(".") in _NOT_NAMES for word in words if len(word) > 2)


@dataclass(frozen=True)
class _Cell:
    start: int
    end: int
    column: str | None  # the label category of the column's header cell


_DELIMITERS = (re.compile(r"\t"), re.compile(r" *\| *"), re.compile(r" {2,}"))


def _table_cells(text: str) -> Iterator[_Cell]:
    """Cells of delimited tables (tab, pipe, or aligned columns) whose header line labels a column.

    Extraction strips the label off every value in a table; the header still says what each column holds.
    """
    lines, offset = [], 0
    for line in text.split("\n"):
        lines.append((offset, line))
        offset += len(line) + 1
    columns: list[str | None] = []
    delimiter = None
    for line_start, line in lines:
        if delimiter is not None:
            spans = _split(line, delimiter)
            if len(spans) == len(columns):
                for (start, end), column in zip(spans, columns, strict=True):
                    yield _Cell(line_start + start, line_start + end, column)
                continue
            delimiter = None
        for candidate in _DELIMITERS:
            spans = _split(line, candidate)
            if len(spans) < 3:
                continue
            header = [_header_category(line[start:end]) for start, end in spans]
            if any(header):
                columns, delimiter = header, candidate
            break


_DATE_HEADER = re.compile(
    r"\b(?:(?P<dob>D\.?O\.?B\b\.?|date\s+of\s+birth|birth\s*date)|(?P<other>date|dated|received|sent|filed))\b", re.I
)


def _dates_by_column(text: str, dates: list[tuple[int, int, date]]) -> dict[int, bool]:
    """Whether each date in a table row is a birth date, from the order of date columns in the header.

    PDF extraction often joins a table's cells with single spaces, so there are no columns to read; but a row
    still lists its dates in header order: under "Date Time Name DOB", the second date of a row is the DOB.
    """
    verdicts: dict[int, bool] = {}
    columns: list[bool] = []
    line_start, index = 0, 0
    for line in text.split("\n"):
        line_end = line_start + len(line)
        row = []
        while index < len(dates) and dates[index][0] < line_end:
            if dates[index][0] >= line_start:
                row.append(dates[index][0])
            index += 1
        headers = [m.lastgroup == "dob" for m in _DATE_HEADER.finditer(line)]
        if not row and any(headers):
            columns = headers
        elif columns and len(row) == len(columns):
            verdicts.update(zip(row, columns, strict=True))
        line_start = line_end + 1
    return verdicts


def _split(line: str, delimiter: re.Pattern[str]) -> list[tuple[int, int]]:
    spans, start = [], 0
    for separator in delimiter.finditer(line):
        spans.append((start, separator.start()))
        start = separator.end()
    spans.append((start, len(line)))
    return spans


def _header_category(cell: str) -> str | None:
    """What a column holds, from its header: a label opening it ("SSN", "DOB / Age") or closing it ("Caller
    phone", "Detainee A-Number": the last noun says what the column is)."""
    cell = cell.strip()
    match = _LABEL.match(cell) or _LABEL.search(cell)
    return match.lastgroup if match else None


def _dates(text: str, today: date) -> Iterator[tuple[int, int, date]]:
    """Every calendar date in the text as (start, end, date); US month-first order, day-first as fallback."""
    for match in _DATE_NUMERIC.finditer(text):
        first, _, second, year = match.groups()
        day = _date(_year(year, today), int(first), int(second)) or _date(_year(year, today), int(second), int(first))
        if day:
            yield match.start(), match.end(), day
    for match in _DATE_ISO.finditer(text):
        if day := _date(int(match.group(1)), int(match.group(2)), int(match.group(3))):
            yield match.start(), match.end(), day
    for match in _DATE_MONTH_FIRST.finditer(text):
        month, dd, year = match.groups()
        if day := _date(int(year), _MONTHS[month[:3].lower()], int(dd)):
            yield match.start(), match.end(), day
    for match in _DATE_DAY_FIRST.finditer(text):
        dd, month, year = match.groups()
        if day := _date(int(year), _MONTHS[month[:3].lower()], int(dd)):
            yield match.start(), match.end(), day


def _year(text: str, today: date) -> int:
    if len(text) == 4:
        return int(text)
    year = 2000 + int(text)
    return year if year <= today.year else year - 100


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day) if year >= 1880 else None
    except ValueError:
        return None
