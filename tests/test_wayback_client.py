"""WaybackClient against the local stand-in: few requests, verified downloads, politeness under 429s and faults."""

from __future__ import annotations

import gzip
import hashlib
import logging
import socket
import threading
import time
from datetime import UTC, datetime

import pytest

from foiawatch.demo.wayback_standin import StandinCapture, WaybackStandin
from foiawatch.wayback import (
    BlockedSite,
    Capture,
    CaptureRejected,
    DigestMismatch,
    NotADocument,
    NotArchived,
    RateLimited,
    SaveFailed,
    WaybackClient,
    WaybackUnavailable,
    cdx_digest,
)
from foiawatch.web.ratelimit import Gate, RateLimiter

PREFIX = "www.agency.gov/foia/library/"
PDF = "application/pdf"
FAST = dict(cdx_per_minute=60_000, playback_per_second=1000, save_per_minute=60_000, min_backoff=0.05,
            retry_backoff=0.01)


def library(documents: int, versions: int = 2) -> list[StandinCapture]:
    captures = []
    for n in range(documents):
        url = f"https://{PREFIX}doc-{n:05d}.pdf"
        for v in range(versions):
            captures.append(StandinCapture(url, f"20{20 + v}0101{n % 24:02d}0000", 200, PDF, b"%%PDF %d v%d" % (n, v)))
        captures.append(StandinCapture(url, "20240101000000", 200, PDF, b"%%PDF %d v%d" % (n, versions - 1)))
    return captures


def fast_client(server: WaybackStandin, **overrides) -> WaybackClient:
    return WaybackClient(server.url, **(FAST | overrides))


def pdf(name: str, timestamp: str, body: bytes, status: int | None = 200, **kwargs) -> StandinCapture:
    return StandinCapture(f"https://{PREFIX}{name}", timestamp, status, PDF, body, **kwargs)


def only(client: WaybackClient, name: str) -> Capture:
    (capture,) = client.search(f"{PREFIX}{name}")
    return capture


# -- listing ---------------------------------------------------------------------------------------------------


def test_prefix_listing_of_2000_documents_takes_a_handful_of_requests():
    captures = library(2000)
    outsider = StandinCapture("https://www.agency.gov/foia/elsewhere.pdf", "20200101000000", 200, PDF, b"%PDF x")
    captures += [captures[0], outsider]  # a repeated row, and a document outside the prefix
    with WaybackStandin(captures) as server:
        client = fast_client(server)
        listing = client.search_prefix(PREFIX, statuses=[200], mimetypes=[PDF])
        found = list(listing)
        assert client.requests["cdx"] == server.requests["cdx"] == listing.stats.pages <= 10
        uncollapsed = client.search_prefix(PREFIX, collapse=None)
        assert len(list(uncollapsed)) == 6000 and uncollapsed.stats.duplicates == 1  # the repeated row
    assert len({c.original for c in found}) == 2000
    assert len(found) == 4000  # two versions each; the 2024 re-capture of the same bytes is collapsed by digest
    assert listing.stats.malformed == 0
    assert all(c.original.startswith(f"https://{PREFIX}") for c in found)


def test_capture_fields_and_urls():
    with WaybackStandin([pdf("a.pdf", "20200102030405", b"%PDF a")]) as server:
        capture = only(fast_client(server), "a.pdf")
    assert capture.urlkey == "gov,agency)/foia/library/a.pdf" and capture.status == 200 and capture.length == 6
    assert capture.captured_at == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert capture.digest == cdx_digest(b"%PDF a") and capture.mimetype == PDF
    assert capture.raw_url == f"{server.url}/web/20200102030405id_/https://{PREFIX}a.pdf"
    assert capture.view_url == f"{server.url}/web/20200102030405/https://{PREFIX}a.pdf"


def test_listing_filters_and_dates_reach_the_service():
    captures = [
        pdf("a.pdf", "20200101000000", b"%PDF a"),
        pdf("b.pdf", "20210101000000", b"gone", status=404),
        StandinCapture(f"https://{PREFIX}index.html", "20210101000000", 200, "text/html", b"<html>"),
    ]
    with WaybackStandin(captures) as server:
        client = fast_client(server)
        assert [c.status for c in client.search_prefix(PREFIX, statuses=[404])] == [404]
        assert [c.mimetype for c in client.search_prefix(PREFIX, mimetypes=["text/html"])] == ["text/html"]
        assert len(list(client.search_prefix(PREFIX, statuses=[200, 404], mimetypes=[PDF]))) == 2
        assert [c.timestamp[:4] for c in client.search_prefix(PREFIX, from_="2021")] == ["2021", "2021"]


def test_blocked_prefix_is_a_clear_error():
    with WaybackStandin(library(3), blocked=[PREFIX]) as server:
        with pytest.raises(BlockedSite, match="Blocked Site Error"):
            list(fast_client(server).search_prefix(PREFIX))


# -- downloads -------------------------------------------------------------------------------------------------


