"""A reader's path through the public site in headless Chromium: from the home page to a removed document, its
timeline, citation and copy; a change; a restored document; search over a recovered copy; and axe-core's checks of
the five kinds of page, at desktop and phone widths.

Runs ``foiawatch serve`` as a reader would reach it, on the ICE scenario of test_publish and on a second library
where a document came back and one was recovered from the Wayback Machine. Chromium comes from the distribution's
packages (installed here if missing and possible); Playwright drives it. Each page's screenshot is kept in the
test's tmp dir.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from foiawatch.archive import Archive
from foiawatch.archive.pii import screen_pending
from foiawatch.crawler import crawl
from foiawatch.demo.library import preset
from foiawatch.demo.site import DemoSite
from foiawatch.diff.engine import run_diff
from foiawatch.publish import build_public

from .conftest import demo_config
from .support import debian
from .test_hostile_input import serving
from .test_publish import (
    CHANGED_TITLE,
    SEARCH_PHRASE,
    SEARCH_TITLE,
    IceScenario,
    ice_scenario,
    record_recovered_copy,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 375, "height": 812}
RECOVERED_URL = "https://www.ice.gov/doclib/foia/secure-communities/SC_Rollout_2009.pdf"
RECOVERED_TEXT = "Secure Communities rollout plan, 2009. Interoperability pilots in Harris County and Wake County."


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    problem = debian.install("chromium", CHROMIUM.exists)
    if problem:
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True, viewport=DESKTOP)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, IceScenario]]:
    """``foiawatch serve`` on the published ICE scenario."""
    scenario = ice_scenario(tmp_path_factory)
    with serving(scenario.data_dir) as url:
        yield url, scenario


@dataclass
class ReaderScenario:
    data_dir: Path
    restored: str  # titles
    removed: str
    recovered_sha256: str


@pytest.fixture(scope="module")
def reader_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ReaderScenario]]:
    """A library where two PDFs are taken down (confirmed by two crawls) and one of them is listed again, plus a
    document removed before monitoring whose copy was recovered from the Wayback Machine."""
    data_dir = tmp_path_factory.mktemp("reader-archive")
    with DemoSite() as demo:
        config = demo_config(demo.url)
        pdfs = [d for s in demo.library.sections for d in s.documents if d.kind == "pdf"]
        restored, removed = pdfs[-1], pdfs[-2]
        taken_down = preset("v1").remove(restored.path, removed.path)
        for state in (preset("v1"), taken_down, taken_down, preset("v1").remove(removed.path)):
            demo.set_state(state)
            crawl(config, data_dir)
            with Archive(data_dir) as archive:
                run_diff(archive, config.id, confirmations=config.removal_confirmations)
    with Archive(data_dir) as archive:
        recovered = record_recovered_copy(archive, RECOVERED_URL, RECOVERED_TEXT.encode())
        screen_pending(archive)
    build_public(data_dir)
    with serving(data_dir) as url:
        yield url, ReaderScenario(data_dir, restored.title, removed.title, recovered)


def shot(page: Any, directory: Path, name: str) -> None:
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)
    assert (directory / f"{name}.png").stat().st_size > 5_000


def overflow(page: Any) -> int:
    """Pixels the page is wider than the window (0: nothing to scroll sideways)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def test_a_reader_finds_a_removed_document_and_checks_its_copy(site, page, tmp_path):
    from playwright.sync_api import expect

    url, scenario = site
    expected_sha, _ = scenario.blob(SEARCH_TITLE)
    page.goto(url + "/")
    expect(page.get_by_role("heading", name="Latest takedowns")).to_be_visible()
    shot(page, tmp_path, "home")
    clicks = 0
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Removed").click()
    clicks += 1
    expect(page.get_by_role("heading", name="Removed documents")).to_be_visible()
    shot(page, tmp_path, "removed")
    page.get_by_role("link", name=SEARCH_TITLE).click()
    clicks += 1
    expect(page.get_by_role("heading", name=SEARCH_TITLE, level=1)).to_be_visible()
    expect(page.locator(".badge.removed").first).to_have_text("removed")
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("Removed.")
    expect(timeline).to_contain_text("HTTP 404 Not Found")
    cite = page.locator(".cite")
    expect(page.get_by_role("heading", name="Cite this")).to_be_visible()
    expect(cite).to_contain_text(f"SHA-256 {expected_sha}")
    expect(cite).to_contain_text(url + "/documents/")
    expect(page.get_by_role("img", name=f"The first page of “{SEARCH_TITLE}”, as an image")).to_be_visible()
    shot(page, tmp_path, "document")
    with page.expect_download() as started:
        page.get_by_role("link", name="Download this copy").click()
    clicks += 1
    assert clicks <= 3
    download = started.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert download.suggested_filename == "Secure_Communities_SOP.pdf"
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == expected_sha


