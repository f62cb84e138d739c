"""Listing-first monitoring (issue 14): watch passes read the listing pages only (conditionally), probe what left
them and fetch what is new; revalidation passes re-check documents' bytes; a quiet watch pass leaves no crawl.

The library here answers conditional requests as real servers do (ETag and Last-Modified, 304), and logs every
request it gets, so the tests can say exactly what each pass asked for.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from foiawatch.archive import Archive
from foiawatch.config import load_config
from foiawatch.crawler import crawl
from foiawatch.pipeline import diff_agency

from .support.local_server import LocalServer

HTML = "text/html; charset=utf-8"


@dataclass
class Library:
    """Three listing pages of documents; every answer carries an ETag, and a matching If-None-Match gets a 304."""

    documents: dict[str, bytes] = field(default_factory=lambda: {
        f"/files/doc-{n}.pdf": f"%PDF-1.4 document {n}".encode() for n in range(12)})
    listed: list[str] = field(default_factory=list)
    down: bool = False
    log: list[tuple[str, str]] = field(default_factory=list)  # (method, path)

    def __post_init__(self) -> None:
        self.listed = list(self.documents)
        self.server = LocalServer(self.answer, etags=True)
        self.url = self.server.url

    def page(self, number: int) -> bytes:
        items = "".join(f'<li><a href="{path}">{path.rsplit("/", 1)[-1]}</a></li>'
                        for path in self.listed[number * 4:(number + 1) * 4])
        pager = "".join(f'<a href="/foia?page={n}">{n + 1}</a>' for n in range(3) if n != number)
        return (f"<html><body><main><h2>Records</h2><ul>{items}</ul><nav class='pager'>{pager}</nav>"
                f"</main></body></html>").encode()

    def answer(self, method: str, path: str, headers: object) -> tuple[int, dict[str, str], bytes]:
        self.log.append((method, path))
        if self.down and path.startswith("/foia"):
            return 503, {"Content-Type": HTML}, b"<html>down for maintenance</html>"
        if path == "/foia" or path.startswith("/foia?page="):
            return 200, {"Content-Type": HTML}, self.page(int(path.rpartition("=")[2]) if "=" in path else 0)
        if path in self.documents:
            return 200, {"Content-Type": "application/pdf"}, self.documents[path]
        return 404, {"Content-Type": HTML}, b"<html><title>Not found</title></html>"

    def take(self) -> Counter:
        """The requests since the last call, by (method, kind of path)."""
        taken, self.log = self.log, []
        return Counter((method, "listing" if path.startswith("/foia") else "robots" if path == "/robots.txt"
                        else "document") for method, path in taken)

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def library(tmp_path: Path):
    site = Library()
    (tmp_path / "lib.toml").write_text(
        f'[agency]\nid = "lib"\nname = "Library"\nlibrary_urls = ["{site.url}/foia"]\n'
        "[politeness]\ndelay = 0\nrequests_per_minute = 0\nretries = 0\n"
        '[passes]\nwatch = "*/10 * * * *"\nrevalidate = "0 3 * * *"\nrevalidate_days = 7\n')
    yield site, load_config(tmp_path / "lib.toml"), tmp_path / "data"
    site.close()


def run(config, data: Path, kind: str):
    result = crawl(config, data, kind=kind)
    with Archive(data) as archive:
        diff_agency(archive, config)
    return result


def events(data: Path) -> list[tuple[str, str]]:
    with Archive(data) as archive:
        return [(row[0], (row[1] or "").rsplit("/", 1)[-1]) for row in archive.db.execute(
            "select kind, url from events order by id")]


def test_a_quiet_watch_pass_asks_only_for_the_listing_and_leaves_no_crawl(library) -> None:
    site, config, data = library
    assert run(config, data, "full").status == "complete"
    site.take()
    result = run(config, data, "watch")
    assert (result.status, result.crawl_id) == ("unchanged", None)
    asked = site.take()
    assert asked[("GET", "listing")] == 3 and asked[("GET", "document")] == 0 and asked[("HEAD", "document")] == 0
    with Archive(data) as archive:
        assert [row[0] for row in archive.db.execute("select kind from crawls")] == ["full"]
        assert archive.db.execute("select listing_pages, not_modified from watch_checks").fetchall() == [(3, 3)]
    assert events(data) == []


def test_watch_passes_see_a_takedown_and_a_new_document_without_refetching_the_rest(library) -> None:
    site, config, data = library
    assert run(config, data, "full").status == "complete"
    gone, new = "/files/doc-5.pdf", "/files/doc-new.pdf"
    site.listed.remove(gone)
    del site.documents[gone]
    site.documents[new] = b"%PDF-1.4 a new record"
    site.listed.append(new)
    site.take()
    first = run(config, data, "watch")
    asked = site.take()
    assert first.status == "complete" and first.crawl_id is not None
    # The listing pages, a probe of the one delisted (HEAD), and the new one: no unchanged document is asked for.
    assert asked[("GET", "listing")] == 3 and asked[("HEAD", "document")] == 1
    assert asked[("GET", "document")] == 1
    assert events(data) == [("added", "doc-new.pdf")]
    second = run(config, data, "watch")
    assert second.status == "complete"  # a document pending confirmation is probed again: not a quiet pass
    assert events(data) == [("added", "doc-new.pdf"), ("removed", "doc-5.pdf")]
    assert run(config, data, "watch").status == "unchanged"  # settled: nothing left to ask


def test_a_revalidation_pass_finds_an_edit_the_watch_passes_cannot_see(library, tmp_path: Path) -> None:
    site, config, data = library
    assert run(config, data, "full").status == "complete"
    site.documents["/files/doc-2.pdf"] = b"%PDF-1.4 document 2, corrected"
    assert run(config, data, "watch").status == "unchanged"
    assert events(data) == []
    text = (tmp_path / "lib.toml").read_text().replace("revalidate_days = 7", "revalidate_days = 0.00001")
    (tmp_path / "lib.toml").write_text(text)  # every document overdue: the pass re-checks all twelve
    site.take()
    result = run(load_config(tmp_path / "lib.toml"), data, "revalidate")
    asked = site.take()
    assert result.status == "complete"
    assert asked[("GET", "document")] == 12 and asked[("GET", "listing")] == 0
    assert events(data) == [("changed", "doc-2.pdf")]
    assert run(config, data, "watch").status == "unchanged"  # a revalidation is not a listing: nothing delisted


def test_a_revalidation_pass_spreads_documents_over_the_window(library) -> None:
    site, config, data = library
    assert run(config, data, "full").status == "complete"
    site.take()
    run(config, data, "revalidate")  # daily passes, 7 days: a seventh of 12 documents, rounded up
    assert site.take()[("GET", "document")] == 2


def test_an_outage_during_a_watch_pass_is_one_outage_and_no_removal(library) -> None:
    site, config, data = library
    assert run(config, data, "full").status == "complete"
    site.down = True
    assert run(config, data, "watch").status == "outage"
    assert run(config, data, "watch").status == "outage"
    site.down = False
    assert run(config, data, "watch").status == "complete"
    assert [kind for kind, _ in events(data)] == ["outage", "outage_ended"]


def test_a_document_relisted_by_a_watch_pass_starts_its_confirmations_again(library) -> None:
    site, config, data = library
    assert run(config, data, "full").status == "complete"
    path = "/files/doc-7.pdf"
    body = site.documents.pop(path)
    site.listed.remove(path)
    run(config, data, "watch")  # delisted and gone: one confirmation
    site.documents[path] = body
    site.listed.append(path)
    run(config, data, "watch")  # listed again (not fetched: already known)
    del site.documents[path]
    site.listed.remove(path)
    run(config, data, "watch")  # delisted again: the count starts over
    assert "removed" not in {kind for kind, _ in events(data)}
    run(config, data, "watch")
    assert ("removed", "doc-7.pdf") in events(data)


def test_a_listing_first_run_does_what_is_due(library) -> None:
    from foiawatch.alerts.settings import AlertSettings
    from foiawatch.pipeline import run_pipeline

    site, config, data = library
    first = run_pipeline(config, data, settings=AlertSettings())
    steps = {step.name: step for step in first.steps}
    assert list(steps)[:3] == ["watch", "revalidate", "diff"]
    assert steps["watch"].status == "ok" and steps["revalidate"].status == "ok"  # never revalidated: due
    second = run_pipeline(config, data, settings=AlertSettings())
    steps = {step.name: step for step in second.steps}
    assert "unchanged" in steps["watch"].detail
    assert steps["revalidate"].status == "skipped" and "next revalidation due" in steps["revalidate"].detail
    assert steps["publish"].status == "skipped"  # nothing new to publish


def _noop(context) -> str:
    return "nothing"


def test_a_run_that_leaves_a_removal_unconfirmed_is_followed_by_a_confirmation_run(library) -> None:
    from datetime import UTC, datetime, timedelta

    from foiawatch.archive.state import open_private, scheduled_runs
    from foiawatch.schedule import confirmation_job_id, scheduled_run, start_scheduler

    site, config, data = library
    assert run(config, data, "full").status == "complete"
    site.listed.remove("/files/doc-3.pdf")
    del site.documents["/files/doc-3.pdf"]
    assert run(config, data, "watch").status == "complete"  # gone once: one confirmation short
    scheduler = start_scheduler([config], data, steps=(("noop", _noop),))
    try:
        scheduled_run(config, str(data), (("noop", _noop),))
        job = scheduler.get_job(confirmation_job_id(config.id))
        assert job is not None
        soon = datetime.now(UTC) + timedelta(minutes=config.passes.confirm_after)
        assert abs((job.next_run_time - soon).total_seconds()) < 30
        assert scheduled_runs(open_private(data))[config.id] <= job.next_run_time  # status shows the sooner run
    finally:
        scheduler.shutdown(wait=False)


def test_quiet_watch_passes_keep_an_agency_fresh(library) -> None:
    """A library unchanged for days is watched, not stale: its quiet passes count as complete readings."""
    from foiawatch.alerts.settings import AlertSettings
    from foiawatch.alerts.status import status_report
    from foiawatch.archive.state import open_private

    site, config, data = library
    assert run(config, data, "full").status == "complete"
    with Archive(data) as archive:
        archive.db.execute("update crawls set started_at = '2026-01-01T00:00:00+00:00', "
                           "finished_at = '2026-01-01T00:10:00+00:00'")
        archive.db.conn.commit()
    assert run(config, data, "watch").status == "unchanged"
    with Archive(data) as archive:
        reading = archive.last_complete_reading(config.id)
        assert reading is not None and reading > "2026-01-02"
        report = status_report(archive, open_private(data), AlertSettings(), agencies=[config.id])
    assert report.agencies[0].state.state == "ok"
