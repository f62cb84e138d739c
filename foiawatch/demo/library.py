"""The demo FOIA library's content and the states it can be switched between.

Everything here is pure: a `DemoLibrary` (what exists) seen through a `LibraryState` (what the agency has done to
it) gives a `LibraryView` (what is listed and what is served). The HTTP site only renders views, so every takedown
scenario can be reasoned about, and tested, without a socket.

The bundled library is modelled on the 2017 ICE FOIA library, whose three Secure Communities sections disappeared
after a "temporarily unavailable while it undergoes review" outage. Its documents are synthetic.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from posixpath import splitext

from .pdf import make_pdf, make_xlsx, make_zip

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}
LAYOUTS = ("list", "table", "collection")  # h2 + ul on the root; Drupal 7 grouped table on the root; USWDS pages
LINK_STYLES = ("root", "absolute", "relative", "redirect")
FAULTS = frozenset({"timeout", "reset", "truncate", "html", "redirect_loop", "soft404", "oversize", "500", "410"})
DOCUMENT_ROOT = "/doclib/foia"
DEMO_NOTICE = "Demonstration record served by the foiawatch demo site; it is not an official government document."


@dataclass(frozen=True)
class Document:
    id: int  # stable node id, used by /doclib/redirect/<id>
    section: str  # slug of the section that lists it
    title: str
    filename: str  # case matters: servers on Linux treat Report.pdf and report.pdf as different files
    date: str  # ISO date shown in listings and used as Last-Modified
    summary: str  # one line shown on collection pages; independent of the text so edits leave listings alone
    text: str  # paragraphs separated by blank lines; for XLSX, tab-separated rows
    link_style: str = "root"  # how listing pages link it, one of LINK_STYLES
    padding: int = 0  # extra bytes in its PDF (benchmarks: real releases weigh hundreds of KB)

    @property
    def kind(self) -> str:
        return splitext(self.filename)[1][1:].lower()

    @property
    def path(self) -> str:
        return f"{DOCUMENT_ROOT}/{self.section}/{self.filename}"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    layout: str  # one of LAYOUTS
    description: str
    documents: tuple[Document, ...]


@dataclass(frozen=True)
class Paragraph:
    """An explanatory paragraph at the top of the library page; the id lets a state delete it."""

    id: str
    text: str


@dataclass(frozen=True)
class LibraryState:
    """What the agency has done to the library. Paths are original document paths (`Document.path`).

    Build states with the helper methods, which return new states, or start from `preset(name)`.
    """

    removed_documents: frozenset[str] = frozenset()  # not listed, 404
    removed_sections: frozenset[str] = frozenset()  # heading and all its documents gone, documents 404
    edited_documents: Mapping[str, str] = field(default_factory=dict)  # path -> new text: same URL, new bytes
    moved_documents: Mapping[str, str] = field(default_factory=dict)  # old path -> new path; old path 404
    unlisted_documents: frozenset[str] = frozenset()  # no longer linked, still served 200
    deleted_paragraphs: frozenset[str] = frozenset()  # Paragraph ids
    outage: bool = False  # every page answers a 200 "temporarily unavailable" notice
    blocked: bool = False  # every page answers a CDN bot challenge
    blocked_status: int = 403
    failing_pages: frozenset[str] = frozenset()  # listing pages ("/foia/library/collection?page=1") answering 500
    document_faults: Mapping[str, str] = field(default_factory=dict)  # served path -> one of FAULTS
    fault_delay: float = 1.0  # seconds a "timeout" document waits before answering
    oversize_bytes: int = 8 * 1024 * 1024  # body size of an "oversize" document

    def __post_init__(self) -> None:
        unknown = sorted(set(self.document_faults.values()) - FAULTS)
        if unknown:
            raise ValueError(f"unknown document fault {unknown[0]!r}; known: {', '.join(sorted(FAULTS))}")

    def remove(self, *paths: str) -> LibraryState:
        return replace(self, removed_documents=self.removed_documents | set(paths))

    def remove_sections(self, *slugs: str) -> LibraryState:
        return replace(self, removed_sections=self.removed_sections | set(slugs))

    def edit(self, path: str, text: str) -> LibraryState:
        return replace(self, edited_documents={**self.edited_documents, path: text})

    def move(self, old_path: str, new_path: str) -> LibraryState:
        return replace(self, moved_documents={**self.moved_documents, old_path: new_path})

    def unlist(self, *paths: str) -> LibraryState:
        return replace(self, unlisted_documents=self.unlisted_documents | set(paths))

    def delete_paragraphs(self, *ids: str) -> LibraryState:
        return replace(self, deleted_paragraphs=self.deleted_paragraphs | set(ids))

    def fail_pages(self, *pages: str) -> LibraryState:
        return replace(self, failing_pages=self.failing_pages | set(pages))

    def fault(self, path: str, kind: str) -> LibraryState:
        return replace(self, document_faults={**self.document_faults, path: kind})


SECURE_COMMUNITIES_SECTIONS = ("secure-communities", "secure-communities-statistics", "secure-communities-moa")
SECURE_COMMUNITIES_PARAGRAPH = "secure-communities"
PRESETS: dict[str, LibraryState] = {
    "v1": LibraryState(),
    "outage": LibraryState(outage=True),
    "v2_takedown": LibraryState(
        removed_sections=frozenset(SECURE_COMMUNITIES_SECTIONS),
        deleted_paragraphs=frozenset({SECURE_COMMUNITIES_PARAGRAPH}),
    ),
    "blocked": LibraryState(blocked=True),
}


def preset(name: str) -> LibraryState:
    """A named state of the bundled ICE-style library: v1 (baseline), outage, v2_takedown, blocked."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None


