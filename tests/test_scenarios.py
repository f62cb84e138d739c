"""Takedown scenarios end to end: the demo library served locally, crawled for real, diffed (issue 3 acceptance)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from foiawatch.archive import Archive
from foiawatch.crawler import crawl
from foiawatch.demo.library import SECURE_COMMUNITIES_PARAGRAPH, SECURE_COMMUNITIES_SECTIONS, preset
from foiawatch.diff.engine import run_diff

from .conftest import demo_config


class Scenario:
    """Crawl the demo site through a sequence of states, diffing after each crawl as the scheduler does."""

    def __init__(self, site, data_dir):
        self.site, self.data_dir = site, data_dir
        self.config = demo_config(site.url)
        self.statuses: list[str] = []

    def crawl(self, state=None) -> str:
        if state is not None:
            self.site.set_state(state)
        result = crawl(self.config, self.data_dir)
        self.statuses.append(result.status)
        with Archive(self.data_dir) as archive:
            run_diff(archive, self.config.id, confirmations=self.config.removal_confirmations)
        return result.status

    def events(self, kind: str | None = None) -> list[dict]:
        with Archive(self.data_dir) as archive:
            rows = archive.db.execute(
                "select * from events where agency_id = ? and (? is null or kind = ?) order by id",
                [self.config.id, kind, kind],
            )
            columns = [c[0] for c in rows.description]
            return [dict(zip(columns, row, strict=True)) for row in rows.fetchall()]



def listed_urls(site, slugs) -> set[str]:
    """The URLs the library lists for its documents in these sections (a document's identity is its listed URL)."""
    return {site.url + (f"/doclib/redirect/{d.id}" if d.link_style == "redirect" else d.path)
            for d in site.library.documents() if d.section in slugs}


def a_pdf(site, index: int = 0):
    return [d for d in site.library.documents() if d.kind == "pdf" and d.link_style == "root"][index]


def test_ice_2017_outage_then_three_sections_gone(demo_site, tmp_path):
    scenario = Scenario(demo_site, tmp_path)
    assert scenario.crawl("v1") == "complete"
    assert scenario.crawl("outage") == "outage"
    assert not scenario.events("removed"), "nothing may be removed during an outage"
    assert scenario.crawl("v2_takedown") == "complete"
    assert scenario.crawl() == "complete"

    gone = listed_urls(demo_site, SECURE_COMMUNITIES_SECTIONS)
    assert len(gone) == 20
    assert len(scenario.events("outage")) == 1
    (ended,) = scenario.events("outage_ended")
    assert "did not come back" in ended["summary"] or json.loads(ended["evidence"])
    sections = scenario.events("section_removed")
    assert len(sections) == 3
    named = set()
    for event in sections:
        named |= {d["url"] for d in json.loads(event["evidence"])["documents"]}
    assert named == gone
    (paragraph,) = scenario.events("page_text_removed")
    deleted = next(p.text for p in demo_site.library.paragraphs if p.id == SECURE_COMMUNITIES_PARAGRAPH)
    assert deleted[:80] in json.dumps(json.loads(paragraph["evidence"]))
    removed = scenario.events("removed")
    assert {e["url"] for e in removed} == gone
    assert all(e["crawl_id"] == 4 for e in removed), "removed only after the second confirming crawl"


def test_listing_page_error_raises_no_alarm(demo_site, tmp_path):
    scenario = Scenario(demo_site, tmp_path)
    scenario.crawl("v1")
    failing = replace(preset("v1"), failing_pages=frozenset({"/foia/library/collection?page=1"}))
    assert scenario.crawl(failing) == "incomplete"
    assert scenario.crawl(failing) == "incomplete"
    assert not scenario.events("removed") and not scenario.events("unlisted")
    assert scenario.crawl("v1") == "complete"
    assert not scenario.events("removed")


def test_document_unlinked_but_served_is_unlisted(demo_site, tmp_path):
    scenario = Scenario(demo_site, tmp_path)
    victim = a_pdf(demo_site)
    scenario.crawl("v1")
    scenario.crawl(preset("v1").unlist(victim.path))
    scenario.crawl()
    assert [e["url"] for e in scenario.events("unlisted")] == [demo_site.url + victim.path]
    assert not scenario.events("removed")


def test_removed_then_restored(demo_site, tmp_path):
    scenario = Scenario(demo_site, tmp_path)
    victim = a_pdf(demo_site, 1)
    scenario.crawl("v1")
    scenario.crawl(preset("v1").remove(victim.path))
    assert not scenario.events("removed"), "one missing crawl is not yet a removal"
    scenario.crawl()
    assert [e["url"] for e in scenario.events("removed")] == [demo_site.url + victim.path]
    scenario.crawl("v1")
    assert [e["url"] for e in scenario.events("restored")] == [demo_site.url + victim.path]


def test_moved_document_is_one_moved_event(demo_site, tmp_path):
    scenario = Scenario(demo_site, tmp_path)
    victim = a_pdf(demo_site, 2)
    new_path = victim.path.replace(victim.filename, "archive/" + victim.filename)
    scenario.crawl("v1")
    scenario.crawl(preset("v1").move(victim.path, new_path))
    scenario.crawl()
    (moved,) = scenario.events("moved")
    assert demo_site.url + victim.path in (moved["url"], json.dumps(json.loads(moved["evidence"])))
    assert demo_site.url + new_path in json.dumps(json.loads(moved["evidence"]))
    assert not scenario.events("removed")


@pytest.mark.parametrize("status", [200, 403])
def test_challenge_pages_are_a_block_not_a_takedown(demo_site, tmp_path, status):
    scenario = Scenario(demo_site, tmp_path)
    scenario.crawl("v1")
    blocked = replace(preset("blocked"), blocked_status=status)
    assert scenario.crawl(blocked) == "outage"
    assert scenario.crawl(blocked) == "outage"
    (outage,) = scenario.events("outage")
    assert "blocked" in (outage["summary"] + outage["evidence"]).lower()
    assert not scenario.events("removed") and not scenario.events("section_removed")


def test_edited_pdf_is_changed_with_a_text_diff(demo_site, tmp_path):
    scenario = Scenario(demo_site, tmp_path)
    victim = a_pdf(demo_site, 3)
    sentence = "This paragraph was added after the record was first published."
    scenario.crawl("v1")
    scenario.crawl(preset("v1").edit(victim.path, victim.text + "\n\n" + sentence))
    (changed,) = scenario.events("changed")
    assert changed["url"] == demo_site.url + victim.path
    with Archive(tmp_path) as archive:
        diff = archive.db["text_diffs"].get(changed["id"])
    assert sentence in diff["diff"] and diff["lines_added"] >= 1


def test_diff_twice_creates_no_duplicates(demo_site, tmp_path):
    scenario = Scenario(demo_site, tmp_path)
    scenario.crawl("v1")
    scenario.crawl("v2_takedown")
    scenario.crawl()
    before = scenario.events()
    with Archive(tmp_path) as archive:
        assert run_diff(archive, "demo").total == 0
        assert run_diff(archive, "demo", rebuild=True).total == 0
    assert scenario.events() == before
