"""The PII screen: what it finds, what it must not find, what it shows, and what it withholds."""

from __future__ import annotations

import re
import sqlite3

import pytest

from foiawatch.archive import Archive
from foiawatch.archive.pii import (
    PRIVATE_TABLES,
    OcrPage,
    ScreenStats,
    is_withheld,
    release,
    screen_ocr_text,
    screen_pending,
    screen_text,
    withhold,
)
from foiawatch.archive.pii_patterns import find_pii, nanp_is_valid, ssn_is_valid


def found(text: str) -> list[tuple[str, str]]:
    return [(hit.kind, text[hit.start:hit.end]) for hit in find_pii(text)]


# detectors ------------------------------------------------------------------------------------------------

TRUE_POSITIVES = [
    ("SSN 123-45-6789", ("ssn", "123-45-6789")),
    ("social security number 234 56 7890", ("ssn", "234 56 7890")),
    ("SSN: 234 - 56 - 7890", ("ssn", "234 - 56 - 7890")),
    ("ssn 234.56.7890", ("ssn", "234.56.7890")),
    ("SSN: 345678901", ("ssn", "345678901")),
    ("SS# 456789012.", ("ssn", "456789012")),
    ("filed by a caller, 078-05-1121, yesterday", ("ssn", "078-05-1121")),
    ("A123456789", ("a_number", "A123456789")),
    ("A# 012 345 678", ("a_number", "A# 012 345 678")),
    ("A-012-345-678", ("a_number", "A-012-345-678")),
    ("detainee A12345678 moved", ("a_number", "A12345678")),
    ("A-Number: 012345678", ("a_number", "012345678")),
    ("his file A012345678 was reopened", ("a_number", "A012345678")),
    ("Alien Registration No. 98765432", ("a_number", "98765432")),
    ("call (202) 555-0142 today", ("phone", "(202) 555-0142")),
    ("202-555-0142", ("phone", "202-555-0142")),
    ("202.555.0142", ("phone", "202.555.0142")),
    ("+1 202 555 0142", ("phone", "+1 202 555 0142")),
    ("1-202-555-0142", ("phone", "1-202-555-0142")),
    ("Tel: 2025550142", ("phone", "2025550142")),
    ("cell phone 202 555 0142", ("phone", "202 555 0142")),
    ("tel: ( 202 ) 555-0142", ("phone", "( 202 ) 555-0142")),
    ("202/555-0142", ("phone", "202/555-0142")),
    ("phone 202-5550142", ("phone", "202-5550142")),
    ("his mother: +52 55 1234 5678", ("phone", "+52 55 1234 5678")),
    ("dial 011 502 2345 6789", ("phone", "011 502 2345 6789")),
    ("write to jane.doe@gmail.com", ("email", "jane.doe@gmail.com")),
    ("DOB 04/12/1978", ("dob", "04/12/1978")),
    ("D.O.B.: 4/12/78", ("dob", "4/12/78")),
    ("date of birth April 12, 1978", ("dob", "April 12, 1978")),
    ("born on 12 April 1978 in Juarez", ("dob", "12 April 1978")),
    ("Birth date: 1978-04-12", ("dob", "1978-04-12")),
    ("Birth: 04-12-1978", ("dob", "04-12-1978")),
    ("GARCIA, Maria (03/22/1985) called", ("dob", "03/22/1985")),
    ("lives at 1234 N Oak Street, Apt 5B", ("address", "1234 N Oak Street, Apt 5B")),
    ("7800 MARTIN LUTHER KING BLVD", ("address", "7800 MARTIN LUTHER KING BLVD")),
    ("500 12th St SW, Washington", ("address", "500 12th St SW")),
]


@pytest.mark.parametrize("text, expected", TRUE_POSITIVES, ids=[t for t, _ in TRUE_POSITIVES])
def test_finds_personal_data(text: str, expected: tuple[str, str]) -> None:
    assert found(text) == [expected]


