"""A reader's path through the public site in headless Chromium: home page, search, document, download.

Runs ``foiawatch serve`` as a reader would reach it, on the ICE scenario of test_publish. Chromium comes from the
distribution's packages (installed here if missing and possible); Playwright drives it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import free_port
from .test_publish import SEARCH_PHRASE, SEARCH_TITLE, IceScenario, ice_scenario

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _install_chromium() -> str | None:
    """Install Debian's chromium if it is missing; returns why it cannot be had, or None once it is there."""
    if CHROMIUM.exists():
        return None
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return "no /usr/bin/chromium, and apt-get is unavailable or not root: run `apt-get install -y chromium`"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "install", "-y", "-q", "chromium"], ["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "chromium"]):
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired:
            return f"`{' '.join(command)}` timed out"
        if command[1] == "install" and done.returncode == 0 and CHROMIUM.exists():
            return None
    return f"apt-get could not install chromium: {done.stderr.strip()[-300:]}"


@pytest.fixture(scope="module")
def chromium() -> str:
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    problem = _install_chromium()
    if problem:
        pytest.skip(problem)
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, IceScenario]]:
    """``foiawatch serve`` on the published ICE scenario."""
    scenario = ice_scenario(tmp_path_factory)
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-c", "from foiawatch.cli import cli; cli()", "serve", "--data-dir",
             str(scenario.data_dir), "--port", str(port)], stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/-/versions.json", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "foiawatch serve did not answer: " + log.read_text()
                time.sleep(0.1)
        yield url, scenario
    finally:
        server.terminate()
        server.wait(10)


def test_search_open_and_download_a_document(chromium, site, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, scenario = site
    expected_sha, _ = scenario.blob(SEARCH_TITLE)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            page.goto(url + "/")
            expect(page.get_by_role("heading", name="Latest takedowns")).to_be_visible()
            expect(page.get_by_text("was removed").first).to_be_visible()
            page.screenshot(path=str(tmp_path / "home.png"), full_page=True)

            page.get_by_label("Search the text of every archived document").fill(SEARCH_PHRASE)
            page.get_by_role("button", name="Search").click()
            page.wait_for_url("**/public/documents?_search=*")
            results = page.locator("table.rows-and-columns tbody tr")
            expect(results).to_have_count(1)
            expect(results.first).to_contain_text(SEARCH_TITLE)

            results.first.locator("td.type-pk a").click()
            expect(page.get_by_role("heading", name=SEARCH_TITLE)).to_be_visible()
            page.screenshot(path=str(tmp_path / "document.png"), full_page=True)

            with page.expect_download() as started:
                page.get_by_role("link", name="Download the archived copy").click()
            download = started.value
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
        finally:
            browser.close()
    assert download.suggested_filename == "Secure_Communities_SOP.pdf"
    assert saved.read_bytes().startswith(b"%PDF")
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == expected_sha
    assert (tmp_path / "home.png").stat().st_size > 10_000 and (tmp_path / "document.png").stat().st_size > 10_000