@dataclass(frozen=True)
class ServedDocument:
    """A document as the site serves it under some state: where, with which text, and whether it is linked."""

    document: Document
    path: str
    text: str
    listed: bool


@dataclass(frozen=True)
class SectionView:
    section: Section
    documents: tuple[ServedDocument, ...]  # the listed ones, in listing order


@dataclass(frozen=True)
class LibraryView:
    """What a crawler can see: visible paragraphs and sections, and every file answering 200."""

    paragraphs: tuple[Paragraph, ...]
    sections: tuple[SectionView, ...]
    files: Mapping[str, ServedDocument]  # served path -> document
    by_id: Mapping[int, ServedDocument]
    page_size: int

    def listed_paths(self) -> set[str]:
        return {d.path for s in self.sections for d in s.documents}

    def collection_page(self, page: int) -> tuple[list[tuple[Section, ServedDocument]], bool]:
        """The items of one 0-based collection page, and whether a next page exists."""
        items = [(s.section, d) for s in self.sections if s.section.layout == "collection" for d in s.documents]
        start = page * self.page_size
        return items[start:start + self.page_size], start + self.page_size < len(items)


@dataclass(frozen=True)
class DemoLibrary:
    name: str
    paragraphs: tuple[Paragraph, ...]
    sections: tuple[Section, ...]
    page_size: int = 10  # items per collection page

    def documents(self) -> Iterator[Document]:
        for section in self.sections:
            yield from section.documents

    def section(self, slug: str) -> Section:
        for section in self.sections:
            if section.slug == slug:
                return section
        raise KeyError(slug)

    def view(self, state: LibraryState) -> LibraryView:
        """Apply a state; raises ValueError if it names a document, section or paragraph that does not exist."""
        _check_state(self, state)
        sections, files = [], {}
        for section in self.sections:
            if section.slug in state.removed_sections:
                continue
            listed = []
            for document in section.documents:
                if document.path in state.removed_documents:
                    continue
                served = ServedDocument(
                    document=document,
                    path=state.moved_documents.get(document.path, document.path),
                    text=state.edited_documents.get(document.path, document.text),
                    listed=document.path not in state.unlisted_documents,
                )
                files[served.path] = served
                if served.listed:
                    listed.append(served)
            sections.append(SectionView(section, tuple(listed)))
        paragraphs = tuple(p for p in self.paragraphs if p.id not in state.deleted_paragraphs)
        by_id = {served.document.id: served for served in files.values()}
        return LibraryView(paragraphs, tuple(sections), files, by_id, self.page_size)

    @classmethod
    def ice_2017(cls) -> DemoLibrary:
        """The bundled library: eight sections, 54 documents, modelled on the 2017 ICE FOIA library."""
        return _ice_2017()

    @classmethod
    def synthetic(cls, n_documents: int, n_sections: int = 50, page_size: int = 50,
                  padding: int = 0) -> DemoLibrary:
        """A large library for benchmarks: every layout, mostly paginated collection sections; ``padding`` bytes
        are added to each PDF."""
        return _synthetic(n_documents, n_sections, page_size, padding)