DECOYS = [
    "Case No. 202-555-0142-A",
    "Case No. 202-555-0142",
    "refer to 202-555-0142-A and 123-45-6789/2",  # part of a longer identifier, whatever its label
    "build 202.555.0142.7",
    "Docket No. 1:17-cv-01234",
    "Docket No. 123-45-6789",
    "Order #123-45-6789",
    "Order Number 4829173650",
    "Invoice #: 202-555-0142",
    "INV-2025550142",
    "ISBN 0-306-40615-2",
    "ISBN 978-0-306-40615-7",
    "ISBN 8175257660",
    "9780306406157",
    "0-306-40615-2",
    "Washington, DC 20536-5009",
    "Contract HSCEMD-12-C-00001",
    "FOIA request 2017-ICFO-12345",
    "123456789",  # a valid SSN shape, but nothing says it is one
    "Tracking 234567890",
    "SSN 000-12-3456",
    "SSN 666-12-3456",
    "SSN 912-34-5678",
    "SSN 123-00-4567",
    "SSN 123-45-0000",
    "SSN: 987654321",
    "202 555 0142",  # three numbers in a row: no label, no phone column
    "Table 4: 123 45 6789 detentions by quarter",
    "202-5550142",
    "Order +52 55 1234 5678",
    "(123) 555-0142",
    "202-155-0142",
    "911-555-0142",
    "part A12345678",
    "INV-A12345678",
    "Received 04/12/2017",
    "Date: 04/12/1978",
    "Memo from John Smith, March 3, 2015, re: budget. Updated 2017-01-02",
    "write to ice-foia@dhs.gov or FOIA@uscis.dhs.gov",
    "heard by 3 Immigration Court judges",
    "see the 9th Circuit Court",
]


