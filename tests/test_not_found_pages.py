"""Real "page not found" pages of US federal sites mean gone, never "blocked"; real federal pages that talk about
access, CAPTCHAs or blocking in their own markup are not block pages either (the first rule: no removal on
ambiguous evidence, but a document really gone is still found gone).

The pages are in tests/fixtures/realpages/not_found_pages/ (cloud.gov Pages' default 404, login.gov's and
search.usa.gov's Rails 404s) and the two archived 404s already in wayback_mementos/ (whitehouse.gov, WordPress;
census.gov, AEM); the tricky negatives are in tests/fixtures/realpages/access_negatives/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from foiawatch.web.answers import (
    Answer,
    NotFoundSignature,
    block_reason,
    judge_document_answer,
    nonexistent_url,
    says_not_found,
)
from foiawatch.web.html import page_title, parse_html

REAL = Path(__file__).parent / "fixtures" / "realpages"
HTML = {"Content-Type": "text/html; charset=utf-8"}
NOT_FOUND_PAGES = {
    **{path.name: path.read_bytes() for path in sorted((REAL / "not_found_pages").glob("*.html"))},
    "whitehouse.gov (WordPress, archived 404)":
        (REAL / "wayback_mementos" / "whitehouse.gov__ostp-student-faqs__20201027220743.id_.404.html").read_bytes(),
    "census.gov (AEM, archived 404)":
        (REAL / "wayback_mementos" / "census.gov__geo-gssi__20201102233026.id_.404.html").read_bytes(),
}
NEGATIVES = {path.name: path.read_bytes() for path in sorted((REAL / "access_negatives").glob("*.html"))}
ORDINARY = {path.name: path.read_bytes() for path in sorted((REAL / "wayback_mementos").glob("*.html"))
            if not any(mark in path.name for mark in ("404", "403", "301", "web.archive.org"))}
DOCUMENT = "https://www.agency.gov/foia/library/2019-annual-report.pdf"


def echoing(body: bytes, url: str) -> bytes:
    """The page as a site that echoes the asked path would serve it ("We could not find /foia/library/x.pdf")."""
    head, sep, tail = body.partition(b"<body")
    if not sep:
        return body + f"<p>We could not find {url}</p>".encode()
    tag, close, rest = tail.partition(b">")
    return head + sep + tag + close + f"<p>We could not find {url}</p>".encode() + rest


def signature(body: bytes, status: int = 404) -> NotFoundSignature:
    probe = nonexistent_url(DOCUMENT)
    return NotFoundSignature.learn(Answer.of(probe, status, None, HTML, echoing(body, probe)))


def test_the_pages_are_there():
    assert len(NOT_FOUND_PAGES) >= 5 and NEGATIVES and len(ORDINARY) >= 5


@pytest.mark.parametrize("name", sorted(NOT_FOUND_PAGES) + sorted(NEGATIVES))
def test_not_found_pages_and_access_talk_are_not_block_pages(name):
    body = {**NOT_FOUND_PAGES, **NEGATIVES}[name]
    assert block_reason(200, HTML, body) is None
    assert block_reason(200, HTML, body, DOCUMENT) is None


@pytest.mark.parametrize("name", sorted(NOT_FOUND_PAGES))
def test_every_real_not_found_page_says_so_in_its_title_or_heading(name):
    """Rails' stock 404 ("The page you were looking for doesn't exist.") on login.gov and search.usa.gov included."""
    assert says_not_found(NOT_FOUND_PAGES[name])


@pytest.mark.parametrize("heading", [
    "The page you’re looking for can’t be found",  # typographic apostrophes, as editors type them
    "The page you requested can't be found.",
    "Sorry, the page you requested couldn't be found",
    "The page you were looking for doesn’t exist.",
])
def test_not_found_headings_in_any_apostrophe_and_contraction(heading):
    assert says_not_found(f"<html><head><title>Oops</title></head><body><h1>{heading}</h1></body></html>".encode())


@pytest.mark.parametrize("name", sorted(NEGATIVES) + sorted(name for name in ORDINARY if "signpost" not in name))
def test_ordinary_pages_do_not_say_not_found(name):
    """(EPA's "help finding information" signpost does, on purpose: it stands where removed pages were.)"""
    assert not says_not_found({**NEGATIVES, **ORDINARY}[name])


@pytest.mark.parametrize("name", sorted(NOT_FOUND_PAGES))
def test_a_real_not_found_page_served_with_404_is_gone(name):
    answer = Answer.of(DOCUMENT, 404, None, HTML, NOT_FOUND_PAGES[name])
    assert judge_document_answer(answer, signature(NOT_FOUND_PAGES[name])).outcome == "gone"
    assert judge_document_answer(answer, None).outcome == "gone"


@pytest.mark.parametrize("status", [404, 200])
@pytest.mark.parametrize("name", sorted(NOT_FOUND_PAGES))
def test_a_real_not_found_page_served_with_200_is_a_soft_404_on_its_own_site(name, status):
    """The signature is learned from the same site's not-found page at a random URL; both answers echo their own
    path, so the words that differ are the file names, which the signature leaves out."""
    body = NOT_FOUND_PAGES[name]
    answer = Answer.of(DOCUMENT, 200, None, HTML, echoing(body, DOCUMENT))
    judged = judge_document_answer(answer, signature(body, status))
    assert judged.outcome == "soft_404", judged.reason


@pytest.mark.parametrize("name", sorted(NOT_FOUND_PAGES))
def test_another_sites_not_found_page_is_no_evidence(name):
    """A not-found page that is not this site's own (another family's) is no conclusion, never gone. Two stock
    Rails 404s share their title and say "not found": that is the rule's own evidence of one site's page, so the
    pairs compared here are of different titles."""
    body = NOT_FOUND_PAGES[name]
    for other, other_body in NOT_FOUND_PAGES.items():
        if other == name or page_title(parse_html(other_body)) == page_title(parse_html(body)):
            continue
        judged = judge_document_answer(Answer.of(DOCUMENT, 200, None, HTML, body), signature(other_body))
        assert judged.outcome == "blocked", (name, other, judged.reason)


@pytest.mark.parametrize("name", sorted(ORDINARY) + sorted(NEGATIVES))
def test_an_ordinary_page_is_never_taken_for_a_sites_not_found_page(name):
    body = {**ORDINARY, **NEGATIVES}[name]
    for site, not_found in NOT_FOUND_PAGES.items():
        judged = judge_document_answer(Answer.of(DOCUMENT, 200, None, HTML, body), signature(not_found))
        assert judged.outcome == "blocked", (name, site, judged.reason)
        assert judge_document_answer(Answer.of(DOCUMENT, 200, None, HTML, body), signature(not_found),
                                     pages=True).outcome == "served"
