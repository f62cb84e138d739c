"""A labelled, seeded set of synthetic agency documents for measuring the PII screen.

Each document is built from a template family: call logs, intake forms, tables, e-mail threads, letters,
procurement records. True values are labelled by construction; decoys (order, case, docket, invoice, contract
and FOIA request numbers, ISBNs, zip+4, dates that are not birth dates, office mailboxes) are not.

Template families are split: the screen is developed against ``dev`` and reported on ``heldout``, whose
families, phrasings and several value formats it never saw, so the figures are not tuned to the set. ``stress``
holds what labels cannot fix (OCR spacing, values in prose, unlabelled look-alikes): it shows the limits.
All values are fabricated; none is a real person's.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

SSN, A_NUMBER, DOB, PHONE, EMAIL, ADDRESS = "ssn", "a_number", "dob", "phone", "email", "address"

FIRST = ("John Maria James Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
         "Jose Carmen Luis Ana Carlos Rosa Juan Guadalupe Miguel Sofia Wei Mei Ahmed Fatima Olga Ivan").split()
FIRST_ACCENTED = "José María Martín Inés Ramón Sofía Jesús Raúl".split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
        "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
        "Ramirez Lewis Robinson Nguyen O'Brien Kowalski Chen").split()
STREETS = ("Oak Maple Pine Cedar Elm Washington Lake Hill Park Main Sunset Lincoln Jefferson Highland "
           "Riverside Church Valley Forest").split()
SUFFIXES = "Street St Avenue Ave Road Rd Boulevard Blvd Drive Dr Lane Ln Court Ct Place Way Terrace".split()
CITIES = ("Houston, TX 77002", "Phoenix, AZ 85003", "El Paso, TX 79901", "Miami, FL 33130",
          "Newark, NJ 07102", "Chicago, IL 60604", "San Diego, CA 92101")
MAIL_DOMAINS = "gmail.com yahoo.com hotmail.com outlook.com aol.com icloud.com".split()
ROLE_MAILBOXES = ("ice-foia@dhs.gov", "FOIA@uscis.dhs.gov", "foia@cbp.dhs.gov", "privacy@dhs.gov",
                  "noreply@ice.dhs.gov", "ICE-Media@ice.dhs.gov")


@dataclass
class Document:
    """Text under construction, with the span of every true value recorded as it is written."""

    parts: list[str] = field(default_factory=list)
    spans: list[tuple[str, int, int]] = field(default_factory=list)
    length: int = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def pii(self, kind: str, value: str) -> None:
        self.spans.append((kind, self.length, self.length + len(value)))
        self.add(value)

    def page_break(self) -> None:
        self.add("\f")

    @property
    def text(self) -> str:
        return "".join(self.parts)


@dataclass(frozen=True)
class Sample:
    family: str
    text: str
    spans: tuple[tuple[str, int, int], ...]


class Values:
    """Random true values and decoys, in the formats agencies actually write them."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def name(self, style: str = "first last") -> str:
        first = self.rng.choice(FIRST + FIRST_ACCENTED if self.rng.random() < 0.15 else FIRST)
        last = self.rng.choice(LAST)
        if style == "last, first":
            return f"{last.upper()}, {first}"
        return f"{first} {last}"

    def ssn_digits(self) -> tuple[str, str, str]:
        area = self.rng.choice([n for n in range(1, 900) if n != 666])
        return f"{area:03d}", f"{self.rng.randint(1, 99):02d}", f"{self.rng.randint(1, 9999):04d}"

    def ssn(self, fmt: str) -> str:
        area, group, serial = self.ssn_digits()
        return {"dashed": f"{area}-{group}-{serial}", "spaced": f"{area} {group} {serial}",
                "bare": f"{area}{group}{serial}"}[fmt]

    def invalid_ssn(self) -> str:
        area, group, serial = self.ssn_digits()
        broken = self.rng.choice(["000", "666", f"9{self.rng.randint(0, 99):02d}"])
        return self.rng.choice([f"{broken}-{group}-{serial}", f"{area}-00-{serial}", f"{area}-{group}-0000"])

    def a_digits(self) -> str:
        return f"{self.rng.randint(0, 99999999):08d}" if self.rng.random() < 0.2 else \
            f"0{self.rng.randint(10000000, 99999999)}"

    def a_number(self, fmt: str) -> str:
        d = self.a_digits()
        grouped = f"{d[:-6]}-{d[-6:-3]}-{d[-3:]}"
        return {"A": f"A{d}", "A-": f"A-{grouped}", "A#": f"A# {d}", "A#-": f"A#{grouped}",
                "A sp": f"A {grouped.replace('-', ' ')}", "bare": d}[fmt]

    def nanp(self) -> tuple[str, str, str]:
        def code() -> str:
            while True:
                value = f"{self.rng.randint(2, 9)}{self.rng.randint(0, 8)}{self.rng.randint(0, 9)}"
                if value[1:] != "11":
                    return value
        exchange = code() if self.rng.random() < 0.5 else "555"
        return code(), exchange, f"{self.rng.randint(0, 9999):04d}"

    def phone(self, fmt: str) -> str:
        a, e, n = self.nanp()
        return {"paren": f"({a}) {e}-{n}", "dash": f"{a}-{e}-{n}", "dot": f"{a}.{e}.{n}",
                "+1": f"+1 {a} {e} {n}", "+1-": f"+1-{a}-{e}-{n}", "1-": f"1-{a}-{e}-{n}",
                "1.": f"1.{a}.{e}.{n}", "spaced": f"{a} {e} {n}", "bare": f"{a}{e}{n}"}[fmt]

    def email(self, name: str) -> str:
        first, last = (part.lower().replace("'", "") for part in name.split()[:2])
        local = self.rng.choice([f"{first}.{last}", f"{first[0]}{last}{self.rng.randint(1, 99)}",
                                 f"{last}_{first}", f"{first}{self.rng.randint(1960, 2005)}"])
        ascii_local = local.encode("ascii", "ignore").decode()
        return f"{ascii_local}@{self.rng.choice(MAIL_DOMAINS)}"

    def birth(self) -> date:
        return date(1940, 1, 1) + timedelta(days=self.rng.randint(0, 365 * 62))

    def event(self, year: int = 2017) -> date:
        return date(year, 1, 1) + timedelta(days=self.rng.randint(0, 364))

    def date(self, day: date, fmt: str) -> str:
        return {"mdy": f"{day.month:02d}/{day.day:02d}/{day.year}", "m/d/yy": f"{day.month}/{day.day}/{day:%y}",
                "iso": day.isoformat(), "long": f"{day:%B} {day.day}, {day.year}",
                "short": f"{day:%b}. {day.day}, {day.year}", "dmy": f"{day.day} {day:%B} {day.year}",
                "m-d-y": f"{day.month:02d}-{day.day:02d}-{day.year}"}[fmt]

    def address(self, caps: bool = False) -> str:
        number = self.rng.randint(1, 99999)
        direction = self.rng.choice(["", "", "N ", "S ", "E ", "W "])
        street = self.rng.choice(STREETS + [f"{self.rng.randint(1, 99)}th"])
        if self.rng.random() < 0.25:
            street += " " + self.rng.choice(STREETS)
        text = f"{number} {direction}{street} {self.rng.choice(SUFFIXES)}"
        if self.rng.random() < 0.3:
            text += f", Apt {self.rng.randint(1, 40)}{self.rng.choice('ABCD')}"
        return text.upper() if caps else text

    def isbn(self) -> str:
        body = [self.rng.randint(0, 9) for _ in range(9)]
        if self.rng.random() < 0.5:
            check = (11 - sum((10 - i) * d for i, d in enumerate(body)) % 11) % 11
            digits = "".join(map(str, body)) + ("X" if check == 10 else str(check))
            return self.rng.choice([digits, f"{digits[0]}-{digits[1:4]}-{digits[4:9]}-{digits[9]}"])
        body = [9, 7, 8] + body
        check = (10 - sum(d * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
        digits = "".join(map(str, body)) + str(check)
        return self.rng.choice([digits, f"{digits[:3]}-{digits[3]}-{digits[4:7]}-{digits[7:12]}-{digits[12]}"])

    def decoy(self) -> str:
        """One identifier that looks like PII and is not, with its usual label."""
        a, e, n = self.nanp()
        r = self.rng
        return r.choice([
            f"Case No. {a}-{e}-{n}-{r.choice('ABC')}", f"Order #{a}-{r.randint(10, 99)}-{n}",
            f"Order No. {a}{e}{n}", f"Invoice {a}-{e}-{n}", f"INV-{a}{e}{n}", f"ISBN {self.isbn()}",
            f"Docket No. 1:{r.randint(10, 19)}-cv-{r.randint(1, 9999):05d}", f"Contract HSCEMD-{r.randint(10, 19)}-C-"
            f"{r.randint(1, 99999):05d}", f"FOIA request {r.randint(2010, 2019)}-ICFO-{r.randint(1, 99999):05d}",
            f"Washington, DC 20536-{r.randint(1000, 9999)}", f"Ref. {self.invalid_ssn().replace('-', '')}",
            f"PO {r.randint(4500000000, 4599999999)}", f"Tracking {r.randint(100000000, 999999999)}",
        ])


Family = Callable[[Values, Document], None]


# dev families --------------------------------------------------------------------------------------------


def call_log_line(v: Values, doc: Document) -> None:
    for _ in range(v.rng.randint(3, 8)):
        name = v.name()
        doc.add(f"Caller: {name}")
        fields = ["dob", "ssn", "phone", "a"]
        v.rng.shuffle(fields)
        for key in fields[: v.rng.randint(1, 4)]:
            if key == "dob":
                doc.add(", DOB ")
                doc.pii(DOB, v.date(v.birth(), v.rng.choice(["mdy", "m/d/yy", "long"])))
            elif key == "ssn":
                doc.add(", SSN ")
                doc.pii(SSN, v.ssn(v.rng.choice(["dashed", "dashed", "bare"])))
            elif key == "phone":
                doc.add(", phone ")
                doc.pii(PHONE, v.phone(v.rng.choice(["paren", "dash", "dot", "+1"])))
            else:
                doc.add(", A# ")
                doc.pii(A_NUMBER, v.a_number("bare"))
        doc.add(f". {v.decoy()}.\n" if v.rng.random() < 0.4 else ".\n")


def narrative(v: Values, doc: Document) -> None:
    doc.add(f"On {v.date(v.event(), 'long')} the caller, {v.name()}, asked about {v.decoy()}. ")
    doc.add("Call back at ")
    doc.pii(PHONE, v.phone(v.rng.choice(["dash", "paren"])))
    doc.add(f". Received {v.date(v.event(), 'mdy')}; see {v.decoy()} and {v.decoy()}.\n")
    if v.rng.random() < 0.5:
        doc.add("The subject, born ")
        doc.pii(DOB, v.date(v.birth(), "long"))
        doc.add(", lives at ")
        doc.pii(ADDRESS, v.address())
        doc.add(f", {v.rng.choice(CITIES)}.\n")


def table(v: Values, doc: Document) -> None:
    doc.add("Name | DOB | SSN | Phone\n")
    for _ in range(v.rng.randint(3, 10)):
        doc.add(f"{v.name()} | ")
        doc.pii(DOB, v.date(v.birth(), "mdy"))
        doc.add(" | ")
        doc.pii(SSN, v.ssn(v.rng.choice(["bare", "dashed"])))
        doc.add(" | ")
        doc.pii(PHONE, v.phone(v.rng.choice(["bare", "dash"])))
        doc.add("\n")


def letter(v: Values, doc: Document) -> None:
    doc.add(f"{v.date(v.event(), 'long')}\nRe: FOIA request {v.rng.randint(2015, 2019)}-ICFO-"
            f"{v.rng.randint(1, 99999):05d}\nDear {v.name()}:\nWe received your request on "
            f"{v.date(v.event(), 'mdy')}. Questions may be sent to {v.rng.choice(ROLE_MAILBOXES)} or to\n")
    doc.pii(ADDRESS, "500 12th Street SW")
    doc.add(f", Washington, DC 20536-{v.rng.randint(1000, 9999)}. Cited: {v.decoy()}.\n")
    if v.rng.random() < 0.5:
        name = v.name()
        doc.add(f"cc: {name} <")
        doc.pii(EMAIL, v.email(name))
        doc.add(">\n")


def invoice(v: Values, doc: Document) -> None:
    for _ in range(v.rng.randint(3, 7)):
        doc.add(f"{v.decoy()}  amount ${v.rng.randint(100, 99999)}.{v.rng.randint(0, 99):02d}  "
                f"due {v.date(v.event(2018), 'mdy')}\n")
    doc.add(f"Ref {v.invalid_ssn()}; heard by 3 Immigration Court judges.\n")


# held-out families ---------------------------------------------------------------------------------------


def intake_form(v: Values, doc: Document) -> None:
    doc.add(f"Subject Name: {v.name('last, first')}\nDate of Birth: ")
    doc.pii(DOB, v.date(v.birth(), v.rng.choice(["mdy", "iso", "short", "dmy", "m-d-y"])))
    doc.add("\nAlien Reg. No.: " if v.rng.random() < 0.5 else "\nA-Number: ")
    doc.pii(A_NUMBER, v.a_number(v.rng.choice(["bare", "A-"])))
    doc.add("\nSoc. Sec. No.: ")
    doc.pii(SSN, v.ssn(v.rng.choice(["dashed", "spaced", "bare"])))
    doc.add("\nHome Address: ")
    doc.pii(ADDRESS, v.address(caps=v.rng.random() < 0.5))
    doc.add(f", {v.rng.choice(CITIES)}\nTel.: ")
    doc.pii(PHONE, v.phone(v.rng.choice(["spaced", "bare", "1.", "+1-"])))
    doc.add(f"\nDate encountered: {v.date(v.event(), 'mdy')}\nFile: {v.decoy()}\n")


def detainee_log(v: Values, doc: Document) -> None:
    doc.add("Date\tTime\tName\tD.O.B.\tPhone\tA-Number\tNotes\n")
    for _ in range(v.rng.randint(3, 10)):
        doc.add(f"{v.date(v.event(), 'mdy')}\t{v.rng.randint(0, 23):02d}:{v.rng.randint(0, 59):02d}\t"
                f"{v.name('last, first')}\t")
        doc.pii(DOB, v.date(v.birth(), "m/d/yy"))
        doc.add("\t")
        doc.pii(PHONE, v.phone(v.rng.choice(["paren", "bare", "dash"])))
        doc.add("\t")
        doc.pii(A_NUMBER, v.a_number(v.rng.choice(["A", "A#-", "A sp"])))
        doc.add(f"\tcalled re: {v.decoy()}\n")


def email_thread(v: Values, doc: Document) -> None:
    sender = v.name()
    doc.add(f"From: {sender} <")
    doc.pii(EMAIL, v.email(sender))
    doc.add(f">\nSent: {v.date(v.event(), 'long')}\nTo: {v.rng.choice(ROLE_MAILBOXES)}\n"
            f"Subject: RE: {v.decoy()}\n\nPlease call me at ")
    doc.pii(PHONE, v.phone(v.rng.choice(["dot", "1-", "+1-"])))
    doc.add(f" about {v.decoy()}. The hearing is on {v.date(v.event(2018), 'short')}.\n")
    if v.rng.random() < 0.5:
        doc.add(f"Client {v.name()} (DOB: ")
        doc.pii(DOB, v.date(v.birth(), "m/d/yy"))
        doc.add("), SSN: ")
        doc.pii(SSN, v.ssn("spaced"))
        doc.add(".\n")
    if v.rng.random() < 0.3:
        doc.add(f"Memo from {v.name()}, {v.date(v.event(2016), 'long')}, attached.\n")


def incident_report(v: Values, doc: Document) -> None:
    doc.add(f"On {v.date(v.event(), 'dmy')}, officers encountered ")
    name = v.name("last, first")
    doc.add(f"{name} (")
    doc.pii(DOB, v.date(v.birth(), "mdy"))
    doc.add(") at ")
    doc.pii(ADDRESS, v.address())
    doc.add(". The subject stated he was born on ")
    doc.pii(DOB, v.date(v.birth(), "long"))
    doc.add(" and gave social security number ")
    doc.pii(SSN, v.ssn(v.rng.choice(["dashed", "bare"])))
    doc.add(f". Agents also seized {v.decoy()} and {v.decoy()}; ISBN {v.isbn()} was on the desk. "
            f"Report filed {v.date(v.event(), 'iso')}.\n")


def procurement(v: Values, doc: Document) -> None:
    officer = v.name()
    doc.add(f"Contract HSCEMD-{v.rng.randint(10, 19)}-C-{v.rng.randint(1, 99999):05d}, Mod "
            f"{v.rng.randint(1, 20):04d}, effective {v.date(v.event(2016), 'mdy')}.\n")
    for _ in range(v.rng.randint(2, 5)):
        doc.add(f"{v.decoy()}; {v.decoy()}; qty {v.rng.randint(1, 500)}; ISBN {v.isbn()}\n")
    doc.add(f"Contracting officer: {officer}, ")
    doc.pii(PHONE, v.phone(v.rng.choice(["dash", "paren"])))
    doc.add(", ")
    doc.pii(EMAIL, v.email(officer))
    doc.add(f"; inquiries to {v.rng.choice(ROLE_MAILBOXES)}; serial {v.rng.randint(100000000, 999999999)}; "
            f"bates ICE2017{v.rng.randint(0, 999999):06d}.\n")


# stress families: what extraction and people do to data; written after the screen, never tuned against -----


def ocr_noise(v: Values, doc: Document) -> None:
    """Spacing, case and punctuation the way OCR and hurried typists leave them."""
    for _ in range(v.rng.randint(3, 6)):
        a, g, s = v.ssn_digits()
        pa, pe, pn = v.nanp()
        doc.add(f"{v.name().upper()}  ")
        doc.add(v.rng.choice(["ssn ", "S S N: ", "SSN:", "Soc Sec # "]))
        doc.pii(SSN, v.rng.choice([f"{a} - {g} - {s}", f"{a}-{g}-{s}", f"{a}{g}{s}", f"{a}.{g}.{s}"]))
        doc.add(v.rng.choice(["  dob ", " D O B ", " DOB:", " Birth: "]))
        doc.pii(DOB, v.date(v.birth(), v.rng.choice(["m-d-y", "m/d/yy", "mdy"])))
        doc.add(v.rng.choice(["  ph ", " PHONE NO ", " tel:", "  #: "]))
        doc.pii(PHONE, v.rng.choice([f"( {pa} ) {pe}-{pn}", f"{pa} {pe} {pn}", f"{pa}/{pe}-{pn}", f"{pa}-{pe}{pn}"]))
        doc.add("\n")


def unlabelled_narrative(v: Values, doc: Document) -> None:
    """Values in running prose, with no label in front of them."""
    name = v.name()
    doc.add(f"{name} gave ")
    doc.pii(SSN, v.ssn("dashed"))
    doc.add(" as his number and asked us to use ")
    doc.pii(PHONE, v.phone(v.rng.choice(["bare", "dash"])))
    doc.add(f". {name.split()[0]} is {v.rng.randint(18, 70)} years old, DOB unknown; his mother, born in ")
    doc.add(f"{v.rng.randint(1940, 1970)}, lives on ")
    doc.pii(ADDRESS, v.address())
    doc.add(". His file ")
    doc.pii(A_NUMBER, v.a_number(v.rng.choice(["A", "A-"])))
    doc.add(" was reopened. Relatives abroad: ")
    r = v.rng
    doc.pii(PHONE, r.choice([f"+52 {r.randint(10, 99)} {r.randint(1000, 9999)} {r.randint(1000, 9999)}",
                             f"+502 {r.randint(2000, 7999)} {r.randint(1000, 9999)}",
                             f"011 52 {r.randint(100, 999)} {r.randint(100, 999)} {r.randint(1000, 9999)}"]))
    doc.add(".\n")


def unlabelled_decoys(v: Values, doc: Document) -> None:
    """Identifiers that look like personal data and carry no label saying otherwise."""
    a, e, n = v.nanp()
    area, group, serial = v.ssn_digits()
    r = v.rng
    doc.add(r.choice([
        f"See exhibit {area}-{group}-{serial}-B and attachment {a}-{e}-{n}-2.\n",
        f"NSN 5340-01-{r.randint(100, 999)}-{r.randint(1000, 9999)}; DUNS {r.randint(100000000, 999999999)}; "
        f"EIN {r.randint(10, 99)}-{r.randint(1000000, 9999999)}.\n",
        f"The report, released {v.date(v.event(), 'long')}, covers fiscal years {v.rng.randint(2005, 2015)} "
        f"to {v.rng.randint(2016, 2019)} and {v.rng.randint(100, 999)} cases.\n",
        f"Table 4: {r.randint(100, 999)} {r.randint(10, 99)} {r.randint(1000, 9999)} detentions by quarter.\n",
        f"Request {v.rng.randint(2015, 2019)}-ICFO-{v.rng.randint(10000, 99999)} was received "
        f"{v.date(v.event(), 'mdy')} and closed {v.date(v.event(2018), 'mdy')}.\n",
        f"Mr. {v.name().split()[1]} was appointed on {v.date(v.event(1998), 'long')} by {v.name()}, "
        f"{v.date(v.event(1998), 'mdy')}.\n",
    ]))


FAMILIES: dict[str, tuple[Family, ...]] = {
    "dev": (call_log_line, narrative, table, letter, invoice),
    "heldout": (intake_form, detainee_log, email_thread, incident_report, procurement),
    "stress": (ocr_noise, unlabelled_narrative, unlabelled_decoys),
}
SEEDS = {"dev": 1, "heldout": 2, "stress": 5}


def build(split: str, documents: int = 300, seed: int | None = None) -> list[Sample]:
    """``documents`` documents of 1-3 pages from the split's families, reproducible from the seed."""
    rng = random.Random(SEEDS[split] if seed is None else seed)
    values = Values(rng)
    samples = []
    for _ in range(documents):
        doc = Document()
        families = []
        for page in range(rng.randint(1, 3)):
            if page:
                doc.page_break()
            family = rng.choice(FAMILIES[split])
            families.append(family.__name__)
            family(values, doc)
        samples.append(Sample("+".join(families), doc.text, tuple(doc.spans)))
    return samples