def test_download_streams_to_disk_and_verifies_the_digest(tmp_path):
    body = b"%PDF-1.7\n" + bytes(range(256)) * 12_000  # about 3 MB: several chunks
    with WaybackStandin([pdf("big.pdf", "20200101000000", body)]) as server:
        client = fast_client(server)
        result = client.download(only(client, "big.pdf"), tmp_path / "big.pdf")
    assert result.verified and result.path.read_bytes() == body and result.size == len(body)
    assert result.sha256 == hashlib.sha256(body).hexdigest() and result.digest == cdx_digest(body)
    assert result.final_timestamp == "20200101000000" and result.redirects == () and result.content_type == PDF


def test_bytes_that_do_not_match_the_digest_are_rejected(tmp_path):
    corrupt = pdf("a.pdf", "20200101000000", b"%PDF tampered", digest=cdx_digest(b"%PDF original"))
    with WaybackStandin([corrupt]) as server:
        client = fast_client(server)
        with pytest.raises(DigestMismatch) as rejected:
            client.download(only(client, "a.pdf"), tmp_path / "a.pdf")
    error = rejected.value
    assert isinstance(error, CaptureRejected) and error.capture.original.endswith("/a.pdf")
    assert error.expected == cdx_digest(b"%PDF original") and error.actual == cdx_digest(b"%PDF tampered")
    assert list(tmp_path.iterdir()) == []  # neither the file nor a partial one is left behind


def test_gzip_encoded_capture_is_verified_as_stored_and_written_decoded(tmp_path):
    stored = gzip.compress(b"a,b\n1,2\n")
    capture = pdf("data.csv", "20200101000000", stored, headers={"Content-Encoding": "gzip"})
    with WaybackStandin([capture]) as server:
        client = fast_client(server)
        result = client.download(only(client, "data.csv"), tmp_path / "data.csv")
    assert result.verified and result.path.read_bytes() == b"a,b\n1,2\n"


@pytest.mark.parametrize("archived_status", [404, 429, 500])
def test_archived_error_pages_are_not_documents(tmp_path, archived_status):
    page = pdf("x.pdf", "20200101000000", b"<h1>error</h1>", status=archived_status)
    with WaybackStandin([page]) as server:
        client = fast_client(server, max_rate_limit_waits=0)
        with pytest.raises(NotADocument) as rejected:
            client.download(only(client, "x.pdf"), tmp_path / "x.pdf")
    assert rejected.value.archived_status == archived_status
    assert client.requests["playback"] == 1  # an archived 429 or 500 is neither backed off nor retried
    assert not (tmp_path / "x.pdf").exists()


def test_archived_redirect_is_followed_to_its_target(tmp_path):
    captures = [
        pdf("old.pdf", "20200101000000", b"moved", status=301, headers={"Location": "new.pdf"}),
        pdf("new.pdf", "20200101000500", b"%PDF new"),
    ]
    with WaybackStandin(captures) as server:
        client = fast_client(server)
        old = only(client, "old.pdf")
        result = client.download(old, tmp_path / "doc.pdf")
        with pytest.raises(NotADocument):
            client.download(old, tmp_path / "other.pdf", follow_redirects=False)
    assert result.path.read_bytes() == b"%PDF new" and result.final_timestamp == "20200101000500"
    assert result.redirects == (old.raw_url,) and result.verified is False


def test_unarchived_url_is_reported_as_such(tmp_path):
    with WaybackStandin([]) as server:
        with pytest.raises(NotArchived):
            fast_client(server).download(Capture.at("https://agency.gov/x.pdf", "20200101000000", server.url),
                                         tmp_path / "x.pdf")


# -- politeness and faults -------------------------------------------------------------------------------------


def gaps_after_429(server: WaybackStandin) -> list[float]:
    log = list(server.log)
    return [later[0] - entry[0] for entry, later in zip(log, log[1:], strict=False) if entry[2] == 429]


def test_live_429_without_retry_after_backs_off_and_completes():
    with WaybackStandin(library(30, versions=1), cdx_limit=(2, 0.3)) as server:
        client = fast_client(server, cdx_per_minute=600, min_backoff=0.3)
        captures = list(client.search_prefix(PREFIX, page_size=6))
    assert len(captures) == 30
    assert 1 <= server.rejected["cdx"] <= 3  # it hit the limit, then stopped instead of hammering
    assert min(gaps_after_429(server)) >= 0.29
    arrivals = [entry[0] for entry in server.log]
    assert min(b - a for a, b in zip(arrivals, arrivals[1:], strict=False)) >= 0.09  # never faster than 600/min


def test_live_429_with_retry_after_is_honoured():
    with WaybackStandin(library(3, versions=1), cdx_limit=(1, 0.5), retry_after=1) as server:
        client = fast_client(server, min_backoff=0.05)
        list(client.search_prefix(PREFIX, page_size=2))
    assert server.rejected["cdx"] >= 1 and min(gaps_after_429(server)) >= 0.95


