"""No side channel on withheld text (issue 12, section 4): what the PII screen withholds must not leak through a
keyword alert, a direct Wayback link, a text diff's line counts, or an SSN written with spaced digits."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest

from foiawatch.alerts.digests import fan_out
from foiawatch.alerts.links import EventLinks
from foiawatch.alerts.subscriptions import subscribe
from foiawatch.archive import Archive
from foiawatch.archive.pii import is_withheld, screen_pending, screen_text
from foiawatch.archive.pii_patterns import find_pii
from foiawatch.archive.state import open_private
from foiawatch.archive.vocabulary import Channel
from foiawatch.publish import build_public

AGENCY = "ice"
SSN = "482-18-7800"
WITHHELD_TEXT = f"Call log. Caller Maria Example, SSN: {SSN}, asked about the quokka lantern manifest."
CLEAN_TEXT = "Guidance on the use of solitary confinement in family detention."
PUBLIC_URL = "https://foia.example.org"


class Library:
    """An archive written directly: one agency, one complete crawl, documents whose texts are screened."""

    def __init__(self, data_dir: Path, config: dict | None = None) -> None:
        self.data_dir = data_dir
        self.archive = Archive(data_dir)
        self.archive.register_agency(AGENCY, "U.S. Immigration and Customs Enforcement", ["https://www.ice.gov/foia"],
                                     json.dumps(config or {}))
        self.crawl = self.archive.start_crawl(AGENCY)
        self.archive.finish_crawl(self.crawl, "complete", "", {})
        self.db = self.archive.db

    def blob(self, text: str, source: str = "crawl") -> str:
        stored = self.archive.blobs.put_bytes(text.encode())
        with self.db.conn:
            self.archive.record_blob(stored, "text/plain", source=source)
            self.db.execute("insert or ignore into texts (sha256, status, text) values (?, 'ok', ?)",
                            [stored.sha256, text])
        return stored.sha256

    def document(self, name: str, text: str) -> tuple[int, str]:
        """A listed document whose last fetch holds ``text``; returns its id and sha256."""
        sha256 = self.blob(text)
        with self.db.conn:
            document = self.archive.document_id(AGENCY, f"https://www.ice.gov/doclib/foia/{name}", name, "Policy",
                                                self.crawl)
            self.db.execute("update documents set sha256 = ?, mimetype = 'text/plain' where id = ?",
                            [sha256, document])
            self.db.execute("insert into sightings (crawl_id, document_id, listed, sha256, outcome) "
                            "values (?, ?, 1, ?, 'fetched')", [self.crawl, document, sha256])
        return document, sha256

    def event(self, kind: str = "removed", document_id: int | None = None, url: str | None = None,
              title: str = "Memo") -> int:
        with self.db.conn:
            return int(self.db.execute(
                "insert into events (agency_id, kind, crawl_id, document_id, url, title, section, detected_at, "
                "summary, evidence, dedupe_key) values (?, ?, ?, ?, ?, ?, 'Policy', '2017-02-01T12:00:00+00:00', "
                "?, '{}', ?)",
                [AGENCY, kind, self.crawl, document_id, url or f"https://www.ice.gov/doclib/foia/{quote(title)}", title,
                 f"“{title}” was {kind}.", f"test:{kind}:{document_id}:{url}:{quote(title)}"]).lastrowid)

    def recovery(self, url: str, sha256: str | None, timestamp: str = "20150101000000") -> str:
        """A copy recovered from a Wayback capture; returns its direct (id_) playback URL."""
        raw_url = f"https://web.archive.org/web/{timestamp}id_/{url}"
        with self.db.conn:
            self.db.execute("insert into recoveries (agency_id, url, capture_timestamp, original, capture_digest, "
                            "raw_url, status, sha256, retrieved_at) values (?, ?, ?, ?, 'DIGEST', ?, 'ok', ?, "
                            "'2030-01-01')", [AGENCY, url, timestamp, url, raw_url, sha256])
        return raw_url


@pytest.fixture
def library(tmp_path) -> Library:
    return Library(tmp_path)


# 1. keyword subscriptions read public text only ----------------------------------------------------------------


def test_keyword_subscriptions_never_search_withheld_text(library):
    withheld, withheld_sha = library.document("call-log.txt", WITHHELD_TEXT)
    clean, clean_sha = library.document("memo.txt", CLEAN_TEXT)
    screen_pending(library.archive)
    assert is_withheld(library.archive, withheld_sha) and not is_withheld(library.archive, clean_sha)
    private = open_private(library.data_dir)
    probes = {keyword: subscribe(private, Channel.WEBHOOK, f"http://127.0.0.1:9/{n}", latest_event_id=0,
                                 allow_private_webhooks=True, kinds=["removed"], keyword=keyword).id
              for n, keyword in enumerate((SSN, "quokka", "solitary"))}
    events = {"withheld": library.event(document_id=withheld, title="Call log"),
              "clean": library.event(document_id=clean, title="Memo")}
    fan_out(private, library.archive)
    got = {keyword: {row[0] for row in private.execute("select event_id from deliveries where subscription_id = ?",
                                                       [subscription])}
           for keyword, subscription in probes.items()}
    assert got == {SSN: set(), "quokka": set(), "solitary": {events["clean"]}}


def test_an_unscreened_text_is_not_searched_either(library):
    document, sha256 = library.document("new.txt", "A report on quokka habitats.")  # not screened yet
    assert is_withheld(library.archive, sha256)
    private = open_private(library.data_dir)
    subscribe(private, Channel.WEBHOOK, "http://127.0.0.1:9/", latest_event_id=0, allow_private_webhooks=True,
              keyword="quokka")
    library.event(document_id=document, title="New report")
    assert fan_out(private, library.archive) == 0


# 2. no direct Wayback link to a withheld recovered copy ---------------------------------------------------------


def test_alert_links_a_withheld_recovered_copy_by_its_capture_calendar(library):
    url = "https://www.ice.gov/doclib/foia/secure-communities/SC_Call_Log.txt"
    withheld_sha = library.blob(WITHHELD_TEXT, source="wayback")
    raw = library.recovery(url, withheld_sha)
    clean_url = "https://www.ice.gov/doclib/foia/secure-communities/SC_Rollout.txt"
    clean_sha = library.blob(CLEAN_TEXT, source="wayback")
    clean_raw = library.recovery(clean_url, clean_sha)
    screen_pending(library.archive)
    withheld_event = library.event("removed_before_monitoring", url=url, title="SC_Call_Log.txt")
    clean_event = library.event("removed_before_monitoring", url=clean_url, title="SC_Rollout.txt")

    def links(public_url: str | None, event_id: int) -> dict[str, str]:
        event = next(library.db.query("select * from events where id = ?", [event_id]))
        return EventLinks(library.archive, public_url)(event)

    calendar = f"https://web.archive.org/web/*/{url}"
    for public_url in (PUBLIC_URL, None):
        assert links(public_url, withheld_event)["recovered_copy"] == calendar
        assert raw not in json.dumps(links(public_url, withheld_event))
    # A released copy: our published file, or (no public archive) the capture itself, as before.
    assert links(PUBLIC_URL, clean_event)["recovered_copy"] == f"{PUBLIC_URL}/-/files/{clean_sha}"
    assert links(None, clean_event)["recovered_copy"] == clean_raw


def test_the_calendar_link_uses_the_agencys_wayback_machine(tmp_path):
    library = Library(tmp_path, {"wayback": {"base_url": "http://127.0.0.1:8766"}})
    url = "https://www.ice.gov/doclib/foia/SC_Call_Log.txt"
    library.recovery(url, library.blob(WITHHELD_TEXT, source="wayback"))
    event = next(library.db.query("select * from events where id = ?",
                                  [library.event("removed_before_monitoring", url=url)]))
    assert EventLinks(library.archive, PUBLIC_URL)(event)["recovered_copy"] == f"http://127.0.0.1:8766/web/*/{url}"


def test_published_recoveries_give_no_direct_link_to_a_withheld_copy(library):
    withheld_url = "https://www.ice.gov/doclib/foia/SC_Call_Log.txt"
    withheld_raw = library.recovery(withheld_url, library.blob(WITHHELD_TEXT, source="wayback"))
    clean_url = "https://www.ice.gov/doclib/foia/SC_Rollout.txt"
    clean_raw = library.recovery(clean_url, library.blob(CLEAN_TEXT, source="wayback"))
    unscreened_url = "https://www.ice.gov/doclib/foia/SC_Budget.txt"
    unscreened_raw = library.recovery(unscreened_url, None)  # rejected or not stored: never screened
    screen_pending(library.archive)
    build_public(library.data_dir)
    with sqlite3.connect(library.data_dir / "public" / "public.db") as public:
        raw_urls = dict(public.execute("select url, raw_url from recoveries").fetchall())
        dump = "\n".join(public.iterdump())
    assert raw_urls == {withheld_url: f"https://web.archive.org/web/*/{withheld_url}", clean_url: clean_raw,
                        unscreened_url: f"https://web.archive.org/web/*/{unscreened_url}"}
    assert withheld_raw not in dump and unscreened_raw not in dump


# 3. text diffs of withheld versions show no line counts ---------------------------------------------------------


def test_text_diffs_of_withheld_versions_publish_no_line_counts(library):
    document, old_sha = library.document("standards.txt", CLEAN_TEXT)
    new_sha = library.blob(WITHHELD_TEXT)
    newer_sha = library.blob(CLEAN_TEXT + "\nA paragraph added in the revision.")
    screen_pending(library.archive)
    diffs = {
        "to withheld": (old_sha, new_sha, 3, 1, 1),
        "from withheld": (new_sha, newer_sha, 2, 3, 0),
        "public": (old_sha, newer_sha, 1, 0, 0),
    }
    event_ids = {}
    for name, (old, new, added, removed, truncated) in diffs.items():
        event_ids[name] = library.event("changed", document_id=document, title=name)
        with library.db.conn:
            library.db.execute("insert into text_diffs (event_id, old_sha256, new_sha256, diff, lines_added, "
                               "lines_removed, truncated) values (?, ?, ?, ?, ?, ?, ?)",
                               [event_ids[name], old, new, f"+{name}", added, removed, truncated])
    build_public(library.data_dir)
    with sqlite3.connect(library.data_dir / "public" / "public.db") as public:
        published = {row[0]: row[1:] for row in public.execute(
            "select event_id, lines_added, lines_removed, truncated, diff from text_diffs")}
    assert published == {
        event_ids["to withheld"]: (None, None, None, None),
        event_ids["from withheld"]: (None, None, None, None),
        event_ids["public"]: (1, 0, 0, "+public"),
    }


# 4. SSNs written with spaced digits ------------------------------------------------------------------------------


def found(text: str) -> list[tuple[str, str]]:
    return [(hit.kind, text[hit.start:hit.end]) for hit in find_pii(text)]


@pytest.mark.parametrize("text, value", [
    ("Caller gave 4 8 2-1 8-7 8 0 0 as her number.", "4 8 2-1 8-7 8 0 0"),
    ("4 8 2 - 1 8 - 7 8 0 0", "4 8 2 - 1 8 - 7 8 0 0"),
    ("ssn 4 8 2\u20131 8\u20137 8 0 0.", "4 8 2\u20131 8\u20137 8 0 0"),
    ("SSN: 4 8 2 1 8 7 8 0 0", "4 8 2 1 8 7 8 0 0"),
    ("Social Security No. 4 8 2  1 8  7 8 0 0", "4 8 2  1 8  7 8 0 0"),
    ("SSN 4 8 2.1 8.7 8 0 0", "4 8 2.1 8.7 8 0 0"),
])
def test_spaced_digit_ssns_are_found(text, value):
    assert found(text) == [("ssn", value)]


@pytest.mark.parametrize("text", [
    "SSN 0 0 0-1 2-3 4 5 6",  # area 000
    "SSN 6 6 6-1 2-3 4 5 6",  # area 666
    "SSN 9 1 2-3 4-5 6 7 8",  # area 9xx
    "SSN 1 2 3-0 0-4 5 6 7",  # group 00
    "SSN 1 2 3-4 5-0 0 0 0",  # serial 0000
    "4 8 2 1 8 7 8 0 0",  # unlabelled run of digits: nothing says it is an SSN
    "Case No. 4 8 2-1 8-7 8 0 0",  # labelled as a record number
    "1 4 8 2-1 8-7 8 0 0",  # part of a longer number
    "4 8 2-1 8-7 8 0 0 1",
    "Invoice 4 8 2-1 8-7 8 0 0-A",
])
def test_spaced_digit_look_alikes_are_not_ssns(text):
    assert [kind for kind, _ in found(text)] != ["ssn"]


def test_a_spaced_digit_ssn_withholds_its_blob_and_is_masked(library):
    finding, = screen_text("Caller gave 4 8 2-1 8-7 8 0 0 on the phone.")
    assert finding.kind == "ssn" and finding.risk == "high"
    assert finding.excerpt == "Caller gave ***-**-7800 on the phone."
    _, sha256 = library.document("spaced.txt", "Caller gave 4 8 2-1 8-7 8 0 0 on the phone.")
    screen_pending(library.archive)
    assert is_withheld(library.archive, sha256)
