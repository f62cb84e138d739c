"""The diff engine end to end over synthetic crawls written straight into the archive's tables."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest

from foiawatch.archive import Archive
from foiawatch.diff import events_json, list_events, render_report, run_diff

from .conftest import demo_config

ROOT = "https://www.example.org/foia/library"
PROACTIVE = "https://www.example.org/foia/proactive-disclosures"
AGENCY = "ice"
NOTICE = "The ICE FOIA library is temporarily unavailable while it undergoes review."
STATUS = {"fetched": 200, "not_modified": 304, "gone": 404, "soft_404": 200, "blocked": 403, "failed": 503}


def url(name: str) -> str:
    return f"https://www.example.org/doclib/foia/{name}.pdf"


def title(name: str) -> str:
    return f"Document {name.upper()}"


class Library:
    """Writes crawls the way the crawler records them: listing pages, links, sightings and end-of-crawl probes."""

    def __init__(self, tmp_path):
        self.archive = Archive(tmp_path / "data")
        self.db = self.archive.db
        self.archive.register_agency(AGENCY, "ICE", [ROOT], "{}")
        self.content: dict[str, str] = {}
        self.urls: dict[str, str] = {}  # name -> URL, for documents that moved
        self.names: dict[str, str] = {}  # URL -> name

    def sha(self, name: str) -> str:
        text = self.content.get(name, f"contents of {name}\n")
        digest = hashlib.sha256(text.encode()).hexdigest()
        if not self.db["blobs"].count_where("sha256 = ?", [digest]):
            self.db["blobs"].insert({"sha256": digest, "size": len(text), "path": digest, "source": "test"})
            self.db["texts"].insert({"sha256": digest, "status": "ok", "text": text})
        return digest

    def crawl(self, pages=None, *, sections=None, status="complete", reason="", intro=None, notes=None,
              trailers=None, cells=None, probes=None, default_probe=None, failed_pages=(), content=None,
              moved=None) -> int:
        """One crawl. ``pages`` maps a listing page URL to {section: [document names]} (``sections`` is the root
        page alone); ``intro`` maps a page to paragraphs above its sections, ``notes`` and ``trailers`` a section
        to a line under its heading and after its documents, ``cells`` a document to lines after its own (a
        table row's date cell); documents listed before and not now are probed with
        ``probes[name]`` or ``default_probe``; ``moved`` gives documents a new URL."""
        pages = pages if pages is not None else {ROOT: sections or {}}
        intro, notes, trailers, cells = intro or {}, notes or {}, trailers or {}, cells or {}
        self.content.update(content or {})
        self.urls.update(moved or {})
        crawl_id = self.archive.start_crawl(AGENCY)
        listed: dict[int, tuple[str, str, str]] = {}
        for page, page_sections in pages.items():
            failed = page in failed_pages
            lines, links = list(intro.get(page, [])), 0
            for section, names in ({} if failed else page_sections).items():
                lines += [section, *([notes[section]] if section in notes else [])]
                for name in names:
                    lines += [f"{title(name)} (PDF, 1 MB)", *cells.get(name, [])]
                    self.names[self.url(name)] = name
                    doc_id = self.archive.document_id(AGENCY, self.url(name), title(name), section, crawl_id)
                    self.db["links"].insert({"crawl_id": crawl_id, "document_id": doc_id, "listing_page": page,
                                             "section": section, "link_text": title(name)})
                    listed.setdefault(doc_id, (page, section, name))
                    links += 1
                lines += [trailers[section]] if section in trailers else []
            self.db["listing_pages"].insert({
                "crawl_id": crawl_id, "url": page, "http_status": 500 if failed else 200,
                "error": "HTTP 500" if failed else None, "document_links": links, "outage_notice": 0,
                "blocked": 0, "text": None if failed else "\n".join(lines),
            })
        for doc_id, (page, section, name) in listed.items():
            self.db["sightings"].insert({"crawl_id": crawl_id, "document_id": doc_id, "listed": 1,
                                         "listing_page": page, "section": section, "http_status": 200,
                                         "outcome": "fetched", "sha256": self.sha(name)})
        self._probe(crawl_id, set(listed), probes or {}, default_probe)
        self.archive.finish_crawl(crawl_id, status, reason, {})
        return crawl_id

    def url(self, name: str) -> str:
        return self.urls.get(name, url(name))

    def _probe(self, crawl_id, listed, probes, default_probe):
        earlier = self.db.execute(
            "select distinct d.id, d.url from documents d join sightings s on s.document_id = d.id and s.listed = 1"
            " where s.crawl_id < ? and d.id not in (select coalesce(document_id, 0) from events"
            " where kind in ('removed', 'moved'))", [crawl_id]).fetchall()
        for doc_id, doc_url in earlier:
            name = self.names[doc_url]
            outcome = probes.get(name, default_probe)
            if doc_id in listed or outcome is None:
                continue
            self.db["sightings"].insert({
                "crawl_id": crawl_id, "document_id": doc_id, "listed": 0, "outcome": outcome,
                "http_status": STATUS[outcome], "final_url": ROOT if outcome == "soft_404" else doc_url,
                "sha256": self.sha(name) if outcome in ("fetched", "not_modified") else None,
            })

    def outage(self, *, blocked=False, probe="gone") -> int:
        """A crawl that found the library down (or blocked); every earlier document is probed with ``probe``."""
        crawl_id = self.archive.start_crawl(AGENCY)
        for page in (ROOT, PROACTIVE):
            self.db["listing_pages"].insert({
                "crawl_id": crawl_id, "url": page, "http_status": 403 if blocked else 200, "document_links": 0,
                "outage_notice": 0 if blocked else 1, "blocked": 1 if blocked else 0,
                "text": "Just a moment..." if blocked else NOTICE,
            })
        self._probe(crawl_id, set(), {}, probe)
        reason = ("blocked: challenge page on 2 of 2 listing pages" if blocked
                  else "outage: library root shows 'temporarily unavailable'")
        self.archive.finish_crawl(crawl_id, "outage", reason, {})
        return crawl_id

    def events(self, kind=None):
        return list_events(self.archive, AGENCY, kinds=[kind] if kind else None)

    def kinds(self) -> Counter:
        return Counter(e["kind"] for e in self.events())

    def event_urls(self, kind) -> set[str]:
        return {e["url"] for e in self.events(kind)}


SC = {
    "Secure Communities": ["sc1", "sc2"],
    "Secure Communities statistics": ["st1", "st2", "st3"],
    "Secure Communities: memorandums of agreement": ["moa1", "moa2"],
}
OTHERS = {"Detention": ["det1", "det2"], "Policy": ["pol1", "pol2", "pol3"]}
SC_DOCS = {name for names in SC.values() for name in names}
KEPT_PARAGRAPH = "The library holds records released under the Freedom of Information Act."
DELETED_PARAGRAPH = "Secure Communities records are posted here as soon as they are processed."


def ice_steps(library: Library) -> list:
    """The ICE scenario's four crawls: complete, outage, complete without three sections and a paragraph, again."""
    before = {ROOT: {**SC, **OTHERS}, PROACTIVE: {"Secure Communities": ["sc1"], "Policy": ["pol1"]}}
    after = {ROOT: OTHERS, PROACTIVE: {"Policy": ["pol1"]}}
    return [
        lambda: library.crawl(before, intro={ROOT: [KEPT_PARAGRAPH, DELETED_PARAGRAPH]}),
        lambda: library.outage(),
        lambda: library.crawl(after, intro={ROOT: [KEPT_PARAGRAPH]}, default_probe="gone"),
        lambda: library.crawl(after, intro={ROOT: [KEPT_PARAGRAPH]}, default_probe="gone"),
    ]


def ice_crawls(library: Library, run_between: bool) -> list[dict]:
    """The ICE scenario; returns the result of each diff run (one per crawl, or one at the end)."""
    results = []
    for step in ice_steps(library):
        step()
        if run_between:
            results.append(run_diff(library.archive, AGENCY))
    if not run_between:
        results.append(run_diff(library.archive, AGENCY))
    return results


@pytest.mark.parametrize("run_between", [True, False], ids=["diff-after-each-crawl", "diff-once"])
def test_ice_scenario(tmp_path, run_between):
    library = Library(tmp_path)
    results = ice_crawls(library, run_between)

    assert library.kinds() == Counter({"outage": 1, "outage_ended": 1, "section_removed": 3,
                                       "page_text_removed": 1, "removed": len(SC_DOCS)})
    if run_between:
        assert [r.created.get("removed", 0) for r in results] == [0, 0, 0, len(SC_DOCS)]
        assert dict(results[1].created) == {"outage": 1}

    sections = {e["section"]: e for e in library.events("section_removed")}
    assert set(sections) == set(SC)
    for name, docs in SC.items():
        evidence = sections[name]["evidence"]
        assert {d["url"] for d in evidence["documents"]} == {url(n) for n in docs}
        assert evidence["previous_crawl"] == 1
        assert all(d["probe"] == "gone" for d in evidence["documents"])
        assert sections[name]["crawl_id"] == 3
    assert set(sections["Secure Communities"]["evidence"]["listing_pages"]) == {ROOT, PROACTIVE}

    (page_text,) = library.events("page_text_removed")
    assert page_text["evidence"]["deleted"] == [DELETED_PARAGRAPH]
    assert page_text["url"] == ROOT and page_text["crawl_id"] == 3

    removed = library.events("removed")
    assert library.event_urls("removed") == {url(n) for n in SC_DOCS}
    assert {e["crawl_id"] for e in removed} == {4}
    assert [p["crawl_id"] for p in removed[0]["evidence"]["crawls"]] == [3, 4]

    (outage,) = library.events("outage")
    assert outage["crawl_id"] == 2 and outage["evidence"]["blocked"] is False
    (ended,) = library.events("outage_ended")
    assert ended["crawl_id"] == 3
    assert {d["url"] for d in ended["evidence"]["missing_documents"]} == {url(n) for n in SC_DOCS}
    assert set(ended["evidence"]["missing_sections"]) == set(SC)
    assert [c["id"] for c in ended["evidence"]["outage_crawls"]] == [2]


def test_diff_is_idempotent(tmp_path):
    library = Library(tmp_path)
    ice_crawls(library, run_between=True)
    before = library.db.execute("select count(*) from events").fetchone()[0]
    assert run_diff(library.archive, AGENCY).total == 0
    replay = run_diff(library.archive, AGENCY, rebuild=True)
    assert replay.total == 0 and replay.crawls == [1, 2, 3, 4]
    assert library.db.execute("select count(*) from events").fetchone()[0] == before


def test_failing_listing_page_never_removes(tmp_path):
    library = Library(tmp_path)
    pages = {ROOT: {"A": ["a1", "a2"]}, PROACTIVE: {"B": ["b1", "b2"]}}
    library.crawl(pages)
    broken = {ROOT: {"A": ["a1", "a2"]}, PROACTIVE: {}}
    library.crawl(broken, status="incomplete", reason="1 of 2 listing pages failed", failed_pages=[PROACTIVE],
                  default_probe="gone")
    # The crawler wrongly calls this one complete: the failed page must still stop any removal.
    library.crawl(broken, failed_pages=[PROACTIVE], default_probe="gone")
    library.crawl(broken, status="incomplete", failed_pages=[PROACTIVE], default_probe="gone")
    result = run_diff(library.archive, AGENCY, confirmations=1)
    assert result.total == 0 and result.crawls == [1, 2, 3, 4]
    library.crawl(pages)
    assert run_diff(library.archive, AGENCY, confirmations=1).total == 0


def test_delisted_but_served_is_unlisted_once_then_restored(tmp_path):
    library = Library(tmp_path)
    library.crawl(sections={"A": ["a1", "a2"]})
    for _ in range(3):
        library.crawl(sections={"A": ["a1"]}, probes={"a2": "fetched"})
    run_diff(library.archive, AGENCY)
    assert library.kinds() == Counter({"unlisted": 1})
    (event,) = library.events("unlisted")
    assert event["crawl_id"] == 2 and event["evidence"]["probe"]["http_status"] == 200
    library.crawl(sections={"A": ["a1", "a2"]})
    run_diff(library.archive, AGENCY)
    assert library.kinds() == Counter({"unlisted": 1, "restored": 1})


def test_unlisted_document_that_then_disappears_is_removed(tmp_path):
    library = Library(tmp_path)
    library.crawl(sections={"A": ["a1", "a2"]})
    library.crawl(sections={"A": ["a1"]}, probes={"a2": "not_modified"})
    library.crawl(sections={"A": ["a1"]}, probes={"a2": "gone"})
    library.crawl(sections={"A": ["a1"]}, probes={"a2": "soft_404"})
    run_diff(library.archive, AGENCY)
    assert library.kinds() == Counter({"unlisted": 1, "removed": 1})
    assert library.events("removed")[0]["crawl_id"] == 4


def test_removed_after_confirmations_then_restored(tmp_path):
    library = Library(tmp_path)
    library.crawl(sections={"A": ["a1", "a2"]})
    library.crawl(sections={"A": ["a1"]}, default_probe="gone")
    assert run_diff(library.archive, AGENCY).total == 0  # only missing so far
    library.crawl(sections={"A": ["a1"]}, default_probe="gone")
    assert dict(run_diff(library.archive, AGENCY).created) == {"removed": 1}
    library.crawl(sections={"A": ["a1"]})  # no probe once removed: still removed, nothing new
    library.crawl(sections={"A": ["a1", "a2"]})
    assert dict(run_diff(library.archive, AGENCY).created) == {"restored": 1}
    (restored,) = library.events("restored")
    assert restored["evidence"]["previous_state"] == "removed" and restored["url"] == url("a2")


def test_confirmations_of_one_removes_at_first_gone(tmp_path):
    library = Library(tmp_path)
    library.crawl(sections={"A": ["a1", "a2"]})
    library.crawl(sections={"A": ["a1"]}, default_probe="gone")
    assert dict(run_diff(library.archive, AGENCY, confirmations=1).created) == {"removed": 1}


@pytest.mark.parametrize("between", ["failed", "blocked", None])
def test_inconclusive_probe_breaks_the_run_of_confirmations(tmp_path, between):
    library = Library(tmp_path)
    library.crawl(sections={"A": ["a1", "a2"]})
    library.crawl(sections={"A": ["a1"]}, default_probe="gone")
    library.crawl(sections={"A": ["a1"]}, default_probe=between)
    library.crawl(sections={"A": ["a1"]}, default_probe="gone")
    run_diff(library.archive, AGENCY)
    assert library.kinds() == Counter()
    library.crawl(sections={"A": ["a1"]}, default_probe="gone")
    run_diff(library.archive, AGENCY)
    assert [e["crawl_id"] for e in library.events("removed")] == [5]


def test_listed_in_an_incomplete_crawl_resets_the_count(tmp_path):
    library = Library(tmp_path)
    library.crawl(sections={"A": ["a1", "a2"]})
    library.crawl(sections={"A": ["a1"]}, default_probe="gone")
    library.crawl(sections={"A": ["a1", "a2"]}, status="incomplete")
    library.crawl(sections={"A": ["a1"]}, default_probe="gone")
    run_diff(library.archive, AGENCY)
    assert library.kinds() == Counter()


def test_moved_document_is_one_moved_event(tmp_path):
    library = Library(tmp_path)
    library.crawl(sections={"A": ["a1", "a2"]})
    new_url = "https://www.example.org/doclib/foia/archive/a2.pdf"
    library.crawl(sections={"A": ["a1", "a2"]}, moved={"a2": new_url}, default_probe="gone")
    library.crawl(sections={"A": ["a1", "a2"]}, default_probe="gone")
    run_diff(library.archive, AGENCY)
    assert library.kinds() == Counter({"moved": 1})
    (moved,) = library.events("moved")
    assert moved["url"] == url("a2") and moved["evidence"]["new_url"] == new_url


def test_copy_at_a_new_url_while_old_is_served_is_not_a_move(tmp_path):
    library = Library(tmp_path)
    library.crawl(sections={"A": ["a1", "a2"]})
    library.crawl(sections={"A": ["a1", "a2"]}, moved={"a2": "https://www.example.org/new/a2.pdf"},
                  default_probe="fetched")
    run_diff(library.archive, AGENCY)
    assert library.kinds() == Counter({"unlisted": 1, "added": 1})


@pytest.mark.parametrize("blocked", [True, False])
def test_outage_run_is_one_event_and_removes_nothing(tmp_path, blocked):
    library = Library(tmp_path)
    pages = {ROOT: {"A": ["a1", "a2"]}, PROACTIVE: {"B": ["b1"]}}
    library.crawl(pages)
    library.outage(blocked=blocked)
    library.crawl(pages, status="incomplete", failed_pages=[ROOT])
    library.outage(blocked=blocked)
    run_diff(library.archive, AGENCY, confirmations=1)
    assert library.kinds() == Counter({"outage": 1})
    (outage,) = library.events("outage")
    assert outage["evidence"]["blocked"] is blocked
    assert ("not a takedown" in outage["summary"]) is blocked
    library.crawl(pages)
    run_diff(library.archive, AGENCY, confirmations=1)
    assert library.kinds() == Counter({"outage": 1, "outage_ended": 1})
    (ended,) = library.events("outage_ended")
    assert ended["evidence"]["missing_documents"] == [] and ended["evidence"]["missing_sections"] == []
    assert [c["id"] for c in ended["evidence"]["outage_crawls"]] == [2, 3, 4]


def test_outage_before_any_complete_crawl_still_ends(tmp_path):
    library = Library(tmp_path)
    library.outage()
    library.crawl(sections={"A": ["a1"]})
    run_diff(library.archive, AGENCY)
    assert library.kinds() == Counter({"outage": 1, "outage_ended": 1})
    assert library.events("outage_ended")[0]["evidence"]["before_crawl"] is None


def test_complete_crawl_whose_big_page_is_empty_is_an_outage(tmp_path):
    library = Library(tmp_path)
    names = [f"d{i}" for i in range(5)]
    library.crawl(sections={"A": names})
    library.crawl(sections={}, default_probe="gone")  # crawler said complete, but the page lost every link
    run_diff(library.archive, AGENCY, confirmations=1)
    assert library.kinds() == Counter({"outage": 1})


def test_added_only_after_the_first_complete_crawl(tmp_path):
    library = Library(tmp_path)
    library.crawl(sections={"A": ["a1"]}, status="incomplete")
    library.crawl(sections={"A": ["a1", "a2"]})
    library.crawl(sections={"A": ["a1", "a2"], "B": ["b1"]})
    run_diff(library.archive, AGENCY)
    (added,) = library.events("added")
    assert added["url"] == url("b1") and added["section"] == "B" and added["crawl_id"] == 3


def test_changed_document_gets_a_text_diff(tmp_path):
    library = Library(tmp_path)
    library.content["a1"] = "line one\nline two\nline three\n"
    library.crawl(sections={"A": ["a1"]})
    library.crawl(sections={"A": ["a1"]}, content={"a1": "line one\nline 2\nline three\nline four\n"})
    run_diff(library.archive, AGENCY)
    (changed,) = library.events("changed")
    assert changed["lines_added"] == 2 and changed["lines_removed"] == 1
    assert "changed: new content at the same URL. (+2/-1 lines)" in render_report([changed])
    diff = library.db.execute("select diff from text_diffs where event_id = ?", [changed["id"]]).fetchone()[0]
    assert "-line two\n+line 2" in diff and "+line four" in diff


def test_text_diff_is_filled_in_once_texts_are_extracted(tmp_path):
    library = Library(tmp_path)
    library.crawl(sections={"A": ["a1"]})
    library.content["a1"] = "new words\n"
    new_sha = library.sha("a1")
    library.db.execute("delete from texts where sha256 = ?", [new_sha])
    library.crawl(sections={"A": ["a1"]})
    run_diff(library.archive, AGENCY)
    (changed,) = library.events("changed")
    assert changed["lines_added"] is None
    library.db["texts"].insert({"sha256": new_sha, "status": "ok", "text": "new words\n"})
    run_diff(library.archive, AGENCY)
    (changed,) = library.events("changed")
    assert (changed["lines_added"], changed["lines_removed"]) == (1, 1)


def test_renamed_section_and_pagination_shift_raise_nothing(tmp_path):
    library = Library(tmp_path)
    page2 = ROOT + "?page=1"
    library.crawl({ROOT: {"A": ["a1", "a2"]}, page2: {"A": ["a3"], "B": ["b1"]}})
    # "A" renamed "A (archive)", and a3 slid from page 2 to page 1: nothing was deleted.
    library.crawl({ROOT: {"A (archive)": ["a1", "a2", "a3"]}, page2: {"B": ["b1"]}})
    run_diff(library.archive, AGENCY)
    assert library.kinds() == Counter()


def test_listing_page_without_text_is_not_compared(tmp_path):
    library = Library(tmp_path)
    library.crawl(sections={"A": ["a1"]}, intro={ROOT: [KEPT_PARAGRAPH]})
    second = library.crawl(sections={"A": ["a1"]}, intro={ROOT: [KEPT_PARAGRAPH]})
    library.db.execute("update listing_pages set text = null where crawl_id = ?", [second])
    run_diff(library.archive, AGENCY)
    assert library.kinds() == Counter()


def test_section_whose_documents_remain_elsewhere_is_not_removed(tmp_path):
    library = Library(tmp_path)
    library.crawl(sections={"A": ["a1"], "B": ["b1", "b2"]})
    library.crawl(sections={"A": ["a1", "b1"]}, default_probe="gone")
    run_diff(library.archive, AGENCY)
    assert "section_removed" not in library.kinds()


def test_text_that_went_with_a_section_is_not_page_text_removed(tmp_path):
    library = Library(tmp_path)
    description, date = "These records describe the B programme.", "11/20/2014"
    deleted = "The B records were published under a court order."
    library.crawl(sections={"A": ["a1"], "B": ["b1"], "C": ["c1"]}, notes={"B": description},
                  trailers={"A": deleted, "B": date})
    library.crawl(sections={"A": ["a1"], "C": ["c1"]}, default_probe="gone")
    run_diff(library.archive, AGENCY)
    assert library.kinds() == Counter({"section_removed": 1, "page_text_removed": 1})
    assert library.events("section_removed")[0]["evidence"]["text"] == [description, date]
    assert library.events("page_text_removed")[0]["evidence"]["deleted"] == [deleted]


def test_cells_of_a_deleted_document_entry_are_not_page_text_removed(tmp_path):
    library = Library(tmp_path)
    cells = {"a1": ["12/30/2016", "PDF"], "a2": ["12/22/2015", "PDF"], "a3": ["01/05/2017", "PDF"]}
    kept, deleted = "Records are listed newest first.", "Records from 2015 were withdrawn for review."
    library.crawl(sections={"A": ["a1", "a2", "a3"]}, cells=cells, trailers={"A": kept}, intro={ROOT: [deleted]})
    library.crawl(sections={"A": ["a1", "a3"]}, cells=cells, trailers={"A": kept}, default_probe="gone")
    run_diff(library.archive, AGENCY)
    (event,) = library.events("page_text_removed")
    assert event["evidence"]["deleted"] == [deleted]


def test_a_paragraph_deleted_from_every_page_of_a_paginated_listing_is_one_event(tmp_path):
    library = Library(tmp_path)
    paragraph = "Records about the programme were withdrawn for review."
    pages = {ROOT: {"A": ["a1"]}, ROOT + "?page=1": {"A": ["a2"]}, ROOT + "?page=2": {"A": ["a3"]}}
    library.crawl(pages, intro={page: [paragraph] for page in pages})
    library.crawl(pages)
    run_diff(library.archive, AGENCY)
    (event,) = library.events("page_text_removed")
    assert event["url"] == ROOT and event["evidence"]["deleted"] == [paragraph]


def test_running_crawl_holds_back_later_crawls(tmp_path):
    library = Library(tmp_path)
    library.crawl(sections={"A": ["a1", "a2"]})
    running = library.archive.start_crawl(AGENCY)
    result = run_diff(library.archive, AGENCY)
    assert result.crawls == [1] and result.waiting_on == running
    library.archive.finish_crawl(running, "incomplete", "interrupted", {})
    assert run_diff(library.archive, AGENCY).crawls == [running]


def test_list_events_filters_and_reports(tmp_path):
    library = Library(tmp_path)
    ice_crawls(library, run_between=False)
    db = library.archive
    assert {e["kind"] for e in list_events(db, AGENCY, kinds=["removed", "outage"])} == {"removed", "outage"}
    assert {e["url"] for e in list_events(db, section="Secure Communities", kinds=["removed"])} == {
        url("sc1"), url("sc2")}
    assert {e["crawl_id"] for e in list_events(db, AGENCY, since=4)} == {4}
    assert list_events(db, "another-agency") == []
    assert len(list_events(db, AGENCY, limit=2)) == 2
    with pytest.raises(ValueError, match="unknown event kind"):
        list_events(db, kinds=["deleted"])

    events = list_events(db, AGENCY)
    report = render_report(events)
    first, *rest = report.splitlines()
    assert first == "13 events: 7 removed, 3 section_removed, 1 page_text_removed, 1 outage, 1 outage_ended"
    assert rest.index("removed (7)") < rest.index("section_removed (3)") < rest.index("outage (1)")
    assert "  Secure Communities statistics" in rest
    decoded = json.loads(events_json(events))
    assert decoded["counts"]["removed"] == 7 and len(decoded["events"]) == 13
    assert render_report([]) == "No events."


# command line ----------------------------------------------------------------------------------------------


def test_diff_and_events_commands(tmp_path):
    from click.testing import CliRunner

    from foiawatch.commands.diff import diff, events

    library = Library(tmp_path)
    for step in ice_steps(library):
        step()
    data = ["--data-dir", str(tmp_path / "data")]
    runner = CliRunner()
    first = runner.invoke(diff, ["ice", *data])
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert lines[0] == "Diffed crawls 1-4 of ice: 13 new events."
    assert lines[1].startswith("13 events: 7 removed, 3 section_removed")
    again = runner.invoke(diff, ["ice", *data, "--json"])
    assert json.loads(again.output)["diff"]["total"] == 0 and json.loads(again.output)["events"] == []
    since = json.loads(runner.invoke(diff, ["ice", *data, "--json", "--since", "4"]).output)
    assert since["counts"] == {"removed": 7}

    found = runner.invoke(events, [*data, "--agency", "ice", "--kind", "removed", "--section", "Secure Communities",
                                   "--json"])
    assert {e["url"] for e in json.loads(found.output)["events"]} == {url("sc1"), url("sc2")}
    assert runner.invoke(events, [*data, "--since", "3", "--kind", "outage"]).output.strip() == "No events."
    assert "outage (1)" in runner.invoke(events, [*data, "--since", "2000-01-01"]).output
    assert runner.invoke(events, [*data, "--kind", "deleted"]).exit_code == 2
    missing = runner.invoke(events, ["--data-dir", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "no archive in" in missing.output
    assert not (tmp_path / "nowhere").exists()


# the real crawler against the demo library ------------------------------------------------------------------


def crawl_and_diff(site, config, data_dir, state):
    from foiawatch.crawler import crawl

    site.set_state(state)
    crawl(config, data_dir)
    return run_diff(Archive(data_dir), config.id, confirmations=config.removal_confirmations)


def test_ice_scenario_on_the_demo_library(demo_site, tmp_path):
    from foiawatch.demo.library import SECURE_COMMUNITIES_SECTIONS

    config = demo_config(demo_site.url)
    created = [crawl_and_diff(demo_site, config, tmp_path, preset).created
               for preset in ("v1", "outage", "v2_takedown", "v2_takedown")]
    taken_down = [d for s in demo_site.library.sections if s.slug in SECURE_COMMUNITIES_SECTIONS
                  for d in s.documents]
    assert [dict(c) for c in created] == [
        {}, {"outage": 1}, {"section_removed": 3, "page_text_removed": 1, "outage_ended": 1},
        {"removed": len(taken_down)},
    ]
    db = Archive(tmp_path)
    assert {e["title"] for e in list_events(db, kinds=["removed"])} == {d.title for d in taken_down}
    (page_text,) = list_events(db, kinds=["page_text_removed"])
    assert len(page_text["evidence"]["deleted"]) == 1
    assert page_text["evidence"]["deleted"][0].startswith("Secure Communities uses")


def test_document_changes_on_the_demo_library(demo_site, tmp_path):
    from foiawatch.demo.library import LibraryState

    folder = "/doclib/foia/detention-management"
    edited, moved, unlisted = (f"{folder}/2011_PBNDS.pdf", f"{folder}/ERO_Inspection_Summary_FY2016.pdf",
                               f"{folder}/Medical_Care_Standards_Summary.pdf")
    removed = "/doclib/foia/removal-statistics/ERO_Removals_FY2015.pdf"
    changed = (LibraryState().edit(edited, "A rewritten standard.\n\nWith a second paragraph.")
               .move(moved, f"{folder}/archive/ERO_Inspection_Summary_FY2016.pdf").unlist(unlisted).remove(removed))
    config = demo_config(demo_site.url)
    runs = [crawl_and_diff(demo_site, config, tmp_path, state).created for state in (
        "v1", changed, changed.fail_pages("/foia/library/collection?page=1"), changed, "blocked")]
    assert [dict(c) for c in runs] == [
        {}, {"changed": 1, "moved": 1, "unlisted": 1}, {}, {"removed": 1}, {"outage": 1},
    ]
    db = Archive(tmp_path)
    assert [e["url"].endswith(removed) for e in list_events(db, kinds=["removed"])] == [True]
    (outage,) = list_events(db, kinds=["outage"])
    assert outage["evidence"]["blocked"] is True