def test_the_home_page_leads_to_the_document_in_one_click(site, page):
    from playwright.sync_api import expect

    url, _ = site
    page.goto(url + "/")
    page.get_by_role("link", name=SEARCH_TITLE).click()
    expect(page.get_by_role("heading", name=SEARCH_TITLE, level=1)).to_be_visible()


def test_a_change_shows_the_lines_and_words_that_changed(site, page, tmp_path):
    from playwright.sync_api import expect

    url, _ = site
    page.goto(url + "/search?q=" + "revision")
    page.get_by_role("link", name=CHANGED_TITLE).click()
    expect(page.locator(".badge.changed").first).to_be_visible()
    page.get_by_role("link", name="See what changed").click()
    added = page.locator("ol.diff li.added")
    expect(added.filter(has_text="A paragraph added in the revision.")).to_have_count(1)
    expect(added.locator("ins").filter(has_text="revised")).to_have_count(1)
    expect(page.locator("ol.diff li.removed del").filter(has_text="ICE detention facilities")).to_have_count(1)
    colours = page.evaluate("""[...document.querySelectorAll('ol.diff li')].map(
        li => [li.className, getComputedStyle(li).backgroundColor])""")
    added_colour = {colour for kind, colour in colours if kind == "added"}
    assert len(added_colour) == 1 and added_colour != {colour for kind, colour in colours if kind == "context"}
    expect(page.get_by_role("link", name="download it")).to_have_count(2)
    assert overflow(page) == 0
    shot(page, tmp_path, "change-1280")
    page.set_viewport_size(PHONE)
    assert overflow(page) == 0
    shot(page, tmp_path, "change-375")


def test_search_from_the_home_page(site, page, tmp_path):
    from playwright.sync_api import expect

    url, _ = site
    page.goto(url + "/")
    page.get_by_label("Search the text of every archived document").fill(SEARCH_PHRASE)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/search?q=*")
    results = page.locator("ol.cards > li")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text(SEARCH_TITLE)
    expect(results.first.locator("mark").first).to_have_text("interoperability")
    shot(page, tmp_path, "search")


def test_a_restored_document_shows_restored_and_leaves_the_removed_list(reader_site, page, tmp_path):
    from playwright.sync_api import expect

    url, scenario = reader_site
    page.goto(url + "/removed")
    expect(page.get_by_role("link", name=scenario.removed)).to_be_visible()
    expect(page.get_by_role("link", name=scenario.restored)).to_have_count(0)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Restored").click()
    page.get_by_role("link", name=scenario.restored).click()
    expect(page.locator(".badge").first).to_have_text("restored")
    expect(page.locator("ol.timeline")).to_contain_text("Listed again by the library after it was taken down.")
    expect(page.locator("ol.timeline")).to_contain_text("Removed.")
    shot(page, tmp_path, "restored")


def test_search_finds_a_recovered_copy_with_its_words_marked(reader_site, page, tmp_path):
    from playwright.sync_api import expect

    url, scenario = reader_site
    page.goto(url + "/search")
    page.get_by_label("Words or “a phrase”").fill("Wake County")
    page.get_by_role("button", name="Search").click()
    result = page.locator("ol.cards > li")
    expect(result).to_have_count(1)
    expect(result).to_contain_text("the copy recovered from the Wayback Machine")
    expect(result.locator("mark")).to_have_text(["County", "Wake", "County"])  # Harris County and Wake County
    shot(page, tmp_path, "search-recovered")
    result.get_by_role("link").first.click()
    expect(page.locator(".cite")).to_contain_text(f"SHA-256 {scenario.recovered_sha256}")
    expect(page.get_by_role("link", name="Download this copy")).to_be_visible()


@pytest.mark.parametrize("name, path", [
    ("home", "/"),
    ("list", "/removed"),
    ("document", "/documents/1"),
    ("search", "/search?q=secure+communities"),
    ("section", "/agencies/demo/sections/Secure+Communities"),
])
def test_axe_finds_nothing_serious_and_phones_need_no_sideways_scrolling(site, page, tmp_path, name, path):
    pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not installed")
    from axe_playwright_python.sync_playwright import Axe

    url, _ = site
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        response = page.goto(url + path)
        assert response is not None and response.status == 200
        violations = Axe().run(page).response["violations"]
        serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations
                   if v["impact"] in ("serious", "critical")]
        assert serious == [], (viewport, serious)
        assert overflow(page) == 0, viewport
        shot(page, tmp_path, f"{name}-{viewport['width']}")