def _check_state(library: DemoLibrary, state: LibraryState) -> None:
    paths = {d.path for d in library.documents()}
    slugs = {s.slug for s in library.sections}
    named = [
        *state.removed_documents, *state.edited_documents, *state.moved_documents, *state.unlisted_documents,
    ]
    for path in named:
        if path not in paths:
            raise ValueError(f"state names {path!r}, which is not a document of the library")
    for slug in state.removed_sections:
        if slug not in slugs:
            raise ValueError(f"state removes section {slug!r}, which the library does not have")
    for paragraph in state.deleted_paragraphs:
        if paragraph not in {p.id for p in library.paragraphs}:
            raise ValueError(f"state deletes paragraph {paragraph!r}, which the library does not have")
    for old, new in state.moved_documents.items():
        if new in paths and new != old:
            raise ValueError(f"state moves {old!r} onto {new!r}, the path of another document")
        if not new.startswith("/"):
            raise ValueError(f"state moves {old!r} to {new!r}, which is not an absolute path")


@functools.lru_cache(maxsize=32768)
def document_bytes(document: Document, text: str) -> bytes:
    """The file served for a document with the given text (cached: the benchmark serves thousands)."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    if document.kind == "xlsx":
        return make_xlsx([line.split("\t") for line in text.splitlines() if line])
    pdf = make_pdf(document.title, [*paragraphs, DEMO_NOTICE], padding=document.padding)
    if document.kind == "zip":
        readme = f"{document.title}\n\n{text}\n\n{DEMO_NOTICE}\n".encode()
        return make_zip({"README.txt": readme, f"{splitext(document.filename)[0]}.pdf": pdf})
    return pdf


# --- the bundled library -------------------------------------------------------------------------------------------

_PARAGRAPHS = (
    Paragraph(
        "about",
        "The ICE FOIA Library contains records that U.S. Immigration and Customs Enforcement has released under the "
        "Freedom of Information Act, including frequently requested records and records the agency discloses "
        "proactively.",
    ),
    Paragraph(
        SECURE_COMMUNITIES_PARAGRAPH,
        "Secure Communities uses an existing information-sharing partnership between ICE and the FBI: fingerprints "
        "that state and local police submit at booking are checked against immigration records. The records below "
        "include the program's operating procedures, its statistics and the memorandums of agreement signed with "
        "state identification bureaus.",
    ),
    Paragraph(
        "requests",
        "If you cannot find the record you are looking for, you may submit a FOIA request to the ICE FOIA Office. "
        "Records released three or more times are posted here as frequently requested records.",
    ),
)

# (slug, title, layout, description, closing sentence of every document, documents)
# documents: (filename, title, date, summary, text or "" to build it from the summary)
_SECTIONS: tuple[tuple[str, str, str, str, str, tuple[tuple[str, str, str, str, str], ...]], ...] = (
    (
        "secure-communities", "Secure Communities", "list",
        "Policies, procedures and public materials of the Secure Communities program.",
        "Questions about Secure Communities may be directed to the program office in Washington, D.C.",
        (
            ("Secure_Communities_SOP.pdf", "Secure Communities Standard Operating Procedures", "2009-05-22",
             "How interoperability responses are received, prioritized and acted on by field offices.", ""),
            ("SC_Fact_Sheet.pdf", "Secure Communities fact sheet", "2011-08-04",
             "A two-page overview of how biometric information sharing works at booking.", ""),
            ("SC_Brochure_Law_Enforcement.pdf", "Secure Communities brochure for law enforcement partners",
             "2010-03-15", "What local sheriffs and police departments can expect once a county is activated.", ""),
            ("SC_Complaint_Protocol.pdf", "Secure Communities complaint protocol", "2011-06-17",
             "How allegations of racial profiling or other civil rights violations are received and reviewed.", ""),
            ("SC_Frequently_Asked_Questions.pdf", "Secure Communities frequently asked questions", "2011-05-02",
             "Answers on participation, activation schedules and the handling of fingerprint matches.", ""),
            ("SC_Priorities_Memo_2011.PDF", "Memorandum on Secure Communities enforcement priorities",
             "2011-06-17", "Guidance to field office directors on applying the agency's enforcement priorities.",
             ""),
        ),
    ),
    (
        "secure-communities-statistics", "Secure Communities statistics", "table",
        "Monthly and annual statistics on interoperability matches, detainers and removals.",
        "Figures are preliminary and may change as records are updated.",
        (
            ("SC_Nationwide_Interoperability_Stats_FY2011.pdf", "Nationwide interoperability statistics, FY2011",
             "2011-11-01", "Submissions, matches and removals by state for fiscal year 2011.", ""),
            ("SC_Activated_Jurisdictions.xlsx", "Activated jurisdictions", "2012-01-10",
             "Every county activated for interoperability, with its activation date.",
             "State\tCounty\tActivation date\nArizona\tMaricopa\t2009-09-15\nCalifornia\tLos Angeles\t2009-08-27\n"
             "Florida\tMiami-Dade\t2009-02-24\nTexas\tHarris\t2008-10-27\nIllinois\tCook\t2011-01-18"),
            ("SC_Monthly_Statistics_FY2012.pdf", "Monthly statistics, FY2012", "2012-10-31",
             "Month-by-month counts of matches, detainers issued and removals for fiscal year 2012.", ""),
            ("SC_IDENT_IAFIS_Matches_FY2013.xlsx", "IDENT/IAFIS matches by criminal level, FY2013", "2013-11-05",
             "Matches broken down by level of criminal conviction.",
             "Criminal level\tMatches\tRemovals\nLevel 1\t41250\t26877\nLevel 2\t22019\t11300\n"
             "Level 3\t39722\t15987\nNon-criminal\t67402\t12005"),
            ("SC_Statistics_Archive_FY2009-FY2014.zip", "Statistics archive, FY2009 to FY2014", "2014-12-19",
             "All monthly statistics reports from the start of the program to fiscal year 2014.", ""),
            ("SC_Removals_By_Criminal_Level_FY2014.pdf", "Removals by criminal level, FY2014", "2014-11-20",
             "Removals following an interoperability match, by level of criminal conviction.", ""),
        ),
    ),
    (
        "secure-communities-moa", "Secure Communities: memorandums of agreement", "list",
        "Memorandums of agreement between ICE and state identification bureaus.",
        "The agreement may be modified or terminated by either party with thirty days' written notice.",
        tuple(
            (f"MOA_{code}.pdf", f"Memorandum of agreement with {bureau}", date,
             f"Agreement for the sharing of fingerprint submissions between ICE and {bureau}.", "")
            for code, bureau, date in (
                ("Arizona_DPS", "the Arizona Department of Public Safety", "2009-04-03"),
                ("California_DOJ", "the California Department of Justice", "2009-04-10"),
                ("Florida_FDLE", "the Florida Department of Law Enforcement", "2008-12-03"),
                ("Illinois_State_Police", "the Illinois State Police", "2010-02-05"),
                ("Massachusetts_CHSB", "the Massachusetts Criminal History Systems Board", "2010-04-07"),
                ("NewYork_DCJS", "the New York Division of Criminal Justice Services", "2010-05-10"),
                ("Texas_DPS", "the Texas Department of Public Safety", "2008-08-13"),
                ("Washington_WSP", "the Washington State Patrol", "2010-11-15"),
            )
        ),
    ),
    (
        "detention-management", "Detention management", "list",
        "Detention standards, inspection results and facility information.",
        "Detention standards apply to all facilities that house ICE detainees for more than seventy-two hours.",
        (
            ("2011_PBNDS.pdf", "Performance-Based National Detention Standards 2011", "2012-02-27",
             "The standards governing conditions of confinement in ICE detention facilities.", ""),
            ("Detainee_Handbook_National.pdf", "National detainee handbook", "2016-01-04",
             "What detainees are told about their rights, daily life and grievance procedures.", ""),
            ("Segregation_Directive_11065.1.pdf", "Review of the use of segregation for ICE detainees",
             "2013-09-04", "Directive 11065.1 on the review of segregation placements.", ""),
            ("ERO_Inspection_Summary_FY2016.pdf", "Detention facility inspection summary, FY2016", "2016-11-30",
             "Deficiencies found in annual inspections, by facility.", ""),
            ("Detention_Facility_List_FY2017.xlsx", "Detention facilities in use, FY2017", "2017-01-09",
             "Facilities used for ICE detention, with type and average daily population.",
             "Facility\tState\tType\tAverage daily population\nAdelanto ICE Processing Center\tCalifornia\t"
             "CDF\t1621\nStewart Detention Center\tGeorgia\tIGSA\t1759\nOtero County Processing Center\t"
             "New Mexico\tIGSA\t653"),
            ("Medical_Care_Standards_Summary.pdf", "Summary of medical care standards", "2015-07-20",
             "Health care that every facility must provide, from intake screening to emergency care.", ""),
            ("Detention_Statistics_Archive_FY2016.zip", "Detention statistics archive, FY2016", "2016-12-15",
             "Average daily population and length of stay reports for fiscal year 2016.", ""),
        ),
    ),
    (
        "removal-statistics", "Removal statistics", "table",
        "Annual and country-level removal statistics from Enforcement and Removal Operations.",
        "Removal counts reflect the fiscal year in which the removal took place.",
        (
            ("ERO_Annual_Report_FY2016.pdf", "Enforcement and Removal Operations annual report, FY2016",
             "2016-12-30", "Arrests, detention and removals in fiscal year 2016.", ""),
            ("ERO_Removals_FY2015.pdf", "Removals, FY2015", "2015-12-22",
             "Removals in fiscal year 2015, by priority category.", ""),
            ("Removals_by_Country_FY2016.xlsx", "Removals by country of citizenship, FY2016", "2016-12-30",
             "The number of people removed to each country.",
             "Country\tRemovals\nMexico\t149821\nGuatemala\t33940\nHonduras\t21994\nEl Salvador\t20538"),
            ("Removal_Statistics_FY2013-FY2016.zip", "Removal statistics, FY2013 to FY2016", "2017-01-05",
             "Four years of removal statistics in one archive.", ""),
            ("Criminal_Alien_Removals_FY2014.pdf", "Removals of convicted criminals, FY2014", "2014-12-19",
             "Removals of people with criminal convictions, by most serious conviction.", ""),
            ("ICE_ERO_Report_FY2017_Q1.pdf", "Enforcement and Removal Operations report, FY2017 first quarter",
             "2017-01-17", "Arrests and removals from October to December 2016.", ""),
        ),
    ),
    (
        "contracts", "Contracts", "collection",
        "Detention and transportation contracts and intergovernmental service agreements.",
        "Pricing information has been withheld under FOIA exemption 4.",
        tuple(
            (f"{name}.pdf", title, date, summary, "")
            for name, title, date, summary in (
                ("IGSA_Otero_County_NM", "Intergovernmental service agreement, Otero County", "2008-03-11",
                 "Agreement for the detention of ICE detainees at the Otero County Processing Center."),
                ("IGSA_Stewart_County_GA", "Intergovernmental service agreement, Stewart County", "2006-10-02",
                 "Agreement for the detention of ICE detainees at the Stewart Detention Center."),
                ("Contract_Adelanto_HSCEDM-11-D-00003", "Detention contract, Adelanto", "2011-05-27",
                 "Contract for the operation of the Adelanto ICE Processing Center."),
                ("Contract_Transportation_Services_2014", "Detainee transportation services contract", "2014-06-30",
                 "Ground transportation of detainees between facilities and to ports of departure."),
                ("Task_Order_Family_Residential_Dilley", "Task order, South Texas Family Residential Center",
                 "2014-09-22", "Task order for the family residential center in Dilley, Texas."),
                ("Contract_Medical_Staffing_IHSC_2015", "Medical staffing contract, ICE Health Service Corps",
                 "2015-03-02", "Contract for clinical staff at ICE-operated facilities."),
                ("IGSA_Etowah_County_AL", "Intergovernmental service agreement, Etowah County", "2007-11-14",
                 "Agreement for the detention of ICE detainees at the Etowah County Jail."),
                ("Contract_Charter_Flights_2016", "Air charter services contract", "2016-08-19",
                 "Charter flights for removals and transfers."),
            )
        ),
    ),
    (
        "287g", "Delegation of immigration authority, section 287(g)", "collection",
        "Agreements under section 287(g) of the Immigration and Nationality Act.",
        "Officers acting under the agreement remain subject to ICE supervision for immigration functions.",
        tuple(
            (f"287g_MOA_{code}.pdf", f"287(g) memorandum of agreement, {place}", date,
             f"Agreement delegating immigration enforcement functions to {place}.", "")
            for code, place, date in (
                ("Maricopa_County_AZ", "Maricopa County Sheriff's Office", "2007-02-07"),
                ("Harris_County_TX", "Harris County Sheriff's Office", "2008-07-21"),
                ("Gwinnett_County_GA", "Gwinnett County Sheriff's Office", "2009-10-15"),
                ("Frederick_County_MD", "Frederick County Sheriff's Office", "2008-02-06"),
                ("Mecklenburg_County_NC", "Mecklenburg County Sheriff's Office", "2006-02-27"),
                ("Davidson_County_TN", "Davidson County Sheriff's Office", "2007-02-21"),
                ("Cobb_County_GA", "Cobb County Sheriff's Office", "2007-02-13"),
            )
        ),
    ),
    (
        "reports", "Reports and audits", "collection",
        "Reports to Congress and responses to audits by the Office of Inspector General.",
        "The agency concurred with the recommendations and described corrective actions.",
        (
            ("OIG-10-124_287g_Response.pdf", "Response to OIG-10-124 on the 287(g) program",
             "2010-09-30", "The agency's response to the inspector general's review of 287(g) agreements.", ""),
            ("Report_to_Congress_Detention_Costs_FY2015.pdf", "Report to Congress on detention costs, FY2015",
             "2015-10-15", "Average daily cost of detention by facility type.", ""),
            ("OIG-16-113_Response.pdf", "Response to OIG-16-113 on detainee deaths", "2016-07-28",
             "Corrective actions after the review of in-custody deaths.", ""),
            ("GAO-15-26_Response.pdf", "Response to GAO-15-26 on alternatives to detention", "2014-11-20",
             "Comments on the review of the alternatives to detention program.", ""),
            ("Report_to_Congress_Family_Residential_Centers.pdf", "Report to Congress on family residential centers",
             "2016-02-12", "Conditions and length of stay in family residential centers.", ""),
            ("OIG-17-51_Response.pdf", "Response to OIG-17-51 on detention inspections", "2017-03-03",
             "Response to the review of how detention facilities are inspected.", ""),
        ),
    ),
)


def _link_style(index: int) -> str:
    """Mix how documents are linked, as real pages do: mostly root-relative, some absolute, relative or redirected."""
    return ("root", "absolute", "relative", "root", "redirect")[index % 5]


def _ice_2017() -> DemoLibrary:
    sections, index = [], 0
    for slug, title, layout, description, closing, rows in _SECTIONS:
        documents = []
        for filename, doc_title, date, summary, text in rows:
            body = text or f"{summary}\n\n{doc_title} was released by the FOIA Office on {date}. {closing}"
            documents.append(
                Document(1000 + index, slug, doc_title, filename, date, summary, body, _link_style(index))
            )
            index += 1
        sections.append(Section(slug, title, layout, description, tuple(documents)))
    return DemoLibrary("ICE FOIA Library (foiawatch demo)", _PARAGRAPHS, tuple(sections))


_SYNTHETIC_TOPICS = (
    "Detention inspections", "Removal statistics", "Contracts", "Policy directives", "Congressional correspondence",
    "Audits", "Training materials", "Use of force reviews", "Field office reports", "Agreements",
)


def _synthetic_layout(section_index: int) -> str:
    return {0: "list", 5: "table"}.get(section_index % 10, "collection")


def _synthetic(n_documents: int, n_sections: int, page_size: int, padding: int = 0) -> DemoLibrary:
    if n_documents < 1 or n_sections < 1 or page_size < 1:
        raise ValueError("a synthetic library needs at least one document, one section and a page size of 1")
    n_sections = min(n_sections, n_documents)
    first_day = dt.date(2010, 1, 1)
    sections = []
    for s in range(n_sections):
        topic = _SYNTHETIC_TOPICS[s % len(_SYNTHETIC_TOPICS)]
        title = f"{topic} {s // len(_SYNTHETIC_TOPICS) + 1:02d}"
        slug = f"{topic.lower().replace(' ', '-')}-{s // len(_SYNTHETIC_TOPICS) + 1:02d}"
        documents = []
        for i in range(s, n_documents, n_sections):
            extension = "xlsx" if i % 25 == 7 else "zip" if i % 50 == 13 else "pdf"
            date = (first_day + dt.timedelta(days=i % 2500)).isoformat()
            doc_title = f"{title} record {i:05d}"
            if extension == "xlsx":
                text = f"Record\tSection\tYear\n{i}\t{title}\t{date[:4]}"
            else:
                text = (
                    f"This is record {i} of {n_documents} in the {title} section of the demo library.\n\n"
                    f"It was released on {date} in response to a request under the Freedom of Information Act."
                )
            documents.append(
                Document(
                    100000 + i, slug, doc_title, f"{topic.replace(' ', '_')}_Record_{i:05d}.{extension}", date,
                    f"Record {i} released on {date}.", text, _link_style(i), padding,
                )
            )
        sections.append(Section(slug, title, _synthetic_layout(s), f"Released records about {topic.lower()}.",
                                tuple(documents)))
    return DemoLibrary(f"Synthetic FOIA library ({n_documents} documents)", _PARAGRAPHS, tuple(sections), page_size)
