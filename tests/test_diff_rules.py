"""The removal rules as pure decisions, and the text helpers they lean on."""

from __future__ import annotations

import pytest

from foiawatch.archive.verdict import page_ok
from foiawatch.diff.rules import classify_crawl, judge_missing, may_have_moved
from foiawatch.diff.textdiff import MAX_DIFF_CHARS, blocks, text_diff

URL = "https://www.example.org/doclib/foia/a.pdf"


def page(url="https://www.example.org/foia", **fields):
    return {"url": url, "http_status": 200, "error": None, "document_links": 20, "outage_notice": 0, "blocked": 0,
            **fields}


def crawl(status="complete", reason=""):
    return {"status": status, "status_reason": reason}


class TestClassifyCrawl:
    def test_clean_complete_crawl_is_complete(self):
        verdict = classify_crawl(crawl(), [page(), page("https://www.example.org/foia?page=1")], {})
        assert verdict.status == "complete"

    @pytest.mark.parametrize("status", ["incomplete", "running"])
    def test_crawler_status_below_complete_is_never_upgraded(self, status):
        assert classify_crawl(crawl(status), [page()], {}).status == "incomplete"

    def test_outage_keeps_the_crawler_reason(self):
        verdict = classify_crawl(crawl("outage", "outage: library root shows 'temporarily unavailable'"),
                                 [page(outage_notice=1, document_links=0)], {})
        assert (verdict.status, verdict.blocked) == ("outage", False)
        assert "temporarily unavailable" in verdict.reason

    def test_block_is_an_outage_flagged_as_blocked(self):
        verdict = classify_crawl(crawl("outage", "blocked: challenge page on 8 of 8 listing pages"),
                                 [page(blocked=1, http_status=403)] * 8, {})
        assert (verdict.status, verdict.blocked) == ("outage", True)

    @pytest.mark.parametrize("fields, blocked", [({"outage_notice": 1}, False), ({"blocked": 1}, True)])
    def test_complete_crawl_showing_a_notice_or_block_is_an_outage(self, fields, blocked):
        verdict = classify_crawl(crawl(), [page(), page("https://www.example.org/x", **fields)], {})
        assert (verdict.status, verdict.blocked) == ("outage", blocked)

    @pytest.mark.parametrize("fields", [{"http_status": 500}, {"error": "timeout", "http_status": None},
                                        {"http_status": 404}])
    def test_complete_crawl_with_a_failed_page_is_incomplete(self, fields):
        verdict = classify_crawl(crawl(), [page(), page("https://www.example.org/x", **fields)], {})
        assert verdict.status == "incomplete" and verdict.reason == "1 of 2 listing pages failed"

    def test_complete_crawl_without_pages_is_incomplete(self):
        assert classify_crawl(crawl(), [], {}).status == "incomplete"

    def test_page_that_linked_many_documents_and_now_none_is_an_outage(self):
        root = page(document_links=0)
        assert classify_crawl(crawl(), [root], {root["url"]: 5}).status == "outage"
        assert classify_crawl(crawl(), [root], {root["url"]: 4}).status == "complete"  # a small page emptied

    def test_emptied_page_that_also_failed_is_only_incomplete(self):
        root = page(document_links=0, http_status=500)
        assert classify_crawl(crawl(), [root, page("https://www.example.org/x")], {root["url"]: 50}).status == (
            "incomplete")

    def test_page_ok(self):
        assert page_ok(page()) and page_ok(page(http_status=304))
        assert not page_ok(page(http_status=None)) and not page_ok(page(outage_notice=1))


class TestJudgeMissing:
    @pytest.mark.parametrize("outcome", ["gone", "soft_404"])
    def test_gone_counts_towards_removal(self, outcome):
        first = judge_missing("listed", 0, outcome, 2)
        assert (first.state, first.streak, first.event) == ("missing", 1, None)
        second = judge_missing(first.state, first.streak, outcome, 2)
        assert (second.state, second.streak, second.event) == ("removed", 2, "removed")

    def test_one_confirmation_removes_at_once(self):
        assert judge_missing("listed", 0, "gone", 1).event == "removed"

    @pytest.mark.parametrize("outcome", ["fetched", "not_modified", "too_large"])
    def test_still_served_is_unlisted_once(self, outcome):
        first = judge_missing("listed", 0, outcome, 2)
        assert (first.state, first.streak, first.event) == ("unlisted", 0, "unlisted")
        assert judge_missing("unlisted", 0, outcome, 2).event is None
        assert judge_missing("missing", 1, outcome, 2).event == "unlisted"

    @pytest.mark.parametrize("outcome", ["blocked", "failed", "skipped", None])
    def test_no_conclusion_restarts_the_count(self, outcome):
        verdict = judge_missing("missing", 1, outcome, 2)
        assert (verdict.state, verdict.streak, verdict.event) == ("missing", 0, None)
        assert judge_missing("listed", 0, outcome, 2).state == "missing"
        assert judge_missing("unlisted", 0, outcome, 2).state == "unlisted"

    def test_unlisted_document_gone_long_enough_is_removed(self):
        first = judge_missing("unlisted", 0, "gone", 2)
        assert (first.state, first.event) == ("unlisted", None)
        assert judge_missing(first.state, first.streak, "gone", 2).event == "removed"


def test_may_have_moved():
    assert may_have_moved("gone", URL, URL)
    assert may_have_moved("soft_404", URL, "https://www.example.org/")
    assert may_have_moved("fetched", URL, "https://www.example.org/new/a.pdf")  # redirected to its new place
    assert not may_have_moved("fetched", URL, URL)
    assert not may_have_moved("fetched", URL, None)
    assert not may_have_moved("failed", URL, "https://www.example.org/new/a.pdf")


def test_text_diff_counts_lines():
    diff = text_diff("a\nb\nc\n", "a\nB\nc\nd\n", "old", "new")
    assert (diff.lines_added, diff.lines_removed, diff.truncated) == (2, 1, False)
    assert diff.diff.startswith("--- old\n+++ new\n@@")


def test_text_diff_does_not_count_header_like_lines_twice():
    diff = text_diff("x\n", "++y\n")  # shows as "+++y": a body line, not a header
    assert (diff.lines_added, diff.lines_removed) == (1, 1)


def test_text_diff_of_identical_texts_is_empty():
    assert text_diff("same\n", "same\n") == text_diff("", "")
    assert text_diff("same\n", "same\n").diff == ""


def test_long_diff_is_truncated_with_exact_counts():
    new = "\n".join(f"line {i}" for i in range(40_000))
    diff = text_diff("", new)
    assert diff.truncated and len(diff.diff) == MAX_DIFF_CHARS and diff.lines_added == 40_000


def test_blocks():
    assert blocks("  Heading \n\n para one\r\n\t\n") == ["Heading", "para one"]
    assert blocks(None) == []