def test_429_pauses_every_endpoint_and_thread(tmp_path):
    with WaybackStandin(library(1, versions=1), cdx_limit=(0, 60)) as server:
        client = fast_client(server, min_backoff=0.4, max_rate_limit_waits=1)
        playback_times = []

        capture = Capture.at(f"https://{PREFIX}doc-00000.pdf", "20200101000000", server.url)

        def download_later() -> None:
            time.sleep(0.1)
            client.download(capture, tmp_path / "a.pdf")
            playback_times.append(time.monotonic())

        worker = threading.Thread(target=download_later)
        started = time.monotonic()
        worker.start()
        with pytest.raises(RateLimited):
            list(client.search_prefix(PREFIX))
        worker.join()
    assert server.rejected["cdx"] == 2  # one wait allowed, then a clear error
    assert playback_times[0] - started >= 0.39  # the other thread waited out the pause too


def test_5xx_and_dropped_connections_are_retried():
    with WaybackStandin(library(2, versions=1)) as server:
        server.fail_next(2, 503)
        client = fast_client(server)
        assert len(list(client.search_prefix(PREFIX))) == 2
        assert client.requests["cdx"] == 3


def test_a_service_that_stays_down_is_a_clear_error():
    with WaybackStandin(library(1)) as server:
        server.fail_next(5, 503)
        with pytest.raises(WaybackUnavailable, match=r"keeps failing \(server errors\): it answered 503 3 times"):
            list(fast_client(server, retries=2).search_prefix(PREFIX))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(WaybackUnavailable, match=r"refused the connection \(connection refused\); 2 attempts"):
        list(WaybackClient(closed, **(FAST | {"retries": 1})).search_prefix(PREFIX))


def test_no_request_exceeds_the_rate_whatever_the_threads_and_clients(tmp_path):
    rate = 25.0
    with WaybackStandin(library(1, versions=1)) as server:
        clients = [fast_client(server, playback_per_second=rate) for _ in range(2)]  # same service, same budget
        capture = Capture.at(f"https://{PREFIX}doc-00000.pdf", "20200101000000", server.url)

        def fetch(worker: int) -> None:
            for n in range(5):
                clients[worker % 2].download(capture, tmp_path / f"{worker}-{n}.pdf")

        threads = [threading.Thread(target=fetch, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    arrivals = sorted(entry[0] for entry in server.log if entry[1] == "playback")
    assert len(arrivals) == 20
    assert arrivals[-1] - arrivals[0] >= 19 / rate * 0.95
    # No one-second window holds more than the rate (one extra allowed for scheduling jitter on arrival).
    per_second = max(sum(1 for t in arrivals if start <= t < start + 1) for start in arrivals)
    assert per_second <= rate + 1


def test_rate_limiter_spaces_calls_and_a_gate_holds_everyone():
    gate = Gate()
    limiter = RateLimiter(50, gate=gate)
    started = time.monotonic()
    for _ in range(6):
        limiter.acquire()
    assert time.monotonic() - started >= 5 / 50 * 0.95
    closed_at = time.monotonic()
    gate.close_for(0.2)
    released: list[float] = []
    threads = [threading.Thread(target=lambda: (limiter.acquire(), released.append(time.monotonic())))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert min(released) - closed_at >= 0.2 - 1e-3, "nobody passes the gate while it is closed"
    with pytest.raises(ValueError):
        RateLimiter(0)


# -- Save Page Now 2 -------------------------------------------------------------------------------------------


def test_save_page_now_is_off_by_default_and_needs_keys(monkeypatch):
    monkeypatch.delenv("FOIAWATCH_IA_ACCESS_KEY", raising=False)
    monkeypatch.delenv("FOIAWATCH_IA_SECRET_KEY", raising=False)
    with WaybackStandin() as server:
        with pytest.raises(SaveFailed, match="off"):
            fast_client(server).save_page("https://agency.gov/foia/")
        with pytest.raises(SaveFailed, match="FOIAWATCH_IA_ACCESS_KEY"):
            fast_client(server, allow_save=True).save_page("https://agency.gov/foia/")
        assert server.requests["save"] == 0


def test_save_page_now_polls_the_job_and_never_logs_the_keys(monkeypatch, caplog):
    monkeypatch.setenv("FOIAWATCH_IA_ACCESS_KEY", "access-k3y")
    monkeypatch.setenv("FOIAWATCH_IA_SECRET_KEY", "s3cret-k3y")
    caplog.set_level(logging.DEBUG)
    with WaybackStandin() as server:
        client = fast_client(server, allow_save=True)
        saved = client.save_page("https://agency.gov/foia/", poll_interval=0.01)
        with pytest.raises(SaveFailed, match="invalid-url-syntax") as failed:
            client.save_page("not a url", poll_interval=0.01)
    assert server.saved == ["https://agency.gov/foia/"] and saved.job_id.startswith("spn2-")
    assert saved.raw_url == f"{server.url}/web/{saved.timestamp}id_/https://agency.gov/foia/"
    assert server.requests["save"] == 6  # two jobs: one POST and two status polls each
    assert "k3y" not in caplog.text and "k3y" not in str(failed.value)
