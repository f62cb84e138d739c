"""The bundled configs made with ``foiawatch init`` from the vendored real pages: init still writes exactly these
settings from the page, and they read the page's hand-counted documents and sections (tests/fixtures/listingpages)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from foiawatch.config import bundled_config_dir, load_config
from foiawatch.web.layout import config_for, detect
from foiawatch.web.parse import parse_listing
from foiawatch.web.urls import canonical_url

PAGES = Path(__file__).parent / "fixtures" / "listingpages"
MADE_FROM = re.compile(r"tests/fixtures/listingpages/(\S+)\.html")


def made_by_init() -> dict[str, str]:
    """Bundled config id -> the vendored page it was made from (named in its header)."""
    found = {}
    for path in sorted(bundled_config_dir().glob("*.toml")):
        match = MADE_FROM.search(path.read_text(encoding="utf-8"))
        if match:
            found[path.stem] = match.group(1)
    return found


def test_there_are_bundled_configs_made_by_init() -> None:
    assert len(made_by_init()) >= 8


@pytest.mark.parametrize(("agency", "page"), sorted(made_by_init().items()))
def test_a_bundled_config_is_what_init_writes_and_reads_its_page_right(agency: str, page: str) -> None:
    bundled = load_config(bundled_config_dir() / f"{agency}.toml")
    expected = json.loads((PAGES / f"{page}.expected.json").read_text(encoding="utf-8"))
    body = (PAGES / f"{page}.html").read_bytes()
    documents = {canonical_url(url) for url in expected["document_urls"]}
    layout = detect(body, expected["url"], lambda url: "application/pdf" if url in documents else "text/html")
    made = config_for(layout, agency, bundled.name)
    assert (made.library_urls, made.allowed_hosts, made.documents, made.listing) == (
        bundled.library_urls, bundled.allowed_hosts, bundled.documents, bundled.listing)
    parsed = parse_listing(body, expected["url"], bundled)
    assert {link.url for link in parsed.documents} == documents
    assert dict(Counter(link.section for link in parsed.documents)) == expected["sections"]
