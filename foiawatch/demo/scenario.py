"""The 2017 ICE story, replayed on the demo library: the model scenario `foiawatch demo` runs and tests check.

Crawl the full library; the library goes dark ("temporarily unavailable while it undergoes review"); it comes back
without the three Secure Communities sections and with their explanatory paragraph deleted; crawl again to confirm.
Meanwhile the Wayback Machine (a local stand-in) holds captures of the library as first published, and of a pilot
programme's records the agency had removed before monitoring began.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import requests

from ..archive import Archive, DataDir
from ..config import AgencyConfig, find_config
from ..crawler import CrawlResult, crawl
from ..pipeline import diff_agency
from ..web.parse import parse_listing
from .library import Document, Section, document_bytes, preset
from .pdf import make_pdf
from .site import DemoSite
from .wayback_standin import StandinCapture

# (state preset, what a person should read while it runs)
ICE_STEPS: tuple[tuple[str, str], ...] = (
    ("v1", "the library as first published"),
    ("outage", "the library goes dark 'while it undergoes review'"),
    ("v2_takedown", "the library is back, without the Secure Communities sections"),
    ("v2_takedown", "a second look confirms the removals"),
)
CAPTURED_AT = ("20150301120000", "20161201120000")  # when the stand-in "captured" the library as first published
PILOT_SECTION = "secure-communities-pilot"
PILOT_SECTION_TITLE = "Secure Communities pilot"
PILOT_RECORDS = (  # (file name, title, text): gone before monitoring began; only the Wayback Machine kept them
    ("SC_Pilot_Jurisdictions_2008.pdf", "Secure Communities pilot jurisdictions, 2008",
     "The pilot began in October 2008 in Harris County, Texas, and expanded to fourteen jurisdictions."),
    ("SC_Pilot_Evaluation_2009.pdf", "Evaluation of the Secure Communities pilot, 2009",
     "This evaluation reviews interoperability between IDENT and IAFIS during the first year of the pilot."),
    ("SC_Pilot_Stakeholder_Letter.pdf", "Letter to pilot stakeholders",
     "This letter explains to participating jurisdictions that fingerprints are shared automatically."),
)


@dataclass
class StepResult:
    preset: str
    description: str
    crawl: CrawlResult
    events: dict[str, int]


def demo_agency(library_url: str, wayback_url: str | None = None) -> AgencyConfig:
    """The bundled demo config pointed at a running demo site (and Wayback stand-in)."""
    config = find_config("demo")
    config = replace(config, library_urls=(library_url,))
    if wayback_url:
        host = library_url.split("://", 1)[1].split("/", 1)[0]
        config = replace(config, wayback=replace(config.wayback, base_url=wayback_url,
                                                 prefix=f"{host}/doclib/foia/"))
    return config


def first_library_captures(site) -> list[StandinCapture]:
    """A capture, at each of ``CAPTURED_AT``, of every document the demo library first served."""
    captures = []
    for path, served in site.library.view(preset("v1")).files.items():
        body = document_bytes(served.document, served.text)
        captures += [StandinCapture(site.url + path, stamp, 200, served.document.content_type, body)
                     for stamp in CAPTURED_AT]
    return captures


def archived_listing_pages(site) -> list[StandinCapture]:
    """The library's listing pages as the Wayback Machine captured them when the pilot section was still listed:
    rendered by a second demo site serving the first library plus that section, under the live site's address."""
    pilot = Section(PILOT_SECTION, PILOT_SECTION_TITLE, "list", "Records of the 2008-2009 pilot.", tuple(
        Document(9000 + n, PILOT_SECTION, title, filename, "2009-06-30", title, text)
        for n, (filename, title, text) in enumerate(PILOT_RECORDS)))
    library = replace(site.library, sections=(*site.library.sections, pilot))
    config = demo_agency(site.library_url)
    captures: list[StandinCapture] = []
    queue = [site.library_url]
    with DemoSite(library, state="v1") as then, requests.Session() as session:
        while queue:
            url = queue.pop(0)
            if any(capture.url == url for capture in captures):
                continue
            answer = session.get(then.url + url[len(site.url):], headers={"Host": urlsplit(site.url).netloc})
            captures.append(StandinCapture(url, CAPTURED_AT[0], 200, "text/html", answer.content))
            parsed = parse_listing(answer.content, url, config)
            queue += [page for page in parsed.next_pages + parsed.follow_pages if page.startswith(site.url)]
    return captures


def wayback_captures(site) -> list[StandinCapture]:
    """What the Wayback Machine holds of the demo site: the library as first served, its listing pages when the
    pilot section was still listed, and one capture of each pilot record (whose URLs the live site answers with
    404)."""
    captures = first_library_captures(site) + archived_listing_pages(site)
    for filename, title, text in PILOT_RECORDS:
        captures.append(StandinCapture(f"{site.url}/doclib/foia/{PILOT_SECTION}/{filename}", CAPTURED_AT[0], 200,
                                       "application/pdf", make_pdf(title, [text])))
    return captures


def run_ice_scenario(
    site: DemoSite, config: AgencyConfig, data_dir: DataDir, on_step: Callable[[StepResult], None] | None = None
) -> list[StepResult]:
    """Crawl and diff the demo site through the ICE steps; returns each step's crawl and new events."""
    results = []
    for state, description in ICE_STEPS:
        site.set_state(state)
        result = crawl(config, data_dir)
        with Archive(data_dir) as archive:
            diffed = diff_agency(archive, config)
        step = StepResult(state, description, result, dict(diffed.created))
        results.append(step)
        if on_step:
            on_step(step)
    return results