@pytest.mark.parametrize("text", DECOYS)
def test_ignores_identifiers_that_look_like_personal_data(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize("area, group, serial, valid", [
    ("123", "45", "6789", True), ("000", "45", "6789", False), ("666", "45", "6789", False),
    ("900", "45", "6789", False), ("999", "45", "6789", False), ("899", "45", "6789", True),
    ("123", "00", "6789", False), ("123", "45", "0000", False), ("001", "01", "0001", True),
])
def test_ssn_validation(area: str, group: str, serial: str, valid: bool) -> None:
    assert ssn_is_valid(area, group, serial) is valid
    assert bool(found(f"SSN {area}-{group}-{serial}")) is valid


def test_nanp_validation() -> None:
    assert nanp_is_valid("202", "555")
    assert not nanp_is_valid("102", "555")
    assert not nanp_is_valid("202", "055")
    assert not nanp_is_valid("411", "555")
    assert not nanp_is_valid("202", "911")
    assert not nanp_is_valid("292", "555")  # X9X area codes are reserved


def test_undashed_ssn_needs_a_label_or_a_column() -> None:
    assert found("Reference 345678901") == []
    assert found("SSN 345678901") == [("ssn", "345678901")]
    table = "Name | SSN | Notes\nJohn Smith | 345678901 | none\n"
    assert found(table) == [("ssn", "345678901")]


def test_call_log_line() -> None:
    text = "Caller: John Smith, DOB 04/12/1978, SSN 123-45-6789, phone (202) 555-0142"
    assert found(text) == [("dob", "04/12/1978"), ("ssn", "123-45-6789"), ("phone", "(202) 555-0142")]


def test_table_columns_tell_birth_dates_from_call_dates() -> None:
    text = (
        "Date\tName\tDOB\tPhone\tA-Number\n"
        "03/02/2017\tGARCIA, Maria\t03/22/2015\t2025550142\t012345678\n"
        "03/04/2017\tLEE, Wei\t11/30/1961\t3125550199\t098765432\n"
    )
    assert found(text) == [
        ("dob", "03/22/2015"), ("phone", "2025550142"), ("a_number", "012345678"),
        ("dob", "11/30/1961"), ("phone", "3125550199"), ("a_number", "098765432"),
    ]


def test_tables_without_delimiters_keep_their_date_order() -> None:
    # pypdf joins a table's cells with single spaces: the header's order of date columns still holds.
    text = (
        "Date Time Name DOB Phone\n"
        "03/02/2017 09:14 GARCIA, Maria 03/22/2015 2025550142\n"
        "03/04/2017 10:00 LEE, Wei 11/30/1961 3125550199\n"
    )
    assert found(text) == [
        ("dob", "03/22/2015"), ("phone", "2025550142"), ("dob", "11/30/1961"), ("phone", "3125550199"),
    ]


def test_unlabelled_dates_are_not_birth_dates() -> None:
    assert found("The hearing on March 3, 2017 was moved to 04/12/2017.") == []
    # One labelled DOB is not a DOB column: the memo's date stays a date.
    assert found("DOB: 04/12/1978\nMemo from Richard Davis, April 20, 2016. Sent March 3, 2017") == [
        ("dob", "04/12/1978"),
    ]


def test_names_with_accents_mark_a_birth_date() -> None:
    assert found("officers encountered THOMPSON, Raúl (12/04/1988) at the port") == [("dob", "12/04/1988")]


# findings and excerpts ------------------------------------------------------------------------------------

CALL_LOG = (
    "Call log, page one\n"
    "Caller: John Smith, DOB 04/12/1978, SSN 123-45-6789, phone (202) 555-0142, ref 98765432109\n"
    "\f"
    "page two: nothing to see\n"
    "\f"
    "Caller: Ana Lopez, SSN 234-56-7890, e-mail ana.lopez@gmail.com; SSN 345-67-8901\n"
)
RAW_VALUES = ["04/12/1978", "123-45-6789", "(202) 555-0142", "234-56-7890", "ana.lopez@gmail.com", "345-67-8901",
              "98765432109"]


def test_findings_per_kind_and_page() -> None:
    findings = {(f.kind, f.page): f for f in screen_text(CALL_LOG)}
    assert sorted((kind, page, f.count, f.risk) for (kind, page), f in findings.items()) == [
        ("dob", 1, 1, "high"), ("email", 3, 1, "low"), ("phone", 1, 1, "low"), ("ssn", 1, 1, "high"),
        ("ssn", 3, 2, "high"),
    ]


def test_no_page_numbers_without_page_breaks() -> None:
    assert [f.page for f in screen_text("SSN 123-45-6789")] == [None]


def test_excerpts_mask_every_value_in_the_window() -> None:
    findings = screen_text(CALL_LOG)
    assert findings
    for finding in findings:
        for value in RAW_VALUES:
            digits = re.sub(r"\D", "", value)
            assert value not in finding.excerpt
            assert not digits or digits not in re.sub(r"\D", "", finding.excerpt)
    ssn_page_1 = next(f for f in findings if f.kind == "ssn" and f.page == 1)
    assert "SSN ***-**-6789" in ssn_page_1.excerpt
    assert "(***) ***-0142" in ssn_page_1.excerpt
    assert "DOB **/**/****" in ssn_page_1.excerpt
    email = next(f for f in findings if f.kind == "email")
    assert "a***@gmail.com" in email.excerpt


def test_excerpt_stays_on_its_page() -> None:
    findings = screen_text("SSN 123-45-6789\fjane.doe@gmail.com")
    assert [f.excerpt for f in findings] == ["SSN ***-**-6789", "j***@gmail.com"]


# screening the archive ------------------------------------------------------------------------------------


@pytest.fixture
def archive(tmp_path):
    with Archive(tmp_path / "data") as archive:
        yield archive


def add_text(archive: Archive, sha256: str, text: str, status: str = "ok") -> None:
    archive.db["blobs"].insert({"sha256": sha256, "size": len(text), "mimetype": "application/pdf",
                                "path": f"blobs/{sha256}", "source": "test", "stored_at": "2024-01-01"})
    archive.db["texts"].insert({"sha256": sha256, "status": status, "text": text if status == "ok" else None})


def test_screen_withholds_high_risk_and_not_contact_details(archive: Archive) -> None:
    add_text(archive, "a" * 64, CALL_LOG)
    add_text(archive, "b" * 64, "Questions: Jane Doe, (202) 555-0142, jane.doe@gmail.com")
    add_text(archive, "c" * 64, "Nothing personal here. Case No. 202-555-0142-A.")
    stats = screen_pending(archive)
    assert stats == ScreenStats(screened=3, with_findings=2, withheld=1, hits=8, partial=0, unscreenable=0)
    assert is_withheld(archive, "a" * 64)
    assert not is_withheld(archive, "b" * 64)
    assert not is_withheld(archive, "c" * 64)
    row = archive.db.execute("select reason, decided_by from withholdings where sha256 = ?", ["a" * 64]).fetchone()
    assert row == ("high-risk PII: dob, ssn", "screen")


def test_partly_extracted_text_is_withheld(archive: Archive) -> None:
    # What the extractor could not read was never screened.
    add_text(archive, "b" * 64, "Nothing personal on the pages we could read.")
    archive.db["texts"].update("b" * 64, {"error": "text truncated at 5,000,000 characters"})
    stats = screen_pending(archive)
    assert (stats.withheld, stats.partial) == (1, 1)
    assert is_withheld(archive, "b" * 64)
    row = archive.db.execute("select reason from withholdings where sha256 = ?", ["b" * 64]).fetchone()
    assert row == ("text partly extracted: text truncated at 5,000,000 characters",)


def test_screening_is_idempotent(archive: Archive) -> None:
    add_text(archive, "a" * 64, CALL_LOG)
    first = screen_pending(archive)
    findings = archive.db.execute("select * from pii_findings order by id").fetchall()
    second = screen_pending(archive)
    assert first.screened == 1 and second.screened == 0
    assert archive.db.execute("select * from pii_findings order by id").fetchall() == findings
    add_text(archive, "d" * 64, "SSN 123-45-6789")
    assert screen_pending(archive).screened == 1
    assert archive.db["pii_screens"].count == 2


def test_unscreenable_texts_stay_withheld(archive: Archive) -> None:
    add_text(archive, "e" * 64, "", status="failed")
    stats = screen_pending(archive)
    assert (stats.screened, stats.unscreenable) == (0, 1)
    assert is_withheld(archive, "e" * 64)
    assert is_withheld(archive, "f" * 64)  # never seen at all


def test_release_and_withhold_are_recorded(archive: Archive) -> None:
    add_text(archive, "a" * 64, CALL_LOG)
    add_text(archive, "b" * 64, "phone (202) 555-0142")
    screen_pending(archive)
    release(archive, "a" * 64, "reviewer-1", "test data in a published training manual")
    withhold(archive, "b" * 64, "reviewer-2", "a private cell phone")
    assert not is_withheld(archive, "a" * 64)
    assert is_withheld(archive, "b" * 64)
    rows = archive.db.execute(
        "select sha256, action, reviewer, reason, decided_at, was_withheld from review_decisions order by id"
    ).fetchall()
    assert [row[:4] + row[5:] for row in rows] == [
        ("a" * 64, "release", "reviewer-1", "test data in a published training manual", 1),
        ("b" * 64, "withhold", "reviewer-2", "a private cell phone", 0),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", row[4]) for row in rows)
    assert archive.db.execute("select decided_by from withholdings where sha256 = ?", ["a" * 64]).fetchone() == (
        "review",
    )


def test_a_review_before_screening_is_not_overruled(archive: Archive) -> None:
    add_text(archive, "e" * 64, "", status="failed")
    release(archive, "e" * 64, "reviewer-1", "scanned public notice, checked by eye")
    archive.db["texts"].update("e" * 64, {"status": "ok", "text": "SSN 123-45-6789"})
    assert screen_pending(archive).screened == 1
    assert not is_withheld(archive, "e" * 64)


def test_review_needs_a_reviewer_a_reason_and_a_blob(archive: Archive) -> None:
    add_text(archive, "a" * 64, CALL_LOG)
    with pytest.raises(ValueError):
        release(archive, "a" * 64, "", "why not")
    with pytest.raises(ValueError):
        release(archive, "a" * 64, "reviewer-1", "  ")
    with pytest.raises(KeyError):
        withhold(archive, "0" * 64, "reviewer-1", "typo")
    assert archive.db["review_decisions"].count == 0


def test_private_tables_exist(archive: Archive) -> None:
    screen_pending(archive)
    for table in PRIVATE_TABLES:
        assert table in archive.db.table_names()
    with pytest.raises(sqlite3.IntegrityError):
        archive.db["pii_screens"].insert({"sha256": "9" * 64, "screened_at": "now"})


# OCR text -------------------------------------------------------------------------------------------------

FORM = "APPLICATION\nName: Maria Garcia\nSocial Security Number: 4B2-l8-78OO\nDate of Birth: ____"


def test_ocr_slips_are_read_back_as_digits_on_ocr_pages_only() -> None:
    findings, unsure = screen_ocr_text(FORM + "\f" + FORM, {1: OcrPage(93.0, ())}, 70)
    assert [(f.kind, f.page, f.excerpt) for f in findings] == [
        # page 2 is a text layer: taken as written
        ("ssn", 1, "Maria Garcia Social Security Number: ***-**-7800 Date of Birth: ____")]
    assert unsure is None  # the empty birth-date box reads as a rule, not as an unreadable value


def test_ocr_unsure_of_a_page_or_of_a_fields_value_holds_the_text() -> None:
    page = "Name: Maria Garcia\nA-Number: #~k@ 9\nRemarks: none"
    start = page.index("#~k@")
    assert screen_ocr_text(page, {1: OcrPage(52.5, ())}, 70)[1] == (
        "OCR unsure of page 1 (mean confidence 52.5, under 70): personal data could hide in what it misread")
    assert screen_ocr_text(page, {1: OcrPage(88.0, ((start, start + 4, 12.0),))}, 70)[1] == (
        "OCR could not read the value of a field for an A-number on page 1 (confidence 12): held for review")
    assert screen_ocr_text(page, {1: OcrPage(88.0, ((start, start + 4, 75.0),))}, 70)[1] is None  # sure enough
    remarks = page.index("none")  # an unsure word under no high-risk label holds nothing
    assert screen_ocr_text(page, {1: OcrPage(88.0, ((remarks, remarks + 4, 10.0),))}, 70)[1] is None


def test_a_column_header_ending_in_its_kind_labels_the_column() -> None:
    table = "Date\tCaller name\tCaller phone\tDetainee A-Number\n03/02/2017\tLEE, Wei\t3125550199\t098765432\n"
    assert found(table) == [("phone", "3125550199"), ("a_number", "098765432")]
